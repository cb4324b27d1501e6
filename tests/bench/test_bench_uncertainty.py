"""Benchmark: 200 uncertainty draws of the China stop, over the bundled dataset's own ranges,
against one plain what-if of it, in the same run (target: within 10x).

Run with ``python -m pytest -m bench -s tests/bench/test_bench_uncertainty.py``. Whole
processes (start-up, loading, printing the table: what an analyst waits for) are the medians
of three; the draws run in worker processes (one per core, at most four), so the whole-process
ratio depends on the cores of the machine, and the in-process figures, draws in one process
against one warm what-if, are printed beside it. Nothing is asserted about time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import semigraph

pytestmark = pytest.mark.bench

SEMIGRAPH = str(Path(sys.executable).with_name("semigraph"))


def _seconds(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([SEMIGRAPH, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def test_200_draws_of_the_china_stop_within_10x_one_whatif():
    one = statistics.median(_seconds(["whatif", "--cut", "CHN"]) for _ in range(3))
    many = statistics.median(_seconds(["whatif", "--cut", "CHN", "--uncertainty", "200"])
                             for _ in range(3))
    print(f"\nwhole processes on {os.cpu_count()} cores: whatif --cut CHN --uncertainty 200 "
          f"{many:.2f} s; whatif --cut CHN {one:.2f} s; ratio {many / one:.1f}x (target 10x)")


def test_200_draws_in_process():
    from semigraph.engine import uncertainty as u

    net = semigraph.load()
    ranges = net.uncertainty
    net.whatif("CHN")  # warm: compiled arrays, imports
    t0 = time.perf_counter()
    plain = net.whatif("CHN")
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    banded = net.whatif("CHN", uncertainty=200, seed=1, ranges=ranges)
    many = time.perf_counter() - t0
    scen = net.scenario("CHN")
    model, figs = u.scenario_figures(net, scen, ranges)
    values = u.sample(figs, 200, 1)
    t0 = time.perf_counter()
    u.draws(model, scen, values, figs, processes=1)
    single = time.perf_counter() - t0
    spread = float((banded.table["availability_p95"] - banded.table["availability_p05"]).max())
    print(f"\n200 uncertainty draws of the China stop ({len(ranges)} ranged figures), in "
          f"process: {many:.2f} s with worker processes, the draws alone in one process "
          f"{single:.2f} s; one warm whatif --cut CHN {one:.2f} s; ratios {many / one:.1f}x "
          f"and {single / one:.1f}x; widest availability band {spread:.3f}")
    assert np.allclose(plain.table["availability"], banded.table["availability"])
