"""What changed between two results: for monitoring runs over time, or two dataset versions
under the same scenario.

Rows are matched on their key (``scenario`` and ``component`` where both are columns, else
``component``, else the first column). For every numeric column the two results share,
the table gives both values and the change; for what-if results it also says why a figure
moved: the bottleneck that changed, or the same bottleneck with different supply behind it.

Every reading is compared alike: a change of ``availability`` (every user rationed alike),
``availability_high`` (the chain served first) or ``availability_tied`` (buyers tied to their
supplier until they qualify another, engine README 4.5) marks the row changed, is explained
the same way and orders the rows (largest first). The what-if columns of :data:`MEASURES` are
compared whatever type a file gives them (a column with no value at all, e.g. a first day
short that never comes, is read from JSON as text and from CSV as a number).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from semigraph.errors import OutputError

__all__ = ["diff", "read_result"]

#: Changes smaller than this (in the measure's own unit) count as unchanged.
TOLERANCE = 0.005
#: Numeric columns compared first, in this order, when present.
MEASURES = ("availability", "availability_high", "availability_tied", "steady_state",
            "lost_days", "time_to_survive_days", "tied_short_from_day", "recovery_day",
            "tied_lost_days", "exposed_share", "output", "output_high", "output_tied",
            "top_share", "hhi", "score")
#: The readings of availability: a change in any of them is a change of supply.
READINGS = ("availability", "availability_high", "availability_tied")


def read_result(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """A result file written by semigraph (CSV, JSON, Parquet or XLSX) and its metadata."""
    from semigraph.api import read_result_meta

    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: no such result file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, **_text_ids(pd.read_csv(path, nrows=0).columns))
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".xlsx":
            head = pd.read_excel(path, sheet_name="result", nrows=0).columns
            frame = pd.read_excel(path, sheet_name="result", **_text_ids(head))
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            frame = pd.DataFrame(data["rows"] if isinstance(data, dict) else data)
        else:
            raise OutputError(f"{path}: a result file is .csv, .json, .parquet or .xlsx")
        meta = read_result_meta(path)
        if not isinstance(meta, dict):
            raise ValueError("its metadata is not a table of names and values")
    except OutputError:
        raise
    except Exception as exc:  # a file that is not a result: say which and why
        raise OutputError(f"{path}: cannot read it as a result table ({exc})") from None
    return frame, meta


#: Columns read as text from CSV and XLSX, whatever their cells look like: ids such as
#: ``nan``, ``null`` or ``007`` are ids, never a missing value or a number.
TEXT_COLUMNS = ("scenario", "component", "bottleneck", "name", "stage")
#: What pandas reads as missing by default, kept for every other column.
_MISSING = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _text_ids(columns) -> dict:
    """``read_csv``/``read_excel`` options reading the key and text columns (and the first
    column, the key of other results) as text, with only an empty cell missing."""
    columns = [str(c) for c in columns]
    text = {c for c in columns if c in TEXT_COLUMNS} | set(columns[:1])
    return {"dtype": {c: str for c in text}, "keep_default_na": False,
            "na_values": {c: ([""] if c in text else _MISSING) for c in columns}}


def _key(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    common = [c for c in a.columns if c in b.columns]
    if not common:
        raise OutputError("the two results share no column: they are not the same analysis")
    if "component" in common:
        if "scenario" not in common:
            return ["component"]
        # Monte Carlo draws may cut the same units twice: the draw tells them apart
        return ["scenario", "draw", "component"] if "draw" in common else \
            ["scenario", "component"]
    return [common[0]]


def _beyond(change, tol: float):
    """Whether a change (its absolute value) counts: at least ``tol`` and never zero, so that
    ``--tolerance 0`` reports every change and nothing else."""
    return (change >= tol) & (change > 0)


def _why(row, tol: float) -> str:
    a, b = row.get("bottleneck_a"), row.get("bottleneck_b")
    a = a if isinstance(a, str) and a else None
    b = b if isinstance(b, str) and b else None
    if row["status"] in ("added", "removed"):
        return f"{row['status']} in B"
    if a == b:
        if a is None:
            return "" if not _beyond(_moved(row), tol) else \
                "supply behind it changed (no bottleneck named)"
        return "same bottleneck; supply behind it changed" if row["status"] == "changed" \
            else ""
    if a is None:
        return f"now short: {b}"
    if b is None:
        return f"no longer short (was: {a})"
    return f"bottleneck moved: {a} -> {b}"


def _moved(row) -> float:
    """The largest change of availability in any reading of a row (0 when none is known)."""
    changes = [abs(v) for v in (row.get(f"{m}_change") for m in READINGS)
               if v is not None and not pd.isna(v)]
    return max(changes, default=0.0)


def diff(a, b, *, tolerance: float = TOLERANCE, all_rows: bool = False):
    """What changed from result ``a`` to result ``b``.

    Parameters
    ----------
    a, b : Result, DataFrame, or path to a result file
        Two results of the same analysis (e.g. a what-if run last month and today, or the
        same scenario on two dataset versions).
    tolerance : float
        Changes below this count as unchanged.
    all_rows : bool
        Keep unchanged rows too (default: only what changed).

    Returns
    -------
    Result
        ``kind`` ``diff``; ``table`` has the key columns, ``status`` (changed, added,
        removed, unchanged), for each shared numeric measure ``M_a``, ``M_b`` and
        ``M_change`` (b - a), for what-if results ``bottleneck_a``, ``bottleneck_b`` and
        ``why``; ordered by the largest change of availability in any reading (pooled,
        chain first, tied), or of the first measure where there is no availability.
        ``meta`` holds both results' metadata.
    """
    from semigraph.api import Result

    fa, ma = _table(a)
    fb, mb = _table(b)
    key = _key(fa, fb)
    texts = [c for c in ("name", "stage", "bottleneck") if c in fa.columns and c in fb.columns]
    measures = [c for c in MEASURES if c in fa.columns and c in fb.columns and c not in key]
    # other numeric columns; one with no value in a result has no type to go by (an empty
    # text column reads from CSV as numbers)
    measures += [c for c in fa.columns if c in fb.columns and c not in measures
                 and c not in key and c not in texts
                 and fa[c].notna().any() and fb[c].notna().any()
                 and pd.api.types.is_numeric_dtype(fa[c])
                 and pd.api.types.is_numeric_dtype(fb[c])
                 and not pd.api.types.is_bool_dtype(fa[c])]
    for f in (fa, fb):
        if f.duplicated(key).any():
            dup = f.loc[f.duplicated(key), key].iloc[0].tolist()
            raise OutputError(f"a result has two rows for {dup}: cannot match rows")
    left = fa[key + measures + texts].set_index(key)
    right = fb[key + measures + texts].set_index(key)
    joined = left.add_suffix("_a").join(right.add_suffix("_b"), how="outer")
    out = pd.DataFrame(index=joined.index)
    for c in ("name", "stage"):
        if c in texts:
            out[c] = joined[f"{c}_b"].where(joined[f"{c}_b"].notna(), joined[f"{c}_a"])
    in_a = joined.index.isin(left.index)
    in_b = joined.index.isin(right.index)
    moved = np.zeros(len(joined), dtype=bool)
    for m in measures:
        va = pd.to_numeric(joined[f"{m}_a"], errors="coerce").astype(float)
        vb = pd.to_numeric(joined[f"{m}_b"], errors="coerce").astype(float)
        out[f"{m}_a"], out[f"{m}_b"] = va, vb
        out[f"{m}_change"] = vb - va
        both_nan = va.isna() & vb.isna()
        one_nan = va.isna() ^ vb.isna()
        moved |= (_beyond((vb - va).abs(), tolerance) & ~both_nan).to_numpy() | \
            one_nan.to_numpy()
    if "bottleneck" in texts:
        out["bottleneck_a"] = joined["bottleneck_a"]
        out["bottleneck_b"] = joined["bottleneck_b"]
    out["status"] = np.select([~in_a, ~in_b, moved], ["added", "removed", "changed"],
                              "unchanged")
    if "bottleneck" in texts:
        out["why"] = [_why(r, tolerance) for r in out.reset_index().to_dict("records")]
    out = out.reset_index()
    readings = [m for m in READINGS if m in measures]
    if readings:
        first = out[[f"{m}_change" for m in readings]].abs().max(axis=1, skipna=False)
        out = out.assign(_o=-first.fillna(np.inf)).sort_values(
            ["_o", *key], kind="stable").drop(columns="_o")
    elif measures:
        first = out[f"{measures[0]}_change"].abs().fillna(np.inf)
        out = out.assign(_o=-first).sort_values(["_o", *key], kind="stable").drop(columns="_o")
    if not all_rows:
        out = out[out["status"] != "unchanged"]
    out = out[[*key, "status", *[c for c in out.columns if c not in key and c != "status"]]]
    out = out.reset_index(drop=True)
    n = out["status"].value_counts()
    notes = (f"{int(n.get('changed', 0))} changed, {int(n.get('added', 0))} added, "
             f"{int(n.get('removed', 0))} removed (changes below {tolerance:g} ignored); "
             "_change = B - A.",)
    notes += tuple(f"{label}: {_describe(m)}" for label, m in (("A", ma), ("B", mb)) if m)
    meta = {"analysis": "diff", "a": ma, "b": mb, "key": key, "tolerance": tolerance}
    return Result("diff", out, meta, title="What changed from A to B", notes=notes)


def _describe(meta: dict) -> str:
    """One line on what a result was computed from."""
    where = meta.get("file") or meta.get("dataset_path")
    bits = [str(where) if where else "",
            f"dataset {meta.get('dataset')} {meta.get('dataset_version')}",
            str(meta.get("analysis", ""))]
    scen = meta.get("scenario")
    if isinstance(scen, dict):
        bits.append(str(scen.get("title")))
    if meta.get("created"):
        bits.append(f"computed {meta['created']}")
    return ", ".join(b for b in bits if b)


def _table(x) -> tuple[pd.DataFrame, dict]:
    if isinstance(x, pd.DataFrame):
        return x, {}
    if isinstance(x, (str, Path)):
        table, meta = read_result(x)
        return table, {**meta, "file": str(x)}
    return x.table, dict(x.meta)
