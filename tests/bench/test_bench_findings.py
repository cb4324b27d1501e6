"""Speed of the cut-set search and the what-if engine on the bundled dataset.

Run with ``python -m pytest -m bench -s``; figures are printed as ratios against a baseline
measured in the same run, never asserted as absolute times.
"""

from __future__ import annotations

import time

import pytest

import semigraph
from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.findings.cutsets import cut_sets


def _best(fn, repeat=3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.bench
@pytest.mark.parametrize(("level", "order"), [("country", 2), ("firm", 1), ("firm", 2)])
def test_pruned_search_vs_brute_force(level, order):
    model = semigraph.load()
    cut_sets(model, ["euv-scanner"], level=level, measure="steady")  # warm caches
    start = time.perf_counter()
    pruned = cut_sets(model, ["stage:end_use"], level=level, order=order, measure="steady")
    t_pruned = time.perf_counter() - start
    start = time.perf_counter()
    brute = cut_sets(model, ["stage:end_use"], level=level, order=order, prune=False,
                     measure="steady")
    t_brute = time.perf_counter() - start
    assert pruned[["target", "units"]].astype(str).values.tolist() == \
        brute[["target", "units"]].astype(str).values.tolist()
    evaluated = pruned.attrs["stats"]["evaluated"], brute.attrs["stats"]["evaluated"]
    print(f"\n{level} order {order} (static measure): pruned {t_pruned:.2f}s, {evaluated[0]} "
          f"sets; brute force {t_brute:.2f}s, {evaluated[1]} sets; ratio "
          f"{t_brute / t_pruned:.1f}x time, {evaluated[1] / evaluated[0]:.1f}x sets")


@pytest.mark.bench
def test_headline_whatif_vs_static_bound():
    """The day-by-day headline of ``whatif --cut CHN`` against the one-pass static bound
    (what the engine reported as its answer before the simulation became the headline)."""
    model = semigraph.load()
    scenario = Scenario((Disruption("CHN"),))
    evaluate(model, scenario)  # compile once
    t_static = _best(lambda: evaluate(model, scenario, timeline=False))
    t_headline = _best(lambda: evaluate(model, scenario))
    t_explained = _best(lambda: evaluate(model, scenario, series=True))
    print(f"\nwhatif --cut CHN engine: static bound {t_static * 1e3:.1f} ms; headline (365 "
          f"days, both bounds) {t_headline * 1e3:.0f} ms = {t_headline / t_static:.0f}x; "
          f"with the daily series for explanations {t_explained * 1e3:.0f} ms")


@pytest.mark.bench
def test_headline_spof_country_pairs():
    model = semigraph.load()
    start = time.perf_counter()
    steady = cut_sets(model, ["stage:end_use"], level="country", order=2, measure="steady")
    t_steady = time.perf_counter() - start
    start = time.perf_counter()
    head = cut_sets(model, ["stage:end_use"], level="country", order=2)
    t_head = time.perf_counter() - start
    s = head.attrs["stats"]
    print(f"\nspof country order 2: static measure {t_steady:.1f}s ({len(steady)} sets); "
          f"headline {t_head:.1f}s = {t_head / t_steady:.1f}x ({len(head)} sets; "
          f"{s['evaluated']} screened, {s['simulated']} simulated)")


_CLI = ("import sys\n"
        "from semigraph.cli import main\n"
        "sys.argv = ['semigraph', *sys.argv[1:]]\n"
        "main()\n")
_UNPRUNED = ("import sys\n"
             "from semigraph.findings import cutsets\n"
             "search = cutsets._search_headline\n"
             "cutsets._search_headline = lambda *a, **k: search(*a[:8], prune=False)\n"
             "from semigraph.cli import main\n"
             "sys.argv = ['semigraph', *sys.argv[1:]]\n"
             "main()\n")


@pytest.mark.bench
def test_spof_country_pairs_whole_process():
    """``semigraph spof --level country --order 2`` as a whole process (start-up, loading,
    search, printing), against the same command simulating every candidate set that
    contains no smaller cut set (no screening by the static bound or the floor)."""
    import subprocess
    import sys

    args = ["spof", "--level", "country", "--order", "2"]

    def run(code: str) -> tuple[float, str]:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, *args], check=True,
                             capture_output=True, text=True).stdout
        return time.perf_counter() - start, out

    t_pruned, out_pruned = min(run(_CLI) for _ in range(2))
    t_plain, out_plain = run(_UNPRUNED)
    table = [line for line in out_pruned.splitlines() if "Search:" not in line]
    assert table == [line for line in out_plain.splitlines() if "Search:" not in line]
    print(f"\nspof --level country --order 2, whole process: screened by the bounds "
          f"{t_pruned:.1f}s; every candidate simulated {t_plain:.1f}s = "
          f"{t_plain / t_pruned:.1f}x")
