"""Strategic-stockpile candidates: what to store, how many days more, and at what cost.

Columns of :func:`stockpile` (one row per candidate component, best first):

=========================  ====================================================================
``rank``                   1 = strongest candidate
``component``, ``name``,   the candidate
``stage``
``score``                  product loss x exposed days in the worst scenario (see Notes)
``product_loss``           what the candidate's shortfall alone costs end use: sum over end-use
                           products of 1 - A(p) with only the candidate at its scenario
                           availability, in the worst scenario
``products_protected``     the end-use products that its shortfall alone makes short (those its
                           stock protects, as far as this input is concerned)
``worst_scenario``         the scenario with the highest score
``scenarios``              every scenario in which the candidate runs short
``availability``           the candidate's availability in the worst scenario
``availability_tied``      the same with buyers tied to their supplier until they qualify
                           another (engine README 4.5), in the same scenario
``stock_days``             consumers' normal stock, days (0 when unknown)
``ttr_days``               time to restore its supply, days (empty = unknown: no recovery)
``time_to_survive_days``   day its stock runs out in the worst scenario
``tied_short_from_day``    in the same scenario, the day the first tied buyers run out (the
                           thinnest stocks of those tied to the lost supply): when a stockpile
                           must be there; empty when the tied reading never falls short
``exposed_days``           days from then until supply is full again (capped at the horizon)
``extra_stock_days``       recommended extra stock, in days of normal demand: the cumulative
                           shortfall of its worst scenario (covers every scenario)
``extra_stock_units``      the same in the component's unit, where ``demand_per_year`` is known
``cost_eur``               its value, where ``unit_value_eur`` and ``demand_per_year`` are known
``estimated``              the figures rest on an estimated supply share
=========================  ====================================================================

Candidates, the worst scenario, the score and the extra stock are those of the pooled reading
(every user of an input rationed alike), with shortfalls that serving the chain first would
close left out (the upper bound); the tied columns are reported beside them and change
neither the candidates nor the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from semigraph.engine.propagation import SHORT, evaluate
from semigraph.engine.scenario import DEFAULT_HORIZON, Disruption, Scenario
from semigraph.engine.units import downstream
from semigraph.findings.concentration import CHOKEPOINT, holder_shares
from semigraph.findings.cutsets import ZERO, propagate_world

__all__ = ["COLUMNS", "HORIZON", "METHOD", "default_scenarios", "stockpile"]

#: Days simulated by default: two years, so that most ttr_days end within the horizon.
HORIZON = 730

COLUMNS = ["rank", "component", "name", "stage", "score", "product_loss", "products_protected",
           "worst_scenario", "scenarios", "availability", "availability_tied", "stock_days",
           "ttr_days", "time_to_survive_days", "tied_short_from_day", "exposed_days",
           "extra_stock_days", "extra_stock_units", "cost_eur", "estimated"]

METHOD = (
    "Method: each scenario is simulated day by day (stocks drawn down, installed equipment "
    "eroding slowly, lost supply back after ttr_days). A candidate is a storable component, "
    "not capital equipment nor itself an end-use product, whose ttr_days exceeds its stock "
    "cover, that runs short in some scenario even if the chain were served before other "
    "industries (chain_share; shortfalls that priority allocation closes are left out), and "
    "whose "
    "shortfall alone (the candidate at its scenario availability, all else normal) makes "
    "end-use products short. Score = product loss (sum of those products' shortfall) x "
    "exposed days (from stock-out to full supply, capped at the horizon), in the worst "
    "scenario. Extra stock = the supply it loses in its worst case (lost days, the sum of "
    "daily shortfalls over the horizon), in days of demand; cost = extra days / 365 x "
    "demand_per_year x unit_value_eur. Beside them, the tied reading of the worst scenario "
    "(buyers tied to their supplier until they qualify another, each with its own stock): "
    "its lowest day and the day its first buyers run out."
)


def default_scenarios(model, *, threshold: float = CHOKEPOINT, perspective: str | None = None,
                      horizon: int = DEFAULT_HORIZON) -> list[Scenario]:
    """One full cut per country holding a chokepoint (at least ``threshold`` of some
    component's supply)."""
    shares = holder_shares(model, "country")
    holders = sorted(set(shares.loc[shares["share"] >= threshold, "holder"]))
    return [Scenario((Disruption(x),), perspective=perspective, horizon=horizon,
                     title=f"{x} cut") for x in holders]


def stockpile(model, scenarios: Sequence[Scenario] | None = None, *,
              perspective: str | None = None, horizon: int = HORIZON) -> pd.DataFrame:
    """Ranked strategic-stockpile candidates under ``scenarios`` (columns :data:`COLUMNS`).

    Parameters
    ----------
    model : Model
    scenarios : sequence of Scenario, optional
        Default: :func:`default_scenarios` (each chokepoint-holding country cut in full).
    perspective : str, optional
        Consumer country or bloc; overrides the scenarios' own perspectives when given.
    horizon : int
        Days simulated for the default scenarios.

    Notes
    -----
    Follows engine README section 5: rank by downstream impact times exposed days; recommend extra
    days of stock and, where unit value and demand are known, their cost. ``attrs["notes"]``
    states the method and ``attrs["scenarios"]`` the scenarios used.
    """
    if scenarios is None:
        scenarios = default_scenarios(model, perspective=perspective, horizon=horizon)
    elif perspective:
        scenarios = [s.with_(perspective=perspective) for s in scenarios]
    scenarios = list(scenarios)
    comps = model.components.set_index("id")
    frame = pd.DataFrame(columns=COLUMNS)
    if scenarios:
        frame = _rank(model, scenarios, comps)
    frame.attrs["notes"] = [METHOD]
    frame.attrs["scenarios"] = [s.label for s in scenarios]
    return frame


def _rank(model, scenarios: list[Scenario], comps: pd.DataFrame) -> pd.DataFrame:
    ev = evaluate(model, scenarios)
    c = ev.compiled
    down = downstream(c)
    stage = np.array([comps.at[x, "stage"] for x in c.components])
    end_use = stage == "end_use"
    storable = np.array([_num(comps.at[x, "storable"]) == 1.0 for x in c.components])
    eligible = storable & ~end_use & (c.ttr_days > c.stock_days) & ~c.capital
    cases = []  # (scenario, candidate, availability, first short day, exposed days, extra,
    #              tied availability, tied first short day)
    for b, scen in enumerate(scenarios):
        first = ev.time_to_survive[:, b]
        rec = ev.recovery[:, b]
        # what the chain would get if it were served before other industries (engine README 4.2):
        # a shortfall that priority allocation alone would close is no case for a stockpile
        chain_first = np.minimum(1.0, ev.availability_high[:, b] / c.chain_share)
        short = eligible & (first >= 0) & down[:, end_use].any(axis=1) & (chain_first < SHORT)
        for i in np.flatnonzero(short):
            back = int(rec[i]) if rec[i] >= 0 else scen.horizon
            cases.append((b, int(i), float(ev.availability[i, b]), int(first[i]),
                          back - int(first[i]), float(ev.lost_days[i, b]),
                          float(ev.availability_tied[i, b]),
                          int(ev.tied_short_from_day[i, b])))
    # what the candidate's shortfall alone does downstream: cut it to its scenario availability
    factor = np.ones((c.n_components, len(cases)))
    for col, (_, i, a_i, *_rest) in enumerate(cases):
        factor[i, col] = a_i
    alone = propagate_world(c, np.ones((c.n_edges, len(cases))), factor) if cases else None
    best: dict[int, dict] = {}
    for col, (b, i, a_i, first, exposed, extra, tied, tied_first) in enumerate(cases):
        loss = 1.0 - alone[:, col]
        hurt = np.flatnonzero(end_use & (loss > ZERO))
        if not len(hurt):
            continue
        product_loss = float(loss[hurt].sum())
        label = scenarios[b].label
        entry = best.setdefault(i, {"scenarios": [], "score": -1.0, "extra": 0.0})
        entry["scenarios"].append(label)
        entry["extra"] = max(entry["extra"], extra)
        score = product_loss * exposed
        if score > entry["score"]:
            entry.update(score=score, loss=product_loss, worst=label, availability=a_i,
                         products=[c.components[j] for j in hurt], first=first,
                         exposed=exposed, tied=tied,
                         tied_first=tied_first if tied_first >= 0 else None)
    hit = np.zeros(c.n_edges, dtype=bool)
    for resolved in ev.resolved:
        for r in resolved:
            hit[r.edges] = True
    hit &= c.e_estimated
    estimated_from = c.e_comp[hit]
    rows = []
    for i, e in best.items():
        cid = c.components[i]
        demand = _num(comps.at[cid, "demand_per_year"])
        value = _num(comps.at[cid, "unit_value_eur"])
        units = e["extra"] / 365.0 * demand if demand is not None else None
        rows.append({
            "component": cid,
            "name": comps.at[cid, "name"],
            "stage": comps.at[cid, "stage"],
            "score": e["score"],
            "product_loss": e["loss"],
            "products_protected": sorted(e["products"]),
            "worst_scenario": e["worst"],
            "scenarios": e["scenarios"],
            "availability": e["availability"],
            "availability_tied": e["tied"],
            "stock_days": float(c.stock_days[i]),
            "ttr_days": None if np.isinf(c.ttr_days[i]) else float(c.ttr_days[i]),
            "time_to_survive_days": e["first"],
            "tied_short_from_day": e["tied_first"],
            "exposed_days": e["exposed"],
            "extra_stock_days": float(np.ceil(e["extra"])),
            "extra_stock_units": units,
            "cost_eur": units * value if units is not None and value is not None else None,
            "estimated": bool(down[estimated_from, i].any()),
        })
    frame = pd.DataFrame(rows, columns=[col for col in COLUMNS if col != "rank"])
    frame = frame.sort_values(["score", "extra_stock_days", "component"],
                              ascending=[False, False, True]).reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    for col in ("ttr_days", "extra_stock_units", "cost_eur", "availability_tied"):
        frame[col] = frame[col].astype(float)
    for col in ("time_to_survive_days", "exposed_days"):
        frame[col] = frame[col].astype("int64")
    frame["tied_short_from_day"] = frame["tied_short_from_day"].astype("Int64")
    return frame


def _num(value):
    return None if value is None or pd.isna(value) else float(value)
