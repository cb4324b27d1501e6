"""Availability under scenarios: engine README section 4, in batch, on the compiled arrays.

Notes
-----
Consumers are grouped into *classes* per scenario: two countries that every disruption
treats alike (inside the same destination lists, inside or outside the same stopping
countries) see the same availability, so a scenario costs a handful of classes, not a pass per
country. Class 0 of every scenario is the rest of the world (ROW): the consumers outside every
stopping country and every destination list. Arrays are ``(classes, components, columns)``;
a column is one scenario under one allocation bound (the lower bound first, then the upper).

For each component ``c`` of a topological level, class ``k`` and day ``t`` (engine README
4.1-4.4)::

    I_k(c)   = min over requirement groups of (max over the group's inputs of x_k(i))
               (upper bound: each input enters as min(1, x / chain_share))
    own_k(c) = sum over open edges of w(e) * survive_k(e) * I_site(e)(c) + rest(c) * I_ROW(c)
    net_k(c) = sum over stopped edges of keep(e) * w(e) * survive_k(e) * I_x(c)
               + per consumption row of a stopping x: keep_row max(0, P_x - C_x)
                 - max(0, C_x - P_x) - (what the sum above counted for x)
    made_k   = clamp((own + net) / (1 - sum of C_x over stopping x), 0, 1) * own factor
               (upper bound, where export bans reach k and every banned consumer's
               demand N is known: max(made_k, min(made without the bans,
               made_k x (1 - sum of C_x) / N)), the banned consumers served first)

A stopping country x counts for ``c`` (its consumption row, ``keep_row``) when it stops all its
exports (a country or bloc) or some of ``c``'s supply made in x.

The stopped supply of a country x is taken as the consumer sees it (``survive_k``, so an
export ban to the consumer still applies to it; the stopping country's own ``survive_x`` would
differ only when a ban and an export stop hit the same supply, and would let the stop lift
the ban).
An edge is *stopped* for class k when an active export stop that applies to k (k outside the
stopping countries) hits it; every other disruption (an outage, an export ban to listed
destinations) scales ``survive_k``. Stocks cover the gap between made and demand until they
run out; capital equipment enters its users as an installed base that moves towards the
deliveries by ``1 / renewal_days`` a day; lost supply of ``c`` returns at ``ttr_days(c)`` or when
its disruption ends. The static bound (all disruptions active, nothing restored, no stocks,
the installed base renewed at the reduced rate) is ``steady_state``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from semigraph.engine import tied as tiedr
from semigraph.engine.compiled import BUYERS, Compiled, Level, compile_model, restrict_level
from semigraph.engine.scenario import Disruption, Scenario, with_overrides
from semigraph.errors import ScenarioError

__all__ = ["READINGS", "ROW", "SHORT", "WINDOW", "Evaluation", "OverBudget", "Resolved",
           "evaluate", "evaluate_resolved", "resolve", "unit_hits"]

#: Availabilities within this distance of 1 count as full supply (float rounding of shares).
EPS = 1e-12
#: Delivered supply below this counts as short (engine README 4.1).
SHORT = 0.99
#: Class index of the rest of the world in every scenario.
ROW = 0
#: Memory (MiB) the arrays of one evaluation may take; larger batches run in chunks.
MEMORY_MB = 512
#: The readings, in the order of the first axis of the per-reading fields.
READINGS = ("pooled", "high", "tied")
#: Days over which history is recorded (a month): monthly measures take the lowest such mean.
WINDOW = 30


class OverBudget(ScenarioError):
    """One scenario's arrays alone would exceed the memory budget: refused before they are
    allocated, with the estimate."""


def unit_hits(model, compiled: Compiled, disruption: Disruption) -> tuple[np.ndarray, int | None]:
    """The supply edges a disruption hits (sorted edge indices), and the component it hits
    itself. Index arrays, not masks over all edges: a batch of many units stays small."""
    unit = model.resolve(disruption.unit)
    none = np.zeros(0, dtype=np.int64)

    def of(what: str, keys) -> np.ndarray:
        groups = compiled.edges_by(what)
        parts = [groups[k] for k in keys if k in groups]
        return np.unique(np.concatenate(parts)) if parts else none

    if unit.kind in ("country", "bloc"):
        members = [compiled.country_index[c] for c in model.members(unit.id)]
        edges = of("site", members)
        if disruption.scope == "control":
            edges = np.union1d(edges, of("ctrl", members))
        return edges, None
    if disruption.scope != "site":
        raise ScenarioError(f"scope 'control' applies to a country or bloc, not {unit.kind} "
                            f"{unit.id}")
    if unit.kind == "firm":
        return of("supplier", [unit.id]), None
    if unit.kind == "component":
        return none, compiled.index[unit.id]
    edges = of("site", [compiled.country_index[unit.country]])
    if unit.firm is not None:
        edges = edges[compiled.e_supplier[edges] == unit.firm]
    if unit.component is not None:
        edges = edges[compiled.e_comp[edges] == compiled.index[unit.component]]
    return edges, None


@dataclass(frozen=True, eq=False)
class Resolved:
    """A disruption with what it hits and how (``kind``: outage, ban or stop)."""

    disruption: Disruption
    kind: str
    edges: np.ndarray  # indices of the supply edges it hits
    component: int | None  # a component cut itself
    keep: float  # 1 - severity
    dest: frozenset = frozenset()  # a ban's destination countries
    stopping: frozenset = frozenset()  # a stop's producing countries
    whole: bool = False  # a stop of a country's or bloc's every export
    until: float = np.inf  # active while t < until


def resolve(model, compiled: Compiled, d: Disruption) -> Resolved:
    """What a disruption hits, with its mode settled (engine README 4.3).

    Countries and blocs default to ``export``, everything else to ``outage``; a disruption with
    destinations is an export ban to them.
    """
    unit = model.resolve(d.unit)
    edges, comp = unit_hits(model, compiled, d)
    mode = d.mode or ("export" if unit.kind in ("country", "bloc") else "outage")
    until = np.inf if d.duration_days is None else float(d.duration_days)
    keep = 1.0 - d.severity
    if d.to:
        dest = frozenset(c for r in d.to for c in model.members(r))
        return Resolved(d, "ban", edges, comp, keep, dest=dest, until=until)
    if mode == "outage":
        return Resolved(d, "outage", edges, comp, keep, until=until)
    if comp is not None:
        raise ScenarioError(f"{d.unit} is a component: cutting it is an outage (mode export "
                            "applies to countries, blocs, firms, sites and supply rows)")
    if unit.kind in ("country", "bloc"):
        stopping = frozenset(model.members(unit.id))
    else:
        stopping = frozenset(compiled.countries[i] for i in set(compiled.e_site[edges]))
    return Resolved(d, "stop", edges, None, keep, stopping=stopping, until=until,
                    whole=unit.kind in ("country", "bloc"))


def _stop_rows(c: Compiled, r: Resolved) -> np.ndarray:
    """The consumption rows an export stop reaches: those of its stopping countries, for
    every component when a whole country or bloc stops, else for the components whose supply
    it stops there (a stop of Chinese germanium leaves China's gallium trade alone)."""
    rows = np.isin(c.j_country, [c.country_index[x] for x in r.stopping])
    if not r.whole:
        made = set(zip(c.e_comp[r.edges].tolist(), c.e_site[r.edges].tolist()))
        rows &= np.array([(int(i), int(x)) in made for i, x in zip(c.j_comp, c.j_country)],
                         dtype=bool)
    return np.flatnonzero(rows)


def _applies(r: Resolved, country: str | None) -> bool:
    """Whether a disruption reaches a consumer (``None`` = the rest of the world)."""
    if r.kind == "ban":
        return country is not None and country in r.dest
    if r.kind == "stop":
        return country is None or country not in r.stopping
    return True


@dataclass(eq=False)
class _Classes:
    """Consumer classes of every scenario of a batch."""

    n: int  # classes (the largest number in any scenario)
    country_class: np.ndarray  # (countries, B) class of each country per scenario
    applies: list[list[np.ndarray]]  # per scenario, per disruption: bool per class


def _classes(c: Compiled, batch: list[list[Resolved]]) -> _Classes:
    per = []
    names = np.array(c.countries)
    zeros = np.zeros(len(c.countries), dtype=np.int64)
    for resolved in batch:
        varying = [r for r in resolved if r.kind != "outage"]
        if not varying:  # everyone alike: one class
            per.append(([()], zeros, varying))
            continue
        row_sig = tuple(_applies(r, None) for r in varying)
        reach = np.empty((len(c.countries), len(varying)), dtype=bool)  # _applies per country
        for i, r in enumerate(varying):
            inside = np.isin(names, list(r.dest if r.kind == "ban" else r.stopping))
            reach[:, i] = inside if r.kind == "ban" else ~inside
        sigs = list(map(tuple, reach.tolist()))
        order = [row_sig, *sorted(set(sigs) - {row_sig})]
        pos = {s: k for k, s in enumerate(order)}
        per.append((order, np.array([pos[x] for x in sigs], dtype=np.int64), varying))
    k = max((len(o) for o, _, _ in per), default=1)
    country_class = (np.stack([cc for _, cc, _ in per], axis=1) if per
                     else np.zeros((len(c.countries), 0), dtype=np.int64))
    applies = []
    for (order, _, varying), resolved in zip(per, batch):
        rows = []
        for r in resolved:
            if r.kind == "outage":
                rows.append(np.ones(k, dtype=bool))
                continue
            i = varying.index(r)
            col = np.array([s[i] for s in order] + [order[0][i]] * (k - len(order)))
            rows.append(col)
        applies.append(rows)
    return _Classes(k, country_class, applies)


@dataclass(eq=False)
class _Epoch:
    """The disruptions active over a span of days, as arrays (columns = scenarios)."""

    survive: np.ndarray  # (K, E, B) outages and bans that reach the class
    stopped: np.ndarray  # (K, E, B) bool: hit by an export stop that applies to the class
    keep_e: np.ndarray  # (K, E, B) what the stops leave of each stopped edge's exports
    keep_row: np.ndarray  # (K, rows, B) per consumption row: what its stopping country exports
    in_row: np.ndarray  # (K, rows, B) bool: the row's country stops exports to the class
    factor: np.ndarray  # (K, C, B) components cut themselves
    any_stop: bool  # some export stop applies (it may hit no edge and still draw consumption)
    unbanned: np.ndarray | None = None  # (K, E, B) survive without the export bans
    ban_need: np.ndarray | None = None  # (K, C, B) banned consumers' demand (inf: no re-routing)


def _epoch(c: Compiled, cls: _Classes, batch: list[list[Resolved]], active) -> _Epoch:
    k, e, n, nj, b = cls.n, c.n_edges, c.n_components, len(c.j_comp), len(batch)
    kinds = {("component" if r.component is not None else r.kind) for rs in batch for r in rs}

    def array(shape, fill, used: bool, dtype=float):
        # what no disruption of the batch writes stays a read-only view of its fill value
        return np.full(shape, fill, dtype=dtype) if used else np.broadcast_to(
            np.array(fill, dtype=dtype), shape)

    stops = "stop" in kinds
    bans = "ban" in kinds
    survive = array((k, e, b), 1.0, bool(kinds & {"outage", "ban"}))
    unbanned = array((k, e, b), 1.0, "outage" in kinds) if bans else None
    banned: dict[tuple[int, int, int], set] = {}  # (class, component, column): destinations
    stopped = array((k, e, b), False, stops, bool)
    keep_e = array((k, e, b), 1.0, stops)
    keep_row = array((k, nj, b), 1.0, stops)
    in_row = array((k, nj, b), False, stops, bool)
    factor = array((k, n, b), 1.0, "component" in kinds)
    for j, resolved in enumerate(batch):
        for r, applies in zip(resolved, cls.applies[j]):
            if not active(r):
                continue
            ks = np.flatnonzero(applies)
            if r.component is not None:
                factor[ks, r.component, j] *= r.keep
            elif r.kind == "stop":
                reach = _stop_rows(c, r)
                stopped[np.ix_(ks, r.edges, [j])] = True
                keep_e[np.ix_(ks, r.edges, [j])] *= r.keep
                keep_row[np.ix_(ks, reach, [j])] *= r.keep
                in_row[np.ix_(ks, reach, [j])] = True
            else:
                survive[np.ix_(ks, r.edges, [j])] *= r.keep
                if r.kind == "outage" and unbanned is not None:
                    unbanned[np.ix_(ks, r.edges, [j])] *= r.keep
                elif r.kind == "ban":
                    for comp in np.unique(c.e_comp[r.edges]).tolist():
                        for kk in ks.tolist():
                            banned.setdefault((kk, comp, j), set()).update(r.dest)
    return _Epoch(survive, stopped, keep_e, keep_row, in_row, factor,
                  bool(stopped.any() or in_row.any()), unbanned,
                  _ban_need(c, (k, n, b), banned) if bans else None)


def _ban_need(c: Compiled, shape, banned: dict) -> np.ndarray:
    """Per class, component and column: the world consumption share of the consumers that
    the export bans on the component's supply reach, where every one of them has a
    consumption row (inf elsewhere: without their demand the supply cannot be re-routed)."""
    need = np.full(shape, np.inf)
    rows = {(int(i), int(x)): float(v) for i, x, v in zip(c.j_comp, c.j_country, c.j_share)}
    for (k, comp, j), dest in banned.items():
        shares = [rows.get((comp, c.country_index[x])) for x in dest]
        if all(v is not None for v in shares):
            need[k, comp, j] = sum(shares)
    return need


def _tile(a: np.ndarray, times: int) -> np.ndarray:
    return a if times == 1 else np.concatenate([a] * times, axis=-1)


def _tile_epoch(ep: _Epoch, times: int) -> _Epoch:
    def tile(a):
        return None if a is None else _tile(a, times)

    return _Epoch(*(_tile(getattr(ep, f), times) for f in
                    ("survive", "stopped", "keep_e", "keep_row", "in_row",
                     "factor")),
                  any_stop=ep.any_stop, unbanned=tile(ep.unbanned), ban_need=tile(ep.ban_need))


@dataclass(eq=False)
class _Run:
    """Everything one pass over the levels needs."""

    c: Compiled
    n_cols: int
    high: np.ndarray  # bool per column: the upper allocation bound
    site_class: np.ndarray  # (E, N) class of each edge's site per column
    cols: np.ndarray  # arange(N)
    memo: dict = field(default_factory=dict)  # what :meth:`once` has made

    def once(self, what: str, of: tuple, make):
        """``make()``, made once per run for the objects ``of`` (a level, an index array):
        the entry keeps them alive, so their ids stay their own while the run lasts."""
        key = (what, *map(id, of))
        hit = self.memo.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], of)):
            hit = self.memo[key] = (of, make())
        return hit[1]

    def __post_init__(self) -> None:
        # the upper bound's columns as a slice where they are consecutive (they are a block)
        at = np.flatnonzero(self.high)
        self.high_cols = (slice(int(at[0]), int(at[-1]) + 1)
                          if at.size and at[-1] - at[0] + 1 == at.size else self.high)


