"""Single points of failure and minimal cut sets: which units, cut together, sink a target.

A *cut set* of a target component is a set of units (countries, firms, production sites or
components) whose joint total loss drives the target's world availability below a threshold
(engine README section 5). It is *minimal* when no proper subset does so. A cut set of order 1 is a
single point of failure (SPOF).

Columns of :func:`cut_sets` (one row per minimal cut set):

=====================  ======================================================================
``target``             target component id
``target_name``        its name
``stage``              its value-chain stage
``order``              number of units in the cut set
``level``              kind of the units: country, firm, site or component
``units``              the unit ids (sorted list)
``availability``       target's availability when all the units stop supplying (0..1): the
                       lowest day, every user rationed alike (pooled), or the static bound
``availability_high``  the same with the chain served first (upper bound; headline only)
``availability_tied``  the same with buyers tied to their supplier until they qualify
                       another (engine README 4.5; headline only)
``shortfall``          1 - availability
``estimated``          the result rests on a supply share that is an estimate
=====================  ======================================================================

The search runs on ``availability`` alone: a set is a cut set when the pooled reading (or,
with ``measure="steady"``, the static bound) falls below the threshold. The other two readings
are reported for the sets found, both from one further day-by-day evaluation of those sets,
and do not decide what is listed (with the steady measure all three are the static bound).

Units at each level: ``country`` = every country where something is produced (site scope);
``firm`` = every supplying firm; ``site`` = a firm's production in one country
(``nexperia@CHN``), or a component's production in one country where only country-level data
exist (``gallium@CHN``); ``component`` = the component itself (the target is not its own unit).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from semigraph.engine.compiled import Compiled, compile_model
from semigraph.engine.floor import lowest_day_floor
from semigraph.engine.propagation import (
    ROW,
    _Epoch,
    _inputs,
    _made,
    _Run,
    evaluate_resolved,
    resolve,
)
from semigraph.engine.scenario import DEFAULT_HORIZON, Disruption, Scenario
from semigraph.engine.units import (
    UnitSpace,
    downstream,
    resolve_targets,
    unit_space,
)
from semigraph.engine.workers import processes_for, run_parts
from semigraph.errors import ScenarioError

__all__ = [
    "COLUMNS",
    "MAX_SETS",
    "SearchTooLarge",
    "batch_availability",
    "check_search",
    "cut_sets",
    "is_cut",
    "propagate_world",
    "search_minutes",
    "search_size",
]

#: Searches that could screen more unit sets than this are refused unless asked for.
MAX_SETS = 500_000
#: Searches estimated to take longer than this (minutes) are refused unless asked for.
MAX_MINUTES = 2.0
#: Supply rows plus components screened a second, summed over the unit sets (the bundled
#: dataset's production sites in pairs: 318,003 sets of 1,532 in about 300 s).
RATE = 1_500_000


class SearchTooLarge(ScenarioError):
    """A cut-set search larger than the limit, refused before it starts."""
#: Availabilities at or below this count as total loss (float rounding of shares summing to 1).
ZERO = 1e-9
#: A lower bound of the lowest day is lowered by this before it may clear a set, for float
#: rounding between the bound and the simulation (they sum the same terms in another order).
SLACK = 1e-9
CHUNK = 512
#: Fewest sets per worker process for a day-by-day run to be split (forking costs more than
#: simulating a handful of sets).
PARALLEL_SETS = 4

COLUMNS = {
    "target": "target component id",
    "target_name": "target component name",
    "stage": "target's value-chain stage",
    "order": "number of units in the cut set",
    "level": "kind of the units (country, firm, site, component)",
    "units": "ids of the units cut together (sorted)",
    "availability": "target's availability when all the units stop supplying (0..1): the "
                    "lowest day within the horizon, every user rationed alike (headline), or "
                    "the static bound (steady)",
    "availability_high": "the same with the chain served first (upper bound; headline only)",
    "availability_tied": "the same with buyers tied to their supplier until they qualify "
                         "another (engine README 4.5; headline only); reported, not searched",
    "shortfall": "1 - availability",
    "estimated": "the result rests on a supply share that is an estimate",
}


def is_cut(availability, threshold: float):
    """Whether an availability counts as below the threshold (0 = total loss)."""
    a = np.asarray(availability)
    return a <= ZERO if threshold <= 0 else a < threshold - ZERO  # 0.5 - 1e-16 is not below


def propagate_world(c: Compiled, survive: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Static world availability (C, B) from edge survival (E, B) and components' own factors
    (C, B): the steady state of engine README section 4 for outages, scenarios as columns.
    Where the dataset has captive rows it runs on their views (engine README 4.5), each view
    row surviving as the row it copies, and returns the real components."""
    real = c
    c = c.sim or c
    if c is not real:
        survive, factor = survive[c.edge_src], factor[c.comp_src]
    b = survive.shape[1]
    nj = len(c.j_comp)
    ep = _Epoch(survive=survive[None], stopped=np.zeros((1, c.n_edges, b), dtype=bool),
                keep_e=np.ones((1, c.n_edges, b)), keep_row=np.ones((1, nj, b)),
                in_row=np.zeros((1, nj, b), dtype=bool), factor=factor[None], any_stop=False)
    run = _Run(c, b, np.zeros(b, dtype=bool), np.zeros((c.n_edges, b), dtype=np.int64),
               np.arange(b))
    A = np.ones((1, c.n_components, b))
    for level in c.levels:
        made = _made(run, level, _inputs(run, level, A), ep, None, x=A)
        A[:, level.comps, :] = made * ep.factor[:, level.comps, :]
    np.clip(A, 0.0, 1.0, out=A)
    return A[ROW] if c is real else A[ROW][c.real]


