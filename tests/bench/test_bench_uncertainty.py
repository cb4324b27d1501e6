"""Benchmark: 200 uncertainty draws of the China stop against one plain what-if of it, in
the same run (target: within 10x)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import semigraph
from semigraph.engine import uncertainty as u

pytestmark = pytest.mark.bench


def _ranges(net) -> pd.DataFrame:
    """Ranges of the shape a dataset gives: shares +-30%, stocks and restore times
    halved to 1.5x, on figures along the China stop's paths."""
    rows = []
    sup = net.supply[net.supply["share"].notna()]
    for r in sup.iloc[::20].itertuples():
        rows.append(("supply", f"{r.component}/{r.supplier}/{r.site}", "share",
                     r.share * 0.7, min(1.0, r.share * 1.3)))
    comps = net.components
    for col in ("stock_days", "ttr_days", "qualify_days"):
        for r in comps[comps[col].notna()].iloc[::4].itertuples():
            v = getattr(r, col)
            rows.append(("components", r.id, col, v * 0.5, v * 1.5))
    return pd.DataFrame([(*r, None, "benchmark") for r in rows], columns=u.RANGE_COLUMNS)


def test_200_draws_of_the_china_stop_within_10x_one_whatif():
    net = semigraph.load()
    ranges = _ranges(net)
    net.whatif("CHN")  # warm: compiled arrays, imports
    t0 = time.perf_counter()
    plain = net.whatif("CHN")
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    banded = net.whatif("CHN", uncertainty=200, seed=1, ranges=ranges)
    many = time.perf_counter() - t0
    ratio = many / one
    spread = float((banded.table["availability_p95"] - banded.table["availability_p05"]).max())
    print(f"\n200 uncertainty draws of the China stop ({len(ranges)} ranged figures): "
          f"{many:.2f} s; one whatif --cut CHN: {one:.2f} s; ratio {ratio:.1f}x (target 10x); "
          f"widest availability band {spread:.3f}")
    assert np.allclose(plain.table["availability"], banded.table["availability"])
    assert ratio <= 10.0
