"""Cut sets: pruned search against brute force, the MEF fault tree against the numbers."""

from __future__ import annotations

import itertools
import json
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.cli import cli
from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.engine.units import units_at_level
from semigraph.errors import UnknownUnitError
from semigraph.findings.cutsets import ZERO, cut_sets, is_cut
from semigraph.findings.mef import fault_tree, mef_name, to_mef
from tests.datasets import random_tables, write_dataset


def brute_force(model, level, threshold, order, measure="steady", horizon=30):
    """Every set of up to ``order`` units, through the public evaluate(); minimal ones kept.

    ``steady``: every unit lost for everyone, the static bound; ``headline``: the units in
    their default modes, the lowest day of the simulation (lower bound)."""
    units = units_at_level(model, level)
    comps = list(model.components["id"])
    sets = [s for k in range(1, order + 1) for s in itertools.combinations(units, k)]
    mode = "outage" if measure == "steady" else None
    ev = evaluate(model, [Scenario(tuple(Disruption(u, mode=mode) for u in s), horizon=horizon)
                          for s in sets], timeline=measure == "headline", bounds=False)
    values = ev.steady_state if measure == "steady" else ev.availability
    index = ev.compiled.index
    out = {}
    for t in comps:
        cuts = {}
        for b, s in enumerate(sets):
            if level == "component" and t in s:
                continue  # the target is not its own unit
            a = float(values[index[t], b])
            if is_cut(a, threshold) and not any(frozenset(x) < frozenset(s) for x in cuts):
                cuts[s] = a
        out.update({(t, tuple(sorted(s))): a for s, a in cuts.items()})
    return out


def pruned(model, level, threshold, order, measure="steady", horizon=30):
    frame = cut_sets(model, list(model.components["id"]), level=level, threshold=threshold,
                     order=order, measure=measure, horizon=horizon)
    return {(t, tuple(u)): a for t, u, a in zip(frame["target"], frame["units"],
                                                frame["availability"])}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(captive=True),
       level=st.sampled_from(["country", "firm", "site", "component"]),
       threshold=st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0]), order=st.sampled_from([1, 2]))
def test_pruned_search_equals_brute_force(tmp_path_factory, tables, level, threshold, order):
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("d"), tables))
    want = brute_force(model, level, threshold, order)
    got = pruned(model, level, threshold, order)
    assert set(got) == set(want)
    for key, a in want.items():
        assert got[key] == pytest.approx(a, abs=1e-9)
    # minimal: no listed set of a target contains another
    for (t, s), (t2, s2) in itertools.permutations(got, 2):
        assert not (t == t2 and set(s) < set(s2))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(captive=True),
       level=st.sampled_from(["country", "firm", "site", "component"]),
       threshold=st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0]), order=st.sampled_from([1, 2]))
def test_headline_search_equals_brute_force(tmp_path_factory, tables, level, threshold, order):
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("d"), tables))
    want = brute_force(model, level, threshold, order, "headline")
    got = pruned(model, level, threshold, order, "headline")
    assert set(got) == set(want)
    for key, a in want.items():
        assert got[key] == pytest.approx(a, abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(max_components=7), threshold=st.sampled_from([0.0, 0.5, 0.9]))
def test_order_three_equals_brute_force(tmp_path_factory, tables, threshold):
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("d"), tables))
    assert set(pruned(model, "country", threshold, 3)) == \
        set(brute_force(model, "country", threshold, 3))


def test_unpruned_search_agrees_on_the_bundled_dataset():
    model = semigraph.load()
    a = cut_sets(model, ["stage:quantum"], level="country", order=2, measure="steady")
    b = cut_sets(model, ["stage:quantum"], level="country", order=2, prune=False,
                 measure="steady")
    assert a[["target", "units"]].astype(str).values.tolist() == \
        b[["target", "units"]].astype(str).values.tolist()
    assert a.attrs["stats"]["evaluated"] <= b.attrs["stats"]["evaluated"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(captive=True),
       level=st.sampled_from(["country", "firm", "site", "component"]),
       threshold=st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0]), order=st.sampled_from([1, 2]),
       horizon=st.sampled_from([0, 10, 30, 90]))
