"""Country shares from bilateral trade flows: BACI and UN Comtrade files written here."""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semigraph.errors import DatasetError, OutputError, UnknownUnitError
from semigraph.importers import trade
from semigraph.importers.trade import (
    TradeOptionError,
    hs_codes_for,
    import_trade,
    iso3_for_numeric,
    normalise_hs,
    write_trade_import,
)
from semigraph.model.model import default_dataset_path

ROOT = Path(__file__).resolve().parents[1]
BACI_HEADER = ["t", "i", "j", "k", "v", "q"]
COMTRADE_HEADER = ["typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period",
                   "reporterCode", "reporterISO", "reporterDesc", "flowCode", "flowDesc",
                   "partnerCode", "partnerISO", "partnerDesc", "partner2Code", "cmdCode",
                   "motCode", "customsCode", "qty", "netWgt", "primaryValue"]


def write_csv(path: Path, header: list[str], rows: list[list], *, delimiter: str = ",",
              opener=open) -> Path:
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


# A 2022 BACI file: gallium-group exports (811292) and one other product, with the
# product code 030110 written as BACI writes it (30110).
BACI_ROWS = [
    [2022, 156, 276, 811292, 600, 6],     # CHN -> DEU
    [2022, 156, 528, 811292, 200, "NA"],  # CHN -> NLD, quantity unknown
    [2022, 276, 528, 811292, 100, 2],     # DEU -> NLD (intra-EU)
    [2022, 842, 276, 811292, 50, 1],      # USA -> DEU (842: the USA in BACI)
    [2022, 490, 392, 811292, 40, 1],      # Taiwan -> JPN
    [2022, 697, 276, 811292, 10, 1],      # "Europe EFTA, nes": no ISO3 country
    [2022, 392, 156, 30110, 999, 9],      # another product
    [2021, 156, 276, 811292, 5000, 50],   # another year
]


@pytest.fixture
def baci(tmp_path):
    return write_csv(tmp_path / "BACI_HS17_Y2022.csv", BACI_HEADER, BACI_ROWS)


def shares(frame: pd.DataFrame, key: str = "supplier") -> dict[str, float]:
    return dict(zip(frame[key], frame["share"]))


def test_world_export_shares_by_value(baci):
    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022])
    # 2022 exports of 811292: 1000 in all, 10 of them from an unmapped code
    assert shares(result.supply) == pytest.approx(
        {"CHN": 0.8, "DEU": 0.1, "USA": 0.05, "TWN": 0.04})
    assert list(result.supply["supplier"]) == ["CHN", "DEU", "USA", "TWN"]
    assert (result.supply["site"] == result.supply["supplier"]).all()
    assert result.supply["capacity"].isna().all()
    assert set(result.supply["source"]) == {"baci-gallium-2022"}
    report = result.report
    assert report["rows_read"] == 8 and report["rows_used"] == 6
    assert report["years"] == [2022]
    assert report["total_value"] == 1000
    assert report["unmapped_codes"] == {"697": 10.0}
    assert report["unmapped_value"] == 10
    assert report["unmapped_share"] == pytest.approx(0.01)
    assert result.supply["share"].sum() + report["unmapped_share"] == pytest.approx(1)
    assert result.consumption is None
    assert result.source == {
        "id": "baci-gallium-2022", "publisher": "CEPII (BACI)",
        "title": "BACI bilateral trade flows, 2022 (BACI_HS17_Y2022.csv)", "year": 2022,
        "url": "", "kind": "primary",
        "note": "HS 811292; years 2022; weight value (thousand USD); world exports by "
                "exporter (reconciled bilateral flows); HS 811292 also carries germanium, "
                "indium, niobium and vanadium: its shares are of all of them, not of gallium "
                "alone"}
    assert report["shared_codes"] == {"811292": ["germanium", "indium", "niobium",
                                                 "vanadium"]}


