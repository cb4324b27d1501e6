"""Sweeps on a Dask cluster: the model scattered once, scenarios sent in batches.

Dask is an optional dependency (the extra ``distributed``: ``pip install -e '.[distributed]'``
from a checkout, semigraph not being on a package index; or ``pip install
'dask[distributed]'``). Each worker
compiles its copy of the model on the first batch and keeps it; a batch is a list of
scenarios (unit indices of the plan) and comes back as the same long-table rows
:func:`semigraph.engine.sweep.evaluate_batch` gives in-process, in plan order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pandas as pd

from semigraph.engine.sweep import SweepPlan, evaluate_batch, in_order, plan_batches
from semigraph.errors import ScenarioError

__all__ = ["SCHEDULER_ENV", "cluster", "dask_chunks"]

#: Environment variable naming the scheduler when none is given (Dask's own convention).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ScenarioError("running on a Dask cluster needs Dask: install the extra from the "
                            "semigraph checkout (pip install -e '.[distributed]') or Dask "
                            "itself (pip install 'dask[distributed]')") from None
    return distributed


@contextmanager
def cluster(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: connected to ``scheduler`` (or ``$DASK_SCHEDULER_ADDRESS``), or to a
    local cluster of ``workers`` processes started here and stopped on exit."""
    distributed = _distributed()
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        try:
            client = distributed.Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with client:
            yield client
        return
    local = distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1,
                                     processes=True, dashboard_address=":0",
                                     silence_logs=logging.ERROR)
    with local, distributed.Client(local) as client:
        yield client


def dask_chunks(model, plan: SweepPlan, client, *, size: int,
                progress: Callable[[int], None] | None = None) -> Iterator[pd.DataFrame]:
    """The sweep's long table evaluated on ``client``'s cluster, a batch at a time, in plan
    order; at most two batches per worker are in flight, so results never pile up."""
    remote_model = client.scatter(model, broadcast=True)
    remote_plan = client.scatter(plan, broadcast=True)
    workers = max(1, len(client.scheduler_info().get("workers", {})))

    def submit(cuts, numbers):
        return client.submit(evaluate_batch, remote_model, remote_plan, cuts, numbers,
                             pure=False)

    yield from in_order(submit, plan_batches(plan, size), 2 * workers, progress)