def test_headline_bounds_change_nothing(tmp_path_factory, tables, level, threshold, order,
                                        horizon):
    """The static bound and the floor only skip simulations: the same sets, the same values
    of every reading, as simulating every candidate set."""
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("d"), tables))
    kw = {"level": level, "threshold": threshold, "order": order, "horizon": horizon}
    targets = list(model.components["id"])
    got = cut_sets(model, targets, **kw)
    want = cut_sets(model, targets, prune=False, **kw)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got.attrs["stats"]["simulated"] <= want.attrs["stats"]["simulated"]


def test_headline_bounds_change_nothing_on_the_bundled_dataset(bundled):
    for targets, order in ((["stage:end_use"], 1),
                           (["euv-scanner", "ion-implanter", "cpu-design"], 2)):
        got = cut_sets(bundled, targets, level="country", order=order)
        want = cut_sets(bundled, targets, level="country", order=order, prune=False)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert len(got) > 0
        # most candidate sets are cleared by a bound: far fewer simulations
        assert 2 * got.attrs["stats"]["simulated"] < want.attrs["stats"]["simulated"]


def test_headline_sets_split_over_worker_processes_change_nothing(bundled, monkeypatch):
    """Day-by-day runs of many sets are split over forked worker processes: every set is a
    column of its own, so the search finds the same sets with the same values of every
    reading, bit for bit, as in one process."""
    from semigraph.engine import workers
    from semigraph.findings import cutsets

    kw = {"level": "country", "order": 1, "prune": False}
    monkeypatch.setattr(cutsets, "PARALLEL_SETS", 10**9)  # one process
    one = cut_sets(bundled, ["stage:end_use"], **kw)
    monkeypatch.setattr(cutsets, "PARALLEL_SETS", 1)  # as many processes as allowed
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 3)
    monkeypatch.delenv("SEMIGRAPH_PROCESSES", raising=False)
    many = cut_sets(bundled, ["stage:end_use"], **kw)
    pd.testing.assert_frame_equal(one, many, check_exact=True)
    assert len(one) > 20


def test_small_hand_computed_headline(small):
    # within 40 days China's stop is covered by stocks (gallium to day 33, wafers to 44);
    # Japan's wafers (40% left, 10 days of stock) and Taiwan's chips (30%, none) are not
    frame = cut_sets(small, ["car"], level="country", horizon=40)
    assert sorted(u[0] for u in frame["units"]) == ["JPN", "TWN"]
    assert cut_sets(small, ["car"], level="country", horizon=60)["units"].map(
        tuple).tolist().count(("CHN",)) == 1


def test_small_hand_computed(small):
    # car: CHN leaves 10% of gallium, TWN 30% of chips, JPN 40% of wafers: all SPOFs.
    frame = cut_sets(small, ["car"], level="country", order=2, measure="steady")
    singles = {u[0] for u, k in zip(frame["units"], frame["order"]) if k == 1}
    assert singles == {"CHN", "JPN", "TWN"}
    pairs = {tuple(u): a for u, k, a in zip(frame["units"], frame["order"],
                                            frame["availability"]) if k == 2}
    # DEU + USA: chip supply 80% (fab@USA lost), wafers 60% of 90% gallium: 0.8 * 0.54
    assert pairs == {("DEU", "USA"): pytest.approx(0.8 * 0.6 * 0.9)}
    # NLD + JPN: wafers 40%, litho-b 50%: chip at exactly 0.4 is a superset of JPN: not listed
    # litho-b keeps an unattributed half, so no set of firms loses chips entirely
    assert cut_sets(small, ["chip"], level="firm", threshold=0, order=2,
                    measure="steady").empty
    half = cut_sets(small, ["chip"], level="firm", threshold=0.6, order=2, measure="steady")
    assert [tuple(u) for u in half["units"]] == [("fab",), ("asml", "nikon")]
    assert half["availability"].tolist() == [pytest.approx(0.1), pytest.approx(0.5)]


def test_targets_stage_and_unknown(small):
    frame = cut_sets(small, ["stage:end_use"], level="country")
    assert set(frame["target"]) == {"car"}
    with pytest.raises(UnknownUnitError, match="did you mean"):
        cut_sets(small, ["chipp"])
    with pytest.raises(UnknownUnitError, match="not a component"):
        cut_sets(small, ["CHN"])


