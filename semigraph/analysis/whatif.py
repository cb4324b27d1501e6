"""What-if: which components lose how much supply, how soon and for how long, and why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from semigraph.analysis.propagation import Evaluation, evaluate
from semigraph.analysis.scenario import Scenario
from semigraph.schema import stages

__all__ = ["COLUMNS", "STAGE_ORDER", "bottleneck", "whatif"]

STAGE_ORDER = tuple(reversed(stages()))  # end use first: the table leads with products

#: Result columns, in order, with their meaning (documented in the README).
COLUMNS = {
    "component": "component id",
    "name": "component name",
    "stage": "value-chain stage",
    "availability": "fraction of normal supply still available (0..1), from the perspective",
    "shortfall": "1 - availability",
    "world_availability": "availability for consumers outside every destination list",
    "estimated": "the figure rests on a supply share that is an estimate (unknown share split)",
    "stock_days": "consumers' normal stock, days",
    "ttr_days": "time to restore lost supply, days (empty: unknown, no recovery in horizon)",
    "time_to_survive_days": "first day delivered supply falls short (empty: never in horizon)",
    "recovery_day": "first later day supply is full again (the horizon if not within it)",
    "recovered": "supply is full again within the horizon",
    "exposed_days": "recovery_day - time_to_survive_days",
    "max_shortfall": "deepest daily shortfall within the horizon",
    "exposed": "supply falls short before it is restored (recovery after stocks run out)",
    "bottleneck": "chain of inputs that sets the availability, ending in the cut supply",
    "sources": "sources of the figures on the bottleneck chain",
}


def _estimated_upstream(model, ev: Evaluation, b: int) -> np.ndarray:
    """Components whose loss rests on a hit supply edge with an estimated share."""
    c = ev.compiled
    hit = (ev.survive[:, :, b] < 1.0).any(axis=0) & c.e_estimated
    est = np.zeros(c.n_components, dtype=bool)
    est[c.e_comp[hit]] = True
    for i in range(c.n_components):  # topological order: inputs come first
        for _, members in c.groups[i]:
            if est[members].any():
                est[i] = True
                break
    return est


def bottleneck(model, ev: Evaluation, b: int, component: str,
               req_sources: dict | None = None) -> tuple[str, list[str]]:
    """The path of inputs that sets ``component``'s availability, and its sources.

    From the component, follow the requirement group with the lowest availability (and in it
    the best alternative, which is the one that serves) until a component whose own supply
    or own disruption explains the loss; there, name the hit supply rows.
    """
    c = ev.compiled
    src_of_req = req_sources if req_sources is not None else _req_sources(model)
    classes = ev.classes_of(b)
    i = c.index[component]
    k = int(classes[np.argmin(ev.A[classes, i, b])])
    steps, sources = [component], []
    seen = 0
    while ev.A[k, i, b] < 1.0 and seen < len(c.components):
        seen += 1
        if ev.factor[k, i, b] < 1.0:
            steps.append(f"{c.components[i]} cut ({1 - ev.factor[k, i, b]:.0%})")
            break
        group_vals = [(max(ev.A[k, m, b] for m in mem), mem) for _, mem in c.groups[i]]
        worst = min(group_vals, key=lambda gv: gv[0], default=(1.0, []))
        edges = np.flatnonzero(c.e_comp == i)
        lost = [e for e in edges if ev.survive[k, e, b] < 1.0]
        supply_level = (sum(c.e_share[e] * ev.survive[k, e, b] for e in edges)
                        / max(1.0, c.e_share[edges].sum()) + c.rest[i]) if len(edges) else 1.0
        if lost and supply_level <= worst[0]:
            hit = sorted(lost, key=lambda e: -c.e_share[e])
            steps.append(" + ".join(f"{c.e_supplier[e]}@{c.countries[c.e_site[e]]} "
                                    f"({c.e_share[e]:.0%})" for e in hit[:3])
                         + (f" + {len(hit) - 3} more" if len(hit) > 3 else ""))
            sources += [c.e_source[e] for e in hit]
            break
        if not worst[1]:
            break
        nxt = max(worst[1], key=lambda m: ev.A[k, m, b])
        sources.append(src_of_req.get((c.components[i], c.components[nxt])))
        i = nxt
        steps.append(c.components[i])
    return " <- ".join(steps), sorted({s for s in sources if s})


def whatif(model, scenario: Scenario, *, explain: bool = True) -> pd.DataFrame:
    """Availability, timeline and bottleneck of every component under ``scenario``.

    Rows are ranked: end-use products first, then by stage downstream to upstream, each by
    availability (lowest first). The frame's ``attrs`` carry the scenario's title and notes.
    """
    ev = evaluate(model, scenario, timeline=True)
    c, tl = ev.compiled, ev.timeline
    classes = ev.classes_of(0)
    avail = ev.availability(0)
    world = ev.A[ev.row_class, :, 0]
    # the weakest member's class per component, for the time columns
    k_of = classes[np.argmin(ev.A[classes, :, 0], axis=0)]
    idx = np.arange(c.n_components)
    first = tl.first_short[k_of, idx, 0]
    rec = tl.recovered[k_of, idx, 0]
    comps = model.components.set_index("id")
    est = _estimated_upstream(model, ev, 0)
    req_sources = _req_sources(model)
    rows = []
    for i, cid in enumerate(c.components):
        short = first[i] >= 0
        recovered = bool(rec[i] >= 0) if short else None
        recovery_day = (int(rec[i]) if rec[i] >= 0 else tl.horizon) if short else None
        affected = avail[i] < 1.0 or short
        chain, sources = ("", [])
        if explain and affected:
            chain, sources = bottleneck(model, ev, 0, cid, req_sources)
        rows.append({
            "component": cid,
            "name": comps.at[cid, "name"],
            "stage": comps.at[cid, "stage"],
            "availability": float(avail[i]),
            "shortfall": float(1.0 - avail[i]),
            "world_availability": float(world[i]),
            "estimated": bool(est[i] and affected),
            "stock_days": _num(comps.at[cid, "stock_days"]),
            "ttr_days": _num(comps.at[cid, "ttr_days"]),
            "time_to_survive_days": int(first[i]) if short else None,
            "recovery_day": recovery_day,
            "recovered": recovered,
            "exposed_days": recovery_day - int(first[i]) if short else None,
            "max_shortfall": float(tl.max_shortfall[k_of[i], i, 0]),
            "exposed": bool(short),
            "bottleneck": chain or None,
            "sources": sources,
        })
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("time_to_survive_days", "recovery_day", "exposed_days"):
        frame[col] = frame[col].astype("Int64")
    frame["recovered"] = frame["recovered"].astype("boolean")
    rank = {s: n for n, s in enumerate(STAGE_ORDER)}
    frame = frame.assign(_r=frame["stage"].map(rank)).sort_values(
        ["_r", "availability", "max_shortfall", "component"],
        ascending=[True, True, False, True]).drop(columns="_r").reset_index(drop=True)
    frame.attrs["title"] = scenario.label
    frame.attrs["perspective"] = scenario.perspective or (
        "+".join(ev.perspectives[0]) if ev.perspectives[0] else "world")
    return frame


def _req_sources(model) -> dict:
    req = model.requires
    return dict(zip(zip(req["component"], req["input"]), req["source"]))


def _num(value):
    return None if value is None or pd.isna(value) else float(value)
