"""Country shares of a component from bilateral trade flows (CEPII BACI or UN Comtrade).

The file is streamed in blocks with pyarrow: only the needed columns are read, each block is
filtered to the wanted HS codes and years and summed per (year, flow, exporter, importer, HS
code), so a file of many gigabytes never sits in memory. The result is a ``supply`` table
(and, for an importing region, a ``consumption`` table) in the dataset's format, with a
``sources`` row that describes the file.

Supported layouts
-----------------
``baci``
    CEPII BACI: columns ``t`` (year), ``i`` (exporter), ``j`` (importer), ``k`` (HS6 product
    code), ``v`` (value, thousand USD) and, optionally, ``q`` (quantity, tonnes). Countries are
    numeric codes (ISO 3166-1 numeric, with the trade-statistics codes 842 USA, 251 FRA,
    579 NOR, 699 IND, 757 CHE and 490 "Other Asia, nes", which BACI documents as Taiwan).
    Product codes lose their leading zero (``30110`` is HS ``030110``) and are padded back.
``comtrade``
    A UN Comtrade (Comtrade Plus) CSV download: ``refYear`` (or ``period``, ``YYYY`` or
    ``YYYYMM``), ``reporterCode`` or ``reporterISO``, ``partnerCode`` or ``partnerISO``,
    ``cmdCode``, ``flowCode`` and ``primaryValue`` (USD); ``netWgt`` (kg) is the quantity when
    present. Numeric codes are preferred where both are given. Only imports (``M``) and exports
    (``X``) are used; re-exports, re-imports and other flows are counted and skipped. Rows with
    the partner World (code 0 or ISO ``W00``) are totals and are skipped, and so are breakdown
    rows when the file carries them (``partner2Code`` other than 0, ``motCode`` other than 0,
    ``customsCode`` other than ``C00``), so that nothing is counted twice. Tab-separated files
    (as Comtrade's bulk files are) and gzip-compressed files are read too.

Column names are matched without regard to case. A missing value may be an empty cell or
``NA``, ``N/A``, ``NaN``, ``NULL`` or ``None``, in any case, with spaces around it or not
(exports from R and fixed-width tools pad ``NA``); only the rows of the wanted codes are read
as numbers, so a stray cell of another product never stops the import.

What each table means (DESIGN section 2): ``supply`` is each exporter's share of world
exports, the trade proxy of its share of world supply, with or without an importing region;
``consumption`` (with a region) each country's share of world imports, the proxy of its
share of world consumption; ``imports`` (with a region) each origin's share of the region's
imports from outside it, its import dependency, a share of neither and so not a dataset
table. An HS code that carries other goods too (the ``shared_with`` column of
``hs-components.csv``) is reported in ``report['shared_codes']`` and the source row's note.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from semigraph.errors import (
    DatasetError,
    Problem,
    SemigraphError,
    UnknownUnitError,
)
from semigraph.io.read import allow_large_fields
from semigraph.io.write import refuse_replacing_source, write_folder

__all__ = [
    "LAYOUTS",
    "WEIGHTS",
    "TradeImport",
    "TradeOptionError",
    "hs_codes_for",
    "import_trade",
    "iso3_for_numeric",
    "normalise_hs",
    "shared_goods",
    "shared_warning",
    "write_trade_import",
]

LAYOUTS = ("baci", "comtrade")
WEIGHTS = ("value", "quantity")

#: Cell texts read as empty (unknown), whatever their case and the spaces around them
#: (R writes ``NA``, some exports pad it to the column's width: `` NA``).
_NULLS = ["", "na", "n/a", "nan", "null", "none"]
#: Alpha codes Comtrade uses for areas that are countries: 490 "Other Asia, nes" is Taiwan.
_ALPHA_ALIASES = {"S19": "TWN"}
#: Partner codes that stand for the world total, not a country.
_WORLD = {"0", "W00"}
_PUBLISHER = {"baci": "CEPII (BACI)", "comtrade": "UN Comtrade"}
_VALUE_UNIT = {"baci": "thousand USD", "comtrade": "USD"}
_QUANTITY_UNIT = {"baci": "t", "comtrade": "kg"}
_FLOW_TEXT = {
    "B": "reconciled bilateral flows",
    "X": "reporters' exports (flowCode X)",
    "M": "reporters' imports (flowCode M)",
}
_SLUG_BAD = re.compile(r"[^a-z0-9._-]+")


class TradeOptionError(SemigraphError):
    """An option of the trade import cannot be used: an HS code, weight, layout or region."""


@dataclass
class TradeImport:
    """What :func:`import_trade` found.

    Attributes
    ----------
    supply : pandas.DataFrame
        ``supply.csv`` rows: ``component, supplier, site, share, capacity, source``: each
        exporting country's share of world exports (the trade proxy of its share of world
        supply), with or without an importing region; supplier and site are the exporter's
        ISO3 code, capacity is empty.
    consumption : pandas.DataFrame or None
        ``consumption.csv`` rows (``component, country, share, source``): each country's
        share of world imports, the proxy of its share of world consumption; when an
        importing region was given, else None.
    imports : pandas.DataFrame or None
        ``imports.csv`` rows (``component, importer, origin, share, source``): each origin's
        share of the importing region's imports from outside it (its import dependency), when
        a region was given. Not a share of world supply nor of world consumption, so not a
        dataset table: ``semigraph dataset merge`` leaves it out.
    source : dict
        The ``sources.csv`` row describing the file (``id, publisher, title, year, url, kind,
        note``).
    report : dict
        Counts and totals: ``layout``, ``rows_read``, ``rows_used``, ``years``, ``flow``,
        ``weight``, ``total_value`` (``value_unit``), ``total_quantity`` (``quantity_unit``),
        ``value_by_hs``, ``unmapped_codes`` (code -> value), ``unmapped_value``,
        ``unmapped_share`` (all of the world exports behind ``supply``), ``shared_codes``
        (HS code -> the other goods it carries, from the HS table) and the rows skipped, by
        reason; with a region, ``region`` holds the same totals for its imports from outside
        it, its ``members``, ``label``, ``intra_region_value`` and
        ``unmapped_importer_codes``.
    """

    supply: pd.DataFrame
    consumption: pd.DataFrame | None
    source: dict
    report: dict = field(default_factory=dict)
    path: Path | None = None  # the trade file read
    imports: pd.DataFrame | None = None


# --- reference tables ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _numeric_table() -> dict[int, str]:
    text = resources.files("semigraph").joinpath("data", "iso3166_numeric.csv").read_text(
        encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {int(r["numeric"]): r["alpha3"] for r in rows}


@functools.lru_cache(maxsize=1)
def _alpha3() -> frozenset[str]:
    return frozenset(_numeric_table().values())


def iso3_for_numeric(code: int | str) -> str | None:
    """The ISO3 code of a numeric country code (ISO 3166-1 or a trade-statistics code).

    Parameters
    ----------
    code : int or str
        ``276``, ``"076"``, ``842`` (UN Comtrade's and BACI's code for the USA), ``490``
        ("Other Asia, nes", Taiwan).

    Returns
    -------
    str or None
        The alpha-3 code, or None when the code is not a country (a group of countries, an
        area "nes", a former state) or unknown.

    Examples
    --------
    >>> iso3_for_numeric(842), iso3_for_numeric("490"), iso3_for_numeric(58)
    ('USA', 'TWN', None)
    """
    try:
        return _numeric_table().get(int(code))
    except (TypeError, ValueError):
        return None


def _iso3(code: str) -> str | None:
    """ISO3 of a code as read (numeric text or alpha text), or None when unmapped."""
    code = code.strip()
    if code.isdigit():
        return iso3_for_numeric(code)
    code = code.upper()
    if code in _ALPHA_ALIASES:
        return _ALPHA_ALIASES[code]
    return code if code in _alpha3() else None


def _hs_table_path() -> Path:
    packaged = resources.files("semigraph").joinpath("_datasets", "hs-components.csv")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "datasets" / "hs-components.csv"


def hs_codes_for(component: str, *, table: str | Path | None = None) -> list[str]:
    """The HS6 codes that carry a component in trade statistics.

    Parameters
    ----------
    component : str
        A component id of the dataset, such as ``gallium``.
    table : str or Path, optional
        An HS-to-component table (columns ``hs6, description, component, note``); default:
        the bundled ``hs-components.csv``.

    Returns
    -------
    list of str
        Six-digit codes, sorted. Read each code's ``note`` in the table: many codes are
        shared with other goods.

    Raises
    ------
    UnknownUnitError
        When the table has no code for the component (with a suggestion for a near id).
    """
    path = Path(table) if table is not None else _hs_table_path()
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    codes = sorted({normalise_hs(r["hs6"]) for r in rows if r.get("component") == component})
    if not codes:
        known = sorted({r["component"] for r in rows if r.get("component")})
        near = difflib.get_close_matches(component, known, n=2)
        hint = f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""
        raise UnknownUnitError(f"no HS codes for component {component!r} in {path}{hint}; "
                               "give the codes with --hs")
    return codes


def shared_goods(codes: Iterable[str], component: str, *,
                 table: str | Path | None = None) -> dict[str, list[str]]:
    """The goods other than ``component`` that each HS code also carries.

    Parameters
    ----------
    codes : iterable of str
        HS6 codes (as :func:`normalise_hs` writes them).
    component : str
        The component the shares are for.
    table : str or Path, optional
        The HS-to-component table (default: the bundled ``hs-components.csv``), whose
        ``shared_with`` column lists, per code and component, the other goods of the code.

    Returns
    -------
    dict
        Code -> other goods, for the codes that carry more than ``component``; a code the
        table maps to ``component`` gives its row's ``shared_with``, any other listed code
        every good the table names for it. Codes not in the table are left out.

    Examples
    --------
    >>> shared_goods(["811292"], "gallium")
    {'811292': ['germanium', 'indium', 'niobium', 'vanadium']}
    """
    path = Path(table) if table is not None else _hs_table_path()
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)]
    out: dict[str, list[str]] = {}
    for code in codes:
        mine = [r for r in rows if normalise_hs(r["hs6"]) == code]
        own = [r for r in mine if r.get("component") == component]
        goods: list[str] = []
        for r in own or mine:
            named = ([] if own else [r.get("component") or ""]) + \
                (r.get("shared_with") or "").split(";")
            goods += [g.strip() for g in named if g.strip() and g.strip() != component]
        if goods:
            out[code] = list(dict.fromkeys(goods))
    return out


def normalise_hs(code: str | int) -> str:
    """An HS6 code as six digits: ``30110`` and ``0301.10`` become ``030110``.

    Raises
    ------
    TradeOptionError
        When the code is not five or six digits (after removing dots and spaces).
    """
    text = str(code).strip().replace(".", "").replace(" ", "")
    if not text.isdigit() or len(text) not in (5, 6):
        raise TradeOptionError(f"HS code {code!r} is not an HS6 code (six digits, such as "
                               "811292 or 030110)")
    return text.zfill(6)


# --- layouts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Which columns of a file to read, under their names in the file, and their types."""

    name: str
    year: str
    exporter: str  # BACI: exporter; Comtrade: reporter
    importer: str  # BACI: importer; Comtrade: partner
    hs: str
    value: str
    quantity: str | None
    flow: str | None = None
    period: bool = False  # the year column may hold YYYYMM
    breakdown: tuple[tuple[str, str], ...] = ()  # (column, the total's code)
    types: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        cols = [self.year, self.exporter, self.importer, self.hs, self.value]
        cols += [c for c in (self.quantity, self.flow) if c]
        return cols + [c for c, _ in self.breakdown]


