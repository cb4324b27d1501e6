"""Bounds on one request: the memory estimate of a single scenario against what it allocates,
and the work estimates that spof and sweep refuse on.

Run with ``python -m pytest -m bench -s tests/bench/test_bench_bounds.py``. Figures are
printed (numpy's peak allocation as tracemalloc sees it, against the engine's estimate),
never asserted.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from tests.bench.synthetic import synthetic_network


@pytest.mark.bench
def test_one_scenario_memory_estimate_against_its_peak(tmp_path):
    import semigraph
    from semigraph.engine.compiled import compile_model
    from semigraph.engine.propagation import _scenario_bytes, evaluate, resolve
    from semigraph.engine.scenario import Disruption, Scenario

    net = semigraph.load(synthetic_network(tmp_path / "net", components=6000, firms=12000,
                                           supply_rows=11000, requires_rows=12000))
    c = compile_model(net)
    print(f"\nnetwork: {c.n_components:,} components, {c.n_edges:,} supply rows")
    for stops, horizon, series in ((1, 365, False), (8, 365, False), (1, 90, True),
                                   (8, 90, True)):
        scenario = Scenario(tuple(Disruption(x) for x in c.countries[:stops]), horizon=horizon)
        batch = [[resolve(net, c, d) for d in scenario.disruptions]]
        tracemalloc.start()
        start = time.perf_counter()
        ev = evaluate(net, scenario, series=series)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        est = _scenario_bytes(c, batch, True, 3, series, horizon, k=ev.n_classes)
        print(f"{stops} export stop(s), {ev.n_classes} classes, {horizon} days, series "
              f"{'kept' if series else 'not kept'}: peak {peak / 2**20:,.0f} MiB, estimate "
              f"{est / 2**20:,.0f} MiB ({est / peak:.1f}x), {seconds:.1f} s")


@pytest.mark.bench
@pytest.mark.parametrize("args", [
    ["spof", "--level", "site", "--order", "2"],
    ["sweep", "--level", "firm", "--order", "3"],
    ["sweep", "--monte-carlo", "1000000000"],
])
def test_over_large_requests_are_refused_before_the_work(args):
    """Seconds and peak memory of a whole process asked for too much work on the bundled
    dataset: it should refuse at once, with the estimate, instead of starting."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.bench.test_bench_scale import _tree_memory

    exe = str(Path(sys.executable).with_name("semigraph"))
    start = time.perf_counter()
    proc = subprocess.Popen([exe, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_memory(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode()
    print(f"\n{' '.join(args)}: exit {proc.returncode} after {seconds:.2f}s, peak "
          f"{peak / 1e9:.2f} GB: {err.strip()[:160]}")
