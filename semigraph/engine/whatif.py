"""What-if: which components lose how much supply, how soon and for how long, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from semigraph.engine.propagation import EPS, READINGS, Evaluation, evaluate
from semigraph.engine.scenario import Scenario
from semigraph.schema import stages

__all__ = ["COLUMNS", "STAGE_ORDER", "bottleneck", "perspective_label", "timeline", "whatif"]

STAGE_ORDER = tuple(reversed(stages()))  # end use first: the table leads with products

#: Result columns, in order, with their meaning (documented in the README).
COLUMNS = {
    "component": "component id",
    "name": "component name",
    "stage": "value-chain stage",
    "availability": "lowest daily supply within the horizon, as a fraction of normal (0..1), "
                    "every user of an input rationed alike (lower bound)",
    "availability_high": "the same with the chain served before other industries' uses of "
                         "each input (upper bound, chain_share)",
    "availability_tied": "lowest daily supply with buyers tied to their supplier until they "
                         "qualify another (qualify_days), each holding its own stock",
    "steady_state": "supply if never restored: stocks used up, installed base renewed at the "
                    "reduced rate (the static bound)",
    "shortfall": "1 - availability",
    "world_availability": "availability for the rest of the world (consumers outside every "
                          "stopping country and destination list)",
    "estimated": "the figure rests on a supply share that is an estimate (unknown share split)",
    "stock_days": "consumers' normal stock, days",
    "ttr_days": "time to restore lost supply, days (empty: unknown, no recovery in horizon)",
    "time_to_survive_days": "first day delivered supply falls below 99% (empty: never)",
    "tied_short_from_day": "first day the tied reading falls below 99%: when the first tied "
                           "buyers run out (empty: never)",
    "recovery_day": "first later day supply is at 99% again (the horizon if not within it)",
    "recovered": "supply is back within the horizon",
    "lost_days": "supply lost over the horizon, in days of normal demand (sum of daily "
                 "shortfalls, lower bound)",
    "tied_lost_days": "supply lost over the horizon in the tied reading, in days of normal "
                      "demand",
    "exposed_share": "share of demand whose buyers are tied to a supplier whose output falls "
                     "below 99% (1 where the component's buyers are not tied and its supply "
                     "falls short)",
    "output": "lowest 30-day mean of production (before stocks), every user rationed alike",
    "output_high": "the same with the chain served first",
    "output_tied": "the same with buyers tied to their supplier",
    "stock_known": "the component's stock_days is given (false: read as 0 days)",
    "exposed_days": "recovery_day - time_to_survive_days",
    "exposed": "supply falls short before it is restored",
    "bottleneck": "chain of inputs that sets the lowest day, ending in the cut supply",
    "bottleneck_high": "the chain that sets the upper bound's lowest day, where the bounds "
                       "differ",
    "bounds_note": "why the upper bound is higher: the shared input the chain would be served "
                   "first from",
    "sources": "sources of the figures on the bottleneck chain",
}


def perspective_label(model, ev: Evaluation, b: int = 0) -> str:
    """The perspective of scenario ``b`` in words, for headers."""
    scenario = ev.scenarios[b]
    if scenario.perspective:
        return scenario.perspective
    stopping = sorted({x for r in ev.resolved[b] for x in r.stopping if r.kind == "stop"})
    dest = sorted({x for r in ev.resolved[b] for x in r.dest if r.kind == "ban"})
    if not stopping and not dest:
        return "world"
    outside = ", ".join(_regions(model, stopping + dest))
    return f"rest of the world (consumers outside {outside})"


def _regions(model, countries: list[str]) -> list[str]:
    """Countries, with whole blocs named by the bloc."""
    left, out = set(countries), []
    for bloc, members in model.blocs.items():
        if len(members) > 1 and set(members) <= left:
            out.append(bloc)
            left -= set(members)
    return out + sorted(left)


def _estimated_upstream(ev: Evaluation, b: int) -> np.ndarray:
    """Components whose loss rests on a hit supply edge with an estimated share."""
    c = ev.compiled
    hit = np.zeros(c.n_edges, dtype=bool)
    for r in ev.resolved[b]:
        hit[r.edges] = True
    hit &= c.e_estimated
    est = np.zeros(c.n_components, dtype=bool)
    est[c.e_comp[hit]] = True
    for i in range(c.n_components):  # topological order: inputs come first
        if any(est[members].any() for _, members in c.groups[i]):
            est[i] = True
    return est


def _supply_left(ev: Evaluation, i: int, k: int, b: int, t: int) -> tuple[float, list[int]]:
    """Share of component ``i``'s own supply left on day ``t`` for class ``k`` with every input
    available, and the hit supply edges."""
    c = ev.compiled
    if t >= c.ttr_days[i]:
        return 1.0, []
    ep = ev.epoch_at(t)
    edges = np.flatnonzero(c.e_comp == i)
    if not len(edges):
        return 1.0, []
    norm = max(1.0, float(c.e_share[edges].sum()))
    left, hit = c.rest[i], []
    for e in edges:
        if ep.stopped[k, e, b]:
            kept = ep.keep_e[k, e, b] * ep.survive[k, e, b]
        else:
            kept = ep.survive[k, e, b]
        left += c.e_share[e] / norm * kept
        if kept < 1.0:
            hit.append(int(e))
    return float(left), hit


def _describe_edges(ev: Evaluation, edges: list[int], k: int, b: int, t: int) -> str:
    c = ev.compiled
    ep = ev.epoch_at(t)
    hit = sorted(edges, key=lambda e: -c.e_share[e])
    parts = []
    for e in hit[:3]:
        how = "export stop" if ep.stopped[k, e, b] else "cut"
        parts.append(f"{c.e_supplier[e]}@{c.countries[c.e_site[e]]} "
                     f"({c.e_share[e]:.0%}, {how})")
    return " + ".join(parts) + (f" + {len(hit) - 3} more" if len(hit) > 3 else "")


def bottleneck(model, ev: Evaluation, b: int, component: str,
               req_sources: dict | None = None, *,
               high: bool = False) -> tuple[str, list[str], list[int]]:
    """The path of inputs that sets ``component``'s lowest day, its sources and the path.

    On the day and for the consumer class where the component is lowest, follow the
    requirement group with the lowest value (and in it the best alternative, which is the one
    that serves) until a component whose own supply or own cut explains the loss; there, name
    the hit supply rows. Capital equipment shows the installed base left on that day.
    Needs an evaluation made with ``series=True``; ``high`` explains the upper bound (each
    input as the chain sees it when served first).
    """
    c = ev.compiled
    src_of_req = req_sources if req_sources is not None else _req_sources(model)
    i = c.index[component]
    col = b + (len(ev.scenarios) if high else 0)
    t, k = int(ev.worst_day[i, col]), int(ev.worst_class[i, col])
    seen = ev.inputs_series[t, k, :, col]
    if high:
        seen = np.minimum(1.0, seen / c.chain_share)
    steps, sources, path = [component], [], [i]
    for _ in range(c.n_components):
        if ev.series[t, k, i, col] >= 1.0 and (i == path[0] or seen[i] >= 1.0):
            break
        ep = ev.epoch_at(t)
        if t < c.ttr_days[i] and ep.factor[k, i, b] < 1.0:
            steps.append(f"{c.components[i]} cut ({1 - ep.factor[k, i, b]:.0%})")
            break
        groups = [(max(seen[m] for m in mem), mem) for _, mem in c.groups[i]]
        worst = min(groups, key=lambda gv: gv[0], default=(1.0, []))
        left, hit = _supply_left(ev, i, k, b, t)
        if hit and left <= worst[0] + EPS:
            steps.append(_describe_edges(ev, hit, k, b, t))
            sources += [c.e_source[e] for e in hit]
            break
        if not worst[1] or worst[0] >= 1.0:
            break
        nxt = max(worst[1], key=lambda m: seen[m])
        sources.append(src_of_req.get((c.components[i], c.components[nxt])))
        i = nxt
        path.append(i)
        label = c.components[i]
        if c.capital[i]:
            label += f" (installed base {seen[i]:.0%} on day {t})"
        steps.append(label)
    return " <- ".join(steps), sorted({s for s in sources if s}), path


def _bounds_note(model, ev: Evaluation, b: int, i: int, path: list[int],
                 req_sources: dict) -> tuple[str | None, str | None]:
    """Why the upper bound is higher, and the chain that limits it then."""
    c = ev.compiled
    lo, hi = ev.availability[i, b], ev.availability_high[i, b]
    if hi <= lo + 1e-9:
        return None, None
    chain = None
    if hi < 1.0:
        chain = bottleneck(model, ev, b, c.components[i], req_sources, high=True)[0]
    banned = [p for p in path if _rerouted(ev, b, p)]
    if banned:
        return (f"up to {hi:.2f} if the banned consumers are served first from the "
                f"{c.components[banned[-1]]} that still reaches them"), chain
    shared = [p for p in path[1:] if c.chain_share[p] < 1.0]
    why = (f"the chain uses {c.chain_share[shared[0]]:.0%} of the world's "
           f"{c.components[shared[0]]}" if shared else "it shares some of its inputs")
    return f"up to {hi:.2f} if the chain is served first ({why})", chain


def _rerouted(ev: Evaluation, b: int, i: int) -> bool:
    """Whether an export ban on component ``i``'s supply reaches the perspective, with the
    banned consumers' demand known (the upper bound then serves them first)."""
    classes = ev.perspective_classes[:, b]
    return any(ep.ban_need is not None and np.isfinite(ep.ban_need[classes, i, b]).any()
               for _, ep in ev.epochs)


