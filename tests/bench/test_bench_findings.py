"""Speed of the cut-set search on the bundled dataset, against trying every set."""

from __future__ import annotations

import time

import pytest

import semigraph
from semigraph.analysis.cutsets import cut_sets


@pytest.mark.bench
@pytest.mark.parametrize(("level", "order"), [("country", 2), ("firm", 1), ("firm", 2)])
def test_pruned_search_vs_brute_force(level, order):
    model = semigraph.load()
    cut_sets(model, ["euv-scanner"], level=level)  # compile and warm caches
    start = time.perf_counter()
    pruned = cut_sets(model, ["stage:end_use"], level=level, order=order)
    t_pruned = time.perf_counter() - start
    start = time.perf_counter()
    brute = cut_sets(model, ["stage:end_use"], level=level, order=order, prune=False)
    t_brute = time.perf_counter() - start
    assert pruned[["target", "units"]].astype(str).values.tolist() == \
        brute[["target", "units"]].astype(str).values.tolist()
    evaluated = pruned.attrs["stats"]["evaluated"], brute.attrs["stats"]["evaluated"]
    print(f"\n{level} order {order}: pruned {t_pruned:.2f}s, {evaluated[0]} sets; "
          f"brute force {t_brute:.2f}s, {evaluated[1]} sets; "
          f"ratio {t_brute / t_pruned:.1f}x time, {evaluated[1] / evaluated[0]:.1f}x sets")
    assert t_pruned < 30
