"""Uncertainty bands and research gaps: the model run over the ranges of its uncertain
figures (engine README 4.8).

A sparse table (``uncertainty``: ``table,key,column,low,high,source,reason``) gives a range
to some figures of the dataset: a supply or consumption share, or one of a component's
``stock_days``, ``stock_days_min``, ``ttr_days``, ``qualify_days``, ``chain_share`` and
``renewal_days``. :func:`draws` runs a scenario under many sets of those figures at once and
:func:`bands` reads off each component's 5th, 50th and 95th percentile; :func:`swings` moves
one figure at a time from its low to its high end, for :func:`semigraph.api.Network.gaps`.

Notes
-----
Each set of figures (a *draw*) is a copy of the compiled network with its own parameters:
the copies are stacked side by side as one network (copy ``k`` of component ``i`` is
component ``k * C + i``, of supply row ``e`` row ``k * E + e``) and the scenario's
disruptions hit every copy, so the day loop of :mod:`.propagation` runs all draws in one pass
(the draws are a batch dimension laid along the components). Copies never exchange supply,
so each reads exactly as a plain run of the network with that draw's figures
(:func:`with_figures`; the tests hold the two against each other).

Sampling: each ranged figure is drawn uniformly on ``[low, high]`` from a seeded
``numpy.random.Generator`` (sources give ranges, "10-20 days", without a preferred value
inside them). Shares of one component are drawn jointly: where the drawn shares and the
component's unranged known shares together exceed ``max(1, the dataset's sum of its known
shares)``, the drawn ones are scaled down in proportion until they fit (to 0 when the
unranged ones fill it already); rows with an unknown share then take an equal part of what
is left, as in the dataset. Consumption shares of one component follow the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from semigraph.engine import compiled as compiled_mod
from semigraph.engine import propagation as prop
from semigraph.engine.compiled import BUYERS, MERCHANT, Compiled, Level, compile_model
from semigraph.engine.scenario import Scenario, with_overrides
from semigraph.engine.workers import processes_for, run_parts
from semigraph.errors import ScenarioError

__all__ = ["BAND_FIELDS", "COLUMNS", "COMPONENT_COLUMNS", "PERCENTILES", "RANGE_COLUMNS",
           "Draws", "Figures", "band_columns", "bands", "draws", "figures", "ranges_of",
           "read_ranges", "sample", "scenario_figures", "swings", "upstream", "whatif_bands",
           "with_figures"]

#: The columns of the uncertainty table.
RANGE_COLUMNS = ("table", "key", "column", "low", "high", "source", "reason")
#: Component columns a range may be given for.
COMPONENT_COLUMNS = ("stock_days", "stock_days_min", "ttr_days", "qualify_days",
                     "chain_share", "renewal_days")
#: Percentiles of the bands.
PERCENTILES = (5, 50, 95)
#: What-if columns that get a band, and the evaluation field each comes from.
BAND_FIELDS = {
    "availability": "availability",
    "availability_high": "availability_high",
    "availability_tied": "availability_tied",
    "time_to_survive_days": "time_to_survive",
    "tied_short_from_day": "tied_short_from_day",
    "lost_days": "lost_days",
    "tied_lost_days": "tied_lost_days",
}
_DAYS = ("time_to_survive_days", "tied_short_from_day")
#: Columns of the gaps ranking, with their meaning.
COLUMNS = {
    "table": "table of the uncertain figure: supply, components or consumption",
    "key": "its row: component/supplier/site, component, or component/country",
    "column": "the figure: share, or a component parameter (stock_days, ttr_days, ...)",
    "value": "the dataset's value (empty: unknown)",
    "low": "low end of its range",
    "high": "high end of its range",
    "source": "source of the range",
    "figure_source": "source of the figure itself in the dataset (for a share split over "
                     "sites, the total's source and the split's; where better data would go)",
    "reason": "why the figure is uncertain",
    "headline_at_low": "the scenario's headline with the figure at its low end, every other "
                       "figure at its value",
    "headline_at_high": "the same with the figure at its high end",
    "swing": "headline_at_high - headline_at_low (ranked by its size)",
}


def band_columns() -> list[str]:
    """The band columns a what-if gains with ``uncertainty``: ``availability_p05``,
    ``availability_p50``, ``availability_p95``, then the same for each :data:`BAND_FIELDS`."""
    return [f"{name}_p{p:02d}" for name in BAND_FIELDS for p in PERCENTILES]


def read_ranges(path) -> pd.DataFrame:
    """An uncertainty table from a CSV file (the dataset's format); errors name the file,
    row and column."""
    try:
        frame = pd.read_csv(path, dtype={"table": str, "key": str, "column": str,
                                         "source": str, "reason": str})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc}") from None
    missing = [c for c in RANGE_COLUMNS if c not in frame.columns]
    if missing:
        raise ScenarioError(f"{path}, row 1: the header lacks {', '.join(missing)} (it must "
                            f"be {','.join(RANGE_COLUMNS)})")
    frame = frame[list(RANGE_COLUMNS)]
    frame.attrs["file"] = str(path)
    return frame


def ranges_of(model) -> pd.DataFrame:
    """The model's uncertainty table (``model.tables["uncertainty"]``), or an empty one."""
    frame = model.tables.get("uncertainty")
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("low", "high") else object)
                             for c in RANGE_COLUMNS})
    return frame