def _holds(formula_el, true_events, gates):
    tag = formula_el.tag
    if tag == "basic-event":
        return formula_el.get("name") in true_events
    if tag == "gate":
        return _holds(gates[formula_el.get("name")], true_events, gates)
    if tag == "constant":
        return formula_el.get("value") == "true"
    parts = [_holds(child, true_events, gates) for child in formula_el]
    return any(parts) if tag == "or" else all(parts)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(), level=st.sampled_from(["country", "firm", "site", "component"]))
def test_mef_fault_tree_is_the_total_loss_problem(tmp_path_factory, tables, level):
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("d"), tables))
    target = list(model.components["id"])[-1]
    root = ET.fromstring(to_mef(model, [target], level=level))
    gates = {g.get("name"): next(c for c in g if c.tag != "label")
             for g in root.iter("define-gate")}
    units = units_at_level(model, level)
    sets = [s for k in range(0, 3) for s in itertools.combinations(units, k)]
    ev = evaluate(model, [Scenario(tuple(Disruption(u, mode="outage") for u in s))
                          for s in sets], timeline=False)
    t = ev.compiled.index[target]
    for b, s in enumerate(sets):
        if level == "component" and target in s:
            continue
        lost = ev.steady_state[t, b] <= ZERO
        assert _holds(gates[mef_name(f"lost-{target}")], {mef_name(u) for u in s}, gates) \
            == lost, s


def test_mef_structure(small):
    xml = to_mef(small, ["chip"], level="firm")
    root = ET.fromstring(xml)
    assert root.tag == "opsa-mef"
    assert [t.get("name") for t in root.iter("define-fault-tree")] == ["loss-of-chip"]
    # chip supply leaves 10% unattributed, so no set of firms loses chips entirely
    assert not list(root.iter("define-basic-event"))
    assert root.find("./define-fault-tree/define-gate/constant").get("value") == "false"
    gates, events = fault_tree(small, "car", level="country")
    assert gates["litho-a"] == ("event", "NLD")
    assert gates["litho-b"] is False  # half of litho-b is unattributed: never lost
    assert gates["gallium"] == ("and", ("event", "CHN"), ("event", "USA"))
    assert events == {"CHN", "USA", "JPN", "DEU"}


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), catch_exceptions=False)


def test_cli_spof_json_and_mef(run, small_path, tmp_path):
    result = run("spof", "--target", "car", "--dataset", str(small_path), "--format", "json")
    assert result.exit_code == 0
    records = json.loads(result.output)
    assert {"target", "units", "availability"} <= set(records[0])
    assert {r["units"][0] for r in records} == {"CHN", "JPN", "TWN"}
    out = tmp_path / "car.xml"
    result = run("spof", "--target", "car", "--dataset", str(small_path), "-o", str(out))
    assert result.exit_code == 0 and "<define-fault-tree" in out.read_text()
    table = run("spof", "--target", "car", "--dataset", str(small_path), "--order", "2")
    assert "DEU + USA" in table.output


def test_cli_spof_unknown_target(run, small_path):
    result = run("spof", "--target", "gallum", "--dataset", str(small_path))
    assert result.exit_code == 2 and "gallium" in result.output


def test_bundled_dataset_findings_an_analyst_expects():
    model = semigraph.load()
    scanner = cut_sets(model, ["euv-scanner"], level="firm")
    assert {"asml", "zeiss"} <= {u[0] for u in scanner["units"]}
    qc = cut_sets(model, ["quantum-computer"], level="site")
    assert ["helium-3@USA"] in qc["units"].tolist()
    rf = cut_sets(model, ["rf-front-end-6g"], level="component", threshold=0)
    assert ["gallium"] in rf["units"].tolist()
    # if never restored, losing new EUV scanners loses every leading-edge phone chip; within
    # a year the installed base keeps running, so the scanner is no total-loss SPOF on the
    # headline, while the optics are: installed scanners run on optics service parts
    phone = cut_sets(model, ["smartphone"], level="component", threshold=0, measure="steady")
    assert {"euv-optics", "euv-scanner"} <= {u[0] for u in phone["units"]}
    year = {u[0] for u in cut_sets(model, ["smartphone"], level="component", threshold=0)
            ["units"]}
    assert "euv-scanner" not in year and "euv-optics" in year


