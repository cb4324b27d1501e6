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


def _iso3_codes(n: int) -> list[str]:
    """``n`` real ISO 3166 alpha-3 codes: the bundled dataset's countries first."""
    with open(default_dataset_path() / "countries.csv", newline="", encoding="utf-8") as fh:
        codes = [r["id"] for r in csv.DictReader(fh)]
    iso = Path(__file__).resolve().parents[2] / "semigraph" / "data" / "iso3166_numeric.csv"
    with open(iso, newline="", encoding="utf-8") as fh:
        codes += sorted({r["alpha3"] for r in csv.DictReader(fh)} - set(codes))
    return codes[:n]


def synthetic_network(folder: str | Path, *, countries: int = 150, firms: int = 60_000,
                      components: int = 30_000, supply_rows: int = 55_000,
                      requires_rows: int = 60_000, layers: int = 8, seed: int = 1,
                      fmt: str = "csv") -> Path:
    """A firm-level network of the shape issue-scale users load (defaults: 150 countries,
    60,000 firms, 30,000 components, about 55,000 supply and 60,000 requirement rows over
    8 layers), written as CSV or Parquet; returns its folder.

    Production is concentrated as in the real chain: a site's country is drawn with weight
    1 / rank (a few countries make most things), each component has one to three supply rows
    whose shares leave some rest of world, each needs inputs mostly from the layer below
    (some as alternatives), every 17th is capital equipment, raw materials (layer 0) have a
    chain share and the main producer of every 20th consumes most of it.
    """
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    codes = _iso3_codes(countries)
    weights = [1.0 / (rank + 1) for rank in range(len(codes))]
    tables: dict[str, list[dict]] = {name: [] for name in TABLES}
    tables["countries"] = [{"id": c, "name": f"Country {c}",
                            "blocs": "EU27" if i % 9 == 3 else ""} for i, c in enumerate(codes)]
    tables["sources"] = [{"id": "synthetic", "publisher": "semigraph benchmarks",
                          "title": "Synthetic data", "year": 2026, "kind": "estimate",
                          "note": "random data of realistic shape"}]
    firm_ids = [f"firm-{i:05d}" for i in range(firms)]
    tables["firms"] = [{"id": f, "name": f"Firm {f}", "hq": rng.choices(codes, weights)[0]}
                       for f in firm_ids]
    comp_ids = [f"c{i:05d}" for i in range(components)]
    layer_of = [min(layers - 1, i * layers // components) for i in range(components)]
    by_layer: list[list[int]] = [[] for _ in range(layers)]
    for i, k in enumerate(layer_of):
        by_layer[k].append(i)
    rows = []
    for i, c in enumerate(comp_ids):
        capital = i % 17 == 5 and 0 < layer_of[i] < layers - 1
        rows.append({
            "id": c, "name": f"Component {c}",
            "kind": "equipment" if capital else "raw_material" if layer_of[i] == 0 else
            "end_product" if layer_of[i] == layers - 1 else "material",
            "stage": "end_use" if layer_of[i] == layers - 1 else "materials_equipment",
            "stock_days": "" if capital else rng.choice(["", 0, 14, 30, 60, 90]),
            "ttr_days": rng.choice(["", 90, 180, 365, 730]),
            "renewal_days": rng.choice([1750, 2500, 4000]) if capital else "",
            "chain_share": round(rng.uniform(0.02, 1.0), 3) if layer_of[i] == 0 else "",
            "source": "synthetic"})
    tables["components"] = rows
    inputs_per = requires_rows / max(1, components - len(by_layer[0]))
    for i, c in enumerate(comp_ids):
        k = layer_of[i]
        if k == 0:
            continue
        n = max(1, min(6, round(rng.gauss(inputs_per, 1.0))))
        chosen = set()
        for _ in range(n):
            src = k - 1 if rng.random() < 0.7 else rng.randrange(k)
            chosen.add(rng.choice(by_layer[src]))
        for j, inp in enumerate(sorted(chosen)):
            tables["requires"].append({"component": c, "input": comp_ids[inp],
                                       "group": "alt" if j >= 2 and j % 2 == 0 else "",
                                       "source": "synthetic"})
    per = supply_rows / components
    for i, c in enumerate(comp_ids):
        n = max(1, min(3, round(rng.gauss(per, 0.7))))
        shares = [rng.random() for _ in range(n)]
        total = sum(shares) / rng.uniform(0.8, 0.98)
        seen = set()
        for s in shares:
            f, site = rng.choice(firm_ids), rng.choices(codes, weights)[0]
            if (f, site) in seen:
                continue
            seen.add((f, site))
            tables["supply"].append({"component": c, "supplier": f, "site": site,
                                     "share": f"{s / total:.6f}", "source": "synthetic"})
        if layer_of[i] == 0 and i % 20 == 0:
            top = max((float(r["share"]), r["site"]) for r in tables["supply"][-len(seen):])
            tables["consumption"].append({"component": c, "country": top[1],
                                          "share": round(min(0.9, top[0] * 0.8), 3),
                                          "source": "synthetic"})
    for name, data in tables.items():
        _write_table(folder, name, data, fmt)
    (folder / "datapackage.json").write_text(json.dumps({"name": "synthetic-network",
                                                        "version": "0"}))
    return folder


def _write_table(folder: Path, name: str, rows: list[dict], fmt: str) -> None:
    if fmt == "csv":
        _write(folder, name, rows)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = [c.name for c in columns(name)]
    data = {col: [None if r.get(col, "") == "" else str(r[col]) for r in rows] for col in cols}
    pq.write_table(pa.table({col: pa.array(v, type=pa.string()) for col, v in data.items()}),
                   folder / f"{name}.parquet")
