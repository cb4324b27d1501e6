"""The figures a risk map shows: availability or concentration per component, the units a
scenario cuts, single points of failure, and the product-by-country dependency matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from semigraph.engine.compiled import compile_model
from semigraph.engine.propagation import evaluate, resolve
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.findings.concentration import CHOKEPOINT, upstream_exposure

__all__ = [
    "CHOKEPOINT",
    "SPOF_THRESHOLD",
    "Risk",
    "component_risk",
    "dependency_matrix",
    "spof_suppliers",
]

#: Units evaluated together when marking single points of failure (memory stays bounded).
_UNITS_AT_ONCE = 256
#: A unit whose loss alone drives a product below this availability is a single point of
#: failure (engine README §5).
SPOF_THRESHOLD = 0.5


@dataclass(eq=False)
class Risk:
    """Per-component figures (``table``, indexed by component id) and the scenario's cuts.

    ``table`` columns: ``name``, ``stage``, ``availability`` (the lowest day, every user of
    an input rationed alike; NaN without a scenario), ``availability_high`` (the chain served
    first) and ``availability_tied`` (buyers tied to their supplier until they qualify
    another, engine README 4.5), NaN likewise, ``top_country``, ``top_share`` (share of
    world supply made in the top country; NaN where the component has no supply rows),
    ``estimated`` (a share is an estimate), ``has_supply``, ``directly_hit`` (the scenario
    cuts the component's own supply).
    ``cut_shares`` maps each disruption's unit to ``{component: share of its supply lost}``.
    """

    table: pd.DataFrame
    scenario: Scenario | None
    cut_shares: dict[str, dict[str, float]] = field(default_factory=dict)
    perspective: str = "world"


def component_risk(model, scenario: Scenario | None = None,
                   result: pd.DataFrame | None = None) -> Risk:
    """Supply concentration of every component and, under ``scenario``, its availability.

    Parameters
    ----------
    model : Model
    scenario : Scenario, optional
        The scenario whose cut units are marked.
    result : DataFrame, optional
        The scenario's what-if table (:func:`semigraph.engine.whatif.whatif`), whose
        ``availability`` colours the map (its ``availability_high`` and
        ``availability_tied`` label it beside); it is computed when not given.
    """
    comps = model.components.set_index("id")
    supply = model.supply
    by_country = supply.groupby(["component", "site"], sort=True)["share_used"].sum()
    top = by_country.groupby(level=0).idxmax()
    top_share = by_country.groupby(level=0).max()
    estimated = supply.groupby("component")["share_estimated"].any()
    table = pd.DataFrame({"name": comps["name"], "stage": comps["stage"]})
    for col in ("availability", "availability_high", "availability_tied"):
        table[col] = np.nan
    table["top_country"] = [top[c][1] if c in top.index else None for c in table.index]
    table["top_share"] = [float(top_share[c]) if c in top_share.index else np.nan
                          for c in table.index]
    table["estimated"] = [bool(estimated.get(c, False)) for c in table.index]
    table["has_supply"] = table["top_country"].notna()
    table["directly_hit"] = False
    cut_shares: dict[str, dict[str, float]] = {}
    perspective = "world"
    if scenario is not None and scenario.disruptions:
        if result is None:
            from semigraph.engine.whatif import whatif

            result = whatif(model, scenario, explain=False)
        by_id = result.set_index("component")
        for col in ("availability", "availability_high", "availability_tied"):
            table[col] = by_id[col].reindex(table.index).astype(float)
        perspective = result.attrs.get("perspective", perspective)
        c = compile_model(model)
        edge_hit = np.zeros(c.n_edges, dtype=bool)
        hit = set()
        resolved = [resolve(model, c, d) for d in scenario.disruptions]
        for r in resolved:
            edge_hit[r.edges] = True
            if r.component is not None:
                hit.add(r.component)
        hit |= set(c.e_comp[edge_hit])
        table.loc[[c.components[i] for i in sorted(hit)], "directly_hit"] = True
        for d, r in zip(scenario.disruptions, resolved):
            lost: dict[str, float] = {}
            for e in r.edges:
                cid = c.components[c.e_comp[e]]
                lost[cid] = lost.get(cid, 0.0) + float(c.e_share[e]) * d.severity
            if r.component is not None:
                lost[c.components[r.component]] = d.severity
            cut_shares[d.unit] = dict(sorted(lost.items()))
    return Risk(table=table, scenario=scenario, cut_shares=cut_shares, perspective=perspective)


def spof_suppliers(model, components, targets, *, threshold: float = SPOF_THRESHOLD,
                   countries: bool = False) -> dict[str, list[str]]:
    """Suppliers that are single points of failure, by the component they supply.

    A firm, or a country as a production site, is listed for component ``c`` when its loss
    alone drives some product in ``targets`` below ``threshold`` and drives ``c`` itself
    below it too (so the mark sits where the dependency is, not on every downstream node).
    Countries (as production sites) are candidates too with ``countries=True``.
    """
    components = [c for c in components]
    if not components or not list(targets):
        return {}
    supply = model.supply[model.supply["component"].isin(components)]
    firms = sorted(set(supply.loc[supply["supplier_kind"] == "firm", "supplier"]))
    sites = sorted(set(supply["site"]))
    index = compile_model(model).index
    firms = _may_fail(model, firms, [index[t] for t in targets], threshold)
    units = [f"firm:{f}" for f in firms] + ([f"country:{s}" for s in sites] if countries else [])
    if not units:
        return {}
    keep = sorted({index[t] for t in targets} | {index[x] for x in components})
    row_of = {ci: r for r, ci in enumerate(keep)}
    # the static bound is never above the lowest day: units it leaves above the threshold
    # everywhere are no single points of failure, and only the others are simulated; each
    # batch keeps only the rows it needs, so memory stays bounded however many units there are
    a = np.ones((len(keep), len(units)))
    t_keep = [row_of[index[t]] for t in targets]
    for start in range(0, len(units), _UNITS_AT_ONCE):
        part = units[start:start + _UNITS_AT_ONCE]
        scenarios = [Scenario((Disruption(u),)) for u in part]
        static = evaluate(model, scenarios, timeline=False).availability[keep]
        maybe = [j for j in range(len(part)) if static[t_keep, j].min() < threshold]
        if maybe:
            sim = evaluate(model, [scenarios[j] for j in maybe], bounds=False,
                           tied=False).availability
            a[:, [start + j for j in maybe]] = sim[keep]
    out: dict[str, list[str]] = {}
    for j, unit in enumerate(units):
        if a[t_keep, j].min() >= threshold:
            continue
        kind, _, uid = unit.partition(":")
        col = "supplier" if kind == "firm" else "site"
        for comp in sorted(set(supply.loc[supply[col] == uid, "component"])):
            if a[row_of[index[comp]], j] < threshold:
                out.setdefault(comp, []).append(uid)
    return out


def _may_fail(model, firms: list[str], targets: list[int], threshold: float) -> list[str]:
    """The firms whose loss alone could drive a target below ``threshold``.

    A firm's loss leaves each component ``1 - l(c)`` of its supply (``l``: the firm's weighted
    share), times the component's scarcest input, so every target keeps at least the product
    of ``1 - l(c)`` over its upstream cone (static bound, never above the lowest day). A firm
    whose product stays at or above the threshold for every target is no single point of
    failure and need not be evaluated.
    """
    c = compile_model(model)
    cones = np.zeros((len(targets), c.n_components), dtype=bool)
    for k, t in enumerate(targets):
        todo = [t]
        while todo:
            i = todo.pop()
            if not cones[k, i]:
                cones[k, i] = True
                todo += [m for _, members in c.groups[i] for m in members]
    total = np.bincount(c.e_comp, weights=c.e_share, minlength=c.n_components)
    weight = c.e_share / np.maximum(1.0, total)[c.e_comp]
    by_supplier = c.edges_by("supplier")
    out = []
    for f in firms:
        edges = by_supplier.get(f)
        if edges is None:
            continue
        comps, at = np.unique(c.e_comp[edges], return_inverse=True)
        lost = np.minimum(np.bincount(at, weights=weight[edges]), 1.0)
        with np.errstate(divide="ignore"):
            logs = np.log1p(-lost)
        left = np.exp(np.where(cones[:, comps], logs[None, :], 0.0).sum(axis=1))
        if (left < threshold + 1e-12).any():
            out.append(f)
    return out


def dependency_matrix(model, products=None, countries=None) -> pd.DataFrame:
    """Upstream exposure: ``1 - availability`` of each product when one country stops
    exports and nothing is restored (the static bound, seen from the rest of the world).

    Rows are products (default: the end-use components), columns the countries that host
    any supply (default), ordered by their largest exposure; one batch of single-country
    scenarios (engine README §5, "Upstream exposure").
    """
    comps = model.components
    if products is None:
        products = sorted(comps.loc[comps["stage"] == "end_use", "id"])
    if countries is None:
        countries = sorted(set(model.supply["site"]))
    products, countries = list(products), list(countries)
    if not products or not countries:
        return pd.DataFrame(index=pd.Index(products, name="product"),
                            columns=pd.Index(countries, name="country"), dtype=float)
    # the static bound: a structural matrix (if never restored), affordable on large data
    frame = upstream_exposure(model, countries, mode="export").loc[products].clip(lower=0.0)
    frame.index.name, frame.columns.name = "product", "country"
    order = sorted(countries, key=lambda c: (-round(float(frame[c].max()), 12),
                                             -round(float(frame[c].sum()), 12), c))
    return frame[order]
