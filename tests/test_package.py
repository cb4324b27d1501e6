"""Frictionless descriptors: generated from the schema, written with every dataset, checked
by ``semigraph validate``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

import semigraph
from semigraph.io.package import descriptor, folder_headers
from semigraph.schema import TABLES, columns, key_columns
from tests.datasets import small_tables, write_dataset


def test_descriptor_follows_the_schema():
    d = descriptor(name="x", version="1")
    assert d["profile"] == "tabular-data-package"
    names = [r["name"] for r in d["resources"]]
    assert names == list(TABLES)
    for res in d["resources"]:
        fields = [f["name"] for f in res["schema"]["fields"]]
        assert fields == [c.name for c in columns(res["name"])]
        assert res["schema"].get("primaryKey", []) == list(key_columns(res["name"]))
        for fk in res["schema"].get("foreignKeys", []):
            assert fk["fields"] in fields
            assert fk["reference"]["resource"] in names and fk["reference"]["fields"] == "id"
    supply = next(r for r in d["resources"] if r["name"] == "supply")
    share = next(f for f in supply["schema"]["fields"] if f["name"] == "share")
    assert share["type"] == "number"
    assert share["constraints"] == {"minimum": 0.0, "maximum": 1.0}
    refs = {fk["fields"]: fk["reference"]["resource"] for fk in supply["schema"]["foreignKeys"]}
    # supplier refers to firms or countries: not declarable as one foreign key
    assert refs == {"component": "components", "site": "countries", "source": "sources",
                    "split_source": "sources"}


def test_foreign_keys_to_absent_tables_are_left_out():
    d = descriptor(name="x", version="1", tables=("supply", "sources"))
    supply = d["resources"][0]
    assert [fk["fields"] for fk in supply["schema"]["foreignKeys"]] == ["source",
                                                                        "split_source"]


def test_written_dataset_carries_a_valid_package(small, tmp_path):
    folder = small.to_folder(tmp_path / "out")
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["name"] == "small"
    assert {r["name"] for r in package["resources"]} == {"countries", "firms", "components",
                                                         "supply", "requires", "sources"}
    _, problems = semigraph.validate(folder)
    assert problems == []


def test_validate_reports_a_package_that_disagrees(tmp_path):
    folder = write_dataset(tmp_path / "d", small_tables())
    _, problems = semigraph.validate(folder)
    assert [(p.file, p.severity) for p in problems] == [("datapackage.json", "warning")]
    present = [t for t in TABLES if (folder / f"{t}.csv").is_file()]
    package = descriptor(name="d", version="1", tables=present)
    supply = next(r for r in package["resources"] if r["name"] == "supply")
    next(f for f in supply["schema"]["fields"] if f["name"] == "share")["type"] = "string"
    (folder / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    _, problems = semigraph.validate(folder)
    assert [(p.file, p.column) for p in problems] == [
        ("datapackage.json", "resources.supply.schema.share")]
    assert "type 'string' where the schema has 'number'" in problems[0].message


def test_bundled_package_is_generated_from_the_schema():
    net = semigraph.load()
    on_disk = json.loads((net.path / "datapackage.json").read_text(encoding="utf-8"))
    again = descriptor(name=net.name, version=net.version, title=net.meta.get("title"),
                       licenses=net.meta.get("licenses"),
                       tables=[r["name"] for r in on_disk["resources"]],
                       headers=folder_headers(net.path))
    assert on_disk == again
    # the fields are each file's columns, in its order: Frictionless matches by position
    for res in on_disk["resources"]:
        assert [f["name"] for f in res["schema"]["fields"]] == \
            folder_headers(net.path)[res["name"]]


# -- what semigraph validate accepts, frictionless validate accepts --------------------------


def frictionless_errors(folder: Path) -> list[tuple]:
    """(resource, row, field, error type) of every error the Frictionless library finds."""
    from frictionless import validate

    report = validate(str(folder / "datapackage.json"))
    return [(task.name, getattr(e, "row_number", None), getattr(e, "field_name", None),
             e.type) for task in report.tasks for e in task.errors]


def semigraph_errors(folder: Path) -> list[tuple]:
    _, problems = semigraph.validate(folder)
    return [(p.file, p.row, p.column) for p in problems if p.severity == "error"]


def test_bundled_dataset_passes_frictionless():
    folder = semigraph.load().path
    assert semigraph_errors(folder) == []
    assert frictionless_errors(folder) == []


def edit(folder: Path, table: str, row: int, column: str, text: str) -> None:
    """Set one cell (``row`` as a spreadsheet counts, header = 1) of a CSV table."""
    path = folder / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if column not in rows[0]:
        rows[0].append(column)
        for r in rows[1:]:
            r.append("")
    rows[row - 1][rows[0].index(column)] = text
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_percent_share_is_an_error_where_the_package_declares_a_number(small, tmp_path):
    folder = small.to_folder(tmp_path / "d")
    share = pd.read_csv(folder / "supply.csv")["share"]
    edit(folder, "supply", 2, "share", f"{share.iloc[0] * 100:g}%")
    # semigraph and Frictionless agree: the cell is refused, with its row and column
    assert semigraph_errors(folder) == [("supply.csv", 2, "share")]
    _, problems = semigraph.validate(folder)
    assert f"write {share.iloc[0]:g}" in problems[0].message
    assert ("supply", 2, "share", "type-error") in frictionless_errors(folder)
    # without a descriptor, the percent string is semigraph's own format again
    (folder / "datapackage.json").unlink()
    assert semigraph_errors(folder) == []
    assert semigraph.load(folder).supply["share"].iloc[0] == pytest.approx(share.iloc[0])


@pytest.mark.parametrize(("table", "column", "text", "refused"), [
    ("supply", "share", "0.5", False),
    ("supply", "share", " 0.5 ", False),        # Frictionless trims numbers too
    ("supply", "share", "50%", True),
    ("supply", "share", "50 %", True),
    ("components", "storable", "true", False),
    ("components", "storable", "TRUE", False),
    ("components", "storable", "yes", True),    # semigraph reads it; Frictionless does not
    ("sources", "year", "2021", False),
    ("sources", "year", "2021.0", True),
    ("supply", "site", " NLD", True),
    ("sources", "kind", "estimate ", True),
])
def test_validate_accepts_only_what_frictionless_accepts(small, tmp_path, table, column, text,
                                                         refused):
    folder = small.to_folder(tmp_path / "d")
    if column == "site":  # a site that stays valid once trimmed: the first row's own
        text = " " + pd.read_csv(folder / "supply.csv")["site"].iloc[0]
    edit(folder, table, 2, column, text)
    ours = semigraph_errors(folder)
    theirs = frictionless_errors(folder)
    assert bool(ours) == refused, ours
    assert bool(theirs) == refused, theirs
    if refused:
        assert ours == [(f"{table}.csv", 2, column)]


def test_descriptor_lists_the_files_columns_in_order(small, tmp_path):
    folder = small.to_folder(tmp_path / "d")
    supply = pd.read_csv(folder / "supply.csv", dtype=str, keep_default_na=False)
    supply[list(reversed(supply.columns))].to_csv(folder / "supply.csv", index=False)
    assert semigraph_errors(folder) == [("supply.csv", 1, None)]
    assert any(e[3] in ("incorrect-label", "type-error") for e in frictionless_errors(folder))
    package = descriptor(name="small", version="1", tables=[
        r["name"] for r in json.loads((folder / "datapackage.json").read_text())["resources"]],
        headers=folder_headers(folder))
    (folder / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    assert semigraph_errors(folder) == [] and frictionless_errors(folder) == []
