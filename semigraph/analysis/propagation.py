"""Availability under scenarios: the propagation of DESIGN.md section 4, in batch.

Notes
-----
For each component ``c`` in topological order of ``feeds`` and each consumer class ``k``::

    I_k(c) = min over requirement groups of (max over the group's inputs of A_k(i))
    A_k(c) = sum_e w(e) * survive_k(e) * I_site(e)(c) + rest(c) * I_ROW(c)
    A_k(c) *= 1 - severity of a disruption of c itself that applies to k

with ``w(e) = share(e) / max(1, sum of shares)`` and ``rest(c) = max(0, 1 - sum of shares)``.
Consumers are grouped into classes by the destination lists they belong to: two countries in
the same lists see the same availability, so export bans cost a few classes, not a pass per
country. With no destination lists there is one class and ``A = S * I``, the world formula.
A component without supply rows is taken to be made by the consumer itself (its inputs are
judged from the consumer's class); in the world view this is the design's ``S(c) = 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semigraph.analysis.compiled import Compiled, Level, compile_model
from semigraph.analysis.scenario import Disruption, Scenario
from semigraph.errors import ScenarioError

__all__ = ["Evaluation", "Timeline", "evaluate", "unit_hits"]

#: Availabilities within this distance of 1 count as full supply (float rounding of shares).
EPS = 1e-12


def unit_hits(model, compiled: Compiled, disruption: Disruption) -> tuple[np.ndarray, int | None]:
    """The supply edges a disruption hits (bool mask), and the component it hits itself."""
    unit = model.resolve(disruption.unit)
    mask = np.zeros(compiled.n_edges, dtype=bool)
    if unit.kind in ("country", "bloc"):
        members = [compiled.country_index[c] for c in model.members(unit.id)]
        mask |= np.isin(compiled.e_site, members)
        if disruption.scope == "control":
            mask |= np.isin(compiled.e_ctrl, members)
        return mask, None
    if disruption.scope != "site":
        raise ScenarioError(f"scope 'control' applies to a country or bloc, not {unit.kind} "
                            f"{unit.id}")
    if unit.kind == "firm":
        return compiled.e_supplier == unit.id, None
    if unit.kind == "component":
        return mask, compiled.index[unit.id]
    site = compiled.country_index[unit.country]
    mask = compiled.e_site == site
    if unit.firm is not None:
        mask &= compiled.e_supplier == unit.firm
    if unit.component is not None:
        mask &= compiled.e_comp == compiled.index[unit.component]
    return mask, None


@dataclass(eq=False)
class Timeline:
    """Day-by-day results per class, component and scenario (arrays ``(K, C, B)``).

    ``first_short``: first day delivered < 1 (time to survive), -1 if never;
    ``recovered``: first later day delivered is 1 again, -1 if not within the horizon;
    ``max_shortfall``: the deepest shortfall; ``short_days``: days with a shortfall.
    """

    horizon: int
    first_short: np.ndarray
    recovered: np.ndarray
    max_shortfall: np.ndarray
    short_days: np.ndarray
    series: np.ndarray | None  # (horizon + 1, K, C, B) when asked for


@dataclass(eq=False)
class Evaluation:
    """Availability of every component under a batch of scenarios."""

    compiled: Compiled
    scenarios: tuple[Scenario, ...]
    country_class: np.ndarray  # class of each country
    row_class: int
    A: np.ndarray  # (K, C, B)
    survive: np.ndarray  # (K, E, B)
    factor: np.ndarray  # (K, C, B)
    perspectives: tuple[tuple[str, ...], ...]  # member countries seen from, per scenario
    timeline: Timeline | None = None

    def classes_of(self, b: int) -> np.ndarray:
        """Classes of the perspective's member countries of scenario ``b``."""
        members = self.perspectives[b]
        if not members:
            return np.array([self.row_class])
        return np.array(sorted({int(self.country_class[self.compiled.country_index[m]])
                                for m in members}))

    def availability(self, b: int = 0) -> np.ndarray:
        """Availability of each component from scenario ``b``'s perspective.

        A bloc sees its weakest member's availability.
        """
        return self.A[self.classes_of(b), :, b].min(axis=0)

    def availability_matrix(self) -> np.ndarray:
        """(C, B): availability of each component under each scenario, each seen from its own
        perspective."""
        return np.stack([self.availability(b) for b in range(len(self.scenarios))], axis=1)


def _classes(model, compiled: Compiled, scenarios: Sequence[Scenario]):
    """Group countries by the destination lists they belong to."""
    lists = sorted({frozenset(c for r in d.to for c in model.members(r))
                    for s in scenarios for d in s.disruptions if d.to}, key=sorted)
    signature = [tuple(c in lst for lst in lists) for c in compiled.countries]
    row_sig = tuple(False for _ in lists)
    sigs = [row_sig, *sorted(set(signature) - {row_sig})]
    sig_index = {s: i for i, s in enumerate(sigs)}
    country_class = np.array([sig_index[s] for s in signature], dtype=np.int64)
    return lists, sigs, country_class


def _default_perspective(model, scenario: Scenario) -> tuple[str, ...]:
    if scenario.perspective:
        return model.members(scenario.perspective)
    to = sorted({c for d in scenario.disruptions for r in d.to for c in model.members(r)})
    return tuple(to)  # an export ban is seen from its destinations unless told otherwise