@dataclass(eq=False)
class Figures:
    """The ranged figures of a model, placed on its compiled arrays.

    ``frame`` holds the uncertainty rows (with the dataset's ``value`` and the ``component``
    each belongs to); ``where`` is per figure the edge, component or consumption row index
    it sets, ``what`` the parameter (``share``, ``consumption`` or a component column).
    """

    frame: pd.DataFrame
    where: np.ndarray
    what: np.ndarray
    low: np.ndarray
    high: np.ndarray
    component: np.ndarray  # compiled index of the component each figure belongs to

    def __len__(self) -> int:
        return len(self.frame)


def figures(model, ranges: pd.DataFrame | None = None, *, skip: frozenset = frozenset()
            ) -> Figures:
    """The ranged figures of ``model`` (``ranges``, default :func:`ranges_of`), each placed on
    the compiled arrays. ``skip`` names component figures ``(component, column)`` to leave
    out (an episode's own overrides). A key or column the dataset does not have is an error
    naming the row."""
    ranges = ranges_of(model) if ranges is None else ranges
    c = compile_model(model)
    edge_at = {(c.components[i], s, c.countries[x]): e for e, (i, s, x) in
               enumerate(zip(c.e_comp.tolist(), c.e_supplier, c.e_site.tolist()))}
    row_at = {(c.components[i], c.countries[x]): j for j, (i, x) in
              enumerate(zip(c.j_comp.tolist(), c.j_country.tolist()))}
    comps = model.components.set_index("id")
    sup = model.supply
    keys = list(zip(sup["component"], sup["supplier"], sup["site"]))
    shares = dict(zip(keys, sup["share"]))
    split = sup["split_source"] if "split_source" in sup else pd.Series(None, index=sup.index)
    share_src = {k: "; ".join(str(x) for x in (a, b) if isinstance(x, str) and x)
                 for k, a, b in zip(keys, sup["source"], split)}
    cons_src = dict(zip(zip(model.consumption["component"], model.consumption["country"]),
                        model.consumption["source"]))
    rows, where, what, comp = [], [], [], []
    for n, rec in enumerate(ranges.to_dict("records"), start=2):
        table, key, column = rec["table"], str(rec["key"]), rec["column"]
        place = f"{ranges.attrs.get('file', 'uncertainty.csv')}, row {n}"
        parts = key.split("/")
        if table == "supply" and column == "share" and len(parts) == 3:
            e = edge_at.get(tuple(parts))
            if e is None:
                raise ScenarioError(f"{place}, column key: no supply row {key!r}")
            value = shares[tuple(parts)]
            origin = share_src.get(tuple(parts))
            where.append(e), what.append("share"), comp.append(int(c.e_comp[e]))
        elif table == "consumption" and column == "share" and len(parts) == 2:
            j = row_at.get(tuple(parts))
            if j is None:
                raise ScenarioError(f"{place}, column key: no consumption row {key!r}")
            value = float(c.j_share[j])
            origin = cons_src.get(tuple(parts))
            where.append(j), what.append("consumption"), comp.append(int(c.j_comp[j]))
        elif table == "components" and column in COMPONENT_COLUMNS:
            if key not in c.index:
                raise ScenarioError(f"{place}, column key: no component {key!r}")
            if (key, column) in skip:
                continue
            value = comps.at[key, column]
            origin = _component_source(comps, key, column)
            where.append(c.index[key]), what.append(column), comp.append(c.index[key])
        else:
            raise ScenarioError(f"{place}, column column: {table}/{column} is not a figure "
                                "a range can be given for")
        try:
            low, high = float(rec["low"]), float(rec["high"])
        except (TypeError, ValueError):
            raise ScenarioError(f"{place}, column low/high: {rec['low']!r}..{rec['high']!r} "
                                "are not numbers") from None
        if not (np.isfinite(low) and np.isfinite(high)) or low > high or low < 0:
            raise ScenarioError(f"{place}, column low: the range {low:g}..{high:g} is not "
                                "a range of figures >= 0")
        rows.append({**{k: rec.get(k) for k in RANGE_COLUMNS},
                     "value": None if pd.isna(value) else float(value),
                     "figure_source": origin if isinstance(origin, str) and origin else None})
    frame = pd.DataFrame(rows, columns=[*RANGE_COLUMNS, "value", "figure_source"])
    return Figures(frame, np.array(where, dtype=np.int64), np.array(what, dtype=object),
                   frame["low"].to_numpy(dtype=float), frame["high"].to_numpy(dtype=float),
                   np.array(comp, dtype=np.int64))