def _header(path: Path) -> tuple[list[str], str]:
    """The column names of the file's first line and its delimiter."""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            head = stream.read(1 << 16)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError([Problem(path.name, None, None, f"cannot read the file: {exc}")],
                           str(path)) from None
    line = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    if not line or not line[0].strip():
        raise DatasetError([Problem(path.name, 1, None, "the file has no header line")],
                           str(path))
    first = line[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter))]
    seen: dict[str, str] = {}
    for name in names:  # columns are found by name, case aside: which one is meant?
        if name.lower() in seen:
            twice = (f"column {name!r} appears more than once in the header"
                     if seen[name.lower()] == name else
                     f"columns {seen[name.lower()]!r} and {name!r} are one column twice "
                     "(names are read regardless of case)")
            raise DatasetError([Problem(path.name, 1, name, f"{twice}; which one is meant "
                                        "cannot be told, so keep one")], str(path))
        seen[name.lower()] = name
    return names, delimiter


def _missing(path: Path, layout: str, columns: list[str]) -> DatasetError:
    problems = [Problem(path.name, 1, c, f"column {c!r} of the {layout} layout is missing")
                for c in columns]
    return DatasetError(problems, str(path))


def _layout(path: Path, names: list[str], layout: str) -> _Layout:
    lower = {n.lower(): n for n in names}

    def pick(*options: str) -> str | None:
        return next((lower[o.lower()] for o in options if o.lower() in lower), None)

    if layout == "auto":
        if all(pick(c) for c in ("t", "i", "j", "k", "v")):
            layout = "baci"
        elif pick("cmdCode") or pick("primaryValue"):
            layout = "comtrade"
        else:
            raise DatasetError([Problem(
                path.name, 1, None, "not a BACI file (columns t, i, j, k, v, q) nor a UN "
                f"Comtrade file (cmdCode, flowCode, primaryValue, ...); header: {names}")],
                str(path))
    if layout == "baci":
        missing = [c for c in ("t", "i", "j", "k", "v") if not pick(c)]
        if missing:
            raise _missing(path, "BACI", missing)
        t, i, j, k, v, q = (pick(c) for c in ("t", "i", "j", "k", "v", "q"))
        types = {t: pa.int64(), i: pa.int64(), j: pa.int64(), k: pa.string(), v: pa.float64()}
        if q:
            types[q] = pa.float64()
        return _Layout("baci", t, i, j, k, v, q, types=types)
    need = {"refYear or period": pick("refYear", "period"),
            "reporterCode or reporterISO": pick("reporterCode", "reporterISO"),
            "partnerCode or partnerISO": pick("partnerCode", "partnerISO"),
            "cmdCode": pick("cmdCode"), "flowCode": pick("flowCode"),
            "primaryValue": pick("primaryValue")}
    missing = [name for name, col in need.items() if col is None]
    if missing:
        raise _missing(path, "UN Comtrade", missing)
    year, reporter, partner = need["refYear or period"], need["reporterCode or reporterISO"], \
        need["partnerCode or partnerISO"]
    quantity = pick("netWgt")
    breakdown = tuple((col, total) for col, total in (
        (pick("partner2Code"), "0"), (pick("motCode"), "0"), (pick("customsCode"), "C00"))
        if col)
    types = {year: pa.int64(), need["cmdCode"]: pa.string(), need["flowCode"]: pa.string(),
             need["primaryValue"]: pa.float64()}
    for col in (reporter, partner):
        types[col] = pa.int64() if col.lower().endswith("code") else pa.string()
    if quantity:
        types[quantity] = pa.float64()
    for col, _ in breakdown:
        types[col] = pa.string()
    return _Layout("comtrade", year, reporter, partner, need["cmdCode"],
                   need["primaryValue"], quantity, flow=need["flowCode"],
                   period=year.lower() == "period", breakdown=breakdown, types=types)


