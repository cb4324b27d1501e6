"""The model compiled to integer-indexed arrays, for batch propagation.

The networkx graph is the public model; this is an internal, cached compilation of it.
Components are numbered in topological order of ``feeds`` and grouped into levels (a
component's inputs all lie in earlier levels), so each level is computed for every scenario
at once with a handful of numpy operations.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from semigraph.errors import ScenarioError

_NONE = np.zeros(0, dtype=np.int64)

EPS = 1e-12

#: Buyers per group in the tied reading (at the midpoints of five slices of the stock spread).
BUYERS = 5

__all__ = ["BUYERS", "MAX_DEPTH", "ChainTooDeep", "Compiled", "Level", "compile_model",
           "restrict_level"]


@dataclass(eq=False)
class Level:
    """The components of one topological level and the index arrays to compute them.

    ``inputs`` lists input component indices sorted by (component, group); ``group_starts``
    marks where each requirement group begins in ``inputs`` (an ungrouped input is a group
    of one), ``comp_group_starts`` where each component with inputs begins among the groups,
    and ``req_pos`` the position (in ``comps``) of each component with inputs.
    """

    comps: np.ndarray
    req_pos: np.ndarray
    inputs: np.ndarray
    group_starts: np.ndarray
    comp_group_starts: np.ndarray
    edges: np.ndarray  # supply edges of the level's components, grouped by component
    edge_pos: np.ndarray  # position (in comps) of each edge's component (non-decreasing)
    edge_w: np.ndarray  # weight of each edge: share / max(1, sum of its component's shares)
    edge_starts: np.ndarray  # where each supplied component's edges begin
    supplied: np.ndarray  # position (in comps) of each component with edges
    rest: np.ndarray  # unattributed share of each component
    has_supply: np.ndarray  # bool per component
    edge_site: np.ndarray  # country index of each edge's site
    in_cs: np.ndarray  # chain share of each entry of ``inputs``
    cons: np.ndarray  # consumption rows of the level's components
    cons_pos: np.ndarray  # position (in comps) of each consumption row's component
    cons_edges: np.ndarray  # level edges sited in a consumption row's country
    cons_edge_row: np.ndarray  # the row (index into cons) of each of those edges
    # supply rows that read a captive view of an input (their firm's own shop, engine README
    # 4.5): positions in ``edges``, and their inputs laid out as ``inputs`` is, per such row
    ov_edges: np.ndarray = field(default_factory=lambda: _NONE)
    ov_inputs: np.ndarray = field(default_factory=lambda: _NONE)
    ov_group_starts: np.ndarray = field(default_factory=lambda: _NONE)
    ov_edge_group_starts: np.ndarray = field(default_factory=lambda: _NONE)
    ov_in_cs: np.ndarray = field(default_factory=lambda: np.ones(0))
    ov_input_comp: np.ndarray = field(default_factory=lambda: _NONE)  # position of each
    # entry's component (in comps)


@dataclass(eq=False)
class Compiled:
    components: tuple[str, ...]
    index: dict[str, int]
    countries: tuple[str, ...]
    country_index: dict[str, int]
    e_comp: np.ndarray
    e_site: np.ndarray  # country index of the producing site
    e_ctrl: np.ndarray  # country index controlling the supplier
    e_supplier: np.ndarray  # supplier ids (object array)
    e_share: np.ndarray  # share used (known or estimated)
    e_estimated: np.ndarray
    e_source: np.ndarray
    rest: np.ndarray
    has_supply: np.ndarray
    stock_days: np.ndarray  # 0 where unknown, and for capital equipment
    ttr_days: np.ndarray  # inf where unknown
    chain_share: np.ndarray  # 1 where unknown (the chain uses all of it)
    renewal_days: np.ndarray  # nan for consumables
    qualify_days: np.ndarray  # days buyers stay tied to their supplier (0: interchangeable)
    stock_spread: np.ndarray  # (C, BUYERS) the stock of the five buyers of each group
    stock_unknown: np.ndarray  # bool: stock_days unknown (read as 0) for a consumable
    maker: np.ndarray  # index of the maker input, -1 where none
    j_comp: np.ndarray  # consumption rows: component index
    j_country: np.ndarray  # consumption rows: country index
    j_share: np.ndarray  # consumption rows: share of world consumption
    levels: list[Level]
    groups: list[list[tuple[str | None, list[int]]]]  # per component: (group, input indices)
    _by: dict = field(default_factory=dict, repr=False)  # edge indices by key, built on use
    #: the compilation the simulation runs on: this one with the captive views of engine
    #: README 4.5 added (None: no captive rows, the simulation runs on this one)
    sim: Compiled | None = None
    real: np.ndarray | None = None  # (sim only) the sim index of each real component
    comp_src: np.ndarray | None = None  # (sim only) the real component of each component
    edge_src: np.ndarray | None = None  # (sim only) the real supply row each row copies
    view: np.ndarray | None = None  # (sim only) bool per component: a captive view

    def edges_by(self, what: str) -> dict:
        """Supply-edge indices (sorted) by supplier, site, controlling country or component:
        ``what`` is ``supplier``, ``site``, ``ctrl`` or ``comp``."""
        if what not in self._by:
            keys = {"supplier": self.e_supplier, "site": self.e_site, "ctrl": self.e_ctrl,
                    "comp": self.e_comp}[what]
            order = np.argsort(keys, kind="stable")
            uniq, starts = np.unique(keys[order], return_index=True)
            parts = np.split(order, starts[1:])
            self._by[what] = {k.item() if hasattr(k, "item") else k: np.sort(v)
                              for k, v in zip(uniq, parts)}
        return self._by[what]

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def n_edges(self) -> int:
        return len(self.e_comp)

    @property
    def capital(self) -> np.ndarray:
        """Bool per component: capital equipment (it has ``renewal_days``)."""
        return ~np.isnan(self.renewal_days)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compile_model(model) -> Compiled:
    """Compile ``model`` (cached per model object)."""
    hit = _CACHE.get(model)
    if hit is None:
        hit = _CACHE[model] = _compile(model)
        views = _captive_views(model)
        if views is not None:
            hit.sim = _sim(hit, *views)
    return hit


#: Suffix of the view of a component's merchant rows and unattributed rest; a captive view
#: is named ``component~firm``. ``~`` is in no valid id, so views never clash with one.
MERCHANT = "~merchant"


class _Tables:
    """The tables :func:`_compile` reads, with the captive views added."""

    def __init__(self, model, **tables) -> None:
        for name in ("components", "requires", "countries", "firms", "supply", "consumption"):
            setattr(self, name, tables.get(name, getattr(model, name)))


def _captive_views(model):
    """The model's tables with the captive views of engine README 4.5 added, and which view
    each firm's rows read, ``{(merchant view, firm): captive view}``; None without captive
    rows.

    A component ``m`` with captive rows gets a view per firm F of them (F's captive rows,
    their shares scaled to sum to 1) and a merchant view (its other rows and its
    unattributed rest, scaled to the share they hold together; all rows as they are when
    nothing else is left). Views have ``m``'s parameters and inputs and no consumption rows.
    Every requirement of ``m`` reads the merchant view; the rows of firm F read F's view
    instead (:func:`_compile`, ``sub``).
    """
    sup = model.supply
    if "captive" not in sup.columns:
        return None
    cap = sup["captive"].fillna(False).astype(bool).to_numpy()
    if not cap.any():
        return None
    share = sup["share_used"].to_numpy(dtype=float)
    comps = model.components.set_index("id", drop=False)
    new_sup, new_comps, sub, merchant = [sup], [model.components], {}, {}
    for m in sorted(set(sup["component"][cap])):
        mine = (sup["component"] == m).to_numpy()
        total = share[mine].sum()
        norm, rest = max(1.0, total), max(0.0, 1.0 - total)
        mer = mine & ~cap
        weight = share[mer].sum() / norm + rest
        mv = m + MERCHANT
        merchant[m] = mv
        if weight > EPS:
            rows = sup[mer].assign(component=mv, share_used=share[mer] / norm / weight)
        else:  # every row is captive: the others read the pooled rows
            rows = sup[mine].assign(component=mv)
        new_sup.append(rows)
        new_comps.append(comps.loc[[m]].assign(id=mv))
        for firm in sorted(set(sup["supplier"][mine & cap])):
            own = mine & cap & (sup["supplier"] == firm).to_numpy()
            tot = share[own].sum()
            cv = f"{m}~{firm}"
            scaled = share[own] / tot if tot > EPS else np.full(own.sum(), 1.0 / own.sum())
            new_sup.append(sup[own].assign(component=cv, share_used=scaled))
            new_comps.append(comps.loc[[m]].assign(id=cv))
            sub[(mv, firm)] = cv
    req = model.requires.copy()
    req["input"] = req["input"].map(lambda i: merchant.get(i, i))
    views = [req[req["component"] == m].assign(component=v)
             for m, v in [(m, v) for m in merchant
                          for v in [merchant[m]] + [cv for (mv, _), cv in sub.items()
                                                    if mv == merchant[m]]]]
    supply = pd.concat(new_sup, ignore_index=True)
    tables = _Tables(model, supply=supply, requires=pd.concat([req, *views], ignore_index=True),
                     components=pd.concat(new_comps, ignore_index=True))
    return tables, sub


def _sim(real: Compiled, tables: _Tables, sub: dict) -> Compiled:
    """The compilation with captive views, and how it maps onto the real one."""
    sim = _compile(tables, sub)
    base = [x.split("~")[0] for x in sim.components]
    sim.real = np.array([sim.index[x] for x in real.components], dtype=np.int64)
    sim.comp_src = np.array([real.index[b] for b in base], dtype=np.int64)
    sim.view = np.array(["~" in x for x in sim.components])
    key = {(real.components[real.e_comp[e]], real.e_supplier[e], real.e_site[e]): e
           for e in range(real.n_edges)}
    sim.edge_src = np.array([key[(base[sim.e_comp[e]], sim.e_supplier[e], sim.e_site[e])]
                             for e in range(sim.n_edges)], dtype=np.int64)
    return sim


#: Most levels (components in the longest requirement chain) the engine simulates: each day
#: walks the levels one at a time, so a chain thousands deep costs minutes per what-if.
MAX_DEPTH = 200


class ChainTooDeep(ScenarioError):
    """A dataset's requirement chains are deeper than :data:`MAX_DEPTH` levels."""


