"""The indicator sheet: hand-computed values on a small chain, the bundled dataset checked
against its own tables, and bounds that hold on random datasets."""

from __future__ import annotations

import csv
import math
from importlib import resources

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.errors import UnknownUnitError
from semigraph.findings.indicators import (
    COLUMNS,
    crm_figures,
    crm_list,
    indicators,
    wgi_scaled,
)
from tests.datasets import COUNTRIES, random_tables, small_tables, write_dataset

# governance scores of the small chain: scaled (2.5 - wgi) * 2 in the comments
WGI = {"CHN": -0.5,   # 6.0
       "USA": 1.0,    # 3.0
       "JPN": 1.25,   # 2.5
       "DEU": 1.5,    # 2.0
       "NLD": 1.75}   # 1.5; TWN unknown


def with_wgi(tables: dict) -> dict:
    for row in tables["countries"]:
        if row["id"] in WGI:
            row["wgi"] = WGI[row["id"]]
            row["source"] = "wgi-src"
    tables["sources"].append({"id": "wgi-src", "publisher": "Test", "title": "Governance",
                              "year": 2024, "kind": "primary"})
    return tables


@pytest.fixture
def model(tmp_path):
    return semigraph.load(write_dataset(tmp_path / "small", with_wgi(small_tables())))


def test_default_rows_and_order(model):
    f = indicators(model)
    # raw materials and materials, plus the chokepoints by country (chip TWN 70%, litho-a
    # NLD 100%); litho-b (JPN 50%) and car (no supply) are neither; ordered by hhi
    assert list(f["component"]) == ["litho-a", "gallium", "chip", "wafer"]
    assert list(f.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in f.dtypes.items()} == COLUMNS


def test_gallium_by_hand(model):
    g = indicators(model).set_index("component").loc["gallium"]
    assert g["hhi"] == pytest.approx(90 ** 2 + 10 ** 2)                 # 8,200
    assert (g["top_country"], g["top_share"]) == ("CHN", pytest.approx(0.9))
    assert g["hhi_wgi"] == pytest.approx(0.81 * 6.0 + 0.01 * 3.0)      # 4.89
    assert g["wgi_coverage"] == pytest.approx(1.0)
    assert g["import_concentration"] == pytest.approx(8200)            # NLD makes none
    assert (g["largest_third_country"], g["largest_third_country_share"]) == (
        "CHN", pytest.approx(0.9))
    assert g["crma_65_exceeded"]
    assert g["eu_crm_status"] == "strategic"
    assert (g["stock_days"], g["ttr_days"]) == (30.0, 200.0)
    assert g["end_products"] == "car"
    assert g["dutch_firms_downstream"] == "subsid"  # hq NLD; supplies wafer, downstream
    assert g["sources"] == "src;wgi-src"
    assert g["kind"] == "raw_material" and g["name"] == "Gallium"


def test_wafer_third_countries_are_outside_the_eu(model):
    f = indicators(model).set_index("component")
    w = f.loc["wafer"]  # JPN .6, subsid@DEU .4
    assert w["hhi"] == pytest.approx(3600 + 1600)
    assert w["hhi_wgi"] == pytest.approx(0.36 * 2.5 + 0.16 * 2.0)
    # NLD's sources: JPN and DEU as they are; the CRMA counts only JPN (DEU is in the EU)
    assert w["import_concentration"] == pytest.approx(5200)
    assert w["largest_third_country"] == "JPN"
    # no consumption rows: the EU sources like the world, Japan gives it 60%, its own
    # DEU site 40%; it relies on imports for 60%
    assert w["largest_third_country_share"] == pytest.approx(0.6)
    assert w["import_reliance"] == pytest.approx(0.6) and not w["consumption_known"]
    assert not w["crma_65_exceeded"]
    assert w["eu_crm_status"] == "none" and w["dutch_firms_downstream"] == ""
    eu = indicators(model, perspective="EU27", components=["wafer"]).iloc[0]
    assert eu["import_concentration"] == pytest.approx(10000)
    jpn = indicators(model, perspective="JPN", components=["wafer"]).iloc[0]
    assert (jpn["largest_third_country"], jpn["import_concentration"]) == ("DEU", 10000)