# --- streaming ----------------------------------------------------------------------------


@dataclass
class _Counts:
    rows_read: int = 0
    rows_used: int = 0
    other_flows: int = 0
    world_partner: int = 0
    breakdown: int = 0
    totals: dict = field(default_factory=dict)  # column -> sum of the kept rows so far


def _open(stream, spec: _Layout, delimiter: str, block_size: int):
    """A streaming CSV reader of only the layout's columns, as text: the numbers are typed
    by :func:`_typed` once the rows of the wanted codes are picked, so that a missing value
    spelled ``NA`` with spaces around it is read as missing (Arrow's own null spellings must
    match exactly) and cells of other products are never looked at."""
    try:
        return pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=block_size),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=spec.columns,
                column_types={c: pa.string() for c in spec.types}, null_values=[""],
                strings_can_be_null=True),
        )
    except BaseException:
        stream.close()
        raise


def _batches(path: Path, spec: _Layout, delimiter: str, block_size: int,
             counts: _Counts) -> Iterator[pa.RecordBatch]:
    """The file's record batches; a bad cell or line becomes a DatasetError with its row."""
    stream = pa.input_stream(str(path), compression="detect")
    try:
        reader = _open(stream, spec, delimiter, block_size)
        with contextlib.closing(reader), contextlib.closing(stream):
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield batch
    except pa.ArrowInvalid as exc:
        raise _locate(path, spec, delimiter, counts.rows_read, str(exc)) from None
    except (pa.ArrowException, OSError) as exc:  # a broken archive, a read error
        raise DatasetError([Problem(path.name, None, None, f"cannot read the file: {exc}")],
                           str(path)) from None


def _why_bad(cell: str, column: str, kind: pa.DataType) -> str:
    """What is wrong with a cell the reader refused: not a number at all, or a number where
    only whole numbers (years, country codes) are taken."""
    if pa.types.is_integer(kind):
        try:
            float(cell.strip())
        except ValueError:
            pass
        else:
            return (f"{cell!r} is a number, but column {column} takes whole numbers only, "
                    "written without a decimal point or exponent (such as 2022 or 156)")
    return f"{cell!r} is not a number"


