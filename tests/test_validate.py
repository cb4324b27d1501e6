"""Every validation rule, with the file, row and column its message names."""

from __future__ import annotations

import pytest

import semigraph
from semigraph.errors import DatasetError
from semigraph.model.validate import parse_fraction
from tests.datasets import small_tables, write_dataset


def problems(tmp_path, tables):
    with pytest.raises(DatasetError) as exc:
        semigraph.load(write_dataset(tmp_path / "ds", tables))
    return exc.value.problems


def one(tmp_path, tables):
    errors = [p for p in problems(tmp_path, tables) if p.severity == "error"]
    assert len(errors) == 1, errors
    return errors[0]


def test_small_dataset_loads(small):
    assert len(small.components) == 6
    assert small.graph.nodes["subsid"]["controlled_by"] == "CHN"
    assert small.graph.nodes["asml"]["controlled_by"] == "NLD"  # defaults to hq


@pytest.mark.parametrize(("text", "value"), [("61%", 0.61), ("0.61", 0.61), ("100%", 1.0),
                                             ("0", 0.0), (" 5 % ", 0.05), ("1", 1.0)])
def test_parse_fraction(text, value):
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["61", "150%", "-0.1", "abc", "nan"])
def test_parse_fraction_rejects(text):
    with pytest.raises(ValueError):
        parse_fraction(text)


def test_bad_share_names_file_row_column(tmp_path):
    t = small_tables()
    t["supply"][1]["share"] = "61"
    p = one(tmp_path, t)
    assert (p.file, p.row, p.column) == ("supply.csv", 3, "share")
    assert "write 0.61 or 61%" in p.message


