"""The tied reading on the compiled arrays: buyers stay with their supplier until they qualify
another (engine README, section 4.5).

A component whose buyers need ``qualify_days`` before another maker's or site's part can
replace the one they use forms *buyer groups* on the days before that: one group per supply
row (and one for the unattributed rest), each holding its own stock, spread over five buyers
from ``stock_days_min`` to its mirror around ``stock_days``. A component without supply rows
of its own takes the groups of its ``maker`` input (the die of a packaged chip), so the tie
follows the part downstream; a component with rows of its own and a maker input draws, for
each row, on the same firm's groups of that input (an integrated maker uses its own dies),
or on the groups of firms that make none of it. On day ``qualify_days`` the groups pool their
stock and the component reads as in the pooled simulation.

Notes
-----
The groups are kept as *pairs* (component, slot): a slot is a supply edge of the component
whose rows define the groups (the *space*), or that component's unattributed rest. Arrays
over pairs are ``(classes, pairs, columns)``, the buyers' stocks ``(BUYERS, classes, pairs,
columns)`` (buyers first: a day's work on a buyer is one block of memory). Each day, per
topological level, the pooled formula of a component with rows is split by slot
(:func:`_split`): weights ``a(e)`` (the row's normal deliveries to the class; with an export
stop of a country x whose consumption is known, x's stopped rows form one group weighted by
x's normal net exports; a stopping country that imports forms no group) and outputs ``o(e)``
(the row's output as its buyers get it; where a stopping country imports, scaled to the
demand the groups serve, less its draw). Summed with their weights, the outputs
give the pooled formula back wherever no output has to be clipped to 0..1.

A level's pairs are numbered consecutively, its tied components latest to qualify first, so
the groups that hold on a day are the level's first pairs. The parts of the split that only
the disruptions and the restored components change (weights, what survives of each row, the
cut factors) are kept per level with flat indices into the inputs at the pairs' slots: a day
then costs a gather and a few operations on arrays of the level's pairs. A day whose inputs,
as each component takes them, equal the day before's (compared as bytes) reuses the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from semigraph.engine.compiled import BUYERS, Compiled, Level, restrict_level

__all__ = ["TiedPlan", "TiedState", "plan", "pool", "step"]

EPS = 1e-12
SHORT = 0.99


def space_of(c: Compiled) -> np.ndarray:
    """Per component, the component whose supply rows define its buyer groups: itself when
    it has rows, else its maker input's space; -1 where there is none."""
    out = np.full(c.n_components, -1, dtype=np.int64)
    for ci in range(c.n_components):  # topological order: a maker's space is settled first
        if c.has_supply[ci]:
            out[ci] = ci
        elif c.maker[ci] >= 0:
            out[ci] = out[c.maker[ci]]
    return out


def tie_of(c: Compiled) -> np.ndarray:
    """Bool per component: its buyers form groups (qualification takes time, it has a space,
    and it is not capital equipment, whose users see the installed base)."""
    return (c.qualify_days > 0) & (space_of(c) >= 0) & ~c.capital


@dataclass(eq=False)
class LevelPlan:
    """What the tied reading computes on one (restricted) level."""

    split: bool  # some component of the level is a space: split its formula by slot
    maker_groups: np.ndarray  # requirement-group indices (in the level) of maker inputs
    maker_pos: np.ndarray  # positions of components with a maker input
    ov_maker_groups: np.ndarray  # the same among the groups of rows that read captive views
    own_pairs: np.ndarray  # pairs of tied components with rows of their own, and the split
    # index of each (edge position, or nE + component position)
    own_dix: np.ndarray
    inh_pairs: np.ndarray  # pairs of tied components that take their maker's groups
    inh_slot: np.ndarray  # each pair's slot
    inh_src: np.ndarray  # the maker's pair of the same slot (-1: the maker is not tied)
    inh_comp: np.ndarray  # position of each inherited pair's component (in the level)
    mix_dix: np.ndarray  # split indices whose maker input is mixed from the maker's groups
    mix_maker: np.ndarray  # the maker component of each
    mix_starts: np.ndarray  # CSR into mix_pairs
    mix_pairs: np.ndarray
    sub: Level  # the level restricted to its tied components and the spaces they read
    sub_pos: np.ndarray  # positions of those components in the full level
    tied_pos: np.ndarray  # positions of every tied component of ``sub``
    pair_starts: np.ndarray  # where each tied component's pairs begin (in ``pairs``)
    pairs: np.ndarray  # the level's pairs, grouped by component in ``tied_pos`` order
    comp_of_pair: np.ndarray  # each pair's tied component (index into ``tied_pos``)
    at_own: np.ndarray  # where own_pairs and inh_pairs sit in ``pairs``
    at_inh: np.ndarray
    makers: np.ndarray  # the maker inputs of the level's components
    watch_pairs: np.ndarray  # the makers' pairs they read
    watch_slots: np.ndarray  # the slots whose weights they read
    with_maker: np.ndarray  # bool per split index (edges, then components): has a maker
    until: float  # the day after which no group reads this level (all have qualified)
    tied_comps: np.ndarray  # the tied components (indices into the compiled arrays)
    qualify: np.ndarray  # their qualify_days
    maker_q: np.ndarray  # qualify_days of ``makers``
    inh_maker: np.ndarray  # the maker of each inherited pair's component
    own_all: bool  # every pair has rows of its own, in split order: outputs are a gather
    all_req: bool  # every component of ``sub`` has inputs
    ext: np.ndarray  # per split index (edges, then components): the component's position
    maker_ext: np.ndarray  # per split index: its component's maker input (0 without one)
    mix_slots: np.ndarray  # the slot of each of ``mix_pairs``
    mix_q: np.ndarray  # qualify_days of ``mix_maker``
    span: slice  # the level's pairs (consecutive)
    memo: dict = field(default_factory=dict)  # the last day's outputs and what they rest on


