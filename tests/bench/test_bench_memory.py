"""Peak memory of map and report on a synthetic dataset of 850k supply rows.

Run with ``python -m pytest -m bench -s tests/bench/test_bench_memory.py``; the figures are
printed (peak resident memory of each command as a whole process, and the ratio to loading
the dataset alone), not asserted.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.bench.synthetic import synthetic_dataset


def _peak(args: list[str]) -> tuple[float, float]:
    """Seconds and peak resident memory (GB) of one command run in a child process."""
    code = ("import resource, sys\nfrom semigraph.cli import cli\ntry:\n    cli.main(sys.argv[1:],"
            " prog_name='semigraph')\nexcept SystemExit:\n    pass\nprint('PEAK', resource."
            "getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=False)
    seconds = time.perf_counter() - start
    line = [x for x in out.stdout.splitlines() if x.startswith("PEAK")]
    assert line, out.stderr[-2000:]
    return seconds, int(line[-1].split()[1]) / 1e6


@pytest.mark.bench
def test_map_and_report_memory_on_a_large_dataset(tmp_path):
    data = synthetic_dataset(tmp_path / "synthetic")
    scenario = tmp_path / "s.toml"
    scenario.write_text('title = "one firm"\n[[disruption]]\nunit = "firm-00042"\n')
    base = _peak(["info", "--dataset", str(data)])
    print(f"\nload (info): {base[0]:.0f} s, {base[1]:.2f} GB peak")
    for name, args in (
        ("map", ["map", "--cut", "firm-00042", "--dataset", str(data), "-o",
                 str(tmp_path / "m.dot")]),
        ("report", ["report", "--scenario", str(scenario), "--dataset", str(data), "-o",
                    str(tmp_path / "r.html")]),
    ):
        seconds, gb = _peak(args)
        print(f"{name}: {seconds:.0f} s, {gb:.2f} GB peak = {gb / base[1]:.1f}x loading alone")
