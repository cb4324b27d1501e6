"""Frictionless descriptors: generated from the schema, written with every dataset, checked
by ``semigraph validate``."""

from __future__ import annotations

import json

import semigraph
from semigraph.io.package import descriptor
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
                       licenses=net.meta.get("licenses"))
    assert on_disk == again
