"""The tied reading: hand-computed cases, the plain reference on random graphs, properties."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.engine.propagation import evaluate
from semigraph.engine.reference import simulate_reference
from semigraph.engine.scenario import Disruption, Override, Scenario
from semigraph.engine.whatif import timeline
from tests.datasets import base_tables, random_tables, write_dataset
from tests.test_propagation import SETTINGS, _load, _valid, scenarios


def _two_rows(tmp_path, *, stock=10, low=None, qualify=20):
    """part: firm a @JPN 0.3, firm b @USA 0.7; stock ``stock`` days (thinnest ``low``)."""
    t = base_tables()
    t["firms"] = [{"id": f, "name": f.upper(), "hq": "JPN"} for f in ("a", "b")]
    t["components"] = [{"id": "part", "name": "Part", "kind": "chip", "stage": "front_end",
                        "stock_days": stock, "stock_days_min": low, "qualify_days": qualify,
                        "source": "src"}]
    t["supply"] = [{"component": "part", "supplier": "a", "site": "JPN", "share": 0.3,
                    "source": "src"},
                   {"component": "part", "supplier": "b", "site": "USA", "share": 0.7,
                    "source": "src"}]
    return semigraph.load(write_dataset(tmp_path, t))


def _run(model, *cuts, horizon=60, perspective=None):
    return evaluate(model, Scenario(tuple(cuts), horizon=horizon, perspective=perspective),
                    series=True)


def test_spread_sends_the_thinnest_tied_buyers_short_first(tmp_path):
    # a's buyers (0.3 of demand) hold 5.2, 7.6, 10, 12.4, 14.8 days (4..16 around 10); the
    # thinnest runs out on day 5 (0.2 of a day left): 0.7 + 0.3 x (0.2 + 4) / 5 = 0.952.
    # Pooled, everyone's 10 days cover a gap of 0.3 for 33 days.
    ev = _run(_two_rows(tmp_path, low=4), Disruption("a"))
    i = ev.compiled.index["part"]
    tied = timeline(ev, reading="tied")["part"]
    assert int(ev.tied_short_from_day[i, 0]) == 5 and int(ev.time_to_survive[i, 0]) == 33
    assert tied[4] == 1.0 and tied[5] == pytest.approx(0.7 + 0.3 * 4.2 / 5)
    assert tied[15] == pytest.approx(0.7) and ev.availability_tied[i, 0] == pytest.approx(0.7)
    assert ev.exposed_share[i, 0] == pytest.approx(0.3)
    assert ev.output[2, i, 0] == pytest.approx(0.7)  # production does not wait for stocks


def test_groups_pool_their_stock_on_the_day_buyers_have_qualified(tmp_path):
    # qualified on day 6: a's buyers kept 0, 1.6, 4, 6.4, 8.8 days, b's 10 each:
    # 0.3 x 4.16 + 0.7 x 10 = 8.248 days pooled, which cover a gap of 0.3 for 27.49 days
    ev = _run(_two_rows(tmp_path, low=4, qualify=6), Disruption("a"))
    tied = timeline(ev, reading="tied")["part"]
    assert tied[5] == pytest.approx(0.952)
    assert (tied[6:33] == 1.0).all()
    assert tied[33] == pytest.approx(0.7 + (8.248 - 27 * 0.3))
    assert tied[34] == pytest.approx(0.7)


def test_without_spread_or_qualification_tied_is_pooled(tmp_path):
    for low, qualify in ((None, 0), (4, 0)):
        ev = _run(_two_rows(tmp_path / f"{low}-{qualify}", low=low, qualify=qualify),
                  Disruption("a"))
        assert np.array_equal(ev.availability_tied, ev.availability)
        assert np.array_equal(ev.tied_short_from_day, ev.time_to_survive)


def test_a_maker_chain_carries_the_tie_to_the_packaged_part(tmp_path):
    # chip has no rows: its buyers are tied to the die's makers. Die row a (0.3) stops; the
    # die holds no stock, the chip 10 days: a's chip buyers run dry on day 10, while pooled
    # the 10 days cover the 0.3 gap for 33 days.
    t = base_tables()
    t["firms"] = [{"id": f, "name": f.upper(), "hq": "JPN"} for f in ("a", "b")]
    t["components"] = [
        {"id": "die", "name": "Die", "kind": "chip", "stage": "front_end", "stock_days": 0,
         "qualify_days": 100, "source": "src"},
        {"id": "chip", "name": "Chip", "kind": "chip", "stage": "back_end", "stock_days": 10,
         "source": "src"},
        {"id": "car", "name": "Car", "kind": "end_product", "stage": "end_use",
         "stock_days": 0, "source": "src"}]
    t["supply"] = [{"component": "die", "supplier": f, "site": s, "share": v, "source": "src"}
                   for f, s, v in (("a", "JPN", 0.3), ("b", "USA", 0.7))]
    t["requires"] = [{"component": "chip", "input": "die", "maker": "true", "source": "src"},
                     {"component": "car", "input": "chip", "source": "src"}]
    model = semigraph.load(write_dataset(tmp_path, t))
    ev = _run(model, Disruption("a"))
    idx = ev.compiled.index
    assert int(ev.tied_short_from_day[idx["chip"], 0]) == 10  # qualify_days: the die's
    assert int(ev.time_to_survive[idx["chip"], 0]) == 33
    assert ev.availability_tied[idx["car"], 0] == pytest.approx(0.7)
    # the car's lowest month: tied, days 10-39 at 0.7; pooled, the chip's stock lasts to day 33
    assert ev.output[2, idx["car"], 0] == pytest.approx(0.7)
    assert ev.output[0, idx["car"], 0] == pytest.approx((2 + 0.8 + 27 * 0.7) / 30)  # days 31-60
    ref = simulate_reference(model, Scenario((Disruption("a"),), horizon=60), tied=True)
    assert ref["chip"]["time_to_survive"] == 10


def test_own_inputs_a_firm_draws_on_its_own_dies(tmp_path):
    # part rows: x 0.5, y 0.5; die rows: x 0.5, z 0.5. The die of x stops: x's part buyers
    # lose everything, y's draw on z's dies and keep all; the tied output is 0.5
    t = base_tables()
    t["firms"] = [{"id": f, "name": f.upper(), "hq": "JPN"} for f in ("x", "y", "z")]
    t["components"] = [
        {"id": "die", "name": "Die", "kind": "chip", "stage": "front_end", "stock_days": 0,
         "qualify_days": 100, "source": "src"},
        {"id": "part", "name": "Part", "kind": "chip", "stage": "end_use", "stock_days": 20,
         "qualify_days": 100, "source": "src"}]
    t["supply"] = [{"component": c, "supplier": f, "site": "JPN" if f == "x" else "USA",
                    "share": 0.5, "source": "src"}
                   for c, f in (("die", "x"), ("die", "z"), ("part", "x"), ("part", "y"))]
    t["requires"] = [{"component": "part", "input": "die", "maker": "true", "source": "src"}]
    model = semigraph.load(write_dataset(tmp_path, t))
    ev = _run(model, Disruption("supply:die/x@JPN"))
    i = ev.compiled.index["part"]
    tied = timeline(ev, reading="tied")["part"]
    assert tied[19] == 1.0 and tied[20] == pytest.approx(0.5)  # x's buyers' 20 days
    assert ev.exposed_share[i, 0] == pytest.approx(0.5)
    # pooled, both part rows share the die pool at 0.5: the 20 days last 40
    assert int(ev.time_to_survive[i, 0]) == 40


def test_export_stop_with_consumption_ties_the_rest_to_the_stopping_country(tmp_path):
    # CHN makes 0.98 and uses 0.8: outside it, 0.02 / 0.2 = 0.1 comes from the USA row and
    # 0.9 from China's net exports, one group. That group's 10 days run out on day 10;
    # pooled, 10 days cover a gap of 0.9 for 11.1 days.
    t = base_tables()
    t["components"] = [{"id": "gallium", "name": "Gallium", "kind": "raw_material",
                        "stage": "materials_equipment", "stock_days": 10, "qualify_days": 90,
                        "source": "src"}]
    t["supply"] = [{"component": "gallium", "supplier": x, "site": x, "share": v,
                    "source": "src"} for x, v in (("CHN", 0.98), ("USA", 0.02))]
    t["consumption"] = [{"component": "gallium", "country": "CHN", "share": 0.8,
                         "source": "src"}]
    ev = _run(semigraph.load(write_dataset(tmp_path, t)), Disruption("CHN"))
    i = ev.compiled.index["gallium"]
    assert int(ev.tied_short_from_day[i, 0]) == 10 and int(ev.time_to_survive[i, 0]) == 11
    assert ev.availability_tied[i, 0] == pytest.approx(0.1)
    assert ev.exposed_share[i, 0] == pytest.approx(0.9)


def test_an_episode_override_changes_only_its_own_run(tmp_path):
    model = _two_rows(tmp_path, low=4)
    thin = Scenario((Disruption("a"),), horizon=60,
                    overrides=(Override("part", (("stock_days", 2.0),), "src"),))
    i = 0
    ev = evaluate(model, thin)
    assert int(ev.tied_short_from_day[i, 0]) == 2  # no spread below the new normal
    assert int(evaluate(model, thin.with_(overrides=())).tied_short_from_day[i, 0]) == 5
    assert model.components.loc[0, "stock_days"] == 10  # the dataset is left as it was


# -- random graphs: compiled engine == reference ---------------------------------------------

def _compare(model, disruptions, region, horizon):
    scenario = Scenario(disruptions, perspective=region, horizon=horizon)
    ev = evaluate(model, scenario)
    ref = simulate_reference(model, scenario, region, tied=True)
    pooled = simulate_reference(model, scenario, region)
    for comp, i in ev.compiled.index.items():
        r, p = ref[comp], pooled[comp]
        got = {"availability": ev.availability_tied[i, 0],
               "time_to_survive": ev.tied_short_from_day[i, 0],
               "lost_days": ev.tied_lost_days[i, 0], "exposed": ev.exposed_share[i, 0],
               "output": ev.output[2, i, 0], "supply_month": ev.supply_month[2, i, 0],
               "output_short": ev.output_short_from_day[2, i, 0]}
        for key, value in got.items():
            assert float(value) == pytest.approx(r[key], abs=1e-9), (comp, key)
        assert float(ev.output[0, i, 0]) == pytest.approx(p["output"], abs=1e-9), comp
        assert float(ev.supply_month[0, i, 0]) == pytest.approx(p["supply_month"], abs=1e-9)
    return ev


@settings(max_examples=80, **SETTINGS)
@given(tables=random_tables(tied=True), disruptions=scenarios(),
       region=st.sampled_from([None, "USA", "CHN", "EU27"]), horizon=st.integers(0, 50))
def test_compiled_tied_agrees_with_reference(tmp_path_factory, tables, disruptions, region,
                                             horizon):
    model = _load(tmp_path_factory, tables)
    _compare(model, _valid(model, disruptions), region, horizon)


@settings(max_examples=80, **SETTINGS)
@given(tables=random_tables(tied=True, captive=True), disruptions=scenarios(),
       region=st.sampled_from([None, "USA", "CHN", "EU27"]), horizon=st.integers(0, 50))
def test_compiled_tied_agrees_with_reference_with_captive_rows(tmp_path_factory, tables,
                                                               disruptions, region, horizon):
    model = _load(tmp_path_factory, tables)
    _compare(model, _valid(model, disruptions), region, horizon)


@settings(max_examples=25, **SETTINGS)
@given(tables=random_tables(tied=True), disruptions=scenarios(),
       stock=st.sampled_from([1, 3, 12]))
def test_with_an_episode_override(tmp_path_factory, tables, disruptions, stock):
    model = _load(tmp_path_factory, tables)
    override = Override(tables["components"][0]["id"], (("stock_days", float(stock)),
                                                        ("qualify_days", 9.0)), "src")
    scenario = Scenario(_valid(model, disruptions), horizon=30, overrides=(override,))
    ev = evaluate(model, scenario)
    ref = simulate_reference(model, scenario, tied=True)
    for comp, i in ev.compiled.index.items():
        assert float(ev.availability_tied[i, 0]) == pytest.approx(ref[comp]["availability"],
                                                                  abs=1e-9)


def _single_rows(tables):
    """Each component keeps one supply row, of share 1; no stock spread."""
    t = copy.deepcopy(tables)
    seen, rows = set(), []
    for row in t["supply"]:
        if row["component"] not in seen:
            seen.add(row["component"])
            rows.append({**row, "share": 1.0})
    t["supply"] = rows
    for c in t["components"]:
        c["stock_days_min"] = None
    return t


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(tied=True), disruptions=scenarios(),
       region=st.sampled_from([None, "USA", "EU27"]))
def test_one_row_of_share_one_without_spread_is_pooled(tmp_path_factory, tables, disruptions,
                                                       region):
    model = _load(tmp_path_factory, _single_rows(tables))
    ev = evaluate(model, Scenario(_valid(model, disruptions), perspective=region, horizon=40))
    assert np.allclose(ev.availability_tied, ev.availability, atol=1e-12)
    assert np.array_equal(ev.tied_short_from_day, ev.time_to_survive)


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(tied=True), disruptions=scenarios())
def test_no_qualification_time_is_pooled(tmp_path_factory, tables, disruptions):
    t = copy.deepcopy(tables)
    for c in t["components"]:
        c["qualify_days"] = 0
    model = _load(tmp_path_factory, t)
    ev = evaluate(model, Scenario(_valid(model, disruptions), horizon=40))
    assert np.array_equal(ev.availability_tied, ev.availability)
    assert np.array_equal(ev.tied_lost_days, ev.lost_days)


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(tied=True), disruptions=scenarios(),
       extra=st.sampled_from([1, 5, 30]))
def test_more_stock_never_lowers_the_tied_reading(tmp_path_factory, tables, disruptions,
                                                  extra):
    more = copy.deepcopy(tables)
    for c in more["components"]:
        c["stock_days"] = (c["stock_days"] or 0) + extra
        if c.get("stock_days_min") is not None:
            c["stock_days_min"] += extra
    a, b = _load(tmp_path_factory, tables), _load(tmp_path_factory, more)
    ds = _valid(a, disruptions)
    lo = evaluate(a, Scenario(ds, horizon=40))
    hi = evaluate(b, Scenario(ds, horizon=40))
    assert (hi.availability_tied >= lo.availability_tied - 1e-12).all()
    assert (hi.tied_lost_days <= lo.tied_lost_days + 1e-9).all()


def test_the_api_gives_the_tied_timeline(tmp_path):
    res = _two_rows(tmp_path, low=4).whatif("a", mode="outage", horizon=40)
    tied = res.timeline_tied["part"]
    assert tied.min() == pytest.approx(res.table.set_index("component").at["part",
                                                                           "availability_tied"])
    assert tied[5] == pytest.approx(0.952) and res.timeline["part"][5] == 1.0


def test_timelines_give_every_reading_day_by_day(tmp_path):
    from click.testing import CliRunner

    from semigraph.cli import cli

    model = _two_rows(tmp_path / "ds", low=4)
    res = model.whatif("a", mode="outage", horizon=40)
    daily = res.timelines().table
    assert list(daily.columns) == ["day", "component", "reading", "supply"]
    assert list(daily["reading"].unique()) == ["pooled", "high", "tied"]
    part = daily[daily["component"] == "part"].set_index(["reading", "day"])["supply"]
    assert part[("tied", 5)] == pytest.approx(0.952) and part[("pooled", 5)] == 1.0
    assert part["tied"].min() == pytest.approx(
        res.table.set_index("component").at["part", "availability_tied"])
    out = tmp_path / "days.csv"
    result = CliRunner().invoke(cli, ["whatif", "--cut", "a", "--mode", "outage", "--horizon",
                                      "40", "--timeline", "--dataset", str(tmp_path / "ds"),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert len(written) == len(daily) == 3 * 41  # one component short, three readings
    with pytest.raises(semigraph.UnknownUnitError):
        res.timelines(["nothing"])


@settings(max_examples=25, **SETTINGS)
@given(tables=random_tables(tied=True), batch=st.lists(scenarios(), min_size=2, max_size=3),
       step=st.sampled_from([1, 7]))
def test_a_batch_gives_each_scenario_its_tied_reading_alone(tmp_path_factory, tables, batch,
                                                            step):
    # the tied reading's columns are independent: a batch, as sweeps run them, gives every
    # scenario what it gets alone (in steps of several days, every scenario's events cut
    # the steps of the batch: there a batch gives what the same batch in reverse gives)
    model = _load(tmp_path_factory, tables)
    scens = [Scenario(tuple(_valid(model, ds)), horizon=40) for ds in batch]
    together = evaluate(model, scens, step=step)
    reverse = evaluate(model, scens[::-1], step=step)
    for j, s in enumerate(scens):
        others = [(reverse, len(scens) - 1 - j)]
        if step == 1:
            others.append((evaluate(model, s), 0))
        for ev, i in others:
            for field in ("availability_tied", "tied_short_from_day", "tied_lost_days",
                          "exposed_share"):
                assert getattr(together, field)[:, j].tolist() == pytest.approx(
                    getattr(ev, field)[:, i].tolist(), abs=1e-12), field
            assert together.output[2, :, j].tolist() == pytest.approx(
                ev.output[2, :, i].tolist(), abs=1e-12)