def _inputs(run: _Run, level: Level, x: np.ndarray) -> np.ndarray:
    """I_k(c) of the level's components: min over groups of max over alternatives."""
    k, _, n = x.shape
    out = np.ones((k, len(level.comps), n))
    if level.inputs.size:
        out[:, level.req_pos, :] = _grouped(run, x, level.inputs, level.in_cs,
                                            level.group_starts, level.comp_group_starts)
    return out


def _grouped(run: _Run, x: np.ndarray, inputs, in_cs, group_starts, starts) -> np.ndarray:
    """Min over groups of max over alternatives, per consumer (``starts``: where each
    consumer's groups begin)."""
    def layout():  # the groups of several inputs, and the inputs each group gathers
        multi, members, member_starts = _alternatives(group_starts, len(inputs))
        return (multi, member_starts, (inputs[group_starts], in_cs[group_starts]),
                (inputs[members], in_cs[members]))

    multi, member_starts, first, rest = run.once("groups", (group_starts, inputs, in_cs),
                                                 layout)
    scale = run.high.any() and (in_cs < 1.0).any()

    def take(at: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        # a gather along one axis (far faster than x[:, idx, :]); in the upper bound's
        # columns each input enters as min(1, x / chain_share)
        vals = x.take(at[0], axis=1)
        if scale:
            h = run.high_cols
            vals[:, :, h] = np.minimum(1.0, vals[:, :, h] / at[1][None, :, None])
        return vals

    g = take(first)  # a group's first input: its max where it has one (most)
    if multi.size:
        g[:, multi, :] = np.maximum.reduceat(take(rest), member_starts, axis=1)
    return np.minimum.reduceat(g, starts, axis=1)


def _alternatives(group_starts: np.ndarray, n_inputs: int) -> tuple[np.ndarray, ...]:
    """The requirement groups with several inputs (most have one): their indices, their
    inputs' positions, and where each group's inputs begin among those."""
    size = np.diff(np.append(group_starts, n_inputs))
    multi = np.flatnonzero(size > 1)
    members = np.concatenate([np.arange(group_starts[g], group_starts[g] + size[g])
                              for g in multi.tolist()]) if multi.size else multi
    starts = np.concatenate([[0], np.cumsum(size[multi])[:-1]]).astype(np.int64)
    return multi, members.astype(np.int64), starts


def _at_sites(run: _Run, level: Level, inputs: np.ndarray, x: np.ndarray | None) -> np.ndarray:
    """(nE, N): the inputs of each supply row's component as consumers at its site get them;
    a row whose firm has a captive view of an input reads that view (engine README 4.5)."""
    n_l, n = inputs.shape[1], inputs.shape[2]
    flat = run.once("at_site", (level,), lambda: run.site_class[level.edges] * (n_l * n)
                    + level.edge_pos[:, None] * n + run.cols[None, :])
    at_site = inputs.take(flat)
    if x is not None and level.ov_edges.size:
        ov = _grouped(run, x, level.ov_inputs, level.ov_in_cs, level.ov_group_starts,
                      level.ov_edge_group_starts)
        sites = run.site_class[level.edges[level.ov_edges]]
        at_site[level.ov_edges] = ov[sites, np.arange(len(level.ov_edges))[:, None],
                                     run.cols[None, :]]
    return at_site


@dataclass(eq=False)
class _Coefs:
    """What the active disruptions make of each supply edge of a level, per class and column
    (constant while the disruptions and the restored components stay the same)."""

    value: np.ndarray | None  # (K, nE, N) w(e) x survive, times keep(e) where stopped
    produced: np.ndarray | None  # (K, nC, N) w(e) x survive where stopped (consumption edges)
    linear: np.ndarray | None  # (K, nC, N) w(e) x keep(e) x survive where stopped
    active: np.ndarray | None  # (K, rows, N) consumption rows of stopping countries
    kx: np.ndarray | None  # (K, rows, N) what a stopping country still exports
    free: _Coefs | None = None  # the same without export bans (upper bound's re-routing)


def _coefs(run: _Run, level: Level, ep: _Epoch, back: np.ndarray | None,
           survive: np.ndarray | None = None) -> _Coefs:
    if not level.edges.size:
        return _Coefs(None, None, None, None, None)
    edges = level.edges
    free = None
    if survive is None and ep.unbanned is not None and run.high.any():
        free = _coefs(run, level, ep, back, ep.unbanned)
    surv = (ep.survive if survive is None else survive)[:, edges, :]
    stopped = ep.stopped[:, edges, :] if ep.any_stop else None
    if back is not None and back.any():
        back_e = back[level.edge_pos][None, :, None]
        surv = np.where(back_e, 1.0, surv)
        if stopped is not None:
            stopped = stopped & ~back_e
    w = level.edge_w[None, :, None]
    if stopped is not None and stopped.any():
        kept = ep.keep_e[:, edges, :] * surv
        value = np.where(stopped, kept, surv) * w
    else:
        stopped = None
        value = surv * w
    produced = linear = active = kx = None
    if ep.any_stop and level.cons.size:
        active = ep.in_row[:, level.cons, :]
        if back is not None:
            active = active & ~back[level.cons_pos][None, :, None]
        kx = ep.keep_row[:, level.cons, :]
        if stopped is not None and len(level.cons_edges):
            ce = level.cons_edges
            wc = level.edge_w[ce][None, :, None]
            produced = np.where(stopped[:, ce, :], _at_home(run, level, ep, survive),
                                0.0) * wc
            linear = np.where(stopped[:, ce, :], kept[:, ce, :], 0.0) * wc
    return _Coefs(value, produced, linear, active, kx, free)


def _flat(idx: np.ndarray, k: int, rows: int, n: int) -> np.ndarray:
    """Flat indices of ``a[:, idx, :]`` in a C-ordered ``(k, rows, n)`` array, in that
    block's order (``a.put(flat, v)`` writes ``v`` of shape ``(k, len(idx), n)`` there)."""
    return ((np.arange(k)[:, None, None] * rows + idx[None, :, None]) * n
            + np.arange(n)[None, None, :]).ravel()


class _Block:
    """Where a level's components sit in the ``(K, rows, N)`` arrays of the day loop, for
    reading and writing them as one block: a slice where they are consecutive (a compiled
    level), equal slices at a fixed stride (the copies of a stacked network, :mod:`.uncertainty`),
    else flat indices. Reads are copies."""

    def __init__(self, comps: np.ndarray, k: int, rows: int, n: int) -> None:
        self.k, self.n, self.rows, self.m = k, n, rows, len(comps)
        self.flat = self.view = None
        size = self.m
        if size:
            breaks = np.flatnonzero(np.diff(comps) != 1)
            size = int(breaks[0]) + 1 if breaks.size else self.m  # the first run
        a = int(comps[0]) if self.m else 0
        copies = self.m // size if size else 0
        stride = int(comps[size] - comps[0]) if copies > 1 else rows
        if (size and copies * size == self.m and rows % stride == 0
                and a % stride + size <= stride  # each run inside one stride of the rows
                and np.array_equal(comps.reshape(copies, size),
                                   a + np.arange(size)[None, :]
                                   + stride * np.arange(copies)[:, None])):
            d0, a0 = divmod(a, stride)
            self.view = (stride, slice(d0, d0 + copies), slice(a0, a0 + size), copies, size)
        else:
            self.flat = _flat(comps, k, rows, n)

    def get(self, arr: np.ndarray) -> np.ndarray:
        if self.flat is not None:
            return arr.take(self.flat).reshape(self.k, self.m, self.n)
        stride, d, a, copies, size = self.view
        out = np.empty((self.k, self.m, self.n))
        out.reshape(self.k, copies, size, self.n)[...] = \
            arr.reshape(self.k, self.rows // stride, stride, self.n)[:, d, a, :]
        return out

    def set(self, arr: np.ndarray, values: np.ndarray) -> None:
        if self.flat is not None:
            arr.put(self.flat, values)
            return
        stride, d, a, copies, size = self.view
        arr.reshape(self.k, self.rows // stride, stride, self.n)[:, d, a, :] = \
            values.reshape(self.k, copies, size, self.n)


def _restore(level: Level, co: _Coefs, newly: np.ndarray) -> None:
    """Patch ``co`` (:func:`_coefs` of ``level``) in place for the components ``newly``
    (bool per component of the level) whose lost supply has returned: what :func:`_coefs`
    gives with them in ``back``, element by element (their edges survive whole and are no
    longer stopped; their consumption rows are no longer served first), without
    recomputing the level. ``back`` only grows while an epoch lasts (day >= ``ttr_days``)."""
    if co.value is None or not newly.any():
        return
    e = newly[level.edge_pos]
    co.value[:, e, :] = level.edge_w[e][None, :, None]
    if co.produced is not None:
        ce = e[level.cons_edges]
        co.produced[:, ce, :] = 0.0
        co.linear[:, ce, :] = 0.0
    if co.active is not None:
        co.active[:, newly[level.cons_pos], :] = False
    if co.free is not None:
        _restore(level, co.free, newly)


def _at_home(run: _Run, level: Level, ep: _Epoch, survive: np.ndarray | None) -> np.ndarray:
    """(1, consumption edges, N): what a stopping country's own consumers keep of each of its
    supply edges: the outages and bans that reach them (``survive_x``) and the other
    countries' stops that reach them (a stop of a firm's control country still takes that
    firm's output from the consumers where it is made). Only read where the edge is stopped,
    so an edge whose supply has returned never gets here."""
    e = level.edges[level.cons_edges][:, None]
    k = run.site_class[e[:, 0]]  # the class of the edge's site, per column
    base = ep.survive if survive is None else survive
    return (base[k, e, run.cols[None, :]] * ep.keep_e[k, e, run.cols[None, :]])[None]


def _made(run: _Run, level: Level, inputs: np.ndarray, ep: _Epoch,
          back: np.ndarray | None, coefs: _Coefs | None = None,
          x: np.ndarray | None = None) -> np.ndarray:
    """Supply of the level's components before their own cut factor: (K, nL, N).

    ``back`` (bool per component of the level, or None) marks components whose lost supply
    has returned: no disruption touches their own supply. ``coefs`` are :func:`_coefs` of
    the same arguments, when the caller keeps them between days. ``x`` (what consumers get
    of every component) gives the rows that read a captive view their own inputs.

    In the upper bound's columns, consumers that an export ban reaches are served first from
    the supply that still reaches them: ``min(free, supply x demand / need)``, where ``free``
    is what they would get without the bans and ``need`` their share of world consumption
    (only where every banned consumer has a consumption row), never below the lower bound.
    """
    if not level.edges.size:  # no supply rows: made by the consumer itself
        return inputs.copy()
    co = coefs if coefs is not None else _coefs(run, level, ep, back)
    at_site = _at_sites(run, level, inputs, x)
    value, demand = _value(run, level, inputs, at_site, co)
    if co.free is not None:
        free, _ = _value(run, level, inputs, at_site, co.free)
        need = ep.ban_need.take(level.comps, axis=1)
        served = np.divide(value * demand, need, out=np.full_like(value, np.inf),
                           where=need > 0)
        rerouted = np.maximum(value, np.minimum(free, served))
        value = np.where(run.high[None, None, :], rerouted, value)
    sup = level.has_supply
    if sup.all():  # (``value`` is a new array: the caller may keep it)
        return value
    return np.where(sup[None, :, None], value, inputs)  # without rows: made by the consumer


def _value(run: _Run, level: Level, inputs: np.ndarray, at_site: np.ndarray,
           co: _Coefs) -> tuple[np.ndarray, np.ndarray]:
    """What consumers get of the level's supplied components (clipped to 0..1), and the
    demand it is shared over (1, less the consumption of stopping countries)."""
    k, _, n = co.value.shape
    n_l = len(level.comps)
    summed = np.add.reduceat(co.value * at_site[None], level.edge_starts, axis=1)
    if len(level.supplied) == n_l:  # every component of the level has supply rows
        value = summed
    else:
        flat = run.once(f"supplied {k} {n}", (level,),
                        lambda: _flat(level.supplied, k, n_l, n))
        value = np.zeros((k, n_l, n))
        value.put(flat, summed)
    value += level.rest[None, :, None] * inputs[ROW][None]
    if co.active is not None:  # a stopping country serves its own consumers first
        need = run.c.j_share[level.cons][None, :, None]
        produced = np.zeros((k, len(level.cons), n))
        linear = np.zeros((k, len(level.cons), n))
        if co.produced is not None:
            site = at_site[level.cons_edges][None]
            np.add.at(produced, (slice(None), level.cons_edge_row, slice(None)),
                      co.produced * site)
            np.add.at(linear, (slice(None), level.cons_edge_row, slice(None)),
                      co.linear * site)
        fix = (co.kx * np.maximum(0.0, produced - need) - np.maximum(0.0, need - produced)
               - linear)
        demand = np.ones_like(value)
        at = (slice(None), level.cons_pos, slice(None))
        np.add.at(value, at, np.where(co.active, fix, 0.0))
        np.subtract.at(demand, at, np.where(co.active, need, 0.0))
        value = np.where(demand > EPS, value / np.maximum(demand, EPS), 1.0)
    else:
        demand = np.ones_like(value)
    np.clip(value, 0.0, 1.0, out=value)
    return value, demand


def _supplied(run: _Run, level: Level, x: np.ndarray, ep: _Epoch, back: np.ndarray,
              coefs: _Coefs | None = None, inputs: np.ndarray | None = None) -> np.ndarray:
    """What the level's components supply on a day, their own cut included (none for a
    component whose lost supply has returned), from what consumers get of inputs ``x``."""
    if inputs is None:
        inputs = _inputs(run, level, x)
    made = _made(run, level, inputs, ep, back, coefs, x)
    made *= np.where(back[None, :, None], 1.0, ep.factor.take(level.comps, axis=1))
    return made


def _snap(a: np.ndarray) -> np.ndarray:
    """Values within float rounding of full supply become 1 (in place)."""
    a[a > 1.0 - EPS] = 1.0
    return a


@dataclass(eq=False)
class Evaluation:
    """Availability of every component under a batch of scenarios.

    Arrays are ``(components, scenarios)`` and seen from each scenario's perspective (a bloc:
    its weakest member each day), except where said otherwise. Day-valued arrays hold -1 for
    "never".

    Attributes
    ----------
    availability, availability_high : lowest delivered supply within the horizon, under
        proportional rationing and with the chain served first (engine README 4.2).
    availability_tied, tied_short_from_day, tied_lost_days : the same in the tied reading
        (buyers tied to their supplier until they qualify another, engine README 4.5).
    exposed_share : in the tied reading, the buyer groups whose supplier's output fell below
        0.99 of normal, each with its largest weight on such a day (1 for a component whose
        buyers are not tied, when its production fell short).
    output, supply_month, output_short_from_day : per reading (:data:`READINGS`: pooled,
        chain first, tied), the lowest 30-day mean of production before stocks, the lowest
        30-day mean of delivered supply, and the first day production fell below 0.99.
    steady_state : the static bound of engine README section 4 (stocks gone, nothing restored).
    world : ``availability`` for the rest of the world (class 0).
    time_to_survive : first day delivered < 0.99; recovery: first later day >= 0.99 again.
    lost_days : sum over days of 1 - delivered (lower bound); NaN without ``timeline``.
    worst_day, worst_class : the day and consumer class of the lowest delivered, per column:
        the lower bound's scenarios first, then (with ``bounds``) the upper bound's.
    series, inputs_series : delivered and what consumers get (installed base for capital
        equipment), ``(days, classes, components, columns)``, when asked for.
    """

    compiled: Compiled
    scenarios: tuple[Scenario, ...]
    resolved: list[list[Resolved]]
    horizon: int
    n_classes: int
    country_class: np.ndarray  # (countries, B)
    perspective_classes: np.ndarray  # (K, B) bool
    perspectives: tuple[tuple[str, ...], ...]  # member countries seen from, () = ROW
    steady: np.ndarray  # (K, C, B) static bound per class
    steady_state: np.ndarray
    availability: np.ndarray
    availability_high: np.ndarray
    world: np.ndarray
    world_high: np.ndarray
    time_to_survive: np.ndarray
    recovery: np.ndarray
    lost_days: np.ndarray
    worst_day: np.ndarray
    worst_class: np.ndarray
    availability_tied: np.ndarray | None = None
    tied_short_from_day: np.ndarray | None = None
    tied_lost_days: np.ndarray | None = None
    exposed_share: np.ndarray | None = None
    output: np.ndarray | None = None  # (READINGS, C, B) lowest 30-day mean of production
    supply_month: np.ndarray | None = None  # (READINGS, C, B) lowest 30-day mean of supply
    output_short_from_day: np.ndarray | None = None  # (READINGS, C, B) production < 0.99
    epochs: list[tuple[int, _Epoch]] = field(default_factory=list)
    series: np.ndarray | None = None
    inputs_series: np.ndarray | None = None

    def epoch_at(self, t: int) -> _Epoch:
        """The active disruptions on day ``t`` (lower-bound columns)."""
        current = self.epochs[0][1]
        for start, ep in self.epochs:
            if start <= t:
                current = ep
        return current


def _perspective(model, scenario: Scenario) -> tuple[str, ...]:
    return model.members(scenario.perspective) if scenario.perspective else ()


def _affected(c: Compiled, batch: list[list[Resolved]]) -> np.ndarray:
    """Components whose supply any disruption of the batch can touch, and everything
    downstream."""
    hit = np.zeros(c.n_components, dtype=bool)
    stopping: set[str] = set()
    for resolved in batch:
        for r in resolved:
            if r.kind == "stop":  # a stop moves supply even at severity 0 (consumption)
                hit[c.e_comp[r.edges]] = True
                stopping |= r.stopping
            elif r.keep < 1.0:
                hit[c.e_comp[r.edges]] = True
                if r.component is not None:
                    hit[r.component] = True
    if stopping and len(c.j_comp):
        rows = np.isin(c.j_country, [c.country_index[x] for x in stopping])
        hit[c.j_comp[rows]] = True
    for level in c.levels:  # topological order: a component with a hit input is hit
        if level.inputs.size:
            starts = level.group_starts[level.comp_group_starts]
            hit_in = np.maximum.reduceat(hit[level.inputs].astype(np.int8), starts) > 0
            hit[level.comps[level.req_pos]] |= hit_in
    return hit


def evaluate(model, scenarios: Sequence[Scenario] | Scenario, *, timeline: bool = True,
             bounds: bool = True, tied: bool = True, series: bool = False,
             step: int = 1) -> Evaluation:
    """Availability of every component under each scenario (scenarios as columns).

    Parameters
    ----------
    model : Model
    scenarios : Scenario or sequence of Scenario
    timeline : bool
        Run the day-by-day simulation of engine README 4.1 over the longest horizon of the batch
        (default). ``False`` computes only ``steady_state`` (the other fields then equal it).
    bounds : bool
        Also run the upper allocation bound (engine README 4.2); ``False`` sets it to the lower.
    tied : bool
        Also run the tied reading (engine README 4.5); ``False`` sets it to the lower bound.
    series : bool
        Keep the daily values of every class (memory: days x classes x components x columns).
    step : int
        Days taken at once between events (1, the default, is the exact daily simulation;
        see :func:`_simulate` for what longer steps change).
    """
    if isinstance(scenarios, Scenario):
        scenarios = [scenarios]
    scenarios = tuple(scenarios)
    sets = {s.overrides for s in scenarios}
    if sets - {()}:  # episodes with parameters of their own: one model per set of them
        if len(sets) > 1:
            parts = [evaluate(model, s, timeline=timeline, bounds=bounds, tied=tied,
                              series=series, step=step) for s in scenarios]
            return _join(parts, blocks=len(_blocks(bounds, tied)) if timeline else 1)
        model = with_overrides(model, scenarios[0].overrides)
    c = compile_model(model)
    batch = [[resolve(model, c, d) for d in s.disruptions] for s in scenarios]
    return evaluate_resolved(model, scenarios, batch, timeline=timeline, bounds=bounds,
                             tied=tied, series=series, step=step)


def evaluate_resolved(model, scenarios: tuple[Scenario, ...], batch: list[list[Resolved]], *,
                      timeline: bool = True, bounds: bool = True, tied: bool = True,
                      series: bool = False, step: int = 1) -> Evaluation:
    """:func:`evaluate` with the disruptions already resolved (one list per scenario), for
    searches that cut the same units in many combinations.

    Large batches are evaluated in chunks sized from the memory budget
    (:data:`MEMORY_MB`, or ``SEMIGRAPH_MEMORY_MB``) and joined; the daily series is only
    kept for a batch that fits in one chunk.
    """
    c = compile_model(model)
    cs = c.sim or c  # the simulation runs on the captive views too, where there are any
    blocks = _blocks(bounds, tied) if timeline else ("low",)
    size = _chunk_size(cs, batch, timeline, len(blocks), series,
                       max((s.horizon for s in scenarios), default=0))
    if len(scenarios) > size:
        if series:
            raise ScenarioError(f"{len(scenarios)} scenarios with their daily series do not fit "
                                f"the memory budget ({_budget() >> 20} MiB); evaluate fewer "
                                "at once or raise SEMIGRAPH_MEMORY_MB")
        parts = []
        for i in range(0, len(scenarios), size):
            part = evaluate_resolved(model, scenarios[i:i + size], batch[i:i + size],
                                     timeline=timeline, bounds=bounds, tied=tied,
                                     step=step)
            part.epochs = []  # the per-edge arrays of a chunk are not kept
            parts.append(part)
        return _join(parts, blocks=len(blocks))
    cls = _classes(c, batch)
    b = len(scenarios)
    horizon = max((s.horizon for s in scenarios), default=0) if timeline else 0
    need = b * _scenario_bytes(cs, batch, timeline, len(blocks), series, horizon, k=cls.n)
    if need > _budget():  # only a single scenario gets here: larger batches were chunked
        raise OverBudget(_over_budget(cs, cls.n, need, series, horizon))
    perspectives = tuple(_perspective(model, s) for s in scenarios)
    pmask = np.zeros((cls.n, b), dtype=bool)
    for j, members in enumerate(perspectives):
        if members:
            pmask[[cls.country_class[c.country_index[m], j] for m in members], j] = True
        else:
            pmask[ROW, j] = True

    starts = sorted({0} | {int(np.ceil(r.until)) for rs in batch for r in rs
                           if np.isfinite(r.until) and r.until <= horizon})
    static = _epoch(c, cls, batch, lambda r: True)
    if starts == [0] and all(r.until > 0 for rs in batch for r in rs):
        epochs = [(0, static)]  # nothing ends within the horizon: day 0 is the static set
    else:
        epochs = [(s, _epoch(c, cls, batch, lambda r, s=s: s < r.until)) for s in starts]
    affected = _affected(c, batch)
    real_epochs = epochs
    if cs is not c:  # a view is hit where its component is (its rows copy the component's)
        affected = affected[cs.comp_src]
        static = _on_views(static, cs)
        epochs = [(s, _on_views(ep, cs)) for s, ep in epochs]

    run1 = _Run(cs, b, np.zeros(b, dtype=bool), cls.country_class[cs.e_site], np.arange(b))
    steady = np.ones((cls.n, cs.n_components, b))
    for full in cs.levels:
        if not affected[full.comps].any():
            continue
        level = restrict_level(full, affected[full.comps])
        made = _made(run1, level, _inputs(run1, level, steady), static, None, x=steady)
        steady[:, level.comps, :] = np.clip(made * static.factor[:, level.comps, :], 0.0, 1.0)
    _snap(steady)
    steady_p = _persp_min(steady, pmask)

    ev = Evaluation(
        compiled=cs, scenarios=scenarios, resolved=batch, horizon=horizon, n_classes=cls.n,
        country_class=cls.country_class, perspective_classes=pmask,
        perspectives=perspectives, steady=steady, steady_state=steady_p,
        availability=steady_p, availability_high=steady_p, world=steady[ROW],
        world_high=steady[ROW], time_to_survive=np.full(steady_p.shape, -1, dtype=np.int64),
        recovery=np.full(steady_p.shape, -1, dtype=np.int64),
        lost_days=np.full(steady_p.shape, np.nan),
        worst_day=np.zeros(steady_p.shape, dtype=np.int64),
        worst_class=np.zeros(steady_p.shape, dtype=np.int64), epochs=epochs)
    if timeline:
        _simulate(ev, cs, cls, epochs, affected, pmask, blocks, series, step)
    else:
        _static_fields(ev)
    if cs is not c:
        _to_real(ev, c, real_epochs)
    return ev


def _on_views(ep: _Epoch, cs: Compiled) -> _Epoch:
    """The epoch on the simulation's rows and components: a view's rows take what hits the
    rows they copy, a view what cuts its component; views have no consumption rows, so an
    export ban's re-routing never applies to them."""
    e, comp = cs.edge_src, cs.comp_src

    def rows(a):
        return None if a is None else a.take(e, axis=1)

    need = None
    if ep.ban_need is not None:
        need = np.where(cs.view[None, :, None], np.inf, ep.ban_need.take(comp, axis=1))
    return _Epoch(rows(ep.survive), rows(ep.stopped), rows(ep.keep_e), ep.keep_row, ep.in_row,
                  ep.factor.take(comp, axis=1), ep.any_stop, rows(ep.unbanned), need)


def _to_real(ev: Evaluation, c: Compiled, epochs) -> None:
    """Keep the real components of an evaluation run with captive views (in place)."""
    idx = ev.compiled.real
    for name, axis in (("steady", 1), ("output", 1), ("supply_month", 1),
                       ("output_short_from_day", 1), ("series", 2), ("inputs_series", 2)):
        a = getattr(ev, name)
        if a is not None:
            setattr(ev, name, np.take(a, idx, axis=axis))
    for name in ("steady_state", "availability", "availability_high", "world", "world_high",
                 "time_to_survive", "recovery", "lost_days", "worst_day", "worst_class",
                 "availability_tied", "tied_short_from_day", "tied_lost_days",
                 "exposed_share"):
        a = getattr(ev, name)
        if a is not None:
            setattr(ev, name, a[idx])
    ev.compiled = c
    ev.epochs = epochs


def _budget() -> int:
    """The memory budget of one evaluation's arrays, in bytes."""
    try:
        return max(16, int(os.environ.get("SEMIGRAPH_MEMORY_MB", MEMORY_MB))) << 20
    except ValueError:
        return MEMORY_MB << 20


def _blocks(bounds: bool, tied: bool) -> tuple[str, ...]:
    """The column blocks of a simulation: the lower bound, then the upper, then tied."""
    return ("low",) + (("high",) if bounds else ()) + (("tied",) if tied else ())


def _static_fields(ev: Evaluation) -> None:
    """Without a timeline every reading is the static bound."""
    ev.availability_tied = ev.steady_state
    ev.tied_short_from_day = ev.time_to_survive
    ev.tied_lost_days = ev.lost_days
    ev.exposed_share = np.where(ev.steady_state < SHORT, 1.0, 0.0)
    three = np.broadcast_to(ev.steady_state[None], (len(READINGS), *ev.steady_state.shape))
    ev.output = ev.supply_month = three
    ev.output_short_from_day = np.where(three < SHORT, 0, -1)


def _chunk_size(c: Compiled, batch, timeline: bool, times: int, series: bool,
                horizon: int) -> int:
    """How many scenarios of ``batch`` one evaluation may hold within the budget."""
    return max(1, _budget() // _scenario_bytes(c, batch, timeline, times, series, horizon))


def _over_budget(c: Compiled, k: int, need: int, series: bool, horizon: int) -> str:
    what = (f"{k} consumer class(es) x {c.n_components:,} components"
            + (f" x {horizon + 1:,} days of daily series" if series else ""))
    return (f"one scenario needs about {need / 2**20:,.0f} MiB of arrays ({what}), more than "
            f"the memory budget of {_budget() >> 20:,} MiB; simulate fewer disruptions that "
            "treat consumers differently (export stops, bans)"
            + (", a shorter horizon" if series else "")
            + " or raise SEMIGRAPH_MEMORY_MB")


def _scenario_bytes(c: Compiled, batch, timeline: bool, times: int, series: bool,
                    horizon: int, k: int | None = None) -> int:
    """The bytes the arrays of one scenario of ``batch`` take at most: per consumer class
    (``k``, else the most the batch's disruptions can make), the epochs' per-edge arrays,
    the simulation's state per component and reading, the tied reading's buyers, and the
    daily series when kept."""
    varying = max((sum(r.kind != "outage" for r in rs) for rs in batch), default=0)
    if k is None:
        k = min(2 ** min(varying, 20), len(c.countries) + 1)
    epochs = 1 + max((sum(np.isfinite(r.until) for r in rs) for rs in batch), default=0)
    e, n, nj = c.n_edges, c.n_components, len(c.j_comp)
    per_epoch = k * (17 * e + 9 * nj + 8 * n)  # survive, stopped, keep_e; keep_row, in_row; factor
    if timeline:  # the simulation's state and temporaries, the tied reading's buyers
        per = (epochs + 1) * per_epoch + times * k * (8 * n * 20 + 8 * e * 10) \
            + 2 * times * WINDOW * n * 8 + k * 8 * (e + n) * (BUYERS + 8)
    else:  # the static bound: one array of components, a level's temporaries
        per = (epochs + 1) * per_epoch + k * (8 * n * 3 + 8 * e * 4)
    if series:
        per += 2 * times * (horizon + 1) * k * n * 8
    return int(per)


def _join(parts: list[Evaluation], *, blocks: int) -> Evaluation:
    """One evaluation from evaluations of consecutive chunks of a batch (no daily series, no
    epochs: those are kept only for a batch evaluated at once)."""
    k = max(p.n_classes for p in parts)

    def cat(name):
        return np.concatenate([getattr(p, name) for p in parts], axis=-1)

    def by_block(name):  # per-column fields hold one block of columns per reading
        out = []
        for i in range(blocks):
            out += [getattr(p, name)[:, i * len(p.scenarios):(i + 1) * len(p.scenarios)]
                    for p in parts]
        return np.concatenate(out, axis=-1)

    def padded(p, name, fill):
        a = getattr(p, name)
        extra = np.full((k - a.shape[0], *a.shape[1:]), fill, dtype=a.dtype)
        return np.concatenate([a, extra], axis=0)

    first = parts[0]
    return Evaluation(
        compiled=first.compiled, scenarios=tuple(s for p in parts for s in p.scenarios),
        resolved=[r for p in parts for r in p.resolved], horizon=max(p.horizon for p in parts),
        n_classes=k, country_class=cat("country_class"),
        perspective_classes=np.concatenate([padded(p, "perspective_classes", False)
                                            for p in parts], axis=-1),
        perspectives=tuple(x for p in parts for x in p.perspectives),
        steady=np.concatenate([padded(p, "steady", 1.0) for p in parts], axis=-1),
        steady_state=cat("steady_state"), availability=cat("availability"),
        availability_high=cat("availability_high"), world=cat("world"),
        world_high=cat("world_high"), time_to_survive=cat("time_to_survive"),
        recovery=cat("recovery"), lost_days=cat("lost_days"), worst_day=by_block("worst_day"),
        worst_class=by_block("worst_class"), availability_tied=cat("availability_tied"),
        tied_short_from_day=cat("tied_short_from_day"), tied_lost_days=cat("tied_lost_days"),
        exposed_share=cat("exposed_share"), output=cat("output"),
        supply_month=cat("supply_month"), output_short_from_day=cat("output_short_from_day"))


def _persp_min(values: np.ndarray, pmask: np.ndarray) -> np.ndarray:
    """(K, C, N) -> (C, N): the weakest perspective class per component and column."""
    return np.where(pmask[:, None, :], values, np.inf).min(axis=0)


def _steps(horizon: int, knots, step: int) -> list[tuple[int, int]]:
    """The simulation's steps as (first day, length): days 0 .. horizon, cut at every knot
    (a disruption ends, a supply is restored) and at most ``step`` days long."""
    cuts = sorted({0, horizon + 1} | {int(k) for k in knots if 0 < k <= horizon})
    out = []
    for a, b in pairwise(cuts):
        out += [(t, min(step, b - t)) for t in range(a, b, step)]
    return out


class _Months:
    """The lowest mean over :data:`WINDOW` consecutive days of two daily series (the whole
    series when it is shorter), kept with a running sum over the last days."""

    def __init__(self, rows: int, cols: int) -> None:
        self.days: list[tuple[np.ndarray, np.ndarray]] = []
        self.sums = [np.zeros((rows, cols)), np.zeros((rows, cols))]
        self.low = [np.full((rows, cols), np.inf), np.full((rows, cols), np.inf)]

    def add(self, made: np.ndarray, supply: np.ndarray, length: int) -> None:
        for _ in range(length):
            self.days.append((made, supply))
            for i, v in enumerate((made, supply)):
                self.sums[i] += v
            if len(self.days) > WINDOW:
                for i, v in enumerate(self.days.pop(0)):
                    self.sums[i] -= v
            if len(self.days) == WINDOW:
                for i in range(2):
                    np.minimum(self.low[i], self.sums[i] / WINDOW, out=self.low[i])

    def lowest(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.days) < WINDOW:  # a horizon shorter than the window: the whole mean
            return tuple(np.minimum(1.0, s / max(1, len(self.days))) for s in self.sums)
        return tuple(np.minimum(1.0, x) for x in self.low)


def _tied_level(c, tp, lp, st, level, ep, back, t, length, tb, t_site, seen, delivered,
                lowest, opening, seen_low, made_all, exposed_k, first_short, min_at,
                dips, inputs) -> None:
    """The tied reading's groups on one level: what its tied components deliver and make
    in the tied block of columns while their buyers' groups hold (:mod:`.tied`); ``inputs``
    are the level's I_k(c) as the day's pass computed them."""
    if not lp.sub_pos.size or t >= lp.until:  # no group reads the level any more
        return
    day = tiedr.step(c, tp, lp, st, lp.sub, seen[:, :, tb:], ep, back[lp.sub_pos], t_site, t,
                     length, inputs[:, lp.sub_pos, tb:])
    if day is None:
        return
    comps = day.comps
    at = (slice(None), comps, slice(tb, None))
    flat = lp.memo.get("flat")
    if flat is None or flat[0] is not comps:  # the tied block at comps, as flat indices
        k, n_c, n = delivered.shape
        flat = lp.memo["flat"] = (comps, ((np.arange(k)[:, None, None] * n_c + comps[:, None])
                                          * n + np.arange(tb, n)).ravel())
    idx = flat[1]
    d = day.delivered
    lo = d if day.lowest is None else day.lowest
    delivered.put(idx, d)
    lowest.put(idx, lo)
    seen.put(idx, d)
    seen_low.put(idx, lo)
    made_all.put(idx, day.output)
    if day.exposed is not None:  # else as last counted
        exposed_k[:, comps, :] = np.maximum(exposed_k[:, comps, :], day.exposed)
    if length > 1:
        op = day.opening
        opening[at] = op
        # the groups' buyers run out one after another: the first short day is read off a
        # straight line from the step's first day to its last
        drop = np.maximum(op - lo, EPS)
        fs = np.where(op < SHORT, 0.0, np.ceil((op - SHORT) / drop * (length - 1)))
        first_short[at] = np.where(lo < SHORT, np.minimum(fs, length - 1), length)
        min_at[at] = length - 1
        dips[comps] = (lo < d - EPS).any(axis=(0, 2))


def _simulate(ev: Evaluation, c: Compiled, cls: _Classes, epochs, affected, pmask,
              blocks: tuple[str, ...], keep_series: bool, step: int = 1) -> None:
    """The day-by-day simulation of engine README 4.1, each reading a block of columns (the
    lower bound, the upper bound, the tied reading of 4.5: :func:`_blocks`).

    With ``step > 1`` the days between events (a disruption ends, a supply is restored) are
    taken ``step`` at a time: within a step every component's own supply is held at what its
    inputs give on average over the step, while its stock, deliveries and lowest day follow
    day by day in closed form (a stock covers ``stock / (1 - made)`` days, then supply drops
    to ``made``), and the installed base decays geometrically. Step 1 is the exact daily
    simulation; longer steps delay, by less than a step, what a component sees of a change
    upstream (tests/bench measures the effect).
    """
    b = len(ev.scenarios)
    times = len(blocks)
    n = b * times
    block = np.repeat(np.array(blocks), b)
    run = _Run(c, n, block == "high", _tile(cls.country_class[c.e_site], times),
               np.arange(n))
    tb = b * blocks.index("tied") if "tied" in blocks else None  # the tied block's columns
    eps = [(s, _tile_epoch(ep, times)) for s, ep in epochs]
    pm = _tile(pmask, times)
    pm3 = pm[:, None, :]
    k = cls.n
    shape = (k, c.n_components, n)
    delivered = np.ones(shape)  # average over the step: what consumers of a consumable get
    lowest = np.ones(shape)  # lowest single day within the step
    first_short = np.full(shape, np.inf)  # day within the step supply first falls below SHORT
    min_at = np.zeros(shape)  # day within the step supply reaches its lowest
    opening = np.ones(shape)  # supply on the step's first day
    seen = np.ones(shape)  # what consumers get: delivered, or the installed base
    base = np.ones(shape)  # installed base of capital equipment on the step's first day
    seen_low = np.ones(shape)  # what consumers get on the step's lowest day
    dips = np.zeros(c.n_components, dtype=bool)  # lowest day below the step's mean
    stock = np.broadcast_to(c.stock_days[None, :, None], shape).copy()
    capital = c.capital
    renew = np.where(capital, c.renewal_days, 1.0)[None, :, None]
    keep = 1.0 - 1.0 / renew  # what of the installed base is left after a day
    horizon = ev.horizon
    if keep_series and step != 1:
        raise ScenarioError("the daily series needs the daily simulation (step 1)")
    series = np.ones((horizon + 1, *shape)) if keep_series else None
    seen_series = np.ones((horizon + 1, *shape)) if keep_series else None
    # a component whose static bound is 1 for every class is never short (the static bound
    # is never above the lowest day): only the others are simulated
    active = affected & (ev.steady < 1.0).any(axis=(0, 2))
    live = [restrict_level(lv, active[lv.comps]) for lv in c.levels if active[lv.comps].any()]
    act = np.flatnonzero(active)
    cap_idx = np.flatnonzero(capital & active)
    if tb is not None:
        tp = tiedr.plan(c, live, active)
        tst = tiedr.TiedState.start(c, tp, k, b)
        tplans = dict(zip(map(id, live), tp.levels))
        t_site = cls.country_class[c.e_site]
        exposed_k = np.zeros((k, c.n_components, b))  # highest exposed weight per class
    made_all = np.ones(shape)  # production before stocks, per class
    month = _Months(len(act), n)
    made_first = np.full((len(act), n), -1, dtype=np.int64)
    single = bool((pm.sum(axis=0) == 1).all())
    pclass = pm.argmax(axis=0)  # (N,) the perspective's class where it is one class
    # a[pclass, act, column] for a (K, C, N) array, as flat indices: one take
    pick = (pclass[None, :] * c.n_components + act[:, None]) * n + np.arange(n)[None, :]
    stats = (len(act), n)  # per active component and column

    def weakest(a: np.ndarray) -> np.ndarray:
        """(K, C, N) -> (active components, N): the perspective's lowest class."""
        return a.take(pick) if single else _persp_min(a.take(act, axis=1), pm)

    low = np.ones(stats)
    first = np.full(stats, -1, dtype=np.int64)
    rec = np.full(stats, -1, dtype=np.int64)
    lost = np.zeros(stats)
    wday = np.zeros(stats, dtype=np.int64)
    wclass = np.zeros(stats, dtype=np.int64)
    world_low = np.ones(stats)
    knots = [s for s, _ in epochs] + [t for t in np.unique(c.ttr_days) if np.isfinite(t)]
    coef_cache: dict[int, list] = {}  # per level: the edge coefficients and what they hold
    blocks_of: dict[int, _Block] = {}  # per live level: where its block sits
    ep_i = 0
    for t, length in _steps(horizon, np.ceil(knots), step):
        while ep_i + 1 < len(eps) and eps[ep_i + 1][0] <= t:
            ep_i += 1
        ep = eps[ep_i][1]
        ep_t = epochs[ep_i][1]  # one column per scenario, for the tied reading's groups
        if tb is not None:
            tiedr.pool(c, tp, tst, t, stock[:, :, tb:])
        for level in live:
            comps = level.comps
            back = t >= c.ttr_days[comps]
            cached = coef_cache.get(id(level))  # [epoch, back, coefficients]
            if cached is None or cached[0] != ep_i:
                cached = coef_cache[id(level)] = [ep_i, back, _coefs(run, level, ep, back)]
            elif (back != cached[1]).any():  # some supply returned since: patch its edges
                _restore(level, cached[2], back & ~cached[1])
                cached[1] = back
            blk = blocks_of.get(id(level))  # the level's (K, nL, N) block of the arrays
            if blk is None:
                blk = blocks_of[id(level)] = _Block(comps, k, c.n_components, n)
            inputs = _inputs(run, level, seen)
            made = _supplied(run, level, seen, ep, back, cached[2], inputs)
            blk.set(made_all, made)
            have = blk.get(stock)  # a copy: the stock is written below
            if length == 1:
                d = np.minimum(1.0, made + have)
                blk.set(stock, have - (d - made))
                _snap(d)
                blk.set(delivered, d)
                blk.set(lowest, d)
                cap = capital[comps]
                got = np.where(cap[None, :, None], blk.get(base), d) if cap.any() else d
                blk.set(seen, got)
                blk.set(seen_low, got)
                dips[comps] = False
                if tb is not None:
                    _tied_level(c, tp, tplans[id(level)], tst, level, ep_t, back, t, 1, tb,
                                t_site, seen, delivered, lowest, opening, seen_low, made_all,
                                exposed_k, first_short, min_at, dips, inputs)
                continue
            gap = 1.0 - made  # daily shortfall before stocks
            used = np.minimum(have, length * gap)
            blk.set(stock, have - used)
            d = _snap(np.minimum(1.0, made + used / length))
            # the lowest day: what the inputs' lowest days give, once the stock is used up
            made_low = made
            if (level.inputs.size and dips[level.inputs].any()) or (
                    level.ov_inputs.size and dips[level.ov_inputs].any()):  # where one dips
                hit = np.zeros(len(comps), dtype=bool)
                if level.inputs.size:
                    per_group = np.add.reduceat(dips[level.inputs].astype(np.int64),
                                                level.group_starts)
                    hit[level.req_pos] = np.add.reduceat(per_group,
                                                         level.comp_group_starts) > 0
                hit[level.ov_input_comp[dips[level.ov_inputs]]] = True
                low_in = _supplied(run, restrict_level(level, hit), seen_low, ep, back[hit])
                made_low = made.copy()
                made_low[:, hit, :] = np.minimum(made[:, hit, :], low_in)
            last = _snap(np.minimum(1.0, made_low + np.maximum(0.0, have - (length - 1) * gap)))
            dipped = last < d - EPS
            dips[comps] = dipped.any(axis=(0, 2))
            safe = np.where(gap > EPS, gap, 1.0)
            covered = np.where(gap > EPS, have / safe, np.inf)
            fs = np.where(made + have < SHORT, 0.0, np.floor((made + have - SHORT) / safe) + 1.0)
            blk.set(delivered, d)
            blk.set(lowest, last)
            blk.set(opening, _snap(np.minimum(1.0, made + have)))
            blk.set(min_at, np.minimum(np.ceil(np.minimum(covered, length)), length - 1))
            blk.set(first_short, np.where(last < SHORT, np.minimum(fs, length - 1), length))
            cap = capital[comps][None, :, None]
            if cap.any():  # consumers get the installed base, on average over the step
                q = keep[:, comps, :]
                b0 = blk.get(base)
                mean = d + (b0 - d) * (1.0 - q ** length) / (length * (1.0 - q))
                blk.set(seen, np.where(cap, mean, d))
                blk.set(seen_low, np.where(
                    cap, np.where(dipped, np.minimum(mean, last + (b0 - last) * q ** length),
                                  mean), last))
            else:
                blk.set(seen, d)
                blk.set(seen_low, last)
            if tb is not None:
                _tied_level(c, tp, tplans[id(level)], tst, level, ep_t, back, t, length, tb,
                            t_site, seen, delivered, lowest, opening, seen_low, made_all,
                            exposed_k, first_short, min_at, dips, inputs)
        if keep_series:
            series[t] = delivered
            seen_series[t] = seen
        if cap_idx.size:  # the installed base moves towards the deliveries
            b0, got = base[:, cap_idx, :], delivered[:, cap_idx, :]
            if length == 1:
                b1 = b0 + (got - b0) / renew[:, cap_idx, :]
            else:
                b1 = got + (b0 - got) * keep[:, cap_idx, :] ** length
            base[:, cap_idx, :] = _snap(b1)
        if single:  # one consumer class per column: gather it
            day = lowest.take(pick)
            cls_min = pclass
        else:
            dp = np.where(pm3, lowest[:, act, :], np.inf)
            cls_min = dp.argmin(axis=0)
            day = np.take_along_axis(dp, cls_min[None], axis=0)[0]
        worse = day < low - EPS
        if length == 1:
            wday[worse] = t
            short = day < SHORT
            first[short & (first < 0)] = t
            rec[~short & (first >= 0) & (rec < 0)] = t
            lost += 1.0 - day
        else:
            at = (min_at.take(pick) if single else
                  np.take_along_axis(min_at[:, act, :], cls_min[None], axis=0)[0])
            wday[worse] = t + at[worse].astype(np.int64)
            rec[(weakest(opening) >= SHORT) & (first >= 0) & (rec < 0)] = t
            fs = weakest(first_short)
            new = (fs < length) & (first < 0)
            first[new] = t + fs[new].astype(np.int64)
            lost += length * (1.0 - weakest(delivered))
        wclass[worse] = np.broadcast_to(cls_min, worse.shape)[worse]
        np.minimum(low, day, out=low)
        np.minimum(world_low, lowest[ROW][act], out=world_low)
        m_day = weakest(made_all)
        new = (m_day < SHORT) & (made_first < 0)
        made_first[new] = t
        month.add(m_day, weakest(delivered), length)

    def full(a: np.ndarray, fill) -> np.ndarray:
        out = np.full((c.n_components, a.shape[1]), fill, dtype=a.dtype)
        out[act] = a
        return out

    low, first, rec = full(low, 1.0), full(first, -1), full(rec, -1)
    lost, wday, wclass = full(lost, 0.0), full(wday, 0), full(wclass, 0)
    world_low = full(world_low, 1.0)
    made_low, supply_low = (full(a, 1.0) for a in month.lowest())
    made_first = full(made_first, -1)

    def of(a: np.ndarray, name: str) -> np.ndarray:
        i = blocks.index(name) if name in blocks else 0
        return a[:, i * b:(i + 1) * b]

    ev.availability = of(low, "low")
    ev.availability_high = of(low, "high")
    ev.availability_tied = of(low, "tied")
    ev.world = of(world_low, "low")
    ev.world_high = of(world_low, "high")
    ev.time_to_survive = of(first, "low")
    ev.tied_short_from_day = of(first, "tied")
    ev.recovery = of(rec, "low")
    ev.lost_days = of(lost, "low")
    ev.tied_lost_days = of(lost, "tied")
    if tb is not None:  # tied groups while they hold; an untied component's buyers share one
        # pool, exposed whole when its production falls short
        tied_exp = np.where(pm[:, None, tb:], exposed_k, 0.0).max(axis=0)
        ev.exposed_share = np.where(tp.tie[:, None], tied_exp,
                                    (of(made_first, "tied") >= 0).astype(float))
    else:
        ev.exposed_share = np.where(of(made_first, "low") >= 0, 1.0, 0.0)
    names = ("low", "high", "tied")  # READINGS, as the blocks are named
    ev.output = np.stack([of(made_low, x) for x in names])
    ev.supply_month = np.stack([of(supply_low, x) for x in names])
    ev.output_short_from_day = np.stack([of(made_first, x) for x in names])
    ev.worst_day = wday
    ev.worst_class = wclass
    if keep_series:
        ev.series = series
        ev.inputs_series = seen_series