def test_quantity_weight_leaves_out_rows_without_quantity(baci):
    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          weight="quantity")
    # tonnes: CHN 6 (the 200 without quantity left out), DEU 2, USA 1, TWN 1, unmapped 1
    assert shares(result.supply) == pytest.approx(
        {"CHN": 6 / 11, "DEU": 2 / 11, "USA": 1 / 11, "TWN": 1 / 11})
    assert result.report["rows_without_quantity"] == 1
    assert result.report["value_without_quantity"] == 200
    assert result.report["unmapped_share"] == pytest.approx(1 / 11)


def test_codes_without_leading_zero_and_all_years(baci):
    seen = []
    result = import_trade(baci, hs="030110", component="x", block_size=64, progress=seen.append)
    assert shares(result.supply) == {"JPN": 1.0}
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == 8
    assert result.report["value_by_hs"] == {"030110": 999.0}
    every = import_trade(baci, hs=["811292", "30110"], component="x", source_id="mine")
    assert every.report["years"] == [2021, 2022]
    assert every.report["total_value"] == 6000 + 999
    assert shares(every.supply)["CHN"] == pytest.approx(5800 / 6999)
    assert every.source["id"] == "mine" and every.source["year"] == 2022
    assert "2021, 2022" in every.source["note"]


def test_import_dependency_leaves_out_flows_inside_the_region(baci):
    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          importer_members=["DEU", "NLD", "FRA"], importer_label="EU27")
    # into DEU or NLD from outside: CHN 800, USA 50, unmapped 10; DEU -> NLD is intra-EU
    imports = result.imports
    assert list(imports.columns) == ["component", "importer", "origin", "share", "source"]
    assert set(imports["importer"]) == {"EU27"}
    assert shares(imports, "origin") == pytest.approx({"CHN": 800 / 860, "USA": 50 / 860})
    region = result.report["region"]
    assert region["intra_region_value"] == 100
    assert region["total_value"] == 860
    assert region["unmapped_codes"] == {"697": 10.0}
    assert (region["label"], region["members"]) == ("EU27", ["DEU", "FRA", "NLD"])
    assert result.source["id"] == "baci-gallium-imports-eu27-2022"
    # supply keeps its meaning, share of world supply (by exports), region or not
    world = import_trade(baci, hs=["811292"], component="gallium", years=[2022])
    assert shares(result.supply) == pytest.approx(shares(world.supply))
    assert result.report["total_value"] == world.report["total_value"] == 1000
    # consumption ~ imports: DEU 660, NLD 300, JPN 40 of 1000
    assert shares(result.consumption, "country") == pytest.approx(
        {"DEU": 0.66, "NLD": 0.3, "JPN": 0.04})
    assert list(result.consumption.columns) == ["component", "country", "share", "source"]


def test_single_country_importer(baci):
    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          importer_members=["JPN"])
    assert shares(result.imports, "origin") == {"TWN": 1.0}
    assert result.report["region"]["label"] == "JPN"


def test_unknown_importer_codes_are_reported_not_placed(tmp_path):
    path = write_csv(tmp_path / "b.csv", BACI_HEADER, [
        [2022, 156, 276, 811292, 10, 1], [2022, 156, 58, 811292, 30, 1]])
    result = import_trade(path, hs=["811292"], component="gallium", importer_members=["DEU"])
    assert shares(result.imports, "origin") == {"CHN": 1.0}
    assert result.report["region"]["unmapped_importer_codes"] == {"58": 30.0}
    assert result.report["consumption_unmapped_share"] == pytest.approx(0.75)


