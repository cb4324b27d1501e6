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
