"""Backtest: run saved scenarios of historical episodes and compare with what was observed.

Columns of :func:`backtest` (one row per ``[[observed]]`` entry):

===========================  =================================================================
``scenario``                 scenario file name (without ``.toml``)
``component``                the observed component
``perspective``              consumers observed (empty = the scenario's default perspective)
``observed_low``,            observed range of the lowest availability within the horizon
``observed_high``
``model_low``,               the model's lowest availability: every user rationed alike, and
``model_high``               the chain served first (DESIGN.md 4.2)
``observed_days_low``,       observed range of the first day of shortfall (empty: no
``observed_days_high``       shortfall observed)
``model_days``               the model's first day below 99% (empty: never within horizon)
``verdict``                  ``within``, ``model too severe`` or ``model too mild``
``reason``                   what decided the verdict
``source``                   source id of the observation
``note``                     what was observed
===========================  =================================================================

Notes
-----
The availability verdict compares ranges: the model is *within* when its range
``[model_low, model_high]`` meets the observed one; *too severe* when even its upper bound lies
below the observed range, *too mild* when even its lower bound lies above it (figures are
compared to two decimals, as they are printed). Where a first day of shortfall was observed,
the model's must fall inside that range too; a model that never goes short there is too mild.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Observation, Scenario, read_scenario
from semigraph.errors import ScenarioError

__all__ = ["COLUMNS", "VERDICTS", "backtest", "find_episodes", "verdict"]

VERDICTS = ("within", "model too severe", "model too mild")
#: Figures are compared as printed, to two decimals.
TOLERANCE = 0.005

COLUMNS = ["scenario", "component", "perspective", "observed_low", "observed_high",
           "model_low", "model_high", "observed_days_low", "observed_days_high", "model_days",
           "verdict", "reason", "source", "note"]


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


def verdict(obs: Observation, low: float, high: float,
            days: int | None) -> tuple[str, str]:
    """The verdict on one observation and the reason, from the model's range and first day."""
    olo, ohi = obs.availability
    if high < olo - TOLERANCE:
        return VERDICTS[1], f"model at most {high:.2f}, observed at least {olo:.2f}"
    if low > ohi + TOLERANCE:
        return VERDICTS[2], f"model at least {low:.2f}, observed at most {ohi:.2f}"
    if obs.days_to_impact is not None:
        dlo, dhi = obs.days_to_impact
        if days is None:
            return VERDICTS[2], (f"model never short, observed short from day {dlo:g}-{dhi:g}")
        if days < dlo:
            return VERDICTS[1], f"model short from day {days}, observed from day {dlo:g}"
        if days > dhi:
            return VERDICTS[2], f"model short from day {days}, observed by day {dhi:g}"
    return VERDICTS[0], "model range meets the observed range"


def backtest(model, scenarios: Iterable[Scenario]) -> pd.DataFrame:
    """Run each scenario and judge every observation it carries (columns :data:`COLUMNS`)."""
    rows = []
    for scenario in scenarios:
        name = scenario.path.stem if scenario.path else scenario.label
        where = str(scenario.path or scenario.label)
        by_persp: dict[str | None, list[Observation]] = {}
        for obs in scenario.observed:
            if obs.component not in set(model.components["id"]):
                raise ScenarioError(f"{where}: observed component {obs.component!r} is not in "
                                    "the dataset" + model._did_you_mean(obs.component,
                                                                        ("component",)))
            if obs.source not in set(model.sources["id"]):
                raise ScenarioError(f"{where}: observation source {obs.source!r} is not in the "
                                    "dataset's sources")
            by_persp.setdefault(obs.perspective or scenario.perspective, []).append(obs)
        for persp, observations in by_persp.items():
            ev = evaluate(model, scenario.with_(perspective=persp))
            c = ev.compiled
            for obs in observations:
                i = c.index[obs.component]
                low = float(ev.availability[i, 0])
                high = float(ev.availability_high[i, 0])
                first = int(ev.time_to_survive[i, 0])
                days = first if first >= 0 else None
                v, reason = verdict(obs, low, high, days)
                d = obs.days_to_impact
                rows.append({
                    "scenario": name, "component": obs.component, "perspective": persp,
                    "observed_low": obs.availability[0], "observed_high": obs.availability[1],
                    "model_low": low, "model_high": high,
                    "observed_days_low": d[0] if d else None,
                    "observed_days_high": d[1] if d else None,
                    "model_days": days, "verdict": v, "reason": reason,
                    "source": obs.source, "note": obs.note,
                })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("observed_days_low", "observed_days_high"):
        frame[col] = frame[col].astype(float)
    frame["model_days"] = frame["model_days"].astype("Int64")
    frame.attrs["within"] = int((frame["verdict"] == VERDICTS[0]).sum())
    frame.attrs["episodes"] = int(frame["scenario"].nunique()) if len(frame) else 0
    frame.attrs["episodes_within"] = int(
        frame.groupby("scenario")["verdict"].agg(lambda v: bool(np.all(v == VERDICTS[0])))
        .sum()) if len(frame) else 0
    return frame