@dataclass(eq=False)
class TiedPlan:
    """The pairs of the live tied components and, per live level, its :class:`LevelPlan`."""

    n_pairs: int
    pair_comp: np.ndarray
    pair_slot: np.ndarray
    tie: np.ndarray  # bool per component: live and tied
    levels: list[LevelPlan]
    plain: np.ndarray  # (E + C,) each slot's weight without disruptions


def _slots(c: Compiled, root: int) -> list[int]:
    edges = c.edges_by("comp").get(root, np.zeros(0, dtype=np.int64)).tolist()
    return edges + ([c.n_edges + root] if c.rest[root] > 0 else [])


def plan(c: Compiled, live: list[Level], active: np.ndarray) -> TiedPlan:
    """The pairs and per-level index arrays of the tied reading for the live levels."""
    space = space_of(c)
    tie = tie_of(c) & active
    e_n = c.n_edges
    pair_comp: list[int] = []
    pair_slot: list[int] = []
    pair_of: dict[tuple[int, int], int] = {}
    by_comp = c.edges_by("comp")

    def firms_of(ci: int) -> set:  # the firms with supply rows of a component (few are asked)
        return set(c.e_supplier[by_comp.get(ci, [])].tolist())

    def supplier(slot: int):
        return None if slot >= e_n else c.e_supplier[slot]

    levels = []
    for full_lv in live:
        # the level restricted to what the tied reading reads: its tied components and the
        # components whose rows give groups their weights
        need = np.isin(full_lv.comps, space[tie]) | tie[full_lv.comps]
        lv = restrict_level(full_lv, need)
        edge_at = {int(e): i for i, e in enumerate(lv.edges)}
        n_e = len(lv.edges)
        # the requirement group of each maker input
        maker_groups, maker_pos = [], []
        for r, p in enumerate(lv.req_pos):
            m = c.maker[lv.comps[p]]
            if m < 0:
                continue
            g0 = lv.comp_group_starts[r]
            g1 = (lv.comp_group_starts[r + 1] if r + 1 < len(lv.comp_group_starts)
                  else len(lv.group_starts))
            for g in range(g0, g1):
                i0 = lv.group_starts[g]
                i1 = lv.group_starts[g + 1] if g + 1 < len(lv.group_starts) else len(lv.inputs)
                if i1 - i0 == 1 and lv.inputs[i0] == m:
                    maker_groups.append(g)
                    maker_pos.append(p)
        ov_maker_groups = []
        ov_ends = np.append(lv.ov_edge_group_starts, len(lv.ov_group_starts))
        ov_in_ends = np.append(lv.ov_group_starts, len(lv.ov_inputs))
        for j, g0 in enumerate(lv.ov_edge_group_starts.tolist()):
            m = c.maker[lv.comps[lv.edge_pos[lv.ov_edges[j]]]]
            for g in range(g0, int(ov_ends[j + 1])):
                i0, i1 = lv.ov_group_starts[g], ov_in_ends[g + 1]
                if m >= 0 and i1 - i0 == 1 and lv.ov_inputs[i0] == m:
                    ov_maker_groups.append(g)
        tied_pos, pairs, pair_starts = [], [], []
        own_pairs, own_dix = [], []
        inh_pairs, inh_slot, inh_src, inh_comp = [], [], [], []
        mix_dix, mix_maker, mix_starts, mix_pairs = [], [], [], []
        for p, ci in enumerate(lv.comps.tolist()):
            m = int(c.maker[ci])
            if c.has_supply[ci] and m >= 0 and space[m] >= 0 and tie[m]:
                # each row's buyers mix the maker's groups: the firm's own, else the others'
                firms = firms_of(ci)
                m_slots = _slots(c, int(space[m]))
                for slot in _slots(c, ci):
                    f = supplier(slot)
                    mine = [s for s in m_slots if f is not None and supplier(s) == f]
                    if not mine:
                        mine = [s for s in m_slots if supplier(s) not in firms]
                    if not mine:
                        continue
                    mix_dix.append(edge_at[slot] if slot < e_n else n_e + p)
                    mix_maker.append(m)
                    mix_starts.append(len(mix_pairs))
                    mix_pairs += [(m, s) for s in mine]
        # the tied components latest to qualify first: the groups that hold on a day are then
        # the level's first components and pairs (a component pools on its qualify day)
        comps = lv.comps.tolist()
        order = sorted((p for p, ci in enumerate(comps) if tie[ci]),
                       key=lambda p: -c.qualify_days[comps[p]])
        for p in order:
            ci = comps[p]
            m = int(c.maker[ci])
            tied_pos.append(p)
            pair_starts.append(len(pairs))
            for slot in _slots(c, int(space[ci])):
                k = len(pair_comp)
                pair_of[(ci, slot)] = k
                pair_comp.append(ci)
                pair_slot.append(slot)
                pairs.append(k)
                if c.has_supply[ci]:
                    own_pairs.append(k)
                    own_dix.append(edge_at[slot] if slot < e_n else n_e + p)
                else:
                    inh_pairs.append(k)
                    inh_slot.append(slot)
                    inh_src.append(pair_of.get((m, slot), -1) if tie[m] else -1)
                    inh_comp.append(p)
        ints = lambda a: np.array(a, dtype=np.int64)  # noqa: E731
        here = set(lv.comps.tolist())
        pairs_a = ints(pairs)
        makers = np.unique(c.maker[lv.comps][c.maker[lv.comps] >= 0]).astype(np.int64)
        watch_pairs = np.unique(ints([p for p in inh_src if p >= 0]
                                     + [pair_of[mp] for mp in mix_pairs]))
        watch_slots = np.unique(np.concatenate([ints(inh_slot),
                                                ints([s for _, s in mix_pairs])]))
        levels.append(LevelPlan(
            sub=lv, sub_pos=np.flatnonzero(need),
            split=bool(c.has_supply[lv.comps].any()),
            maker_groups=ints(maker_groups), maker_pos=ints(maker_pos),
            ov_maker_groups=ints(ov_maker_groups),
            own_pairs=ints(own_pairs), own_dix=ints(own_dix), inh_pairs=ints(inh_pairs),
            inh_slot=ints(inh_slot), inh_src=ints(inh_src), inh_comp=ints(inh_comp),
            mix_dix=ints(mix_dix), mix_maker=ints(mix_maker), mix_starts=ints(mix_starts),
            mix_pairs=ints([pair_of[mp] for mp in mix_pairs]),
            tied_pos=ints(tied_pos), pair_starts=ints(pair_starts), pairs=pairs_a,
            comp_of_pair=np.repeat(np.arange(len(tied_pos)),
                                   np.diff(np.append(ints(pair_starts), len(pairs)))),
            at_own=np.searchsorted(pairs_a, ints(own_pairs)),
            at_inh=np.searchsorted(pairs_a, ints(inh_pairs)), makers=makers,
            watch_pairs=watch_pairs, watch_slots=watch_slots.astype(np.int64),
            with_maker=np.concatenate([c.maker[lv.comps][lv.edge_pos] >= 0,
                                       c.maker[lv.comps] >= 0]),
            until=float(max([c.qualify_days[ci] for ci in np.flatnonzero(tie)
                             if ci in here or space[ci] in here], default=0.0)),
            tied_comps=lv.comps[ints(tied_pos)],
            qualify=c.qualify_days[lv.comps[ints(tied_pos)]], maker_q=c.qualify_days[makers],
            inh_maker=c.maker[lv.comps[ints(inh_comp)]],
            own_all=not inh_pairs and own_pairs == pairs,
            all_req=len(lv.req_pos) == len(lv.comps),
            ext=np.concatenate([lv.edge_pos, np.arange(len(lv.comps))]),
            maker_ext=np.maximum(c.maker[lv.comps], 0)[
                np.concatenate([lv.edge_pos, np.arange(len(lv.comps))])],
            mix_slots=ints([pair_slot[pair_of[mp]] for mp in mix_pairs]),
            mix_q=c.qualify_days[ints(mix_maker)],
            span=slice(pairs[0], pairs[-1] + 1) if pairs else slice(0, 0)))
    plain = np.concatenate([c.e_share / np.maximum(1.0, np.bincount(
        c.e_comp, weights=c.e_share, minlength=c.n_components))[c.e_comp], c.rest])
    return TiedPlan(len(pair_comp), np.array(pair_comp, dtype=np.int64),
                    np.array(pair_slot, dtype=np.int64), tie, levels, plain)


