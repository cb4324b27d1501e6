"""Stockpile ranking on a graph whose answer is plain by hand."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import semigraph
from semigraph.cli import cli
from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.findings.stockpile import default_scenarios, stockpile
from tests.datasets import base_tables, write_dataset


def gadget_tables():
    """gadget needs rare (CHN only), common (CHN 10%, USA 90%), quick and bulky.

    rare and common: 10 days of stock, 200 days to restore: both candidates; a CHN cut
    empties rare (gadget lost), a USA cut leaves 10% of common. quick restores within its
    stock; bulky cannot be stored.
    """
    t = base_tables()
    t["firms"] = []
    comp = {"kind": "material", "stage": "materials_equipment", "source": "src"}
    t["components"] = [
        {**comp, "id": "rare", "name": "Rare", "stock_days": 10, "ttr_days": 200,
         "storable": "true", "unit": "kg", "unit_value_eur": 2, "demand_per_year": 365},
        {**comp, "id": "common", "name": "Common", "stock_days": 10, "ttr_days": 200,
         "storable": "true"},
        {**comp, "id": "quick", "name": "Quick", "stock_days": 30, "ttr_days": 5,
         "storable": "true"},
        {**comp, "id": "bulky", "name": "Bulky", "stock_days": 0, "ttr_days": 300,
         "storable": "false"},
        {"id": "gadget", "name": "Gadget", "kind": "end_product", "stage": "end_use",
         "stock_days": 0, "storable": "true", "source": "src"},
    ]
    t["supply"] = [
        {"component": "rare", "supplier": "CHN", "site": "CHN", "share": 1.0, "source": "src"},
        {"component": "common", "supplier": "CHN", "site": "CHN", "share": 0.1,
         "source": "src"},
        {"component": "common", "supplier": "USA", "site": "USA", "share": 0.9,
         "source": "src"},
        {"component": "quick", "supplier": "CHN", "site": "CHN", "share": 1.0, "source": "src"},
        {"component": "bulky", "supplier": "CHN", "site": "CHN", "share": 1.0, "source": "src"},
    ]
    t["requires"] = [{"component": "gadget", "input": i, "source": "src"}
                     for i in ("rare", "common", "quick", "bulky")]
    return t


@pytest.fixture
def gadget_path(tmp_path):
    return write_dataset(tmp_path / "gadget", gadget_tables())


def test_ranking_by_hand(gadget_path):
    model = semigraph.load(gadget_path)
    assert [s.label for s in default_scenarios(model)] == ["CHN cut", "USA cut"]
    f = stockpile(model)
    assert f["component"].tolist() == ["rare", "common"]  # not quick, bulky or gadget
    rare, common = f.iloc[0], f.iloc[1]
    # rare: stock lasts days 0-9, short from day 10 until supply returns on day 200
    assert (rare["worst_scenario"], rare["time_to_survive_days"], rare["exposed_days"]) == \
        ("CHN cut", 10, 190)
    assert rare["product_loss"] == pytest.approx(1.0)
    assert rare["score"] == pytest.approx(190)
    assert rare["extra_stock_days"] == 190
    assert rare["extra_stock_units"] == pytest.approx(190)  # a kg a day
    assert rare["cost_eur"] == pytest.approx(380)
    assert rare["products_protected"] == ["gadget"]
    # common: a USA cut leaves 10%; stock covers 0.9 a day for 11 days
    assert (common["worst_scenario"], common["time_to_survive_days"]) == ("USA cut", 11)
    assert common["product_loss"] == pytest.approx(0.9)
    assert common["score"] == pytest.approx(0.9 * 189)
    assert common["scenarios"] == ["CHN cut", "USA cut"]
    assert common["cost_eur"] != common["cost_eur"]  # value unknown: NaN
    assert rare["rank"] == 1 and "Method" in f.attrs["notes"][0]


def test_given_scenarios_and_perspective(gadget_path):
    model = semigraph.load(gadget_path)
    ban = Scenario((Disruption("USA", to=("EU27",)),), horizon=365, title="US ban to EU")
    f = stockpile(model, [ban], perspective="EU27")
    assert f["component"].tolist() == ["common"]
    assert stockpile(model, [ban], perspective="JPN").empty


def test_cli(gadget_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["stockpile", "--dataset", str(gadget_path), "--format", "json"])
    assert out.exit_code == 0
    assert [r["component"] for r in json.loads(out.output)] == ["rare", "common"]
    table = runner.invoke(cli, ["stockpile", "--dataset", str(gadget_path)])
    assert "Method" in table.output and "rare" in table.output


def test_bundled_dataset_candidates():
    model = semigraph.load()
    f = stockpile(model).set_index("component")
    assert {"euv-optics", "photomask", "abf-film"} <= set(f.index)
    # China's export stop leaves the rest of the world half its gallium need, more than the
    # chain's 45% of world use: served first, the chain is not short, so no stockpile case
    assert "gallium" not in f.index
    ev = evaluate(model, Scenario((Disruption("CHN"),), horizon=730))
    g = ev.compiled.index["gallium"]
    assert ev.availability[g, 0] < 0.99 <= ev.availability_high[g, 0] / \
        ev.compiled.chain_share[g]
