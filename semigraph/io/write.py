"""Write result tables and datasets: table, CSV, JSON, Parquet or XLSX, always atomically."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from semigraph._text import terminal_text
from semigraph.errors import OutputError

__all__ = [
    "FORMATS",
    "RESULT_SUFFIXES",
    "STREAM_FORMATS",
    "STREAM_SUFFIXES",
    "ConfinedOutput",
    "atomic_write",
    "check_output",
    "confined_output",
    "format_for",
    "format_table",
    "refuse_replacing_source",
    "terminal_text",
    "to_records",
    "write_dataset",
    "write_result",
    "write_stream",
]

FORMATS = ("table", "csv", "json", "parquet", "xlsx")
#: Formats a long table arriving in chunks (a sweep) can be written in, never held whole.
STREAM_FORMATS = ("parquet", "csv", "json", "xlsx")
_BINARY = {"parquet", "xlsx"}
#: How temporary files and folders next to an output begin: short random names that never
#: collide with another run's, and leave the output's name every byte the file system allows.
TEMP_PREFIX = ".semigraph-"
#: Output-file suffixes of a result table and the format each names (``.txt``: the table the
#: terminal shows).
RESULT_SUFFIXES = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".xlsx": "xlsx",
                   ".txt": "table"}
#: Suffixes of the files a streamed table (a sweep) can be written to.
STREAM_SUFFIXES = {s: f for s, f in RESULT_SUFFIXES.items() if f in STREAM_FORMATS}


def format_for(output: str | None, fmt: str | None, *,
               suffixes: dict[str, str] | None = None) -> str:
    """The format to write: as given, else from the output file's suffix, else ``table``
    (no file, or ``-`` for standard output).

    ``suffixes`` maps the suffixes a command writes to their formats (default: the result
    formats, ``.txt`` for the terminal table).

    Raises
    ------
    OutputError
        The file's suffix is not one of ``suffixes`` (``.xls``, a typing slip, no suffix at
        all) and no format is given: nothing is guessed and nothing is written.
    """
    if fmt:
        return fmt
    if not output or output == "-":
        return "table"
    suffixes = RESULT_SUFFIXES if suffixes is None else suffixes
    suffix = Path(output).suffix.lower()
    if suffix in suffixes:
        return suffixes[suffix]
    allowed = ", ".join(sorted(suffixes))
    what = (f"the suffix {suffix!r} names no format semigraph writes here" if suffix
            else "the file name has no suffix to tell the format")
    hint = " (.xls is the old Excel format: write .xlsx)" if suffix == ".xls" else ""
    raise OutputError(f"{output}: {what}{hint}; end the file name with one of {allowed}, or "
                      "give --format")


def check_output(output: str | Path | None, *, force: bool) -> None:
    """Refuse early to overwrite an existing file without ``force``, and to replace anything
    that is not a regular file (a device, a named pipe, a socket, a folder or a link), with or
    without it."""
    if output is None or str(output) == "-":
        return
    path = Path(output)
    try:
        st = os.lstat(path)  # the entry itself: a dangling link counts as existing
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if st is not None:
        _refuse_special(path, st)
        if not force:
            raise OutputError(f"{path} exists; use --force to overwrite it")
    if not path.parent.exists():
        raise OutputError(f"folder {path.parent} does not exist")


_KINDS = {stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
          stat.S_IFIFO: "named pipe (FIFO)", stat.S_IFSOCK: "socket", stat.S_IFLNK: "link"}


def describe_kind(st: os.stat_result) -> str:
    """What a file that is not a regular file is, in words ("named pipe (FIFO)")."""
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    return _KINDS.get(stat.S_IFMT(st.st_mode), "special file")


def _refuse_special(path: Path, st: os.stat_result) -> None:
    """An output path holds a regular file or nothing: a folder, a link, a device, a named
    pipe or a socket there is refused, never replaced (``--force`` only replaces files)."""
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path} is a folder, not a file")
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
    raise OutputError(f"{path} exists and is a {kind}, not a regular file; semigraph replaces "
                      "only regular files, so write to another path")


class ConfinedOutput(os.PathLike):
    """An output file whose folder was opened when it was checked: the write goes into that
    folder (``dir_fd``), whatever is renamed or linked on the path in between."""

    def __init__(self, path: Path, dir_fd: int, *, switch: str) -> None:
        self.path = path  # as checked, for messages and comparisons
        self.dir_fd = dir_fd
        self.switch = switch  # the option that allows replacing an existing file

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def close(self) -> None:
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1


def _open_folder(base: Path, parts: tuple[str, ...], name: str) -> int:
    """A descriptor of the folder ``base/parts...``, opened one component at a time from
    ``base`` without following a link: what was checked is what is written to."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    try:
        fd = os.open(base, flags)
    except OSError as exc:
        raise OutputError(f"cannot write {base}: {exc.strerror or exc}") from None
    try:
        for i, part in enumerate(parts):
            try:
                nxt = os.open(part, flags | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                folder = Path(base, *parts[:i + 1])
                if os.path.islink(folder):
                    raise OutputError(f"scenario output {name!r} goes through the link "
                                      f"{folder}; outputs are written through plain folders "
                                      "only") from None
                if isinstance(exc, FileNotFoundError):
                    raise OutputError(f"folder {folder} does not exist") from None
                raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from None
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def confined_output(name: str, *, base: Path, protected: list[Path],
                    force: bool) -> ConfinedOutput:
    """The path of a file a scenario asks to write, checked to stay inside ``base``.

    Refuses absolute paths, ``..``, links (to the file or a folder on the way) that lead
    out of ``base``, and any of the ``protected`` files or folders (the scenario itself, the
    dataset); an existing file is replaced only with ``force``. The file's folder is opened
    here and held (close the result when done): the write goes into that folder.
    """
    base = base.resolve()
    raw = base / name
    if os.path.islink(raw):
        raise OutputError(f"scenario output {name!r} is a link; write to a plain file")
    target = raw.resolve()
    if not target.is_relative_to(base):
        raise OutputError(f"scenario output {name!r} leads outside {base} (through a link); "
                          "outputs stay inside the folder the command runs in")
    for p in protected:
        p = p.resolve()
        if target == p or (target.is_relative_to(p) and p.is_dir()):
            raise OutputError(f"scenario output {name!r} would overwrite {p}")
    if target.name in ("", ".", "..") or target == base:
        raise OutputError(f"scenario output {name!r} is a folder, not a file")
    # the folder is opened now, one plain folder at a time, and the file is written into
    # exactly it later: a folder swapped for a link in between cannot redirect the write
    parts = tuple(p for p in Path(name).parent.parts if p not in ("", "."))
    dir_fd = _open_folder(base, parts, name)
    out = ConfinedOutput(target, dir_fd, switch="--overwrite-outputs")
    try:
        st = _entry(dir_fd, target.name, target)
        if st is not None:
            _refuse_special(target, st)
            if not force:
                raise OutputError(f"scenario output {name!r} exists; use --overwrite-outputs "
                                  "to replace it")
    except BaseException:
        out.close()
        raise
    return out


def atomic_write(path: str | Path | ConfinedOutput, write: Callable[[IO[bytes]], None], *,
                 force: bool) -> Path:
    """Write a file through a temporary file in the same folder, then rename it into place.

    Nothing is left at ``path`` when ``write`` fails; an existing file is replaced only with
    ``force``, and anything that is not a regular file (a device, a named pipe, a socket, a
    folder, a link) never. The folder is opened once and the temporary file is created and
    renamed relative to it, so a folder on the path swapped for a link meanwhile cannot
    redirect the write.
    """
    if isinstance(path, ConfinedOutput):
        return _write_into(path.dir_fd, path.path, write, force=force, switch=path.switch)
    path = Path(path)
    check_output(path, force=force)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        return _write_into(dir_fd, path, write, force=force, switch="--force")
    finally:
        os.close(dir_fd)


def _entry(dir_fd: int, name: str, shown: Path) -> os.stat_result | None:
    """What is at ``name`` in the folder ``dir_fd`` (a link itself, not what it points to)."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None


def _check_entry(dir_fd: int, shown: Path, *, force: bool, switch: str) -> None:
    st = _entry(dir_fd, shown.name, shown)
    if st is not None:
        _refuse_special(shown, st)
        if not force:
            raise OutputError(f"{shown} exists; use {switch} to overwrite it")


def _write_into(dir_fd: int, shown: Path, write: Callable[[IO[bytes]], None], *, force: bool,
                switch: str) -> Path:
    name = shown.name
    _check_entry(dir_fd, shown, force=force, switch=switch)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = f"{TEMP_PREFIX}{secrets.token_hex(6)}.tmp"  # short: any name the output may have
        try:  # the usual mode: 0666 less the umask
            fd = os.open(tmp, flags, 0o666, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    else:
        raise OutputError(f"cannot write {shown}: no free temporary name in its folder")
    previous = _on_termination_raise()
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())  # the data is on disk before the name points at it
        # checked again: a device or link put at the path meanwhile is not replaced either
        _check_entry(dir_fd, shown, force=force, switch=switch)
        if force:
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            _place_new(dir_fd, tmp, shown, switch=switch)
    except OutputError:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise OutputError(f"cannot write {shown}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    finally:
        _restore_termination(previous)
    return shown


#: What ``link`` says on a file system without hard links.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def _place_new(dir_fd: int, tmp: str, shown: Path, *, switch: str) -> None:
    """Give the finished temporary file its name only if nothing has that name yet: a hard
    link fails when the name exists, atomically, so of two runs writing the same new file
    without ``switch`` the second fails instead of replacing the first's result. Where the
    file system has no hard links, the rename is made after one more check."""
    try:
        os.link(tmp, shown.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise OutputError(f"{shown} appeared while this result was written (another run "
                          f"writing the same file?); it was kept and this result not "
                          f"written: use {switch} to overwrite it") from None
    except (NotImplementedError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in _NO_LINKS:
            raise
        # no hard links here (some network and FAT file systems): rename after a check
        _check_entry(dir_fd, shown, force=False, switch=switch)
        os.rename(tmp, shown.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    os.unlink(tmp, dir_fd=dir_fd)


def refuse_replacing_source(source: str | Path, output: str | Path) -> None:
    """An output folder is never the input it is made from, nor holds it: replacing the
    folder (``--force``) would delete the input before it is read, or while."""
    src, out = Path(source).resolve(), Path(output).resolve()
    if out == src or src.is_relative_to(out):
        what = "folder" if Path(source).is_dir() else "file"
        raise OutputError(f"{output} would replace the source {what} {source}; write to "
                          "another folder")


def write_folder(path: str | Path, fill: Callable[[Path], None], *, force: bool) -> Path:
    """Write a whole folder atomically: ``fill`` writes into a temporary sibling folder,
    which then replaces ``path``; on any failure nothing is left behind and an existing
    folder stays as it was.

    Raises
    ------
    OutputError
        ``path`` exists and ``force`` is not given, it is a link, a device, a named pipe or a
        socket, its parent folder does not exist, or it cannot be written.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if st is not None and not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        _refuse_special(path, st)  # a link, device, pipe or socket is never replaced
    if st is not None and not force:
        raise OutputError(f"{path} exists; use --force to replace it")
    if not path.parent.is_dir():
        raise OutputError(f"folder {path.parent} does not exist")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the usual mode
        fill(tmp)
        _swap_in(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _swap_in(tmp: Path, path: Path) -> None:
    """Move a finished folder into place; what it replaces is removed only afterwards."""
    old = None
    if os.path.lexists(path):
        old = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, suffix=".old", dir=path.parent))
        os.rename(path, old / path.name)
    try:
        os.rename(tmp, path)
    except OSError:
        if old is not None:
            os.rename(old / path.name, path)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _on_termination_raise():
    """While a file is written, a polite kill (SIGTERM, SIGHUP) ends the command through the
    cleanup that removes the temporary file, instead of leaving it behind."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, stop)
    return previous


def _restore_termination(previous) -> None:
    import signal

    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _plain(value):
    """A JSON-ready Python value: NaN and NA become None, numpy scalars Python scalars."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _plain(value.tolist())
    return value


