"""Frictionless Data descriptors (``datapackage.json``) for the datasets semigraph ships and
writes, generated from the schema, and the check ``semigraph validate`` runs on them.

A descriptor lists each table as a tabular resource with its fields (type, description,
constraints), primary key and foreign keys, so generic tools (Frictionless, CKAN, data
portals) read the tables without semigraph. The checks on the data themselves (types, keys,
references, row and column of every problem) are semigraph's own validator; this module
checks that the descriptor agrees with the schema and the files.
"""

from __future__ import annotations

from pathlib import Path

from semigraph.errors import Problem
from semigraph.schema import OPTIONAL_TABLES, TABLES, columns, key_columns

__all__ = ["check_package", "descriptor", "resource", "write_package"]

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
        out["description"] += " (semigraph also reads a percent string such as 61%)"
    return out


def resource(table: str, *, format: str = "csv") -> dict:
    """The tabular resource of one table: fields, primary key and foreign keys."""
    cols = columns(table)
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
               sources: list | None = None, description: str | None = None) -> dict:
    """A Tabular Data Package descriptor for ``tables`` (in the schema's order)."""
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
    out["resources"] = [resource(t, format=format) for t in present]
    for res in out["resources"]:  # a reference to a table not in the package is left out
        fks = [fk for fk in res["schema"].get("foreignKeys", [])
               if fk["reference"]["resource"] in present]
        if fks:
            res["schema"]["foreignKeys"] = fks
        else:
            res["schema"].pop("foreignKeys", None)
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


def check_package(folder: Path, meta: dict, tables_present: set[str]) -> list[Problem]:
    """Where ``datapackage.json`` disagrees with the schema or the files (warnings: the data
    are checked by the validator itself); nothing when there is no descriptor."""
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
    return problems
