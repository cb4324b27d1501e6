"""Frictionless Data descriptors (``datapackage.json``) for the datasets semigraph ships and
writes, generated from the schema, and the check ``semigraph validate`` runs on them.

A descriptor lists each table as a tabular resource with its fields (type, description,
constraints), primary key and foreign keys, so generic tools (Frictionless, CKAN, data
portals) read the tables without semigraph. The checks on the data themselves (types, keys,
references, row and column of every problem) are semigraph's own validator; this module
checks that the descriptor agrees with the schema and the files.

What ``semigraph validate`` accepts, ``frictionless validate`` accepts: where a folder has a
descriptor, its fields must be the file's columns in the file's order (Frictionless matches
them by position), and every cell of a CSV table must be readable as the type the descriptor
declares, by Frictionless's rules, which are stricter than semigraph's own: a share written
as a percent string (``70%``) in a field declared ``number``, a boolean written ``yes``, a
whole number written ``2021.0`` or a code with spaces around it are errors there, each
naming its file, row and column and what to write instead. Without a descriptor semigraph
reads them as before (a percent string is a share, ``yes`` is true).
"""

from __future__ import annotations

import re
from pathlib import Path

from semigraph.errors import Problem
from semigraph.schema import OPTIONAL_TABLES, TABLES, columns, key_columns

__all__ = ["check_package", "descriptor", "folder_headers", "resource", "write_package"]

PROFILE = "tabular-data-package"
_TYPES = {"iso3": "string", "slug": "string", "id": "string", "string": "string",
          "list": "string", "enum": "string", "number": "number", "fraction": "number",
          "integer": "integer", "boolean": "boolean"}
_PATTERNS = {"iso3": "^[A-Z]{3}$", "slug": "^[a-z0-9][a-z0-9._-]*$"}


def _field(col) -> dict:
    out: dict = {"name": col.name, "type": _TYPES[col.type], "description": col.description}
    cons: dict = {}
    if col.required:
        cons["required"] = True
    if col.type in _PATTERNS:
        cons["pattern"] = _PATTERNS[col.type]
    if col.values:
        cons["enum"] = list(col.values)
    if col.min is not None:
        cons["minimum"] = col.min
    if col.max is not None:
        cons["maximum"] = col.max
    if cons:
        out["constraints"] = cons
    if col.type == "fraction":
        out["description"] += (" (here a number; semigraph reads a percent string such as "
                               "61% only in a folder without datapackage.json)")
    return out


def resource(table: str, *, format: str = "csv", header: list[str] | None = None) -> dict:
    """The tabular resource of one table: fields, primary key and foreign keys.

    ``header`` is the file's columns: the fields are then those of the schema's columns the
    file has, in the file's order (Frictionless matches fields to columns by position).
    """
    cols = columns(table)
    if header is not None:
        by_name = {c.name: c for c in cols}
        cols = [by_name[name] for name in header if name in by_name]
    schema: dict = {"fields": [_field(c) for c in cols], "missingValues": [""]}
    key = list(key_columns(table))
    if key:
        schema["primaryKey"] = key
    fks = []
    for c in cols:
        if len(c.reference) == 1:  # a column referring to one of two tables cannot be declared
            fks.append({"fields": c.name,
                        "reference": {"resource": c.reference[0], "fields": "id"}})
    if fks:
        schema["foreignKeys"] = fks
    out = {"name": table, "path": f"{table}.{format}", "profile": "tabular-data-resource",
           "format": format, "schema": schema}
    if format == "csv":
        out.update(mediatype="text/csv", encoding="utf-8")
    else:
        out["mediatype"] = "application/vnd.apache.parquet"
    return out