def to_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts, types kept (numbers stay numbers, unknown is None)."""
    cols = list(frame.columns)
    return [{c: _plain(v) for c, v in zip(cols, row)} for row in frame.itertuples(index=False)]


def _cell(value, width: int = 48, spec: str | None = None) -> str:
    """A cell as the terminal shows it; ``spec``: the column's format for a number."""
    value = _plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "inf" if value > 0 else "-inf"
        if spec is None:
            spec = ",.0f" if isinstance(value, int) or value.is_integer() else ",.3f"
        return format(value, spec)
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = terminal_text(str(value).replace("\n", " "))
    return text if len(text) <= width else text[: width - 1] + "…"


def _spec(column: pd.Series, name: str, analysis: str | None) -> str | None:
    """One format for every number of a column (:mod:`semigraph.io.columns`): a column
    never shows ``1,095`` beside ``540.000``."""
    from semigraph.io.columns import column_kind, terminal_spec

    numbers = [float(v) for v in column
               if isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, (bool, np.bool_)) and not pd.isna(v)]
    if not numbers:
        return None
    integer = pd.api.types.is_integer_dtype(column)
    return terminal_spec(column_kind(name, analysis=analysis, integer=integer), numbers)


def format_table(frame: pd.DataFrame, *, title: str | None = None,
                 notes: list[str] | None = None, limit: int | None = None,
                 analysis: str | None = None) -> str:
    """A plain-text table for the terminal: aligned columns, numbers right-aligned, every
    number of a column with the same decimals and thousands separators (shares with three
    decimals, days whole, other figures by the column's largest value; see
    :mod:`semigraph.io.columns`). ``analysis`` is the result's kind, for the names it
    reads its own way."""
    shown = frame if limit is None else frame.head(limit)
    cols = [terminal_text(str(c)) for c in shown.columns]
    # decided on the whole column, so that --limit does not change how a figure reads
    specs = [_spec(frame.iloc[:, i], str(c), analysis) for i, c in enumerate(frame.columns)]
    cells = [[_cell(v, spec=f) for v, f in zip(row, specs)]
             for row in shown.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(
        shown[c]) for c in shown.columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric)).rstrip()

    out = []
    if title:
        out += [terminal_text(title), ""]
    out.append(line(cols))
    out.append("  ".join("-" * w for w in widths))
    out += [line(r) for r in cells]
    if limit is not None and len(frame) > limit:
        out.append(f"... {len(frame) - limit} more rows (use --limit 0 or -o FILE for all)")
    if frame.empty:
        out.append("(no rows)")
    for note in notes or []:
        note = terminal_text(note)
        out.append(note if not out[-1] or note.startswith("  ") else "\n" + note)
    return "\n".join(out) + "\n"


