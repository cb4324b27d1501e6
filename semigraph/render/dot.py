"""Find the Graphviz ``dot`` program and run it.

Only rendering to SVG, PNG or PDF needs ``dot``; writing DOT source and every analysis work
without it. It is looked for in this order:

1. the ``SEMIGRAPH_DOT`` environment variable (a path to the program);
2. ``dot`` on the ``PATH``;
3. the usual install places: ``/usr/bin/dot``, ``/usr/local/bin/dot``,
   ``/opt/homebrew/bin/dot``, ``/opt/local/bin/dot`` and, on Windows,
   ``C:\\Program Files\\Graphviz\\bin\\dot.exe``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from semigraph.errors import OutputError

__all__ = ["FALLBACK_PATHS", "INSTALL_HINT", "find_dot", "run_dot"]

FALLBACK_PATHS = (
    "/usr/bin/dot",
    "/usr/local/bin/dot",
    "/opt/homebrew/bin/dot",
    "/opt/local/bin/dot",
    r"C:\Program Files\Graphviz\bin\dot.exe",
)

INSTALL_HINT = (
    "install Graphviz: `apt-get install graphviz` (Debian, Ubuntu), `dnf install graphviz` "
    "(Fedora), `brew install graphviz` (macOS), `conda install -c conda-forge graphviz` or "
    "`winget install graphviz` (Windows); or set SEMIGRAPH_DOT to the dot program. "
    "Writing -o FILE.dot works without it"
)


def find_dot() -> Path:
    """The ``dot`` program to use.

    Raises
    ------
    OutputError
        When ``SEMIGRAPH_DOT`` names no program, or none is found; the message says how to
        install Graphviz.
    """
    env = os.environ.get("SEMIGRAPH_DOT")
    if env:
        path = Path(env)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise OutputError(f"SEMIGRAPH_DOT={env} is not an executable program; "
                          + INSTALL_HINT)
    found = shutil.which("dot")
    if found:
        return Path(found)
    for candidate in FALLBACK_PATHS:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise OutputError("rendering needs the Graphviz `dot` program, which was not found; "
                      + INSTALL_HINT)


def run_dot(source: str, fmt: str, *, timeout: float = 120) -> bytes:
    """Render DOT ``source`` to ``fmt`` (``svg``, ``png``, ``pdf``) with ``dot``."""
    dot = find_dot()
    args = [str(dot), f"-T{fmt}"]
    if fmt == "png":
        args.append("-Gdpi=110")
    try:
        done = subprocess.run(args, input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OutputError(f"running {dot} failed: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise OutputError(f"{dot} could not render the map: {err or 'no output'}")
    return done.stdout