def test_unknown_governance_and_own_production(model):
    f = indicators(model).set_index("component")
    chip = f.loc["chip"]  # fab@TWN .7 (no wgi), fab@USA .2, rest .1
    assert chip["hhi"] == pytest.approx(4900 + 400)
    assert chip["hhi_wgi"] == pytest.approx(0.04 * 3.0)   # TWN left out: a lower bound
    assert chip["wgi_coverage"] == pytest.approx(0.2)
    assert chip["largest_third_country_share"] == pytest.approx(0.7)  # rest in denominator
    assert chip["crma_65_exceeded"]
    assert chip["stock_days"] == 0.0
    assert math.isnan(f.loc["litho-a", "stock_days"])  # capital equipment holds none
    litho = f.loc["litho-a"]  # all made in NLD: no outside source to measure
    assert math.isnan(litho["import_concentration"])
    assert litho["largest_third_country"] is None
    assert litho["largest_third_country_share"] == 0.0 and not litho["crma_65_exceeded"]
    assert litho["hhi_wgi"] == pytest.approx(1.5)


def test_chosen_components_and_errors(model):
    f = indicators(model, components=["car", "litho-b"])
    assert list(f["component"]) == ["litho-b", "car"]
    car = f.set_index("component").loc["car"]
    assert math.isnan(car["hhi"]) and car["top_country"] is None and car["sources"] == "src"
    with pytest.raises(UnknownUnitError, match=r"galium.*did you mean 'gallium'"):
        indicators(model, components=["galium"])
    with pytest.raises(UnknownUnitError, match="NDL"):
        indicators(model, perspective="NDL")


def test_wgi_scaling():
    assert wgi_scaled([-2.5, 0.0, 2.5, 1.0]).tolist() == [10.0, 5.0, 0.0, 3.0]


def test_crm_list_maps_to_dataset_components(bundled):
    table = crm_list()
    assert set(table["status"]) == {"strategic", "critical"}
    assert set(table["component"]) <= set(bundled.components["id"])
    assert table["component"].is_unique
    assert table["source_url"].str.startswith("https://eur-lex.europa.eu/").all()
    by = dict(zip(table["component"], table["status"]))
    assert by["gallium"] == by["germanium"] == by["tungsten"] == "strategic"
    assert by["metallurgical-silicon"] == by["rare-earths"] == "strategic"
    assert by["fluorspar"] == by["helium"] == "critical"
    assert "indium" not in by and "neon" not in by  # assessed in 2023, not listed
    text = resources.files("semigraph").joinpath("data", "eu_crm_list.csv").read_text("utf-8")
    assert next(csv.reader(text.splitlines())) == ["material", "component", "status",
                                                   "source_url"]


FIGURES_HEADER = ["material", "component", "supply_risk", "economic_importance", "eol_rir",
                  "import_reliance", "source", "note"]


def test_crm_figures_map_to_dataset_components_with_figures_in_range(bundled):
    table = crm_figures()
    text = resources.files("semigraph").joinpath("data", "eu_crm_2023_figures.csv").read_text(
        "utf-8")
    assert next(csv.reader(text.splitlines())) == FIGURES_HEADER
    assert list(table.columns) == FIGURES_HEADER
    assert set(table["component"]) <= set(bundled.components["id"])
    assert table["component"].is_unique
    # every listed material has its figures; indium and neon were assessed, not listed
    assert set(crm_list()["component"]) | {"indium", "neon"} <= set(table["component"])
    for col in ("supply_risk", "economic_importance", "eol_rir", "import_reliance"):
        assert str(table[col].dtype) == "float64"
    known = table[["supply_risk", "economic_importance"]].stack()
    assert (known >= 0).all()
    for col in ("eol_rir", "import_reliance"):
        rates = table[col].dropna()
        assert ((rates >= 0) & (rates <= 100)).all()
    assert table["source"].str.contains("doi:10.2873/725585", regex=False).all()
    assert (table["source"].str.strip() != "").all()
    # a figure not given is an empty cell, never a zero standing for unknown: SR and EI are
    # never zero, and a zero rate is one the note states as a zero of the table
    rows = list(csv.DictReader(text.splitlines()))
    assert all(float(r[c]) > 0 for r in rows for c in ("supply_risk", "economic_importance"))
    labels = {"eol_rir": "EOL-RIR", "import_reliance": "import reliance"}
    for r in rows:
        for col, label in labels.items():
            if r[col] == "":
                continue
            # the note states every rate the row carries, in the same words
            assert f"{label} {float(r[col]):g}%" in r["note"], (r["component"], col)
            if float(r[col]) == 0:
                assert f"{label} 0% (a stated zero" in r["note"] or (
                    f"{label} 0% (processing; a stated zero" in r["note"]), r["component"]
    # a group figure says which group it is
    ree = table.set_index("component").loc["rare-earths"]
    assert "light rare earth" in ree["material"].lower() and ree["note"]


