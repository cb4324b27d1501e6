"""The engine against hand-computed values, against the plain reference, and its properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.engine.propagation import evaluate
from semigraph.engine.reference import availability_reference, simulate_reference
from semigraph.engine.scenario import Disruption, Scenario
from tests.datasets import COUNTRIES, base_tables, random_tables, small_tables, write_dataset


def steady(model, *disruptions, perspective=None):
    ev = evaluate(model, Scenario(tuple(disruptions), perspective=perspective), timeline=False)
    return dict(zip(ev.compiled.components, ev.steady_state[:, 0].tolist()))


def run(model, *disruptions, perspective=None, horizon=365):
    ev = evaluate(model, Scenario(tuple(disruptions), perspective=perspective, horizon=horizon))
    idx = ev.compiled.index
    return {c: {"low": float(ev.availability[i, 0]), "high": float(ev.availability_high[i, 0]),
                "steady": float(ev.steady_state[i, 0]), "tts": int(ev.time_to_survive[i, 0]),
                "rec": int(ev.recovery[i, 0]), "lost": float(ev.lost_days[i, 0])}
            for c, i in idx.items()}


# Hand computations on tests/datasets.small_tables():
#   gallium CHN .9 / USA .1; wafer JPN .6 / subsid@DEU .4 (subsid controlled from CHN);
#   chip needs wafer and (litho-a or litho-b); fab@TWN .7, fab@USA .2, rest .1; car needs chip.
# No consumption rows: an export stop seen from the rest of the world equals an outage.
@pytest.mark.parametrize(("cuts", "expected"), [
    ([Disruption("CHN")], {"gallium": 0.1, "wafer": 0.1, "chip": 0.1, "car": 0.1}),
    ([Disruption("CHN", mode="outage")], {"gallium": 0.1, "wafer": 0.1, "car": 0.1}),
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
def test_hand_computed_static_bound(small, cuts, expected):
    got = steady(small, *cuts)
    for comp, value in expected.items():
        assert got[comp] == pytest.approx(value, abs=1e-12), comp


def test_export_ban_hits_destination_and_passes_on_through_its_sites(small):
    # gallium banned to the EU: EU consumers keep only the USA's 10%; the German wafer site
    # (40% of wafers) judges its gallium as an EU consumer, so every wafer buyer loses 36%.
    ban = Disruption("gallium@CHN", to=("EU27",))
    eu = steady(small, ban, perspective="EU27")
    usa = steady(small, ban, perspective="USA")
    assert eu["gallium"] == pytest.approx(0.1)
    assert usa["gallium"] == pytest.approx(1.0)  # other consumers' gallium untouched
    assert eu["wafer"] == pytest.approx(0.6 + 0.4 * 0.1)
    assert usa["wafer"] == pytest.approx(0.64)  # loss passed on to buyers from EU sites


def test_default_perspective_is_the_rest_of_the_world(small):
    # a ban to the Netherlands, seen from outside it: nothing is lost
    assert steady(small, Disruption("gallium@CHN", to=("NLD",)))["gallium"] == 1.0
    # China stops exports: China's own consumers keep Chinese gallium, the rest do not
    assert steady(small, Disruption("CHN"))["gallium"] == pytest.approx(0.1)
    assert steady(small, Disruption("CHN"), perspective="CHN")["gallium"] == 1.0


def _producer_user(tmp_path, made, used, other=None, consumers=None):
    """gallium made by CHN (``made``) and USA (``other``, default the rest); CHN uses ``used``
    and the countries of ``consumers`` their given shares."""
    t = base_tables()
    t["components"] = [{"id": "gallium", "name": "Gallium", "kind": "raw_material",
                        "stage": "materials_equipment", "source": "src"},
                       {"id": "chip", "name": "Chip", "kind": "chip", "stage": "front_end",
                        "source": "src"}]
    t["supply"] = [{"component": "gallium", "supplier": "CHN", "site": "CHN", "share": made,
                    "source": "src"},
                   {"component": "gallium", "supplier": "USA", "site": "USA",
                    "share": round(1 - made, 6) if other is None else other, "source": "src"}]
    t["consumption"] = [{"component": "gallium", "country": "CHN", "share": used,
                         "source": "src"}]
    t["consumption"] += [{"component": "gallium", "country": k, "share": v, "source": "src"}
                         for k, v in (consumers or {}).items()]
    t["requires"] = [{"component": "chip", "input": "gallium", "source": "src"}]
    return semigraph.load(write_dataset(tmp_path, t))


def test_export_stop_with_consumption_design_example(tmp_path):
    # engine README 4.3: a country that makes 98% and uses 80% leaves the rest 0.02 / 0.2 = 10%
    model = _producer_user(tmp_path / "a", 0.98, 0.8)
    assert steady(model, Disruption("CHN"))["gallium"] == pytest.approx(0.1)
    assert steady(model, Disruption("CHN"))["chip"] == pytest.approx(0.1)
    assert steady(model, Disruption("CHN"), perspective="CHN")["gallium"] == 1.0
    # half the surplus still exported: (0.02 + 0.5 * 0.18) / 0.2
    half = steady(model, Disruption("CHN", severity=0.5))["gallium"]
    assert half == pytest.approx((0.02 + 0.5 * 0.18) / 0.2)
    # an outage loses China's 98% for everyone
    assert steady(model, Disruption("CHN", mode="outage"))["gallium"] == pytest.approx(0.02)


def test_export_stop_of_an_importer_costs_the_rest_nothing(tmp_path):
    # CHN makes 50% and uses 80%: it keeps its own and still imports 30% from the others
    model = _producer_user(tmp_path / "b", 0.5, 0.8)
    assert steady(model, Disruption("CHN"))["gallium"] == pytest.approx((0.5 - 0.3) / 0.2)


def test_a_stop_of_one_material_leaves_another_materials_trade_alone(tmp_path):
    # China makes 98% of gallium and uses 80%; a half stop of its gallium leaves the rest
    # (0.02 + 0.5 x 0.18) / 0.2 whether or not it also stops another material's exports
    t = base_tables()
    t["components"] = [{"id": m, "name": m, "kind": "raw_material",
                        "stage": "materials_equipment", "source": "src"}
                       for m in ("gallium", "germanium")]
    t["supply"] = [{"component": m, "supplier": x, "site": x, "share": v, "source": "src"}
                   for m in ("gallium", "germanium") for x, v in (("CHN", 0.98), ("USA", 0.02))]
    t["consumption"] = [{"component": m, "country": "CHN", "share": 0.8, "source": "src"}
                        for m in ("gallium", "germanium")]
    model = semigraph.load(write_dataset(tmp_path, t))
    ga = Disruption("gallium@CHN", severity=0.5, mode="export")
    expected = (0.02 + 0.5 * 0.18) / 0.2
    assert steady(model, ga)["gallium"] == pytest.approx(expected)
    both = steady(model, ga, Disruption("germanium@CHN", severity=0.5, mode="export"))
    assert both["gallium"] == pytest.approx(expected)
    assert both["germanium"] == pytest.approx(expected)
    # a stop of the whole country reaches both: severities of its stops multiply
    whole = steady(model, ga, Disruption("CHN", severity=0.5))
    assert whole["gallium"] == pytest.approx((0.02 + 0.25 * 0.18) / 0.2)
    assert whole["germanium"] == pytest.approx(expected)
    for scenario in (Scenario((ga, Disruption("germanium@CHN", severity=0.5, mode="export"))),
                     Scenario((ga, Disruption("CHN", severity=0.5)))):
        ref = availability_reference(model, scenario)
        got = steady(model, *scenario.disruptions)
        assert got == pytest.approx(ref, abs=1e-12)


def test_a_control_stop_also_takes_a_firms_output_from_the_country_it_is_made_in(tmp_path):
    # A Japanese-controlled firm makes half of c0 in the Netherlands, China the other half;
    # each country uses 10%. The G7 stops the exports of the firms it controls, the
    # Netherlands stops its own exports. The Dutch consumers lose the Japanese firm's output
    # too, and import their 0.1 from China: the rest gets (0.5 - 0.1) / 0.9, less than with
    # the G7 stop alone (0.5), not 0.5 / 0.9 as if the Dutch kept the firm's output.
    t = base_tables()
    t["firms"] = [{"id": "jfirm", "name": "J firm", "hq": "NLD", "controlled_by": "JPN"}]
    t["components"] = [{"id": "c0", "name": "c0", "kind": "material",
                        "stage": "materials_equipment", "source": "src"}]
    t["supply"] = [{"component": "c0", "supplier": s, "site": x, "share": 0.5, "source": "src"}
                   for s, x in (("jfirm", "NLD"), ("CHN", "CHN"))]
    t["consumption"] = [{"component": "c0", "country": x, "share": 0.1, "source": "src"}
                        for x in ("CHN", "NLD")]
    model = semigraph.load(write_dataset(tmp_path, t))
    g7 = Disruption("G7", scope="control")
    nld = Disruption("NLD")
    assert steady(model, g7)["c0"] == pytest.approx(0.5)
    assert steady(model, nld)["c0"] == pytest.approx(0.5 / 0.9)
    assert steady(model, nld, g7)["c0"] == pytest.approx(0.4 / 0.9)
    # the Dutch stop for no day: the lowest day has the G7 stop alone, the static bound both
    r = run(model, Disruption("NLD", duration_days=0), g7, horizon=10)["c0"]
    assert (r["low"], r["steady"]) == (pytest.approx(0.5), pytest.approx(0.4 / 0.9))
    for scenario in (Scenario((nld, g7)), Scenario((g7,))):
        assert steady(model, *scenario.disruptions) == pytest.approx(
            availability_reference(model, scenario), abs=1e-12)


def test_timeline_hand_computed(small):
    # gallium: 10% supply, 30 days of stock: stock covers 0.9 a day until day 33; lost
    # supply returns at ttr 200. wafer: 10 days of its own stock on top -> short from day 44.
    r = run(small, Disruption("CHN"))
    assert (r["gallium"]["tts"], r["gallium"]["rec"]) == (33, 200)
    assert (r["wafer"]["tts"], r["chip"]["tts"], r["chip"]["rec"]) == (44, 44, 200)
    assert r["chip"]["low"] == pytest.approx(0.1)
    # lost days of gallium: day 33 delivers 0.4 (0.3 of stock left), then 0.1 to day 199
    assert r["gallium"]["lost"] == pytest.approx(0.6 + 0.9 * (199 - 33))


def test_installed_base_erodes_by_renewal_days(small):
    # NLD and Nikon stop: new litho-a deliveries 0, litho-b 0.5 (the unattributed rest).
    # The installed base of litho-b moves towards 0.5 by 1/1000 a day; chips are made with the
    # better base: 0.5 + 0.5 (1 - 1/1000)^t, lowest on the last day.
    r = run(small, Disruption("NLD", mode="outage"), Disruption("nikon"), horizon=365)
    assert r["litho-b"]["low"] == pytest.approx(0.5)  # new deliveries
    assert r["chip"]["low"] == pytest.approx(0.5 + 0.5 * (1 - 1 / 1000) ** 365, abs=1e-12)
    assert r["chip"]["tts"] == math.ceil(math.log(0.49 / 0.5) / math.log(0.999) + 1e-9)
    assert r["chip"]["steady"] == pytest.approx(0.5)  # base fully renewed at the cut rate


def test_chain_served_first_is_the_upper_bound(tmp_path):
    t = small_tables()
    t["components"][0]["chain_share"] = 0.2  # the chain uses a fifth of the world's gallium
    model = semigraph.load(write_dataset(tmp_path / "cs", t))
    r = run(model, Disruption("CHN"), horizon=150)
    assert r["gallium"]["low"] == pytest.approx(0.1)
    assert r["gallium"]["high"] == pytest.approx(0.1)  # the material itself: world supply
    assert r["wafer"]["low"] == pytest.approx(0.1)
    assert r["wafer"]["high"] == pytest.approx(0.5)  # min(1, 0.1 / 0.2)


def test_ban_upper_bound_serves_the_banned_consumers_first(tmp_path):
    # gallium CHN 0.9 / USA 0.1; China uses 0.6 and the USA 0.05 of the world's gallium.
    # A Chinese ban to the USA leaves it the 10% made elsewhere, rationed alike with every
    # other buyer (lower bound); served first, that 10% covers twice the US demand.
    model = _producer_user(tmp_path / "a", 0.9, 0.6, consumers={"USA": 0.05})
    ban = Disruption("gallium@CHN", to=("USA",))
    r = run(model, ban, perspective="USA", horizon=10)
    assert r["gallium"]["low"] == pytest.approx(0.1)
    assert r["gallium"]["high"] == pytest.approx(1.0)
    assert r["chip"]["high"] == pytest.approx(1.0)  # made from what the consumer gets
    # the US using 20%: served first, it gets 0.1 / 0.2 of its need
    big = _producer_user(tmp_path / "b", 0.9, 0.6, consumers={"USA": 0.2})
    r = run(big, ban, perspective="USA", horizon=10)
    assert (r["gallium"]["low"], r["gallium"]["high"]) == pytest.approx((0.1, 0.5))
    # a ban to a bloc whose members' demand is unknown is not re-routed
    eu = run(big, Disruption("gallium@CHN", to=("EU27",)), perspective="EU27", horizon=10)
    assert (eu["gallium"]["low"], eu["gallium"]["high"]) == pytest.approx((0.1, 0.1))
    # half the US's own gallium lost as well: 0.05 left, served first 0.05 / 0.2
    both = (ban, Disruption("supply:gallium/USA@USA", severity=0.5))
    r = run(big, *both, perspective="USA", horizon=10)
    assert (r["gallium"]["low"], r["gallium"]["high"]) == pytest.approx((0.05, 0.25))
    stop = (ban, Disruption("CHN", severity=0.5))  # with an export stop and consumption
    for scenario in (Scenario((ban,), perspective="USA", horizon=10),
                     Scenario(both, perspective="USA", horizon=10),
                     Scenario(stop, perspective="USA", horizon=10)):
        ev = evaluate(big, scenario)
        ref = simulate_reference(big, scenario, "USA", high=True)
        for comp, value in ref.items():
            got = ev.availability_high[ev.compiled.index[comp], 0]
            assert got == pytest.approx(value["availability"], abs=1e-12), comp


def test_duration_ends_the_disruption(small):
    short = run(small, Disruption("CHN", duration_days=20))
    assert short["gallium"]["low"] == 1.0  # 20 days x 0.9 < 30 days of stock
    longer = run(small, Disruption("CHN", duration_days=50))
    assert longer["gallium"]["low"] == pytest.approx(0.1)
    assert (longer["gallium"]["tts"], longer["gallium"]["rec"]) == (33, 50)
    assert longer["gallium"]["steady"] == pytest.approx(0.1)  # the static bound ignores it


def test_batch_equals_one_by_one(small):
    scenarios = [Scenario((Disruption(u),), horizon=90) for u in
                 ("CHN", "NLD", "JPN", "TWN", "asml")]
    batch = evaluate(small, scenarios)
    for j, s in enumerate(scenarios):
        single = evaluate(small, s)
        for field in ("availability", "availability_high", "steady_state", "lost_days"):
            assert getattr(batch, field)[:, j].tolist() == pytest.approx(
                getattr(single, field)[:, 0].tolist(), abs=1e-12), field


# -- random graphs: compiled engine == reference (engine README section 4) -----------------------

units = st.sampled_from([*COUNTRIES, "firm0", "firm1", "c0", "c1", "c2", "EU27", "G7"])


@st.composite
def scenarios(draw):
    ds = []
    for _ in range(draw(st.integers(0, 3))):
        to = tuple(draw(st.lists(st.sampled_from(["EU27", "USA", "CHN", "G7"]), max_size=2,
                                 unique=True)))
        mode = None if to else draw(st.sampled_from([None, "export", "outage"]))
        ds.append(Disruption(
            draw(units), severity=draw(st.sampled_from([1.0, 0.5, 0.25, 0.9])),
            scope=draw(st.sampled_from(["site", "control"])), to=to, mode=mode,
            duration_days=draw(st.sampled_from([None, None, 0, 5, 17, 40]))))
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
        scope = d.scope if unit.kind in ("country", "bloc") else "site"
        mode = "outage" if unit.kind == "component" and not d.to else d.mode
        ok.append(Disruption(d.unit, d.severity, scope, d.to, mode, d.duration_days))
    return tuple(ok)


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow,
                                                        HealthCheck.function_scoped_fixture]}


@settings(max_examples=60, **SETTINGS)
@given(tables=random_tables(), disruptions=scenarios(),
       region=st.sampled_from([None, "NLD", "USA", "CHN", "JPN", "EU27"]),
       horizon=st.integers(0, 45))
def test_compiled_agrees_with_reference_on_random_graphs(tmp_path_factory, tables, disruptions,
                                                         region, horizon):
    _agrees(tmp_path_factory, tables, disruptions, region, horizon)


@settings(max_examples=60, **SETTINGS)
@given(tables=random_tables(captive=True), disruptions=scenarios(),
       region=st.sampled_from([None, "NLD", "USA", "CHN", "JPN", "EU27"]),
       horizon=st.integers(0, 45))
def test_compiled_agrees_with_reference_with_captive_rows(tmp_path_factory, tables,
                                                          disruptions, region, horizon):
    _agrees(tmp_path_factory, tables, disruptions, region, horizon)


def _agrees(tmp_path_factory, tables, disruptions, region, horizon):
    model = _load(tmp_path_factory, tables)
    scenario = Scenario(_valid(model, disruptions), perspective=region, horizon=horizon)
    ev = evaluate(model, scenario)
    idx = ev.compiled.index
    for high in (False, True):
        ref = simulate_reference(model, scenario, region, high=high)
        got = ev.availability_high if high else ev.availability
        for comp, r in ref.items():
            i = idx[comp]
            assert math.isclose(got[i, 0], r["availability"], abs_tol=1e-9), (comp, high)
            if high:
                continue
            assert math.isclose(ev.steady_state[i, 0], r["steady_state"], abs_tol=1e-9), comp
            assert math.isclose(ev.lost_days[i, 0], r["lost_days"], abs_tol=1e-7), comp
            assert ev.time_to_survive[i, 0] == r["time_to_survive"], comp
            assert ev.recovery[i, 0] == r["recovery"], comp


@settings(max_examples=30, **SETTINGS)
@given(tables=random_tables(), disruptions=scenarios(),
       region=st.sampled_from([None, "NLD", "USA"]))
def test_static_reference_is_the_horizon_zero_run(tmp_path_factory, tables, disruptions, region):
    model = _load(tmp_path_factory, tables)
    scenario = Scenario(_valid(model, disruptions), perspective=region)
    got = steady(model, *scenario.disruptions, perspective=region)
    for comp, value in availability_reference(model, scenario, region).items():
        assert math.isclose(got[comp], value, abs_tol=1e-9), comp


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(), first=scenarios(), extra=scenarios(),
       region=st.sampled_from([None, "NLD", "USA"]))
def test_properties(tmp_path_factory, tables, first, extra, region):
    model = _load(tmp_path_factory, tables)
    a = _valid(model, first)
    b = a + _valid(model, extra)
    base = run(model, perspective=region, horizon=40)
    one = run(model, *a, perspective=region, horizon=40)
    both = run(model, *b, perspective=region, horizon=40)
    for comp in base:
        assert base[comp]["low"] == 1.0 and base[comp]["steady"] == 1.0  # nothing cut
        r = one[comp]
        assert 0.0 <= r["steady"] <= r["low"] + 1e-12 <= r["high"] + 2e-12 <= 1.0 + 2e-12
        if region is not None or not any(d.to or d.mode == "export" or d.mode is None
                                         for d in b):
            # the same consumers in both: one more disruption never raises anything
            assert both[comp]["low"] <= r["low"] + 1e-12
    zero = tuple(Disruption(d.unit, 0.0, d.scope, d.to, d.mode, d.duration_days) for d in b)
    assert run(model, *zero, perspective=region, horizon=40) == base  # severity 0: no change


@settings(max_examples=40, **SETTINGS)
@given(tables=random_tables(), disruptions=scenarios(), region=st.sampled_from([None, "USA"]),
       longer=st.integers(1, 30), more=st.integers(1, 30))
def test_longer_duration_and_more_stock(tmp_path_factory, tables, disruptions, region, longer,
                                        more):
    model = _load(tmp_path_factory, tables)
    ds = _valid(model, disruptions)
    base = run(model, *ds, perspective=region, horizon=40)
    stretched = tuple(Disruption(d.unit, d.severity, d.scope, d.to, d.mode,
                                 None if d.duration_days is None else d.duration_days + longer)
                      for d in ds)
    for comp, r in run(model, *stretched, perspective=region, horizon=40).items():
        assert r["low"] <= base[comp]["low"] + 1e-12  # a longer disruption never helps
    for row in tables["components"]:
        row["stock_days"] = (row["stock_days"] or 0) + more
    stocked = _load(tmp_path_factory, tables)
    for comp, r in run(stocked, *ds, perspective=region, horizon=40).items():
        assert r["low"] >= base[comp]["low"] - 1e-12  # more stock never hurts
        assert r["high"] >= base[comp]["high"] - 1e-12


@settings(max_examples=40, **SETTINGS)
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
        got = steady(model, *cuts)
        assert got[rec.input] == pytest.approx(0.0, abs=1e-12)
        assert got[rec.component] == pytest.approx(0.0, abs=1e-12)


def test_bottleneck_of_each_bound(tmp_path):
    # China and Taiwan stop: rationed alike, chips get 10% of wafers (gallium); served first,
    # wafers come back to min(1, 0.1 / 0.2) = 0.5, and Taiwan's 70% of chips sets the limit
    from semigraph.engine.whatif import whatif

    t = small_tables()
    t["components"][0]["chain_share"] = 0.2
    model = semigraph.load(write_dataset(tmp_path / "b", t))
    rows = whatif(model, Scenario((Disruption("CHN"), Disruption("TWN")), horizon=150))
    chip = rows.set_index("component").loc["chip"]
    assert chip["availability"] == pytest.approx(0.3 * 0.1)
    assert chip["availability_high"] == pytest.approx(0.3 * 0.5)
    assert chip["bottleneck"] == "chip <- wafer <- gallium <- CHN@CHN (90%, export stop)"
    assert chip["bottleneck_high"] == "chip <- fab@TWN (70%, export stop)"
    assert chip["bounds_note"].startswith("up to 0.15 if the chain is served first (the chain "
                                          "uses 20% of the world's gallium)")


def test_chunked_batch_equals_one_batch(small, monkeypatch):
    # a tiny memory budget splits the batch into chunks of one scenario; the joined result
    # is the same, field by field
    scenarios = [Scenario((Disruption(u),), horizon=60) for u in
                 ("CHN", "NLD", "JPN", "TWN", "asml", "gallium@CHN")]
    scenarios.append(Scenario((Disruption("gallium@CHN", to=("EU27",)),), perspective="EU27",
                              horizon=60))
    whole = evaluate(small, scenarios)
    monkeypatch.setenv("SEMIGRAPH_MEMORY_MB", "0")
    from semigraph.engine.compiled import compile_model
    from semigraph.engine.propagation import _budget, _chunk_size, _scenario_bytes, resolve

    c = compile_model(small)
    batch = [[resolve(small, c, d) for d in s.disruptions] for s in scenarios]
    assert _budget() == 16 << 20
    one = _scenario_bytes(c, batch, True, 3, False, 60)  # the largest scenario's arrays
    monkeypatch.setattr("semigraph.engine.propagation._budget", lambda: one)
    assert _chunk_size(c, batch, True, 3, False, 60) == 1
    parts = evaluate(small, scenarios)
    for field in ("availability", "availability_high", "steady_state", "lost_days",
                  "time_to_survive", "recovery", "world", "worst_day", "worst_class"):
        assert getattr(parts, field).tolist() == getattr(whole, field).tolist(), field


@settings(max_examples=200, deadline=None)
@given(rows=st.sampled_from([6, 10, 12, 30]), data=st.data())
def test_level_blocks_read_and_write_as_fancy_indexing(rows, data):
    """A level's block of the day loop's arrays (a slice, equal slices at a stride, or flat
    indices) reads and writes exactly what ``a[:, comps, :]`` does, whatever the layout of
    ``comps`` (sorted, distinct), including runs that would cross a stride."""
    from semigraph.engine.propagation import _Block

    kind = data.draw(st.sampled_from(["run", "strided", "any"]))
    if kind == "run":
        a = data.draw(st.integers(0, rows - 1))
        comps = np.arange(a, data.draw(st.integers(a + 1, rows)))
    elif kind == "strided":
        stride = data.draw(st.sampled_from([d for d in range(1, rows + 1) if rows % d == 0]))
        a = data.draw(st.integers(0, stride - 1))
        size = data.draw(st.integers(1, stride - a))
        d0 = data.draw(st.integers(0, rows // stride - 1))
        copies = data.draw(st.integers(1, rows // stride - d0))
        comps = ((d0 * stride + a) + np.arange(size)[None, :]
                 + stride * np.arange(copies)[:, None]).ravel()
    else:
        comps = np.array(sorted(data.draw(st.sets(st.integers(0, rows - 1), min_size=1))))
    k, n = 2, 3
    rng = np.random.default_rng(len(comps))
    arr = rng.random((k, rows, n))
    blk = _Block(comps, k, rows, n)
    got = blk.get(arr)
    np.testing.assert_array_equal(got, arr[:, comps, :])
    got[...] = -1.0  # a copy: the array is untouched
    np.testing.assert_array_equal(arr[:, comps, :], blk.get(arr))
    values = rng.random((k, len(comps), n))
    want = arr.copy()
    want[:, comps, :] = values
    blk.set(arr, values)
    np.testing.assert_array_equal(arr, want)


def test_level_block_of_a_run_crossing_a_stride_is_read_by_index():
    from semigraph.engine.propagation import _Block

    comps = np.array([3, 4, 5, 8, 9, 10])  # runs of 3 at a stride of 5 cross 5 and 10
    arr = np.arange(2 * 15 * 1, dtype=float).reshape(2, 15, 1)
    blk = _Block(comps, 2, 15, 1)
    assert blk.view is None
    np.testing.assert_array_equal(blk.get(arr), arr[:, comps, :])
