"""Read a dataset folder's tables (CSV or Parquet) as text, keeping row numbers."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from semigraph.errors import DatasetError, Problem
from semigraph.schema import OPTIONAL_TABLES, TABLES

__all__ = ["RawDataset", "RawTable", "read_files", "read_folder"]


@dataclass
class RawTable:
    """A table as read, every cell as a string ('' for empty).

    The index of ``frame`` is the row number a spreadsheet shows, less 2 (row 1 is the
    header); a skipped blank line keeps the numbers of the rows after it.
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


class _FileProblem(Exception):
    """A table file that cannot be read as a whole, with the line where it goes wrong."""

    def __init__(self, row: int | None, message: str) -> None:
        super().__init__(message)
        self.row = row


def allow_large_fields() -> None:
    """Let the csv module read cells of any length: its default limit (131,072 characters)
    refuses a long note that pandas writes without complaint. The largest limit the platform
    takes (a C long: 2**31 - 1 on Windows)."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _read_csv(data: bytes) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Every cell of a CSV file's bytes as text, and the rows whose number of fields differs
    from the header.

    A ragged row is never shifted into other columns: it is reported with its row number.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise _FileProblem(line, "not UTF-8 text; save the file as UTF-8 (CSV UTF-8 in a "
                           "spreadsheet program)") from None
    allow_large_fields()
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _FileProblem(None, f"not valid CSV: {exc}") from None
    if not rows:
        raise _FileProblem(None, "the file is empty; it needs a header row")
    header, ragged, body, numbers = rows[0], [], [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            ragged.append((number, f"{len(row)} fields where the header has {len(header)}; "
                                   "quote cells that contain commas"))
            row = (row + [""] * len(header))[:len(header)]
        body.append(row)
        numbers.append(number)
    # indexed by row number - 2, so that a message names the file's row after blank lines too
    index = pd.Index([n - 2 for n in numbers])
    return pd.DataFrame(body, columns=header, index=index, dtype=object), ragged


def _read_parquet(data: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    cols = {}
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            cols[name] = column.fill_null("").to_pylist()  # text as it is, empty for null
        else:
            values = table.select([name]).to_pandas()[name].tolist()
            cols[name] = [_cell_text(v) for v in values]
    return pd.DataFrame(cols, dtype=object)


def _read_package(data: bytes) -> tuple[dict, str | None]:
    """The data package descriptor (the file's bytes), or the reason it cannot be used."""
    try:
        meta = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return {}, "not UTF-8 text"
    except json.JSONDecodeError as exc:
        return {}, f"not valid JSON: {exc}"
    except RecursionError:
        return {}, "nested too deeply to be a data package descriptor"
    if not isinstance(meta, dict):
        return {}, f"must be a JSON object (name, version, licenses, ...), not a {_kind(meta)}"
    for key in ("name", "version", "title"):
        if key in meta and not isinstance(meta[key], (str, int, float)):
            return {}, f"{key} must be text, not a {_kind(meta[key])}"
    licenses = meta.get("licenses", [])
    if not isinstance(licenses, list) or not all(isinstance(x, dict) for x in licenses):
        return {}, ('licenses must be a list of objects such as [{"name": "CC-BY-4.0"}], not '
                    f"{json.dumps(licenses)[:60]}")
    return meta, None


def _kind(value) -> str:
    return {dict: "object", list: "list", str: "text", bool: "boolean"}.get(type(value),
                                                                             "number")


def _wanted(name: str) -> bool:
    stem, _, suffix = name.rpartition(".")
    return (stem in TABLES and suffix in ("csv", "parquet")) or name == "datapackage.json"


def read_files(path: str | Path) -> dict[str, bytes | OSError]:
    """The bytes of every file of the dataset folder that validation reads (the table files
    and ``datapackage.json``), each read once, by name; an error in place of a file that
    cannot be read. The validation cache hashes these bytes and :func:`read_folder` parses
    them, so what is cached is exactly what its key says, even if a file changes meanwhile.
    """
    folder = Path(path)
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise DatasetError([Problem(str(folder), None, None,
                                    f"cannot be read: {exc.strerror or exc}")],
                           path=str(folder)) from None
    files: dict[str, bytes | OSError] = {}
    for name in names:
        if _wanted(name):
            files[name] = _read_regular(folder / name)
    return files


class NotRegularFile(OSError):
    """A dataset file that is a named pipe, a device, a socket or a folder: never read."""

    def __str__(self) -> str:
        return self.strerror


_LINK = ("is a link; a dataset table is read from a regular file in the dataset folder, never "
         "through a link (copy the file into the folder)")


def _read_regular(path: Path) -> bytes | OSError:
    """The bytes of a regular file in the folder. A link is an error, wherever it leads (a
    link to ``/etc/passwd`` would show its lines in validation messages), and so is what
    lies outside the folder through it. The file is opened without waiting (a named pipe
    would wait for a writer) and what was opened is checked before reading: a pipe, a
    device or a folder is an error."""
    import stat

    from semigraph.io.write import describe_kind

    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return NotRegularFile(0, _LINK)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOFOLLOW", 0))  # a link put there meanwhile: ELOOP
    except OSError as exc:
        if isinstance(exc, IsADirectoryError):
            return NotRegularFile(exc.errno, "is a folder, not a regular file")
        if os.path.islink(path):
            return NotRegularFile(0, _LINK)
        return exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return NotRegularFile(0, f"is a {describe_kind(st)}, not a regular file; a "
                                     "dataset table is read from a regular file only")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            return fh.read()
    except OSError as exc:
        return exc
    finally:
        if fd >= 0:
            os.close(fd)


def _why(exc: OSError) -> str:
    return str(exc) if isinstance(exc, NotRegularFile) else (exc.strerror or str(exc))


def read_folder(path: str | Path, files: dict[str, bytes | OSError] | None = None
                ) -> RawDataset:
    """Read the tables of the dataset folder ``path``.

    Each table is ``NAME.csv`` or ``NAME.parquet``; optional tables (``consumption``) may be
    missing. A missing folder raises
    :class:`DatasetError` at once; missing or unreadable tables are collected as problems.
    ``files`` (from :func:`read_files`) are the folder's bytes when already read.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(
            [Problem(str(folder), None, None, "no such dataset folder")], path=str(folder)
        )
    if files is None:
        files = read_files(folder)
    data = RawDataset(path=folder, tables={})
    package = files.get("datapackage.json")
    if isinstance(package, OSError):
        data.problems.append(Problem("datapackage.json", None, None,
                                     f"cannot be read: {_why(package)}"))
    elif package is not None:
        data.meta, problem = _read_package(package)
        if problem:
            data.problems.append(Problem("datapackage.json", None, None, problem))
    for name in TABLES:
        csv_path, pq_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        if csv_path.name in files and pq_path.name in files:
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
        file = (csv_path if csv_path.name in files else pq_path if pq_path.name in files
                else None)
        if file is None:
            if name in OPTIONAL_TABLES:
                continue
            data.problems.append(
                Problem(f"{name}.csv", None, None, f"missing table: expected {name}.csv or "
                        f"{name}.parquet in {folder}")
            )
            continue
        ragged: list[tuple[int, str]] = []
        try:
            content = files[file.name]
            if isinstance(content, OSError):
                raise content
            if file.suffix == ".csv":
                frame, ragged = _read_csv(content)
            else:
                frame = _read_parquet(content)
        except _FileProblem as exc:
            data.problems.append(Problem(file.name, exc.row, None, str(exc)))
            continue
        except OSError as exc:
            data.problems.append(Problem(file.name, None, None, f"cannot be read: {_why(exc)}"))
            continue
        except Exception as exc:  # any parser failure is the file's fault, reported with its name
            data.problems.append(Problem(file.name, None, None, f"cannot be read: {exc}"))
            continue
        frame.columns = [str(c).strip() for c in frame.columns]
        repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        if repeated:  # which of the two is meant cannot be told, so the table is not read
            data.problems += [Problem(file.name, 1, c, "column appears more than once in the "
                                      "header") for c in repeated]
            continue
        data.problems += [Problem(file.name, row, None, message) for row, message in ragged]
        data.tables[name] = RawTable(name=name, file=file.name, frame=frame)
    return data
