"""Hostile or careless input: formulas in exported names, script links in sources."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import semigraph
from semigraph.cli import cli
from semigraph.errors import DatasetError
from tests.datasets import small_tables, write_dataset

FORMULAS = ['=HYPERLINK("http://example.invalid","x")', "+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1,2)"]


@pytest.fixture
def formula_path(tmp_path):
    t = small_tables()
    for row, name in zip(t["firms"], FORMULAS):
        row["name"] = name
    t["components"][-1]["name"] = "=1+1"
    t["components"][0]["name"] = "Gallium\x01\uffff"  # characters XLSX cannot hold
    return write_dataset(tmp_path / "f", t)


@pytest.mark.parametrize("args", [["whatif", "--cut", "CHN", "--all"], ["concentration"],
                                  ["stockpile"], ["spof", "--target", "car"],
                                  ["concentration", "--by", "firm"]])
def test_no_formula_in_csv_or_xlsx(formula_path, tmp_path, args):
    runner = CliRunner()
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"out.{suffix}"
        result = runner.invoke(cli, [*args, "--dataset", str(formula_path), "-o", str(out),
                                     "--force"])
        assert result.exit_code == 0, result.output
        if suffix == "csv":
            with open(out, newline="", encoding="utf-8") as fh:
                cells = [c for row in csv.reader(fh) for c in row]
            assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")
                        and not _number(c)]
        else:
            sheet = load_workbook(out).active
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", cell.value  # never a formula
                    if isinstance(cell.value, str):
                        assert "\x01" not in cell.value and "\uffff" not in cell.value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_formula_text_kept_in_json(formula_path):
    result = CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--all", "--dataset",
                                      str(formula_path), "--format", "json"])
    names = {r["name"] for r in json.loads(result.output)}
    assert "=1+1" in names  # JSON keeps the text as it is: it is typed, not a spreadsheet


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)",
                                 "file:///etc/passwd", "data:text/html,<script>x</script>",
                                 "https://ok.example/ x"])
def test_script_links_are_errors_for_every_source(tmp_path, url):
    t = small_tables()
    t["sources"][0]["url"] = url  # an estimate source, checked all the same
    with pytest.raises(DatasetError, match="sources.csv, row 2, column url"):
        semigraph.load(write_dataset(tmp_path / "u", t))


def test_doi_and_web_links_are_fine(tmp_path):
    t = small_tables()
    t["sources"][0]["url"] = "doi:10.1000/182"
    semigraph.load(write_dataset(tmp_path / "d", t))
