"""``semigraph dataset merge``: imported tables brought into a dataset, with provenance."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import semigraph
from semigraph.cli import cli
from semigraph.errors import DatasetError, OutputError
from semigraph.importers.trade import import_trade, write_trade_import
from semigraph.io.merge import merge_dataset
from tests.test_import_trade import BACI_HEADER, BACI_ROWS, write_csv


def write_table(path: Path, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False, lineterminator="\n")


@pytest.fixture
def trade_folder(tmp_path):
    """Gallium shares from trade (world exports CHN .8, DEU .1, USA .05, TWN .04 and an
    unmapped .01; EU imports by origin; consumption by imports)."""
    baci = write_csv(tmp_path / "baci.csv", BACI_HEADER, BACI_ROWS)
    result = import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                          importer_members=["DEU", "NLD"], importer_label="EU")
    return write_trade_import(result, tmp_path / "ga")


def supply_of(folder: Path, component: str) -> dict[tuple[str, str], tuple[str, str]]:
    frame = pd.read_csv(folder / "supply.csv", dtype=str, keep_default_na=False)
    frame = frame[frame["component"] == component]
    return {(s, site): (share, src) for s, site, share, src in
            frame[["supplier", "site", "share", "source"]].itertuples(index=False)}


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_conflict_is_an_error_naming_file_row_column(trade_folder, small_path, tmp_path):
    out = tmp_path / "merged"
    result = invoke("dataset", "merge", trade_folder, small_path, "-o", out)
    assert result.exit_code == 2, result.output
    # gallium: the dataset has CHN 90% and USA 0.1 (rows 2 and 3); the import differs
    assert ("ga/supply.csv, row 2, column component: error: the dataset already has supply "
            "rows of component gallium that differ: supply.csv rows 2, 3 (source src)"
            ) in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baci.csv", "ga", "small"]


def test_replace_takes_the_imported_breakdown_of_the_component(trade_folder, small_path,
                                                                tmp_path):
    before = (small_path / "supply.csv").read_text(encoding="utf-8")
    report = merge_dataset(trade_folder, small_path, tmp_path / "merged",
                           on_conflict="replace")
    out = report.path
    assert (small_path / "supply.csv").read_text(encoding="utf-8") == before  # never changed
    gallium = supply_of(out, "gallium")
    assert set(gallium) == {("CHN", "CHN"), ("DEU", "DEU"), ("USA", "USA"), ("TWN", "TWN")}
    assert {v[1] for v in gallium.values()} == {"baci-gallium-imports-eu-2022"}
    assert supply_of(out, "wafer") == supply_of(small_path, "wafer")  # other rows untouched
    # replaced rows take the place of the first row they replace
    assert list(pd.read_csv(out / "supply.csv")["component"])[:4] == ["gallium"] * 4
    assert report.counts["supply"] == {"replaced": 4, "removed": 2}
    assert report.counts["sources"] == {"added": 1}
    assert report.counts["consumption"] == {"added": 3}  # the dataset has no consumption
    assert report.left_out == ["imports.csv"]
    model = semigraph.load(out)
    shares = model.supply[model.supply["component"] == "gallium"].set_index("supplier")
    assert shares.loc["CHN", "share"] == pytest.approx(0.8)
    src = model.sources.set_index("id").loc["baci-gallium-imports-eu-2022"]
    assert src["publisher"] == "CEPII (BACI)" and "also carries" in src["note"]
    log = pd.read_csv(out / "merge-log.csv", dtype=str, keep_default_na=False)
    replaced = log[(log["table"] == "supply") & (log["action"] == "replaced")]
    assert list(replaced["imported_row"]) == ["2", "3", "4", "5"]
    assert set(replaced["dataset_rows"]) == {"2;3"}
    removed = log[log["action"] == "removed"]
    assert list(removed["dataset_rows"]) == ["2", "3"] and set(removed["source"]) == {"src"}
    assert list(log.loc[log["action"] == "left out", "table"]) == ["imports.csv"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "## Merged from ga" in readme and "- supply: 4 replaced, 2 removed" in readme
    assert "baci-gallium-imports-eu-2022" in readme


def test_keep_leaves_the_dataset_rows(trade_folder, small_path, tmp_path):
    result = invoke("dataset", "merge", trade_folder, small_path, "-o", tmp_path / "m",
                    "--keep")
    assert result.exit_code == 0, result.output
    assert supply_of(tmp_path / "m", "gallium") == supply_of(small_path, "gallium")
    log = pd.read_csv(tmp_path / "m" / "merge-log.csv", dtype=str, keep_default_na=False)
    assert (log.loc[log["table"] == "supply", "action"] == "kept").all()
    assert "supply: 4 kept" in result.output


def imported(tmp_path: Path, supply: list[dict], **tables: list[dict]) -> Path:
    folder = tmp_path / "imp"
    folder.mkdir(exist_ok=True)
    write_table(folder / "supply.csv", supply)
    for name, rows in tables.items():
        write_table(folder / f"{name}.csv", rows)
    return folder


NEW_SOURCE = {"id": "new-src", "publisher": "P", "title": "T", "year": "2024", "url": "",
              "kind": "estimate", "note": "rests on a test"}


def test_new_component_is_added_and_an_identical_row_is_no_conflict(small_path, tmp_path):
    folder = imported(
        tmp_path,
        [{"component": "neon", "supplier": "UKR", "site": "UKR", "share": "0.5",
          "source": "new-src"},
         {"component": "wafer", "supplier": "JPN", "site": "JPN", "share": "0.6",
          "source": "src"},
         {"component": "wafer", "supplier": "subsid", "site": "DEU", "share": " 0.4 ",
          "source": "src"}],
        components=[{"id": "neon", "name": "Neon", "kind": "material",
                     "stage": "materials_equipment", "stock_days": "30", "ttr_days": "180"}],
        countries=[{"id": "UKR", "name": "Ukraine"}],
        sources=[NEW_SOURCE])
    report = merge_dataset(folder, small_path, tmp_path / "m")
    assert report.counts["supply"] == {"added": 1, "identical": 2}
    model = semigraph.load(tmp_path / "m")
    neon = model.supply[model.supply["component"] == "neon"]
    assert list(neon["supplier"]) == ["UKR"] and list(neon["source"]) == ["new-src"]
    assert len(model.supply) == 9


def test_bad_imported_input_names_file_row_and_column(small_path, tmp_path):
    folder = imported(tmp_path, [{"component": "gallium", "supplier": "CHN", "site": "CHN",
                                  "share": "0.9", "source": "src", "tonnes": "5"}])
    with pytest.raises(DatasetError) as exc:
        merge_dataset(folder, small_path, tmp_path / "m", on_conflict="replace")
    p = exc.value.problems[0]
    assert (p.file, p.row, p.column) == ("imp/supply.csv", 1, "tonnes")
    (folder / "supply.csv").write_text("component,supplier,site,share,source\n"
                                       "gallium,CHN,CHN,0.9,src\ngallium,USA,USA\n")
    result = invoke("dataset", "merge", folder, small_path, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "imp/supply.csv, row 3" in result.output
    assert not (tmp_path / "m").exists()


def test_a_merge_that_breaks_the_dataset_writes_nothing(small_path, tmp_path):
    folder = imported(tmp_path, [{"component": "neon", "supplier": "CHN", "site": "CHN",
                                  "share": "0.5", "source": "nowhere"}])
    result = invoke("dataset", "merge", folder, small_path, "-o", tmp_path / "m")
    assert result.exit_code == 2, result.output
    assert "in the merged dataset" in result.output and "neon" in result.output
    assert not (tmp_path / "m").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imp", "small"]


def test_output_is_refused_when_it_exists_and_the_log_grows(trade_folder, small_path,
                                                           tmp_path):
    out = tmp_path / "m"
    merge_dataset(trade_folder, small_path, out, on_conflict="replace")
    with pytest.raises(OutputError, match="exists"):
        merge_dataset(trade_folder, small_path, out, on_conflict="replace")
    again = merge_dataset(trade_folder, out, tmp_path / "m2")  # the same rows: identical
    assert again.counts["supply"] == {"identical": 4}
    with open(tmp_path / "m2" / "merge-log.csv", encoding="utf-8", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [line["action"] for line in lines if line["table"] == "supply"] == \
        ["replaced"] * 4 + ["removed"] * 2 + ["identical"] * 4
    assert (tmp_path / "m2" / "README.md").read_text().count("## Merged from ga") == 2
    with pytest.raises(OutputError):
        merge_dataset(trade_folder, small_path, small_path, force=True)  # never the input


def test_merged_bundled_dataset_keeps_its_package_valid(trade_folder, tmp_path):
    from tests.test_package import frictionless_errors

    out = tmp_path / "merged"
    result = invoke("dataset", "merge", trade_folder, semigraph.load().path, "-o", out,
                    "--replace")
    assert result.exit_code == 0, result.output
    assert frictionless_errors(out) == []
    _, problems = semigraph.validate(out)
    assert [p for p in problems if p.severity == "error"] == []


def test_ranges_of_replaced_figures_go_with_them(trade_folder, small_path, tmp_path):
    from semigraph.io.merge import MergeReport, drop_stale_ranges

    report = merge_dataset(trade_folder, small_path, tmp_path / "m", on_conflict="replace")
    assert report.removed == {"supply": {"gallium/CHN/CHN", "gallium/USA/USA"}}
    ranges = [{"table": "supply", "key": "gallium/CHN/CHN", "column": "share"},
              {"table": "supply", "key": "wafer/JPN/JPN", "column": "share"},
              {"table": "components", "key": "gallium/CHN/CHN", "column": "ttr_days"}]
    fresh = MergeReport(path=report.path, counts={}, removed=report.removed)
    assert drop_stale_ranges(ranges, fresh, "ga", "today") == ranges[1:]
    assert fresh.counts == {"uncertainty": {"removed": 1}}
    assert fresh.log[0]["key"] == "supply/gallium/CHN/CHN/share"