def whatif(model, scenario: Scenario, *, explain: bool = True,
           evaluation: Evaluation | None = None) -> pd.DataFrame:
    """Availability over time, bounds, steady state and bottleneck of every component.

    Rows: end-use products first, then the other components; each block by lost days (most
    first). The frame's ``attrs`` carry the scenario's title and perspective. ``evaluation``
    is the scenario's own :func:`~semigraph.engine.propagation.evaluate` result, when the
    caller has it (with ``series=True`` to explain bottlenecks).
    """
    ev = evaluation if evaluation is not None else evaluate(model, scenario, series=explain)
    explain = explain and ev.series is not None
    c = ev.compiled
    comps = model.components.set_index("id")
    est = _estimated_upstream(ev, 0)
    req_sources = _req_sources(model)
    rows = []
    for i, cid in enumerate(c.components):
        first = int(ev.time_to_survive[i, 0])
        short = first >= 0
        rec = int(ev.recovery[i, 0])
        recovery_day = (rec if rec >= 0 else ev.horizon) if short else None
        low = float(ev.availability[i, 0])
        affected = low < 1.0 or float(ev.steady_state[i, 0]) < 1.0
        chain, sources, note, chain_high = "", [], None, None
        if explain and low < 1.0:
            chain, sources, path = bottleneck(model, ev, 0, cid, req_sources)
            note, chain_high = _bounds_note(model, ev, 0, i, path, req_sources)
        rows.append({
            "component": cid,
            "name": comps.at[cid, "name"],
            "stage": comps.at[cid, "stage"],
            "availability": low,
            "availability_high": float(ev.availability_high[i, 0]),
            "availability_tied": float(ev.availability_tied[i, 0]),
            "steady_state": float(ev.steady_state[i, 0]),
            "shortfall": 1.0 - low,
            "world_availability": float(ev.world[i, 0]),
            "estimated": bool(est[i] and affected),
            "stock_days": _num(comps.at[cid, "stock_days"]),
            "ttr_days": _num(comps.at[cid, "ttr_days"]),
            "time_to_survive_days": first if short else None,
            "tied_short_from_day": _day(ev.tied_short_from_day[i, 0]),
            "recovery_day": recovery_day,
            "recovered": (rec >= 0) if short else None,
            "lost_days": float(ev.lost_days[i, 0]),
            "tied_lost_days": float(ev.tied_lost_days[i, 0]),
            "exposed_share": float(ev.exposed_share[i, 0]),
            "output": float(ev.output[0, i, 0]),
            "output_high": float(ev.output[1, i, 0]),
            "output_tied": float(ev.output[2, i, 0]),
            "stock_known": not bool(c.stock_unknown[i]),
            "exposed_days": recovery_day - first if short else None,
            "exposed": short,
            "bottleneck": chain or None,
            "bottleneck_high": chain_high,
            "bounds_note": note,
            "sources": sources,
        })
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("time_to_survive_days", "tied_short_from_day", "recovery_day", "exposed_days"):
        frame[col] = frame[col].astype("Int64")
    frame["recovered"] = frame["recovered"].astype("boolean")
    frame = frame.assign(_end=frame["stage"] != "end_use").sort_values(
        ["_end", "lost_days", "availability", "steady_state", "component"],
        ascending=[True, False, True, True, True]).drop(columns="_end").reset_index(drop=True)
    frame.attrs["title"] = scenario.label
    frame.attrs["perspective"] = perspective_label(model, ev)
    frame.attrs["horizon"] = ev.horizon
    frame.attrs["modes"] = [_describe(r) for r in ev.resolved[0]]
    hurt = (frame["availability"] < 1.0) | (frame["availability_tied"] < 1.0)
    frame.attrs["unknown_stock"] = sorted(frame.loc[hurt & ~frame["stock_known"], "component"])
    return frame


