"""Concentration of supply per component, against the policy benchmarks, and upstream exposure.

Columns of :func:`concentration` (one row per component with supply rows):

=========================  ====================================================================
``component``, ``name``,   the component
``stage``
``by``                     holders counted: ``country`` (production site), ``firm`` or ``bloc``
``holders``                number of holders with a positive share
``coverage``               share of world supply attributed to a holder (0..1; the rest is
                           unattributed and counted as fragmented)
``top``                    largest holder
``top_share``              its share (CR1, 0..1)
``cr1``, ``cr3``           concentration ratios: share of the largest one / three holders
``hhi``                    Herfindahl-Hirschman index, 0..10,000 (shares in percent, squared)
``effective_suppliers``    1 / sum of squared share fractions (= 10,000 / HHI)
``chokepoint``             one holder has at least the threshold (default 65%)
``us_2023_band``           US 2023 merger guidelines: ``highly concentrated`` above 1,800,
                           else ``not highly concentrated``
``eu_2004_band``           EU 2004 horizontal merger guidelines: ``low`` below 1,000,
                           ``moderate`` 1,000-2,000, ``high`` above 2,000
``crma_top_third_country`` largest producing country outside the perspective (default EU27)
``crma_share``             its share
``crma_exceeded``          above the EU Critical Raw Materials Act 2030 benchmark (at most 65%
                           of a strategic raw material from one third country)
``hhi_wgi``                governance-weighted HHI (EU critical raw materials method): sum of
                           squared country share fractions times scaled WGI (0 best .. 10
                           worst governance), over countries whose ``wgi`` is known; empty when
                           none is known
``wgi_coverage``           share of supply whose country has a known ``wgi``
``upstream_exposure``      largest share of the component's availability one country can
                           remove anywhere upstream: max over countries X of 1 - A(c | X cut)
``upstream_country``       that country
``hidden_chokepoint``      upstream exposure reaches the threshold though no direct holder does
``estimated``              a share used is an estimate (unknown shares split equally)
=========================  ====================================================================

Shares are normalised (divided by their sum) when a component's shares sum above 1. Supply
given only at country level has no known firm: at ``--by firm`` it is unattributed, and
``coverage`` says how much of the component the firm figures cover. For ``--by bloc`` a country
counts in the first bloc it lists (a country in no bloc counts on its own), so that blocs do
not overlap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from semigraph.engine.compiled import compile_model
from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.engine.units import units_at_level
from semigraph.errors import ScenarioError

__all__ = [
    "BY",
    "COLUMNS",
    "concentration",
    "dependency_matrix",
    "hhi",
    "holder_shares",
    "upstream_exposure",
]

BY = ("country", "firm", "bloc")
CHOKEPOINT = 0.65
US_2023_HIGH = 1800
EU_2004_LOW, EU_2004_HIGH = 1000, 2000
CRMA_MAX = 0.65

COLUMNS = ["component", "name", "stage", "by", "holders", "coverage", "top", "top_share", "cr1",
           "cr3", "hhi", "effective_suppliers", "chokepoint", "us_2023_band", "eu_2004_band",
           "crma_top_third_country", "crma_share", "crma_exceeded", "hhi_wgi", "wgi_coverage",
           "upstream_exposure", "upstream_country", "hidden_chokepoint", "estimated"]


def hhi(shares) -> float:
    """Herfindahl-Hirschman index on 0..10,000 of share fractions (normalised above 1)."""
    s = np.asarray([x for x in shares if x > 0], dtype=float)
    if s.sum() > 1:
        s = s / s.sum()
    return float(((100 * s) ** 2).sum())


def wgi_scaled(wgi):
    """The World Bank WGI (-2.5 weakest .. 2.5 strongest governance) rescaled as the EU
    method does, to 0 (strongest) .. 10 (weakest): ``(2.5 - wgi) * 2``.

    >>> wgi_scaled([-2.5, 0.0, 2.5]).tolist()
    [10.0, 5.0, 0.0]
    """
    return (2.5 - np.asarray(wgi, dtype=float)) * 2.0


def governance_hhi(shares: pd.Series, wgi: dict[str, float]) -> tuple[float, float]:
    """Governance-weighted HHI of the EU criticality method, ``sum(share^2 x scaled WGI)``
    over the countries (index of ``shares``) whose ``wgi`` is known, and the share of supply
    those countries cover. NaN where no country has a known ``wgi``."""
    known = shares[[c in wgi for c in shares.index]]
    if known.empty:
        return float("nan"), 0.0
    scaled = wgi_scaled([wgi[c] for c in known.index])
    return float((known.to_numpy() ** 2 * scaled).sum()), float(known.sum())


def _bloc_of(model) -> dict[str, str]:
    out = {}
    for cid, blocs in zip(model.countries["id"], model.countries["blocs"]):
        first = next((b for b in (blocs or "").split(";") if b), None)
        out[cid] = first or cid
    return out


def holder_shares(model, by: str = "country") -> pd.DataFrame:
    """Share of each holder per component: columns ``component``, ``holder``, ``share``
    (normalised where a component's shares sum above 1), ``estimated``."""
    if by not in BY:
        raise ScenarioError(f"unknown --by {by!r}; use one of {', '.join(BY)}")
    sup = model.supply
    total = sup.groupby("component")["share_used"].transform("sum")
    frame = pd.DataFrame({
        "component": sup["component"],
        "share": sup["share_used"] / np.maximum(1.0, total),
        "estimated": sup["share_estimated"].astype(bool),
    })
    if by == "country":
        frame["holder"] = sup["site"]
    elif by == "bloc":
        frame["holder"] = sup["site"].map(_bloc_of(model))
    else:
        frame["holder"] = sup["supplier"].where(sup["supplier_kind"] == "firm")
        frame = frame[frame["holder"].notna()]
    return (frame.groupby(["component", "holder"], as_index=False)
            .agg(share=("share", "sum"), estimated=("estimated", "any")))


def upstream_exposure(model, countries=None, *, mode: str = "outage") -> pd.DataFrame:
    """1 - A(component | country cut), for every component (rows) and country (columns;
    default: every country that hosts supply), each country cut in full (site scope) and
    nothing restored (the static bound, one batch of single-country scenarios).

    ``mode`` is the cut's meaning (engine README 4.3): ``"outage"`` (default) loses the
    country's supply for everyone, the world view that finds where a component's supply
    passes through one country; ``"export"`` stops its exports, seen from the rest of the
    world (the report's matrix).
    """
    if countries is None:
        countries = units_at_level(model, "country")
    countries = list(countries)
    if not countries:
        return pd.DataFrame(index=list(compile_model(model).components), columns=[],
                            dtype=float)
    ev = evaluate(model, [Scenario((Disruption(f"country:{u}", mode=mode),))
                          for u in countries], timeline=False)
    return pd.DataFrame(1.0 - ev.steady_state, index=list(ev.compiled.components),
                        columns=countries)


def _band_eu(h: float) -> str:
    if h < EU_2004_LOW:
        return "low"
    return "moderate" if h <= EU_2004_HIGH else "high"


def concentration(model, *, by: str = "country", threshold: float = CHOKEPOINT,
                  perspective: str | None = "EU27") -> pd.DataFrame:
    """Concentration of every supplied component (columns :data:`COLUMNS`).

    Rows are ranked: chokepoints first, then by HHI (highest first).

    Notes
    -----
    HHI and concentration ratios follow the US 2023 and EU 2004 merger guidelines; the
    effective number of suppliers is the inverse Simpson index. The governance-weighted HHI is
    that of the European Commission's criticality assessment (2017 method). Upstream exposure
    cuts one country at a time and propagates the loss through every requirement
    (engine README sections 4 and 5), so a component made in many places whose inputs all pass
    through one country shows that country.
    """
    if not 0 < threshold <= 1:
        raise ScenarioError(f"threshold must be in (0, 1], not {threshold}")
    if perspective == "EU27" and "EU27" not in model.blocs:
        perspective = None  # a dataset without the EU: every producer is a third country
    own = set(model.members(perspective)) if perspective else set()
    shares = holder_shares(model, by)
    by_country = holder_shares(model, "country")
    wgi = {k: float(v) for k, v in zip(model.countries["id"], model.countries["wgi"])
           if v is not None and not pd.isna(v)}
    exposure = upstream_exposure(model)
    comps = model.components.set_index("id")
    supplied = set(model.supply["component"])
    per_comp = {k: g.sort_values(["share", "holder"], ascending=[False, True])
                for k, g in shares.groupby("component")}
    per_country = {k: g.sort_values(["share", "holder"], ascending=[False, True])
                   for k, g in by_country.groupby("component")}
    rows = []
    for comp in sorted(supplied):
        g = per_comp.get(comp)
        g = g[g["share"] > 0] if g is not None else None
        gc = per_country[comp]
        gc = gc[gc["share"] > 0]
        s = g["share"].to_numpy() if g is not None else np.array([])
        known = len(s) > 0
        h = hhi(s) if known else None
        third = gc[~gc["holder"].isin(own)]
        hw, w_cover = governance_hhi(gc.set_index("holder")["share"], wgi)
        ex = exposure.loc[comp]
        top_x = ex.idxmax() if ex.max() > 0 else None
        top_share = float(s[0]) if known else None
        rows.append({
            "component": comp,
            "name": comps.at[comp, "name"],
            "stage": comps.at[comp, "stage"],
            "by": by,
            "holders": len(s),
            "coverage": float(s.sum()),
            "top": g["holder"].iloc[0] if known else None,
            "top_share": top_share,
            "cr1": top_share,
            "cr3": float(s[:3].sum()) if known else None,
            "hhi": h,
            "effective_suppliers": 10000.0 / h if h else None,
            "chokepoint": bool(known and top_share >= threshold),
            "us_2023_band": None if h is None else (
                "highly concentrated" if h > US_2023_HIGH else "not highly concentrated"),
            "eu_2004_band": None if h is None else _band_eu(h),
            "crma_top_third_country": third["holder"].iloc[0] if len(third) else None,
            "crma_share": float(third["share"].iloc[0]) if len(third) else 0.0,
            "crma_exceeded": bool(len(third) and third["share"].iloc[0] > CRMA_MAX),
            "hhi_wgi": None if np.isnan(hw) else hw,
            "wgi_coverage": w_cover,
            "upstream_exposure": float(ex.max()),
            "upstream_country": top_x,
            "hidden_chokepoint": bool(ex.max() >= threshold
                                      and not (known and top_share >= threshold)
                                      and not (len(gc) and gc["share"].iloc[0] >= threshold)),
            "estimated": bool(g["estimated"].any()) if known else False,
        })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("top_share", "cr1", "cr3", "hhi", "effective_suppliers", "hhi_wgi"):
        frame[col] = frame[col].astype(float)
    frame = frame.sort_values(["chokepoint", "hhi", "component"],
                              ascending=[False, False, True], na_position="last")
    frame = frame.reset_index(drop=True)
    frame.attrs.update(by=by, threshold=threshold, perspective=perspective or "none")
    return frame


def dependency_matrix(model, *, stage: str = "end_use", min_exposure: float = 0.0) -> pd.DataFrame:
    """End-use products (rows) x countries (columns): upstream exposure 1 - A(p | country cut).

    Columns are the countries whose cut costs some product more than ``min_exposure``, ordered
    by their largest exposure; rows are ordered by their largest exposure.
    """
    comps = model.components
    stages = set(comps["stage"])
    if stage not in stages:
        from semigraph.errors import UnknownUnitError
        from semigraph.schema import stages as all_stages

        raise UnknownUnitError(f"unknown stage {stage!r}; stages: "
                               + ", ".join(s for s in all_stages() if s in stages))
    exposure = upstream_exposure(model)
    products = sorted(comps.loc[comps["stage"] == stage, "id"])
    m = exposure.loc[products]
    m = m.loc[:, m.max(axis=0) > min_exposure]
    m = m[m.max(axis=0).sort_values(ascending=False, kind="stable").index]
    m = m.loc[m.max(axis=1).sort_values(ascending=False, kind="stable").index]
    m.index.name = "product"
    return m

