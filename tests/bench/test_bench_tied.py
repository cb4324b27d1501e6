"""What the tied reading costs: whole processes with it against the same processes without it.

Run with ``python -m pytest -m bench -s tests/bench/test_bench_tied.py``. Each figure is the
median of alternating runs of the same command in one process tree, once with the tied
reading and once with it switched off in the engine (the two allocation bounds only), so the
ratio is measured on the same machine in the same run. Nothing is asserted about time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import pytest

RUNS = 5
SCRIPT = """
import sys
from semigraph.engine import propagation
propagation.evaluate.__kwdefaults__["tied"] = sys.argv[1] == "tied"
propagation.evaluate_resolved.__kwdefaults__["tied"] = sys.argv[1] == "tied"
from semigraph.cli import main
sys.argv = ["semigraph", *sys.argv[2:]]
main()
"""


def _median(args: list[str]) -> tuple[float, float]:
    """Median seconds with and without the tied reading, runs alternating."""
    times: dict[str, list[float]] = {"tied": [], "pooled": []}
    for _ in range(RUNS):
        for reading in times:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", SCRIPT, reading, *args], check=True,
                           capture_output=True)
            times[reading].append(time.perf_counter() - start)
    return statistics.median(times["tied"]), statistics.median(times["pooled"])


@pytest.mark.bench
def test_whatif_china_with_and_without_the_tied_reading():
    tied, pooled = _median(["whatif", "--cut", "CHN"])
    print(f"\nwhatif --cut CHN, bundled dataset, whole process, median of {RUNS}: with the tied "
          f"reading {tied:.2f}s, without {pooled:.2f}s = {tied / pooled:.2f}x")


@pytest.mark.bench
def test_all_country_sweep_with_and_without_the_tied_reading(tmp_path):
    out = tmp_path / "sweep.parquet"
    tied, pooled = _median(["sweep", "--all", "-o", str(out), "--force"])
    print(f"\nall-country headline sweep (14-day steps), bundled dataset, whole process, median "
          f"of {RUNS}: with the tied reading {tied:.2f}s, without {pooled:.2f}s = "
          f"{tied / pooled:.2f}x")
