"""Bring the tables an importer wrote into a dataset folder: ``semigraph dataset merge``.

An importer (``semigraph import trade``, ``semigraph import cset``) writes a folder of
dataset tables: some of ``countries``, ``firms``, ``components``, ``supply``, ``requires``,
``consumption`` and ``sources``. :func:`merge_dataset` adds their rows to a copy of a dataset
folder and writes the result as a new folder, whole or not at all, after validating it.

What counts as the same row
---------------------------
``countries``, ``firms``, ``components`` and ``sources`` rows are the same row when their ids
are; ``requires`` rows when component and input are. ``supply`` and ``consumption`` are
matched by component: the shares of one component are one breakdown of its world supply (or
consumption) and must come from one consistent set of rows, so imported rows of a component
the dataset already supplies conflict with all of the dataset's rows of it, not only with the
rows that have the same supplier and site (mixing two breakdowns would count the component
twice, or put a country row beside firm rows of the same site). A row that equals the
dataset's (every column both have, spaces aside) is no conflict.

Conflicts are errors, each naming the imported file, row and column, unless ``on_conflict``
says which side wins: ``"replace"`` (the imported rows replace the dataset's: for supply and
consumption, every row of the component) or ``"keep"`` (the dataset's rows stay and the
imported ones are left out).

Provenance. Every row keeps its ``source`` id, and the imported ``sources`` rows come along,
so each merged figure still names where it comes from. The output folder holds a
``merge-log.csv`` (one line per imported row: table, key, action, the rows in both folders,
source; earlier merges' lines are kept above) and a section at the end of its ``README.md``
that says what was merged from where. Tables that are not dataset tables (the trade import's
``imports.csv``, a region's import dependency) are left out and the log says so. Where the
dataset gives ranges around its figures (an ``uncertainty`` table keyed by table and row
key), the ranges of replaced figures go with them, logged as removed: they were set around
the dataset's figures, not the imported ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from semigraph.errors import DatasetError, Problem
from semigraph.io.read import RawTable, read_folder
from semigraph.io.write import write_folder
from semigraph.schema import TABLES, columns, key_columns

__all__ = ["CONFLICT_CHOICES", "MergeReport", "merge_dataset"]

CONFLICT_CHOICES = ("error", "replace", "keep")
#: Tables whose rows of one component form one breakdown, matched by component.
BY_COMPONENT = ("supply", "consumption")
LOG = "merge-log.csv"
_LOG_COLUMNS = ["merged_on", "imported_from", "table", "key", "action", "imported_row",
                "dataset_rows", "source"]
#: The table of ranges around figures (rows keyed by table and the figure's row key): a
#: range of a replaced figure goes with it.
RANGES = "uncertainty"
#: Conflicts listed before the rest are counted.
_SHOWN = 20


@dataclass
class MergeReport:
    """What :func:`merge_dataset` did.

    ``counts`` is table -> action -> rows (actions: ``added``, ``replaced`` (imported rows
    that replaced the dataset's), ``removed`` (dataset rows they replaced), ``kept`` (imported
    rows left out for the dataset's), ``identical``); ``log`` the lines written to
    ``merge-log.csv``; ``left_out`` the files of the imported folder that are not dataset
    tables; ``warnings`` the validation warnings of the merged dataset.
    """

    path: Path
    counts: dict[str, dict[str, int]]
    log: list[dict] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: table -> keys (key columns joined with '/') of the dataset rows replaced
    removed: dict[str, set[str]] = field(default_factory=dict)


def _text(frame_row: dict, cols: list[str]) -> tuple[str, ...]:
    return tuple((frame_row.get(c) or "").strip() for c in cols)


def _rows(table: RawTable) -> list[tuple[int, dict]]:
    """(row as a spreadsheet counts it, cells by column) of a table as read."""
    records = table.frame.to_dict("records")
    return [(int(i) + 2, r) for i, r in zip(table.frame.index, records)]


def _read(folder: Path, what: str, *, whole: bool) -> dict[str, RawTable]:
    """The tables of ``folder``; a damaged file is an error. ``whole``: the folder is a
    dataset (missing required tables are errors), else an import (any tables)."""
    raw = read_folder(folder)
    problems = [p for p in raw.problems
                if whole or not p.message.startswith("missing table")]
    if raw.meta and not whole:
        problems = [p for p in problems if p.file != "datapackage.json"]
    if problems:
        raise DatasetError([Problem(f"{what}/{p.file}", p.row, p.column, p.message,
                                    p.severity) for p in problems], str(folder))
    parquet = [t.file for t in raw.tables.values() if not t.file.endswith(".csv")]
    if parquet:
        raise DatasetError([Problem(f"{what}/{f}", None, None, "merge reads and writes CSV "
                                    "tables; write the dataset as CSV first (Network."
                                    "to_folder(path, format='csv'))") for f in parquet],
                           str(folder))
    return raw.tables


def merge_dataset(imported: str | Path, dataset: str | Path, output: str | Path, *,
                  on_conflict: str = "error", force: bool = False) -> MergeReport:
    """Write ``output``: the dataset folder ``dataset`` with the rows of ``imported`` added.

    Parameters
    ----------
    imported : str or Path
        A folder of dataset tables written by an importer (any of the schema's tables).
    dataset : str or Path
        The dataset folder to merge into; it is read, never changed.
    output : str or Path
        The folder to write (refused if it exists, unless ``force``).
    on_conflict : {"error", "replace", "keep"}
        What a conflict does (see the module's documentation): an error naming every
        conflicting row (default), the imported rows win, or the dataset's rows win.
    force : bool
        Replace an existing ``output``.

    Returns
    -------
    MergeReport

    Raises
    ------
    DatasetError
        A table of either folder cannot be read, an imported column is not a column of its
        table, rows conflict (without ``replace`` or ``keep``), or the merged dataset fails
        validation: each problem names its file, row and column. Nothing is written.
    OutputError
        ``output`` exists without ``force``, or cannot be written.

    Examples
    --------
    >>> merge_dataset("gallium-trade", "datasets/semiconductors", "merged",
    ...               on_conflict="replace")  # doctest: +SKIP
    """
    if on_conflict not in CONFLICT_CHOICES:
        raise ValueError(f"on_conflict must be one of {', '.join(CONFLICT_CHOICES)}")
    imported, dataset, output = Path(imported), Path(dataset), Path(output)
    for folder in (imported, dataset):
        if not folder.is_dir():
            raise DatasetError([Problem(str(folder), None, None, "no such folder")],
                               str(folder))
    from semigraph.io.write import refuse_replacing_source

    refuse_replacing_source(dataset, output)
    refuse_replacing_source(imported, output)
    ours = _read(dataset, dataset.name, whole=True)
    theirs = _read(imported, imported.name, whole=False)
    if not theirs:
        raise DatasetError([Problem(imported.name, None, None, "no dataset table to merge "
                                    f"(expected any of {', '.join(t + '.csv' for t in TABLES)})")],
                           str(imported))
    when = dt.date.today().isoformat()
    merged: dict[str, tuple[list[str], list[dict]]] = {}
    report = MergeReport(path=output, counts={})
    problems: list[Problem] = []
    for name in TABLES:
        if name not in theirs:
            if name in ours:
                merged[name] = (list(ours[name].frame.columns),
                                [r for _, r in _rows(ours[name])])
            continue
        header, rows = _merge_table(name, ours.get(name), theirs[name], imported.name,
                                    on_conflict, report, problems, when)
        merged[name] = (header, rows)
    if problems:
        shown = problems[:_SHOWN]
        if len(problems) > _SHOWN:
            shown.append(Problem(shown[-1].file, None, None,
                                 f"and {len(problems) - _SHOWN:,} more conflicting row(s)"))
        raise DatasetError(shown, str(imported))
    if RANGES in merged and report.removed:
        header, rows = merged[RANGES]
        merged[RANGES] = (header, drop_stale_ranges(rows, report, imported.name, when))
    report.left_out = sorted(
        p.name for p in imported.iterdir()
        if p.is_file() and p.suffix in (".csv", ".parquet") and p.stem not in TABLES)
    for name in report.left_out:
        report.log.append({"merged_on": when, "imported_from": imported.name, "table": name,
                           "key": "", "action": "left out", "imported_row": "",
                           "dataset_rows": "", "source": "not a dataset table"})

    def fill(tmp: Path) -> None:
        for item in dataset.iterdir():  # README, licence, notes: everything but the tables
            if item.name == "datapackage.json" or (item.stem in TABLES and item.suffix in (
                    ".csv", ".parquet")):
                continue
            if item.is_file() and not item.is_symlink():
                shutil.copy2(item, tmp / item.name)
        for name, (header, rows) in merged.items():
            _write_csv(tmp / f"{name}.csv", header, rows)
        _write_log(tmp / LOG, report.log)
        _write_readme(tmp / "README.md", imported.name, report, when)
        _write_descriptor(dataset, tmp, list(merged))
        _check(tmp, output, report)

    write_folder(output, fill, force=force)
    return report


def _key_of(name: str) -> list[str]:
    return ["component"] if name in BY_COMPONENT else list(key_columns(name))


def _merge_table(name: str, ours: RawTable | None, theirs: RawTable, where: str,
                 on_conflict: str, report: MergeReport, problems: list[Problem],
                 when: str) -> tuple[list[str], list[dict]]:
    file = f"{where}/{theirs.file}"
    schema = [c.name for c in columns(name)]
    base = list(ours.frame.columns) if ours is not None else []
    header = base + [c for c in schema if c in theirs.frame.columns and c not in base]
    for col in theirs.frame.columns:
        if col not in schema and col not in base:
            problems.append(Problem(file, 1, col, f"{col!r} is not a column of the {name} "
                                    f"table (columns: {', '.join(schema)})"))
    key = _key_of(name)
    missing = [c for c in key if c not in theirs.frame.columns]
    if missing:
        problems += [Problem(file, 1, c, f"the key column {c!r} is missing") for c in missing]
        return header, []
    counts = report.counts.setdefault(name, {})
    ours_rows = _rows(ours) if ours is not None else []
    groups: dict[tuple, list[tuple[int, dict]]] = {}
    for row, cells in ours_rows:
        groups.setdefault(_text(cells, key), []).append((row, cells))
    incoming: dict[tuple, list[tuple[int, dict]]] = {}
    for row, cells in _rows(theirs):
        incoming.setdefault(_text(cells, key), []).append((row, cells))
    common = [c for c in header if c in theirs.frame.columns and (ours is None or
                                                                 c in ours.frame.columns)]
    replaced: dict[tuple, list[dict]] = {}
    added: list[dict] = []

    def log(action: str, k: tuple, row: int | None, rows: list[int], source: str) -> None:
        counts[action] = counts.get(action, 0) + 1
        report.log.append({"merged_on": when, "imported_from": where, "table": name,
                           "key": ",".join(k), "action": action,
                           "imported_row": "" if row is None else row,
                           "dataset_rows": ";".join(map(str, rows)), "source": source})

    for k, new in incoming.items():
        old = groups.get(k, [])
        if not old:
            for row, cells in new:
                added.append(cells)
                log("added", k, row, [], (cells.get("source") or "").strip())
            continue
        same = sorted(_text(c, common) for _, c in old) == sorted(_text(c, common)
                                                                  for _, c in new)
        if same:
            for row, cells in new:
                log("identical", k, row, [r for r, _ in old], (cells.get("source") or ""))
            continue
        at = [r for r, _ in old]
        if on_conflict == "error":
            first_row = new[0][0]
            what = (f"{name} rows of component {k[0]}" if name in BY_COMPONENT
                    else f"a {name} row with key {', '.join(k)}")
            sources = sorted({(c.get("source") or "").strip() for _, c in old} - {""})
            cited = f" (source {', '.join(sources)})" if sources else ""
            problems.append(Problem(
                file, first_row, key[0],
                f"the dataset already has {what} that differ: {ours.file} row"
                f"{'s' if len(at) > 1 else ''} {', '.join(map(str, at))}{cited}; use "
                "--replace to take the imported rows or --keep to keep the dataset's"))
            continue
        if on_conflict == "keep":
            for row, cells in new:
                log("kept", k, row, at, (cells.get("source") or "").strip())
            continue
        replaced[k] = [c for _, c in new]
        for row, cells in new:
            log("replaced", k, row, at, (cells.get("source") or "").strip())
        for row, cells in old:
            log("removed", k, None, [row], (cells.get("source") or "").strip())
            report.removed.setdefault(name, set()).add(
                "/".join((cells.get(c) or "").strip() for c in key_columns(name)))
    rows: list[dict] = []
    done: set[tuple] = set()
    for _, cells in ours_rows:  # replaced rows take the place of the first row they replace
        k = _text(cells, key)
        if k in replaced:
            if k not in done:
                rows += replaced[k]
                done.add(k)
            continue
        rows.append(cells)
    return header, rows + added


def drop_stale_ranges(rows: list[dict], report: MergeReport, where: str,
                      when: str) -> list[dict]:
    """The rows of the ranges table (``table``, ``key``, ...) without those of figures the
    merge replaced: a range was set around the dataset's figure and does not hold the
    imported one. Each dropped range is logged (action ``removed``)."""
    keep = []
    for cells in rows:
        table = (cells.get("table") or "").strip()
        key = (cells.get("key") or "").strip()
        if key in report.removed.get(table, ()):
            counts = report.counts.setdefault(RANGES, {})
            counts["removed"] = counts.get("removed", 0) + 1
            report.log.append({"merged_on": when, "imported_from": where, "table": RANGES,
                               "key": f"{table}/{key}/{(cells.get('column') or '').strip()}",
                               "action": "removed", "imported_row": "", "dataset_rows": "",
                               "source": "the range of a replaced figure"})
            continue
        keep.append(cells)
    return keep


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[r.get(c) or "" for c in header] for r in rows])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _write_log(path: Path, lines: list[dict]) -> None:
    """Append this merge's lines to the log the dataset had (if any)."""
    earlier = path.read_text(encoding="utf-8") if path.is_file() else ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_LOG_COLUMNS, lineterminator="\n")
    if not earlier:
        writer.writeheader()
    writer.writerows(lines)
    path.write_text(earlier + buf.getvalue(), encoding="utf-8")


def _write_readme(path: Path, where: str, report: MergeReport, when: str) -> None:
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    sources = sorted({line["source"] for line in report.log
                      if line["action"] in ("added", "replaced") and line["source"]})
    lines = ["", f"## Merged from {where} ({when})", "",
             "Rows brought in by `semigraph dataset merge`; each keeps its `source` id, and "
             f"`{LOG}` lists every one with its row in both folders.", ""]
    for table, counts in report.counts.items():
        lines.append(f"- {table}: " + ", ".join(f"{n} {action}" for action, n in
                                               counts.items()))
    if sources:
        lines.append(f"- sources cited by the merged rows: {', '.join(sources)}")
    if report.left_out:
        lines.append(f"- left out (not dataset tables): {', '.join(report.left_out)}")
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def _write_descriptor(dataset: Path, tmp: Path, tables: list[str]) -> None:
    """The dataset's descriptor, its resources written again from the merged files; none
    when the dataset has none (the merge does not change what the folder is)."""
    import json

    from semigraph.io.package import descriptor, folder_headers, write_package

    if not (dataset / "datapackage.json").is_file():
        return
    try:
        meta = json.loads((dataset / "datapackage.json").read_text(encoding="utf-8"))
    except ValueError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    new = descriptor(name=str(meta.get("name") or dataset.name.lower()),
                     version=str(meta.get("version") or "1"), title=meta.get("title"),
                     licenses=meta.get("licenses"), sources=meta.get("sources"),
                     description=meta.get("description"), tables=tables,
                     headers=folder_headers(tmp, tables))
    for key, value in meta.items():
        if key != "resources":
            new.setdefault(key, value)
    write_package(tmp, new)


def _check(tmp: Path, output: Path, report: MergeReport) -> None:
    from semigraph.api import validate

    _, problems = validate(tmp)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DatasetError([Problem(p.file, p.row, p.column, f"in the merged dataset: "
                                    f"{p.message}") for p in errors], str(output))
    report.warnings = problems
