"""Captive supply rows (engine README 4.5, "Captive rows"): hand-computed cases, the plain
reference, properties."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.engine.propagation import evaluate
from semigraph.engine.reference import simulate_reference
from semigraph.engine.scenario import Disruption, Scenario
from tests.datasets import base_tables, random_tables, write_dataset
from tests.test_propagation import SETTINGS, _load, _valid, scenarios


def _masks(tmp_path, *, captive=True, stock=0, qualify=0, merchant_share=0.5):
    """mask: firm f's own shop @TWN 0.5 (captive), merchant m @JPN ``merchant_share``;
    wafer: f @TWN 0.6, g @USA 0.4, needs mask; chip: made by its buyer from wafer."""
    t = base_tables()
    t["firms"] = [{"id": x, "name": x.upper(), "hq": hq}
                  for x, hq in (("f", "TWN"), ("g", "USA"), ("m", "JPN"))]
    t["components"] = [
        {"id": cid, "name": cid, "kind": "material", "stage": "front_end",
         "stock_days": stock, "qualify_days": qualify, "source": "src"}
        for cid in ("mask", "wafer", "chip")]
    t["supply"] = [
        {"component": "mask", "supplier": "f", "site": "TWN", "share": 0.5,
         "captive": "true" if captive else "", "source": "src"},
        {"component": "mask", "supplier": "m", "site": "JPN", "share": merchant_share,
         "source": "src"},
        {"component": "wafer", "supplier": "f", "site": "TWN", "share": 0.6, "source": "src"},
        {"component": "wafer", "supplier": "g", "site": "USA", "share": 0.4, "source": "src"}]
    t["requires"] = [{"component": "wafer", "input": "mask", "source": "src"},
                     {"component": "chip", "input": "wafer", "source": "src"}]
    return semigraph.load(write_dataset(tmp_path, t))


def _row(ev, comp):
    i = ev.compiled.index[comp]
    return {"steady": float(ev.steady_state[i, 0]), "pooled": float(ev.availability[i, 0]),
            "high": float(ev.availability_high[i, 0]),
            "tied": float(ev.availability_tied[i, 0])}


@pytest.mark.parametrize("cut, mask, wafer", [
    # f's own shop stops: only f's wafer row (0.6) loses its masks; g keeps the merchant's
    ("supply:mask/f@TWN", 0.5, 0.4),
    # the merchant stops: g's row (0.4) has no masks, f's own shop still serves f
    ("supply:mask/m@JPN", 0.5, 0.6),
])
def test_a_stop_of_a_captive_shop_hurts_only_its_own_firms_rows(tmp_path, cut, mask, wafer):
    for qualify in (0, 20):  # pooled buyers, and buyers tied to their row for 20 days
        model = _masks(tmp_path / str(qualify), qualify=qualify)
        ev = evaluate(model, Scenario((Disruption(cut),), horizon=30))
        got = {c: _row(ev, c) for c in ("mask", "wafer", "chip")}
        for reading in ("steady", "pooled", "high", "tied"):
            assert got["mask"][reading] == pytest.approx(mask)  # the world figure, pooled
            assert got["wafer"][reading] == pytest.approx(wafer), (cut, reading)
            assert got["chip"][reading] == pytest.approx(wafer)  # a buyer reads the wafer


def test_without_the_mark_the_rows_pool(tmp_path):
    model = _masks(tmp_path, captive=False)
    ev = evaluate(model, Scenario((Disruption("supply:mask/f@TWN"),), horizon=30))
    assert _row(ev, "wafer")["pooled"] == pytest.approx(0.5)  # every row shares the loss


def test_merchant_buyers_are_whole_when_merchants_are(tmp_path):
    """The merchant view is normalised to the merchant share: with shares 0.5 + 0.3 the
    unattributed 0.2 belongs to the merchant side, g reads (0.3 x 1 + 0.2) / 0.5 = 1 when f's
    shop stops, and 0.2 / 0.5 = 0.4 when the merchant stops."""
    model = _masks(tmp_path, merchant_share=0.3)
    ev = evaluate(model, Scenario((Disruption("supply:mask/f@TWN"),), horizon=0))
    assert _row(ev, "wafer")["steady"] == pytest.approx(0.4)
    assert _row(ev, "mask")["steady"] == pytest.approx(0.5)  # 0.3 + 0.2 of the world
    ev = evaluate(model, Scenario((Disruption("supply:mask/m@JPN"),), horizon=0))
    assert _row(ev, "wafer")["steady"] == pytest.approx(0.6 + 0.4 * 0.4)


def test_stocks_and_ties_follow_the_captive_shop(tmp_path):
    """Ten days of stock everywhere. f's masks come from its own shop's stock, f's alone:
    they run out on day 10, and from then the wafer's own 10 days cover its gap of 0.6 for
    16 days (9.6 days used), so the wafer is first short on day 26 (0.4 + 0.4). The pooled
    world figure of the mask lasts 20 days (a gap of 0.5); had f's wafers drawn on it, the
    wafer's stock would have covered the gap of 0.5 from day 20 to day 39."""
    scenario = Scenario((Disruption("supply:mask/f@TWN"),), horizon=45)
    for captive, wafer_short in ((True, 26), (False, 40)):
        model = _masks(tmp_path / str(captive), stock=10, captive=captive)
        ev = evaluate(model, scenario)
        i, w = ev.compiled.index["mask"], ev.compiled.index["wafer"]
        assert ev.time_to_survive[i, 0] == 20
        assert ev.time_to_survive[w, 0] == wafer_short
        ref = simulate_reference(model, scenario)
        assert ref["wafer"]["time_to_survive"] == wafer_short
    assert float(ev.availability[w, 0]) == pytest.approx(0.5)