def descriptor(*, name: str, version: str, title: str | None = None,
               tables=TABLES, format: str = "csv", licenses: list | None = None,
               sources: list | None = None, description: str | None = None,
               headers: dict[str, list[str]] | None = None) -> dict:
    """A Tabular Data Package descriptor for ``tables`` (in the schema's order).

    ``headers`` (table -> the file's columns, see :func:`folder_headers`) makes each
    resource's fields those of its file, in its order; without it every schema column is
    listed, in the schema's order, as :func:`semigraph.io.write.write_dataset` writes them.
    """
    out: dict = {"profile": PROFILE, "name": name, "version": str(version)}
    if title:
        out["title"] = title
    if description:
        out["description"] = description
    if licenses:
        out["licenses"] = licenses
    if sources:
        out["sources"] = sources
    present = [t for t in TABLES if t in set(tables)]
    out["resources"] = [resource(t, format=format, header=(headers or {}).get(t))
                        for t in present]
    for res in out["resources"]:  # a reference to a table not in the package is left out
        fks = [fk for fk in res["schema"].get("foreignKeys", [])
               if fk["reference"]["resource"] in present]
        if fks:
            res["schema"]["foreignKeys"] = fks
        else:
            res["schema"].pop("foreignKeys", None)
    return out


def folder_headers(folder: Path, tables=TABLES) -> dict[str, list[str]]:
    """The columns of each CSV table file in ``folder`` (table -> header), as read."""
    import csv

    out = {}
    for table in tables:
        path = Path(folder) / f"{table}.csv"
        if path.is_file():
            with open(path, encoding="utf-8-sig", newline="") as fh:
                out[table] = [c.strip() for c in next(csv.reader(fh), [])]
    return out


def write_package(folder: Path, package: dict) -> Path:
    """Write ``package`` as ``folder/datapackage.json`` (atomically)."""
    import json

    from semigraph.io.write import atomic_write

    text = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    return atomic_write(Path(folder) / "datapackage.json",
                        lambda fh: fh.write(text.encode("utf-8")), force=True)


def _in_folder(folder: Path, path: str) -> Path | None:
    """``path`` in ``folder``, or None when it names anything outside it (absolute, ``..``,
    or through a link that leads out)."""
    rel = Path(path)
    if rel.is_absolute() or rel.drive or ".." in rel.parts or not rel.parts:
        return None
    try:
        base = folder.resolve()
        if not (base / rel).resolve().is_relative_to(base):
            return None
    except (OSError, RuntimeError, ValueError):
        return None
    return base / rel


def check_package(folder: Path, meta: dict, tables_present: set[str],
                  tables: dict | None = None) -> list[Problem]:
    """Where ``datapackage.json`` disagrees with the schema or the files; nothing when there
    is no descriptor.

    Disagreements with the schema are warnings (the data are checked by the validator
    itself). Given the tables as read (``tables``: name -> :class:`RawTable`), a CSV file
    whose columns are not the resource's fields in order, and a cell that Frictionless would
    not read as its field's declared type, are errors: generic tools would refuse the folder
    (see the module's documentation).
    """
    if not (folder / "datapackage.json").is_file():
        return [Problem("datapackage.json", None, None, "missing: the folder is not a data "
                        "package (semigraph writes one with every dataset)", "warning")]
    problems = []
    resources = meta.get("resources")
    if not isinstance(resources, list):
        return [Problem("datapackage.json", None, "resources", "no list of resources",
                        "warning")]

    def warn(where: str, message: str) -> None:
        problems.append(Problem("datapackage.json", None, where, message, "warning"))

    named = {r.get("name"): r for r in resources if isinstance(r, dict)}
    for table in sorted(tables_present - set(named)):
        warn("resources", f"table {table} is in the folder but not a resource")
    for name, res in named.items():
        if name not in TABLES:
            warn("resources", f"resource {name!r} is not a semigraph table")
            continue
        path = res.get("path")
        if isinstance(path, str):
            inside = _in_folder(folder, path)
            if inside is None:  # never looked at: validation says nothing of other files
                warn(f"resources.{name}.path", f"{path!r} is not a file of the dataset "
                     "folder; a resource's path names a table file in it, such as "
                     f"{name}.csv")
            elif not inside.is_file():
                warn(f"resources.{name}.path", f"{path} does not exist")
        if name not in tables_present and name not in OPTIONAL_TABLES:
            warn(f"resources.{name}", "no such table in the folder")
        schema = res.get("schema")
        if schema is None:
            continue  # a bare resource (name and path) is allowed
        fields = schema.get("fields", []) if isinstance(schema, dict) else []
        want = {c.name: _TYPES[c.type] for c in columns(name)}
        for f in fields:
            if not isinstance(f, dict) or f.get("name") not in want:
                warn(f"resources.{name}.schema", f"field {f!r} is not a column of {name}")
            elif f.get("type", "string") != want[f["name"]]:
                warn(f"resources.{name}.schema.{f['name']}",
                     f"type {f.get('type')!r} where the schema has {want[f['name']]!r}")
        key = schema.get("primaryKey") if isinstance(schema, dict) else None
        if key is not None and list([key] if isinstance(key, str) else key) != \
                list(key_columns(name)):
            warn(f"resources.{name}.schema.primaryKey",
                 f"{key} where the schema's key is {list(key_columns(name))}")
        raw = (tables or {}).get(name)
        if raw is not None and raw.file.endswith(".csv") and isinstance(path, str) \
                and Path(path).name == raw.file:
            problems += _check_csv(raw, [f for f in fields if isinstance(f, dict)],
                                   schema.get("missingValues", [""]))
    return problems