@dataclass(eq=False)
class TiedState:
    """The tied reading's state over the days (columns: the batch's scenarios)."""

    stock: np.ndarray  # (BUYERS, K, P, N) each buyer's stock
    delivered: np.ndarray  # (K, P, N) each group's delivery today (mean over its buyers)
    weight: np.ndarray  # (K, E + C, N) each slot's weight today
    last: np.ndarray  # (K, P, N) each pair's weight on its last grouped day
    short_w: np.ndarray  # (K, P, N) the group's largest weight on a day its output fell short
    pooled: np.ndarray  # bool per component: its groups have pooled
    next_pool: float = 0.0  # the first day on which some groups still held pool
    pool_n: int = 0  # days on which some groups pooled so far

    @classmethod
    def start(cls, c: Compiled, tp: TiedPlan, k: int, n: int) -> TiedState:
        stock = np.broadcast_to(c.stock_spread[tp.pair_comp].T[:, None, :, None],
                                (BUYERS, k, tp.n_pairs, n)).copy()
        weight = np.broadcast_to(tp.plain[None, :, None], (k, len(tp.plain), n)).copy()
        return cls(stock, np.ones((k, tp.n_pairs, n)), weight, np.zeros((k, tp.n_pairs, n)),
                   np.zeros((k, tp.n_pairs, n)),
                   np.zeros(c.n_components, dtype=bool))