def _locate(path: Path, spec: _Layout, delimiter: str, skip: int, message: str) -> DatasetError:
    """The first line from record ``skip`` on with the wrong number of fields (the columns
    are read as text, so that is what the reader refuses)."""
    with pa.input_stream(str(path), compression="detect") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        allow_large_fields()
        reader = csv.reader(text, delimiter=delimiter)
        header = [n.strip() for n in next(reader)]
        row = 1
        for record in reader:
            if not record:
                continue  # the streaming reader skips empty lines too
            row += 1
            if row - 2 < skip:
                continue
            if len(record) != len(header):
                return DatasetError([Problem(
                    path.name, row, None,
                    f"{len(record)} fields where the header has {len(header)}")], str(path))
    return DatasetError([Problem(path.name, None, None, f"cannot read the file: {message}")],
                        str(path))


def _typed(sub: pa.RecordBatch, spec: _Layout, path: Path, rows: np.ndarray
           ) -> pa.RecordBatch:
    """The picked rows with their numeric columns typed: any spelling of a missing value
    (:data:`_NULLS`, any case, spaces around it) is missing; any other text that is not a
    number of the column's type is an error naming its row and column."""
    null_set = pa.array(_NULLS, pa.string())
    arrays = []
    for name, column in zip(sub.schema.names, sub.columns):
        kind = spec.types.get(name, pa.string())
        trimmed = pc.utf8_trim_whitespace(column)
        missing = pc.fill_null(pc.is_in(pc.utf8_lower(trimmed), value_set=null_set), True)
        clean = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed)
        if pa.types.is_string(kind):
            arrays.append(clean)
            continue
        try:
            arrays.append(pc.cast(clean, kind))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            cells = clean.to_pylist()
            bad = [i for i, cell in enumerate(cells)
                   if cell is not None and not _casts(cell, kind)]
            raise DatasetError([Problem(path.name, int(rows[i]), name,
                                        _why_bad(cells[i], name, kind)) for i in bad[:20]],
                               str(path)) from None
    return pa.RecordBatch.from_arrays(arrays, names=sub.schema.names)