def batch_availability(model, space: UnitSpace, sets: np.ndarray,
                       rows: np.ndarray | None = None) -> np.ndarray:
    """World availability when each set of units (row of ``sets``, unit indices, -1 = none)
    is cut in full: an array (len(rows) or C, len(sets)), in chunks of a few hundred."""
    c = compile_model(model)
    sets = np.asarray(sets, dtype=np.int64).reshape(len(sets), -1)
    rows = np.arange(c.n_components) if rows is None else np.asarray(rows)
    out = np.ones((len(rows), len(sets)))
    pad_c = np.vstack([space.comp_hits, np.zeros((1, c.n_components), dtype=bool)])
    size = _static_chunk(c)
    for start in range(0, len(sets), size):
        chunk = sets[start:start + size]
        hit_e = np.zeros((len(chunk), c.n_edges), dtype=bool)
        hit_c = np.zeros((len(chunk), c.n_components), dtype=bool)
        for j in range(chunk.shape[1]):
            for r, u in enumerate(chunk[:, j]):
                if u >= 0:
                    hit_e[r, space.edge_hits[u]] = True
            hit_c |= pad_c[chunk[:, j]]  # index -1 is the all-false pad row
        A = propagate_world(c, (~hit_e).T.astype(float), (~hit_c).T.astype(float))
        out[:, start:start + len(chunk)] = A[rows]
    return out


