"""Build small datasets for tests: by hand (dicts of rows) or at random (hypothesis)."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import strategies as st

from semigraph.schema import TABLES, columns

COUNTRIES = ["CHN", "DEU", "JPN", "NLD", "TWN", "USA"]


def write_dataset(folder: Path, tables: dict[str, list[dict]]) -> Path:
    """Write rows as CSV files with the schema's columns (missing cells empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        cols = [c.name for c in columns(name)]
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            for row in tables.get(name, []):
                w.writerow({c: "" if row.get(c) is None else row.get(c) for c in cols})
    return folder


def base_tables() -> dict[str, list[dict]]:
    return {
        "countries": [
            {"id": "CHN", "name": "China"},
            {"id": "DEU", "name": "Germany", "blocs": "EU27"},
            {"id": "JPN", "name": "Japan", "blocs": "G7"},
            {"id": "NLD", "name": "Netherlands", "blocs": "EU27"},
            {"id": "TWN", "name": "Taiwan"},
            {"id": "USA", "name": "United States", "blocs": "G7"},
        ],
        "sources": [{"id": "src", "publisher": "Test", "title": "Test source", "year": 2024,
                     "kind": "estimate", "note": "test data"}],
    }


def small_tables() -> dict[str, list[dict]]:
    """A hand-computable chain: chip needs wafer and (litho-a or litho-b); wafer needs gallium.

    gallium: CHN 0.9, USA 0.1          wafer: JPN 0.6, DEU 0.4
    litho-a: firm asml @NLD 1.0        litho-b: firm nikon @JPN 0.5 (rest 0.5)
    chip: firm fab @TWN 0.7, firm fab @USA 0.2 (rest 0.1)
    """
    t = base_tables()
    t["firms"] = [
        {"id": "asml", "name": "ASML", "hq": "NLD"},
        {"id": "fab", "name": "Fab Co", "hq": "TWN"},
        {"id": "nikon", "name": "Nikon", "hq": "JPN"},
        {"id": "subsid", "name": "Subsidiary", "hq": "NLD", "controlled_by": "CHN"},
    ]
    t["components"] = [
        {"id": "gallium", "name": "Gallium", "kind": "raw_material",
         "stage": "materials_equipment", "stock_days": 30, "ttr_days": 200, "storable": "true",
         "source": "src"},
        {"id": "wafer", "name": "Wafer", "kind": "material", "stage": "materials_equipment",
         "stock_days": 10, "storable": "true", "source": "src"},
        {"id": "litho-a", "name": "Litho A", "kind": "equipment",
         "stage": "materials_equipment", "renewal_days": 1000, "renewal_source": "src"},
        {"id": "litho-b", "name": "Litho B", "kind": "equipment",
         "stage": "materials_equipment", "renewal_days": 1000, "renewal_source": "src"},
        {"id": "chip", "name": "Chip", "kind": "chip", "stage": "front_end", "stock_days": 0,
         "source": "src"},
        {"id": "car", "name": "Car electronics", "kind": "end_product", "stage": "end_use",
         "stock_days": 0, "source": "src"},
    ]
    t["supply"] = [
        {"component": "gallium", "supplier": "CHN", "site": "CHN", "share": "90%", "source": "src"},
        {"component": "gallium", "supplier": "USA", "site": "USA", "share": "0.1", "source": "src"},
        {"component": "wafer", "supplier": "JPN", "site": "JPN", "share": "0.6", "source": "src"},
        {"component": "wafer", "supplier": "subsid", "site": "DEU", "share": "0.4",
         "source": "src"},
        {"component": "litho-a", "supplier": "asml", "site": "NLD", "share": "1", "source": "src"},
        {"component": "litho-b", "supplier": "nikon", "site": "JPN", "share": "0.5",
         "source": "src"},
        {"component": "chip", "supplier": "fab", "site": "TWN", "share": "0.7", "source": "src"},
        {"component": "chip", "supplier": "fab", "site": "USA", "share": "0.2", "source": "src"},
    ]
    t["requires"] = [
        {"component": "wafer", "input": "gallium", "source": "src"},
        {"component": "chip", "input": "wafer", "source": "src"},
        {"component": "chip", "input": "litho-a", "group": "litho", "source": "src"},
        {"component": "chip", "input": "litho-b", "group": "litho", "source": "src"},
        {"component": "car", "input": "chip", "source": "src"},
    ]
    return t


