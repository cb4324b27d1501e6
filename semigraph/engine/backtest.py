"""Backtest: run saved scenarios of historical episodes and hold the model against history.

Columns of :func:`backtest` (one row per ``[[observed]]`` entry):

===========================  =================================================================
``scenario``                 scenario file name (without ``.toml``)
``component``                the observed component
``perspective``              consumers observed (empty = the scenario's default perspective)
``of``                       what was observed: ``supply`` (deliveries) or ``output``
                             (production, before stocks)
``measured``                 what the model's figure measures: ``supply`` to the perspective's
                             consumers, ``output of plants in X`` (the component's supply
                             rows sited in the perspective's countries), or ``output``
                             (production as the perspective's consumers get it, where no row
                             is sited there or the perspective is the default)
``observed_low``,            observed range of the lowest monthly (30-day) mean of that
``observed_high``            measure ([0.99, 1] where nothing went short)
``model_low``,               the model's range: the lowest and highest of the three readings'
``model_high``               lowest 30-day mean (tied, pooled, the chain served first)
``model_tied``               the tied reading's figure (buyers tied to their supplier)
``observed_days_low``,       observed range of the first day of shortfall (empty: none
``observed_days_high``       observed)
``model_days``               the tied reading's first day below 99% of the measure (empty:
                             never within the horizon): when the first buyers run out
``never_short``              the observation says nothing went short
``verdict``                  ``within``, or every reason it is not: ``too mild``, ``too
                             severe``, ``too early``, ``too late`` (joined with ``; ``)
``reason``                   the figures behind the verdict
``score``                    interval score of the model's range against the observed one
``exposed_share``            share of demand whose buyers were tied to a hit supplier
``source``                   source of the observation (an id, or the publication given in
                             the file)
``note``                     what was observed
===========================  =================================================================

Notes
-----
Ranges are compared to two decimals, as they are printed. Timing is judged on the tied
reading, whose first day below 0.99 is when the first buyers run out: what history records
as the first line stopping. ``never_short`` holds when the pooled reading of the measure never
goes short. An episode is within when all its observations are.

The score is the interval score of Gneiting and Raftery (2007) at alpha = 0.2 with the
observation itself a range: the width of the model's range plus ``2 / alpha = 10`` times the
gap between the two ranges (0 when they meet). Lower is better; a model that always answers
0..1 scores 1, so a range widened to look right does not improve it. The frame's ``attrs``
carry the mean (``score``) beside the counts within.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from semigraph.engine.propagation import SHORT, evaluate
from semigraph.engine.scenario import Observation, Scenario, Source, read_scenario
from semigraph.errors import ScenarioError

__all__ = ["ALPHA", "COLUMNS", "REASONS", "VERDICTS", "backtest", "find_episodes",
           "interval_score", "verdict"]

#: The verdict when every test holds, then the reasons it may name when one does not.
REASONS = ("too mild", "too severe", "too early", "too late")
VERDICTS = ("within", *REASONS)
#: Figures are compared as printed, to two decimals.
TOLERANCE = 0.005
#: The interval score's level: a miss costs 2 / ALPHA times its size.
ALPHA = 0.2

COLUMNS = ["scenario", "component", "perspective", "of", "measured", "observed_low",
           "observed_high",
           "model_low", "model_high", "model_tied", "observed_days_low", "observed_days_high",
           "model_days", "never_short", "verdict", "reason", "score", "exposed_share",
           "source", "note"]


def find_episodes(paths: Iterable[str | Path]) -> list[Scenario]:
    """Scenario files (given, or every ``*.toml`` in given folders) that carry observations."""
    out = []
    for p in paths:
        p = Path(p)
        files = sorted(p.glob("*.toml")) if p.is_dir() else [p]
        for f in files:
            scenario = read_scenario(f)
            if scenario.observed:
                out.append(scenario)
    return out


def interval_score(obs: tuple[float, float], low: float, high: float) -> float:
    """Width of the model's range ``[low, high]`` plus 2 / ALPHA times its gap to the
    observed range ``obs`` (0 when they meet)."""
    gap = max(0.0, obs[0] - high, low - obs[1])
    return (high - low) + 2.0 / ALPHA * gap


def verdict(obs: Observation, low: float, high: float, days: int | None,
            pooled_short: int | None = None) -> tuple[str, str]:
    """The verdict on one observation and its reasons.

    ``low`` and ``high`` are the model's range, ``days`` the tied reading's first day short
    (None: never), ``pooled_short`` the pooled reading's (for ``never_short``).
    """
    olo, ohi = obs.availability
    kinds, why = [], []
    if obs.never_short:
        if pooled_short is not None:
            kinds.append("too severe")
            why.append(f"model short from day {pooled_short}, nothing went short")
    elif high < olo - TOLERANCE:
        kinds.append("too severe")
        why.append(f"model at most {high:.2f}, observed at least {olo:.2f}")
    elif low > ohi + TOLERANCE:
        kinds.append("too mild")
        why.append(f"model at least {low:.2f}, observed at most {ohi:.2f}")
    if obs.days_to_impact is not None:
        dlo, dhi = obs.days_to_impact
        if days is None:
            if "too mild" not in kinds:
                kinds.append("too mild")
            why.append(f"first buyers never run short, observed short from day "
                       f"{dlo:g}-{dhi:g}")
        elif days < dlo:
            kinds.append("too early")
            why.append(f"first buyers short from day {days}, observed from day {dlo:g}")
        elif days > dhi:
            kinds.append("too late")
            why.append(f"first buyers short from day {days}, observed by day {dhi:g}")
    if not kinds:
        return VERDICTS[0], ("nothing went short in the pooled reading" if obs.never_short
                             else "model range meets the observed range"
                             + ("" if obs.days_to_impact is None else ", timing holds"))
    return "; ".join(kinds), "; ".join(why)


def _plant_rows(model, component: str, persp: str | None) -> np.ndarray:
    """Which supply rows of ``component`` are sited in the perspective's countries (none
    without a perspective: the default perspective is the rest of the world)."""
    sup = model.supply
    if not persp:
        return np.zeros(len(sup), dtype=bool)
    members = set(model.members(persp))
    return ((sup["component"] == component) & sup["site"].isin(members)).to_numpy()


def _plants_id(component: str, persp: str) -> str:
    return f"{component}.plants-in.{persp.lower()}"


def _measured(obs: Observation, persp: str | None, plants: bool) -> str:
    if obs.of != "output":
        return "supply"
    return f"output of plants in {persp}" if plants else "output"


def _with_plants(model, scenario: Scenario, plants: dict[str, str], persp: str | None):
    """The model and scenario with, for each observed component, a copy made only by its
    supply rows sited in the perspective's countries ("the plants in Japan"), shares scaled
    to 1, its requirements, parameters and the episode's disruptions and overrides of the
    component carried over: history records a country's output, its plants' production,
    which a country's own outage hits directly and the world's output dilutes."""
    if not plants:
        return model, scenario
    from dataclasses import replace

    comps, sup, req = [model.components], [model.supply], [model.requires]
    disruptions, overrides = list(scenario.disruptions), list(scenario.overrides)
    for comp, view in plants.items():
        row = model.components[model.components["id"] == comp].copy()
        row["id"] = view
        comps.append(row)
        rows = model.supply[_plant_rows(model, comp, persp)].copy()
        total = float(rows["share_used"].sum())
        rows["component"] = view
        for col in ("share", "share_used"):
            rows[col] = rows[col] / total if total > 0 else 1.0 / len(rows)
        sup.append(rows)
        r = model.requires[model.requires["component"] == comp].copy()
        r["component"] = view
        req.append(r)
        sites = set(rows["site"])
        keys = {f"{sup}@{site}" for sup, site in zip(rows["supplier"], rows["site"])}
        for d in scenario.disruptions:  # a cut of the component, or of its rows somewhere
            for prefix, new in ((comp, view), (f"component:{comp}", view),
                                (f"supply:{comp}/", f"supply:{view}/")):
                rest = d.unit[len(prefix):]
                if d.unit == prefix or (  # the whole component
                        rest.startswith("@") and not prefix.endswith("/")
                        and d.unit.startswith(prefix) and rest[1:] in sites) or (
                        prefix.endswith("/") and d.unit.startswith(prefix) and rest in keys):
                    disruptions.append(replace(d, unit=new + rest))
                    break
        overrides += [replace(o, component=view) for o in scenario.overrides
                      if o.component == comp]
    out = replace(model, components=pd.concat(comps, ignore_index=True),
                  supply=pd.concat(sup, ignore_index=True),
                  requires=pd.concat(req, ignore_index=True))
    return out, scenario.with_(disruptions=tuple(disruptions), overrides=tuple(overrides))


def _source_label(source: str | Source) -> str:
    return source if isinstance(source, str) else source.id


def backtest(model, scenarios: Iterable[Scenario]) -> pd.DataFrame:
    """Run each scenario and judge every observation it carries (columns :data:`COLUMNS`)."""
    rows = []
    ids = set(model.sources["id"])
    comps = set(model.components["id"])
    for scenario in scenarios:
        name = scenario.path.stem if scenario.path else scenario.label
        where = str(scenario.path or scenario.label)
        by_persp: dict[str | None, list[Observation]] = {}
        for obs in scenario.observed:
            if obs.component not in comps:
                raise ScenarioError(f"{where}: observed component {obs.component!r} is not in "
                                    "the dataset" + model._did_you_mean(obs.component,
                                                                        ("component",)))
            if isinstance(obs.source, str) and obs.source not in ids:
                raise ScenarioError(f"{where}: observation source {obs.source!r} is not in the "
                                    "dataset's sources; give its id or a table {publisher, "
                                    "title, year, url}")
            by_persp.setdefault(obs.perspective or scenario.perspective, []).append(obs)
        for o in scenario.overrides:
            if isinstance(o.source, str) and o.source not in ids:
                raise ScenarioError(f"{where}: override source {o.source!r} is not in the "
                                    "dataset's sources")
        for persp, observations in by_persp.items():
            plants = {obs.component: _plants_id(obs.component, persp) for obs in observations
                      if obs.of == "output" and _plant_rows(model, obs.component, persp).any()}
            run_model, run_scenario = _with_plants(model, scenario.with_(perspective=persp),
                                                   plants, persp)
            ev = evaluate(run_model, run_scenario)
            c = ev.compiled
            for obs in observations:
                i = c.index[plants.get(obs.component, obs.component)] \
                    if obs.of == "output" else c.index[obs.component]
                if obs.of == "output":
                    readings = ev.output[:, i, 0]
                    tied_first = int(ev.output_short_from_day[2, i, 0])
                    pooled_first = int(ev.output_short_from_day[0, i, 0])
                else:
                    readings = ev.supply_month[:, i, 0]
                    tied_first = int(ev.tied_short_from_day[i, 0])
                    pooled_first = int(ev.time_to_survive[i, 0])
                low, high = float(readings.min()), float(readings.max())
                days = tied_first if tied_first >= 0 else None
                v, reason = verdict(obs, low, high, days,
                                    pooled_first if pooled_first >= 0 else None)
                d = obs.days_to_impact
                rows.append({
                    "scenario": name, "component": obs.component, "perspective": persp,
                    "of": obs.of, "measured": _measured(obs, persp, obs.component in plants),
                    "observed_low": obs.availability[0],
                    "observed_high": obs.availability[1], "model_low": low, "model_high": high,
                    "model_tied": float(readings[2]),
                    "observed_days_low": d[0] if d else None,
                    "observed_days_high": d[1] if d else None,
                    "model_days": days, "never_short": obs.never_short, "verdict": v,
                    "reason": reason, "score": interval_score(obs.availability, low, high),
                    "exposed_share": float(ev.exposed_share[i, 0]),
                    "source": _source_label(obs.source), "note": obs.note,
                })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("observed_days_low", "observed_days_high"):
        frame[col] = frame[col].astype(float)
    frame["model_days"] = frame["model_days"].astype("Int64")
    frame["never_short"] = frame["never_short"].astype(bool)
    within = frame["verdict"] == VERDICTS[0]
    frame.attrs["within"] = int(within.sum())
    frame.attrs["episodes"] = int(frame["scenario"].nunique()) if len(frame) else 0
    frame.attrs["episodes_within"] = int(
        within.groupby(frame["scenario"]).agg(lambda v: bool(np.all(v))).sum()) \
        if len(frame) else 0
    frame.attrs["score"] = float(frame["score"].mean()) if len(frame) else None
    frame.attrs["short"] = SHORT
    return frame
