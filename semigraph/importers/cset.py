"""Import the CSET/ETO "Advanced Semiconductor Supply Chain Dataset" as a semigraph dataset.

The publisher (Georgetown University's Center for Security and Emerging Technology, Emerging
Technology Observatory) ships five CSV files: ``stages.csv``, ``inputs.csv``,
``providers.csv``, ``provision.csv`` and ``sequence.csv``. :func:`import_cset` reads them,
repairs what the real files contain, logs every repair, and writes a dataset folder that
:func:`semigraph.load` accepts.

Mapping
-------
=====================  =====================================================================
CSET                   semigraph
=====================  =====================================================================
stage (S1, S2, ...)    a component (the stage as a whole; its provision rows are its supply)
input (N1, N2, ...)    a component
``goes_into``          ``requires``: the target needs the input
``is_type_of``         ``requires`` with ``group = "types"``: the parent needs one of its
                       sub-types (they are alternatives)
country provider       supply row with supplier = site = that country
organisation provider  a firm (``hq`` = its country) and a supply row with site = ``hq``
``share_provided``     ``share`` as a fraction (``61%`` -> 0.61); empty stays empty (unknown)
``negligible_market_   a share near zero (below), citing the estimate source
share``                ``cset-eto-negligible``
=====================  =====================================================================

Negligible and unknown shares. The publisher gives most firms no share and flags some
providers ``negligible`` (its technical notes: the provider's country holds 2% or less of the
market, rounded, or the report calls it negligible). A flagged row without a share is read as
a share near zero: the flagged rows of one country in one component hold 1% together (the
middle of the 0-2% band; the publisher also shows shares below 1% as 1%), split equally, and
never more than the published shares leave (0 when they sum to 100%). Every such row cites the
source ``cset-eto-negligible`` (kind ``estimate``) and is listed among the repairs. Rows with
neither a share nor the flag stay unknown (empty), so that they share what the published and
negligible shares leave (engine README, unknown shares) instead of an equal part beside
providers the publisher calls negligible: advanced CPU design (Intel and AMD without shares,
four Chinese firms flagged negligible) reads as the United States 99%, China 1%, not China
two thirds.

Kind and stage of a component (``_KIND`` and ``_STAGE``):

=================  ==============  ===================================================
CSET ``type``      ``kind``        ``stage``
=================  ==============  ===================================================
process            process         from its ``stage_id`` (S1 design, S2 front_end,
                                   S3 back_end); front_end when it has none
tool_resource      equipment       materials_equipment
material_resource  material        materials_equipment
ultimate_output    chip            back_end (the chip leaves the chain after test)
(a stage)          process         S1 design, S2 front_end, S3 back_end
=================  ==============  ===================================================

A tool or material that goes only into design-stage components (electronic design
automation, core IP) is a design input: kind ``design_tool`` (a tool) or ``ip`` (a
material), stage ``design``. Stages not in the table are placed by their name (design;
fabrication -> front_end; assembly, packaging or test -> back_end).

Country codes: providers' codes are checked against ISO 3166-1 alpha-3. The non-ISO codes
found in the publisher's files are translated by ``NON_ISO_CODES`` (``MAL`` -> ``MYS``,
Malaysia); pseudo-countries (``Various``) name no country, so their share is left
unattributed (no row). Any other unknown code is an error.

Notes
-----
A damaged file is an error naming its file, row and column, never a repair: a row with
fewer or more cells than the header, a file ending inside a quoted cell, a file with a header
and no rows.

Repairs, each logged with file, row (header = row 1), column, what and action:

- byte-order marks and multi-line quoted text are read and normalised;
- exact duplicate rows are dropped; rows that repeat a key with other values keep the first;
- an id named differently in two files keeps its name from the first file read (stages,
  inputs, providers, provision, sequence);
- firm and country rows for one component and site: the level that says more of the size is
  the supply (a published share over the negligible flag over nothing; firms on a tie). Where
  firms there have shares, the firm rows are the supply and the country row (which repeats
  their share) is dropped; where only the country row has a share (the publisher gives the
  country total), it is the supply and the firms without a share are dropped from the supply
  (they stay in ``firms``): their split of the total stays unknown, never an equal part;
  where nobody has a share, the firm rows are kept. A share is never counted twice;
- shares of a component summing above 100%: the publisher rounds shares between 0 and 1% up
  to 1%, so the excess is first taken from the rows published as 1% (lowered alike, each
  staying above 0); when they cannot absorb it, all shares are scaled to sum to 100%.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from semigraph.errors import DatasetError, Problem
from semigraph.io.package import write_package
from semigraph.io.write import refuse_replacing_source, write_folder
from semigraph.schema import columns, iso3_codes

__all__ = ["NON_ISO_CODES", "ImportReport", "fit_to_whole", "import_cset"]

#: Non-ISO country codes found in the publisher's files, with the ISO 3166-1 alpha-3 code.
NON_ISO_CODES = {"MAL": "MYS"}  # Malaysia
#: Provider "countries" that name no country: their share stays unattributed.
_UNATTRIBUTED = frozenset({"various", "other", "others", "rest of world", "row"})

_FILES = {  # file -> the columns the importer needs
    "stages.csv": ("stage_id", "stage_name"),
    "inputs.csv": ("input_id", "input_name", "type", "stage_id"),
    "providers.csv": ("provider_id", "provider_name", "provider_type", "country"),
    "provision.csv": ("provider_id", "provided_id", "share_provided"),  # and, optionally,
    # negligible_market_share
    "sequence.csv": ("input_id", "goes_into_id", "is_type_of_id"),
}
_STAGE = {"S1": "design", "S2": "front_end", "S3": "back_end"}
_STAGE_WORDS = (("design", "design"), ("fabricat", "front_end"), ("assembl", "back_end"),
                ("packag", "back_end"), ("test", "back_end"))
_KIND = {
    "process": ("process", None),
    "tool_resource": ("equipment", "materials_equipment"),
    "material_resource": ("material", "materials_equipment"),
    "ultimate_output": ("chip", "back_end"),
}
_DESIGN_KIND = {"tool_resource": "design_tool", "material_resource": "ip"}
_COUNTRY_TYPES = frozenset({"country"})
_FIRM_TYPES = frozenset({"organization", "organisation", "company", "firm"})
_TYPES_GROUP = "types"

SOURCE_ID = "cset-eto-supply-chain"
#: The source row of the shares read from the publisher's "negligible" flag (an estimate).
NEGLIGIBLE_SOURCE_ID = "cset-eto-negligible"
#: Percent points a country's rows flagged negligible hold together in one component.
NEGLIGIBLE_SHARE = 1.0
_NEGLIGIBLE_WORDS = frozenset({"negligible", "true", "yes", "1"})
_SOURCE = {
    "id": SOURCE_ID,
    "publisher": "Center for Security and Emerging Technology (CSET), Emerging Technology "
                 "Observatory, Georgetown University",
    "title": "Advanced Semiconductor Supply Chain Dataset",
    "year": "",
    "url": "https://github.com/georgetown-cset/eto-supply-chain",
    "kind": "primary",
    "note": "Licence CC BY-NC 4.0. Built from the CSET report 'The Semiconductor Supply "
            "Chain: Assessing National Competitiveness' (2021).",
}
_NEGLIGIBLE_SOURCE = {
    "id": NEGLIGIBLE_SOURCE_ID,
    "publisher": _SOURCE["publisher"],
    "title": "Advanced Semiconductor Supply Chain Dataset: providers flagged "
             "'negligible_market_share', read as a share near zero",
    "year": "",
    "url": _SOURCE["url"],
    "kind": "estimate",
    "note": "The publisher flags a company as negligible when its country holds 2% or less "
            "(rounded) of the market, or the report calls it a negligible provider, and gives "
            "it no share (technical notes of the dataset). semigraph reads the rows one "
            "country has flagged in one component as holding 1% together (the middle of the "
            "0-2% band, and the publisher's own display value for shares below 1%), split "
            "equally among them, and never more than what the published shares of the "
            "component leave (0 when they already sum to 100%).",
}
_LICENCE = {"name": "CC-BY-NC-4.0",
            "title": "Creative Commons Attribution-NonCommercial 4.0",
            "path": "https://creativecommons.org/licenses/by-nc/4.0/"}

_COUNTRY_NAMES = {
    "AUT": "Austria", "BEL": "Belgium", "BLR": "Belarus", "CAN": "Canada",
    "CHE": "Switzerland", "CHN": "China", "CZE": "Czechia", "DEU": "Germany",
    "DNK": "Denmark", "ESP": "Spain", "FIN": "Finland", "FRA": "France",
    "GBR": "United Kingdom", "IND": "India", "IRL": "Ireland", "ISR": "Israel",
    "ITA": "Italy", "JPN": "Japan", "KOR": "South Korea", "LUX": "Luxembourg",
    "MYS": "Malaysia", "NLD": "Netherlands", "NOR": "Norway", "PHL": "Philippines",
    "POL": "Poland", "RUS": "Russia", "SGP": "Singapore", "SWE": "Sweden",
    "THA": "Thailand", "TWN": "Taiwan", "UKR": "Ukraine", "USA": "United States",
    "VNM": "Viet Nam",
}
_EU27 = frozenset({"AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU",
                   "GRC", "HUN", "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT",
                   "ROU", "SVK", "SVN", "ESP", "SWE"})


@dataclass
class ImportReport:
    """What an import wrote and repaired.

    ``counts`` gives the rows of each table written (and ``repairs``); ``repairs`` lists every
    repair as a dict with ``file``, ``row`` (header = row 1; ``None`` for a whole file),
    ``column``, ``what`` and ``action``; ``repair_kinds`` counts them by kind.
    """

    path: Path
    counts: dict[str, int]
    repairs: list[dict]
    repair_kinds: dict[str, int] = field(default_factory=dict)


class _Log:
    """The repair log, with a kind per record for the summary."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.kinds: Counter[str] = Counter()

    def add(self, kind: str, file: str, row: int | None, column: str | None, what: str,
            action: str) -> None:
        self.records.append({"file": file, "row": row, "column": column, "what": what,
                             "action": action})
        self.kinds[kind] += 1