# Frictionless's default readings (Table Schema, frictionless-py 5): what a generic tool
# accepts for each declared type.
_FL_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_FL_INTEGER = re.compile(r"[-+]?\d+")
_FL_TRUE = ("true", "True", "TRUE", "1")
_FL_FALSE = ("false", "False", "FALSE", "0")
#: Cells of one column reported before the rest are counted.
_SHOWN = 5


def _fl_problem(cell: str, spec: dict) -> str | None:
    """Why Frictionless would refuse ``cell`` for field ``spec``, or None."""
    kind = spec.get("type", "string")
    name = spec.get("name")
    text = cell.strip()
    if kind == "number" and not _FL_NUMBER.fullmatch(text):
        if text.endswith("%") and _FL_NUMBER.fullmatch(text[:-1].strip()):
            value = float(text[:-1]) / 100
            return (f"{cell!r} is a percent string, but datapackage.json declares {name} a "
                    f"number, so Frictionless tools refuse it; write {value:g}")
        return f"{cell!r} is not a number as datapackage.json declares {name}"
    if kind == "integer" and not _FL_INTEGER.fullmatch(text):
        return (f"{cell!r} is not a whole number written with digits only, as "
                f"datapackage.json declares {name} an integer")
    if kind == "boolean" and cell not in _FL_TRUE + _FL_FALSE:
        truth = text.lower() in ("true", "yes", "y", "t", "1")
        return (f"{cell!r} is not true or false as Frictionless reads a boolean; write "
                f"{'true' if truth else 'false'}")
    if kind == "string":
        cons = spec.get("constraints") or {}
        pattern = cons.get("pattern")
        if pattern and not re.fullmatch(pattern, cell):
            if cell != text and re.fullmatch(pattern, text):
                return f"{cell!r} has spaces around it; write {text!r}"
            return f"{cell!r} does not match the pattern {pattern} of {name}"
        if cons.get("enum") and cell not in cons["enum"] and text in cons["enum"]:
            return f"{cell!r} has spaces around it; write {text!r}"
    return None


def _check_csv(raw, fields: list[dict], missing) -> list[Problem]:
    """Errors where a CSV table and its resource's fields disagree, as Frictionless sees it."""
    header = list(raw.frame.columns)
    names = [f.get("name") for f in fields]
    if fields and names != header:
        return [Problem(raw.file, 1, None, f"the columns are {header}, but datapackage.json "
                        f"lists the fields {names}: Frictionless matches fields to columns by "
                        "position, so list them in the file's order (semigraph writes the "
                        "descriptor from the files)")]
    missing = set(missing if isinstance(missing, list) else [""])
    problems = []
    for spec in fields:
        name = spec.get("name")
        if name not in raw.frame.columns:
            continue
        bad = []
        for index, cell in raw.frame[name].items():
            if cell in missing:
                continue
            why = _fl_problem(cell, spec)
            if why is not None:
                bad.append((int(index) + 2, why))
        problems += [Problem(raw.file, row, name, why) for row, why in bad[:_SHOWN]]
        if len(bad) > _SHOWN:
            problems.append(Problem(raw.file, bad[_SHOWN][0], name,
                                    f"and {len(bad) - _SHOWN:,} more cell(s) of {name} that "
                                    "Frictionless would refuse"))
    return problems
