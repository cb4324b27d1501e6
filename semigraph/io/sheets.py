"""XLSX workbooks for spreadsheet users: a result sheet, an ``about`` sheet, a ``sources`` sheet.

A result workbook holds

- ``result``: the table, header row frozen and bold, an autofilter over the data, column
  widths fitted to the header and the first :data:`WIDTH_SAMPLE` rows (at most
  :data:`MAX_WIDTH` characters), and number formats by what each column holds
  (:mod:`semigraph.io.columns`: shares as ``0.0%``, days as whole numbers, money with
  thousands separators). The cells keep their full values; only the display is formatted.
- ``about``: the result's metadata as plain values, one per row (numbers as numbers, lists
  joined by ``"; "``, nested entries as ``scenario.horizon``).
- ``sources`` (when the result cites sources): id, publisher, title, year, url (a link),
  kind and note of every source the result's rows name.
- ``meta`` (hidden): the metadata as JSON, for :func:`semigraph.read_result_meta` to read back
  exactly what was written.

Text is stored as text, never as a formula, and characters XLSX cannot hold are removed. The
workbook is written a row at a time (openpyxl's write-only mode), so a long table streamed in
chunks is never held whole; a sheet holds at most :data:`MAX_ROWS` rows (Excel's limit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO

import numpy as np
import pandas as pd

from semigraph.errors import OutputError
from semigraph.io.columns import XLSX_FORMATS, column_kind

__all__ = ["MAX_ROWS", "MAX_WIDTH", "about_rows", "read_xlsx_meta", "write_xlsx"]

#: Rows of an Excel sheet, the header included (Excel's specification and limits).
MAX_ROWS = 1_048_576
#: The widest a column is made, in characters; longer text wraps into the cell's width.
MAX_WIDTH = 60
#: Rows whose text sets the column widths (the first ones: a long table is not read twice).
WIDTH_SAMPLE = 1_000
#: Characters an XLSX cell can hold; the hidden metadata is split into cells of this size.
_CELL_CHARS = 32_000
#: Characters an XLSX file cannot hold (XML 1.0 forbids them).
_ILLEGAL = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE,
                              0xFFFF]}
SOURCE_COLUMNS = ("id", "publisher", "title", "year", "url", "kind", "note")


def _plain(value):
    from semigraph.io.write import _plain as plain

    return plain(value)


def _text(value: str) -> str:
    return value.translate(_ILLEGAL)


def _join(values) -> str:
    parts = []
    for v in values:
        if isinstance(v, dict):
            parts.append(", ".join(f"{k}={_join(x) if isinstance(x, list) else x}"
                                   for k, x in v.items() if x not in (None, [], "")))
        elif isinstance(v, list):
            parts.append(_join(v))
        elif v is not None:
            parts.append(str(v))
    return "; ".join(parts)


def about_rows(meta: dict) -> list[tuple[str, object]]:
    """The metadata as (key, plain value) rows: a nested entry as ``parent.key``, a list
    joined by ``"; "`` (a list of records as ``key=value, ...`` each), unknown as None."""
    rows: list[tuple[str, object]] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            if not value:
                rows.append((prefix, None))
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            rows.append((prefix, _join(value) or None))
        else:
            rows.append((prefix, value))

    walk("", _plain(meta))
    return rows


def _display_length(value, fmt: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        if fmt == "0.0%":
            return len(f"{value:.1%}")
        if fmt and fmt.startswith("#,##0"):
            digits = 1 if fmt.endswith(".0") else 0
            return len(f"{value:,.{digits}f}")
        return min(len(repr(value)), 12)  # General shows about eleven digits
    return max((len(line) for line in str(value).splitlines()), default=0)


class _Sheet:
    """One write-only sheet: widths and formats fixed by the first rows, then rows."""

    def __init__(self, book, title: str, columns: list[str], formats: list[str | None],
                 sample: list[list], *, hidden: bool = False, filtered: bool = True):
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.ws = book.create_sheet(title)
        self.columns = columns
        self.formats = formats
        self.filtered = filtered
        self.rows = 0
        if hidden:
            self.ws.sheet_state = "hidden"
        else:
            self.ws.freeze_panes = "A2"
            for i, (name, fmt) in enumerate(zip(columns, formats), start=1):
                width = max([len(name)] + [_display_length(r[i - 1], fmt) for r in sample])
                self.ws.column_dimensions[get_column_letter(i)].width = \
                    min(MAX_WIDTH, max(8, width + 2))
        self._bold = Font(bold=True)
        self._header()

    def _header(self) -> None:
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for name in self.columns:
            cell = WriteOnlyCell(self.ws, _text(str(name)))
            cell.data_type = "s"
            cell.font = self._bold
            cells.append(cell)
        self.ws.append(cells)

    def append(self, values: list) -> None:
        from openpyxl.cell import WriteOnlyCell

        if self.rows + 2 > MAX_ROWS:
            raise OutputError(f"the table has more than {MAX_ROWS - 1:,} rows, more than an "
                              f"Excel sheet holds; write it as .parquet or .csv instead")
        cells = []
        for value, fmt in zip(values, self.formats):
            if isinstance(value, str):
                cell = WriteOnlyCell(self.ws, _text(value))
                cell.data_type = "s"  # text, even where it starts with "="
                cells.append(cell)
            elif fmt is not None and isinstance(value, (int, float)) \
                    and not isinstance(value, bool):
                cell = WriteOnlyCell(self.ws, value)
                cell.number_format = fmt
                cells.append(cell)
            else:
                cells.append(value)
        self.ws.append(cells)
        self.rows += 1

    def link(self, values: list, url_column: int) -> None:
        """A row whose ``url_column`` is a clickable link (http and https addresses only)."""
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for i, value in enumerate(values):
            cell = WriteOnlyCell(self.ws, _text(value) if isinstance(value, str) else value)
            if isinstance(value, str):
                cell.data_type = "s"
            if i == url_column and isinstance(value, str) \
                    and value.lower().startswith(("http://", "https://")):
                cell.hyperlink = value
                cell.style = "Hyperlink"
            cells.append(cell)
        self.ws.append(cells)
        self.rows += 1

    def close(self) -> None:
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.filters import AutoFilter

        if self.filtered and self.columns:
            last = get_column_letter(len(self.columns))
            self.ws.auto_filter = AutoFilter(ref=f"A1:{last}{self.rows + 1}")


def _formats(frame: pd.DataFrame, analysis: str | None) -> list[str | None]:
    out = []
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            out.append(None)
            continue
        kind = column_kind(str(col), analysis=analysis,
                           integer=pd.api.types.is_integer_dtype(values))
        fmt = XLSX_FORMATS.get(kind) if kind else None
        if kind == "day":  # a day column with a part day keeps its decimal
            v = values.dropna().to_numpy(dtype=float)
            if not (v[np.isfinite(v)] % 1 == 0).all():
                fmt = "#,##0.0"
        out.append(fmt)
    return out


def _rows(frame: pd.DataFrame):
    for row in frame.itertuples(index=False):
        yield [_plain(v) for v in row]


def write_xlsx(chunks: Iterable[pd.DataFrame], fh: IO[bytes], *, meta: dict | None = None,
               sources: pd.DataFrame | None = None) -> int:
    """Write a result workbook from a table given whole or in chunks (every chunk with the
    first one's columns); widths and number formats are set from the first chunk. Returns
    the rows written.

    Raises
    ------
    OutputError
        The table has more rows than an Excel sheet holds (:data:`MAX_ROWS`).
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    try:
        return _fill(book, chunks, fh, meta=meta, sources=sources)
    except BaseException:
        _discard(book)
        raise


def _discard(book) -> None:
    """Close a workbook that failed half-way and remove the temporary files openpyxl writes
    each sheet to (``save`` would have removed them)."""
    import contextlib

    for ws in book.worksheets:
        writer = getattr(ws, "_writer", None)
        rows = getattr(ws, "_rows", None)
        with contextlib.suppress(Exception):
            if rows is not None:
                rows.close()
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(Exception):
                writer.cleanup()


def _fill(book, chunks, fh, *, meta, sources) -> int:
    analysis = (meta or {}).get("analysis")
    sheet = None
    for chunk in chunks:
        if sheet is None:
            head = chunk.head(WIDTH_SAMPLE)
            sheet = _Sheet(book, "result", [str(c) for c in chunk.columns],
                           _formats(chunk, analysis), list(_rows(head)))
        for values in _rows(chunk):
            sheet.append(values)
    if sheet is None:  # no chunk at all: an empty sheet with no columns
        sheet = _Sheet(book, "result", [], [], [])
    sheet.close()
    rows = sheet.rows
    if meta:
        plain = about_rows(meta)
        about = _Sheet(book, "about", ["key", "value"], [None, None],
                       [list(r) for r in plain], filtered=False)
        for key, value in plain:
            about.append([key, value])
        about.close()
    if sources is not None and len(sources):
        cols = [c for c in SOURCE_COLUMNS if c in sources.columns]
        table = sources[cols]
        cited = _Sheet(book, "sources", cols, [None] * len(cols), list(_rows(table.head(
            WIDTH_SAMPLE))))
        url = cols.index("url") if "url" in cols else -1
        for values in _rows(table):
            cited.link(values, url)
        cited.close()
    if meta:
        hidden = _Sheet(book, "meta", ["semigraph metadata (JSON)"], [None], [], hidden=True,
                        filtered=False)
        text = json.dumps(_plain(meta), ensure_ascii=True)  # every character XML can hold
        for start in range(0, len(text), _CELL_CHARS):
            hidden.append([text[start:start + _CELL_CHARS]])
    book.save(fh)
    return rows


def read_xlsx_meta(path) -> dict:
    """The metadata of a result workbook: the hidden ``meta`` sheet, or in a workbook written
    before it existed, the ``about`` sheet's values read as JSON; ``{}`` if neither."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if "meta" in book.sheetnames:
            parts = [r[0] for r in book["meta"].iter_rows(min_row=2, max_col=1,
                                                           values_only=True)]
            text = "".join(p for p in parts if isinstance(p, str))
            return json.loads(text) if text else {}
        if "about" in book.sheetnames:
            out = {}
            for key, value in book["about"].iter_rows(min_row=2, max_col=2, values_only=True):
                if key is None:
                    continue
                try:
                    out[str(key)] = json.loads(value) if isinstance(value, str) else value
                except ValueError:
                    out[str(key)] = value
            return out
        return {}
    finally:
        book.close()
