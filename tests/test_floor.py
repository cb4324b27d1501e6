"""The floor under the lowest day (engine README 4.7) against the day-by-day simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.engine.compiled import compile_model
from semigraph.engine.floor import lowest_day_floor
from semigraph.engine.propagation import evaluate, resolve
from semigraph.engine.scenario import Disruption, Scenario
from tests.datasets import random_tables, write_dataset
from tests.test_propagation import _valid, scenarios


def _floor(model, scenario_list, horizon, world=True):
    c = compile_model(model)
    batch = [[resolve(model, c, d) for d in s.disruptions] for s in scenario_list]
    return lowest_day_floor(model, batch, horizon, world=world)


def test_small_hand_computed(small):
    # JPN stops its wafers: 0.4 left, a 0.6 gap a day against 10 days of stock, never
    # restored: covered through day 10 of a 10-day horizon (4 days left), gone by day 30
    i = compile_model(small).index
    jpn = [Scenario((Disruption("JPN"),))]
    assert _floor(small, jpn, 10)[i["wafer"], 0] == 1.0
    assert _floor(small, jpn, 30)[i["wafer"], 0] == pytest.approx(0.4)
    # CHN stops gallium: 0.1 left, 30 days of stock at 0.9 a day, restored on day 200:
    # covered to day 33, so full within 30 days; 0.1 within 40 days, and still within 250
    # (the stock is gone long before the supply returns)
    chn = [Scenario((Disruption("CHN"),))]
    assert _floor(small, chn, 30)[i["gallium"], 0] == 1.0
    assert _floor(small, chn, 40)[i["gallium"], 0] == pytest.approx(0.1)
    assert _floor(small, chn, 250)[i["gallium"], 0] == pytest.approx(0.1)
    # each equals the simulation's lowest day here
    for scen, h, comp in ((jpn, 10, "wafer"), (jpn, 30, "wafer"), (chn, 30, "gallium"),
                          (chn, 40, "gallium")):
        ev = evaluate(small, Scenario(scen[0].disruptions, horizon=h), bounds=False,
                      tied=False)
        assert _floor(small, scen, h)[i[comp], 0] == pytest.approx(ev.availability[i[comp], 0])


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(captive=True),
       disruptions=st.lists(scenarios(), min_size=1, max_size=3),
       horizon=st.sampled_from([0, 1, 7, 30, 45, 200]))
def test_floor_is_never_above_the_lowest_day(tmp_path_factory, tables, disruptions, horizon):
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("d"), tables))
    batch = [Scenario(_valid(model, ds), horizon=horizon) for ds in disruptions]
    ev = evaluate(model, batch, bounds=False, tied=False)
    floor = _floor(model, batch, horizon)
    assert floor.shape == ev.availability.shape
    assert (floor >= -1e-12).all() and (floor <= 1.0).all()
    # a lower bound of the simulation, never below the static bound it refines
    assert (floor <= ev.availability + 1e-9).all(), np.argwhere(floor > ev.availability + 1e-9)
    assert (floor >= ev.steady_state - 1e-9).all()
    assert (_floor(model, batch, horizon + 30) <= floor + 1e-9).all()  # longer: never higher