def test_crm_figures_rates_as_read_for_the_stage_of_supply_risk():
    """EOL-RIR and import reliance as the 2023 study's results table gives them, each at the
    stage the row's SR and EI use (a transcription of the table, cited in ``source``)."""
    t = crm_figures().set_index("component")
    want = {  # component: (EOL-RIR %, import reliance % at SR's stage, that stage)
        "fluorspar": (1, 60, "extraction"), "gallium": (0, 98, "processing"),
        "germanium": (2, 42, "processing"), "helium": (2, 94, "processing"),
        "indium": (1, 11, "processing"), "neon": (0, 0, "processing"),
        "rare-earths": (1, 100, "processing"), "metallurgical-silicon": (0, 64, "processing"),
        "tungsten": (42, 80, "processing"),
    }
    for comp, (eol, reliance, stage) in want.items():
        row = t.loc[comp]
        assert (row["eol_rir"], row["import_reliance"]) == (eol, reliance), comp
        assert f"import reliance {reliance}% ({stage}" in row["note"], comp
        assert "CritMAT" in row["source"] and "2023" in row["source"], comp
    # niobium's SR is its extraction stage's, where the table gives no import reliance: left
    # empty rather than filled with the processing stage's 100%
    nb = t.loc["niobium"]
    assert nb["eol_rir"] == 0 and math.isnan(nb["import_reliance"])
    assert "extraction" in nb["note"] and "100%" in nb["note"]
    # tungsten's extraction stage (21%) is not the figure used
    assert t.at["tungsten", "import_reliance"] != 21


def test_sheet_carries_the_eu_figures(bundled):
    f = indicators(bundled, components=["gallium", "rare-earths", "hp-quartz"])
    f = f.set_index("component")
    figures = crm_figures().set_index("component")
    g = f.loc["gallium"]
    assert math.isfinite(g["eu_supply_risk"]) and math.isfinite(g["eu_economic_importance"])
    assert g["eu_supply_risk"] == figures.at["gallium", "supply_risk"]
    assert g["eu_economic_importance"] == figures.at["gallium", "economic_importance"]
    for col, src in (("eu_eol_rir", "eol_rir"), ("eu_import_reliance", "import_reliance")):
        want = figures.at["gallium", src]
        assert (math.isnan(g[col]) and math.isnan(want)) or g[col] == want
    assert f.at["rare-earths", "eu_supply_risk"] == figures.at["rare-earths", "supply_risk"]
    # high-purity quartz was not assessed (silica sand is another commodity)
    q = f.loc["hp-quartz"]
    assert all(math.isnan(q[c]) for c in ("eu_supply_risk", "eu_economic_importance",
                                          "eu_eol_rir", "eu_import_reliance"))


def test_bundled_against_its_own_tables(bundled):
    f = indicators(bundled).set_index("component")
    sup = bundled.supply
    wgi = bundled.countries.set_index("id")["wgi"]
    for comp in ("gallium", "germanium", "tungsten", "neon"):
        rows = sup[sup["component"] == comp]
        by_site = rows.groupby("site")["share_used"].sum()
        by_site = by_site / max(1.0, by_site.sum())
        by_site = by_site[by_site > 0]
        assert f.at[comp, "hhi"] == pytest.approx(((100 * by_site) ** 2).sum())
        assert f.at[comp, "top_country"] == by_site.idxmax()
        known = by_site[wgi.reindex(by_site.index).notna()]
        expect = (known ** 2 * (2.5 - wgi[known.index].astype(float)) * 2).sum()
        assert f.at[comp, "hhi_wgi"] == pytest.approx(expect)
        eu = bundled.members("EU27")
        outside = by_site[~by_site.index.isin(eu)]
        made = by_site[by_site.index.isin(eu)].sum()
        total = outside.sum() + max(0.0, 1 - by_site.sum())
        cons = bundled.consumption
        use = cons[(cons["component"] == comp) & cons["country"].isin(eu)]["share"].sum()
        # the EU's own production first, then imports in world proportions
        expect = (max(0.0, use - made) * outside.max() / total / use if use > 0
                  else outside.max())
        assert f.at[comp, "largest_third_country_share"] == pytest.approx(expect)
        assert set(rows["source"]) <= set(f.at[comp, "sources"].split(";"))
    g = f.loc["gallium"]
    assert g["top_country"] == "CHN" and g["crma_65_exceeded"]
    assert g["eu_crm_status"] == "strategic"
    assert "smartphone" in g["end_products"].split(";")
    assert f.loc["euv-scanner", "kind"] == "equipment"  # a chokepoint that is no material
    dutch = set(bundled.firms.loc[(bundled.firms["hq"] == "NLD")
                                  | (bundled.firms["controlled_by"] == "NLD"), "id"])
    for cell in f["dutch_firms_downstream"]:
        assert set(filter(None, cell.split(";"))) <= dutch