def test_the_reference_agrees_on_the_hand_case(tmp_path):
    model = _masks(tmp_path, stock=5, qualify=15)
    scenario = Scenario((Disruption("TWN"),), horizon=40)
    ev = evaluate(model, scenario)
    for tied in (False, True):
        ref = simulate_reference(model, scenario, tied=tied)
        got = ev.availability_tied if tied else ev.availability
        for comp, i in ev.compiled.index.items():
            assert float(got[i, 0]) == pytest.approx(ref[comp]["availability"], abs=1e-12)


# -- properties ----------------------------------------------------------------------------

def _unmarked(tables):
    t = copy.deepcopy(tables)
    for row in t["supply"]:
        row.pop("captive", None)
    return t


@settings(max_examples=30, **SETTINGS)
@given(tables=random_tables(tied=True), disruptions=scenarios())
def test_no_captive_rows_is_exactly_as_before(tmp_path_factory, tables, disruptions):
    """A dataset with a captive column of only false values gives bit-identical results to
    the same dataset without the column."""
    plain = _load(tmp_path_factory, _unmarked(tables))
    falses = copy.deepcopy(tables)
    for row in falses["supply"]:
        row["captive"] = "false"
    marked = _load(tmp_path_factory, falses)
    ds = _valid(plain, disruptions)
    a, b = evaluate(plain, Scenario(ds, horizon=30)), evaluate(marked, Scenario(ds, horizon=30))
    for name in ("availability", "availability_high", "availability_tied", "steady_state",
                 "lost_days", "tied_lost_days", "exposed_share", "output"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(tied=True, captive=True), data=st.data())
def test_a_captive_rows_loss_reaches_only_its_own_firms_rows(tmp_path_factory, tables, data):
    """An outage of a captive row of firm F leaves every component full in every reading,
    except the row's component and what lies downstream of a row of F that needs it."""
    captive = [r for r in tables["supply"] if r.get("captive") == "true"]
    if not captive:
        return
    row = data.draw(st.sampled_from(captive))
    model = _load(tmp_path_factory, tables)
    m, firm = row["component"], row["supplier"]
    ev = evaluate(model, Scenario((Disruption(f"supply:{m}/{firm}@{row['site']}"),),
                                  horizon=30))
    firm_rows = {r["component"] for r in tables["supply"] if r["supplier"] == firm}
    takers = {r["component"] for r in tables["requires"]
              if r["input"] == m and r["component"] in firm_rows}
    reach = {m} | takers
    changed = True
    while changed:  # everything downstream of them
        more = {r["component"] for r in tables["requires"] if r["input"] in reach}
        changed = not more <= reach
        reach |= more
    for comp, i in ev.compiled.index.items():
        if comp in reach:
            continue
        for name in ("steady_state", "availability", "availability_high",
                     "availability_tied"):
            assert float(getattr(ev, name)[i, 0]) == 1.0, (comp, name)


# -- the bundled dataset: EUV masks from the chipmakers' own shops ---------------------------

def _unmarked_bundled(tmp_path):
    """The bundled dataset with its captive marks removed (every reading pools the rows)."""
    import shutil

    import pandas as pd

    from semigraph.model.model import default_dataset_path

    folder = tmp_path / "pooled"
    shutil.copytree(default_dataset_path(), folder)
    sup = pd.read_csv(folder / "supply.csv", dtype=str, keep_default_na=False)
    sup["captive"] = ""
    sup.to_csv(folder / "supply.csv", index=False)
    return semigraph.load(folder)


def _leading_edge(model, *cuts):
    ev = evaluate(model, Scenario(tuple(Disruption(x) for x in cuts), horizon=0),
                  timeline=False)
    return float(ev.steady_state[ev.compiled.index["logic-leading-edge"], 0])


def test_bundled_euv_masks_are_the_chipmakers_own(bundled):
    captive = bundled.supply[bundled.supply["captive"].fillna(False).astype(bool)]
    assert set(zip(captive["component"], captive["supplier"])) == {
        ("photomask-euv", "tsmc"), ("photomask-euv", "samsung"), ("photomask-euv", "intel")}
    # TSMC's own shop stops: TSMC's 0.83 of leading-edge logic loses its masks, Samsung's
    # 0.13 and Intel's 0.04 keep theirs (pooled, every row would keep 0.45 of its masks)
    assert _leading_edge(bundled, "supply:photomask-euv/tsmc@TWN") == pytest.approx(0.17)


def test_a_taiwan_stop_no_longer_takes_samsungs_or_intels_masks(bundled, tmp_path):
    pooled = _unmarked_bundled(tmp_path)
    assert _leading_edge(pooled, "supply:photomask-euv/tsmc@TWN") == pytest.approx(0.45)
    twn, twn_pooled = _leading_edge(bundled, "TWN"), _leading_edge(pooled, "TWN")
    assert twn > twn_pooled + 0.02  # Samsung's and Intel's rows keep their own masks
    # nobody at the leading edge buys merchant EUV masks: also losing Japan's changes nothing
    # with the marks, and costs every row more without them
    assert _leading_edge(bundled, "TWN", "supply:photomask-euv/JPN@JPN") == pytest.approx(twn)
    assert _leading_edge(pooled, "TWN", "supply:photomask-euv/JPN@JPN") < twn_pooled - 1e-3
    # Samsung's own shop is what Samsung's rows read: losing it too costs at most its 0.13
    both = _leading_edge(bundled, "TWN", "supply:photomask-euv/samsung@KOR")
    assert twn - 0.13 - 1e-9 <= both < twn - 0.02
