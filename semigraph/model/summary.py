"""A dataset in figures: counts by kind, stage and platform, sources by kind, and how much of
the supply share weight rests on publications."""

from __future__ import annotations

import pandas as pd

__all__ = ["publication_weight", "ranges", "summary"]

PUBLICATION_KINDS = ("primary", "secondary")


def publication_weight(model) -> pd.DataFrame:
    """Share weight on publications, by stage and in total.

    Columns: ``stage``, ``components``, ``supply_rows``, ``unknown_shares`` (rows without a
    share), ``share_weight`` (sum of known shares), ``on_publications`` (the share of that
    weight whose row cites a primary or secondary source), ``site_split_estimated`` (the
    part of it whose division over sites is a modelling estimate, ``split_source``). The last
    row, ``all``, is the whole dataset.
    """
    kinds = dict(zip(model.sources["id"], model.sources["kind"]))
    supply = model.supply.merge(model.components[["id", "stage"]], left_on="component",
                                right_on="id", how="left")
    share = supply["share"].fillna(0.0).astype(float)
    pub = supply["source"].map(kinds).isin(PUBLICATION_KINDS)
    split = supply["split_source"] if "split_source" in supply else pd.Series(None,
                                                                              index=supply.index)
    split_est = pub & split.notna() & ~split.map(kinds).isin(PUBLICATION_KINDS)
    frame = pd.DataFrame({"stage": supply["stage"], "share": share,
                          "pub": share.where(pub, 0.0), "split": share.where(split_est, 0.0),
                          "unknown": supply["share"].isna()})
    comps = model.components.groupby("stage").size()
    rows = []
    for stage, g in [*frame.groupby("stage", sort=False), ("all", frame)]:
        total = float(g["share"].sum())
        rows.append({
            "stage": stage,
            "components": int(comps.get(stage, 0) if stage != "all" else comps.sum()),
            "supply_rows": len(g),
            "unknown_shares": int(g["unknown"].sum()),
            "share_weight": total,
            "on_publications": float(g["pub"].sum()) / total if total else float("nan"),
            "site_split_estimated": float(g["split"].sum()) / total if total else float("nan"),
        })
    order = {s: i for i, s in enumerate(model.components["stage"].drop_duplicates())}
    out = pd.DataFrame(rows)
    return out.sort_values("stage", key=lambda s: s.map(lambda x: order.get(x, 99)),
                           kind="stable").reset_index(drop=True)


def ranges(model) -> dict:
    """How many figures rest on estimates, how many of them carry a range in
    ``uncertainty``, and the share weight on estimated supply rows (a ``source`` or a
    ``split_source`` with ``kind = estimate``) over all share weight."""
    from semigraph.model.uncertainty import estimated_figures, missing_ranges

    est = estimated_figures(model)
    kinds = dict(zip(model.sources["id"], model.sources["kind"]))
    supply = model.supply
    on_est = (supply["source"].map(kinds).eq("estimate")
              | supply["split_source"].map(kinds).eq("estimate"))
    share = supply["share"].fillna(0.0).astype(float)
    total = float(share.sum())
    return {
        "ranges": len(model.uncertainty),
        "estimated_figures": len(est),
        "estimated_figures_with_range": len(est) - len(missing_ranges(model)),
        "share_weight_on_estimates": round(float(share[on_est].sum()) / total, 4)
        if total else None,
    }


def summary(model) -> dict:
    """The dataset in figures (what ``semigraph info`` prints)."""
    comps, supply, sources = model.components, model.supply, model.sources
    by_stage = {}
    for stage, group in comps.groupby("stage", sort=True):
        ids = set(group["id"])
        by_stage[stage] = {
            "components": len(group),
            "supply_rows": int(supply["component"].isin(ids).sum()),
        }
    kinds = supply["supplier_kind"].value_counts()
    weight = publication_weight(model).set_index("stage")
    return {
        "name": model.name,
        "version": model.version,
        "title": model.meta.get("title"),
        "licence": ", ".join(lic.get("name", "") for lic in model.meta.get("licenses", []))
        or None,
        "path": str(model.path),
        "counts": {
            "countries": len(model.countries),
            "blocs": len(model.blocs),
            "firms": len(model.firms),
            "components": len(comps),
            "supply": len(supply),
            "consumption": len(model.consumption),
            "requires": len(model.requires),
            "sources": len(sources),
            "uncertainty": len(model.uncertainty),
        },
        "by_kind": {k: int(v) for k, v in comps["kind"].value_counts().sort_index().items()},
        "by_stage": by_stage,
        "by_platform": {k: int(v) for k, v in
                        comps["platform"].dropna().value_counts().sort_index().items()},
        "supply_rows_by_supplier_kind": {k: int(v) for k, v in kinds.sort_index().items()},
        "estimated_shares": int(supply["share_estimated"].sum()),
        "sources_by_kind": {k: int(v) for k, v in
                            sources["kind"].fillna("unspecified").value_counts().sort_index()
                            .items()},
        "share_weight_on_publications": round(float(weight.at["all", "on_publications"]), 4),
        "share_weight_site_split_estimated": round(
            float(weight.at["all", "site_split_estimated"]), 4),
        "uncertainty": ranges(model),
        "warnings": len(model.warnings),
    }