#: Where a component's figure names its source (stock figures fall back to ``source``).
_SOURCE_OF = {"stock_days": "stock_source", "stock_days_min": "stock_source",
              "ttr_days": "source", "qualify_days": "qualify_source",
              "chain_share": "chain_share_source", "renewal_days": "renewal_source"}


def _component_source(comps: pd.DataFrame, key: str, column: str) -> str | None:
    """The source id the dataset gives for a component's figure."""
    src = comps.at[key, _SOURCE_OF[column]] if _SOURCE_OF[column] in comps else None
    if not (isinstance(src, str) and src) and column.startswith("stock"):
        src = comps.at[key, "source"]
    return src if isinstance(src, str) and src else None


def sample(figs: Figures, n: int, seed: int | None = 0) -> np.ndarray:
    """``n`` draws of every figure, uniform on its range: ``(n, figures)``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(figs.low[None, :], figs.high[None, :], size=(n, len(figs)))


@dataclass(eq=False)
class _Params:
    """The figures of the model the compiled arrays derive from, one row per draw."""

    share: np.ndarray  # (N, E) supply share (nan: unknown)
    consumption: np.ndarray  # (N, J)
    cols: dict  # component column -> (N, C), nan where unknown


def _base(model, c: Compiled) -> _Params:
    """The dataset's own figures, as one draw (read once; :func:`_params` repeats them)."""
    sup = model.supply.sort_values(["component", "supplier", "site"])
    attrs = model.components.set_index("id").reindex(list(c.components))
    return _Params(sup["share"].to_numpy(dtype=float)[None, :], c.j_share[None, :],
                   {k: attrs[k].to_numpy(dtype=float)[None, :] for k in COMPONENT_COLUMNS})


def _fit(values: np.ndarray, drawn: np.ndarray, group: np.ndarray, n_groups: int,
         cap: np.ndarray) -> np.ndarray:
    """Scale each group's drawn values down so the group's sum stays within ``cap``."""
    out = values.copy()
    for k in range(len(values)):
        v = np.nan_to_num(values[k])
        fixed = np.bincount(group, weights=np.where(drawn[k], 0.0, v), minlength=n_groups)
        free = np.bincount(group, weights=np.where(drawn[k], v, 0.0), minlength=n_groups)
        over = (fixed + free > cap + prop.EPS) & (free > 0)
        if over.any():
            scale = np.where(over, np.maximum(0.0, cap - fixed) / np.where(free > 0, free, 1),
                             1.0)
            out[k] = np.where(drawn[k], values[k] * scale[group], values[k])
    return out


def _params(c: Compiled, figs: Figures, values: np.ndarray, base: _Params) -> _Params:
    """The figures of each draw: ``values`` ``(N, figures)``, nan = the dataset's value
    (``base``, :func:`_base`)."""
    n = len(values)
    p = _Params(np.repeat(base.share, n, axis=0), np.repeat(base.consumption, n, axis=0),
                {k: np.repeat(v, n, axis=0) for k, v in base.cols.items()})
    set_ = ~np.isnan(values)
    for f in range(len(figs)):
        rows = set_[:, f]
        if not rows.any():
            continue
        w, kind = figs.where[f], figs.what[f]
        target = (p.share if kind == "share" else p.consumption if kind == "consumption"
                  else p.cols[kind])
        target[rows, w] = values[rows, f]
    for kind, arr, group in (("share", p.share, c.e_comp), ("consumption", p.consumption,
                                                             c.j_comp)):
        sel = figs.what == kind
        if not sel.any():
            continue
        drawn = np.zeros(arr.shape, dtype=bool)
        for f in np.flatnonzero(sel):
            drawn[set_[:, f], figs.where[f]] = True
        given = np.nan_to_num(base.share[0] if kind == "share" else c.j_share)
        cap = np.maximum(1.0, np.bincount(group, weights=given, minlength=c.n_components))
        arr[:] = _fit(arr, drawn, group, c.n_components, cap)
    return p


