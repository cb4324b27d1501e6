"""Read a dataset folder's tables (CSV or Parquet) as text, keeping row numbers."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from semigraph.errors import DatasetError, Problem
from semigraph.schema import OPTIONAL_TABLES, TABLES

__all__ = ["RawDataset", "RawTable", "read_folder"]


@dataclass
class RawTable:
    """A table as read, every cell as a string ('' for empty).

    Row ``i`` of ``frame`` is the ``i + 2``-th row a spreadsheet shows (row 1 is the header).
    """

    name: str
    file: str
    frame: pd.DataFrame


@dataclass
class RawDataset:
    path: Path
    tables: dict[str, RawTable]
    meta: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _cell_text(value: object) -> str:
    """Text of a cell read from Parquet, so typed and text files validate the same way."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8-sig",
        skipinitialspace=False,
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    return pd.DataFrame(
        {col: [_cell_text(v) for v in frame[col].tolist()] for col in frame.columns},
        dtype=object,
    )


def read_folder(path: str | Path) -> RawDataset:
    """Read the tables of the dataset folder ``path``.

    Each table is ``NAME.csv`` or ``NAME.parquet``; optional tables (``consumption``) may be
    missing. A missing folder raises
    :class:`DatasetError` at once; missing or unreadable tables are collected as problems.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(
            [Problem(str(folder), None, None, "no such dataset folder")], path=str(folder)
        )
    data = RawDataset(path=folder, tables={})
    package = folder / "datapackage.json"
    if package.is_file():
        try:
            data.meta = json.loads(package.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            data.problems.append(Problem("datapackage.json", None, None, f"not valid JSON: {exc}"))
    for name in TABLES:
        csv_path, pq_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        if csv_path.is_file() and pq_path.is_file():
            data.problems.append(
                Problem(
                    f"{name}.csv",
                    None,
                    None,
                    f"both {name}.csv and {name}.parquet exist; keep one so the table is "
                    "unambiguous",
                )
            )
            continue
        file = csv_path if csv_path.is_file() else pq_path if pq_path.is_file() else None
        if file is None:
            if name in OPTIONAL_TABLES:
                continue
            data.problems.append(
                Problem(f"{name}.csv", None, None, f"missing table: expected {name}.csv or "
                        f"{name}.parquet in {folder}")
            )
            continue
        try:
            frame = _read_csv(file) if file.suffix == ".csv" else _read_parquet(file)
        except Exception as exc:  # any parser failure is the file's fault, reported with its name
            data.problems.append(Problem(file.name, None, None, f"cannot be read: {exc}"))
            continue
        frame.columns = [str(c).strip() for c in frame.columns]
        data.tables[name] = RawTable(name=name, file=file.name, frame=frame.reset_index(drop=True))
    return data