@dataclass
class _Supply:
    component: str
    supplier: str
    site: str
    share: float | None  # percent points; None = unknown
    is_firm: bool
    row: int
    negligible: bool = False  # flagged by the publisher and without a published share

    @property
    def stated(self) -> bool:
        """The publisher says something of the row's size: a share, or "negligible"."""
        return self.share is not None or self.negligible


# -- reading -------------------------------------------------------------------------------
def _read(folder: Path, name: str, log: _Log, problems: list[Problem]) -> pd.DataFrame | None:
    """One file as text cells, indexed by the row a spreadsheet shows (header = row 1).

    A damaged file is an error naming the file, row and column, never a repair: a row with
    fewer or more cells than the header (a file cut short, a stray comma), or a file that ends
    inside a quoted cell.
    """
    path = folder / name
    if not path.is_file():
        problems.append(Problem(name, None, None, f"missing file: expected {name} in {folder}"))
        return None
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, None, "not UTF-8 text; save the file as UTF-8"))
        return None
    records = _records(name, text, problems)
    if records is None:
        return None
    if not records:
        problems.append(Problem(name, None, None, "empty file: no header row"))
        return None
    if data.startswith(codecs.BOM_UTF8):
        log.add("byte-order mark", name, 1, None, "the file starts with a UTF-8 byte-order mark",
                "read without it")
    header = [c.strip() for c in records[0]]
    width = len(header)
    damaged = False
    for number, cells in enumerate(records[1:], start=2):
        if len(cells) < width:
            problems.append(Problem(name, number, header[len(cells)],
                                    f"the row has {len(cells)} cell(s), the header {width}: "
                                    f"{header[len(cells)]!r} and after are missing (is the "
                                    "file cut short?)"))
            damaged = True
        elif len(cells) > width:
            problems.append(Problem(name, number, None,
                                    f"the row has {len(cells)} cells, the header {width}: "
                                    "a stray comma or an unquoted cell?"))
            damaged = True
    if damaged:
        return None
    if len(records) == 1:
        problems.append(Problem(name, None, None, "the file has a header but no rows (the "
                                "publisher's files all have rows: is it cut short?)"))
    missing = [c for c in _FILES[name] if c not in header]
    problems += [Problem(name, 1, c, f"missing column {c!r}") for c in missing]
    frame = pd.DataFrame([[c.strip() for c in r] for r in records[1:]], columns=header,
                         dtype=object)
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return _join_lines(frame, name, log)


