"""The propagation against hand-computed values and against the plain reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.analysis.propagation import evaluate
from semigraph.analysis.reference import availability_reference
from semigraph.analysis.scenario import Disruption, Scenario
from tests.datasets import COUNTRIES, random_tables, write_dataset


def avail(model, *disruptions, perspective=None, horizon=365):
    ev = evaluate(model, Scenario(tuple(disruptions), perspective=perspective, horizon=horizon))
    return dict(zip(ev.compiled.components, ev.availability(0).tolist()))


# Hand computations on tests/datasets.small_tables():
#   gallium CHN .9 / USA .1; wafer JPN .6 / subsid@DEU .4 (subsid controlled from CHN);
#   chip needs wafer and (litho-a or litho-b); fab@TWN .7, fab@USA .2, rest .1; car needs chip.
@pytest.mark.parametrize(("cuts", "expected"), [
    ([Disruption("CHN")], {"gallium": 0.1, "wafer": 0.1, "chip": 0.1, "car": 0.1}),
    ([Disruption("CHN", scope="control")], {"gallium": 0.1, "wafer": 0.06, "car": 0.06}),
    ([Disruption("NLD")], {"litho-a": 0.0, "litho-b": 1.0, "chip": 1.0}),
    ([Disruption("NLD"), Disruption("JPN")], {"litho-b": 0.5, "wafer": 0.4, "chip": 0.4}),
    ([Disruption("TWN", severity=0.5)], {"chip": 0.65, "car": 0.65, "wafer": 1.0}),
    ([Disruption("wafer", severity=0.3)], {"wafer": 0.7, "chip": 0.7, "gallium": 1.0}),
    ([Disruption("fab@TWN")], {"chip": 0.3}),
    ([Disruption("supply:chip/fab@USA")], {"chip": 0.8}),
    ([Disruption("gallium@CHN", severity=0.5)], {"gallium": 0.55, "car": 0.55}),
    ([Disruption("EU27")], {"wafer": 0.6, "litho-a": 0.0, "chip": 0.6}),
    ([Disruption("nikon"), Disruption("asml")], {"litho-b": 0.5, "chip": 0.5}),
])
def test_hand_computed_world(small, cuts, expected):
    got = avail(small, *cuts)
    for comp, value in expected.items():
        assert got[comp] == pytest.approx(value, abs=1e-12), comp


def test_export_ban_hits_destination_and_passes_on_through_its_sites(small):
    # gallium banned to the EU: EU consumers keep only the USA's 10%; the German wafer site
    # (40% of wafers) judges its gallium as an EU consumer, so every wafer buyer loses 36%.
    ban = Disruption("gallium@CHN", to=("EU27",))
    eu = avail(small, ban, perspective="EU27")
    usa = avail(small, ban, perspective="USA")
    assert eu["gallium"] == pytest.approx(0.1)
    assert usa["gallium"] == pytest.approx(1.0)  # other consumers' gallium untouched
    assert eu["wafer"] == pytest.approx(0.6 + 0.4 * 0.1)
    assert usa["wafer"] == pytest.approx(0.64)  # loss passed on to buyers from EU sites
    assert usa["chip"] == pytest.approx(0.64)


def test_default_perspective_of_a_ban_is_its_destination(small):
    ban = Disruption("gallium@CHN", to=("NLD",))
    assert avail(small, ban)["gallium"] == pytest.approx(0.1)


def test_timeline_hand_computed(small):
    # gallium: 10% supply, 30 days of stock: stock covers 0.9 a day until day 33; lost
    # supply returns at ttr 200. wafer: 10 days of its own stock on top -> short from day 44.
    ev = evaluate(small, Scenario((Disruption("CHN"),), horizon=365), timeline=True)
    c, tl = ev.compiled, ev.timeline
    i = {name: c.index[name] for name in ("gallium", "wafer", "chip")}
    assert tl.first_short[0, i["gallium"], 0] == 33
    assert tl.recovered[0, i["gallium"], 0] == 200
    assert tl.first_short[0, i["wafer"], 0] == 44
    assert tl.first_short[0, i["chip"], 0] == 44
    assert tl.recovered[0, i["chip"], 0] == 200
    assert tl.max_shortfall[0, i["chip"], 0] == pytest.approx(0.9)


def test_timeline_never_recovers_without_ttr(small):
    ev = evaluate(small, Scenario((Disruption("TWN"),), horizon=100), timeline=True)
    chip = ev.compiled.index["chip"]
    assert ev.timeline.first_short[0, chip, 0] == 0  # no stock
    assert ev.timeline.recovered[0, chip, 0] == -1


def test_single_input_tts_matches_design_rule_of_thumb(small):
    # DESIGN: with a single cut input of availability a and stock S, TTS is about S / (1 - a)
    ev = evaluate(small, Scenario((Disruption("CHN", severity=0.5),)), timeline=True)
    g = ev.compiled.index["gallium"]
    a, stock = 0.55, 30
    assert abs(ev.timeline.first_short[0, g, 0] - stock / (1 - a)) <= 1


def test_batch_equals_one_by_one(small):
    scenarios = [Scenario((Disruption(u),)) for u in ("CHN", "NLD", "JPN", "TWN", "asml")]
    batch = evaluate(small, scenarios).availability_matrix()
    for j, s in enumerate(scenarios):
        single = evaluate(small, s).availability(0)
        assert batch[:, j].tolist() == pytest.approx(single.tolist(), abs=1e-15)


# -- random graphs: compiled engine == reference (DESIGN.md section 4) -----------------------

units = st.sampled_from([*COUNTRIES, "firm0", "firm1", "c0", "c1", "c2", "EU27", "G7"])


@st.composite
def scenarios(draw):
    ds = []
    for _ in range(draw(st.integers(0, 3))):
        ds.append(Disruption(
            draw(units), severity=draw(st.sampled_from([1.0, 0.5, 0.25, 0.9])),
            scope=draw(st.sampled_from(["site", "control"])),
            to=tuple(draw(st.lists(st.sampled_from(["EU27", "USA", "CHN", "G7"]),
                                   max_size=2, unique=True)))))
    return ds


def _load(tmp_path_factory, tables):
    return semigraph.load(write_dataset(tmp_path_factory.mktemp("rnd"), tables))


def _valid(model, disruptions):
    ok = []
    for d in disruptions:
        try:
            unit = model.resolve(d.unit)
        except semigraph.UnknownUnitError:
            continue
        if d.scope == "control" and unit.kind not in ("country", "bloc"):
            d = Disruption(d.unit, d.severity, "site", d.to)
        ok.append(d)
    return tuple(ok)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tables=random_tables(), disruptions=scenarios(),
       region=st.sampled_from([None, "NLD", "USA", "CHN", "JPN"]))
def test_compiled_agrees_with_reference_on_random_graphs(tmp_path_factory, tables, disruptions,
                                                         region):
    model = _load(tmp_path_factory, tables)
    ds = _valid(model, disruptions)
    scenario = Scenario(ds, perspective=region)
    ev = evaluate(model, scenario)
    got = dict(zip(ev.compiled.components, ev.availability(0).tolist()))
    if region is None and any(d.to for d in ds):
        return  # the default perspective of a ban is its destinations; covered below
    ref = availability_reference(model, scenario, region)
    for comp, value in ref.items():
        assert math.isclose(got[comp], value, abs_tol=1e-9), (comp, got[comp], value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tables=random_tables(), first=scenarios(), extra=scenarios(),
       region=st.sampled_from([None, "NLD", "USA"]))
def test_properties(tmp_path_factory, tables, first, extra, region):
    model = _load(tmp_path_factory, tables)
    a = _valid(model, first)
    b = a + _valid(model, extra)
    base = avail(model, perspective=region)
    one = avail(model, *a, perspective=region or "USA")
    both = avail(model, *b, perspective=region or "USA")
    for comp in base:
        assert base[comp] == 1.0  # nothing cut, nothing lost
        assert 0.0 <= one[comp] <= 1.0
        assert both[comp] <= one[comp] + 1e-12  # adding a disruption never raises anything
    zero = tuple(Disruption(d.unit, 0.0, d.scope, d.to) for d in b)
    assert avail(model, *zero, perspective=region or "USA") == base  # severity 0: no change


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tables=random_tables())
def test_cutting_every_supplier_of_a_needed_input_zeroes_the_product(tmp_path_factory, tables):
    model = _load(tmp_path_factory, tables)
    for rec in model.requires.itertuples():
        grouped = isinstance(rec.group, str) and rec.group
        sup = model.supply[model.supply["component"] == rec.input]
        if grouped or sup.empty or sup["share_used"].sum() < 1 - 1e-12:
            continue  # an alternative could serve, or an unattributed rest survives
        cuts = [Disruption(f"supply:{rec.input}/{s}@{site}")
                for s, site in zip(sup["supplier"], sup["site"])]
        got = avail(model, *cuts)
        assert got[rec.input] == pytest.approx(0.0, abs=1e-12)
        assert got[rec.component] == pytest.approx(0.0, abs=1e-12)