def timeline(ev: Evaluation, b: int = 0, *, high: bool = False,
             reading: str | None = None) -> pd.DataFrame:
    """Delivered supply per day as a share of normal, seen from scenario ``b``'s
    perspective (a bloc: its weakest member that day): rows are days ``0..horizon``, columns
    components. ``reading`` is one of :data:`~semigraph.engine.propagation.READINGS`:
    ``pooled`` (every user rationed alike, the default), ``high`` (the chain served first;
    also ``high=True``) or ``tied`` (buyers tied to their supplier until they qualify
    another).

    The lowest value of each column is the component's ``availability`` (or
    ``availability_high``, ``availability_tied``). Needs an evaluation with ``series=True``.
    """
    if ev.series is None:
        raise ValueError("the evaluation kept no daily series: evaluate(..., series=True)")
    reading = reading or ("high" if high else "pooled")
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {', '.join(READINGS)}, not {reading!r}")
    n = len(ev.scenarios)
    blocks = ev.series.shape[-1] // n
    col = b + n * min(READINGS.index(reading), blocks - 1)
    mask = ev.perspective_classes[:, b]
    days = ev.series[..., col][:, mask, :].min(axis=1)
    return pd.DataFrame(days, index=pd.RangeIndex(len(days), name="day"),
                        columns=pd.Index(ev.compiled.components, name="component"))


def _describe(r) -> str:
    """A disruption in words: ``CHN: export stop``, ``neon@UKR: outage x0.5 for 60 days``."""
    d = r.disruption
    text = d.unit + ": " + {"stop": "export stop", "ban": "export ban to " + "+".join(d.to),
                            "outage": "outage"}[r.kind]
    if d.severity != 1:
        text += f" x{d.severity:g}"
    if d.scope != "site":
        text += f" (scope {d.scope})"
    if d.duration_days is not None:
        text += f" for {d.duration_days:g} days"
    return text


def _req_sources(model) -> dict:
    req = model.requires
    return dict(zip(zip(req["component"], req["input"]), req["source"]))


def _day(value) -> int | None:
    return int(value) if value >= 0 else None


def _num(value):
    return None if value is None or pd.isna(value) else float(value)

