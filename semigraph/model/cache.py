"""A cache of validated datasets, keyed by the bytes of their files.

Reading and validating a large dataset (every cell checked, with file, row and column for
each problem) costs seconds; a dataset whose files have not changed gives the same typed
tables and warnings every time. The cache keeps those, as Parquet, under a key that hashes
the semigraph version, the schema and every table file of the folder (names and bytes), so
any edit, added or removed table, or new semigraph version misses it. The bytes hashed are the
bytes validated: each file is read once, so an edit while a dataset loads cannot store new
tables under the old files' key.

Where: ``$SEMIGRAPH_CACHE_DIR``, else ``$XDG_CACHE_HOME/semigraph``, else
``~/.cache/semigraph``. ``SEMIGRAPH_CACHE_DIR=off`` turns it off. A cache that cannot be
read or written is skipped, never an error: it only saves time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from semigraph._version import __version__
from semigraph.errors import DatasetError, Problem

__all__ = ["cache_dir", "dataset_key", "load_cached", "store"]

_OFF = {"off", "0", "no", "false", "none"}


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is off."""
    env = os.environ.get("SEMIGRAPH_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in _OFF or not env.strip() else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "semigraph"


#: The code whose output is stored: a change to any of them makes earlier entries stale.
_CODE = ("io/read.py", "io/package.py", "model/validate.py", "model/uncertainty.py")
_PACKAGE = Path(__file__).resolve().parents[1]


def dataset_key(folder: Path, files: dict[str, bytes | OSError] | None = None) -> str | None:
    """A hash of everything validation reads and of the code that validates: version,
    schema, reader and validator, the folder's table files and its data package descriptor.
    None when caching is off or a file cannot be read (validation says why).

    ``files`` are the folder's bytes as :func:`semigraph.io.read.read_files` read them: give
    the same bytes to validation, so that the key names exactly what is stored under it.
    """
    from semigraph.io.read import read_files
    from semigraph.schema import _read

    if cache_dir() is None:
        return None
    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(_read("schema.csv").encode())
    try:
        for code in _CODE:
            h.update((_PACKAGE / code).read_bytes())
        if files is None:
            files = read_files(folder)
    except (OSError, DatasetError):
        return None
    for name, data in sorted(files.items()):
        if isinstance(data, OSError):
            return None
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def load_cached(key: str) -> tuple[dict[str, pd.DataFrame], list[Problem], dict] | None:
    """The typed tables, problems and descriptor stored under ``key``, or None."""
    root = cache_dir()
    if root is None:
        return None
    from semigraph.schema import TABLES

    entry = root / key
    if not entry.is_dir():
        return None
    try:
        info = json.loads((entry / "about.json").read_text(encoding="utf-8"))
        missing = set(TABLES) - set(info["tables"])
        if missing:
            raise ValueError(f"no table {sorted(missing)}")
        tables = {name: _objects(pd.read_parquet(entry / f"{name}.parquet"))
                  for name in info["tables"]}
        problems = [Problem(**p) for p in info["problems"]]
        meta = info["meta"]
        if not isinstance(meta, dict):
            raise ValueError("meta is not a table of names and values")
    except Exception:  # a partial, damaged or foreign entry is a miss, and is replaced
        _discard(root, key)
        return None
    return tables, problems, meta


def _discard(root: Path, key: str) -> None:
    """Remove a damaged entry, so that the next load stores it anew (moved aside first: a
    command reading it meanwhile sees it whole or not at all)."""
    try:
        aside = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".old", dir=root))
    except Exception:
        return
    with contextlib.suppress(Exception):
        os.rename(root / key, aside / key)
    shutil.rmtree(aside, ignore_errors=True)


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns back as validation makes them: Python strings, None where empty."""
    for col in frame.columns:
        if pd.api.types.is_string_dtype(frame[col]) and frame[col].dtype != object:
            values = frame[col].astype(object)
            frame[col] = values.where(values.notna(), None)
    return frame


#: A temporary cache folder (``.KEY.*``) untouched this long is left from a store or a
#: discard that was killed: no store takes nearly as long.
STALE_SECONDS = 3600


def _remove_stale(root: Path) -> None:
    """Remove the temporary folders a killed store (or discard) left in the cache."""
    import time

    limit = time.time() - STALE_SECONDS
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if (entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
                        and entry.stat(follow_symlinks=False).st_mtime < limit):
                    shutil.rmtree(entry.path, ignore_errors=True)


def store(key: str, tables: dict[str, pd.DataFrame], problems: list[Problem],
          meta: dict) -> None:
    """Keep a validated dataset under ``key`` (atomically; silently skipped on failure)."""
    root = cache_dir()
    if root is None:
        return
    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        if (root / key).exists():
            return
        _remove_stale(root)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
        for name, frame in tables.items():
            frame.to_parquet(tmp / f"{name}.parquet")
        about = {"tables": sorted(tables), "meta": meta,
                 "problems": [dataclasses.asdict(p) for p in problems]}
        (tmp / "about.json").write_text(json.dumps(about), encoding="utf-8")
        os.rename(tmp, root / key)
        tmp = None
    except Exception:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(Exception):
                shutil.rmtree(tmp, ignore_errors=True)