SETTINGS = {"deadline": None, "max_examples": 25,
            "suppress_health_check": [HealthCheck.too_slow,
                                      HealthCheck.function_scoped_fixture]}


@settings(**SETTINGS)
@given(tables=random_tables(),
       wgi=st.lists(st.one_of(st.none(), st.floats(-2.5, 2.5)), min_size=len(COUNTRIES),
                    max_size=len(COUNTRIES)),
       perspective=st.sampled_from(["NLD", "USA", "EU27", "G7"]))
def test_bounds_on_random_datasets(tmp_path_factory, tables, wgi, perspective):
    """What holds for every row with supply:

    - 10,000 x top_share² <= hhi <= 10,000, and hhi >= 10,000 / holders when the shares
      cover all of world supply (the unattributed rest lowers it otherwise);
    - 0 <= hhi_wgi <= 10 x hhi / 10,000 (scaled WGI is at most 10 and countries without one
      are left out), with equality at the top when every country has the weakest score;
    - import concentration and the third-country share are an HHI and a share.
    """
    for row, value in zip(tables["countries"], wgi):
        row["wgi"] = value
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("ind"), tables))
    f = indicators(model, perspective=perspective, components=list(model.components["id"]))
    shares = model.supply.groupby("component")["share_used"].sum()
    holders = model.supply[model.supply["share_used"] > 0].groupby("component")["site"].nunique()
    for r in f.itertuples(index=False):
        if pd.isna(r.hhi):
            assert r.component not in holders.index
            continue
        assert 10000 * r.top_share ** 2 - 1e-6 <= r.hhi <= 10000 + 1e-6
        if shares[r.component] >= 1 - 1e-12:
            assert r.hhi >= 10000 / holders[r.component] - 1e-6
        if not pd.isna(r.hhi_wgi):
            assert -1e-12 <= r.hhi_wgi <= 10 * r.hhi / 10000 + 1e-9
        assert 0 <= r.wgi_coverage <= 1 + 1e-9
        assert 0 <= r.largest_third_country_share <= 1 + 1e-9
        assert r.crma_65_exceeded == (r.largest_third_country_share > 0.65)
        if not pd.isna(r.import_concentration):
            assert 0 <= r.import_concentration <= 10000 + 1e-6


def test_weakest_governance_gives_the_top_bound(tmp_path):
    tables = small_tables()
    for row in tables["countries"]:
        row["wgi"] = -2.5
    model = semigraph.load(write_dataset(tmp_path / "weak", tables))
    f = indicators(model)
    assert f["hhi_wgi"].tolist() == pytest.approx((10 * f["hhi"] / 10000).tolist())


@pytest.mark.parametrize(("use", "third", "reliance"), [
    (None, 0.6, 0.6),     # consumption unknown: sourced like the world, own site included
    (0.5, 0.2, 0.2),      # the EU uses 0.5: its 0.4 first, then 0.1 from Japan
    (0.3, 0.0, 0.0),      # it makes more than it uses: no third country at all
    (1.0, 0.6, 0.6),      # it uses everything: Japan's 0.6 of it
])
def test_crma_share_is_a_share_of_the_unions_consumption(tmp_path, use, third, reliance):
    t = small_tables()
    if use is not None:
        t["consumption"] = [{"component": "wafer", "country": "DEU", "share": use,
                             "source": "src"}]
    model = semigraph.load(write_dataset(tmp_path / "ds", t))
    w = indicators(model, components=["wafer"]).iloc[0]  # JPN .6, subsid@DEU .4
    assert w["largest_third_country_share"] == pytest.approx(third)
    assert w["import_reliance"] == pytest.approx(reliance)
    assert bool(w["consumption_known"]) == (use is not None)
    assert bool(w["crma_65_exceeded"]) == (third > 0.65)


def test_a_scanner_the_union_makes_itself_raises_no_crma_flag(bundled):
    row = indicators(bundled, perspective="EU27",
                     components=["duv-immersion-scanner"]).iloc[0]
    assert row["top_country"] == "NLD" and not row["crma_65_exceeded"]
    assert row["largest_third_country_share"] < 0.1 and row["import_reliance"] < 0.1