COMTRADE_ROWS = [
    # exports declared by China, Germany and Taiwan ("Other Asia, nes", ISO S19)
    ["C", "A", 20220101, 2022, 52, 2022, 156, "CHN", "China", "X", "Export", 276, "DEU",
     "Germany", 0, "811292", 0, "C00", 1, 1000, 700],
    ["C", "A", 20220101, 2022, 52, 2022, 156, "CHN", "China", "X", "Export", 0, "W00",
     "World", 0, "811292", 0, "C00", 1, 1000, 700],  # the world total: skipped
    ["C", "A", 20220101, 2022, 52, 2022, 276, "DEU", "Germany", "X", "Export", 251, "FRA",
     "France", 0, "811292", 0, "C00", 1, 300, 200],
    ["C", "A", 20220101, 2022, 52, 2022, 490, "S19", "Other Asia, nes", "X", "Export", 842,
     "USA", "USA", 0, "811292", 0, "C00", 1, 100, 100],
    ["C", "A", 20220101, 2022, 52, 2022, 276, "DEU", "Germany", "RX", "Re-export", 842,
     "USA", "USA", 0, "811292", 0, "C00", 1, 5, 5000],  # re-export: skipped
    ["C", "A", 20220101, 2022, 52, 2022, 276, "DEU", "Germany", "X", "Export", 842, "USA",
     "USA", 0, "811292", 9000, "C00", 1, 5, 4000],  # a mode-of-transport breakdown: skipped
    # imports declared by Germany and France
    ["C", "A", 20220101, 2022, 52, 2022, 276, "DEU", "Germany", "M", "Import", 156, "CHN",
     "China", 0, "811292", 0, "C00", 1, 900, 720],
    ["C", "A", 20220101, 2022, 52, 2022, 251, "FRA", "France", "M", "Import", 276, "DEU",
     "Germany", 0, "811292", 0, "C00", 1, 250, 210],
    ["C", "A", 20220101, 2022, 52, 2022, 251, "FRA", "France", "M", "Import", 899, "_X",
     "Areas, nes", 0, "811292", 0, "C00", 1, 10, 70],
]


def test_comtrade_exports_for_world_shares(tmp_path):
    path = write_csv(tmp_path / "comtrade.csv", COMTRADE_HEADER, COMTRADE_ROWS)
    result = import_trade(path, hs=["811292"], component="gallium")
    # declared exports: CHN 700, DEU 200, Taiwan 100
    assert shares(result.supply) == pytest.approx({"CHN": 0.7, "DEU": 0.2, "TWN": 0.1})
    report = result.report
    assert report["layout"] == "comtrade" and report["flow"].endswith("(flowCode X)")
    assert report["skipped_rows"] == {"other_flows": 1, "world_partner": 1, "breakdown": 1}
    assert report["value_unit"] == "USD" and report["quantity_unit"] == "kg"
    assert result.source["publisher"] == "UN Comtrade"
    assert result.source["id"] == "comtrade-gallium-2022"


def test_comtrade_imports_for_a_region(tmp_path):
    path = write_csv(tmp_path / "comtrade.csv", COMTRADE_HEADER, COMTRADE_ROWS)
    result = import_trade(path, hs=["811292"], component="gallium",
                          importer_members=["DEU", "FRA"], importer_label="EU27")
    # declared imports into DEU and FRA: CHN 720, DEU -> FRA 210 (intra), areas nes 70
    assert shares(result.imports, "origin") == pytest.approx({"CHN": 720 / 790})
    region = result.report["region"]
    assert region["unmapped_codes"] == {"899": 70.0}
    assert region["intra_region_value"] == 210
    assert region["flow"].endswith("(flowCode M)")
    # the supply table is world exports by exporter, from the declared exports
    assert shares(result.supply) == pytest.approx({"CHN": 0.7, "DEU": 0.2, "TWN": 0.1})
    assert result.report["flow"].endswith("(flowCode X)")
    assert shares(result.consumption, "country") == pytest.approx(
        {"DEU": 0.72, "FRA": 0.28})


