"""Scale: sweeps, loading and one what-if on a synthetic network of the shape users load.

Run with ``python -m pytest -m bench -s tests/bench/test_bench_scale.py``. The network
(:func:`tests.bench.synthetic.synthetic_network`: 150 countries, 60,000 firms, 30,000
components, about 55,000 supply and 60,000 requirement rows over 8 layers) is written as
Parquet once per run. Every figure is printed against a baseline measured in the same run:
whole processes (start-up included) unless said otherwise, peak memory summed over a process
and its workers. Nothing is asserted about time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.bench.synthetic import synthetic_network

SEMIGRAPH = [str(Path(sys.executable).with_name("semigraph"))]
SAMPLE = 4  # reference processes timed per measure (their mean is scaled to the sweep)


def _tree_memory(pid: int) -> int:
    """Proportional set size (bytes) of a process and its descendants (Linux /proc): pages
    that forked workers share with their parent are counted once, not once per process."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) * 1024 for line in fh
                              if line.startswith("Pss:"))
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(x) for x in fh.read().split()]
        except (OSError, StopIteration):
            continue
    return total


def run(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Seconds and peak memory (GB, proportional set size of the process tree) of one
    command."""
    start = time.perf_counter()
    proc = subprocess.Popen([*SEMIGRAPH, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_memory(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 0, err[-2000:]
    return seconds, peak / 1e9


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> Path:
    folder = synthetic_network(tmp_path_factory.mktemp("scale") / "net", fmt="parquet")
    run(["info", "--dataset", folder])  # fills the validation cache
    return folder


def _countries(folder: Path) -> list[str]:
    import semigraph
    from semigraph.engine.sweep import sweep_units

    return sweep_units(semigraph.load(folder), "country")


@pytest.mark.bench
def test_load_and_startup(network, tmp_path):
    cold = run(["info", "--dataset", network], {"SEMIGRAPH_CACHE_DIR": str(tmp_path / "new")})
    warm = run(["info", "--dataset", network])
    off = run(["info", "--dataset", network], {"SEMIGRAPH_CACHE_DIR": "off"})
    help_ = min(run(["--help"])[0] for _ in range(3))
    print(f"\nload synthetic Parquet (info, whole process): validated {off[0]:.2f}s; first "
          f"load filling the cache {cold[0]:.2f}s; cached {warm[0]:.2f}s "
          f"({off[0] / warm[0]:.1f}x), peak {warm[1]:.2f} GB; semigraph --help {help_:.2f}s")


@pytest.mark.bench
def test_bundled_whatif_and_help():
    old = [sys.executable, "-c", "import semigraph.cli"]
    imports = min(_seconds(old) for _ in range(3))
    whatif = min(run(["whatif", "--cut", "CHN"])[0] for _ in range(3))
    print(f"\nwhatif --cut CHN, bundled dataset, whole process: {whatif:.2f}s (of it Python "
          f"and the command line's imports {imports:.2f}s)")


def _seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


@pytest.mark.bench
def test_one_whatif(network, tmp_path):
    seconds, gb = run(["whatif", "--cut", "USA", "--dataset", network, "-o",
                       tmp_path / "w.parquet"])
    print(f"\none what-if (USA export stop, 365 days, bottlenecks explained) on the synthetic "
          f"network: {seconds:.1f}s, peak {gb:.2f} GB")


def _reference(network, countries, extra, tmp_path) -> float:
    """Mean seconds of the one-scenario-at-a-time reference: one whole process per scenario
    (load, evaluate it, write its rows), over a sample spread over the countries."""
    sample = [countries[i] for i in np.linspace(0, len(countries) - 1, SAMPLE).astype(int)]
    return float(np.mean([run(["sweep", "--targets", x, *extra, "--dataset", network, "-o",
                               tmp_path / f"one-{x}.parquet", "--force"])[0]
                          for x in sample]))


@pytest.mark.bench
@pytest.mark.parametrize(("measure", "step"), [("steady", None), ("headline", 14),
                                               ("headline", 7)])
def test_all_country_stops(network, tmp_path, measure, step):
    """Every single-country stop, every component: the sweep against one process per
    scenario (the headline's reference simulates day by day)."""
    countries = _countries(network)
    how = ["--measure", "steady"] if step is None else ["--step", step]
    sweep, gb = run(["sweep", *how, "--all", "--dataset", network, "-o",
                     tmp_path / "all.parquet"])
    one = _reference(network, countries, ["--measure", "steady", "--all"] if step is None
                     else ["--step", "1", "--all"], tmp_path)
    ref = one * len(countries)
    what = "steady" if step is None else f"headline over 365 days, {step}-day steps"
    print(f"\nall {len(countries)} single-country stops, {what}, every component: sweep "
          f"{sweep:.1f}s, peak {gb:.2f} GB; one process per scenario {one:.2f}s each, "
          f"{ref:.0f}s for all = {ref / sweep:.0f}x")


_PLAIN_PYTHON = """
import sys, time
import semigraph
from semigraph.engine.reference import availability_reference
net = semigraph.load(sys.argv[1])
availability_reference(net, net.scenario(sys.argv[2]))
"""


@pytest.mark.bench
def test_steady_sweep_against_plain_python(network, tmp_path):
    """The steady sweep of every country as a whole process, against a plain propagation in
    Python over the same tables one scenario at a time (the reference module that the tests
    hold the compiled engine against: dictionaries and loops, no arrays), each scenario a whole
    process too (start-up and loading included). One scenario of the plain propagation is
    timed and scaled to every country (it takes minutes on this network)."""
    countries = _countries(network)
    sweep, _ = run(["sweep", "--measure", "steady", "--all", "--dataset", network, "-o",
                    tmp_path / "all.parquet"])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _PLAIN_PYTHON, str(network), countries[0]],
                   check=True, capture_output=True)
    plain = time.perf_counter() - start
    one = _reference(network, countries, ["--measure", "steady", "--all"], tmp_path)
    print(f"\nall {len(countries)} single-country stops, steady, every component: sweep "
          f"{sweep:.1f}s; plain Python one scenario at a time {plain:.0f}s each, "
          f"{plain * len(countries) / 3600:.1f} h for all = {plain * len(countries) / sweep:,.0f}x;"
          f" the compiled engine one scenario per process {one:.2f}s each = "
          f"{one * len(countries) / sweep:.0f}x")