def _casts(cell: str, kind: pa.DataType) -> bool:
    try:
        pc.cast(pa.array([cell], pa.string()), kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _wanted(hs: list[str]) -> pa.Array:
    """The product codes to keep, as read: with and without the leading zero."""
    forms = set(hs) | {c.lstrip("0") for c in hs}
    return pa.array(sorted(forms), pa.string())


def _year(batch: pa.RecordBatch, spec: _Layout) -> pa.Array:
    year = batch.column(spec.year)
    if spec.period:  # YYYYMM periods of monthly files
        year = pc.if_else(pc.greater(year, 9999), pc.divide(year, 100), year)
    return year


def _bad_rows(path: Path, rows: np.ndarray, column: str, message: str) -> DatasetError:
    shown = rows[:20]
    return DatasetError([Problem(path.name, int(r), column, message) for r in shown],
                        str(path))


def _flows_of(batch: pa.RecordBatch, spec: _Layout, wanted: pa.Array,
              years: pa.Array | None, offset: int, path: Path,
              counts: _Counts) -> pa.Table | None:
    """The batch's rows of the wanted codes and years (and, for Comtrade, of imports and
    exports between countries, totals only), checked and normalised; None when none."""
    code = pc.utf8_trim_whitespace(batch.column(spec.hs))
    mask = pc.fill_null(pc.is_in(code, value_set=wanted), False)
    if not pc.any(mask).as_py():
        return None
    idx = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    sub = _typed(batch.take(pa.array(idx)), spec, path, offset + idx + 2)
    year = _year(sub, spec)
    if year.null_count:
        nulls = idx[np.flatnonzero(year.is_null().to_numpy(zero_copy_only=False))]
        raise _bad_rows(path, offset + nulls + 2, spec.year, "the year is empty")
    keep = np.ones(len(idx), dtype=bool)
    if years is not None:
        keep &= pc.is_in(year, value_set=years).to_numpy(zero_copy_only=False)
    if spec.flow:
        flow = pc.fill_null(pc.utf8_upper(pc.utf8_trim_whitespace(sub.column(spec.flow))), "")
        ok = pc.is_in(flow, value_set=pa.array(["M", "X"])).to_numpy(zero_copy_only=False)
        counts.other_flows += int((keep & ~ok).sum())
        keep &= ok
        partner = pc.utf8_upper(_text(sub.column(spec.importer)))
        world = pc.is_in(partner, value_set=pa.array(sorted(_WORLD)))
        world = world.to_numpy(zero_copy_only=False)
        counts.world_partner += int((keep & world).sum())
        keep &= ~world
        for col, total in spec.breakdown:
            cell = pc.utf8_trim_whitespace(pc.fill_null(sub.column(col), total))
            total_row = pc.equal(pc.utf8_upper(cell), total).to_numpy(zero_copy_only=False)
            counts.breakdown += int((keep & ~total_row).sum())
            keep &= total_row
    if not keep.any():
        return None
    idx, sub, year = idx[keep], sub.filter(pa.array(keep)), year.filter(pa.array(keep))
    value = sub.column(spec.value).to_numpy(zero_copy_only=False)
    bad = np.isnan(value) | (value < 0)
    if bad.any():
        raise _bad_rows(path, offset + idx[bad] + 2, spec.value,
                        "the value is empty or negative")
    bad = ~np.isfinite(value)
    if bad.any():
        raise _bad_rows(path, offset + idx[bad] + 2, spec.value, _NOT_FINITE)
    _add_to_total(counts, path, spec.value, value, offset + idx + 2)
    return _normalised(sub, spec, year, value, path, offset + idx + 2, counts)


_NOT_FINITE = "the number is infinite or too large (beyond about 1.8e308)"


def _add_to_total(counts: _Counts, path: Path, column: str, values: np.ndarray,
                  rows: np.ndarray) -> None:
    """Keep a running sum of the kept rows of ``column``: every share and total is a sum of
    some of them, so they cannot overflow once this does not. The row where the sum passes
    the largest float is an error, instead of shares of infinity (an empty table)."""
    with np.errstate(over="ignore"):
        running = counts.totals.get(column, 0.0) + np.cumsum(values)
    over = ~np.isfinite(running)
    if over.any():
        row = int(rows[np.argmax(over)])
        raise DatasetError([Problem(
            path.name, row, column, "the values add up past the largest number a float "
            "holds (about 1.8e308) at this row; is the file's unit right?")], str(path))
    if len(running):
        counts.totals[column] = float(running[-1])


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Country codes as text ('' when empty), whether read as numbers or as letters."""
    return pc.fill_null(pc.utf8_trim_whitespace(pc.cast(column, pa.string())), "")


def _normalised(sub: pa.RecordBatch, spec: _Layout, year: pa.Array, value: np.ndarray,
                path: Path, rows: np.ndarray, counts: _Counts) -> pa.Table:
    """The kept rows as (year, flow, exporter, importer, hs, value, ...) columns."""
    reporter, partner = _text(sub.column(spec.exporter)), _text(sub.column(spec.importer))
    if spec.flow:
        flow = pc.utf8_upper(pc.utf8_trim_whitespace(sub.column(spec.flow)))
    else:
        flow = pa.array(["B"] * sub.num_rows, pa.string())
    # exports (and BACI's flows) run reporter -> partner, imports partner -> reporter
    imports = pc.equal(flow, "M")
    columns = {
        "year": year, "flow": flow,
        "exporter": pc.if_else(imports, partner, reporter),
        "importer": pc.if_else(imports, reporter, partner),
        "hs": pc.utf8_lpad(pc.utf8_trim_whitespace(sub.column(spec.hs)), 6, "0"),
        "value": pa.array(value, pa.float64()),
        "rows": pa.array(np.ones(sub.num_rows, dtype=np.int64)),
    }
    if spec.quantity:
        qty = sub.column(spec.quantity)
        negative = pc.fill_null(pc.less(qty, 0), False).to_numpy(zero_copy_only=False)
        if negative.any():
            raise _bad_rows(path, rows[negative], spec.quantity, "the quantity is negative")
        known = pc.fill_null(qty, 0.0).to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(known)
        if bad.any():
            raise _bad_rows(path, rows[bad], spec.quantity, _NOT_FINITE)
        _add_to_total(counts, path, spec.quantity, known, rows)
        missing = pc.is_null(qty)
        columns["quantity"] = pc.fill_null(qty, 0.0)
        columns["value_without_quantity"] = pc.if_else(missing, columns["value"], 0.0)
        columns["rows_without_quantity"] = pc.cast(missing, pa.int64())
    counts.rows_used += sub.num_rows
    return pa.table(columns)


_KEYS = ["year", "flow", "exporter", "importer", "hs"]
#: Kept rows held back before they are summed: bounds memory, saves per-block overhead.
_PENDING_ROWS = 200_000


def _sum(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(_KEYS, as_index=False, sort=False).sum()


def _stream(path: Path, spec: _Layout, delimiter: str, hs: list[str], years: list[int] | None,
            block_size: int, progress: Callable[[int], None] | None
            ) -> tuple[pd.DataFrame, _Counts]:
    counts = _Counts()
    wanted = _wanted(hs)
    year_set = pa.array(years, pa.int64()) if years is not None else None
    sums: list[pd.DataFrame] = []
    pending: list[pa.Table] = []
    held = 0

    def settle() -> None:
        nonlocal held
        if pending:
            sums.append(_sum(pa.concat_tables(pending).to_pandas()))
            pending.clear()
            held = 0
        if len(sums) > 1:
            sums[:] = [_sum(pd.concat(sums, ignore_index=True))]

    for batch in _batches(path, spec, delimiter, block_size, counts):
        part = _flows_of(batch, spec, wanted, year_set, counts.rows_read, path, counts)
        counts.rows_read += batch.num_rows
        if part is not None:
            pending.append(part)
            held += part.num_rows
            if held >= _PENDING_ROWS:
                settle()
        if progress is not None:
            progress(counts.rows_read)
    settle()
    if not sums:
        return pd.DataFrame(columns=[*_KEYS, "value", "rows"]), counts
    return sums[0], counts


# --- shares -------------------------------------------------------------------------------


def _pick_flow(flows: pd.DataFrame, prefer: tuple[str, ...]) -> str:
    present = set(flows["flow"])
    return next(f for f in prefer if f in present)


def _shares(frame: pd.DataFrame, by: str, weight: str
            ) -> tuple[pd.Series, pd.DataFrame, float]:
    """Shares of ``weight`` by the ISO3 code of column ``by``, over the total including
    unmapped codes; the rows whose code is unmapped; the total."""
    iso = frame[by].map(_iso3)
    total = float(frame[weight].sum())
    mapped = frame[weight].groupby(iso).sum()  # unmapped (NaN) keys drop out here
    shares = mapped / total if total > 0 else mapped.iloc[:0]
    return shares[shares > 0], frame.loc[iso.isna()], total


def _ordered(shares: pd.Series) -> pd.Series:
    """Largest first, ties by country code, so the output does not depend on file order."""
    frame = shares.rename("share").rename_axis("code").reset_index()
    frame = frame.sort_values(["share", "code"], ascending=[False, True], kind="stable")
    return pd.Series(frame["share"].to_numpy(), index=frame["code"].to_numpy())


def _supply_table(shares: pd.Series, component: str, source_id: str) -> pd.DataFrame:
    shares = _ordered(shares)
    return pd.DataFrame({
        "component": component,
        "supplier": shares.index.astype(str),
        "site": shares.index.astype(str),
        "share": shares.to_numpy(dtype=float),
        "capacity": pd.Series([None] * len(shares), dtype=object),
        "source": source_id,
    })


def _imports_table(shares: pd.Series, component: str, importer: str,
                   source_id: str) -> pd.DataFrame:
    shares = _ordered(shares)
    return pd.DataFrame({"component": component, "importer": importer,
                         "origin": shares.index.astype(str),
                         "share": shares.to_numpy(dtype=float), "source": source_id})


def _consumption_table(shares: pd.Series, component: str, source_id: str) -> pd.DataFrame:
    shares = _ordered(shares)
    return pd.DataFrame({"component": component, "country": shares.index.astype(str),
                         "share": shares.to_numpy(dtype=float), "source": source_id})


def _members(importer_members: Iterable[str] | None) -> list[str] | None:
    if importer_members is None:
        return None
    if isinstance(importer_members, str):
        importer_members = [importer_members]
    members = sorted({m.strip().upper() for m in importer_members})
    if not members:
        raise TradeOptionError("the importing region has no member countries")
    unknown = [m for m in members if m not in _alpha3()]
    if unknown:
        raise TradeOptionError(f"importer members {unknown} are not ISO 3166-1 alpha-3 codes")
    return members


def _slug(text: str) -> str:
    return _SLUG_BAD.sub("-", text.lower()).strip("-") or "trade"


# --- the import ---------------------------------------------------------------------------


def import_trade(path: str | Path, *, hs: Iterable[str | int], component: str,
                 importer_members: Iterable[str] | None = None,
                 importer_label: str | None = None, years: Iterable[int] | None = None,
                 weight: str = "value", layout: str = "auto", source_id: str | None = None,
                 block_size: int = 1 << 20, hs_table: str | Path | None = None,
                 progress: Callable[[int], None] | None = None) -> TradeImport:
    """Country shares of a component from a file of bilateral trade flows.

    Always: each country's share of world exports of the HS codes (exporter shares), the
    ``supply`` table. With an importing region (``importer_members``) also: the region's
    import dependency, each origin's share of the region's imports from outside it (flows
    between members are left out: intra-EU trade is not import dependency), in a table of its
    own (``imports``, since it is a share neither of world supply nor of world consumption),
    and each country's share of world consumption, approximated by its imports
    (``consumption``, the dataset table of that meaning).

    Parameters
    ----------
    path : str or Path
        A BACI or UN Comtrade CSV file (see the module's documentation for the columns), plain
        or gzip-compressed.
    hs : iterable of str or int
        HS6 codes, such as ``["811292"]`` (see :func:`hs_codes_for`); ``30110`` is read as
        ``030110``. Flows of several codes are summed.
    component : str
        The component id written into the tables.
    importer_members : iterable of str, optional
        ISO3 codes of the importing country or bloc members (the command line resolves bloc
        names such as EU27 from the dataset's countries table).
    importer_label : str, optional
        The region's name in the source note and id (default: the member codes).
    years : iterable of int, optional
        Years to use; flows are summed over them. Default: every year in the file.
    weight : {'value', 'quantity'}
        Shares of trade value (default) or of quantity (BACI ``q`` in tonnes, Comtrade
        ``netWgt`` in kg); rows without a quantity are left out of quantity shares and
        counted in the report.
    layout : {'auto', 'baci', 'comtrade'}
        The file's layout; ``auto`` tells them apart by the header.
    source_id : str, optional
        Id of the source row (default: built from the layout, component, region and year).
    block_size : int
        Bytes read per block (default 1 MiB); memory use grows with it, not with the file.
    hs_table : str or Path, optional
        The HS-to-component table whose ``shared_with`` column says which codes carry other
        goods too (default: the bundled ``hs-components.csv``); see :func:`shared_goods`.
    progress : callable, optional
        Called with the number of records read after each block.

    Returns
    -------
    TradeImport
        ``supply`` and ``consumption`` tables, the ``source`` row and a ``report``.

    Raises
    ------
    DatasetError
        A missing column (row 1), a cell that is not a number, an empty or negative value, an
        infinite value or quantity, values that add up past the largest float, a line with
        the wrong number of fields (each with its row as a spreadsheet shows it), or no flow
        of the codes in the years asked.
    TradeOptionError
        An HS code, weight, layout or member code that cannot be used.

    Notes
    -----
    Shares are of the total including flows whose country code does not map to an ISO3
    country (groups such as "Europe EFTA, nes", former states, unknown codes): those are
    listed in ``report['unmapped_codes']`` with their value and their share of the total in
    ``report['unmapped_share']``, so the supply shares sum to one minus it. For the import
    dependency, flows whose importer code is unmapped cannot be placed inside or outside the
    region; they are reported under ``report['unmapped_importer_codes']`` and left out.

    UN Comtrade files hold what each reporter declared. World exporter shares use exports
    (``X``) and the import dependency and consumption use imports (``M``); where the file has
    only the other flow for the codes, it is used mirrored (a partner's imports as its
    exports), and ``report['flow']`` says which was used. Countries that do not report are
    missing from their own side. BACI reconciles both declarations into one flow.

    Consumption approximated by imports counts what each country buys abroad. It leaves out
    what a country produces and uses at home, so large producers (China for gallium, rare
    earths and tungsten) appear far below their real consumption, and a trading hub that
    re-exports appears as a consumer. Treat it as a floor for importers, not a measure of use.

    Trade counts where goods ship from: for chips that is often the assembly and test site,
    not the wafer fab, and a shared HS code carries other goods too (see the HS table's notes).
    """
    path = Path(path)
    if weight not in WEIGHTS:
        raise TradeOptionError(f"weight must be one of {', '.join(WEIGHTS)}, not {weight!r}")
    if layout not in ("auto", *LAYOUTS):
        raise TradeOptionError(f"layout must be auto, baci or comtrade, not {layout!r}")
    if isinstance(hs, (str, int)):
        hs = [hs]
    codes = sorted({normalise_hs(c) for c in hs})
    if not codes:
        raise TradeOptionError("give at least one HS6 code")
    members = _members(importer_members)
    year_list = sorted({int(y) for y in years}) if years is not None else None
    if not path.is_file():
        raise DatasetError([Problem(path.name, None, None, "no such file")], str(path))
    names, delimiter = _header(path)
    spec = _layout(path, names, layout)
    if weight == "quantity" and not spec.quantity:
        column = "q" if spec.name == "baci" else "netWgt"
        raise DatasetError([Problem(path.name, 1, column, f"column {column!r} is missing; "
                                    "weight='quantity' needs it")], str(path))
    flows, counts = _stream(path, spec, delimiter, codes, year_list, block_size, progress)
    if flows.empty:
        when = f" in {year_list}" if year_list else ""
        raise DatasetError([Problem(path.name, None, spec.hs,
                                    f"no flows of HS {', '.join(codes)}{when}")], str(path))
    return _result(path, spec, flows, counts, codes=codes, component=component,
                   members=members, label=importer_label, weight=weight, source_id=source_id,
                   shared=shared_goods(codes, component, table=hs_table))


def _label(members: list[str] | None, label: str | None) -> str | None:
    if label is not None or members is None:
        return label
    return "+".join(members) if len(members) <= 3 else f"{len(members)} countries"


def _result(path: Path, spec: _Layout, flows: pd.DataFrame, counts: _Counts, *,
            codes: list[str], component: str, members: list[str] | None, label: str | None,
            weight: str, source_id: str | None, shared: dict[str, list[str]]) -> TradeImport:
    years = sorted(int(y) for y in flows["year"].unique())
    label = _label(members, label)
    column = "value" if weight == "value" else "quantity"
    report: dict = {"layout": spec.name, "hs": codes, "weight": weight,
                    "rows_read": counts.rows_read, "rows_used": counts.rows_used,
                    "years": years, "value_unit": _VALUE_UNIT[spec.name],
                    "shared_codes": shared,
                    "skipped_rows": {"other_flows": counts.other_flows,
                                     "world_partner": counts.world_partner,
                                     "breakdown": counts.breakdown}}
    # world exports by exporter, with or without a region: the supply table's meaning
    flow = _pick_flow(flows, ("B", "X", "M"))
    used = flows[flows["flow"] == flow]
    shares, unmapped, total = _checked_shares(path, spec, used, "exporter", column, codes,
                                              weight)
    report.update(_totals(used, unmapped, column, total, flow))
    if spec.quantity:
        report.update({
            "quantity_unit": _QUANTITY_UNIT[spec.name],
            "total_quantity": float(used["quantity"].sum()),
            "rows_without_quantity": int(used["rows_without_quantity"].sum()),
            "value_without_quantity": float(used["value_without_quantity"].sum()),
        })
    consumption = imports = None
    import_flow = None
    if members is not None:
        import_flow = _pick_flow(flows, ("B", "M", "X"))
        every = flows[flows["flow"] == import_flow]
        importer, exporter = every["importer"].map(_iso3), every["exporter"].map(_iso3)
        into = every[importer.isin(members) & ~exporter.isin(members)]
        region: dict = {"label": label, "members": members,
                        "intra_region_value": float(every.loc[
                            importer.isin(members) & exporter.isin(members), "value"].sum()),
                        "unmapped_importer_codes": _by_code(every[importer.isna()], "importer")}
        by_origin, outside_unmapped, outside = _checked_shares(
            path, spec, into, "exporter", column, codes, weight,
            what=f"the imports of {label} from outside it")
        region.update(_totals(into, outside_unmapped, column, outside, import_flow))
        report["region"] = region
        consumption_shares, nowhere, world = _shares(every, "importer", column)
        report["consumption_unmapped_share"] = (
            float(nowhere[column].sum() / world) if world > 0 else None)
    source = _source(path, spec, codes=codes, component=component, years=years,
                     weight=weight, flow=flow, import_flow=import_flow, label=label,
                     members=members, source_id=source_id, shared=shared)
    supply = _supply_table(shares, component, source["id"])
    if members is not None:
        consumption = _consumption_table(consumption_shares, component, source["id"])
        imports = _imports_table(by_origin, component, str(label), source["id"])
    return TradeImport(supply=supply, consumption=consumption, source=source, report=report,
                       path=Path(path), imports=imports)


def _checked_shares(path: Path, spec: _Layout, frame: pd.DataFrame, by: str, column: str,
                    codes: list[str], weight: str, what: str = "the flows"
                    ) -> tuple[pd.Series, pd.DataFrame, float]:
    """:func:`_shares`, refusing a total of zero or one past the largest float."""
    shares, unmapped, total = _shares(frame, by, column)
    if not total > 0:
        raise DatasetError([Problem(path.name, None, spec.quantity or spec.value,
                                    f"{what} of HS {', '.join(codes)} have no {weight} to "
                                    "share out")], str(path))
    if not (math.isfinite(total) and np.isfinite(shares.to_numpy(dtype=float)).all()):
        raise DatasetError([Problem(  # never shares of infinity, written as an empty table
            path.name, None, spec.quantity if weight == "quantity" else spec.value,
            f"the {weight}s of HS {', '.join(codes)} add up past the largest number a float "
            "holds (about 1.8e308); is the file's unit right?")], str(path))
    return shares, unmapped, total


def _totals(used: pd.DataFrame, unmapped: pd.DataFrame, column: str, total: float,
            flow: str) -> dict:
    return {"flow": _FLOW_TEXT[flow],
            "total_value": float(used["value"].sum()),
            "value_by_hs": _by_code(used, "hs"),
            "unmapped_codes": _by_code(unmapped, "exporter"),
            "unmapped_value": float(unmapped["value"].sum()),
            "unmapped_share": float(unmapped[column].sum() / total)}


def _by_code(frame: pd.DataFrame, column: str) -> dict[str, float]:
    """Trade value per code of ``column``, largest first."""
    sums = frame.groupby(column)["value"].sum().sort_values(ascending=False, kind="stable")
    return {str(k): float(v) for k, v in sums.items()}


def _source(path: Path, spec: _Layout, *, codes: list[str], component: str, years: list[int],
            weight: str, flow: str, import_flow: str | None, label: str | None,
            members: list[str] | None, source_id: str | None,
            shared: dict[str, list[str]]) -> dict:
    span = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
    unit = _VALUE_UNIT[spec.name] if weight == "value" else _QUANTITY_UNIT[spec.name]
    what = f"world exports by exporter ({_FLOW_TEXT[flow]})"
    if members is not None and import_flow is not None:
        what += (f"; imports of {label} ({len(members)} member"
                 f"{'s' if len(members) > 1 else ''}) from outside it, by origin, and "
                 f"consumption approximated by each country's imports "
                 f"({_FLOW_TEXT[import_flow]})")
    note = f"HS {', '.join(codes)}; years {', '.join(map(str, years))}; weight {weight} " \
           f"({unit}); {what}"
    if shared:
        note += "; " + shared_warning(shared, component)
    if source_id is None:
        region = "" if label is None else f"-imports-{label}"
        source_id = _slug(f"{spec.name}-{component}{region}-{span}")
    kind = "BACI bilateral trade flows" if spec.name == "baci" else "UN Comtrade trade flows"
    return {"id": source_id, "publisher": _PUBLISHER[spec.name],
            "title": f"{kind}, {span} ({path.name})", "year": years[-1], "url": "",
            "kind": "primary", "note": note}


def shared_warning(shared: dict[str, list[str]], component: str) -> str:
    """One sentence saying which codes also carry other goods than ``component``.

    >>> shared_warning({"280429": ["helium", "xenon"]}, "neon")
    'HS 280429 also carries helium and xenon: its shares are of all of them, not of neon alone'
    """
    def listed(goods: list[str]) -> str:
        return goods[0] if len(goods) == 1 else f"{', '.join(goods[:-1])} and {goods[-1]}"

    parts = [f"HS {code} also carries {listed(goods)}" for code, goods in shared.items()]
    return (f"{'; '.join(parts)}: its shares are of all of them, not of {component} alone"
            if len(parts) == 1 else
            f"{'; '.join(parts)}: the shares are of all of them, not of {component} alone")


# --- writing ------------------------------------------------------------------------------


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with open(path, "wb") as fh:
        fh.write(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def write_trade_import(result: TradeImport, output_dir: str | Path, *,
                       force: bool = False) -> Path:
    """Write ``supply.csv``, ``consumption.csv`` and ``imports.csv`` (when present) and
    ``sources.csv`` to a folder, with a ``datapackage.json`` describing them.

    The files are written into a temporary folder next to ``output_dir`` that is renamed into
    place at the end, so the folder appears whole or not at all.

    Parameters
    ----------
    result : TradeImport
        What :func:`import_trade` returned.
    output_dir : str or Path
        The folder to create.
    force : bool
        Replace an existing ``output_dir`` (the whole folder) instead of refusing.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    OutputError
        When ``output_dir`` exists and ``force`` is false, it is or holds the trade file
        read, its parent folder does not exist, or a file cannot be written.
    """
    if result.path is not None:
        refuse_replacing_source(result.path, output_dir)

    def fill(folder: Path) -> None:
        _write_csv(result.supply, folder / "supply.csv")
        if result.consumption is not None:
            _write_csv(result.consumption, folder / "consumption.csv")
        if result.imports is not None:
            _write_csv(result.imports, folder / "imports.csv")
        sources = pd.DataFrame([result.source], columns=["id", "publisher", "title", "year",
                                                         "url", "kind", "note"])
        _write_csv(sources, folder / "sources.csv")
        _write_package(result, folder)

    return write_folder(output_dir, fill, force=force)


def _write_package(result: TradeImport, folder: Path) -> None:
    """The folder's Frictionless descriptor: the tables written, ready to merge into a
    dataset (their references to components and countries point outside the folder)."""
    from semigraph.io.package import descriptor, folder_headers, write_package

    tables = ["supply", "sources"] + (["consumption"] if result.consumption is not None
                                      else [])
    package = descriptor(name=f"trade-{result.source['id']}", version="1",
                         title=str(result.source.get("title") or "trade shares"),
                         tables=tables, description=str(result.source.get("note") or ""),
                         headers=folder_headers(folder, tables))
    if result.imports is not None:
        package["resources"].append(IMPORTS_RESOURCE)
    write_package(folder, package)


#: The Frictionless resource of ``imports.csv`` (not a dataset table, so not in the schema).
IMPORTS_RESOURCE = {
    "name": "imports", "path": "imports.csv", "profile": "tabular-data-resource",
    "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
    "schema": {"fields": [
        {"name": "component", "type": "string", "description": "Component imported",
         "constraints": {"required": True}},
        {"name": "importer", "type": "string",
         "description": "The importing country or bloc",
         "constraints": {"required": True}},
        {"name": "origin", "type": "string", "description": "Country the goods come from",
         "constraints": {"required": True, "pattern": "^[A-Z]{3}$"}},
        {"name": "share", "type": "number",
         "description": "Share of the importer's imports from outside it (0..1): import "
                        "dependency, not a share of world supply",
         "constraints": {"required": True, "minimum": 0, "maximum": 1}},
        {"name": "source", "type": "string", "description": "Source of the row",
         "constraints": {"required": True}}],
        "primaryKey": ["component", "importer", "origin"],
        "foreignKeys": [{"fields": "source",
                         "reference": {"resource": "sources", "fields": "id"}}],
        "missingValues": [""]},
}