def _records(name: str, text: str, problems: list[Problem]) -> list[list[str]] | None:
    """The file's records (blank lines left out), or ``None`` with a problem where the CSV
    is broken: a quoted cell never closed (the file ends inside it) or text after a closing
    quote."""
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(iter(lines), strict=True)
    records: list[list[str]] = []
    done = 0  # lines read by the complete records
    try:
        for cells in reader:
            done = reader.line_num
            if cells:
                records.append(cells)
    except csv.Error as exc:
        row = len(records) + 1  # the record being read (the header is row 1)
        rest = "".join(lines[done:])
        index = _open_quote(rest)
        header = [c.strip() for c in records[0]] if records else []
        column = header[index] if index is not None and index < len(header) else None
        if index is not None:
            what = ("the file ends inside a quoted cell that is never closed (is the file cut "
                    "short?)")
        else:
            what = f"not readable as CSV: {exc}"
        problems.append(Problem(name, row, column, what))
        return None
    return records


def _open_quote(text: str) -> int | None:
    """The index of the cell whose opening quote is never closed in this record's text,
    else ``None``."""
    cell, quoted, opened, at_start = 0, False, None, True
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1:i + 2] == '"':
                    i += 1
                else:
                    quoted = False
        elif ch == '"' and at_start:
            quoted, opened = True, cell
        elif ch == ",":
            cell += 1
            at_start = True
            i += 1
            continue
        elif ch in "\r\n":
            return None  # the record ended with every quote closed
        at_start = False
        i += 1
    return opened if quoted else None


def _join_lines(frame: pd.DataFrame, name: str, log: _Log) -> pd.DataFrame:
    """Cells quoted over several lines become one line (paragraphs joined by a space)."""
    for col in frame.columns:
        multi = frame[col].str.contains(r"[\r\n]", regex=True)
        if multi.any():
            frame[col] = frame[col].str.replace(r"\s*[\r\n]+\s*", " ", regex=True)
            log.add("multi-line text", name, int(frame.index[multi][0]), col,
                    f"{int(multi.sum())} cell(s) quoted over several lines",
                    "line breaks replaced by spaces")
    return frame


def _drop_duplicates(frame: pd.DataFrame, name: str, key: tuple[str, ...],
                     log: _Log) -> pd.DataFrame:
    """Drop exact duplicate rows, and rows repeating a key with other values (first kept)."""
    first: dict[tuple, int] = {}
    keep = []
    for row, values in zip(frame.index, frame.itertuples(index=False)):
        whole = tuple(values)
        if whole in first:
            log.add("duplicate row", name, int(row), None,
                    f"repeats row {first[whole]}", "dropped")
            keep.append(False)
            continue
        first[whole] = int(row)
        keep.append(True)
    frame = frame.loc[np.asarray(keep, dtype=bool)]  # rows, also when there are none
    if not key:
        return frame
    seen: dict[tuple, int] = {}
    keep = []
    for row, values in zip(frame.index, frame[list(key)].itertuples(index=False)):
        k = tuple(values)
        if k in seen:
            what = ", ".join(f"{c} {v}" for c, v in zip(key, k))
            log.add("conflicting duplicate", name, int(row), key[-1],
                    f"{what} again (first at row {seen[k]}) with other values",
                    f"dropped; row {seen[k]} kept")
            keep.append(False)
            continue
        seen[k] = int(row)
        keep.append(True)
    return frame.loc[np.asarray(keep, dtype=bool)]


def _read_all(folder: Path, log: _Log) -> dict[str, pd.DataFrame]:
    problems: list[Problem] = []
    frames = {name: _read(folder, name, log, problems) for name in _FILES}
    if problems:
        raise DatasetError(problems, path=str(folder))
    keys = {"stages.csv": ("stage_id",), "inputs.csv": ("input_id",),
            "providers.csv": ("provider_id",), "provision.csv": ("provider_id", "provided_id"),
            "sequence.csv": ()}
    return {name: _drop_duplicates(frame, name, keys[name], log)
            for name, frame in frames.items() if frame is not None}