def test_row_numbers_count_blank_lines(tmp_path):
    t = small_tables()
    t["supply"][1]["share"] = "61"
    folder = write_dataset(tmp_path / "ds", t)
    lines = (folder / "supply.csv").read_text(encoding="utf-8").splitlines()
    lines.insert(1, "")  # a blank line after the header: the bad row is now row 4
    (folder / "supply.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        semigraph.load(folder)
    errors = [p for p in exc.value.problems if p.severity == "error"]
    assert [(p.file, p.row, p.column) for p in errors] == [("supply.csv", 4, "share")]


def test_repeated_header_name_is_an_error_not_a_crash(tmp_path):
    folder = write_dataset(tmp_path / "ds", small_tables())
    lines = (folder / "sources.csv").read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("url", "kind")
    (folder / "sources.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        semigraph.load(folder)
    errors = [p for p in exc.value.problems if p.severity == "error"]
    assert [(p.file, p.row, p.column) for p in errors] == [("sources.csv", 1, "kind")]
    assert "more than once" in errors[0].message


def test_unknown_reference_with_suggestion(tmp_path):
    t = small_tables()
    t["supply"][4]["supplier"] = "asmll"
    p = one(tmp_path, t)
    assert (p.file, p.row, p.column) == ("supply.csv", 6, "supplier")
    assert "'asmll'" in p.message and "did you mean 'asml'" in p.message


@pytest.mark.parametrize(("table", "index", "column", "value", "file"), [
    ("requires", 0, "input", "galium", "requires.csv"),
    ("supply", 0, "component", "gallum", "supply.csv"),
    ("supply", 3, "site", "ZZZ", "supply.csv"),
    ("firms", 0, "hq", "NLX", "firms.csv"),
    ("firms", 3, "controlled_by", "CHA", "firms.csv"),
    ("firms", 0, "parent", "nobody", "firms.csv"),
    ("supply", 0, "source", "nosource", "supply.csv"),
])
def test_every_reference_is_checked(tmp_path, table, index, column, value, file):
    t = small_tables()
    t[table][index][column] = value
    p = one(tmp_path, t)
    assert (p.file, p.row, p.column) == (file, index + 2, column)
    assert repr(value) in p.message


def test_duplicate_id(tmp_path):
    t = small_tables()
    t["firms"].append(dict(t["firms"][0]))
    p = one(tmp_path, t)
    assert (p.file, p.row, p.column) == ("firms.csv", 6, "id")
    assert "duplicate id=asml (first at row 2)" in p.message


def test_cycle_is_named(tmp_path):
    t = small_tables()
    t["requires"].append({"component": "gallium", "input": "car", "source": "src"})
    p = one(tmp_path, t)
    assert p.file == "requires.csv" and p.column == "input"
    cycle = "car requires chip requires wafer requires gallium requires car"
    assert p.message.startswith("requirement cycle: ")
    named = p.message.removeprefix("requirement cycle: ").split(" (")[0]
    # the same cycle, whichever member it starts from
    assert named.split(" requires ")[:-1] in [
        (cycle.split(" requires ")[:-1] * 2)[i:i + 4] for i in range(4)]


def test_shares_above_one(tmp_path):
    t = small_tables()
    t["supply"][1]["share"] = "0.14"  # gallium sums to 1.04: fine
    semigraph.load(write_dataset(tmp_path / "ok", t))
    t["supply"][1]["share"] = "0.2"  # 1.10: warning, shares normalised
    model = semigraph.load(write_dataset(tmp_path / "warn", t))
    assert len(model.warnings) == 1 and "sum to 1.1" in model.warnings[0].message
    with pytest.raises(DatasetError):
        semigraph.load(tmp_path / "warn", strict=True)
    t["supply"][1]["share"] = "0.7"  # 1.60: error
    p = one(tmp_path, t)
    assert (p.file, p.row, p.column) == ("supply.csv", 2, "share")


def test_non_iso_country(tmp_path):
    t = small_tables()
    t["countries"].append({"id": "XXA", "name": "Nowhere"})
    p = one(tmp_path, t)
    assert (p.file, p.row, p.column) == ("countries.csv", 8, "id")
    assert "ISO 3166-1" in p.message


def test_firm_and_country_rows_for_one_site(tmp_path):
    t = small_tables()
    t["supply"].append({"component": "wafer", "supplier": "DEU", "site": "DEU", "share": "0.1",
                        "source": "src"})
    p = one(tmp_path, t)
    assert "counts the same supply twice" in p.message


def test_missing_table_and_column(tmp_path):
    folder = write_dataset(tmp_path / "ds", small_tables())
    (folder / "sources.csv").unlink()
    text = (folder / "supply.csv").read_text().replace("share,", "shares,", 1)
    (folder / "supply.csv").write_text(text)
    with pytest.raises(DatasetError) as exc:
        semigraph.load(folder)
    messages = [str(p) for p in exc.value.problems]
    assert any("missing table" in m and "sources.csv" in m for m in messages)
    assert any("column 'shares' is not known" in m and "rename the header to 'share'" in m
               for m in messages)


def test_all_problems_reported_together(tmp_path):
    t = small_tables()
    t["supply"][0]["share"] = "2"
    t["supply"][2]["supplier"] = "nobody"
    t["components"][0]["stage"] = "frontend"
    t["requires"].append({"component": "gallium", "input": "chip", "source": "src"})
    errors = [p for p in problems(tmp_path, t) if p.severity == "error"]
    assert {(p.file, p.column) for p in errors} == {
        ("supply.csv", "share"), ("supply.csv", "supplier"), ("components.csv", "stage"),
        ("requires.csv", "input")}


def test_unknown_share_takes_equal_part_of_rest(tmp_path):
    t = small_tables()
    t["supply"].append({"component": "litho-b", "supplier": "asml", "site": "NLD",
                        "source": "src"})
    t["supply"].append({"component": "litho-b", "supplier": "fab", "site": "TWN",
                        "source": "src"})
    model = semigraph.load(write_dataset(tmp_path / "ds", t))
    rows = model.supply[model.supply["component"] == "litho-b"].set_index("supplier")
    assert rows.at["asml", "share_used"] == pytest.approx(0.25)
    assert rows.at["fab", "share_used"] == pytest.approx(0.25)
    assert bool(rows.at["fab", "share_estimated"]) and not bool(rows.at["nikon",
                                                                      "share_estimated"])


def _tie_rules_case(change):
    t = small_tables()
    change(t)
    return t


@pytest.mark.parametrize(("change", "where", "message"), [
    (lambda t: t["components"][0].update(stock_days_min=40),  # gallium holds 30
     ("components.csv", "stock_days_min"), "is above its stock_days"),
    (lambda t: t["components"][4].update(stock_days=None, stock_days_min=3),
     ("components.csv", "stock_days_min"), "no stock_days"),
    (lambda t: [r.update(maker="true") for r in t["requires"] if r["input"] == "wafer"]
     + [t["requires"].append({"component": "chip", "input": "gallium", "maker": "true",
                              "source": "src"})],
     ("requires.csv", "maker"), "a second maker input"),
    (lambda t: [r.update(maker="true", group="any") for r in t["requires"]
                if r["component"] == "car"],
     ("requires.csv", "maker"), "group of alternatives"),
])
def test_tie_rules_name_file_row_and_column(tmp_path, change, where, message):
    problem = one(tmp_path, _tie_rules_case(change))
    assert (problem.file, problem.column) == where and problem.row is not None
    assert message in problem.message


def test_a_maker_that_is_capital_equipment_is_refused(tmp_path):
    t = small_tables()
    t["requires"].append({"component": "car", "input": "litho-b", "maker": "true",
                          "source": "src"})
    problem = one(tmp_path, t)
    assert problem.column == "maker" and "capital equipment" in problem.message


def test_unknown_stock_is_a_warning_that_names_the_components(tmp_path):
    t = small_tables()
    for row in t["components"][4:]:  # chip and car
        row["stock_days"] = None
    model = semigraph.load(write_dataset(tmp_path / "ds", t))
    warned = [p for p in model.warnings if p.column == "stock_days"]
    assert len(warned) == 1 and "(car, chip)" in warned[0].message
    result = model.whatif("gallium@CHN")
    assert result.table.attrs["unknown_stock"] == ["car", "chip"]
    assert not result.table.set_index("component").at["car", "stock_known"]


def test_captive_rows_load_without_a_warning(tmp_path):
    t = small_tables()
    t["supply"][4]["captive"] = "true"  # asml's litho-a
    model = semigraph.load(write_dataset(tmp_path / "ds", t))
    assert not [p for p in model.warnings if p.column == "captive"]


@pytest.mark.parametrize("row, why", [(0, "CHN is not a firm"), (6, "chip is a maker input")])
def test_a_captive_row_of_a_country_or_of_a_maker_input_is_an_error(tmp_path, row, why):
    t = small_tables()
    t["supply"][row]["captive"] = "true"  # China's gallium; fab's chip in Taiwan
    t["requires"][-1]["maker"] = "true"  # car: chip is its maker input
    with pytest.raises(DatasetError) as exc:
        semigraph.load(write_dataset(tmp_path / "ds", t))
    (problem,) = [p for p in exc.value.problems if p.column == "captive"]
    assert problem.file == "supply.csv" and problem.row is not None and why in problem.message
