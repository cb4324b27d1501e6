"""Speed and peak memory of the streaming trade import on a 10-million-row BACI file.

Run with ``python -m pytest -m bench -s tests/bench/test_bench_trade.py``. The import and a
baseline (pandas reads the whole file, then filters and groups) each run in a child process;
the figures are printed with their ratio, and the streaming import's peak resident memory is
asserted to stay under 1 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

ROWS = 10_000_000
CHUNK = 1_000_000
HS = ["811292", "854231"]

#: Runs the code given as its argument in a grandchild and reports the grandchild's wall time
#: and peak resident memory: RUSAGE_CHILDREN of this wrapper covers that one process only.
_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
out = subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True, text=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_kib": peak, "returncode": out.returncode,
                  "stdout": out.stdout, "stderr": out.stderr[-3000:]}))
"""

_STREAMING = """
import json, sys
from semigraph.importers.trade import import_trade
result = import_trade(sys.argv[1], hs={hs!r}, component="gallium")
print(json.dumps(dict(zip(result.supply["supplier"], result.supply["share"]))))
"""

_BASELINE = """
import json, sys
import pandas as pd
from semigraph.importers.trade import iso3_for_numeric
frame = pd.read_csv(sys.argv[1])
frame = frame[frame["k"].isin([int(c) for c in {hs!r}])]
by = frame.groupby("i")["v"].sum()
total = by.sum()
shares = {{}}
for code, value in by.items():
    iso3 = iso3_for_numeric(code)
    if iso3 is not None and value > 0:
        shares[iso3] = shares.get(iso3, 0.0) + value / total
print(json.dumps(shares))
"""


def _baci_file(path: Path, rows: int = ROWS, seed: int = 7) -> Path:
    """A BACI-layout file of ``rows`` flows among real country codes and 5,000 products."""
    from semigraph.importers.trade import iso3_for_numeric

    rng = np.random.default_rng(seed)
    countries = np.array([c for c in range(1000) if iso3_for_numeric(c)], dtype=np.int64)
    products = np.unique(np.concatenate([
        rng.integers(10_000, 970_000, size=5_000), [int(c) for c in HS]]))
    schema = pa.schema([("t", pa.int64()), ("i", pa.int64()), ("j", pa.int64()),
                        ("k", pa.int64()), ("v", pa.float64()), ("q", pa.float64())])
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with open(path, "wb") as fh, pacsv.CSVWriter(fh, schema, write_options=options) as writer:
        fh.write(b"t,i,j,k,v,q\n")  # unquoted, as BACI writes it
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            q = np.round(rng.lognormal(2, 2, n), 3)
            q[rng.random(n) < 0.05] = np.nan  # BACI leaves some quantities empty
            writer.write_table(pa.table({
                "t": np.full(n, 2022, dtype=np.int64),
                "i": rng.choice(countries, n), "j": rng.choice(countries, n),
                "k": rng.choice(products, n),
                "v": np.round(rng.lognormal(3, 2, n), 3), "q": pa.array(q, from_pandas=True),
            }, schema=schema))
    return path


def _measure(code: str, data: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _WRAPPER, code, str(data)],
                         capture_output=True, text=True, check=True)
    # the wrapper runs the code with the data path as its sys.argv[1]
    figures = json.loads(out.stdout)
    assert figures["returncode"] == 0, figures["stderr"]
    figures["result"] = json.loads(figures["stdout"])
    return figures


@pytest.mark.bench
def test_streaming_import_vs_reading_the_whole_file(tmp_path):
    start = time.perf_counter()
    data = _baci_file(tmp_path / "BACI_HS17_Y2022_bench.csv")
    made = time.perf_counter() - start
    size = data.stat().st_size / 1e9
    print(f"\n{ROWS:,} rows, {size:.2f} GB written in {made:.0f} s")
    streaming = _measure(_STREAMING.format(hs=HS), data)
    baseline = _measure(_BASELINE.format(hs=HS), data)
    assert streaming["result"].keys() == baseline["result"].keys()
    for country, share in baseline["result"].items():
        assert streaming["result"][country] == pytest.approx(share, rel=1e-9)
    s_gb, b_gb = streaming["peak_kib"] / 2**20, baseline["peak_kib"] / 2**20
    print(f"streaming import: {streaming['seconds']:.1f} s, {s_gb:.2f} GiB peak")
    print(f"pandas read_csv + groupby: {baseline['seconds']:.1f} s, {b_gb:.2f} GiB peak")
    print(f"ratio (baseline / streaming): {baseline['seconds'] / streaming['seconds']:.1f}x "
          f"time, {b_gb / s_gb:.1f}x memory")
    assert streaming["peak_kib"] < 2**20  # under 1 GiB
