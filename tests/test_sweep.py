"""Scenario sweeps: batches against one scenario at a time, the stepped simulation against the
daily one, streaming, Monte Carlo, Dask, and the validation cache."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.cli import cli
from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.engine.sweep import plan_sweep, sweep_units
from tests.datasets import random_tables, small_tables, write_dataset
from tests.test_propagation import SETTINGS, _load, _valid, scenarios

FIELDS = ["availability", "availability_high", "availability_tied", "steady_state",
          "lost_days", "exposed_share"]


def _one_at_a_time(net, units, *, step=1, measure="headline", horizon=365):
    """The straightforward reference: each scenario evaluated alone."""
    rows = []
    for unit in units:
        scenario = Scenario((Disruption(unit),), horizon=horizon)
        ev = evaluate(net, scenario, timeline=measure == "headline",
                      bounds=measure == "headline", step=step)
        for cid in sorted(net.components.loc[net.components["stage"] == "end_use", "id"]):
            i = ev.compiled.index[cid]
            rows.append({"scenario": unit, "component": cid,
                         "availability": ev.availability[i, 0],
                         "availability_high": ev.availability_high[i, 0],
                         "availability_tied": ev.availability_tied[i, 0],
                         "exposed_share": ev.exposed_share[i, 0],
                         "steady_state": ev.steady_state[i, 0],
                         "lost_days": ev.lost_days[i, 0],
                         "time_to_survive_days": ev.time_to_survive[i, 0]})
    return pd.DataFrame(rows).set_index(["scenario", "component"]).sort_index()


@pytest.mark.parametrize("step", [1, 7])
def test_country_sweep_equals_one_scenario_at_a_time(step):
    net = semigraph.load()
    units = sweep_units(net, "country")
    got = net.sweep("country", step=step, batch=16).table
    assert len(got) == len(units) * int((net.components["stage"] == "end_use").sum())
    assert list(got["scenario"].unique()) == units  # plan order
    ref = _one_at_a_time(net, units, step=step)
    got = got.set_index(["scenario", "component"]).sort_index()
    assert got.index.equals(ref.index)
    for col in FIELDS:
        assert np.allclose(got[col].to_numpy(float), ref[col].to_numpy(float), atol=1e-9), col
    first = got["time_to_survive_days"].fillna(-1).to_numpy(int)
    assert (first == ref["time_to_survive_days"].to_numpy(int)).all()


def test_pair_sweep_steady_equals_brute_force(small):
    res = small.sweep("country", order=2, measure="steady", all_components=True)
    units = sweep_units(small, "country")
    assert res.table["scenario"].nunique() == math.comb(len(units), 2)
    assert list(res.table.columns) == ["scenario", "component", "steady_state"]
    for pair, rows in res.table.groupby("scenario"):
        a, b = pair.split("+")
        ev = evaluate(small, Scenario((Disruption(a), Disruption(b))), timeline=False)
        for cid, value in zip(rows["component"], rows["steady_state"]):
            assert value == pytest.approx(ev.steady_state[ev.compiled.index[cid], 0], abs=1e-12)


def test_hand_computed_pair(small):
    # CHN and TWN stop exports; seen from the rest of the world, statically: gallium keeps
    # the USA's 0.1, wafers follow it (0.1), chips keep the USA's 0.2 and the rest's 0.1,
    # both limited by wafers: 0.3 x 0.1 = 0.03
    res = small.sweep("country", order=2, targets=["CHN", "TWN"], measure="steady",
                      all_components=True).table.set_index("component")
    assert res.loc["gallium", "steady_state"] == pytest.approx(0.1)
    assert res.loc["chip", "steady_state"] == pytest.approx(0.03)
    assert set(res["scenario"]) == {"CHN+TWN"}


def test_stepped_simulation_is_exact_for_a_directly_hit_component(small):
    # gallium: CHN 90% lost, 30 days of stock, restored on day 200: the stock covers
    # 30 / 0.9 = 33.3 days, so day 33 is the first short day (0.1 + 0.3 = 0.4) and gallium
    # is back on day 200 whatever the step
    daily = evaluate(small, Scenario((Disruption("CHN", mode="outage"),)))
    for step in (7, 30):
        ev = evaluate(small, Scenario((Disruption("CHN", mode="outage"),)), step=step)
        i = ev.compiled.index["gallium"]
        assert ev.availability[i, 0] == pytest.approx(0.1)
        assert ev.time_to_survive[i, 0] == daily.time_to_survive[i, 0] == 33
        assert ev.recovery[i, 0] == daily.recovery[i, 0] == 200
        assert ev.lost_days[i, 0] == pytest.approx(daily.lost_days[i, 0], abs=1e-9)
        assert ev.lost_days[i, 0] == pytest.approx(0.9 * (200 - 30 / 0.9), abs=1e-9)


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(), disruptions=scenarios(), step=st.sampled_from([2, 5, 16]),
       region=st.sampled_from([None, "USA", "EU27"]))
def test_stepped_simulation_properties(tmp_path_factory, tables, disruptions, step, region):
    """Steps change when a component sees a change upstream, not the bounds' order: the static
    bound stays below the lowest day, the lower bound below the upper, and a component whose
    own supply is cut (no inputs) gets the daily answer."""
    model = _load(tmp_path_factory, tables)
    scenario = Scenario(_valid(model, disruptions), perspective=region, horizon=60)
    ev = evaluate(model, scenario, step=step)
    daily = evaluate(model, scenario)
    assert (ev.steady_state <= ev.availability + 1e-12).all()
    assert (ev.availability <= ev.availability_high + 1e-12).all()
    assert ((ev.time_to_survive >= 0) == (ev.availability < 0.99)).all()
    assert np.allclose(ev.steady_state, daily.steady_state)
    c = ev.compiled
    for i, groups in enumerate(c.groups):
        if not groups and region is None:  # no inputs: within a step it is exact
            assert ev.availability[i, 0] == pytest.approx(daily.availability[i, 0], abs=1e-9)
            assert ev.lost_days[i, 0] == pytest.approx(daily.lost_days[i, 0], abs=1e-7)


def test_monte_carlo_draws_are_reproducible_and_follow_the_probability(small):
    a = small.sweep("country", monte_carlo=200, probability=0.3, seed=5, measure="steady")
    b = small.sweep("country", monte_carlo=200, probability=0.3, seed=5, measure="steady")
    assert a.table.equals(b.table)
    draws = a.table.drop_duplicates("draw")
    assert list(draws["draw"]) == list(range(200))
    units = sweep_units(small, "country")
    cut = sum(0 if s == "none" else len(s.split("+")) for s in draws["scenario"])
    assert cut / (200 * len(units)) == pytest.approx(0.3, abs=0.05)
    none = small.sweep("country", monte_carlo=5, probability=0.0, measure="steady").table
    assert set(none["scenario"]) == {"none"} and (none["steady_state"] == 1.0).all()
    one = small.sweep("country", monte_carlo=3, probability={"CHN": 1.0},
                      measure="steady").table
    assert set(one["scenario"]) == {"CHN"}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streamed_file_equals_the_table(small, tmp_path, suffix):
    whole = small.sweep("country", all_components=True, horizon=60).table
    out = tmp_path / f"sweep{suffix}"
    res = small.sweep("country", all_components=True, horizon=60, output=out, batch=2)
    assert res.meta["rows"] == len(whole)
    got = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert list(got["scenario"]) == list(whole["scenario"])
    assert np.allclose(got["availability"], whole["availability"])
    assert got["time_to_survive_days"].isna().sum() == whole["time_to_survive_days"].isna().sum()
    if suffix == ".parquet":
        assert semigraph.read_result_meta(out)["analysis"] == "sweep"
    assert res.summary["scenario"].nunique() == whole["scenario"].nunique()
    with pytest.raises(semigraph.SemigraphError, match="exists"):
        small.sweep("country", output=out)


def test_failed_sweep_leaves_no_file(small, tmp_path, monkeypatch):
    out = tmp_path / "out" / "never.parquet"
    out.parent.mkdir()
    with pytest.raises(semigraph.UnknownUnitError, match="TWN"):
        small.sweep("country", targets=["TWM"], output=out)
    from semigraph.engine import sweep as sw

    real = sw.evaluate_batch

    def failing(model, plan, cuts, numbers):  # a later batch fails after the first was written
        if numbers[0] > 0:
            raise MemoryError("out of memory")
        return real(model, plan, cuts, numbers)

    monkeypatch.setattr(sw, "evaluate_batch", failing)
    with pytest.raises(MemoryError):
        small.sweep("country", output=out, batch=2)
    assert not list(out.parent.iterdir())


def test_sweep_command(small_path, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["sweep", "--targets", "CHN,TWN", "--measure", "steady",
                              "--dataset", str(small_path)])
    assert res.exit_code == 0, res.output
    assert "CHN" in res.output and "lowest_component" in res.output
    # the file it writes is the API's table: test_api.test_sweep_command_is_the_api_call
    for args, message in ((["--targets", "TWM"], "TWN"),
                          (["--level", "component", "--mode", "export"], "outage"),
                          (["--monte-carlo", "3", "--probabilities", str(tmp_path / "no.csv")],
                           "no.csv")):
        res = runner.invoke(cli, ["sweep", *args, "--dataset", str(small_path)])
        assert res.exit_code == 2 and message in res.output, res.output
    probs = tmp_path / "p.csv"
    probs.write_text("unit,probability\nCHN,0.5\nTWN,1.5\n")
    res = runner.invoke(cli, ["sweep", "--monte-carlo", "3", "--probabilities", str(probs),
                              "--dataset", str(small_path)])
    assert res.exit_code == 2 and "row 3, column probability" in res.output


def test_dask_cluster_gives_the_in_process_table(small):
    pytest.importorskip("distributed")
    local = small.sweep("country", order=2, all_components=True, horizon=90, batch=3).table
    remote = small.sweep("country", order=2, all_components=True, horizon=90, batch=3,
                         workers=2).table
    pd.testing.assert_frame_equal(local, remote)


def test_plan_refuses_what_it_cannot_do(small):
    with pytest.raises(semigraph.ScenarioError, match="order 9"):
        plan_sweep(small, order=9)
    with pytest.raises(semigraph.ScenarioError, match="unknown level"):
        plan_sweep(small, level="planet")
    with pytest.raises(semigraph.ScenarioError, match="not a country unit"):
        plan_sweep(small, targets=["asml"])


# --- the validation cache -------------------------------------------------------------------

def test_cache_hit_gives_the_same_model(tmp_path, monkeypatch):
    data = write_dataset(tmp_path / "d", small_tables())
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    first = semigraph.load(data)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    second = semigraph.load(data)
    for name in ("countries", "firms", "components", "supply", "consumption", "requires",
                 "sources"):
        a, b = getattr(first, name), getattr(second, name)
        pd.testing.assert_frame_equal(a, b)
    assert first.warnings == second.warnings and first.meta == second.meta
    # an edited file misses the cache, and its error is reported as always
    supply = data / "supply.csv"
    supply.write_text(supply.read_text().replace("0.6", "0.6x"))
    with pytest.raises(semigraph.DatasetError, match=r"supply\.csv, row"):
        semigraph.load(data)


def test_changed_validator_code_misses_the_cache(tmp_path, monkeypatch):
    from semigraph.model import cache

    data = write_dataset(tmp_path / "d", small_tables())
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    code = tmp_path / "code"
    for name in cache._CODE:
        (code / name).parent.mkdir(parents=True, exist_ok=True)
        (code / name).write_bytes((cache._PACKAGE / name).read_bytes())
    monkeypatch.setattr(cache, "_PACKAGE", code)
    before = cache.dataset_key(data)
    (code / "model" / "validate.py").write_text("# a new rule\n", encoding="utf-8")
    assert cache.dataset_key(data) not in (None, before)
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", "off")
    assert cache.dataset_key(data) is None  # off: the files are not even hashed


def test_cache_off_and_broken_entries(tmp_path, monkeypatch):
    data = write_dataset(tmp_path / "d", small_tables())
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    semigraph.load(data)
    assert not (tmp_path / "xdg").exists()  # off: nothing written, not even the default
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    semigraph.load(data)
    (entry,) = (tmp_path / "cache").iterdir()
    (entry / "supply.parquet").write_bytes(b"not parquet")
    assert len(semigraph.load(data).supply) == 8  # a broken entry is a miss
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(blocked / "sub"))
    assert len(semigraph.load(data).supply) == 8  # an unwritable cache is skipped
    assert not os.path.exists(blocked / "sub")


def test_summary_is_the_long_table_grouped(small):
    res = small.sweep("country", order=2, all_components=True, horizon=120)
    t = res.table
    worst = t.sort_values(["scenario", "availability", "component"]).groupby("scenario").head(1)
    expected = pd.DataFrame({
        "scenario": worst["scenario"].to_numpy(),
        "lowest": worst["availability"].to_numpy(),
        "lowest_component": worst["component"].to_numpy(),
    }).set_index("scenario")
    got = res.summary.set_index("scenario")
    assert sorted(got.index) == sorted(expected.index)
    assert np.allclose(got.loc[expected.index, "lowest"], expected["lowest"])
    assert (got.loc[expected.index, "lowest_component"] == expected["lowest_component"]).all()
    short = t.assign(s=t["availability"] < 0.99).groupby("scenario")["s"].sum()
    assert (got["components_short"] == short.reindex(got.index)).all()
    lost = t.groupby("scenario")["lost_days"].sum()
    assert np.allclose(got["lost_days"], lost.reindex(got.index))
    tied = t.groupby("scenario", observed=True)["availability_tied"].min()
    assert np.allclose(got["lowest_tied"], tied.reindex(got.index))
    short_tied = t.assign(s=t["availability_tied"] < 0.99).groupby("scenario")["s"].sum()
    assert (got["components_short_tied"] == short_tied.reindex(got.index)).all()
    assert list(got["lowest"]) == sorted(got["lowest"])  # worst first


def test_progress_announces_the_scenarios_then_counts_them(small):
    calls = []
    small.sweep("country", order=2, measure="steady", batch=4,
                progress=lambda done, more=0: calls.append((done, more)))
    assert calls[0] == (0, 15)  # 6 countries: 15 pairs
    assert sum(done for done, _ in calls) == 15 and all(m == 0 for _, m in calls[1:])


def test_worker_processes_follow_the_environment(monkeypatch):
    """SEMIGRAPH_PROCESSES sets how many worker processes split work (never more than its
    parts); a bad value leaves the default; an explicit number wins."""
    from semigraph.engine import workers

    monkeypatch.setattr(workers.os, "cpu_count", lambda: 8)
    monkeypatch.delenv("SEMIGRAPH_PROCESSES", raising=False)
    assert workers.processes_for(None, 100) == workers.MAX_DEFAULT
    monkeypatch.setenv("SEMIGRAPH_PROCESSES", "1")
    assert workers.processes_for(None, 100) == 1
    monkeypatch.setenv("SEMIGRAPH_PROCESSES", "3")
    assert workers.processes_for(None, 100) == 3
    assert workers.processes_for(None, 2) == 2
    assert workers.processes_for(2, 100) == 2
    for bad in ("0", "-2", "many", ""):
        monkeypatch.setenv("SEMIGRAPH_PROCESSES", bad)
        assert workers.processes_for(None, 100) == workers.MAX_DEFAULT
