"""The dataset's table schemas, read from ``data/schema.csv``.

The schema is data: validation, the typed tables, the docs and the ``datapackage.json`` that
semigraph writes are all derived from the one CSV file, so they cannot drift apart.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["OPTIONAL_TABLES", "TABLES", "Column", "columns", "iso3_codes", "key_columns", "stages"]

TABLES = ("countries", "firms", "components", "supply", "consumption", "requires", "sources",
          "uncertainty")
#: Tables a dataset may leave out (read as empty).
OPTIONAL_TABLES = frozenset({"consumption", "uncertainty"})


@dataclass(frozen=True)
class Column:
    """One column of a dataset table."""

    table: str
    name: str
    type: str  # iso3, slug, id, string, number, fraction, integer, boolean, enum, list
    required: bool  # every cell must be filled
    key: bool
    present: bool  # the column must be there, even where its cells may be empty
    reference: tuple[str, ...]  # tables whose ids this column refers to
    values: tuple[str, ...]  # allowed values of an enum
    min: float | None
    max: float | None
    description: str


def _read(name: str) -> str:
    return resources.files("semigraph").joinpath("data", name).read_text(encoding="utf-8")


@cache
def _schema() -> dict[str, tuple[Column, ...]]:
    out: dict[str, list[Column]] = {t: [] for t in TABLES}
    for row in csv.DictReader(io.StringIO(_read("schema.csv"))):
        out[row["table"]].append(
            Column(
                table=row["table"],
                name=row["column"],
                type=row["type"],
                required=row["required"] == "true",
                present=row["required"] in ("true", "column"),
                key=row["key"] == "true",
                reference=tuple(filter(None, row["reference"].split("|"))),
                values=tuple(filter(None, row["values"].split(";"))),
                min=float(row["min"]) if row["min"] else None,
                max=float(row["max"]) if row["max"] else None,
                description=row["description"],
            )
        )
    return {t: tuple(cols) for t, cols in out.items()}


def columns(table: str) -> tuple[Column, ...]:
    """The columns of ``table`` in their canonical order."""
    return _schema()[table]


def key_columns(table: str) -> tuple[str, ...]:
    """The columns that identify a row of ``table``."""
    return tuple(c.name for c in columns(table) if c.key)


@cache
def iso3_codes() -> frozenset[str]:
    """The officially assigned ISO 3166-1 alpha-3 codes."""
    lines = _read("iso3166_alpha3.txt").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def stages() -> tuple[str, ...]:
    """The value-chain stages in the order goods flow (materials first, end use last)."""
    return next(c.values for c in columns("components") if c.name == "stage")
