"""Ranges of estimated figures (uncertainty.csv): which figures are estimated, loading and
writing the table, every validation rule with its file, row and column, and the bundled
dataset's completeness."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.cli import cli
from semigraph.errors import DatasetError
from semigraph.model.uncertainty import estimated_figures, missing_ranges
from tests.datasets import random_tables, small_tables, write_dataset

COLUMNS = ["table", "key", "column", "low", "high", "source", "reason"]


def ranged(**extra) -> dict:
    row = {"table": "supply", "key": "gallium/CHN/CHN", "column": "share", "low": 0.8,
           "high": 0.95, "reason": "judgement share: half to one and a half times"}
    row.update(extra)
    return row


def problems(tmp_path: Path, tables: dict) -> list:
    _, found = semigraph.validate(write_dataset(tmp_path / "d", tables))
    return [p for p in found if p.file != "datapackage.json"]


def errors(tmp_path: Path, *rows: dict, tables: dict | None = None) -> list:
    t = tables or small_tables()
    t["uncertainty"] = list(rows)
    return [p for p in problems(tmp_path, t) if p.severity == "error"]


# -- which figures are estimated ---------------------------------------------------------------

def test_estimated_figures_follow_the_source_of_each_column(tmp_path):
    t = small_tables()
    t["sources"].append({"id": "pub", "publisher": "P", "title": "Published", "kind": "primary"})
    for row in t["supply"]:
        row["source"] = "pub"
    t["supply"][0]["split_source"] = "src"  # a published total, split by estimate: estimated
    gallium = t["components"][0]
    gallium.update(source="pub", stock_source="src", qualify_days=90, qualify_source="pub",
                   chain_share=0.4, chain_share_source="src")
    t["components"][1]["source"] = "pub"  # wafer: stock_days 10 on a publication
    t["consumption"] = [{"component": "gallium", "country": "CHN", "share": 0.8,
                         "source": "src"},
                        {"component": "gallium", "country": "USA", "share": 0.1,
                         "source": "pub"}]
    est = estimated_figures(semigraph.load(write_dataset(tmp_path / "d", t)))
    got = sorted(map(tuple, est[["table", "key", "column", "value"]].values.tolist()))
    assert got == sorted([
        ("supply", "gallium/CHN/CHN", "share", 0.9),
        ("components", "gallium", "stock_days", 30.0),  # stock_source wins over source
        ("components", "gallium", "chain_share", 0.4),
        ("components", "litho-a", "renewal_days", 1000.0),
        ("components", "litho-b", "renewal_days", 1000.0),
        ("components", "chip", "stock_days", 0.0),
        ("components", "car", "stock_days", 0.0),
        ("consumption", "gallium/CHN", "share", 0.8),
    ])  # gallium's ttr_days and qualify_days rest on the publication; empty cells never count


# -- loading and writing -----------------------------------------------------------------------

def test_a_dataset_without_the_table_has_an_empty_one(small):
    assert list(small.uncertainty.columns) == COLUMNS
    assert small.uncertainty.empty and small.tables["uncertainty"] is small.uncertainty
    assert len(missing_ranges(small)) == len(estimated_figures(small)) == 15


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ranges_round_trip_through_a_written_folder(tmp_path, fmt):
    t = small_tables()
    t["uncertainty"] = [ranged(), ranged(table="components", key="gallium",
                                         column="ttr_days", low=100, high=400,
                                         source="src", reason="restore, half to twice")]
    first = semigraph.load(write_dataset(tmp_path / "d", t))
    assert list(first.tables["uncertainty"].columns) == COLUMNS
    folder = first.to_folder(tmp_path / "out", format=fmt)
    assert (folder / f"uncertainty.{fmt}").is_file()
    again = semigraph.load(folder)
    pd.testing.assert_frame_equal(again.uncertainty, first.uncertainty)
    assert again.uncertainty["low"].tolist() == [0.8, 100.0]
    assert again.uncertainty["source"].tolist() == [None, "src"]
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert "uncertainty" in {r["name"] for r in package["resources"]}


def test_an_empty_table_is_not_written(small, tmp_path):
    folder = small.to_folder(tmp_path / "out")
    assert not (folder / "uncertainty.csv").exists()


# -- validation: one error per rule, with file, row and column -------------------------------

CASES = {
    "unknown table": (ranged(table="firms"), "table", "'firms' is not one of"),
    "column not of the table": (ranged(column="ttr_days"), "column",
                                "ttr_days is not a figure of supply"),
    "key names no row": (ranged(key="gallium/CHN/USA"), "key",
                         "'gallium/CHN/USA' names no row of supply.csv"),
    "empty figure": (ranged(table="components", key="wafer", column="ttr_days", low=1,
                            high=2), "column", "ttr_days of wafer is empty in components.csv"),
    "low above the figure": (ranged(low=0.92), "low",
                             "low 0.92 is above the figure it ranges, share 0.9 of "
                             "gallium/CHN/CHN (supply.csv row 2)"),
    "figure above high": (ranged(high=0.85), "high", "high 0.85 is below the figure"),
    "share above 1": (ranged(high=1.2), "high", "high 1.2 is outside the values share can "
                      "take (0..1)"),
    "negative low": (ranged(low=-0.1), "low", "below the minimum 0"),
    "a stock range from 0 days": (ranged(table="components", key="wafer",
                                         column="stock_days", low=0, high=12), None, None),
    "renewal below 1 day": (ranged(table="components", key="litho-a", column="renewal_days",
                                   low=0.5, high=2000), "low",
                            "low 0.5 is outside the values renewal_days can take (1 or more)"),
    "empty reason": (ranged(reason=" "), "reason", "reason is required but empty"),
    "unknown source": (ranged(source="nowhere"), "source", "unknown id 'nowhere'"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_names_file_row_and_column(tmp_path, case):
    row, column, message = CASES[case]
    found = errors(tmp_path, {"table": "supply", "key": "wafer/JPN/JPN", "column": "share",
                              "low": 0.5, "high": 0.7, "reason": "a valid row first"}, row)
    if column is None:
        assert found == []
        return
    assert len(found) == 1, found
    p = found[0]
    assert (p.file, p.row, p.column) == ("uncertainty.csv", 3, column)
    assert message in p.message


def test_a_range_around_a_figure_written_wrong_is_named_once(tmp_path):
    """A figure written but not a number is reported where it is parsed (file, row and
    column of the figure); its range does not add that the figure is empty."""
    t = small_tables()
    row = next(i for i, r in enumerate(t["supply"])
               if (r["component"], r["supplier"], r["site"]) == ("gallium", "CHN", "CHN"))
    t["supply"][row]["share"] = "abc"
    found = errors(tmp_path, ranged(), tables=t)
    assert [(p.file, p.column) for p in found] == [("supply.csv", "share")], found
    assert "'abc' is not a share" in found[0].message
    t["supply"][row]["share"] = None  # an empty figure still names the range
    found = errors(tmp_path, ranged(), tables=t)
    assert any(p.file == "uncertainty.csv" and "share of gallium/CHN/CHN is empty" in p.message
               for p in found), found


def test_chain_share_range_must_stay_above_zero(tmp_path):
    t = small_tables()
    t["components"][0].update(chain_share=0.4, chain_share_source="src")
    found = errors(tmp_path, ranged(table="components", key="gallium", column="chain_share",
                                    low=0, high=0.5), tables=t)
    assert [(p.row, p.column) for p in found] == [(2, "low")]
    assert "above 0, at most 1" in found[0].message


def test_low_above_high(tmp_path):
    found = errors(tmp_path, ranged(low=0.95, high=0.85))
    assert {p.column for p in found} == {"low", "high"}
    assert any("low 0.95 is above high 0.85" in p.message for p in found)


def test_duplicate_range(tmp_path):
    found = errors(tmp_path, ranged(), ranged(low=0.7))
    assert [(p.file, p.row, p.column) for p in found] == [("uncertainty.csv", 3, "column")]
    assert "duplicate table=supply, key=gallium/CHN/CHN, column=share (first at row 2)" in \
        found[0].message


def test_shares_that_cannot_all_be_at_their_lows(tmp_path):
    t = small_tables()
    t["supply"][1]["share"] = "0.14"  # gallium's figures sum to 1.04 (rounding: allowed)
    found = errors(tmp_path, ranged(low=0.88), tables=t)  # 0.88 + 0.14 > 1
    assert [(p.row, p.column) for p in found] == [(2, "low")]
    assert "at their lows the supply shares of gallium sum to 1.02" in found[0].message
    assert errors(tmp_path, ranged(low=0.86), tables=t) == []  # 0.86 + 0.14 = 1


def test_consumption_shares_that_cannot_all_be_at_their_lows(tmp_path):
    t = small_tables()
    t["consumption"] = [{"component": "gallium", "country": c, "share": s, "source": "src"}
                        for c, s in (("CHN", 0.7), ("USA", 0.32))]
    found = errors(tmp_path, ranged(table="consumption", key="gallium/CHN", low=0.7,
                                    high=0.8), tables=t)
    assert [(p.row, p.column) for p in found] == [(2, "low")]
    assert "consumption shares of gallium sum to 1.02" in found[0].message


def test_thinnest_cover_starts_at_or_below_the_normal_one(tmp_path):
    t = small_tables()
    t["components"][0]["stock_days_min"] = 20
    rows = [ranged(table="components", key="gallium", column="stock_days", low=15, high=45),
            ranged(table="components", key="gallium", column="stock_days_min", low=18,
                   high=20)]
    found = errors(tmp_path, *rows, tables=t)
    assert [(p.row, p.column) for p in found] == [(3, "low")]
    assert "starts at 18 days, above the lowest normal cover its stock_days can take (15)" \
        in found[0].message
    rows[1]["low"] = 15
    assert errors(tmp_path, *rows, tables=t) == []


def test_estimates_without_a_range_are_warned_of_where_ranges_are_given(tmp_path):
    t = small_tables()
    assert problems(tmp_path, t) == []  # no ranges at all: no warning
    t["uncertainty"] = [ranged()]
    warned = problems(tmp_path, t)
    assert all(p.severity == "warning" for p in warned)
    by_column = {(p.file, p.row, p.column): p.message for p in warned}
    assert set(by_column) == {("supply.csv", 3, "share"), ("components.csv", 2, "stock_days"),
                              ("components.csv", 2, "ttr_days"),
                              ("components.csv", 4, "renewal_days")}
    assert by_column[("supply.csv", 3, "share")].startswith(
        "7 estimated share figure(s) have no range in uncertainty (gallium/USA/USA, "
        "wafer/JPN/JPN, wafer/subsid/DEU, litho-a/asml/NLD, litho-b/nikon/JPN and 2 more)")


def test_cli_validate_exits_2_naming_the_cell(tmp_path):
    t = small_tables()
    t["uncertainty"] = [ranged(low=0.95)]
    folder = write_dataset(tmp_path / "d", t)
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 2
    assert "uncertainty.csv, row 2, column low: error: low 0.95 is above the figure" in \
        result.output
    with pytest.raises(DatasetError, match=r"uncertainty\.csv, row 2, column low"):
        semigraph.load(folder)


# -- a property: the feasibility verdict is the plain sum -----------------------------------------

@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tables=random_tables(max_components=5),
       factor=st.sampled_from([0.5, 0.8, 0.95, 1.0]))
def test_feasibility_matches_the_sum_of_lows(tmp_path_factory, tables, factor):
    """Ranges [factor x share, share] on every known share: the validator calls a component
    infeasible exactly when its lows sum above 1 (computed here by hand), and a full set of
    ranges leaves no estimated figure without one."""
    folder = tmp_path_factory.mktemp("d")
    base = semigraph.load(write_dataset(folder / "plain", tables))
    est = estimated_figures(base)
    rows = [{"table": t, "key": k, "column": c, "low": round(v * factor, 9)
             if c == "share" else v, "high": v, "reason": "test"}
            for t, k, c, v in est[["table", "key", "column", "value"]].itertuples(index=False)]
    tables["uncertainty"] = rows
    _, found = semigraph.validate(write_dataset(folder / "ranged", tables))
    said = {re.search(r"shares of (\S+) sum", p.message).group(1) for p in found
            if p.file == "uncertainty.csv" and "at their lows" in p.message
            and "supply" in p.message}
    lows: dict[str, float] = {}
    for r in rows:
        if r["table"] == "supply":
            comp = r["key"].split("/")[0]
            lows[comp] = lows.get(comp, 0.0) + r["low"]
    assert said == {c for c, total in lows.items() if total > 1 + 1e-9}
    other = [p for p in found if p.file == "uncertainty.csv" and "at their lows" not in
             p.message and p.severity == "error"]
    assert other == []
    if not said and not [p for p in found if p.severity == "error"]:
        assert missing_ranges(semigraph.load(folder / "ranged")).empty


# -- the bundled dataset ---------------------------------------------------------------------------

def test_every_estimated_figure_of_the_bundled_dataset_has_a_range(bundled):
    missing = missing_ranges(bundled)
    assert missing.empty, missing.head(20).to_string()
    assert len(estimated_figures(bundled)) == 1603


def test_bundled_ranges_hold_their_figures_and_name_a_documented_rule(bundled):
    from semigraph.model.uncertainty import figures

    unc = bundled.uncertainty
    figs = figures(bundled).set_index(["table", "key", "column"])["value"]
    value = figs.loc[list(zip(unc["table"], unc["key"], unc["column"]))].to_numpy()
    assert (unc["low"].to_numpy() <= value).all() and (value <= unc["high"].to_numpy()).all()
    readme = (bundled.path / "README.md").read_text(encoding="utf-8")
    rules = unc["reason"].str.extract(r"^rule ([a-z-]+):")[0]
    assert rules.notna().all()
    for rule, count in rules.value_counts().items():
        assert re.search(rf"\| `{rule}` \| {count} \|", readme), rule


def test_a_bundled_figure_without_a_range_is_found(bundled, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(bundled.path, folder)
    unc = folder / "uncertainty.csv"
    lines = unc.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = next(i for i, line in enumerate(lines) if line.startswith("components,neon,"))
    column = lines[dropped].split(",")[2]
    unc.write_text("".join(lines[:dropped] + lines[dropped + 1:]), encoding="utf-8")
    model = semigraph.load(folder)
    missing = missing_ranges(model)
    assert missing[["table", "key", "column"]].values.tolist() == [
        ["components", "neon", column]]
    assert [(p.file, p.column) for p in model.warnings] == [("components.csv", column)]


def test_info_counts_the_ranges(bundled):
    rec = bundled.info()["uncertainty"]
    assert rec == {"ranges": 1603, "estimated_figures": 1603,
                   "estimated_figures_with_range": 1603,
                   "share_weight_on_estimates": rec["share_weight_on_estimates"]}
    kinds = dict(zip(bundled.sources["id"], bundled.sources["kind"]))
    s = bundled.supply
    est = s["source"].map(kinds).eq("estimate") | s["split_source"].map(kinds).eq("estimate")
    by_hand = s.loc[est, "share"].sum() / s["share"].sum()
    assert rec["share_weight_on_estimates"] == pytest.approx(by_hand, abs=1e-4)
    assert 0.6 < rec["share_weight_on_estimates"] < 0.75