def _share_used(c: Compiled, share: np.ndarray) -> np.ndarray:
    """``share_used`` of one draw (model.build.add_share_estimates on the arrays)."""
    unknown = np.isnan(share)
    if not unknown.any():
        return share.copy()
    known = np.bincount(c.e_comp, weights=np.nan_to_num(share), minlength=c.n_components)
    count = np.bincount(c.e_comp, weights=unknown.astype(float), minlength=c.n_components)
    part = np.maximum(0.0, 1.0 - known) / np.where(count > 0, count, 1)
    return np.where(unknown, part[c.e_comp], share)


@dataclass(eq=False)
class _Derived:
    """The compiled parameter arrays of each draw, as :func:`compiled._compile` derives
    them from the figures."""

    e_share: np.ndarray
    norm: np.ndarray
    rest: np.ndarray
    stock: np.ndarray
    spread: np.ndarray
    ttr: np.ndarray
    chain: np.ndarray
    renewal: np.ndarray
    qualify: np.ndarray
    j_share: np.ndarray


def _norm_rest(c: Compiled, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and component (``share``: ``(N, E)``), what its rows' shares are divided by,
    ``max(1, their sum)``, and its unattributed rest, ``max(0, 1 - their sum)``, as
    :func:`compiled._compile` sets them."""
    total = np.stack([np.bincount(c.e_comp, weights=row, minlength=c.n_components)
                      for row in share])
    return np.maximum(1.0, total), np.maximum(0.0, 1.0 - total)


def _derive(c: Compiled, p: _Params, base_share: np.ndarray) -> _Derived:
    e_share = np.empty_like(p.share)
    for k in range(len(p.share)):
        same = np.array_equal(p.share[k], base_share, equal_nan=True)
        e_share[k] = c.e_share if same else _share_used(c, p.share[k])
    norm, rest = _norm_rest(c, e_share)
    cols = p.cols
    renewal = cols["renewal_days"]
    stock = np.where(np.isnan(renewal), np.nan_to_num(cols["stock_days"], nan=0.0), 0.0)
    low = cols["stock_days_min"]
    low = np.where(np.isnan(low), stock, np.minimum(low, stock))
    slices = (2 * np.arange(BUYERS) + 1) / BUYERS
    spread = low[:, :, None] + (stock - low)[:, :, None] * slices[None, None, :]
    ttr = np.where(np.isnan(cols["ttr_days"]), np.inf, cols["ttr_days"])
    chain = np.where(np.isnan(cols["chain_share"]), 1.0, cols["chain_share"])
    qualify = np.nan_to_num(cols["qualify_days"], nan=0.0)
    for ci in range(c.n_components):  # topological: a maker's own value is settled first
        m = c.maker[ci]
        if m >= 0 and not c.has_supply[ci]:
            unset = np.isnan(cols["qualify_days"][:, ci])
            qualify[unset, ci] = qualify[unset, m]
    return _Derived(e_share, norm, rest, stock, spread, ttr, chain, renewal, qualify,
                    p.consumption)


def _offsets(a: np.ndarray, step: int, n: int) -> np.ndarray:
    """``a`` repeated ``n`` times, copy ``k`` shifted by ``k * step``."""
    return (a[None, :] + step * np.arange(n)[:, None]).ravel().astype(np.int64)


def _stack_level(c: Compiled, lv: Level, d: _Derived) -> Level:
    n = len(d.e_share)
    nl = len(lv.comps)
    w = d.e_share[:, lv.edges] / d.norm[:, c.e_comp[lv.edges]] if len(lv.edges) else \
        np.zeros((n, 0))
    return Level(
        comps=_offsets(lv.comps, c.n_components, n),
        req_pos=_offsets(lv.req_pos, nl, n),
        inputs=_offsets(lv.inputs, c.n_components, n),
        group_starts=_offsets(lv.group_starts, len(lv.inputs), n),
        comp_group_starts=_offsets(lv.comp_group_starts, len(lv.group_starts), n),
        edges=_offsets(lv.edges, c.n_edges, n),
        edge_pos=_offsets(lv.edge_pos, nl, n),
        edge_w=w.ravel(),
        edge_starts=_offsets(lv.edge_starts, len(lv.edges), n),
        supplied=_offsets(lv.supplied, nl, n),
        rest=d.rest[:, lv.comps].ravel(),
        has_supply=np.tile(lv.has_supply, n),
        edge_site=np.tile(lv.edge_site, n),
        in_cs=d.chain[:, lv.inputs].ravel() if len(lv.inputs) else np.ones(0),
        cons=_offsets(lv.cons, len(c.j_comp), n),
        cons_pos=_offsets(lv.cons_pos, nl, n),
        cons_edges=_offsets(lv.cons_edges, len(lv.edges), n),
        cons_edge_row=_offsets(lv.cons_edge_row, len(lv.cons), n),
        ov_edges=_offsets(lv.ov_edges, len(lv.edges), n),
        ov_inputs=_offsets(lv.ov_inputs, c.n_components, n),
        ov_group_starts=_offsets(lv.ov_group_starts, len(lv.ov_inputs), n),
        ov_edge_group_starts=_offsets(lv.ov_edge_group_starts, len(lv.ov_group_starts), n),
        ov_in_cs=d.chain[:, lv.ov_inputs].ravel() if len(lv.ov_inputs) else np.ones(0),
        ov_input_comp=_offsets(lv.ov_input_comp, nl, n))


def _stack(c: Compiled, d: _Derived) -> Compiled:
    """One compiled network holding a copy of ``c`` per draw, each with its parameters."""
    n = len(d.e_share)
    nc = c.n_components
    names = tuple(f"{name}#{k}" for k in range(n) for name in c.components)
    groups = [[(g, [m + k * nc for m in members]) for g, members in c.groups[i]]
              for k in range(n) for i in range(nc)]
    return Compiled(
        components=names, index={x: i for i, x in enumerate(names)}, countries=c.countries,
        country_index=c.country_index, e_comp=_offsets(c.e_comp, nc, n),
        e_site=np.tile(c.e_site, n), e_ctrl=np.tile(c.e_ctrl, n),
        e_supplier=np.tile(c.e_supplier, n), e_share=d.e_share.ravel(),
        e_estimated=np.tile(c.e_estimated, n), e_source=np.tile(c.e_source, n),
        rest=d.rest.ravel(), has_supply=np.tile(c.has_supply, n),
        stock_days=d.stock.ravel(), ttr_days=d.ttr.ravel(), chain_share=d.chain.ravel(),
        renewal_days=d.renewal.ravel(), qualify_days=d.qualify.ravel(),
        stock_spread=d.spread.reshape(n * nc, BUYERS), stock_unknown=np.tile(c.stock_unknown, n),
        maker=np.where(np.tile(c.maker, n) >= 0, _offsets(c.maker, nc, n), -1),
        j_comp=_offsets(c.j_comp, nc, n), j_country=np.tile(c.j_country, n),
        j_share=d.j_share.ravel(), levels=[_stack_level(c, lv, d) for lv in c.levels],
        groups=groups)


@dataclass(eq=False)
class _Views:
    """How the rows of the captive views (engine README 4.5) take their shares from the real
    rows, per draw, as :func:`semigraph.engine.compiled._captive_views` sets them."""

    src: np.ndarray  # (E_sim,) the real row each simulation row copies
    comp: np.ndarray  # (E_sim,) that row's real component
    kind: np.ndarray  # (E_sim,) 0 as it is, 1 merchant view (scaled), 2 captive view
    group: np.ndarray  # (E_sim,) the captive view's (component, firm) group, -1 elsewhere
    captive: np.ndarray  # (E,) bool per real row
    row_group: np.ndarray  # (E,) each captive real row's group, -1 elsewhere
    counts: np.ndarray  # rows per group
    open_: np.ndarray  # (C,) bool: a component with captive rows whose merchant view is
    # scaled (its merchant rows and rest hold some share); the others' is every row as is
    has: np.ndarray  # (C,) bool: the component has captive rows


def _views(model, c: Compiled) -> _Views:
    cs = c.sim
    sup = model.supply.sort_values(["component", "supplier", "site"])
    cap = sup["captive"].fillna(False).astype(bool).to_numpy()
    keys: dict = {}
    row_group = np.full(c.n_edges, -1, dtype=np.int64)
    for e in np.flatnonzero(cap).tolist():
        row_group[e] = keys.setdefault((int(c.e_comp[e]), c.e_supplier[e]), len(keys))
    counts = np.bincount(row_group[cap], minlength=len(keys))
    has = np.bincount(c.e_comp[cap], minlength=c.n_components) > 0
    view_of = cs.view[cs.e_comp]
    merchant = view_of & np.array([cs.components[i].endswith(MERCHANT) for i in cs.e_comp])
    # a merchant view that holds every row as it is (all captive, nothing else left) has
    # captive rows among its own
    closed = np.zeros(c.n_components, dtype=bool)
    closed[c.e_comp[cs.edge_src[merchant & cap[cs.edge_src]]]] = True
    open_ = has & ~closed
    kind = np.where(merchant & open_[c.e_comp[cs.edge_src]], 1,
                    np.where(view_of & ~merchant, 2, 0))
    group = np.where(kind == 2, row_group[cs.edge_src], -1)
    return _Views(cs.edge_src, c.e_comp[cs.edge_src], kind, group, cap, row_group, counts,
                  open_, has)


def _view_shares(c: Compiled, v: _Views, share: np.ndarray) -> np.ndarray | None:
    """The simulation rows' shares of each draw (``share``: the real rows' shares used,
    ``(N, E)``), or None where a draw would lay the views out otherwise than the compiled
    ones (a merchant view whose rows and rest hold nothing in one and something in the
    other): such draws are run plainly."""
    out = share[:, v.src].copy()
    for k in range(len(share)):
        s = share[k]
        total = np.bincount(c.e_comp, weights=s, minlength=c.n_components)
        norm = np.maximum(1.0, total)
        rest = np.maximum(0.0, 1.0 - total)
        mer = np.bincount(c.e_comp, weights=np.where(v.captive, 0.0, s),
                          minlength=c.n_components)
        weight = mer / norm + rest
        if ((weight > prop.EPS) != v.open_)[v.has].any():
            return None
        m = v.kind == 1
        out[k, m] = s[v.src[m]] / norm[v.comp[m]] / weight[v.comp[m]]
        tot = np.bincount(v.row_group[v.captive], weights=s[v.captive],
                          minlength=len(v.counts))
        g = v.kind == 2
        grp = v.group[g]
        ok = tot[grp] > prop.EPS
        out[k, g] = np.where(ok, s[v.src[g]] / np.where(ok, tot[grp], 1.0), 1.0 / v.counts[grp])
    return out


def _derive_views(c: Compiled, d: _Derived, share: np.ndarray) -> _Derived:
    """The simulation compilation's arrays of each draw: its rows' ``share``, and the
    parameters of the real component each component (or view) is."""
    cs = c.sim
    norm, rest = _norm_rest(cs, share)
    src = cs.comp_src
    return _Derived(share, norm, rest, d.stock[:, src], d.spread[:, src, :], d.ttr[:, src],
                    d.chain[:, src], d.renewal[:, src], d.qualify[:, src], d.j_share)


def _stack_views(c: Compiled, stacked: Compiled, d: _Derived) -> Compiled:
    """The stacked simulation compilation, mapped onto the stacked real one."""
    cs = c.sim
    n = len(d.e_share)
    sim = _stack(cs, d)
    sim.real = _offsets(cs.real, cs.n_components, n)
    sim.comp_src = _offsets(cs.comp_src, c.n_components, n)
    sim.edge_src = _offsets(cs.edge_src, c.n_edges, n)
    sim.view = np.tile(cs.view, n)
    stacked.sim = sim
    return stacked


def _tile_resolved(c: Compiled, resolved: list, n: int) -> list:
    """The scenario's disruptions, hitting every copy."""
    out = []
    for r in resolved:
        edges = _offsets(r.edges, c.n_edges, n) if len(r.edges) else r.edges
        if r.component is None:
            out.append(replace(r, edges=edges))
        else:
            out += [replace(r, edges=edges if k == 0 else r.edges[:0],
                            component=r.component + k * c.n_components) for k in range(n)]
    return out