@st.composite
def random_tables(draw, max_components: int = 8, tied: bool = False,
                  captive: bool = False) -> dict[str, list[dict]]:
    """A random valid dataset: a DAG of components with grouped and ungrouped inputs, firm
    and country supply rows with known and unknown shares; with ``tied``, qualification
    times, stock spreads and maker inputs too; with ``captive``, firm rows marked captive
    (not of a maker input)."""
    t = base_tables()
    n_firms = draw(st.integers(1, 4))
    firms = [f"firm{i}" for i in range(n_firms)]
    t["firms"] = [{"id": f, "name": f"Firm {i}", "hq": draw(st.sampled_from(COUNTRIES)),
                   "controlled_by": draw(st.sampled_from(COUNTRIES))}
                  for i, f in enumerate(firms)]
    n = draw(st.integers(1, max_components))
    comps = [f"c{i}" for i in range(n)]
    t["components"] = []
    for c in comps:
        capital = draw(st.booleans()) and draw(st.booleans())
        t["components"].append({
            "id": c, "name": f"Component {c}", "kind": "equipment" if capital else "material",
            "stage": draw(st.sampled_from(["materials_equipment", "front_end", "end_use"])),
            "stock_days": draw(st.one_of(st.none(), st.integers(0, 40))),
            "ttr_days": draw(st.one_of(st.none(), st.integers(0, 120))),
            "storable": draw(st.sampled_from(["true", "false", ""])),
            "chain_share": draw(st.one_of(st.none(), st.sampled_from([0.05, 0.3, 0.8]))),
            "renewal_days": draw(st.sampled_from([3, 20, 200])) if capital else None,
            "source": "src"})
        if tied:
            row = t["components"][-1]
            row["qualify_days"] = draw(st.sampled_from([None, 0, 5, 30, 400]))
            if row["stock_days"] is None and draw(st.booleans()):
                row["stock_days"] = draw(st.integers(1, 30))
            if row["stock_days"] is not None and draw(st.booleans()):
                row["stock_days_min"] = draw(st.integers(0, row["stock_days"]))
    supply, seen = [], set()
    for c in comps:
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                supplier = draw(st.sampled_from(firms))
                site = draw(st.sampled_from(COUNTRIES))
            else:
                supplier = site = draw(st.sampled_from(COUNTRIES))
            key = (c, site)
            kind = supplier in COUNTRIES
            if (c, supplier, site) in seen or (key, not kind) in seen:
                continue  # no duplicate rows, no firm and country rows for one site
            seen |= {(c, supplier, site), (key, kind)}
            share = draw(st.one_of(st.none(), st.integers(1, 45).map(lambda x: x / 100)))
            supply.append({"component": c, "supplier": supplier, "site": site,
                           "share": share, "source": "src"})
    t["supply"] = supply
    consumption = []
    for c in comps:
        left = 1.0
        for country in draw(st.lists(st.sampled_from(COUNTRIES), max_size=2, unique=True)):
            share = draw(st.sampled_from([0.1, 0.3, 0.6]))
            if share <= left:
                left -= share
                consumption.append({"component": c, "country": country, "share": share,
                                    "source": "src"})
    t["consumption"] = consumption
    requires = []
    capital_ids = {r["id"] for r in t["components"] if r["renewal_days"]}
    for j, c in enumerate(comps):
        if j == 0:
            continue
        inputs = draw(st.lists(st.sampled_from(comps[:j]), max_size=3, unique=True))
        for inp in inputs:
            group = draw(st.sampled_from(["", "", "g1", "g2"]))
            requires.append({"component": c, "input": inp, "group": group, "source": "src"})
        if tied:  # one ungrouped consumable input may name the part's maker
            plain = [r for r in requires if r["component"] == c and not r["group"]
                     and r["input"] not in capital_ids]
            if plain and draw(st.booleans()):
                draw(st.sampled_from(plain))["maker"] = "true"
    t["requires"] = requires
    if captive:
        makers = {r["input"] for r in requires if r.get("maker")}
        for row in supply:
            if row["supplier"] in firms and row["component"] not in makers:
                row["captive"] = "true" if draw(st.booleans()) else ""
    return t