# -- names ---------------------------------------------------------------------------------
def _check_names(names: dict[str, tuple[str, str]], frame: pd.DataFrame, file: str,
                 id_col: str, name_col: str, log: _Log) -> None:
    """Log each id that ``file`` names differently from the file that defined it."""
    if name_col not in frame.columns:
        return
    seen: dict[tuple[str, str], list[int]] = {}
    for row, ident, name in zip(frame.index, frame[id_col], frame[name_col]):
        if name and ident in names and name != names[ident][0]:
            seen.setdefault((ident, name), []).append(int(row))
    for (ident, name), rows in seen.items():
        kept, origin = names[ident]
        log.add("name mismatch", file, rows[0], name_col,
                f"{ident} is named {name!r} here ({len(rows)} row(s)) but {kept!r} in {origin}",
                f"kept {kept!r}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _unique(base: str, fallback: str, taken: set[str]) -> str:
    ident = base or _slug(fallback)
    if ident in taken:
        ident = f"{ident}-{_slug(fallback)}"
    n = 2
    while ident in taken:
        ident, n = f"{base}-{n}", n + 1
    taken.add(ident)
    return ident


# -- components ----------------------------------------------------------------------------
def _stage_of(stage_id: str, stage_name: str) -> str | None:
    if stage_id in _STAGE:
        return _STAGE[stage_id]
    lowered = stage_name.lower()
    return next((stage for word, stage in _STAGE_WORDS if word in lowered), None)


def _components(frames: dict[str, pd.DataFrame], log: _Log,
                folder: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The components table and a map from CSET id to component id."""
    stages, inputs = frames["stages.csv"], frames["inputs.csv"]
    problems: list[Problem] = []
    rows: list[dict] = []
    ids: dict[str, str] = {}
    taken: set[str] = set()
    stage_names = {s: n for s, n in zip(stages["stage_id"], stages["stage_name"])}
    for row, sid, name in zip(stages.index, stages["stage_id"], stages["stage_name"]):
        stage = _stage_of(sid, name)
        if stage is None:
            problems.append(Problem("stages.csv", int(row), "stage_name", f"stage {sid} "
                                    f"({name!r}) maps to no semigraph stage"))
            continue
        ids[sid] = _unique(_slug(name), sid, taken)
        rows.append(_component_row(ids[sid], name, "process", stage, sid, stages.loc[row]))
    for row, r in inputs.iterrows():
        if r["type"] not in _KIND:
            problems.append(Problem("inputs.csv", int(row), "type", f"unknown type "
                                    f"{r['type']!r}; known: {', '.join(_KIND)}"))
            continue
        kind, stage = _KIND[r["type"]]
        if stage is None:  # a process: its own stage
            stage = _stage_of(r["stage_id"], stage_names.get(r["stage_id"], ""))
            if stage is None:
                stage = "front_end"
                log.add("no stage", "inputs.csv", int(row), "stage_id",
                        f"process {r['input_id']} has no known stage", "placed in front_end")
        ids[r["input_id"]] = _unique(_slug(r["input_name"]), r["input_id"], taken)
        rows.append(_component_row(ids[r["input_id"]], r["input_name"], kind, stage,
                                   r["input_id"], r))
    if problems:
        raise DatasetError(problems, path=str(folder))
    table = pd.DataFrame(rows)
    _place_design_inputs(table, inputs, frames["sequence.csv"], ids)
    return table, ids


def _component_row(ident: str, name: str, kind: str, stage: str, cset_id: str,
                   source: pd.Series) -> dict:
    text = source.get("description", "")
    return {"id": ident, "name": name, "kind": kind, "stage": stage,
            "description": f"CSET/ETO {cset_id}. {text}".strip() if text else
            f"CSET/ETO {cset_id}"}


def _place_design_inputs(table: pd.DataFrame, inputs: pd.DataFrame, sequence: pd.DataFrame,
                         ids: dict[str, str]) -> None:
    """Tools and materials that go only into design-stage components are design inputs."""
    consumers: dict[str, set[str]] = defaultdict(set)
    for inp, target, parent in zip(sequence["input_id"], sequence["goes_into_id"],
                                   sequence["is_type_of_id"]):
        for other in (target, parent):
            if inp in ids and other in ids:
                consumers[ids[inp]].add(ids[other])
    cset_type = {ids[i]: t for i, t in zip(inputs["input_id"], inputs["type"]) if i in ids}
    stage = dict(zip(table["id"], table["stage"]))
    changed = True
    while changed:
        changed = False
        for comp, users in consumers.items():
            if (cset_type.get(comp) in _DESIGN_KIND and stage[comp] != "design"
                    and all(stage[u] == "design" for u in users)):
                stage[comp] = "design"
                changed = True
    design = table["id"].map(lambda c: stage[c] == "design" and cset_type.get(c) in _DESIGN_KIND)
    table.loc[design, "stage"] = "design"
    table.loc[design, "kind"] = table.loc[design, "id"].map(lambda c: _DESIGN_KIND[cset_type[c]])


# -- providers -----------------------------------------------------------------------------
def _country(code: str, file: str, row: int, column: str, log: _Log,
             problems: list[Problem]) -> str | None:
    """The ISO3 code of ``code``; ``None`` for a pseudo-country such as ``Various``."""
    if code.lower() in _UNATTRIBUTED:
        return None
    upper = code.upper()
    if upper in iso3_codes():
        return upper
    if upper in NON_ISO_CODES:
        log.add("non-ISO country code", file, row, column,
                f"{code!r} is not an ISO 3166-1 alpha-3 code", f"read as {NON_ISO_CODES[upper]}")
        return NON_ISO_CODES[upper]
    problems.append(Problem(file, row, column, f"{code!r} is not an ISO 3166-1 alpha-3 code "
                            "and not in the importer's table of known non-ISO codes"))
    return None


def _providers(providers: pd.DataFrame, log: _Log, folder: Path,
               component_ids: set[str]) -> tuple[dict[str, tuple], pd.DataFrame]:
    """provider id -> ("country", iso3 or None) or ("firm", firm id, hq or None); firms."""
    problems: list[Problem] = []
    out: dict[str, tuple] = {}
    firms: list[dict] = []
    taken = set(component_ids)
    for row, r in providers.iterrows():
        ptype = r["provider_type"].lower()
        if ptype in _COUNTRY_TYPES:
            column = "country" if r["country"] else "provider_name"
            out[r["provider_id"]] = ("country", _country(r[column], "providers.csv", int(row),
                                                         column, log, problems))
        elif ptype in _FIRM_TYPES:
            hq = _country(r["country"], "providers.csv", int(row), "country", log, problems) \
                if r["country"] else None
            fid = _unique(_slug(r["provider_name"]), r["provider_id"], taken)
            out[r["provider_id"]] = ("firm", fid, hq)
            if hq is not None:
                firms.append({"id": fid, "name": r["provider_name"], "hq": hq})
            else:
                log.add("firm without country", "providers.csv", int(row), "country",
                        f"{r['provider_name']} ({r['provider_id']}) names no country",
                        "left out of firms; its shares stay unattributed")
        else:
            problems.append(Problem("providers.csv", int(row), "provider_type",
                                    f"unknown provider type {r['provider_type']!r}; known: "
                                    "country, organization"))
    if problems:
        raise DatasetError(problems, path=str(folder))
    return out, pd.DataFrame(firms, columns=["id", "name", "hq"])


# -- supply --------------------------------------------------------------------------------
_SHARE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%?")


def _percent(text: str, row: int, problems: list[Problem]) -> float | None:
    """A share in percent points: ``61%`` (or a bare ``61``); empty is unknown."""
    if not text:
        return None
    m = _SHARE.fullmatch(text)
    if m is None or float(m.group(1)) > 100:
        problems.append(Problem("provision.csv", row, "share_provided",
                                f"{text!r} is not a share between 0% and 100%"))
        return None
    return float(m.group(1))


def _negligible(text: str, row: int, problems: list[Problem]) -> bool:
    """The publisher's ``negligible_market_share`` cell: ``negligible`` or empty."""
    if not text:
        return False
    if text.lower() in _NEGLIGIBLE_WORDS:
        return True
    problems.append(Problem("provision.csv", row, "negligible_market_share",
                            f"{text!r} is neither 'negligible' nor empty"))
    return False


def _candidates(provision: pd.DataFrame, providers: dict[str, tuple], ids: dict[str, str],
                log: _Log, folder: Path) -> list[_Supply]:
    problems: list[Problem] = []
    out: list[_Supply] = []
    flags = "negligible_market_share" in provision.columns
    for row, r in provision.iterrows():
        row = int(row)
        share = _percent(r["share_provided"], row, problems)
        # a published share wins over the flag (the flag only says the share is small)
        small = (flags and _negligible(r["negligible_market_share"], row, problems)
                 and share is None)
        provider = providers.get(r["provider_id"])
        if provider is None or r["provided_id"] not in ids:
            bad, col = ((r["provider_id"], "provider_id") if provider is None
                        else (r["provided_id"], "provided_id"))
            log.add("unknown id", "provision.csv", row, col, f"{bad!r} is defined in no file",
                    "row dropped")
            continue
        comp = ids[r["provided_id"]]
        if provider[0] == "country":
            if provider[1] is None:
                log.add("unattributed share", "provision.csv", row, "provider_id",
                        f"{r['provider_id']} ('Various') names no country "
                        f"(share {r['share_provided'] or 'unknown'} of {r['provided_id']})",
                        "no row: the share stays unattributed")
                continue
            out.append(_Supply(comp, provider[1], provider[1], share, False, row, small))
        elif provider[2] is not None:
            out.append(_Supply(comp, provider[1], provider[2], share, True, row, small))
    if problems:
        raise DatasetError(problems, path=str(folder))
    return out


def _level(row: _Supply) -> int:
    """What the publisher says of a row's size: 2 a share, 1 "negligible", 0 nothing."""
    return 2 if row.share is not None else int(row.negligible)


def _one_level_per_site(rows: list[_Supply], log: _Log) -> list[_Supply]:
    """Keep firm rows or the country row for each component and site, never both.

    The level that says more of the size is kept: a published share over the negligible
    flag over nothing; on a tie the firm rows (the finer level).
    """
    by_site: dict[tuple[str, str], list[_Supply]] = defaultdict(list)
    for s in rows:
        by_site[(s.component, s.site)].append(s)
    drop: set[int] = set()
    for (comp, site), group in by_site.items():
        firms = [s for s in group if s.is_firm]
        countries = [s for s in group if not s.is_firm]
        if not firms or not countries:
            continue
        firm_level = max(_level(s) for s in firms)
        country_level = max(_level(s) for s in countries)
        firm_sum = sum(s.share for s in firms if s.share is not None)
        if firm_level and firm_level >= country_level:
            theirs = f"{firm_sum:g}%" if firm_level == 2 else "flagged negligible"
            for c in countries:
                gap = "" if c.share is None or abs(c.share - firm_sum) < 1e-9 else (
                    f"; the {c.share - firm_sum:+g} point difference stays unattributed")
                log.add("country row repeats firm shares", "provision.csv", c.row,
                        "share_provided", f"{site} row for {comp} ({_pct(c)}) repeats "
                        f"the firm rows at {site} ({theirs})",
                        f"dropped; the firm rows are the supply{gap}")
                drop.add(id(c))
        elif country_level > firm_level:
            theirs = _pct(max(countries, key=_level))
            for f in firms:
                log.add("firm without share under a country share", "provision.csv", f.row,
                        "share_provided", f"{f.supplier} ({_pct(f)}) in {comp} where the "
                        f"{site} row says more ({theirs})",
                        f"no supply row for the firm (kept in firms); the {site} row is the "
                        "supply")
                drop.add(id(f))
        else:
            for c in countries:
                log.add("country row beside firm rows", "provision.csv", c.row,
                        "share_provided", f"{site} row for {comp} without a share, beside "
                        f"firm rows at {site} without shares",
                        "dropped; the firm rows are the supply")
                drop.add(id(c))
    return [s for s in rows if id(s) not in drop]


def _pct(row: _Supply) -> str:
    if row.share is not None:
        return f"{row.share:g}%"
    return "flagged negligible" if row.negligible else "share unknown"


def _drop_duplicate_supply(rows: list[_Supply], log: _Log) -> list[_Supply]:
    """Rows that become one key after code translation (``MAL`` and ``MYS``) keep the first."""
    first: dict[tuple, int] = {}
    out = []
    for s in rows:
        key = (s.component, s.supplier, s.site)
        if key in first:
            log.add("duplicate row", "provision.csv", s.row, "provider_id",
                    f"{s.supplier} supplies {s.component} from {s.site} again (first at row "
                    f"{first[key]})", "dropped")
            continue
        first[key] = s.row
        out.append(s)
    return out


def fit_to_whole(shares: list[float]) -> tuple[list[float], str]:
    """Bring percent shares that sum above 100 back to 100.

    The excess is first taken from the shares published as 1%, which the publisher rounds up
    from anything between 0 and 1%: they are lowered alike and each stays above 0. When they
    cannot absorb it, every share is scaled by ``100 / sum``.

    Parameters
    ----------
    shares : list of float
        Known shares of one component, in percent points.

    Returns
    -------
    tuple
        The new shares (same order) and a description of what was done.

    Examples
    --------
    >>> shares, how = fit_to_whole([96.0, 3.0, 1.0, 1.0, 1.0])
    >>> [round(s, 3) for s in shares], how
    ([96.0, 3.0, 0.333, 0.333, 0.333], 'rows published as 1% lowered to 0.333% each')
    >>> [round(s, 2) for s in fit_to_whole([100.0, 1.0])[0]]
    [99.01, 0.99]
    """
    total = sum(shares)
    excess = total - 100.0
    ones = [i for i, v in enumerate(shares) if v == 1.0]
    if excess <= 1e-9:
        return list(shares), "unchanged"
    if ones and excess < len(ones) - 1e-9:
        each = (len(ones) - excess) / len(ones)
        out = [each if i in ones else v for i, v in enumerate(shares)]
        return out, f"rows published as 1% lowered to {each:.3g}% each"
    return [v * 100.0 / total for v in shares], f"every share scaled by 100/{total:g}"


def _fit_shares(rows: list[_Supply], names: dict[str, str], log: _Log) -> None:
    by_comp: dict[str, list[_Supply]] = defaultdict(list)
    for s in rows:
        if s.share is not None:
            by_comp[s.component].append(s)
    for comp, group in by_comp.items():
        total = sum(s.share for s in group)
        if total <= 100.0 + 1e-9:
            continue
        new, how = fit_to_whole([s.share for s in group])
        for s, v in zip(group, new):
            s.share = v
        log.add("shares above 100%", "provision.csv", min(s.row for s in group),
                "share_provided", f"shares of {names[comp]} sum to {total:g}% (rounding)",
                f"{how}, so they sum to 100%")


def _negligible_shares(rows: list[_Supply], names: dict[str, str], log: _Log) -> None:
    """Give the rows flagged negligible (and without a published share) a share near zero.

    In each component, the flagged rows of one site country hold :data:`NEGLIGIBLE_SHARE`
    percent together, split equally; when the published shares leave less than that for
    every such country, the room left is split equally between them (0 when the published
    shares sum to 100%). Rows without a share and without the flag stay unknown: they share
    what the published and negligible shares leave (engine README, unknown shares), instead
    of an equal part beside providers the publisher calls negligible.
    """
    by_comp: dict[str, list[_Supply]] = defaultdict(list)
    for s in rows:
        by_comp[s.component].append(s)
    for comp, group in by_comp.items():
        flagged: dict[str, list[_Supply]] = defaultdict(list)
        for s in group:
            if s.negligible:
                flagged[s.site].append(s)
        if not flagged:
            continue
        room = max(0.0, 100.0 - sum(s.share for s in group if s.share is not None))
        per_site = min(NEGLIGIBLE_SHARE, room / len(flagged))
        for site, these in flagged.items():
            for s in these:
                s.share = per_site / len(these)
                log.add("negligible share", "provision.csv", s.row, "negligible_market_share",
                        f"{s.supplier} flagged negligible in {names[comp]}, no share given",
                        f"share {s.share:.3g}% ({site}'s flagged rows hold {per_site:.3g}% "
                        f"together), source {NEGLIGIBLE_SOURCE_ID}")


def _supply_table(rows: list[_Supply], order: list[str]) -> pd.DataFrame:
    rank = {c: i for i, c in enumerate(order)}
    rows = sorted(rows, key=lambda s: (rank[s.component], s.is_firm, s.supplier, s.site))
    return pd.DataFrame(
        [{"component": s.component, "supplier": s.supplier, "site": s.site,
          "share": "" if s.share is None else _fraction(s.share),
          "source": NEGLIGIBLE_SOURCE_ID if s.negligible else SOURCE_ID}
         for s in rows], columns=["component", "supplier", "site", "share", "source"])


def _fraction(percent: float) -> str:
    return f"{percent / 100.0:.6f}".rstrip("0").rstrip(".") or "0"


# -- requirements --------------------------------------------------------------------------
def _requires(sequence: pd.DataFrame, ids: dict[str, str], log: _Log) -> pd.DataFrame:
    rows: list[dict] = []
    first: dict[tuple[str, str], int] = {}
    for row, r in sequence.iterrows():
        row = int(row)
        if not (r["goes_into_id"] or r["is_type_of_id"]):
            log.add("no relation", "sequence.csv", row, "goes_into_id",
                    f"{r['input_id']} goes into nothing and is a type of nothing", "dropped")
        for col, group in (("goes_into_id", ""), ("is_type_of_id", _TYPES_GROUP)):
            target = r[col]
            if not target:
                continue
            bad = next(((c, v) for c, v in (("input_id", r["input_id"]), (col, target))
                        if v not in ids), None)
            if bad:
                log.add("unknown id", "sequence.csv", row, bad[0],
                        f"{bad[1]!r} is defined in no file", "relation dropped")
                continue
            key = (ids[target], ids[r["input_id"]])
            if key[0] == key[1]:
                log.add("self-reference", "sequence.csv", row, col,
                        f"{target} refers to itself", "relation dropped")
                continue
            if key in first:
                log.add("duplicate relation", "sequence.csv", row, col,
                        f"{r['input_id']} -> {target} again (first at row {first[key]})",
                        "dropped")
                continue
            first[key] = row
            rows.append({"component": key[0], "input": key[1], "group": group,
                         "source": SOURCE_ID})
    return pd.DataFrame(rows, columns=["component", "input", "group", "source"])


# -- writing -------------------------------------------------------------------------------
def _countries(used: set[str]) -> pd.DataFrame:
    return pd.DataFrame([{"id": c, "name": _COUNTRY_NAMES.get(c, c),
                          "blocs": "EU27" if c in _EU27 else ""} for c in sorted(used)],
                        columns=["id", "name", "blocs"])


def _schema_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in columns(table):
        if col.name not in out.columns:
            out[col.name] = ""
    return out[[c.name for c in columns(table)]]


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in sorted(_FILES):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def _datapackage(version: str) -> dict:
    from semigraph.io.package import descriptor

    return descriptor(
        name="cset-eto-semiconductor-supply-chain",
        title="CSET/ETO Advanced Semiconductor Supply Chain Dataset (semigraph tables)",
        version=version, licenses=[_LICENCE],
        sources=[{"title": f"{_SOURCE['publisher']}: {_SOURCE['title']}",
                  "path": _SOURCE["url"]}],
        tables=("countries", "firms", "components", "supply", "requires", "sources"))


def _md(value) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _readme(counts: dict[str, int], log: _Log, version: str) -> str:
    lines = [
        "# CSET/ETO Advanced Semiconductor Supply Chain Dataset, as semigraph tables",
        "",
        "## Summary",
        "",
        f"Imported on {dt.date.today().isoformat()} from the publisher's CSV files "
        f"(fingerprint {version}): {counts['components']} components, {counts['firms']} "
        f"firms, {counts['countries']} countries, {counts['supply']} supply rows and "
        f"{counts['requires']} requirements; {counts['repairs']} repairs, listed below.",
        "",
        "## Source and licence",
        "",
        f"{_SOURCE['publisher']}: *{_SOURCE['title']}*, <{_SOURCE['url']}>. Licensed under "
        f"Creative Commons Attribution-NonCommercial 4.0 (CC BY-NC 4.0, <{_LICENCE['path']}>):"
        " credit the publisher and do not use it commercially. Underlying report: \"The "
        "Semiconductor Supply Chain: Assessing National Competitiveness\" (CSET, 2021). Every "
        f"supply and requires row cites the source `{SOURCE_ID}`.",
        "",
        "## How the tables were made",
        "",
        "Stages and inputs are components; `goes_into` is a requirement; `is_type_of` makes "
        f"the sub-types alternatives of their parent (group `{_TYPES_GROUP}`: the parent needs "
        "one of them). Country providers supply from their own country; organisations are "
        "firms that supply from their headquarters country. Shares are fractions of world "
        "supply; an empty share is unknown. Rows the publisher flags as negligible (their "
        "country holds 2% or less of the market) get a share near zero: one country's "
        "flagged rows in a component hold 1% together, never more than the published shares "
        f"leave; they cite the estimate source `{NEGLIGIBLE_SOURCE_ID}` and are listed below "
        "as repairs of kind 'negligible share'. Where the publisher gives a country's total "
        "and not its firms' shares, the country row is the supply and the split between its "
        "firms stays unknown. Stock and restoration times are not in the source and are left "
        "empty.",
        "",
        "## Repairs",
        "",
        "| kind | count |",
        "| --- | --- |",
        *[f"| {_md(k)} | {n} |" for k, n in sorted(log.kinds.items())],
        "",
        "| file | row | column | what | action |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {_md(r['file'])} | {_md(r['row'])} | {_md(r['column'])} | {_md(r['what'])} | "
          f"{_md(r['action'])} |" for r in log.records],
        "",
    ]
    return "\n".join(lines)


def _write_tables(folder: Path, tables: dict[str, pd.DataFrame], readme: str,
                  package: dict) -> None:
    for name, frame in tables.items():
        (folder / f"{name}.csv").write_text(
            _schema_frame(name, frame).to_csv(index=False, lineterminator="\n"),
            encoding="utf-8")
    write_package(folder, package)
    (folder / "README.md").write_text(readme, encoding="utf-8")


# -- the import ----------------------------------------------------------------------------
def import_cset(source_dir: str | Path, output_dir: str | Path, *, force: bool = False,
                progress: Callable[[str], None] | None = None) -> ImportReport:
    """Convert the CSET/ETO supply chain files into a semigraph dataset folder.

    Parameters
    ----------
    source_dir : str or Path
        Folder with the publisher's ``stages.csv``, ``inputs.csv``, ``providers.csv``,
        ``provision.csv`` and ``sequence.csv``.
    output_dir : str or Path
        The dataset folder to write (its parent must exist). It is written beside its final
        place and renamed into it when complete and valid.
    force : bool
        Replace an existing ``output_dir``.
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    ImportReport
        The folder written, row counts and the repair log.

    Raises
    ------
    DatasetError
        A file or column is missing or a cell cannot be read (file, row and column named),
        or the result fails validation.
    OutputError
        ``output_dir`` exists and ``force`` is not given, or cannot be written.

    Notes
    -----
    The mapping and the repairs are described in this module's docstring; every repair is
    returned in ``repairs`` and listed in the dataset's ``README.md``.

    Examples
    --------
    >>> report = import_cset("cset-data", "cset-dataset")  # doctest: +SKIP
    >>> report.counts["components"]  # doctest: +SKIP
    82
    """
    say = progress or (lambda message: None)
    source, output = Path(source_dir), Path(output_dir)
    if not source.is_dir():
        raise DatasetError([Problem(str(source), None, None, "no such folder")], str(source))
    refuse_replacing_source(source, output)
    log = _Log()
    say("reading the CSET/ETO files")
    frames = _read_all(source, log)
    tables = _convert(frames, log, source)
    counts = {name: len(frame) for name, frame in tables.items()}
    counts["repairs"] = len(log.records)
    version = _fingerprint(source)
    say("writing the dataset folder")

    def fill(tmp: Path) -> None:
        _write_tables(tmp, tables, _readme(counts, log, version), _datapackage(version))
        say("validating the result")
        _validate(tmp, output)

    write_folder(output, fill, force=force)
    return ImportReport(path=output, counts=counts, repairs=log.records,
                        repair_kinds=dict(sorted(log.kinds.items())))


def _convert(frames: dict[str, pd.DataFrame], log: _Log,
             source: Path) -> dict[str, pd.DataFrame]:
    """The semigraph tables from the CSET tables."""
    stages, inputs = frames["stages.csv"], frames["inputs.csv"]
    provision, sequence = frames["provision.csv"], frames["sequence.csv"]
    stage_names = {i: (n, "stages.csv") for i, n in zip(stages["stage_id"], stages["stage_name"])}
    input_names = {i: (n, "inputs.csv") for i, n in zip(inputs["input_id"], inputs["input_name"])}
    provider_names = {i: (n, "providers.csv") for i, n in
                      zip(frames["providers.csv"]["provider_id"],
                          frames["providers.csv"]["provider_name"])}
    _check_names(stage_names, inputs, "inputs.csv", "stage_id", "stage_name", log)
    _check_names(provider_names, provision, "provision.csv", "provider_id", "provider_name", log)
    _check_names({**stage_names, **input_names}, provision, "provision.csv", "provided_id",
                 "provided_name", log)
    for id_col, name_col in (("input_id", "input_name"), ("goes_into_id", "goes_into_name"),
                             ("is_type_of_id", "is_type_of_name")):
        _check_names(input_names, sequence, "sequence.csv", id_col, name_col, log)

    components, ids = _components(frames, log, source)
    providers, firms = _providers(frames["providers.csv"], log, source, set(components["id"]))
    supply = _candidates(provision, providers, ids, log, source)
    supply = _drop_duplicate_supply(_one_level_per_site(supply, log), log)
    names = dict(zip(components["id"], components["name"]))
    _fit_shares(supply, names, log)
    _negligible_shares(supply, names, log)
    requires = _requires(sequence, ids, log)
    used = set(firms["hq"]) | {s.site for s in supply} | {s.supplier for s in supply
                                                           if not s.is_firm}
    sources = pd.DataFrame([_SOURCE] + ([_NEGLIGIBLE_SOURCE] if any(s.negligible for s in
                                                                    supply) else []))
    tables = {"countries": _countries(used), "firms": firms, "components": components,
              "supply": _supply_table(supply, list(components["id"])), "requires": requires,
              "sources": sources}
    return tables


def _validate(folder: Path, output: Path) -> None:
    from semigraph.model import load

    try:
        load(folder)
    except DatasetError as exc:
        raise DatasetError(exc.problems, path=str(output)) from None
