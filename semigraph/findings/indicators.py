"""The indicator sheet of raw materials and key components, seen from one country or bloc.

One row per component, with the concentration of world supply, its governance-weighted form,
the concentration of the perspective's sources, the EU Critical Raw Materials Act benchmark,
the component's status on the EU list, the EU 2023 assessment's own figures, stock cover and
what depends on it downstream.

Columns of :func:`indicators` (:data:`COLUMNS`; shares are fractions 0..1):

==============================  =========  ==================================================
column                          dtype      meaning
==============================  =========  ==================================================
``component``                   object     component id
``name``                        object     component name
``kind``                        object     ``raw_material``, ``material``, ... (schema enum)
``stage``                       object     value-chain stage
``hhi``                         float64    Herfindahl-Hirschman index of the production-site
                                           countries' shares of world supply, 0..10,000;
                                           NaN without supply rows
``top_country``                 object     country with the largest share (None without)
``top_share``                   float64    its share of world supply
``hhi_wgi``                     float64    governance-weighted HHI, 0..10 (see Notes); NaN
                                           when no producing country has a known ``wgi``
``wgi_coverage``                float64    share of world supply whose country has a known
                                           ``wgi`` (what ``hhi_wgi`` rests on)
``import_concentration``        float64    HHI (0..10,000) of the perspective's sources: the
                                           shares of countries outside the perspective,
                                           renormalised (see Notes); NaN when no producer
                                           outside the perspective is known
``largest_third_country``       object     largest producer outside the CRMA bloc (EU27 for
                                           an EU member or the EU itself; see Notes); None
                                           when no producer outside it is known
``largest_third_country_share`` float64    its share of the bloc's consumption (see Notes):
                                           0 when nothing comes from outside
``crma_65_exceeded``            bool       that share is above 65% (the CRMA benchmark)
``import_reliance``             float64    the bloc's net imports over its consumption,
                                           0..1 (its own production serves it first)
``consumption_known``           bool       the bloc's consumption is in the dataset; where
                                           not, it is taken to source from every producer
                                           in proportion to world supply, its own included
``eu_crm_status``               object     ``strategic``, ``critical`` or ``none`` on the EU
                                           2023 list (Regulation (EU) 2024/1252 Annexes I
                                           and II), from ``semigraph/data/eu_crm_list.csv``
``eu_supply_risk``              float64    supply risk (SR) of the EU 2023 criticality
                                           assessment (see Notes); NaN where the component
                                           was not assessed or the figure is not given
``eu_economic_importance``      float64    economic importance (EI) of that assessment; NaN
                                           likewise
``eu_eol_rir``                  float64    its end-of-life recycling input rate, % (0..100);
                                           NaN likewise
``eu_import_reliance``          float64    its EU import reliance, % (0..100), at the stage
                                           SR uses; NaN likewise
``stock_days``                  float64    consumers' normal stock cover, days (NaN: unknown)
``ttr_days``                    float64    time to restore lost supply, days (NaN: unknown)
``end_products``                object     end-use components downstream, sorted,
                                           ``;``-joined ('' when none)
``dutch_firms_downstream``      object     firms with ``hq`` or ``controlled_by`` NLD that
                                           supply a component downstream, sorted,
                                           ``;``-joined ('' when none)
``estimated``                   bool       a share used is an estimate (unknown share split)
``sources``                     object     source ids behind the row, sorted, ``;``-joined:
                                           the supply rows', the ``wgi`` sources of the
                                           producing countries counted, the component's
==============================  =========  ==================================================

Rows are ordered by ``hhi`` (highest first; components without supply last), then id.

The EU figures come from ``semigraph/data/eu_crm_2023_figures.csv`` (:func:`crm_figures`), one
row per assessed material the dataset models, with the columns ``material`` (as the
assessment names it), ``component`` (a component id of the bundled dataset, each once),
``supply_risk`` and ``economic_importance`` (the assessment's SR and EI scores),
``eol_rir`` and ``import_reliance`` (percentages, 0..100; import reliance at the stage SR and
EI use), ``source`` (the publication, with the table or pages, and where a figure was read
when not in the publication itself) and ``note`` (the stage, which group figure was used and
why, or other caveats). An empty cell is a figure not given for that stage, never zero; a
zero is the table's own, and the note says so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache
from importlib import resources

import pandas as pd

from semigraph.errors import UnknownUnitError
from semigraph.findings.concentration import (
    CHOKEPOINT,
    CRMA_MAX,
    governance_hhi,
    hhi,
    holder_shares,
    wgi_scaled,
)

__all__ = ["COLUMNS", "DEFAULT_KINDS", "EU_BLOC", "EU_FIGURES", "crm_figures", "crm_list",
           "downstream", "indicators", "wgi_scaled"]

#: Kinds always on the sheet; any other component joins it when it is a chokepoint by country.
DEFAULT_KINDS = ("raw_material", "material")
#: The bloc whose membership defines third countries for an EU member (CRMA Article 5).
EU_BLOC = "EU27"
#: Firms counted as Dutch: ``hq`` or ``controlled_by`` this country.
DUTCH = "NLD"

COLUMNS = {
    "component": "object", "name": "object", "kind": "object", "stage": "object",
    "hhi": "float64", "top_country": "object", "top_share": "float64",
    "hhi_wgi": "float64", "wgi_coverage": "float64",
    "import_concentration": "float64", "largest_third_country": "object",
    "largest_third_country_share": "float64", "crma_65_exceeded": "bool",
    "import_reliance": "float64", "consumption_known": "bool",
    "eu_crm_status": "object", "eu_supply_risk": "float64",
    "eu_economic_importance": "float64", "eu_eol_rir": "float64",
    "eu_import_reliance": "float64", "stock_days": "float64", "ttr_days": "float64",
    "end_products": "object", "dutch_firms_downstream": "object", "estimated": "bool",
    "sources": "object",
}


@cache
def _crm_table() -> tuple[tuple[str, str, str, str], ...]:
    text = resources.files("semigraph").joinpath("data", "eu_crm_list.csv").read_text(
        encoding="utf-8")
    return tuple((r["material"], r["component"], r["status"], r["source_url"])
                 for r in csv.DictReader(io.StringIO(text)))


def crm_list() -> pd.DataFrame:
    """The EU 2023 critical raw materials mapped to the bundled dataset's component ids.

    Columns ``material`` (as the Regulation names it), ``component``, ``status``
    (``strategic``: Annex I, which are critical too; ``critical``: Annex II only) and
    ``source_url``. Materials of the list that the dataset does not model are left out; so
    are components made from a listed material but not themselves on it (NdFeB magnets,
    tungsten hexafluoride, isostatic graphite, which is synthetic, not natural graphite).
    Indium and neon were assessed in 2023 but are not on the list.
    """
    return pd.DataFrame(list(_crm_table()),
                        columns=["material", "component", "status", "source_url"])


#: Columns of :func:`crm_figures`' numbers -> the indicator sheet's columns.
EU_FIGURES = {"supply_risk": "eu_supply_risk", "economic_importance": "eu_economic_importance",
              "eol_rir": "eu_eol_rir", "import_reliance": "eu_import_reliance"}
_FIGURE_COLUMNS = ["material", "component", *EU_FIGURES, "source", "note"]


@cache
def _figures_table() -> tuple[tuple, ...]:
    text = resources.files("semigraph").joinpath("data", "eu_crm_2023_figures.csv").read_text(
        encoding="utf-8")
    return tuple((r["material"], r["component"], *(_num(r[c] or None) for c in EU_FIGURES),
                  r["source"], r["note"])
                 for r in csv.DictReader(io.StringIO(text)))


def crm_figures() -> pd.DataFrame:
    """The EU 2023 criticality assessment's own figures for the materials the dataset models.

    Columns ``material`` (as the assessment names it), ``component``, ``supply_risk`` (SR),
    ``economic_importance`` (EI), ``eol_rir`` (end-of-life recycling input rate, %),
    ``import_reliance`` (%), ``source`` and ``note``; the four figures are floats, NaN where
    the publication gives none or it was not verified. From *Study on the critical raw
    materials for the EU 2023: final report* (European Commission, doi:10.2873/725585). Covers
    every material of :func:`crm_list` and the other assessed materials the dataset models
    (indium, neon). Where the assessment scores a group, ``note`` says which group figure
    stands for the component: rare earths take the light rare earths' figure. Components not
    assessed (high-purity quartz, synthetic graphite, helium-3) are left out. SR and EI are
    the report's Annex 4 results table as transcribed in a CC BY 4.0 collection of the EU
    assessments' figures. EOL-RIR and import reliance are the report's results table per
    material and stage as transcribed in the CritMAT repository (which names the 2023 study
    as its source); neither transcription has been checked against the report's own PDF, and
    ``source`` says which figure comes from where. The study gives import reliance per stage
    (extraction, processing); each row takes the stage its SR and EI use and ``note`` names
    it. Niobium's SR is its extraction stage's, for which the table gives no import
    reliance, so that cell is NaN (its processing stage's 100% is another stage). For silicon
    metal the results-table transcription gives SR 1.4 where Annex 4 gives 1.3; SR stays
    Annex 4's.
    """
    frame = pd.DataFrame(list(_figures_table()), columns=_FIGURE_COLUMNS)
    return frame.astype({c: "float64" for c in EU_FIGURES})


def downstream(model) -> dict[str, set[str]]:
    """Component -> every component that needs it, directly or further down the chain."""
    feeds: dict[str, set[str]] = {}
    for comp, inp in zip(model.requires["component"], model.requires["input"]):
        feeds.setdefault(inp, set()).add(comp)
    memo: dict[str, set[str]] = {}

    def walk(c: str) -> set[str]:
        if c not in memo:
            memo[c] = set()  # requires is acyclic (validated); this only guards recursion
            out: set[str] = set()
            for d in feeds.get(c, ()):
                out |= {d} | walk(d)
            memo[c] = out
        return memo[c]

    return {c: walk(c) for c in model.components["id"]}


def _third_country_bloc(model, perspective: str) -> tuple[str, ...]:
    """Countries whose supply is not a third country's for the CRMA benchmark."""
    own = model.members(perspective)
    eu = model.blocs.get(EU_BLOC)
    if eu and set(own) <= set(eu):
        return eu
    return own


def _selection(model, components: Iterable[str] | None, top: dict[str, float]) -> list[str]:
    comps = model.components
    if components is None:
        keep = comps["kind"].isin(DEFAULT_KINDS) | comps["id"].map(
            lambda c: top.get(c, 0.0) >= CHOKEPOINT)
        return sorted(comps.loc[keep, "id"])
    if isinstance(components, str):
        components = [components]
    known = set(comps["id"])
    out = []
    for c in components:
        if c not in known:
            raise UnknownUnitError(f"unknown component {c!r}"
                                   + model._did_you_mean(c, ("component",)))
        out.append(c)
    return list(dict.fromkeys(out))


def _outside_hhi(shares: pd.Series, inside: set[str], rest: float) -> tuple[float, str | None,
                                                                           float]:
    """HHI of the shares outside ``inside`` over their sum plus the unattributed rest, with the
    largest such holder and its share."""
    out = shares[~shares.index.isin(inside)]
    out = out[out > 0]
    if not len(out):  # no known outside producer: nothing to measure (or all made inside)
        return float("nan"), None, 0.0
    total = float(out.sum()) + rest
    frac = out / total
    frac = frac.sort_index().sort_values(ascending=False, kind="stable")
    return hhi(frac.to_numpy()), str(frac.index[0]), float(frac.iloc[0])


def _third_country(shares: pd.Series, bloc: set[str], rest: float,
                   use: float | None) -> tuple[str | None, float, float, bool]:
    """The largest producer outside ``bloc``, its share of the bloc's consumption, the bloc's
    import reliance, and whether its consumption ``use`` was known (see :func:`indicators`)."""
    made = float(shares[shares.index.isin(bloc)].sum())
    _, third, of_outside = _outside_hhi(shares, bloc, rest)
    outside = max(0.0, float(shares.sum()) - made + rest)
    if use is None or pd.isna(use) or use <= 0:  # proportional sourcing, own production too
        return third, of_outside * outside, outside, False
    imports = max(0.0, use - made)
    return third, imports * of_outside / use, imports / use, True


def indicators(model, *, perspective: str = "NLD",
               components: Iterable[str] | None = None) -> pd.DataFrame:
    """The indicator sheet: concentration, governance, sourcing and exposure per component.

    Parameters
    ----------
    model : Model
    perspective : str
        A country or bloc (default ``NLD``): whose sources ``import_concentration`` measures
        and, through its bloc, who counts as a third country for ``crma_65_exceeded``.
    components : iterable of str, optional
        Component ids (each once; an unknown id is an error). Default: every component of kind
        ``raw_material`` or ``material``, plus any other component that is a chokepoint by
        country (one production-site country holds at least 65% of world supply, the
        threshold of :mod:`semigraph.findings.concentration`).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS` (described in the module docstring), with those
        dtypes; ``attrs`` carry ``perspective`` and ``third_countries_outside`` (the members
        whose production is not a third country's).

    Raises
    ------
    UnknownUnitError
        An unknown perspective or component id (with a suggestion).

    Notes
    -----
    Shares are those of :func:`semigraph.findings.concentration.holder_shares` by country of
    production site (``share_used``: unknown shares take an equal part of what the known ones
    leave; a component's shares are divided by their sum where it is above 1). The part of
    world supply no row attributes is counted as fragmented: it adds nothing to an HHI.

    ``hhi_wgi`` is the governance-weighted HHI of the European Commission's criticality
    assessment: the sum over producing countries of share² x WGI scaled to 0..10, where
    ``scaled = (2.5 - wgi) * 2`` maps the World Bank's -2.5 (weakest) .. 2.5 (strongest)
    governance onto 10 (weakest) .. 0 (strongest) (European Commission, *Methodology for
    establishing the EU list of critical raw materials: guidelines*, 2017,
    doi:10.2873/769526, and the JRC background report, Blengini et al. 2017, EUR 28654 EN,
    doi:10.2760/73303; kept in *Study on the critical raw materials for the EU 2023: final
    report*, doi:10.2873/725585). Here shares are world production shares (the method's
    global-supply term); the trade parameter ``t``, the import-reliance blend with EU
    sourcing and the recycling and substitution factors of the full supply-risk score are
    left out. A country without a known ``wgi`` is left out of the sum, so ``hhi_wgi`` is
    then a lower bound and ``wgi_coverage`` says how much supply it covers. With shares as
    fractions, 0 <= ``hhi_wgi`` <= 10 x ``hhi`` / 10,000.

    ``import_concentration`` approximates the perspective's imports by world supply produced
    outside its member countries, renormalised to sum to 1 over those producers and the
    unattributed rest (which counts as fragmented imports; with no known outside producer
    the figure is NaN, unknown rather than zero): the dataset has no bilateral trade, so
    every outside producer is assumed to sell to the perspective in proportion to its world
    share.

    ``largest_third_country_share`` is the figure the CRMA benchmark speaks of: Regulation
    (EU) 2024/1252, Article 5(1)(b), asks that by 2030 no single third country provides more
    than 65% of the Union's annual consumption of each strategic raw material. For a
    perspective that is an EU member (such as NLD) or the EU itself, the bloc is ``EU27``
    (supply from another member state is intra-EU trade); for any other perspective, its
    own members. Where the bloc's consumption ``C`` is known (consumption rows of its
    members), its own production ``P`` serves it first and its net imports
    ``M = max(0, C - P)`` come from the producers outside it in proportion to their world
    shares (the unattributed rest counting as fragmented supply): a producer x outside
    provides ``M x s_x / (outside shares + rest) / C`` of its consumption, and
    ``import_reliance = M / C``. Where ``C`` is unknown the bloc is taken to source from
    every producer in proportion to world supply, its own included: x provides ``s_x`` and
    ``import_reliance`` is the share made outside it. A bloc that makes the item itself thus
    depends on no third country for what it makes. The flag is computed for every row as a
    screening figure; the benchmark binds only where ``eu_crm_status`` is ``strategic``.

    ``eu_supply_risk``, ``eu_economic_importance``, ``eu_eol_rir`` and ``eu_import_reliance``
    are the European Commission's own 2023 figures (:func:`crm_figures`), set beside
    semigraph's, not computed from the dataset, and they measure other things. The EU's
    supply risk blends the governance-weighted HHI of global supply and of the EU's actual
    sourcing countries (weighted by import reliance), each with a trade-restriction factor,
    and corrects it for end-of-life recycling and substitution, at the stage of extraction or
    processing with the higher risk; ``hhi_wgi`` is the global-supply term alone, on the
    dataset's production sites, without trade, recycling or substitution, and on a 0..10
    scale of its own. The EU's import reliance is measured on EU trade and production
    statistics for the assessment's reference years, per stage, and ``eu_import_reliance`` is
    the figure of the stage its supply risk uses (NaN where the study gives none for that
    stage); ``import_reliance`` here follows from the dataset's world shares and its
    consumption rows, a fraction 0..1 where the EU's is a percentage. Figures for a group
    (rare earths) stand for the whole group, not the component's own mix.
    """
    own = set(model.members(perspective))
    bloc = set(_third_country_bloc(model, perspective))
    shares = holder_shares(model, "country")
    shares = shares[shares["share"] > 0]
    per_comp = {k: g.set_index("holder")["share"] for k, g in shares.groupby("component")}
    estimated = set(shares.loc[shares["estimated"], "component"])
    top = {k: float(s.max()) for k, s in per_comp.items()}
    chosen = _selection(model, components, top)

    countries = model.countries.set_index("id")
    wgi = countries["wgi"].astype(float)
    known_wgi = {c: float(v) for c, v in wgi.items() if pd.notna(v)}
    wgi_source = countries["source"] if "source" in countries else pd.Series(dtype=object)
    comps = model.components.set_index("id")
    crm = {c: s for _, c, s, _ in _crm_table()}
    eu = {row[1]: dict(zip(EU_FIGURES.values(), row[2:6], strict=True))
          for row in _figures_table()}
    unassessed = dict.fromkeys(EU_FIGURES.values(), float("nan"))
    down = downstream(model)
    end_use = set(comps.index[comps["stage"] == "end_use"])
    dutch = set(model.firms.loc[(model.firms["hq"] == DUTCH)
                                | (model.firms["controlled_by"] == DUTCH), "id"])
    sup = model.supply
    dutch_makes = sup[sup["supplier"].isin(dutch)].groupby("component")["supplier"].agg(set)
    row_sources = sup.groupby("component")["source"].agg(set)
    cons = model.consumption
    bloc_use = cons[cons["country"].isin(bloc)].groupby("component")["share"].sum()

    rows = []
    for comp in chosen:
        s = per_comp.get(comp, pd.Series(dtype=float))
        rest = max(0.0, 1.0 - float(s.sum()))
        ranked = s.sort_index().sort_values(ascending=False, kind="stable")
        hw, w_cover = governance_hhi(ranked, known_wgi)
        ic = _outside_hhi(s, own, rest)[0] if len(s) else float("nan")
        third, third_share, reliance, known = _third_country(s, bloc, rest,
                                                             bloc_use.get(comp))
        below = down[comp]
        firms = set().union(*(dutch_makes.get(d, set()) for d in below)) if below else set()
        srcs = set(row_sources.get(comp, set()))
        srcs |= {wgi_source.get(c) for c in ranked.index if c in known_wgi}
        srcs.add(comps.at[comp, "source"] if "source" in comps.columns else None)
        rows.append({
            "component": comp,
            "name": comps.at[comp, "name"],
            "kind": comps.at[comp, "kind"],
            "stage": comps.at[comp, "stage"],
            "hhi": hhi(s.to_numpy()) if len(s) else float("nan"),
            "top_country": ranked.index[0] if len(ranked) else None,
            "top_share": float(ranked.iloc[0]) if len(ranked) else float("nan"),
            "hhi_wgi": hw,
            "wgi_coverage": w_cover,
            "import_concentration": ic,
            "largest_third_country": third,
            "largest_third_country_share": third_share,
            "crma_65_exceeded": bool(third_share > CRMA_MAX),
            "import_reliance": reliance,
            "consumption_known": known,
            "eu_crm_status": crm.get(comp, "none"),
            **eu.get(comp, unassessed),
            "stock_days": _num(comps.at[comp, "stock_days"]),
            "ttr_days": _num(comps.at[comp, "ttr_days"]),
            "end_products": ";".join(sorted(below & end_use)),
            "dutch_firms_downstream": ";".join(sorted(firms)),
            "estimated": comp in estimated,
            "sources": ";".join(sorted(x for x in srcs if isinstance(x, str) and x)),
        })
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype(COLUMNS)
    for col in ("top_country", "largest_third_country"):  # missing as None, not NaN
        frame[col] = frame[col].where(frame[col].notna(), None)
    frame = frame.sort_values(["hhi", "component"], ascending=[False, True],
                              na_position="last", kind="stable").reset_index(drop=True)
    frame.attrs.update(perspective=perspective,
                       third_countries_outside=EU_BLOC if bloc != own else perspective)
    return frame


def _num(value) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)