def topological_generations(nodes, sources, targets) -> list[list[str]]:
    """Nodes in generations (each sorted): a node's predecessors all lie in earlier ones.

    Kahn's algorithm a generation at a time; the edges must form no cycle (validation
    rejects one, naming it)."""
    nodes = sorted(set(nodes))
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    indeg = dict.fromkeys(nodes, 0)
    for a, b in set(zip(sources, targets)):
        succ[a].append(b)
        indeg[b] += 1
    current = [n for n in nodes if indeg[n] == 0]
    out, seen = [], 0
    while current:
        out.append(sorted(current))
        seen += len(current)
        nxt = []
        for n in current:
            for m in succ[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    nxt.append(m)
        current = nxt
    if seen != len(nodes):
        raise ValueError("requires has a cycle")
    return out


def _compile(model, sub: dict | None = None) -> Compiled:
    comps = model.components
    generations = topological_generations(comps["id"], model.requires["input"],
                                          model.requires["component"])
    if len(generations) > MAX_DEPTH:  # every day walks the levels one by one
        raise ChainTooDeep(
            f"requirement chains run {len(generations):,} levels deep (component "
            f"{generations[-1][0]} is at the end of one), deeper than the limit of {MAX_DEPTH}: "
            "the simulation walks them one level at a time each day; semigraph validate "
            "names the requires row")
    order = [c for g in generations for c in g]
    index = {c: i for i, c in enumerate(order)}
    countries = tuple(sorted(model.countries["id"]))
    cidx = {c: i for i, c in enumerate(countries)}
    ctrl_of = dict(zip(model.firms["id"], model.firms["controlled_by"]))

    sup = model.supply.sort_values(["component", "supplier", "site"]).reset_index(drop=True)
    e_comp = np.array([index[c] for c in sup["component"]], dtype=np.int64)
    e_site = np.array([cidx[s] for s in sup["site"]], dtype=np.int64)
    e_ctrl = np.array([cidx[ctrl_of.get(s, s)] for s in sup["supplier"]], dtype=np.int64)
    e_share = sup["share_used"].to_numpy(dtype=float)
    n = len(order)
    total = np.bincount(e_comp, weights=e_share, minlength=n)
    norm = np.maximum(1.0, total)
    rest = np.maximum(0.0, 1.0 - total)
    has_supply = np.bincount(e_comp, minlength=n) > 0

    attrs = comps.set_index("id").reindex(order)
    stock = attrs["stock_days"].to_numpy(dtype=float)
    ttr = attrs["ttr_days"].to_numpy(dtype=float)
    chain = attrs["chain_share"].to_numpy(dtype=float)
    chain = np.where(np.isnan(chain), 1.0, chain)
    renewal = attrs["renewal_days"].to_numpy(dtype=float)
    unknown = np.isnan(stock) & np.isnan(renewal)
    stock = np.where(np.isnan(renewal), np.nan_to_num(stock, nan=0.0), 0.0)
    low = attrs["stock_days_min"].to_numpy(dtype=float)
    low = np.where(np.isnan(low), stock, np.minimum(low, stock))
    slices = (2 * np.arange(BUYERS) + 1) / BUYERS  # midpoints of equal slices, mean 1
    spread = low[:, None] + (stock - low)[:, None] * slices[None, :]
    maker = np.full(len(order), -1, dtype=np.int64)
    marked = model.requires[model.requires["maker"].fillna(False).astype(bool)]
    for comp, inp in zip(marked["component"], marked["input"]):
        maker[index[comp]] = index[inp]
    qualify = np.nan_to_num(attrs["qualify_days"].to_numpy(dtype=float), nan=0.0)
    for ci in range(len(order)):  # topological: a maker's own value is settled first
        m = maker[ci]
        if m >= 0 and np.isnan(attrs["qualify_days"].iloc[ci]) and not has_supply[ci]:
            qualify[ci] = qualify[m]
    cons = model.consumption.sort_values(["component", "country"])
    j_comp = np.array([index[c] for c in cons["component"]], dtype=np.int64)
    j_country = np.array([cidx[c] for c in cons["country"]], dtype=np.int64)
    j_share = cons["share"].to_numpy(dtype=float)

    groups: list[list[tuple[str | None, list[int]]]] = [[] for _ in order]
    by_comp: dict[int, dict] = {}
    req = model.requires.sort_values(["component", "input"])
    for comp, inp, grp in zip(req["component"], req["input"], req["group"]):
        key = ("g", grp) if isinstance(grp, str) and grp else ("i", inp)
        by_comp.setdefault(index[comp], {}).setdefault(key, []).append(index[inp])
    for ci, gmap in by_comp.items():
        groups[ci] = [(k[1] if k[0] == "g" else None, sorted(v)) for k, v in sorted(gmap.items())]

    sub_i = {(index[mv], firm): index[cv] for (mv, firm), cv in (sub or {}).items()}
    levels = []
    for gen in generations:
        ids = np.array([index[c] for c in gen], dtype=np.int64)
        req_pos, inputs, group_starts, comp_group_starts = [], [], [], []
        for pos, ci in enumerate(ids):
            if not groups[ci]:
                continue
            req_pos.append(pos)
            comp_group_starts.append(len(group_starts))
            for _, members in groups[ci]:
                group_starts.append(len(inputs))
                inputs.extend(members)
        in_level = np.isin(e_comp, ids)
        edges = np.flatnonzero(in_level)
        pos_of = {int(ci): p for p, ci in enumerate(ids)}
        edge_pos = np.array([pos_of[int(e_comp[e])] for e in edges], dtype=np.int64)
        grouped = np.argsort(edge_pos, kind="stable")  # each component's edges together
        edges, edge_pos = edges[grouped], edge_pos[grouped]
        edge_w = e_share[edges] / norm[e_comp[edges]] if len(edges) else np.zeros(0)
        supplied, edge_starts = np.unique(edge_pos, return_index=True)
        rows = np.flatnonzero(np.isin(j_comp, ids))
        cons_pos = np.array([pos_of[int(j_comp[j])] for j in rows], dtype=np.int64)
        cons_edges, cons_edge_row = [], []
        for r, j in enumerate(rows):
            match = np.flatnonzero((e_comp[edges] == j_comp[j]) & (e_site[edges] == j_country[j]))
            cons_edges += match.tolist()
            cons_edge_row += [r] * len(match)
        inputs_arr = np.array(inputs, dtype=np.int64)
        ov = _overrides(sub_i, groups, edges, edge_pos, e_comp, sup["supplier"].to_numpy(),
                        chain)
        levels.append(Level(
            comps=ids, req_pos=np.array(req_pos, dtype=np.int64), inputs=inputs_arr,
            group_starts=np.array(group_starts, dtype=np.int64),
            comp_group_starts=np.array(comp_group_starts, dtype=np.int64),
            edges=edges, edge_pos=edge_pos, edge_w=edge_w, edge_starts=edge_starts,
            supplied=supplied, rest=rest[ids], has_supply=has_supply[ids],
            edge_site=e_site[edges],
            in_cs=chain[inputs_arr] if len(inputs_arr) else np.ones(0), cons=rows,
            cons_pos=cons_pos, cons_edges=np.array(cons_edges, dtype=np.int64),
            cons_edge_row=np.array(cons_edge_row, dtype=np.int64), **ov))

    return Compiled(
        components=tuple(order), index=index, countries=countries, country_index=cidx,
        e_comp=e_comp, e_site=e_site, e_ctrl=e_ctrl,
        e_supplier=sup["supplier"].to_numpy(dtype=object), e_share=e_share,
        e_estimated=sup["share_estimated"].to_numpy(dtype=bool),
        e_source=sup["source"].to_numpy(dtype=object), rest=rest, has_supply=has_supply,
        stock_days=stock, ttr_days=np.where(np.isnan(ttr), np.inf, ttr), chain_share=chain,
        renewal_days=renewal, qualify_days=qualify, stock_spread=spread,
        stock_unknown=unknown, maker=maker, j_comp=j_comp, j_country=j_country, j_share=j_share,
        levels=levels, groups=groups)


def _overrides(sub: dict, groups, edges, edge_pos, e_comp, supplier, chain) -> dict:
    """The level's supply rows whose firm has a captive view of one of their component's
    inputs, and their inputs with the view in place of the merchant one (Level ``ov_*``)."""
    if not sub:
        return {}
    firms = {f for _, f in sub}
    ov_edges, inputs, group_starts, edge_group_starts, input_comp = [], [], [], [], []
    for j, e in enumerate(edges.tolist()):
        firm = supplier[e]
        gs = groups[e_comp[e]]
        if firm not in firms or not any((i, firm) in sub for _, m in gs for i in m):
            continue
        ov_edges.append(j)
        edge_group_starts.append(len(group_starts))
        for _, members in gs:
            group_starts.append(len(inputs))
            inputs += [sub.get((i, firm), i) for i in members]
            input_comp += [int(edge_pos[j])] * len(members)
    if not ov_edges:
        return {}
    ints = lambda a: np.array(a, dtype=np.int64)  # noqa: E731
    return {"ov_edges": ints(ov_edges), "ov_inputs": ints(inputs),
            "ov_group_starts": ints(group_starts),
            "ov_edge_group_starts": ints(edge_group_starts),
            "ov_in_cs": chain[ints(inputs)], "ov_input_comp": ints(input_comp)}


def _nested(keep: np.ndarray, group_of: np.ndarray, n_groups: int, input_of: np.ndarray,
            n_inputs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which groups and inputs stay when only the owners ``keep`` marks stay, and the new
    starts: owners hold runs of groups starting at ``group_of``, groups runs of inputs
    starting at ``input_of``. Returns (keep inputs, new group starts, new input starts)."""
    groups_per = np.diff(np.append(group_of, n_groups))
    keep_g = np.repeat(keep, groups_per)
    inputs_per = np.diff(np.append(input_of, n_inputs))
    keep_i = np.repeat(keep_g, inputs_per)
    sizes, counts = inputs_per[keep_g], groups_per[keep]
    return keep_i, np.cumsum(counts) - counts, np.cumsum(sizes) - sizes


def restrict_level(level: Level, keep: np.ndarray) -> Level:
    """The level with only the components at the positions ``keep`` marks (bool per
    component of the level), its index arrays renumbered."""
    if keep.all():
        return level
    newpos = np.cumsum(keep) - 1
    keep_r = keep[level.req_pos]
    keep_i, comp_group_starts, group_starts = _nested(
        keep_r, level.comp_group_starts, len(level.group_starts), level.group_starts,
        len(level.inputs))
    keep_e = keep[level.edge_pos]
    edge_pos = newpos[level.edge_pos[keep_e]]
    supplied, edge_starts = np.unique(edge_pos, return_index=True)
    keep_c = keep[level.cons_pos]
    ce = keep_e[level.cons_edges]
    ov = {}
    if level.ov_edges.size:
        keep_ov = keep_e[level.ov_edges]
        keep_oi, ov_edge_group_starts, ov_group_starts = _nested(
            keep_ov, level.ov_edge_group_starts, len(level.ov_group_starts),
            level.ov_group_starts, len(level.ov_inputs))
        ov = {"ov_edges": (np.cumsum(keep_e) - 1)[level.ov_edges[keep_ov]],
              "ov_inputs": level.ov_inputs[keep_oi],
              "ov_group_starts": ov_group_starts,
              "ov_edge_group_starts": ov_edge_group_starts,
              "ov_in_cs": level.ov_in_cs[keep_oi],
              "ov_input_comp": newpos[level.ov_input_comp[keep_oi]]}
    return Level(
        comps=level.comps[keep], req_pos=newpos[level.req_pos[keep_r]],
        inputs=level.inputs[keep_i], group_starts=group_starts,
        comp_group_starts=comp_group_starts, edges=level.edges[keep_e],
        edge_pos=edge_pos, edge_w=level.edge_w[keep_e], edge_starts=edge_starts,
        supplied=supplied, rest=level.rest[keep], has_supply=level.has_supply[keep],
        edge_site=level.edge_site[keep_e], in_cs=level.in_cs[keep_i], cons=level.cons[keep_c],
        cons_pos=newpos[level.cons_pos[keep_c]],
        cons_edges=(np.cumsum(keep_e) - 1)[level.cons_edges[ce]],
        cons_edge_row=(np.cumsum(keep_c) - 1)[level.cons_edge_row[ce]], **ov)