def _input_term(level: Level, values: np.ndarray) -> np.ndarray:
    """min over groups of max over alternatives, for the level's components: (K, nL, B)."""
    k, _, b = values.shape
    out = np.ones((k, len(level.comps), b))
    if level.inputs.size:
        g = np.maximum.reduceat(values[:, level.inputs, :], level.group_starts, axis=1)
        out[:, level.req_pos, :] = np.minimum.reduceat(g, level.comp_group_starts, axis=1)
    return out


def _made(level: Level, inputs: np.ndarray, survive: np.ndarray, country_class_of_edge,
          row_class: int) -> np.ndarray:
    """Supply of the level's components, before their own disruption factor: (K, nL, B)."""
    out = inputs.copy()  # no supply rows: made by the consumer itself
    sup = level.has_supply
    if level.edges.size:
        at_site = inputs[country_class_of_edge[level.edges], level.edge_pos, :]  # (nE, B)
        part = np.einsum("ce,keb->kcb", level.weights, survive * at_site[None])
        part += level.rest[None, :, None] * inputs[row_class][None]
        out[:, sup, :] = part[:, sup, :]
    return out


def evaluate(model, scenarios: Sequence[Scenario] | Scenario, *, timeline: bool = False,
             series: bool = False) -> Evaluation:
    """Availability of every component under each scenario (scenarios as columns).

    Parameters
    ----------
    model : Model
    scenarios : Scenario or sequence of Scenario
    timeline : bool
        Also run the day-by-day simulation over each scenario's horizon (the longest one
        in the batch).
    series : bool
        Keep the daily ``delivered`` values (memory: horizon x classes x components x
        scenarios).
    """
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios]
    scenarios = tuple(scenarios)
    c = compile_model(model)
    lists, sigs, country_class = _classes(model, c, scenarios)
    k, n, e, b = len(sigs), c.n_components, c.n_edges, len(scenarios)
    survive = np.ones((k, e, b))
    factor = np.ones((k, n, b))
    for j, scen in enumerate(scenarios):
        for d in scen.disruptions:
            mask, comp = unit_hits(model, c, d)
            keep = 1.0 - d.severity
            if d.to:
                dest = frozenset(x for r in d.to for x in model.members(r))
                li = lists.index(dest)
                applies = np.array([s[li] for s in sigs])
            else:
                applies = np.ones(k, dtype=bool)
            if comp is not None:
                factor[applies, comp, j] *= keep
            else:
                survive[np.ix_(applies, mask, [j])] *= keep
    edge_class = country_class[c.e_site]
    row = 0
    A = np.ones((k, n, b))
    for level in c.levels:
        inputs = _input_term(level, A)
        made = _made(level, inputs, survive[:, level.edges, :], edge_class, row)
        A[:, level.comps, :] = made * factor[:, level.comps, :]
    np.clip(A, 0.0, 1.0, out=A)
    A[A > 1.0 - EPS] = 1.0
    ev = Evaluation(compiled=c, scenarios=scenarios, country_class=country_class, row_class=row,
                    A=A, survive=survive, factor=factor,
                    perspectives=tuple(_default_perspective(model, s) for s in scenarios))
    if timeline:
        ev.timeline = _simulate(c, ev, max(s.horizon for s in scenarios), series)
    return ev


def _simulate(c: Compiled, ev: Evaluation, horizon: int, keep_series: bool) -> Timeline:
    """Day-by-day simulation of DESIGN.md section 4 ("Time")."""
    k, n, b = ev.A.shape
    edge_class = ev.country_class[c.e_site]
    delivered = np.ones((k, n, b))
    stock = np.broadcast_to(c.stock_days[None, :, None], (k, n, b)).copy()
    first_short = np.full((k, n, b), -1, dtype=np.int64)
    recovered = np.full((k, n, b), -1, dtype=np.int64)
    max_short = np.zeros((k, n, b))
    short_days = np.zeros((k, n, b), dtype=np.int64)
    series = np.empty((horizon + 1, k, n, b)) if keep_series else None
    for t in range(horizon + 1):
        for level in c.levels:
            comps = level.comps
            back = t >= c.ttr_days[comps]  # lost supply has returned
            surv = ev.survive[:, level.edges, :]
            if level.edges.size:
                surv = np.where(back[level.edge_pos][None, :, None], 1.0, surv)
            inputs = _input_term(level, delivered)
            made = _made(level, inputs, surv, edge_class, ev.row_class)
            made *= np.where(back[None, :, None], 1.0, ev.factor[:, comps, :])
            np.clip(made, 0.0, 1.0, out=made)
            have = stock[:, comps, :]
            d = np.minimum(1.0, made + have)
            stock[:, comps, :] = have - (d - made)
            d[d > 1.0 - EPS] = 1.0
            delivered[:, comps, :] = d
        short = delivered < 1.0
        new_short = short & (first_short < 0)
        first_short[new_short] = t
        back_now = ~short & (first_short >= 0) & (recovered < 0)
        recovered[back_now] = t
        np.maximum(max_short, 1.0 - delivered, out=max_short)
        short_days += short
        if series is not None:
            series[t] = delivered
    return Timeline(horizon=horizon, first_short=first_short, recovered=recovered,
                    max_shortfall=max_short, short_days=short_days, series=series)