class _Stand:
    """Stands in for the model where the engine asks for the compiled stack."""

    def __init__(self, model) -> None:
        self._model = model

    def members(self, region: str):
        return self._model.members(region)


@dataclass(eq=False)
class Draws:
    """A scenario evaluated under many sets of figures.

    Each field is ``(draws, components)`` in the base network's compiled order
    (``components``); day fields hold -1 for "never". ``values`` are the figures of each
    draw (``(draws, figures)``, nan = the dataset's value).
    """

    components: tuple[str, ...]
    values: np.ndarray
    horizon: int
    fields: dict[str, np.ndarray]


def draws(model, scenario: Scenario, values: np.ndarray, figs: Figures, *,
          tied: bool = True, bounds: bool = True, step: int = 1,
          progress=None, processes: int | None = 1) -> Draws:
    """Evaluate ``scenario`` under each row of ``values`` (``(draws, figures)``; nan keeps a
    figure at its dataset value), all draws batched on the compiled engine, in passes that
    fit the memory budget, simulated ``step`` days at a time (1: day by day; a sweep passes
    its ``--step``). ``progress(done)`` is called with the draws of each pass.

    The passes run in ``processes`` worker processes forked from this one (None: one per
    core, at most four; 1, the default, in this process), each on its share of the memory
    budget. A draw's results do not depend on which pass holds it: with ``step`` 1 they are
    the same bit for bit whatever the processes."""
    if scenario.overrides:
        model = with_overrides(model, scenario.overrides)
    c = compile_model(model)
    resolved = [prop.resolve(model, c, d) for d in scenario.disruptions]
    n = len(values)
    procs = processes_for(processes, n)
    per = prop._scenario_bytes(c.sim or c, [resolved], True, len(prop._blocks(bounds, tied)),
                               False, scenario.horizon)
    size = max(1, (prop._budget() // procs) // max(1, per))
    views = _views(model, c) if c.sim is not None else None
    task = partial(_stacked_pass, model, scenario, values, figs, c, resolved, _base(model, c),
                   views, tied, bounds, step)
    size = min(size, -(-n // procs))  # every process gets a part
    parts = [(start, min(n, start + size)) for start in range(0, n, size)]
    done = run_parts(task, parts, procs, progress, size=lambda part: part[1] - part[0])
    return Draws(c.components, values, scenario.horizon,
                 {k: np.concatenate([d[k] for d in done]) for k in done[0]})


def _stacked_pass(model, scenario: Scenario, values: np.ndarray, figs: Figures, c: Compiled,
                  resolved: list, base: _Params, views: _Views | None, tied: bool,
                  bounds: bool, step: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """:func:`draws` of ``values[start:stop]``: one stacked compiled network holding a copy
    per draw, each with its figures (``base``: the dataset's, :func:`_base`; ``views``: how
    the captive views take their shares, :func:`_views`), evaluated in one pass."""
    part = values[start:stop]
    k = len(part)
    d = _derive(c, _params(c, figs, part, base), base.share[0])
    stacked = _stack(c, d)
    if views is not None:  # the captive views (engine README 4.5), from each draw's shares
        share = _view_shares(c, views, d.e_share)
        if share is None:
            return _plain_pass(model, scenario.with_(overrides=()), values, figs, c, tied,
                               bounds, step, start, stop)
        _stack_views(c, stacked, _derive_views(c, d, share))
    stand = _Stand(model)
    compiled_mod._CACHE[stand] = stacked  # the engine reads the stack as the model's
    ev = prop.evaluate_resolved(stand, (scenario,), [_tile_resolved(c, resolved, k)],
                                bounds=bounds, tied=tied, step=step)
    out = {name: getattr(ev, src)[:, 0].reshape(k, -1) for name, src in BAND_FIELDS.items()}
    out["steady_state"] = ev.steady_state[:, 0].reshape(k, -1)
    return out


def _plain_pass(model, scenario: Scenario, values: np.ndarray, figs: Figures, c: Compiled,
                tied: bool, bounds: bool, step: int, start: int,
                stop: int) -> dict[str, np.ndarray]:
    """:func:`draws` of ``values[start:stop]``, one plain run per draw, each on the model
    with the draw's figures written into its tables (:func:`with_figures`): slower; for draws
    whose captive views would be laid out otherwise than the compiled ones
    (:func:`_view_shares`)."""
    fields: dict[str, list] = {}
    for row in values[start:stop]:
        ev = prop.evaluate(with_figures(model, figs, row), scenario, bounds=bounds, tied=tied,
                           step=step)
        idx = np.array([ev.compiled.index[x] for x in c.components], dtype=np.int64)
        for name, src in BAND_FIELDS.items():
            fields.setdefault(name, []).append(getattr(ev, src)[idx, 0][None, :])
        fields.setdefault("steady_state", []).append(ev.steady_state[idx, 0][None, :])
    return {k: np.concatenate(v) for k, v in fields.items()}


def bands(result: Draws) -> pd.DataFrame:
    """Per component the 5th, 50th and 95th percentile of each field of :data:`BAND_FIELDS`
    over the draws: columns :func:`band_columns`, indexed by component.

    Availability and lost days take numpy's linear percentile; days take the draw at that
    rank (``inverted_cdf``), "never" counting as after every day, so a percentile that
    falls on "never" is empty.
    """
    out = {}
    for name in BAND_FIELDS:
        a = result.fields[name].astype(float)
        if name in _DAYS:
            a = np.where(a < 0, np.inf, a)
            q = np.percentile(a, PERCENTILES, axis=0, method="inverted_cdf")
            for p, row in zip(PERCENTILES, q):
                out[f"{name}_p{p:02d}"] = pd.array(
                    [None if not np.isfinite(v) else int(v) for v in row], dtype="Int64")
        else:
            q = np.percentile(a, PERCENTILES, axis=0)
            for p, row in zip(PERCENTILES, q):
                out[f"{name}_p{p:02d}"] = row
    return pd.DataFrame(out, index=pd.Index(result.components, name="component"))


def with_figures(model, figs: Figures, values: np.ndarray):
    """The model with one draw's figures (``values``, nan = the dataset's) written into its
    tables, shares fitted as in :func:`draws`: the plain form of one draw."""
    from semigraph.model.build import add_share_estimates

    c = compile_model(model)
    p = _params(c, figs, np.asarray(values, dtype=float)[None, :], _base(model, c))
    comps = model.components.set_index("id")
    order = list(c.components)
    for col in COMPONENT_COLUMNS:
        comps.loc[order, col] = p.cols[col][0]
    supply = model.supply.sort_values(["component", "supplier", "site"]).copy()
    supply["share"] = p.share[0]
    supply = add_share_estimates(supply, set(model.countries["id"]))
    cons = model.consumption.sort_values(["component", "country"]).copy()
    cons["share"] = p.consumption[0]
    return replace(model, components=comps.reset_index(), supply=supply.reset_index(drop=True),
                   consumption=cons.reset_index(drop=True))


def upstream(c: Compiled, products: list[int]) -> np.ndarray:
    """Bool per component: the products and every component on a path to one of them."""
    on = np.zeros(c.n_components, dtype=bool)
    todo = list(products)
    while todo:
        i = todo.pop()
        if on[i]:
            continue
        on[i] = True
        todo += [m for _, members in c.groups[i] for m in members]
    return on


def swings(model, scenario: Scenario, figs: Figures, products: list[str], *,
           progress=None, processes: int | None = None) -> pd.DataFrame:
    """One figure at a time at the low and at the high end of its range (every other at its
    value), all runs batched: the headline (the mean over ``products`` of their lowest
    daily supply, every user rationed alike) at each end and the swing, ranked by its size.
    Only figures of the products and of components on a path to them are run, in
    ``processes`` worker processes (:func:`draws`; None: one per core, at most four)."""
    c = compile_model(model)
    idx = [c.index[p] for p in products]
    on = upstream(c, idx)
    keep = np.flatnonzero(on[figs.component]) if len(figs) else np.zeros(0, dtype=np.int64)
    # a component the scenario cannot reach delivers in full whatever its figures: those
    # figures swing nothing, and are not run
    reach = prop._affected(c, [[prop.resolve(model, c, d) for d in scenario.disruptions]])
    run = keep[reach[figs.component[keep]]]
    f = len(run)
    values = np.full((2 * f, len(figs)), np.nan)
    values[2 * np.arange(f), run] = figs.low[run]
    values[2 * np.arange(f) + 1, run] = figs.high[run]
    frame = figs.frame.iloc[keep].reset_index(drop=True)
    # the headline is the pooled reading: the other two are not simulated
    base = draws(model, scenario, np.full((1, len(figs)), np.nan), figs, tied=False,
                 bounds=False)
    low = np.full(len(keep), base.fields["availability"][0, idx].mean())
    high = low.copy()
    if f:
        res = draws(model, scenario, values, figs, tied=False, bounds=False,
                    progress=progress, processes=processes)
        head = res.fields["availability"][:, idx].mean(axis=1)
        at = np.searchsorted(keep, run)
        low[at], high[at] = head[0::2], head[1::2]
    frame["headline_at_low"] = low
    frame["headline_at_high"] = high
    frame["swing"] = frame["headline_at_high"] - frame["headline_at_low"]
    frame = frame.assign(_size=frame["swing"].abs()).sort_values(
        ["_size", "table", "key", "column"], ascending=[False, True, True, True],
        kind="stable").drop(columns="_size").reset_index(drop=True)
    return frame[list(COLUMNS)]


def _skip(scenario: Scenario) -> frozenset:
    """Component figures an episode sets itself (``[[override]]``): not drawn."""
    return frozenset((o.component, key) for o in scenario.overrides for key, _ in o.values)


def scenario_figures(model, scenario: Scenario, ranges: pd.DataFrame | None = None
                     ) -> tuple[object, Figures]:
    """The model as the scenario runs it (its overrides applied) and its ranged figures."""
    run_model = with_overrides(model, scenario.overrides) if scenario.overrides else model
    return run_model, figures(run_model, ranges_of(model) if ranges is None else ranges,
                              skip=_skip(scenario))


def whatif_bands(model, scenario: Scenario, n: int, *, seed: int | None = 0,
                 ranges: pd.DataFrame | None = None, progress=None,
                 processes: int | None = None) -> tuple[pd.DataFrame, dict]:
    """:func:`bands` of ``n`` seeded draws of the scenario, and a record of how they were
    made (for a result's metadata). The draws run in ``processes`` worker processes
    (:func:`draws`; None: one per core, at most four); the bands do not depend on how many."""
    if n < 1:
        raise ScenarioError(f"uncertainty needs at least 1 draw, not {n}")
    run_model, figs = scenario_figures(model, scenario, ranges)
    values = sample(figs, n, seed)
    # without a ranged figure every draw is the plain answer: one pass gives them all
    res = draws(run_model, replace(scenario, overrides=()), values if len(figs) else values[:1],
                figs, progress=progress, processes=processes)
    if not len(figs) and progress is not None:
        progress(n - 1)
    info = {"draws": n, "seed": seed, "figures": len(figs),
            "sampling": "uniform on each range; shares of a component drawn jointly"}
    return bands(res), info