def _static_chunk(c: Compiled) -> int:
    """Unit sets evaluated together by the static search, within the memory budget."""
    from semigraph.engine.propagation import _budget

    per = c.n_edges * (1 + 8 * 6) + c.n_components * 8 * 6
    return int(max(1, min(CHUNK, _budget() // per)))


def _multi_groups(c: Compiled) -> list[list[int]]:
    return [m for gs in c.groups for _, m in gs if len(m) > 1]


def _mixed(c: Compiled) -> np.ndarray:
    """Bool per component: some of its supply rows read a captive view of an input (engine
    README 4.5), so its supply is a sum over rows with inputs of their own rather than its
    rows times its scarcest input, and two units that both reach it may combine."""
    out = np.zeros(c.n_components, dtype=bool)
    sim = c.sim
    if sim is None:
        return out
    for level in sim.levels:
        if level.ov_edges.size:
            comps = level.comps[level.edge_pos[level.ov_edges]]
            out[sim.comp_src[comps]] = True
    return out


def _interactions(c: Compiled, space: UnitSpace) -> np.ndarray:
    """(U, U) bool: units whose influences can combine other than by a plain minimum.

    Two units interact when one hits the supply of a component the other can reach, or both
    reach alternatives of one requirement group. Units that do not interact (directly or
    through a chain of units of the set) are separable: see :func:`cut_sets`, Notes.
    """
    own = space.own.astype(np.float32)
    reach = space.reach.astype(np.float32)
    m = own @ reach.T
    m = m + m.T
    groups = _multi_groups(c)
    if groups:
        ga = np.stack([space.reach[:, g].any(axis=1) for g in groups], axis=1).astype(np.float32)
        m += ga @ ga.T
    mixed = _mixed(c)
    if mixed.any():  # rows with inputs of their own: units reaching one such part combine
        rm = space.reach[:, mixed].astype(np.float32)
        m += rm @ rm.T
    return m > 0


def _pairs_not_separable(c: Compiled, space: UnitSpace, pairs: np.ndarray) -> np.ndarray:
    """(C, P) bool: for each pair (u, v), components where A(c | u, v) may fall below
    min(A(c | u), A(c | v)). Where False, the pair's joint loss is exactly the worse single
    one."""
    ru = np.ascontiguousarray(space.reach[pairs[:, 0]].T)
    rv = np.ascontiguousarray(space.reach[pairs[:, 1]].T)
    own = np.ascontiguousarray((space.own[pairs[:, 0]] | space.own[pairs[:, 1]]).T)
    both = ru & rv
    ns = np.zeros_like(both)
    mixed = _mixed(c)
    for ci in range(c.n_components):  # topological order
        if not both[ci].any():
            continue
        bad = own[ci].copy() | mixed[ci]
        for _, members in c.groups[ci]:
            if len(members) == 1:
                bad |= ns[members[0]]
            else:
                inu, inv = ru[members], rv[members]
                bad |= (inu | inv).all(axis=0) & inu.any(axis=0) & inv.any(axis=0)
        ns[ci] = both[ci] & bad
    return ns


def _connected(units: tuple[int, ...], inter: np.ndarray) -> bool:
    seen, todo = {units[0]}, [units[0]]
    while todo:
        u = todo.pop()
        for v in units:
            if v not in seen and inter[u, v]:
                seen.add(v)
                todo.append(v)
    return len(seen) == len(units)


def _search(model, space: UnitSpace, targets: list[int], threshold: float, order: int,
            prune: bool) -> tuple[dict[int, dict[tuple[int, ...], float]], dict]:
    """Minimal cut sets per target index: {target: {unit-index tuple: availability}}."""
    c = compile_model(model)
    n_u = len(space.units)
    stats = {"evaluated": 0, "candidates": 0}
    found: dict[int, dict[tuple[int, ...], float]] = {t: {} for t in targets}
    relevant = {}
    for t in targets:
        rel = space.reach[:, t].copy() if prune else np.ones(n_u, dtype=bool)
        rel &= ~space.comp_hits[:, t]  # the target is not its own unit
        relevant[t] = np.flatnonzero(rel)
    live = list(targets)
    if prune:  # monotonicity: if cutting every relevant unit is not enough, nothing is
        sets = np.full((len(targets), max(1, max(len(r) for r in relevant.values()))), -1)
        for j, t in enumerate(targets):
            sets[j, :len(relevant[t])] = relevant[t]
        whole = batch_availability(model, space, sets, rows=np.array(targets))
        stats["evaluated"] += len(targets)
        live = [t for j, t in enumerate(targets) if is_cut(whole[j, j], threshold)]
    inter = _interactions(c, space) if prune and order >= 3 else None
    for k in range(1, order + 1):
        needed: dict[tuple[int, ...], list[int]] = {}
        if k == 2 and prune:
            cand: dict[tuple[int, int], list[int]] = {}
            for t in live:
                free = [u for u in relevant[t] if (u,) not in found[t]]
                for pair in itertools.combinations(free, 2):
                    cand.setdefault(pair, []).append(t)
            stats["candidates"] += sum(len(v) for v in cand.values())
            if cand:
                pairs = np.array(list(cand), dtype=np.int64)
                coarse = _interactions(c, space)[pairs[:, 0], pairs[:, 1]]
                pairs = pairs[coarse]
                if len(pairs):
                    ns = _pairs_not_separable(c, space, pairs)
                    for p, pair in enumerate(map(tuple, pairs.tolist())):
                        ts = [t for t in cand[pair] if ns[t, p]]
                        if ts:
                            needed[pair] = ts
        else:
            for t in live:
                free = relevant[t] if k == 1 else [u for u in relevant[t]
                                                   if (u,) not in found[t]]
                for combo in itertools.combinations(free, k):
                    stats["candidates"] += 1
                    if k > 2 and any(sub in found[t] for r in range(2, k)
                                     for sub in itertools.combinations(combo, r)):
                        continue  # monotonicity: contains a smaller cut set
                    if not prune and any(sub in found[t] for r in range(1, k)
                                         for sub in itertools.combinations(combo, r)):
                        continue
                    if inter is not None and k > 2 and not _connected(combo, inter):
                        continue  # separable: its loss is the worst of its parts' losses
                    needed.setdefault(combo, []).append(t)
        if not needed:
            continue
        sets = np.array(list(needed), dtype=np.int64).reshape(len(needed), k)
        rows = np.array(sorted({t for ts in needed.values() for t in ts}))
        row_of = {t: i for i, t in enumerate(rows.tolist())}
        avail = batch_availability(model, space, sets, rows=rows)
        stats["evaluated"] += len(sets)
        for j, (combo, ts) in enumerate(needed.items()):
            for t in ts:
                a = float(avail[row_of[t], j])
                if is_cut(a, threshold):
                    found[t][combo] = a
    return found, stats


def _evaluate_sets(model, resolved: list, sets: list[tuple[int, ...]], horizon: int, *,
                   timeline: bool, bounds: bool, tied: bool):
    """Each set of units disrupted with its default mode, in chunks: yields
    ``(start, chunk, evaluation)``."""
    for start in range(0, len(sets), CHUNK):
        chunk = sets[start:start + CHUNK]
        scenarios = tuple(Scenario(tuple(resolved[u].disruption for u in combo),
                                   horizon=horizon) for combo in chunk)
        batch = [[resolved[u] for u in combo] for combo in chunk]
        yield start, chunk, evaluate_resolved(model, scenarios, batch, timeline=timeline,
                                              bounds=bounds, tied=tied)


def _headline(model, resolved: list, sets: list[tuple[int, ...]], rows: np.ndarray,
              horizon: int, *, timeline: bool, progress=None,
              readings: bool = False) -> np.ndarray:
    """Availability of ``rows`` (lowest day within ``horizon``, lower bound, rest-of-world view)
    when each set of units is disrupted with its default mode: (len(rows), len(sets)); with
    ``readings``, (3, len(rows), len(sets)): the pooled reading, the chain served first and
    the tied reading.

    Day-by-day runs of at least :data:`PARALLEL_SETS` sets are split over worker processes
    forked from this one (:mod:`semigraph.engine.workers`): each set is a column of its own,
    so the split changes no figure."""
    procs = processes_for(None, len(sets) // PARALLEL_SETS) if timeline else 1
    if procs > 1:
        step = -(-len(sets) // procs)
        parts = [(a, min(len(sets), a + step)) for a in range(0, len(sets), step)]
        done = run_parts(lambda a, b: _headline(model, resolved, sets[a:b], rows, horizon,
                                                timeline=True, readings=readings),
                         parts, procs, progress, size=lambda part: part[1] - part[0])
        return np.concatenate(done, axis=-1)
    out = np.ones((3 if readings else 1, len(rows), len(sets)))
    # the search is on the pooled reading: the other readings' columns are simulated only
    # where they are asked for
    for start, chunk, ev in _evaluate_sets(model, resolved, sets, horizon, timeline=timeline,
                                           bounds=readings, tied=readings):
        at = slice(start, start + len(chunk))
        out[0, :, at] = ev.availability[rows]
        if readings:
            out[1, :, at] = ev.availability_high[rows]
            out[2, :, at] = ev.availability_tied[rows]
        if progress is not None:
            progress(len(chunk))
    return out if readings else out[0]


def _search_headline(model, space: UnitSpace, resolved: list, targets: list[int],
                     threshold: float, order: int, horizon: int, progress=None,
                     prune: bool = True) -> tuple[dict, dict, dict]:
    """Minimal cut sets on the headline measure (engine README 4.1): the lowest day within the
    horizon.

    The static bound and the floor (engine README 4.7) are never above the lowest day, so a
    set whose static bound, and then whose floor, stays at or above the threshold is no cut
    set and is not simulated. ``prune=False`` simulates every set that contains no smaller
    cut set (for checking that the bounds change nothing).

    Returns the sets found per target, ``{target: {units: availability}}``, the search
    counts, and ``{(target, units): (availability_high, availability_tied)}``: with
    ``prune`` the sets left by the bounds are nearly all cut sets, so they are simulated
    with every reading at once; without, only the sets found are, in one more evaluation.
    """
    stats = {"evaluated": 0, "candidates": 0, "floored": 0, "simulated": 0}
    found: dict[int, dict[tuple[int, ...], float]] = {t: {} for t in targets}
    other: dict[tuple[int, tuple[int, ...]], tuple[float, float]] = {}
    relevant = {t: np.flatnonzero(space.reach[:, t] & ~space.comp_hits[:, t]) for t in targets}
    for k in range(1, order + 1):
        needed: dict[tuple[int, ...], list[int]] = {}
        for t in targets:
            for combo in itertools.combinations(relevant[t].tolist(), k):
                stats["candidates"] += 1
                if k > 1 and any(sub in found[t] for r in range(1, k)
                                 for sub in itertools.combinations(combo, r)):
                    continue  # monotonicity: contains a smaller cut set
                needed.setdefault(combo, []).append(t)
        if not needed:
            continue
        sets = list(needed)
        rows = np.array(sorted({t for ts in needed.values() for t in ts}))
        row_of = {t: i for i, t in enumerate(rows.tolist())}
        keep = list(range(len(sets)))
        if prune:
            static = _headline(model, resolved, sets, rows, horizon, timeline=False,
                               progress=progress)
            stats["evaluated"] += len(sets)
            keep = [j for j in keep if _may_cut(static, row_of, needed[sets[j]], j, threshold)]
            stats["floored"] += len(keep)
            keep = _floor_screen(model, resolved, sets, keep, needed, rows, row_of, horizon,
                                 threshold)
        if not keep:
            continue
        if progress is not None:
            progress(0, len(keep))  # these are simulated day by day too: more work
        head = _headline(model, resolved, [sets[j] for j in keep], rows, horizon,
                         timeline=True, progress=progress, readings=prune)
        stats["simulated"] += len(keep)
        for col, j in enumerate(keep):
            for t in needed[sets[j]]:
                a = float(head[0, row_of[t], col] if prune else head[row_of[t], col])
                if is_cut(a, threshold):
                    found[t][sets[j]] = a
                    if prune:
                        other[(t, sets[j])] = (float(head[1, row_of[t], col]),
                                               float(head[2, row_of[t], col]))
    if not prune:
        other = _other_readings(model, resolved, found, horizon)
    return found, stats, other


def _may_cut(bound: np.ndarray, row_of: dict, targets: list[int], col: int,
             threshold: float) -> bool:
    """Whether a lower bound of the lowest day leaves some target of a set below the
    threshold (:data:`SLACK` below the bound, for float rounding between the two)."""
    return any(is_cut(bound[row_of[t], col] - SLACK, threshold) for t in targets)


def _floor_screen(model, resolved: list, sets: list, keep: list[int], needed: dict,
                  rows: np.ndarray, row_of: dict, horizon: int, threshold: float) -> list[int]:
    """The sets of ``keep`` whose floor under the lowest day (engine README 4.7) still lets
    a target fall below the threshold, in chunks."""
    out = []
    for start in range(0, len(keep), CHUNK):
        part = keep[start:start + CHUNK]
        floor = lowest_day_floor(model, [[resolved[u] for u in sets[j]] for j in part],
                                 horizon)[rows]
        out += [j for col, j in enumerate(part)
                if _may_cut(floor, row_of, needed[sets[j]], col, threshold)]
    return out


def _other_readings(model, resolved: list, found: dict, horizon: int) -> dict:
    """The upper allocation bound and the tied reading of every cut set found, from one
    evaluation: {(target, units): (availability_high, availability_tied)}."""
    sets = sorted({combo for sets in found.values() for combo in sets})
    out = {}
    for _, chunk, ev in _evaluate_sets(model, resolved, sets, horizon, timeline=True,
                                       bounds=True, tied=True):
        for j, combo in enumerate(chunk):
            for t, sets_t in found.items():
                if combo in sets_t:
                    out[(t, combo)] = (float(ev.availability_high[t, j]),
                                       float(ev.availability_tied[t, j]))
    return out


def _size(space: UnitSpace, targets: list[int], order: int) -> int:
    """The most distinct unit sets a search can evaluate: combinations of up to ``order``
    units in the targets' upstream cones (a set shared by several targets counts once)."""
    cones = [space.reach[:, t] & ~space.comp_hits[:, t] for t in targets]
    if not cones:
        return 0
    union = int(np.logical_or.reduce(cones).sum())
    per_target = [int(cone.sum()) for cone in cones]
    return sum(min(math.comb(union, k), sum(math.comb(n, k) for n in per_target))
               for k in range(1, order + 1))


def search_size(model, targets: Sequence[str], *, level: str = "country", order: int = 1) -> int:
    """How many unit sets :func:`cut_sets` may screen at most, to size a progress bar or
    decide before starting."""
    c = compile_model(model)
    space = unit_space(model, level)
    return _size(space, [c.index[t] for t in resolve_targets(model, targets)], order)


def search_minutes(c: Compiled, sets: int) -> float:
    """Estimated minutes of a search that screens ``sets`` unit sets: each costs a pass over
    the compiled network's supply rows and components."""
    return sets * (c.n_edges + c.n_components) / RATE / 60


def _minutes(minutes: float) -> str:
    return f"{minutes:,.0f} minutes" if minutes >= 1 else "under a minute"


def _check(c: Compiled, space: UnitSpace, names: list[str], tidx: list[int], level: str,
           order: int, max_sets: int | None, max_minutes: float | None) -> None:
    """Refuse (:class:`SearchTooLarge`) a search over the limits, with the estimate."""
    size = _size(space, tidx, order)
    minutes = search_minutes(c, size)
    what = (f"the search would screen up to {size:,} unit sets ({len(names)} target(s), "
            f"order {order} over {len(space.units):,} {level} units, each a pass over "
            f"{c.n_edges:,} supply rows and {c.n_components:,} components: an estimated "
            f"{_minutes(minutes)})")
    if max_sets is not None and size > max_sets:
        raise SearchTooLarge(
            f"{what}, more than the limit of {max_sets:,} sets; narrow it with --target, a "
            "coarser --level or a lower --order, or raise --max-sets")
    if max_minutes is not None and minutes > max_minutes:
        raise SearchTooLarge(
            f"{what}, longer than the limit of {max_minutes:g} minutes; narrow it with "
            f"--target, a coarser --level or a lower --order, or go ahead with --max-sets "
            f"{size}")


def check_search(model, targets: Sequence[str], *, level: str = "country", order: int = 1,
                 max_sets: int | None = MAX_SETS,
                 max_minutes: float | None = MAX_MINUTES) -> None:
    """Raise :class:`SearchTooLarge` where :func:`cut_sets` would refuse, without searching."""
    c = compile_model(model)
    names = resolve_targets(model, targets)
    _check(c, unit_space(model, level), names, [c.index[t] for t in names], level, order,
           max_sets, max_minutes)


def _estimated(c: Compiled, space: UnitSpace, down: np.ndarray, combo: tuple[int, ...],
               target: int) -> bool:
    hit = np.zeros(c.n_edges, dtype=bool)
    for u in combo:
        hit[space.edge_hits[u]] = True
    hit &= c.e_estimated
    return bool(down[c.e_comp[hit], target].any())


def cut_sets(model, targets: Sequence[str], *, level: str = "country", threshold: float = 0.5,
             order: int = 1, prune: bool = True, measure: str = "headline",
             horizon: int = DEFAULT_HORIZON, max_sets: int | None = MAX_SETS,
             max_minutes: float | None = MAX_MINUTES, progress=None) -> pd.DataFrame:
    """All minimal cut sets of up to ``order`` units of ``level`` for each target.

    Parameters
    ----------
    model : Model
    targets : sequence of str
        Component ids or ``stage:STAGE`` (e.g. ``stage:end_use``).
    level : {"country", "firm", "site", "component"}
    threshold : float
        A set is a cut set when the target's availability falls below this (0..1); 0 means
        total loss (availability 0).
    order : int
        Largest cut-set size searched (1 = single points of failure).
    prune : bool
        Use the pruned search (default). ``False``, for checking and benchmarks: the steady
        search tries every combination of units; the headline search simulates every set in
        the targets' upstream cones that contains no smaller cut set, without screening
        them by the static bound and the floor.
    measure : {"headline", "steady"}
        ``headline`` (default): the lowest daily availability within ``horizon`` of the
        day-by-day simulation (engine README 4.1), each unit disrupted in its default mode
        (countries stop exports, seen from the rest of the world; firms, sites and
        components fail for everyone). ``steady``: the static bound with every unit lost for
        everyone (no stocks, no restoration), the structural view.
    horizon : int
        Days simulated for the headline measure.
    max_sets : int or None
        Refuse (:class:`SearchTooLarge`, before any work) a search whose candidate sets
        (every combination of up to ``order`` units in each target's upstream cone, the most
        it could evaluate) number more than this; ``None`` for no limit.
    max_minutes : float or None
        Refuse, the same way, a search whose estimated time (the candidate sets times a pass
        over the compiled network's supply rows and components) is longer than this;
        ``None`` for no limit (the command line passes ``None`` when ``--max-sets`` is given).
    progress : callable, optional
        ``progress(done, more=0)``: called with the number of unit sets just screened or
        simulated (headline measure), and with ``more`` when sets are added to the work (those
        simulated day by day after the screen), for a progress bar; :func:`search_size` gives
        the screening total.

    Returns
    -------
    pandas.DataFrame
        One row per minimal cut set, columns :data:`COLUMNS`; ``attrs["no_cut_set"]`` lists
        the targets with none up to ``order``, ``attrs["stats"]`` the search counts
        (headline: ``evaluated`` sets screened by the static bound, ``floored`` of them
        screened by the floor, ``simulated`` day by day).

    Notes
    -----
    Each unit is cut in full (severity 1), so availability is monotone: adding a unit never
    raises it. The headline search is exact up to ``order``: it keeps the sets that contain
    no smaller cut set and whose static bound falls below the threshold, then those whose
    floor (engine README 4.7: the static bound with what each component's own stock,
    restoration and installed base guarantee within the horizon) still does, and simulates
    those; both bounds are never above the lowest day. The steady search prunes by:

    1. the upstream cone: only units whose supply reaches the target can be in a cut set;
    2. monotonicity: a target that survives the loss of every relevant unit at once has no
       cut set; a set containing a cut set is never minimal, so it is not evaluated;
    3. separability: if two units' influences meet only at components that need both (every
       meeting point is a required input, never the same component's supply or two
       alternatives of one requirement group), then ``A(t | u, v) = min(A(t | u), A(t | v))``
       and the pair is a cut set only if one of the units already is. This is the dominator
       argument of fault-tree modularisation applied to the Leontief min: the first
       common dominator of their effects is an AND. Sets of three or more are split the same
       way with a conservative interaction graph (units interact when one hits the supply of
       a component the other reaches, or both reach alternatives of one group); a set whose
       interaction graph is disconnected loses only what its worst part loses.

    The remaining candidate sets are evaluated in batches of a few hundred scenarios with
    the compiled propagation (engine README section 4).
    """
    if not 0 <= threshold <= 1:
        raise ScenarioError(f"threshold must be in [0, 1], not {threshold}")
    if order < 1:
        raise ScenarioError(f"order must be at least 1, not {order}")
    c = compile_model(model)
    names = resolve_targets(model, targets)
    space = unit_space(model, level)
    tidx = [c.index[t] for t in names]
    _check(c, space, names, tidx, level, order, max_sets, max_minutes)
    if measure == "headline":
        resolved = [resolve(model, c, Disruption(u)) for u in space.units]
        found, stats, other = _search_headline(model, space, resolved, tidx, threshold,
                                               order, horizon, progress, prune)
    elif measure == "steady":
        found, stats = _search(model, space, tidx, threshold, order, prune)
        other = {}
    else:
        raise ScenarioError(f"measure must be 'headline' or 'steady', not {measure!r}")
    comps = model.components.set_index("id")
    down = downstream(c)
    rows = []
    for t in names:
        ti = c.index[t]
        for combo, a in sorted(found[ti].items(), key=lambda kv: (len(kv[0]), round(kv[1], 12),
                                                                   [space.units[u]
                                                                    for u in kv[0]])):
            rows.append({
                "target": t,
                "target_name": comps.at[t, "name"],
                "stage": comps.at[t, "stage"],
                "order": len(combo),
                "level": level,
                "units": sorted(space.units[u] for u in combo),
                "availability": a,
                "availability_high": other.get((ti, combo), (a, a))[0],
                "availability_tied": other.get((ti, combo), (a, a))[1],
                "shortfall": 1.0 - a,
                "estimated": _estimated(c, space, down, combo, ti),
            })
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["order"] = frame["order"].astype("int64")
    frame["availability"] = frame["availability"].astype(float)
    frame["availability_high"] = frame["availability_high"].astype(float)
    frame["availability_tied"] = frame["availability_tied"].astype(float)
    frame["shortfall"] = frame["shortfall"].astype(float)
    frame["estimated"] = frame["estimated"].astype(bool)
    frame.attrs["no_cut_set"] = [t for t in names if not found[c.index[t]]]
    frame.attrs["targets"] = names
    n = len(space.units)
    brute = sum(math.comb(n, k) for k in range(1, order + 1))
    frame.attrs["stats"] = {**stats, "units": n, "brute_force": brute}
    frame.attrs["measure"] = measure
    frame.attrs["horizon"] = horizon
    return frame
