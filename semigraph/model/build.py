"""Build the typed networkx graph from validated tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["add_share_estimates", "build_graph"]


def _clean(value):
    """Missing values become None in graph attributes (never NaN, which compares unequal)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar -> Python scalar
        return value.item()
    return value


def add_share_estimates(supply: pd.DataFrame, country_ids: set[str]) -> pd.DataFrame:
    """Add the shares the analyses use.

    ``share_used`` is ``share`` where known; a row with an unknown share takes an equal part of
    what its component's known shares leave (all rows equal when none is known), and is marked
    ``share_estimated``. Shares of a component that sum above 1 (rounding in the sources) are
    left as given: the propagation normalises them by ``max(1, sum)``.
    """
    out = supply.copy()
    out["supplier_kind"] = ["country" if s in country_ids else "firm" for s in out["supplier"]]
    out["share_estimated"] = out["share"].isna()
    used = out["share"].astype("float64")
    unknown = used.isna()
    if unknown.any():  # an equal part of what the known shares of the component leave
        by = out["component"]
        known = used.fillna(0.0).groupby(by).transform("sum")
        count = unknown.groupby(by).transform("sum")
        used = used.where(~unknown, (1.0 - known).clip(lower=0.0) / count.where(count > 0, 1))
    out["share_used"] = used
    return out


def build_graph(tables: dict[str, pd.DataFrame]) -> nx.MultiDiGraph:
    """The dataset as one ``MultiDiGraph``; edges point the way goods flow.

    Nodes carry ``kind`` (country, firm, component) and their table's columns; a component's
    own ``kind`` column (raw_material, chip, ...) is stored as ``component_kind``. Edges:
    ``supplies`` (supplier -> component, key ``supplies@SITE``), ``feeds`` (input ->
    component, key ``feeds``) and ``controls`` (country -> firm, key ``controls``). Rows are
    added in sorted order, so the graph does not depend on the row order of the files.
    """
    import networkx as nx

    g = nx.MultiDiGraph()
    for kind, table in (("country", "countries"), ("firm", "firms"), ("component", "components")):
        frame = tables[table].sort_values("id")
        for rec in frame.to_dict("records"):
            # the components table's own `kind` column would clash with the node kind
            attrs = {("component_kind" if k == "kind" else k): _clean(v)
                     for k, v in rec.items() if k != "id"}
            g.add_node(rec["id"], kind=kind, **attrs)
    supply = tables["supply"].sort_values(["component", "supplier", "site"])
    for rec in supply.to_dict("records"):
        g.add_edge(
            rec["supplier"], rec["component"], key=f"supplies@{rec['site']}", kind="supplies",
            site=rec["site"], share=_clean(rec["share"]), share_used=_clean(rec["share_used"]),
            share_estimated=bool(rec["share_estimated"]), capacity=_clean(rec["capacity"]),
            captive=bool(_clean(rec["captive"]) or False), source=_clean(rec["source"]),
        )
    requires = tables["requires"].sort_values(["component", "input"])
    for rec in requires.to_dict("records"):
        g.add_edge(rec["input"], rec["component"], key="feeds", kind="feeds",
                   group=_clean(rec["group"]), maker=bool(_clean(rec["maker"]) or False),
                   source=_clean(rec["source"]))
    firms = tables["firms"].sort_values("id")
    for fid, hq, ctrl in zip(firms["id"], firms["hq"], firms["controlled_by"]):
        g.add_edge(ctrl or hq, fid, key="controls", kind="controls")
    return g