def test_comtrade_iso_columns_monthly_periods_tabs_and_gzip(tmp_path):
    header = ["period", "reporterISO", "partnerISO", "cmdCode", "flowCode", "primaryValue"]
    rows = [[202203, "CHN", "DEU", "811292", "X", 60], [202204, "CHN", "DEU", "811292", "X", 20],
            [202203, "S19", "USA", "811292", "X", 20], [202203, "EUR", "USA", "811292", "X", 5],
            [202203, "DEU", "W00", "811292", "X", 1000]]
    path = write_csv(tmp_path / "comtrade.tsv.gz", header, rows, delimiter="\t",
                     opener=gzip.open)
    result = import_trade(path, hs=["811292"], component="gallium", layout="comtrade")
    assert shares(result.supply) == pytest.approx({"CHN": 80 / 105, "TWN": 20 / 105})
    assert result.report["years"] == [2022]
    assert result.report["unmapped_codes"] == {"EUR": 5.0}
    assert result.report["skipped_rows"]["world_partner"] == 1


def test_comtrade_file_with_imports_only_is_read_mirrored(tmp_path):
    header = ["refYear", "reporterCode", "partnerCode", "cmdCode", "flowCode", "primaryValue"]
    path = write_csv(tmp_path / "c.csv", header, [[2023, 276, 156, "811292", "M", 30],
                                                  [2023, 392, 156, "811292", "M", 10],
                                                  [2023, 392, 410, "811292", "M", 10]])
    result = import_trade(path, hs=["811292"], component="gallium")
    assert shares(result.supply) == pytest.approx({"CHN": 0.8, "KOR": 0.2})
    assert result.report["flow"].endswith("(flowCode M)")


# --- bad input -----------------------------------------------------------------------------


def only_problem(excinfo):
    (problem,) = excinfo.value.problems
    return problem


def test_missing_column_names_row_1_and_the_column(tmp_path):
    path = write_csv(tmp_path / "b.csv", ["t", "i", "j", "k", "q"], [[2022, 4, 8, 1, 1]])
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium", layout="baci")
    problem = only_problem(exc)
    assert (problem.file, problem.row, problem.column) == ("b.csv", 1, "v")
    with pytest.raises(DatasetError, match="not a BACI file"):
        import_trade(path, hs=["811292"], component="gallium")


def test_comtrade_missing_column(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["refYear", "reporterCode", "cmdCode", "flowCode",
                                          "primaryValue"], [[2022, 4, "811292", "X", 1]])
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium")
    assert only_problem(exc).column == "partnerCode or partnerISO"


@pytest.mark.parametrize("block_size", [64, 1 << 20])
def test_non_numeric_value_names_its_row_and_column(tmp_path, block_size):
    rows = [[2022, 4, 8, 811292, 1.5, 1]] * 30 + [[2022, 4, 8, 811292, "1,5", 1]]
    path = write_csv(tmp_path / "b.csv", BACI_HEADER, rows)
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium", block_size=block_size)
    problem = only_problem(exc)
    assert (problem.row, problem.column) == (32, "v")
    assert "'1,5' is not a number" in problem.message


def test_bad_cell_in_a_compressed_tab_separated_file(tmp_path):
    header = ["refYear", "reporterCode", "partnerCode", "cmdCode", "flowCode", "primaryValue"]
    rows = [[2023, 276, 156, "811292", "M", 30], [2023, "DE", 156, "811292", "M", 30]]
    path = write_csv(tmp_path / "c.tsv.gz", header, rows, delimiter="\t", opener=gzip.open)
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium")
    problem = only_problem(exc)
    assert (problem.file, problem.row, problem.column) == ("c.tsv.gz", 3, "reporterCode")