def pool(c: Compiled, tp: TiedPlan, st: TiedState, t: int, stock: np.ndarray) -> None:
    """Day ``t``: the groups of components qualified by now pool their remaining stock into
    ``stock`` (the tied columns' pooled stock, (K, C, N)), once."""
    if t < st.next_pool:
        return
    due = tp.tie & ~st.pooled & (t >= c.qualify_days)
    st.pooled |= due
    st.pool_n += 1
    left = tp.tie & ~st.pooled
    st.next_pool = float(c.qualify_days[left].min()) if left.any() else np.inf
    for ci in np.flatnonzero(due).tolist():
        ps = np.flatnonzero(tp.pair_comp == ci)
        held = st.stock[:, :, ps].mean(axis=0)  # (K, pairs, N)
        stock[:, ci, :] = (st.last[:, ps] * held).sum(axis=1)


def _inputs_two(lv: Level, lp: LevelPlan, x: np.ndarray,
                full: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """I_k(c) of the level's components, with and without their maker input: (K, nL, N);
    then the same for the supply rows that read a captive view, (K, rows, N) (engine README
    4.5: a firm's rows read its own shop's output)."""
    k, _, n = x.shape
    if full is not None and not lp.maker_groups.size:
        bare = full
    elif not lv.inputs.size:
        full = bare = np.ones((k, len(lv.comps), n))
    else:
        g = np.maximum.reduceat(x.take(lv.inputs, axis=1), lv.group_starts, axis=1)
        full = np.minimum.reduceat(g, lv.comp_group_starts, axis=1)
        if not lp.all_req:
            full = _at_req(lv, full, k, n)
        bare = full
        if lp.maker_groups.size:
            g[:, lp.maker_groups, :] = 1.0
            bare = np.minimum.reduceat(g, lv.comp_group_starts, axis=1)
            if not lp.all_req:
                bare = _at_req(lv, bare, k, n)
    full_ov = bare_ov = None
    if lv.ov_edges.size:
        g = np.maximum.reduceat(x.take(lv.ov_inputs, axis=1), lv.ov_group_starts, axis=1)
        full_ov = np.minimum.reduceat(g, lv.ov_edge_group_starts, axis=1)
        bare_ov = full_ov
        if lp.ov_maker_groups.size:
            g[:, lp.ov_maker_groups, :] = 1.0
            bare_ov = np.minimum.reduceat(g, lv.ov_edge_group_starts, axis=1)
    return full, bare, full_ov, bare_ov


def _at_req(lv: Level, values: np.ndarray, k: int, n: int) -> np.ndarray:
    """Per component of the level: ``values`` where it has inputs, else 1."""
    out = np.ones((k, len(lv.comps), n))
    out[:, lv.req_pos, :] = values
    return out


@dataclass(eq=False)
class Day:
    """What the tied components of a level whose groups hold today deliver and make,
    (K, held, N) each."""

    comps: np.ndarray  # those components (indices into the compiled arrays)
    delivered: np.ndarray  # full supply within float rounding reads 1
    output: np.ndarray
    lowest: np.ndarray | None  # the same as delivered for a step of one day: None
    opening: np.ndarray | None
    exposed: np.ndarray | None  # None: as last returned for these components


def step(c: Compiled, tp: TiedPlan, lp: LevelPlan, st: TiedState, lv: Level, x: np.ndarray,
         ep, back: np.ndarray, site_class: np.ndarray, t: int, length: int,
         inputs: np.ndarray | None = None) -> Day | None:
    """One step of ``length`` days for the tied components of level ``lv``; None where no
    group of the level holds.

    ``x`` is what consumers get of every component in the tied columns, (K, C, N); ``ep`` the
    active disruptions (one column per scenario), ``back`` the level's restored components,
    ``site_class`` (E, N) the class of each edge's site; ``inputs``, where given, the
    level's I_k(c) from ``x`` (the pooled pass computes them too).

    A day on which nothing the level's groups depend on has changed since the day before
    (the disruptions, the restored components, which groups hold, the inputs, the makers'
    groups) gives the same outputs; where, besides, no buyer draws on its stock, it gives the
    same day again and is not computed. What the outputs rest on is compared as raw bytes:
    equal bytes give the same numbers.
    """
    if (not lp.tied_pos.size and not lp.split) or t >= lp.until:
        return None
    k, _, n = x.shape
    memo = lp.memo
    if t >= memo.get("hold_next", -np.inf) or memo.get("pool_n") != st.pool_n:
        _holding(lp, st, t)
    fkey = (id(ep), back.tobytes())
    if not memo["any_hold"]:  # nothing to compute but the slots' weights groups downstream take
        _refresh(c, lp, st, lv, ep, back, site_class, k, n, fkey)
        memo["key"] = None
        return None
    key = (fkey, memo["hold_key"], length)
    # the outputs rest on the inputs as each component takes them (an eroding tool that does
    # not bind changes nothing), the maker inputs, and the makers' groups
    full, bare, full_ov, bare_ov = _inputs_two(lv, lp, x, inputs)
    parts = [full]
    if lp.makers.size:
        parts.append(x.take(lp.makers, axis=1))
    if lp.watch_pairs.size:
        parts.append(st.delivered.take(lp.watch_pairs, axis=1))
    if lp.watch_slots.size:
        parts.append(st.weight.take(lp.watch_slots, axis=1))
    if bare is not full:
        parts.append(bare)
    if full_ov is not None:
        parts += [full_ov, bare_ov]
    sig = b"".join([a.tobytes() for a in parts])
    fresh = memo.get("key") != key or memo["sig"] != sig
    if fresh:
        memo.update(key=key, sig=sig, day=None,
                    o=_outputs(c, tp, lp, st, lv, x, ep, back, site_class, t, full, bare,
                               full_ov, bare_ov, fkey))
    elif memo["still"]:
        return memo["day"]  # the last day computed drew on no stock: the same day again
    hc, hp = memo["n_held"]  # the groups that hold: the level's first components and pairs
    w, o = memo["w"][:, :hp], memo["o"][:, :hp]
    sl = slice(lp.span.start, lp.span.start + hp)
    s = st.stock[:, :, sl]  # (B, K, held pairs, N), a view
    if length == 1:
        d_b = o + s
        np.minimum(d_b, 1.0, out=d_b)
        low_b = open_b = d_b
        used = d_b - o
    else:  # in place: o + used / length, min(1, o + s), min(1, o + max(0, s - (L-1) gap))
        gap = 1.0 - o
        used = np.minimum(s, length * gap)
        d_b = used / length
        d_b += o
        open_b = o + s
        np.minimum(open_b, 1.0, out=open_b)
        low_b = s - (length - 1) * gap
        np.maximum(low_b, 0.0, out=low_b)
        low_b += o
        np.minimum(low_b, 1.0, out=low_b)
    s -= used
    still = not np.count_nonzero(used)  # no stock moved: the same day again while fresh is not
    d = np.add.reduce(d_b, axis=0) / BUYERS
    st.delivered[:, sl] = d
    starts = lp.pair_starts[:hc]
    empty = memo["empty"][:, :hc] if memo["any_empty"] else None  # no demand left: full

    def agg(v, snap=False):
        r = np.add.reduceat(w * v, starts, axis=1)
        if snap:  # at most 1, and within float rounding of it 1
            r[r > 1.0 - EPS] = 1.0
        else:
            np.minimum(r, 1.0, out=r)
        return r if empty is None else np.where(empty, 1.0, r)

    exposed = None
    if fresh:  # else the last day's weights and outputs: nothing below changes
        output = agg(o)
        seen = (memo["w_n"], hc)  # what the pairs' last and exposed weights were written for
        if memo.get("last_for") != seen:
            st.last[:, sl] = w
        short = st.short_w[:, sl]
        now = np.where(o < SHORT, w, 0.0)
        if memo.get("last_for") != seen or np.count_nonzero(now > short):
            np.maximum(short, now, out=short)
            exposed = np.add.reduceat(short, starts, axis=1)
            if empty is not None:
                exposed = np.where(empty, 0.0, exposed)
        memo["last_for"] = seen
    else:
        output = memo["day"].output
    multi = length > 1
    day = Day(comps=memo["comps"], delivered=agg(d, True), output=output,
              lowest=agg(np.add.reduce(low_b, axis=0) / BUYERS, True) if multi else None,
              opening=agg(np.add.reduce(open_b, axis=0) / BUYERS, True) if multi else None,
              exposed=exposed)
    memo.update(day=day, still=still)
    return day


def _holding(lp: LevelPlan, st: TiedState, t: int) -> None:
    """Which of the level's groups hold on day ``t``, and which of its makers' groups: kept
    until the next day on which one of them qualifies or some groups pool."""
    hold = (t < lp.qualify) & ~st.pooled[lp.tied_comps]  # per tied component of the level
    live_m = (t < lp.maker_q) & ~st.pooled[lp.makers]  # the makers' groups hold
    q = np.concatenate([lp.qualify, lp.maker_q])
    later = q[q > t]
    # the level's tied components are ordered latest to qualify first, and a component's
    # groups pool on its qualify day: those that hold are the first ones
    hc = int(np.count_nonzero(hold))
    if not hold[:hc].all():
        raise RuntimeError("tied reading: groups hold out of qualification order")
    hp = int(lp.pair_starts[hc]) if hc < len(lp.pair_starts) else len(lp.pairs)
    mix = (t < lp.mix_q) & ~st.pooled[lp.mix_maker]  # rows that mix a maker's groups
    live = None if not mix.any() else True if mix.all() else mix[None, :, None]
    lp.memo.update(hold_next=later.min() if later.size else np.inf, pool_n=st.pool_n,
                   hold_key=hold.tobytes() + live_m.tobytes(), any_hold=hc > 0,
                   n_held=(hc, hp), comps=lp.tied_comps[:hc], live_mix=live)


def _refresh(c, lp, st, lv, ep, back, site_class, k, n, key) -> _Fixed | None:
    """The parts of the level's outputs that only the disruptions and the restored components
    change, recomputed when they do; then the level's slot weights are written for the groups
    that take them downstream."""
    memo = lp.memo
    if memo.get("fixed_key") == key:
        return memo["fixed"]
    cut = np.where(back[None, :, None], 1.0, ep.factor.take(lv.comps, axis=1))
    fx = gather = None
    if lp.split:
        was, fx = memo.get("fixed_back"), memo.get("fixed")
        n_e = len(lv.edges)
        if fx is not None and memo.get("fixed_ep") is ep and not (was & ~back).any():
            newly = back & ~was
            _restore_fixed(c, lv, fx, ep, newly, site_class, k, n)
            e_at, has = np.flatnonzero(newly[lv.edge_pos]), newly & lv.has_supply
        else:
            fx = _fixed(c, lv, ep, back, site_class, np.arange(n), k, n)
            e_at, has = np.arange(n_e), lv.has_supply
        # the slots' weights the groups downstream take (only the changed ones, when patched)
        st.weight[:, lv.edges[e_at], :] = fx.weight[:, e_at, :]
        st.weight[:, c.n_edges + lv.comps[has], :] = fx.weight[:, n_e:, :][:, has, :]
        gather = _Gather.of(lv, lp, fx, cut, site_class, k, n)
    memo.update(fixed_key=key, fixed=fx, fixed_ep=ep, fixed_back=back, gather=gather,
                cut_inh=cut.take(lp.inh_comp, axis=1), w_key=None)
    return fx


def _restore_fixed(c, lv, fx: _Fixed, ep, newly: np.ndarray, site_class, k, n) -> None:
    """Patch ``fx`` (:func:`_fixed` of ``lv``) in place for the components ``newly`` (bool
    per component of the level) whose lost supply has returned: each component's part of
    :func:`_fixed` rests on its own rows and consumption rows alone, so theirs is computed on
    the level restricted to them and written at their positions, as a full recomputation
    would give it."""
    if not newly.any():
        return
    sub = restrict_level(lv, newly)
    f = _fixed(c, sub, ep, np.ones(len(sub.comps), dtype=bool), site_class, np.arange(n), k, n)
    e_at = np.flatnonzero(newly[lv.edge_pos])
    p_at = np.flatnonzero(newly)
    n_e, s_e = len(lv.edges), len(sub.edges)
    fx.weight[:, e_at, :] = f.weight[:, :s_e, :]
    fx.weight[:, n_e + p_at, :] = f.weight[:, s_e:, :]
    fx.keep[:, e_at, :] = f.keep
    for name in ("ok", "scale", "demand"):
        getattr(fx, name)[:, p_at, :] = getattr(f, name)
    if fx.served is not None and f.served is not None:
        ce_at = np.flatnonzero(newly[lv.edge_pos[lv.cons_edges]])
        r_at = np.flatnonzero(newly[lv.cons_pos])
        fx.served[:, ce_at, :] = f.served
        fx.at_home[:, ce_at, :] = f.at_home
        for name in ("kx", "a", "pos", "importer"):
            getattr(fx, name)[:, r_at, :] = getattr(f, name)


def _outputs(c, tp, lp, st, lv, x, ep, back, site_class, t, full, bare, full_ov, bare_ov,
             fkey):
    """Each pair's output today, (K, P, N), from the level's inputs with and without their
    maker input; keeps the pairs' weights (``memo["w"]``) current."""
    k, _, n = x.shape
    memo = lp.memo
    fx = _refresh(c, lp, st, lv, ep, back, site_class, k, n, fkey)
    inh = lp.inh_pairs.size > 0
    w_key = (fkey, st.weight.take(lp.inh_slot, axis=1).tobytes() if inh else b"")
    if memo["w_key"] != w_key:
        w = np.zeros((k, len(lp.pairs), n))
        if lp.own_pairs.size:
            w[:, lp.at_own, :] = fx.weight.take(lp.own_dix, axis=1)
        if inh:
            w[:, lp.at_inh, :] = st.weight.take(lp.inh_slot, axis=1)
        empty = np.add.reduceat(w, lp.pair_starts, axis=1) <= EPS
        memo.update(w_key=w_key, w=w, empty=empty, any_empty=bool(empty.any()),
                    w_n=memo.get("w_n", 0) + 1)
    own = (_split(lp, st, lv, x, full, bare, full_ov, bare_ov, fx, memo["gather"])
           if lp.own_pairs.size else None)
    if lp.own_all:
        return own
    o = np.zeros((k, len(lp.pairs), n))
    if own is not None:
        o[:, lp.at_own, :] = own
    if inh:
        m = lp.inh_maker
        from_groups = (lp.inh_src >= 0) & (t < c.qualify_days[m]) & ~st.pooled[m]
        dm = np.where(from_groups[None, :, None], st.delivered[:, np.maximum(lp.inh_src, 0), :],
                      x.take(m, axis=1))
        o[:, lp.at_inh, :] = np.minimum(bare.take(lp.inh_comp, axis=1), dm) * memo["cut_inh"]
    return o


@dataclass(eq=False)
class _Fixed:
    """The parts of a level's split that its inputs do not change (constant while the
    disruptions and the restored components stay the same)."""

    weight: np.ndarray  # (K, nE + nL, N)
    keep: np.ndarray  # (K, nE, N) what the disruptions leave of each edge's output
    served: np.ndarray | None  # (K, nCE, N) consumption edges whose country serves itself
    at_home: np.ndarray | None  # (K, nCE, N) w(e) x what the stops leave at home, served
    need: np.ndarray | None  # (1, rows, 1) each consumption row's share
    kx: np.ndarray | None  # (K, rows, N) what a stopping country still exports
    a: np.ndarray | None  # (K, rows, N) its normal net exports
    pos: np.ndarray | None  # a > 0: its stopped rows form one group
    importer: np.ndarray | None  # (K, rows, N) active rows of countries that import
    ok: np.ndarray  # (K, nL, N) the component has demand left to share
    scale: np.ndarray  # (K, nL, N) its groups' weight over the demand they serve
    demand: np.ndarray  # (K, nL, N) that demand: 1 less the stopping countries' use


def _fixed(c, lv, ep, back, site_class, cols, k, n) -> _Fixed:
    n_e = len(lv.edges)
    edges = lv.edges
    back_e = back[lv.edge_pos][None, :, None]
    keep = np.where(back_e, 1.0, ep.survive.take(edges, axis=1))
    w = np.broadcast_to(lv.edge_w[None, :, None], keep.shape).copy()
    served = at_home = need = kx = a = pos = importer = None
    if ep.any_stop:
        stopped = ep.stopped.take(edges, axis=1) & ~back_e
        keep = np.where(stopped, ep.keep_e.take(edges, axis=1) * keep, keep)
        if lv.cons.size:  # rows of countries without supply rows here count too: importers
            active = ep.in_row.take(lv.cons, axis=1) & ~back[lv.cons_pos][None, :, None]
            ce, row = lv.cons_edges, lv.cons_edge_row
            st_ce = stopped.take(ce, axis=1)
            wc = lv.edge_w[ce][None, :, None]
            e = edges[ce][:, None]
            ks = site_class[e[:, 0]]
            home = (ep.survive[ks, e, cols[None, :]] * ep.keep_e[ks, e, cols[None, :]])[None]
            p0 = np.zeros((k, len(lv.cons), n))
            np.add.at(p0, (slice(None), row, slice(None)), np.where(st_ce, wc, 0.0))
            need = c.j_share[lv.cons][None, :, None]
            kx = ep.keep_row.take(lv.cons, axis=1)
            a = p0 - need
            pos = a > EPS
            served = st_ce & active.take(row, axis=1)
            share = np.divide(a.take(row, axis=1) * wc, p0.take(row, axis=1),
                              out=np.zeros_like(st_ce, dtype=float), where=pos.take(row, axis=1))
            w[:, ce, :] = np.where(served, share, w.take(ce, axis=1))
            at_home = np.where(st_ce, wc * home, 0.0)
            importer = active & ~pos
    rest = np.broadcast_to(lv.rest[None, :, None], (k, len(lv.comps), n))
    total = rest.copy()
    if n_e:
        total[:, lv.supplied, :] += np.add.reduceat(w, lv.edge_starts, axis=1)
    demand = total.copy()
    if importer is not None:  # an importing stopping country's normal draw
        np.add.at(demand, (slice(None), lv.cons_pos, slice(None)), np.where(importer, a, 0.0))
    ok = (total > EPS) & (demand > EPS)
    safe = np.where(ok, total, 1.0)
    demand = np.where(ok, demand, 1.0)
    weight = np.concatenate([w / safe.take(lv.edge_pos, axis=1), np.where(ok, rest / safe, 0.0)],
                            axis=1)
    weight[:, :n_e, :] *= ok.take(lv.edge_pos, axis=1)
    return _Fixed(weight, keep, served, at_home, need, kx, a, pos, importer, ok, safe / demand,
                  demand)


@dataclass(eq=False)
class _Gather:
    """The level's split restricted to the slots of its pairs with rows of their own
    (``own_dix``), as flat indices into the inputs and the fixed parts taken at them: a day's
    outputs are then one gather and a few products (constant with the disruptions)."""

    flat: np.ndarray  # (Q, N) into the inputs (K, nL, N): the row's site's class, or ROW
    flat_inp: np.ndarray  # (Q, N) the same into the slots' inputs (K, nE + nL, N)
    keep: np.ndarray  # (K, Q, N) what the disruptions leave (1 for the rest)
    cut: np.ndarray  # (K, Q, N) the component's own cut
    pos: np.ndarray  # (Q,) position of each slot's component in the level
    flat_ce: np.ndarray | None  # (nCE, N) the consumption edges' inputs, as ``flat``
    flat_inp_ce: np.ndarray | None
    served: np.ndarray | None  # (K, Q, N) the slot is a stopping country's group
    row: np.ndarray | None  # (Q,) its consumption row (0 elsewhere)
    scale: np.ndarray | None  # (K, Q, N) its component's weight over demand

    @classmethod
    def of(cls, lv: Level, lp: LevelPlan, fx: _Fixed, cut: np.ndarray, site_class: np.ndarray,
           k: int, n: int) -> _Gather:
        n_e, n_l = len(lv.edges), len(lv.comps)
        own = lp.own_dix
        idx = lp.memo.get("gather_idx")  # where the slots read: the same for every call
        if idx is None or idx[0] is not site_class:
            cols = np.arange(n)[None, :]
            cls_at = np.concatenate([site_class[lv.edges], np.zeros((n_l, n), dtype=np.int64)])
            pos = np.concatenate([lv.edge_pos, np.arange(n_l)])[own]
            ce = lv.cons_edges
            sc = site_class[lv.edges[ce]]
            idx = lp.memo["gather_idx"] = (
                site_class, pos, cls_at[own] * (n_l * n) + pos[:, None] * n + cols,
                cls_at[own] * ((n_e + n_l) * n) + own[:, None] * n + cols,
                sc * (n_l * n) + lv.edge_pos[ce][:, None] * n + cols,
                sc * ((n_e + n_l) * n) + ce[:, None] * n + cols)
        _, pos, flat, flat_inp, ce_flat, ce_flat_inp = idx
        keep = np.concatenate([fx.keep, np.ones((k, n_l, n))], axis=1).take(own, axis=1)
        cut_at = np.concatenate([cut.take(lv.edge_pos, axis=1), cut], axis=1).take(own, axis=1)
        flat_ce = flat_inp_ce = served = row = scale = None
        if fx.served is not None:
            ce = lv.cons_edges
            flat_ce, flat_inp_ce = ce_flat, ce_flat_inp
            at = np.zeros((k, n_e + n_l, n), dtype=bool)
            at[:, ce, :] = fx.served
            served = at.take(own, axis=1)
            row_at = np.zeros(n_e + n_l, dtype=np.int64)
            row_at[ce] = lv.cons_edge_row
            row = row_at[own]
            scale = np.concatenate([fx.scale.take(lv.edge_pos, axis=1), fx.scale],
                                   axis=1).take(own, axis=1)
        return cls(flat, flat_inp, keep, cut_at, pos, flat_ce, flat_inp_ce, served, row, scale)


def _split(lp, st, lv, x, full, bare, full_ov, bare_ov, fx: _Fixed, ga: _Gather) -> np.ndarray:
    """The level's pooled formula split by slot, at the slots of its pairs with rows of their
    own: the outputs (K, Q, N), in ``own_dix`` order."""
    k, _, n = x.shape
    # what consumers at each class get as inputs; a maker input as each slot's buyers see it
    if lp.maker_pos.size or full_ov is not None:
        inp = full.take(lp.ext, axis=1)
        if full_ov is not None:  # rows that read their firm's captive view
            inp[:, lv.ov_edges, :] = full_ov
        if lp.maker_pos.size:
            mv = x.take(lp.maker_ext, axis=1)  # read only where the component has a maker
            live = lp.memo["live_mix"]
            if live is not None:  # some rows' buyers mix the groups of a maker that hold
                wp = st.weight.take(lp.mix_slots, axis=1)
                num = np.add.reduceat(wp * st.delivered.take(lp.mix_pairs, axis=1),
                                      lp.mix_starts, axis=1)
                den = np.add.reduceat(wp, lp.mix_starts, axis=1)
                was = mv.take(lp.mix_dix, axis=1)
                mixed = np.where(den > EPS, num / np.maximum(den, EPS), was)
                mv[:, lp.mix_dix, :] = mixed if live is True else np.where(live, mixed, was)
            bare_all = bare.take(lp.ext, axis=1)
            if bare_ov is not None:
                bare_all[:, lv.ov_edges, :] = bare_ov
            inp = np.where(lp.with_maker[None, :, None], np.minimum(bare_all, mv), inp)
        src, flat, flat_ce = inp, ga.flat_inp, ga.flat_inp_ce
    else:
        src, flat, flat_ce = full, ga.flat, ga.flat_ce
    # each edge's output as its site's consumers see its inputs, the rest's as the rest of
    # the world's
    out = ga.keep * src.take(flat)[None]
    if ga.served is not None:
        made = np.zeros(fx.a.shape)
        np.add.at(made, (slice(None), lv.cons_edge_row, slice(None)),
                  fx.at_home * src.take(flat_ce)[None])
        net = fx.kx * np.maximum(0.0, made - fx.need) - np.maximum(0.0, fx.need - made)
        per = np.divide(net, fx.a, out=np.zeros_like(net), where=fx.pos)
        out = np.where(ga.served, per.take(ga.row, axis=1), out)
        # what importing stopping countries draw falls on every group: the groups serve the
        # demand left, so their outputs scale by weight over demand, less the draw
        lift = np.zeros((k, len(lv.comps), n))
        np.add.at(lift, (slice(None), lv.cons_pos, slice(None)),
                  np.where(fx.importer, net, 0.0))
        lift = np.where(fx.ok, lift / fx.demand, 0.0)
        out = out * ga.scale + lift.take(ga.pos, axis=1)
        np.maximum(out, 0.0, out=out)  # elsewhere a product of shares, never below 0
    np.minimum(out, 1.0, out=out)
    out *= ga.cut
    return out