#: A text cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    """A text cell as a spreadsheet must show it: a leading ``'`` keeps ``=``, ``+``, ``-``,
    ``@`` (and tab, carriage return) from starting a formula, as OWASP recommends for CSV."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _for_spreadsheet(frame: pd.DataFrame, *, quote: bool = True) -> pd.DataFrame:
    """Lists joined with ``, ``; with ``quote``, text cells made safe for spreadsheet programs
    that open CSV files (XLSX stores text as text instead)."""
    out = frame.copy()
    fix = safe_text if quote else (lambda v: v)
    for col in out.columns:
        if pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col]):
            out[col] = pd.Series(
                [fix(", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
                 for v in out[col]], index=out.index, dtype=object)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def _finite(value):
    """A JSON value with every infinite number (JSON has none) made None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def non_finite(frame: pd.DataFrame) -> dict[str, int]:
    """Columns holding infinite numbers (a figure too large for a float, such as a cost that
    overflows), with how many each holds: JSON writes them as null."""
    out = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_numeric_dtype(values):
            n = int(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).sum())
        elif pd.api.types.is_object_dtype(values):
            n = sum(1 for v in values if isinstance(v, float) and math.isinf(v))
        else:
            continue
        if n:
            out[str(col)] = n
    return out


def json_text(frame: pd.DataFrame, *, meta: dict | None = None) -> str:
    """The rows as a JSON array; with ``meta``, the envelope ``{"meta": ..., "rows": [...]}``.

    JSON has no infinite numbers: they are written as null, and the envelope's meta says
    where (``null_for_infinite``: column -> how many; :func:`non_finite`)."""
    rows = _finite(to_records(frame))
    if meta is None:
        data = rows
    else:
        meta = _plain(meta)
        infinite = non_finite(frame)
        if infinite:
            meta = {**meta, "null_for_infinite": infinite}
        data = {"meta": _finite(meta), "rows": rows}
    return json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def _schema_meta(schema, meta: dict | None) -> dict:
    """Parquet schema metadata with the result's metadata under the key ``semigraph``."""
    merged = dict(schema.metadata or {})
    if meta:
        merged[b"semigraph"] = json.dumps(_plain(meta), ensure_ascii=False).encode("utf-8")
    return merged


def _parquet_bytes(frame: pd.DataFrame, meta: dict | None) -> bytes:
    """Parquet with the result's metadata under the schema key ``semigraph`` (JSON)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata(_schema_meta(table.schema, meta))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_result(frame: pd.DataFrame, *, fmt: str, output: str | None = None,
                 force: bool = False, title: str | None = None,
                 notes: list[str] | None = None, limit: int | None = None,
                 stream: IO[str] | None = None, meta: dict | None = None,
                 json_meta: bool = False, sources: pd.DataFrame | None = None) -> None:
    """Write a result table in ``fmt`` to ``output`` (a file) or to ``stream`` (stdout).

    ``meta`` (dataset, version, analysis, scenario) goes with the table: Parquet schema
    metadata, an ``about`` sheet in XLSX, and in JSON the envelope ``{"meta", "rows"}`` when
    ``json_meta`` (otherwise JSON is the array of rows). ``sources`` (the sources the rows
    cite, as the dataset's sources table has them) becomes XLSX's ``sources`` sheet
    (:mod:`semigraph.io.sheets`).
    """
    if fmt not in FORMATS:
        raise OutputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    to_file = output is not None and output != "-"
    if fmt in _BINARY and not to_file:
        raise OutputError(f"--format {fmt} writes a binary file: give -o FILE.{fmt}")

    def text() -> str:
        if fmt == "table":
            return format_table(frame, title=title, notes=notes,
                                limit=None if to_file else limit,
                                analysis=(meta or {}).get("analysis"))
        if fmt == "csv":
            return _for_spreadsheet(frame).to_csv(index=False, lineterminator="\n")
        return json_text(frame, meta=meta if json_meta and meta else None)

    if not to_file:
        (stream or sys.stdout).write(text())
        return

    def write(fh: IO[bytes]) -> None:
        if fmt == "parquet":
            fh.write(_parquet_bytes(frame, meta))
        elif fmt == "xlsx":
            from semigraph.io.sheets import write_xlsx

            buf = io.BytesIO()
            write_xlsx([_for_spreadsheet(frame, quote=False)], buf, meta=meta,
                       sources=sources)
            fh.write(buf.getvalue())
        else:
            fh.write(text().encode("utf-8"))

    atomic_write(output, write, force=force)


def write_stream(chunks: Iterable[pd.DataFrame], output: str | Path, *, fmt: str,
                 force: bool = False, meta: dict | None = None) -> int:
    """Write a long table that arrives in chunks (Parquet, CSV, JSON or XLSX), never holding
    it whole.

    The file appears only when the last chunk is written (atomically, as
    :func:`atomic_write`); every chunk must have the first one's columns. JSON is the
    envelope ``{"meta": ..., "rows": [...]}`` (a row per line; an infinite number as null),
    XLSX the workbook of :mod:`semigraph.io.sheets`, refused once the rows pass what an
    Excel sheet holds (nothing is left behind). Returns the rows written.
    """
    if fmt not in STREAM_FORMATS:
        raise OutputError(f"a streamed table is written as {', '.join(STREAM_FORMATS)}, not "
                          f"{fmt}; use -o FILE.parquet, .csv, .json or .xlsx")
    rows = 0

    def counted():
        nonlocal rows
        for chunk in chunks:
            rows += len(chunk)
            yield chunk.reset_index(drop=True)

    def write_json(fh: IO[bytes]) -> None:
        head = json.dumps(_finite(_plain(meta or {})), ensure_ascii=False, indent=1,
                          allow_nan=False)
        fh.write(f'{{"meta": {head},\n "rows": ['.encode())
        first = True
        for chunk in counted():
            for record in _finite(to_records(chunk)):
                line = json.dumps(record, ensure_ascii=False, allow_nan=False)
                fh.write(((",\n" if not first else "\n") + line).encode("utf-8"))
                first = False
        fh.write(b"\n]}\n")

    def write_xlsx(fh: IO[bytes]) -> None:
        from semigraph.io.sheets import write_xlsx as workbook

        workbook((_for_spreadsheet(c, quote=False) for c in counted()), fh, meta=meta)

    def write(fh: IO[bytes]) -> None:
        nonlocal rows
        if fmt == "json":
            write_json(fh)
            return
        if fmt == "xlsx":
            write_xlsx(fh)
            return
        writer = None
        header = True  # CSV: the header once, even when the first chunk has no rows
        empty = None  # Parquet: an empty chunk's columns may have no type yet
        try:
            for chunk in chunks:
                chunk = chunk.reset_index(drop=True)
                if fmt == "csv":
                    text = _for_spreadsheet(chunk).to_csv(index=False, header=header,
                                                          lineterminator="\n")
                    header = False
                    fh.write(text.encode("utf-8"))
                else:
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                    if writer is None and chunk.empty:
                        empty = chunk if empty is None else empty
                        continue
                    if writer is None:
                        schema = pa.Schema.from_pandas(chunk, preserve_index=False)
                        schema = pa.schema([  # categories as text: chunks differ in them
                            f.with_type(f.type.value_type)
                            if pa.types.is_dictionary(f.type) else f for f in schema],
                            metadata=_schema_meta(schema, meta))
                        writer = pq.ParquetWriter(fh, schema)
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    writer.write_table(table.cast(writer.schema))
                rows += len(chunk)
            if fmt == "parquet" and writer is None and empty is not None:  # no rows at all
                fh.write(_parquet_bytes(empty, meta))
        finally:
            if writer is not None:
                writer.close()

    atomic_write(output, write, force=force)
    return rows


def write_dataset(model, folder: Path, *, format: str = "csv") -> Path:
    """Write a model's tables (schema columns only) as a dataset folder with its
    ``datapackage.json``; an empty optional table is left out."""
    from semigraph.io.package import descriptor, write_package
    from semigraph.schema import OPTIONAL_TABLES, TABLES, columns

    if format not in ("csv", "parquet"):
        raise OutputError(f"a dataset is written as csv or parquet, not {format!r}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        frame = model.tables[name][[c.name for c in columns(name)]]
        if name in OPTIONAL_TABLES and frame.empty:
            continue
        path = folder / f"{name}.{format}"
        if format == "csv":
            atomic_write(path, lambda fh, f=frame: fh.write(
                f.to_csv(index=False, lineterminator="\n").encode("utf-8")), force=True)
        else:
            atomic_write(path, lambda fh, f=frame: f.to_parquet(fh, index=False), force=True)
        written.append(name)
    meta = model.meta or {}
    write_package(folder, descriptor(name=model.name, version=model.version,
                                     title=meta.get("title"), tables=written, format=format,
                                     licenses=meta.get("licenses"), sources=meta.get("sources"),
                                     description=meta.get("description")))
    return folder