@pytest.mark.bench
def test_stepped_against_daily(network):
    """What steps cost in accuracy: every field of a sample of country stops (every
    component) with steps of 7, 14 and 30 days against the daily simulation."""
    import semigraph
    from semigraph.engine.propagation import evaluate
    from semigraph.engine.scenario import Disruption, Scenario
    from semigraph.engine.sweep import sweep_units

    for name, path, size in (("bundled", None, None), ("synthetic", network, 12)):
        net = semigraph.load(path)

        units = sweep_units(net, "country")
        if size:
            units = [units[i] for i in np.linspace(0, len(units) - 1, size).astype(int)]
        scenarios = [Scenario((Disruption(x),)) for x in units]
        start = time.perf_counter()
        daily = evaluate(net, scenarios)
        t_daily = time.perf_counter() - start
        for step in (7, 14, 30):
            start = time.perf_counter()
            ev = evaluate(net, scenarios, step=step)
            t = time.perf_counter() - start
            da = np.abs(ev.availability - daily.availability)
            dl = np.abs(ev.lost_days - daily.lost_days)
            both = (ev.time_to_survive >= 0) & (daily.time_to_survive >= 0)
            dt = np.abs(ev.time_to_survive - daily.time_to_survive)[both]
            flip = int(((ev.time_to_survive >= 0) != (daily.time_to_survive >= 0)).sum())
            print(f"\n{name}, {len(units)} country stops x {da.shape[0]:,} components, "
                  f"{step}-day steps: {t_daily / t:.1f}x faster than daily; |availability "
                  f"error| mean {da.mean():.1e}, 99.9th percentile {np.quantile(da, 0.999):.3f}"
                  f", max {da.max():.3f}; within 0.01: {(da <= 0.01).mean():.4%}; lost days "
                  f"max {dl.max():.1f}; days to impact max {dt.max() if dt.size else 0} apart; "
                  f"short in one and not the other: {flip} of {da.size:,}")


@pytest.mark.bench
def test_country_pairs_steady(network, tmp_path):
    import semigraph
    from semigraph.engine import sweep as sw

    sweep, gb = run(["sweep", "--order", "2", "--measure", "steady", "--dataset", network,
                     "-o", tmp_path / "pairs.parquet"])
    net = semigraph.load(network)
    plan = sw.plan_sweep(net, order=2, measure="steady")
    pairs = list(plan.unit_sets())
    sample = [pairs[i] for i in np.linspace(0, len(pairs) - 1, 200).astype(int)]
    sw.compile_model(net)
    start = time.perf_counter()
    for cut in sample:  # in-process, one scenario at a time
        sw.evaluate_batch(net, plan, [cut], [0])
    one = (time.perf_counter() - start) / len(sample)
    print(f"\norder-2 country sweep ({len(pairs):,} scenarios, {len(plan.components):,} end "
          f"products), steady: {sweep:.1f}s whole process, peak {gb:.2f} GB; in-process one "
          f"at a time {one * 1e3:.1f} ms each = {one * len(pairs):.0f}s "
          f"({one * len(pairs) / sweep:.1f}x)")


@pytest.mark.bench
def test_firm_level_spof(tmp_path):
    """Firm-level single points of failure on a tenth of the network (3,000 components,
    6,000 firms): the search holds units x components arrays (what each firm reaches), which
    at full scale (36,000 supplying firms x 30,000 components) do not fit the memory target."""
    import semigraph
    from semigraph.findings.cutsets import cut_sets

    folder = synthetic_network(tmp_path / "tenth", firms=6000, components=3000,
                               supply_rows=5500, requires_rows=6000, fmt="parquet")
    net = semigraph.load(folder)
    target = sorted(net.components.loc[net.components["stage"] == "end_use", "id"])[:50]
    start = time.perf_counter()
    pruned = net.spof(target, level="firm", measure="steady")
    t_pruned = time.perf_counter() - start
    start = time.perf_counter()
    brute = cut_sets(net, target, level="firm", measure="steady", prune=False)
    t_brute = time.perf_counter() - start
    assert len(pruned.table) == len(brute)
    print(f"\nfirm-level SPOF (a tenth of the network: {len(net.firms):,} firms, 50 end "
          f"products), steady, in-process: {t_pruned:.1f}s pruned against {t_brute:.1f}s "
          f"trying every firm = {t_brute / t_pruned:.1f}x; {len(pruned.table)} single points "
          "of failure")