def test_wrong_field_count_and_empty_value_name_their_rows(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("t,i,j,k,v,q\n2022,4,8,811292,1,1\n2022,4,8,811292,1,1,7\n")
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium")
    assert only_problem(exc).row == 3
    path.write_text("t,i,j,k,v,q\n2022,4,8,811292,1,1\n2022,4,8,811292,,1\n2022,4,8,1,,1\n")
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium")
    problem = only_problem(exc)  # the empty value of another product does not matter
    assert (problem.row, problem.column) == (3, "v")


def test_no_flows_and_bad_options(baci):
    with pytest.raises(DatasetError, match="no flows of HS 811292 in \\[2019\\]"):
        import_trade(baci, hs=["811292"], component="gallium", years=[2019])
    with pytest.raises(TradeOptionError, match="not an HS6 code"):
        import_trade(baci, hs=["8112"], component="gallium")
    with pytest.raises(TradeOptionError, match="weight"):
        import_trade(baci, hs=["811292"], component="gallium", weight="tonnes")
    with pytest.raises(TradeOptionError, match="alpha-3"):
        import_trade(baci, hs=["811292"], component="gallium", importer_members=["EU27"])


def test_quantity_weight_needs_a_quantity_column(tmp_path):
    path = write_csv(tmp_path / "b.csv", BACI_HEADER[:5], [[2022, 4, 8, 811292, 1]])
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium", weight="quantity")
    assert (only_problem(exc).row, only_problem(exc).column) == (1, "q")


# --- writing -------------------------------------------------------------------------------


def test_write_creates_the_folder_whole_and_refuses_to_overwrite(baci, tmp_path):
    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          importer_members=["DEU", "NLD"])
    out = tmp_path / "out"
    write_trade_import(result, out)
    assert sorted(os.listdir(out)) == ["consumption.csv", "datapackage.json", "imports.csv",
                                       "sources.csv", "supply.csv"]
    imports = pd.read_csv(out / "imports.csv")
    assert shares(imports, "origin") == pytest.approx(shares(result.imports, "origin"))
    supply = pd.read_csv(out / "supply.csv")
    assert list(supply.columns) == ["component", "supplier", "site", "share", "capacity",
                                    "source"]
    assert shares(supply) == pytest.approx(shares(result.supply))
    sources = pd.read_csv(out / "sources.csv")
    assert sources.loc[0, "id"] == result.source["id"]
    assert sources.loc[0, "publisher"] == "CEPII (BACI)"
    with pytest.raises(OutputError, match="exists"):
        write_trade_import(result, out)
    world = import_trade(baci, hs=["811292"], component="gallium", years=[2022])
    write_trade_import(world, out, force=True)
    assert sorted(os.listdir(out)) == ["datapackage.json", "sources.csv", "supply.csv"]
    assert sorted(os.listdir(tmp_path)) == ["BACI_HS17_Y2022.csv", "out"]  # no leftovers
    with pytest.raises(OutputError, match="does not exist"):
        write_trade_import(world, tmp_path / "missing" / "out")


def test_written_tables_load_as_part_of_a_dataset(baci, tmp_path):
    import semigraph

    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          importer_members=["DEU", "NLD"])
    out = write_trade_import(result, tmp_path / "out")
    data = tmp_path / "data"
    data.mkdir()
    for name in ("countries", "components", "firms", "requires"):
        (data / f"{name}.csv").write_bytes((default_dataset_path() / f"{name}.csv").read_bytes())
    own = pd.read_csv(default_dataset_path() / "sources.csv")
    pd.concat([own, pd.read_csv(out / "sources.csv")]).to_csv(data / "sources.csv",
                                                                index=False)
    for name in ("supply", "consumption"):
        (data / f"{name}.csv").write_bytes((out / f"{name}.csv").read_bytes())
    model = semigraph.load(data)
    assert shares(model.supply) == pytest.approx(shares(result.supply))


# --- reference tables ----------------------------------------------------------------------


