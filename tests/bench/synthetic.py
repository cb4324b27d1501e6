"""Synthetic datasets of realistic shape for benchmarks: many firms, components and rows.

The countries are the bundled dataset's; components form a layered DAG (each needs a few
inputs from earlier layers, some as alternatives), and each component is supplied by many
firms at a few sites with shares that sum to at most 1.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from semigraph.model.model import default_dataset_path
from semigraph.schema import TABLES, columns

__all__ = ["synthetic_dataset"]


def _write(folder: Path, name: str, rows) -> None:
    cols = [c.name for c in columns(name)]
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow(row)


def synthetic_dataset(folder: str | Path, *, components: int = 3000, firms: int = 9300,
                      supply_rows: int = 850_000, layers: int = 8, seed: int = 1) -> Path:
    """Write a synthetic dataset; returns its folder."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(default_dataset_path() / "countries.csv", newline="", encoding="utf-8") as fh:
        rows = [{"id": r["id"], "name": r["name"], "blocs": r["blocs"]}
                for r in csv.DictReader(fh)]
    countries = [r["id"] for r in rows]
    _write(folder, "countries", rows)
    _write(folder, "sources", [{"id": "synthetic", "publisher": "semigraph benchmarks",
                                "title": "Synthetic data", "year": 2026, "kind": "estimate",
                                "note": "random data of realistic shape"}])
    firm_ids = [f"firm-{i:05d}" for i in range(firms)]
    _write(folder, "firms", ({"id": f, "name": f"Firm {f}", "hq": rng.choice(countries)}
                             for f in firm_ids))
    comp_ids = [f"component-{i:05d}" for i in range(components)]
    layer = {c: min(layers - 1, i * layers // components) for i, c in enumerate(comp_ids)}
    _write(folder, "components", ({
        "id": c, "name": f"Component {c}", "kind": "equipment" if i % 17 == 0 else "material",
        "stage": "end_use" if layer[c] == layers - 1 else "materials_equipment",
        "stock_days": rng.choice(["", 0, 14, 30, 60]), "ttr_days": rng.choice(["", 90, 365]),
        "renewal_days": 2000 if i % 17 == 0 else "", "source": "synthetic"}
        for i, c in enumerate(comp_ids)))
    by_layer = {k: [c for c in comp_ids if layer[c] == k] for k in range(layers)}
    requires = []
    for c in comp_ids:
        if layer[c] == 0:
            continue
        pool = [x for k in range(layer[c]) for x in by_layer[k]]
        for j, inp in enumerate(rng.sample(pool, min(len(pool), rng.randint(2, 4)))):
            requires.append({"component": c, "input": inp, "group": "g" if j >= 2 else "",
                             "source": "synthetic"})
    _write(folder, "requires", requires)
    per = supply_rows // components

    def supply():
        for c in comp_ids:
            seen = set()
            shares = [rng.random() for _ in range(per)]
            total = sum(shares) / 0.95
            for s in shares:
                f, site = rng.choice(firm_ids), rng.choice(countries)
                if (f, site) in seen:
                    continue
                seen.add((f, site))
                yield {"component": c, "supplier": f, "site": site,
                       "share": f"{s / total:.6f}", "source": "synthetic"}

    _write(folder, "supply", supply())
    for name in TABLES:
        if not (folder / f"{name}.csv").exists() and name != "consumption":
            _write(folder, name, [])
    (folder / "datapackage.json").write_text(json.dumps({"name": "synthetic",
                                                        "version": "0"}))
    return folder
