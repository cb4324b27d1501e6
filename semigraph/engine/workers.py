"""Worker processes forked from this one, for work that splits into independent parts.

A forked worker inherits the parent's memory (the model, its compiled arrays), so nothing is
copied or recompiled; what it returns is sent back. Sweeps (:mod:`semigraph.engine.sweep`)
and uncertainty draws (:mod:`semigraph.engine.uncertainty`) run their parts this way. Where the
platform cannot fork, the parts run in this process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

__all__ = ["follow_parent", "processes_for", "run_parts"]

#: Worker processes used when none are asked for: one per core, at most this many.
MAX_DEFAULT = 4

_TASK: dict = {}  # the function the forked workers run on each part


def processes_for(processes: int | None, parts: int) -> int:
    """How many processes run ``parts`` parts: ``processes`` (None: ``SEMIGRAPH_PROCESSES``
    where it is set to a whole number of at least 1, else one per core, at most
    :data:`MAX_DEFAULT`), never more than the parts, 1 where the platform cannot fork or
    this process is itself a worker (or is running workers) of :func:`run_parts`."""
    if "fork" not in mp.get_all_start_methods() or _TASK:
        return 1
    want = processes or _from_environment() or min(MAX_DEFAULT, os.cpu_count() or 1)
    return max(1, min(want, parts))


def _from_environment() -> int | None:
    """``SEMIGRAPH_PROCESSES`` as a number of processes; None where unset or not a whole
    number of at least 1 (as ``SEMIGRAPH_MEMORY_MB``, a bad value leaves the default)."""
    try:
        value = int(os.environ.get("SEMIGRAPH_PROCESSES", ""))
    except ValueError:
        return None
    return value if value >= 1 else None


def follow_parent(parent: int, with_parent_thread: bool) -> None:
    """A worker's initializer: the worker ends when the process that started it does, even
    when that is killed outright (``kill -9``), instead of waiting forever on the pool's
    pipe. Linux kills the worker with its parent (PR_SET_PDEATHSIG); elsewhere, and as a
    fallback, a thread checks every second that the parent is still the one that started the
    worker (Linux signals the death of the parent's thread that started the worker, so the
    signal is asked for only when that is the main thread). The polite kill (SIGTERM,
    SIGHUP) ends the worker again, whatever handler the parent had set while it writes its
    file."""
    import signal
    import time

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_DFL)
    if with_parent_thread and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the thread below still ends the worker

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before the worker got here
        os._exit(1)
    threading.Thread(target=watch, name="semigraph-parent-watch", daemon=True).start()


def _run(i: int):
    fn, parts = _TASK["fn"], _TASK["parts"]
    return fn(*parts[i])


def run_parts(fn: Callable, parts: Sequence[tuple], processes: int,
              progress: Callable[[int], None] | None = None,
              size: Callable[[tuple], int] | None = None) -> list:
    """``[fn(*part) for part in parts]``, in ``processes`` forked workers when that is more
    than one (the workers inherit ``fn`` and what it refers to). ``progress(k)`` is called as
    each part finishes, with ``size(part)`` (default 1)."""
    size = size or (lambda part: 1)
    if processes <= 1 or len(parts) <= 1:
        out = []
        for part in parts:
            out.append(fn(*part))
            if progress is not None:
                progress(size(part))
        return out
    if _TASK:
        raise RuntimeError("worker processes are already running a task in this process")
    _TASK.update(fn=fn, parts=list(parts))
    try:
        with ProcessPoolExecutor(processes, mp_context=mp.get_context("fork"),
                                 initializer=follow_parent,
                                 initargs=(os.getpid(), threading.current_thread()
                                           is threading.main_thread())) as pool:
            futures = [pool.submit(_run, i) for i in range(len(parts))]
            out = []
            for part, future in zip(parts, futures):
                out.append(future.result())
                if progress is not None:
                    progress(size(part))
            return out
    finally:
        _TASK.clear()