def test_numeric_codes():
    assert [iso3_for_numeric(c) for c in (842, 840, "076", 490, 158, 251, 699, 757, 579)] == \
        ["USA", "USA", "BRA", "TWN", "TWN", "FRA", "IND", "CHE", "NOR"]
    assert iso3_for_numeric(697) is None and iso3_for_numeric("x") is None
    table = pd.read_csv(ROOT / "semigraph" / "data" / "iso3166_numeric.csv", dtype=str)
    alpha3 = {line.strip() for line in
              (ROOT / "semigraph" / "data" / "iso3166_alpha3.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert set(table["alpha3"]) == alpha3
    assert table["numeric"].is_unique and len(table) == 249 + 6


def test_hs_table():
    assert hs_codes_for("gallium") == ["811292"]
    assert hs_codes_for("fluorspar") == ["252921", "252922"]
    assert hs_codes_for("neon") == ["280429"]
    with pytest.raises(UnknownUnitError, match="did you mean 'gallium'"):
        hs_codes_for("galium")
    table = pd.read_csv(ROOT / "datasets" / "hs-components.csv", dtype=str,
                        keep_default_na=False)
    assert list(table.columns) == ["hs6", "description", "component", "shared_with", "note"]
    components = set(pd.read_csv(default_dataset_path() / "components.csv")["id"])
    assert set(table["component"]) - {""} <= components
    assert table["hs6"].str.fullmatch(r"\d{6}").all()
    assert not table.duplicated(["hs6", "component"]).any()
    assert all(table["note"])
    # a code under several components lists the others among the goods it shares with
    for code, rows in table[table["component"] != ""].groupby("hs6"):
        for comp, shared in zip(rows["component"], rows["shared_with"]):
            assert set(rows["component"]) - {comp} <= set(shared.split(";")), (code, comp)
    # HS 2022 811292: gallium, germanium, indium, niobium and vanadium, unwrought and powders
    assert trade.shared_goods(["811292"], "gallium") == {
        "811292": ["germanium", "indium", "niobium", "vanadium"]}
    assert trade.shared_goods(["252922", "811292"], "fluorspar") == {
        "811292": ["gallium", "germanium", "indium", "niobium", "vanadium"]}
    assert trade.shared_goods(["999999"], "gallium") == {}
    assert normalise_hs("30110") == normalise_hs("0301.10") == "030110"


# --- streaming equals a plain computation --------------------------------------------------

CODES = [156, 276, 528, 842, 490, 392, 697, 58]
MEMBERS = ["DEU", "NLD"]

flows = st.lists(
    st.tuples(st.sampled_from([2021, 2022]), st.sampled_from(CODES), st.sampled_from(CODES),
              st.sampled_from([811292, 30110, 854231]),
              st.integers(0, 10_000).map(lambda v: v / 8)),
    min_size=1, max_size=60)


def plain(path: Path, hs: list[int], members: list[str] | None) -> dict[str, float]:
    """The same shares from the whole file in memory: the reference."""
    frame = pd.read_csv(path)
    frame = frame[frame["k"].isin(hs)]
    frame["exp"] = frame["i"].map(iso3_for_numeric)
    frame["imp"] = frame["j"].map(iso3_for_numeric)
    if members is not None:
        frame = frame[frame["imp"].isin(members) & ~frame["exp"].isin(members)]
    total = frame["v"].sum()
    by = frame.groupby("exp")["v"].sum() / total
    return {k: v for k, v in by.items() if v > 0}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=flows, region=st.booleans())
def test_streaming_equals_a_plain_computation(tmp_path, monkeypatch, rows, region):
    monkeypatch.setattr(trade, "_PENDING_ROWS", 3)  # sum partial results often
    rows = [[t, i, j, k, v, 1] for t, i, j, k, v in rows if i != j]
    path = write_csv(tmp_path / "flows.csv", BACI_HEADER, rows)
    members = MEMBERS if region else None
    world = plain(path, [811292, 30110], None)
    into = plain(path, [811292, 30110], members) if region else None
    try:
        result = import_trade(path, hs=["811292", "030110"], component="c",
                              importer_members=members, block_size=64)
    except DatasetError as exc:  # nothing to share out: the reference has no total either
        assert not world or (region and not into), exc
        return
    assert shares(result.supply) == pytest.approx(world)
    if region:
        assert shares(result.imports, "origin") == pytest.approx(into)


@pytest.mark.parametrize("missing", ["NA", " NA", "NA ", "  na", "N/A", " NaN ", "NULL",
                                     "None", ""])
def test_missing_values_padded_or_not_are_missing(tmp_path, missing):
    rows = [[2022, 156, 276, 811292, 600, 6], [2022, 842, 276, 811292, 400, missing],
            [2022, " 392", 276, " 811292", " 1000 ", 4]]
    path = write_csv(tmp_path / "b.csv", BACI_HEADER, rows)
    by_value = import_trade(path, hs=["811292"], component="gallium")
    assert shares(by_value.supply) == pytest.approx({"JPN": 0.5, "CHN": 0.3, "USA": 0.2})
    by_quantity = import_trade(path, hs=["811292"], component="gallium", weight="quantity")
    assert shares(by_quantity.supply) == pytest.approx({"CHN": 0.6, "JPN": 0.4})
    assert by_quantity.report["rows_without_quantity"] == 1


def test_padded_missing_value_is_an_empty_value_error(tmp_path):
    rows = [[2022, 156, 276, 811292, 600, 6], [2022, 842, 276, 811292, " NA ", 1]]
    path = write_csv(tmp_path / "b.csv", BACI_HEADER, rows)
    with pytest.raises(DatasetError) as exc:
        import_trade(path, hs=["811292"], component="gallium")
    assert (only_problem(exc).row, only_problem(exc).column) == (3, "v")
    assert "empty" in only_problem(exc).message


def test_bad_cell_of_another_product_is_not_read(tmp_path):
    rows = [[2022, 156, 276, 811292, 600, 6], [2022, 842, 276, 30110, "n.a.", 1]]
    path = write_csv(tmp_path / "b.csv", BACI_HEADER, rows)
    assert shares(import_trade(path, hs=["811292"], component="gallium").supply) == {"CHN": 1}
    rows[1][3] = 811292
    with pytest.raises(DatasetError) as exc:
        import_trade(write_csv(path, BACI_HEADER, rows), hs=["811292"], component="gallium")
    assert (only_problem(exc).row, only_problem(exc).column) == (3, "v")
    assert "'n.a.' is not a number" in only_problem(exc).message


def test_shared_code_from_a_table_of_ones_own(tmp_path, baci):
    table = tmp_path / "hs.csv"
    table.write_text("hs6,description,component,shared_with,note\n"
                     "811292,Group,gallium,,one good only here\n"
                     "030110,Fish,x,cod;trout,two more\n")
    alone = import_trade(baci, hs=["811292"], component="gallium", hs_table=table)
    assert alone.report["shared_codes"] == {} and "also carries" not in alone.source["note"]
    both = import_trade(baci, hs=["811292", "030110"], component="x", hs_table=table)
    assert both.report["shared_codes"] == {"030110": ["cod", "trout"], "811292": ["gallium"]}
    assert both.source["note"].endswith(
        "HS 030110 also carries cod and trout; HS 811292 also carries gallium: the shares are "
        "of all of them, not of x alone")


def test_cli_warns_of_shared_codes_and_writes_imports_apart(baci, tmp_path):
    from click.testing import CliRunner

    from semigraph.cli import cli

    out = tmp_path / "eu"
    result = CliRunner().invoke(cli, ["import", "trade", str(baci), "--component", "gallium",
                                       "--year", "2022", "--importer", "EU27", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert ("Warning: HS 811292 also carries germanium, indium, niobium, vanadium: the shares "
            "are of all of them, not of gallium alone") in result.output
    supply = pd.read_csv(out / "supply.csv")
    assert shares(supply) == pytest.approx({"CHN": 0.8, "DEU": 0.1, "USA": 0.05, "TWN": 0.04})
    imports = pd.read_csv(out / "imports.csv")
    assert set(imports["importer"]) == {"EU27"}
    assert shares(imports, "origin") == pytest.approx({"CHN": 800 / 860, "USA": 50 / 860})
    note = pd.read_csv(out / "sources.csv").loc[0, "note"]
    assert "HS 811292 also carries germanium" in note


def test_written_folder_passes_frictionless(baci, tmp_path):
    from tests.test_package import frictionless_errors

    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          importer_members=["DEU", "NLD"])
    out = write_trade_import(result, tmp_path / "out")
    assert frictionless_errors(out) == []
