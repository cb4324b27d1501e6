"""Benchmark: 200 uncertainty draws of the China stop, over the bundled dataset's own ranges,
against one plain what-if of it, in the same run (target: within 10x). The ratio is printed;
nothing is asserted about time."""

from __future__ import annotations

import time

import numpy as np
import pytest

import semigraph

pytestmark = pytest.mark.bench


def test_200_draws_of_the_china_stop_within_10x_one_whatif():
    net = semigraph.load()
    ranges = net.uncertainty
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