def test_too_large_a_search_is_refused_at_once():
    import time

    from semigraph.findings.cutsets import SearchTooLarge, search_size

    model = semigraph.load()
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["spof", "--level", "site", "--order", "3"])
    assert result.exit_code == 2 and "--max-sets" in result.output
    assert f"{search_size(model, ['stage:end_use'], level='site', order=3):,}" in result.output
    assert time.perf_counter() - start < 30  # refused before any work, not after it
    with pytest.raises(SearchTooLarge):
        cut_sets(model, ["stage:end_use"], level="site", order=3)


def test_progress_counts_every_set_screened_and_simulated(small):
    from semigraph.findings.cutsets import search_size

    calls = []
    frame = cut_sets(small, ["car"], level="country", order=2,
                     progress=lambda done, more=0: calls.append((done, more)))
    stats = frame.attrs["stats"]
    assert sum(m for _, m in calls) == stats["simulated"] > 0
    assert sum(d for d, _ in calls) == stats["evaluated"] + stats["simulated"]
    assert stats["evaluated"] <= search_size(small, ["car"], order=2)


def test_captive_shop_makes_its_firms_rows_a_cut_set(tmp_path):
    """firm0's row of c2 (in CHN) draws only on firm0's captive c1 shop in DEU (engine README
    4.5): a DEU stop takes that shop and DEU's own c2 row, so DEU alone cuts c2, in the
    pruned search as in brute force (found through a random network)."""
    from tests.datasets import base_tables

    t = base_tables()
    t["firms"] = [{"id": "firm0", "name": "Firm 0", "hq": "CHN"}]
    t["components"] = [{"id": c, "name": c, "kind": "material", "stage": "materials_equipment",
                        "storable": "true", "source": "src"} for c in ("c1", "c2")]
    t["supply"] = [
        {"component": "c1", "supplier": "CHN", "site": "CHN", "share": "0.5", "source": "src"},
        {"component": "c1", "supplier": "firm0", "site": "DEU", "share": "0.5", "source": "src",
         "captive": "true"},
        {"component": "c2", "supplier": "firm0", "site": "CHN", "share": "0.5", "source": "src"},
        {"component": "c2", "supplier": "DEU", "site": "DEU", "share": "0.5", "source": "src"}]
    t["consumption"] = []
    t["requires"] = [{"component": "c2", "input": "c1", "source": "src"}]
    model = semigraph.load(write_dataset(tmp_path / "d", t))
    got = pruned(model, "country", 0.3, 1)
    assert got == brute_force(model, "country", 0.3, 1)
    assert got[("c2", ("DEU",))] == 0.0  # pooled, c2 would keep CHN's c1: 0.5
    assert got[("c2", ("CHN",))] == 0.0  # CHN's c1 gone: DEU's row has no merchant c1 left


def test_rows_reading_their_own_shop_make_pairs_combine(tmp_path):
    """c3's CHN row (firm0) reads firm0's captive c2 shops, its DEU row the merchant c2 of
    JPN: cutting c1 in CHN leaves c3 at 0.5, cutting JPN's c2 leaves it at 0.5, both together
    at 0.25, more than the worse alone. The search must not take the pair as separable
    (found through a random network)."""
    from tests.datasets import base_tables

    t = base_tables()
    t["firms"] = [{"id": "firm0", "name": "Firm 0", "hq": "CHN"}]
    t["components"] = [{"id": c, "name": c, "kind": "material", "stage": "materials_equipment",
                        "storable": "true", "source": "src"} for c in ("c1", "c2", "c3")]
    row = {"share": "", "source": "src"}
    t["supply"] = [
        {**row, "component": "c1", "supplier": "CHN", "site": "CHN"},
        {**row, "component": "c1", "supplier": "firm0", "site": "DEU"},
        {**row, "component": "c2", "supplier": "firm0", "site": "CHN", "captive": "true"},
        {**row, "component": "c2", "supplier": "firm0", "site": "DEU", "captive": "true"},
        {**row, "component": "c2", "supplier": "JPN", "site": "JPN"},
        {**row, "component": "c3", "supplier": "firm0", "site": "CHN"},
        {**row, "component": "c3", "supplier": "DEU", "site": "DEU"}]
    t["consumption"] = []
    t["requires"] = [{"component": "c3", "input": i, "source": "src"} for i in ("c1", "c2")]
    model = semigraph.load(write_dataset(tmp_path / "d", t))
    got = pruned(model, "site", 0.3, 2)
    assert got == brute_force(model, "site", 0.3, 2)
    assert got[("c3", ("c1@CHN", "c2@JPN"))] == pytest.approx(0.25)
