"""The tied reading in the commands beyond what-if: spof, stockpile, warn, map, report, diff.

Each command's tied figure is held against :func:`semigraph.engine.propagation.evaluate` on
the small chain with qualification times and stock spreads, where the tied reading differs
from the pooled one, and each command's ``--help`` says which readings it uses.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import semigraph
from semigraph.engine.propagation import evaluate
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.findings.cutsets import cut_sets
from tests.datasets import small_tables, write_dataset


def tied_small_tables():
    """The small chain of tests.datasets with gallium's buyers (30 days of stock, the
    thinnest 5) tied to their supplier for 100 days and the wafer's (10 days, the thinnest
    2) for 60: China's stop sends the first tied gallium buyers short on day 10, where the
    pooled stock lasts to day 33."""
    t = small_tables()
    for row in t["components"]:
        if row["id"] == "gallium":
            row.update(stock_days=30, stock_days_min=5, qualify_days=100)
        if row["id"] == "wafer":
            row.update(stock_days=10, stock_days_min=2, qualify_days=60)
    return t


@pytest.fixture
def tied_path(tmp_path):
    return write_dataset(tmp_path / "tied", tied_small_tables())


@pytest.fixture
def tied(tied_path):
    return semigraph.load(tied_path)


def _one(model, *cuts, horizon=365, perspective=None):
    """evaluate() of one scenario, as ``{component: (pooled, high, tied, tied short day)}``."""
    ev = evaluate(model, Scenario(tuple(u if isinstance(u, Disruption) else Disruption(u)
                                        for u in cuts), horizon=horizon,
                                  perspective=perspective))
    c = ev.compiled
    return {x: (float(ev.availability[i, 0]), float(ev.availability_high[i, 0]),
                float(ev.availability_tied[i, 0]), int(ev.tied_short_from_day[i, 0]))
            for x, i in c.index.items()}


def test_the_dataset_separates_the_readings(tied):
    # the premise of every test below
    got = _one(tied, "CHN", horizon=40)["gallium"]
    assert got[0] == pytest.approx(0.1) and got[2] > got[0] + 0.1
    assert _one(tied, "CHN")["gallium"][3] == 10


# ---- spof ----------------------------------------------------------------------------------

def test_spof_reports_the_tied_reading_of_each_set_found(tied):
    frame = cut_sets(tied, ["gallium", "car"], level="country", horizon=40)
    assert "availability_tied" in frame.columns
    rows = {(t, tuple(u)): r for t, u, r in zip(frame["target"], frame["units"],
                                                  frame.itertuples())}
    # within 40 days the pooled stock of gallium is gone (day 33) while the thicker tied
    # buyers still hold some: China is a cut set of gallium on the pooled reading only
    gallium = rows[("gallium", ("CHN",))]
    expected = _one(tied, "CHN", horizon=40)["gallium"]
    assert gallium.availability == pytest.approx(expected[0])
    assert gallium.availability_high == pytest.approx(expected[1])
    assert gallium.availability_tied == pytest.approx(expected[2])
    assert gallium.availability_tied > gallium.availability + 0.1
    for (target, units), r in rows.items():
        assert r.availability_tied == pytest.approx(_one(tied, *units, horizon=40)[target][2])
    # the search stays on the pooled reading: within 30 days China's stop leaves gallium
    # full pooled (stocks last to day 33) and 0.46 tied, and is no cut set
    assert _one(tied, "CHN", horizon=30)["gallium"][0] == 1.0
    assert _one(tied, "CHN", horizon=30)["gallium"][2] < 0.5
    assert cut_sets(tied, ["gallium"], level="country", horizon=30).empty


def test_spof_steady_measure_gives_every_reading_the_static_bound(tied):
    frame = cut_sets(tied, ["car"], level="country", measure="steady")
    assert (frame["availability_tied"] == frame["availability"]).all()


def test_spof_cli_shows_and_writes_the_tied_column(run, tied_path):
    out = run("spof", "--target", "gallium", "--horizon", 40, "--dataset", tied_path,
                 "--format", "json")
    records = {r["units"][0]: r for r in json.loads(out.output)}
    assert records["CHN"]["availability_tied"] == pytest.approx(
        _one(semigraph.load(tied_path), "CHN", horizon=40)["gallium"][2])
    table = run("spof", "--target", "gallium", "--horizon", 40, "--dataset", tied_path)
    assert "tied" in table.output and "buyers tied to their supplier" in table.output
    text = " ".join(run("spof", "--help").output.split())
    assert "search runs on the pooled reading" in text and "tied reading" in text


# ---- stockpile -----------------------------------------------------------------------------

def test_stockpile_reports_when_the_first_tied_buyers_run_out(tied):
    from semigraph.findings.stockpile import stockpile

    frame = stockpile(tied).set_index("component")
    gallium = frame.loc["gallium"]
    assert gallium["worst_scenario"] == "CHN cut"
    expected = _one(tied, "CHN", horizon=730)["gallium"]
    ev = evaluate(tied, Scenario((Disruption("CHN"),), horizon=730, title="CHN cut"))
    i = ev.compiled.index["gallium"]
    # pooled, the 30 days last to day 33; tied, the thinnest of the buyers tied to China
    # (10 days, the first of five between 5 and 55) run out on day 10
    assert gallium["time_to_survive_days"] == int(ev.time_to_survive[i, 0]) == 33
    assert gallium["tied_short_from_day"] == expected[3] == 10
    assert gallium["availability_tied"] == pytest.approx(expected[2])
    assert gallium["availability"] == pytest.approx(expected[0])
    # the ranking is the pooled one: the score is product loss x pooled exposed days
    assert gallium["score"] == pytest.approx(gallium["product_loss"]
                                             * gallium["exposed_days"])
    assert str(frame["tied_short_from_day"].dtype) == "Int64"


def test_stockpile_cli_shows_the_tied_column_and_says_which_reading(run, tied_path):
    out = run("stockpile", "--dataset", tied_path, "--format", "json")
    rows = {r["component"]: r for r in json.loads(out.output)}
    assert rows["gallium"]["tied_short_from_day"] == 10
    table = run("stockpile", "--dataset", tied_path, "--limit", 0)
    assert "tied_short" in table.output and "buyers tied to their supplier" in table.output
    text = " ".join(run("stockpile", "--help").output.split())
    assert "pooled reading" in text and "tied reading" in text


# ---- warn ----------------------------------------------------------------------------------

def test_warn_carries_the_tied_reading_per_product(tied):
    from semigraph.findings.warn import (
        PRODUCT_COLUMNS,
        parse_measure,
        warning,
        warning_html,
        warning_markdown,
        warning_summary,
    )

    w = warning(tied, parse_measure("export stop from CHN", tied))
    p = w.products.set_index("component")
    assert {"availability_tied", "tied_short_from_day"} <= set(PRODUCT_COLUMNS)
    assert str(w.products["tied_short_from_day"].dtype) == "Int64"
    expected = _one(tied, "CHN")
    for comp in ("gallium", "car"):
        assert p.at[comp, "availability_tied"] == pytest.approx(expected[comp][2])
        assert p.at[comp, "tied_short_from_day"] == expected[comp][3]
    assert (p.at["gallium", "tied_short_from_day"], p.at["car", "tied_short_from_day"]) == \
        (10, 25)
    assert "run out earlier, on day 10 (gallium" in warning_summary(w)
    md = warning_markdown(w)
    assert "| gallium | Gallium | materials\\_equipment | hit | 33 | 10 | 0.10 | 0.10 |" in md
    assert "Tied: buyers tied to their supplier until they qualify another" in md
    page = warning_html(w)
    assert "<th>first tied buyers short</th>" in page and "buyers tied to their supplier" in page


def test_warn_lists_a_product_short_only_in_the_tied_reading(tied):
    from semigraph.findings.warn import parse_measure, warning, warning_summary

    # a US stop of gallium leaves all of it to the buyers tied to China and none to those
    # tied to the US (10% of demand): pooled, 30 days of stock would cover the 0.1 gap for
    # 300 days, and supply is back on day 200
    w = warning(tied, parse_measure("export stop of gallium from USA", tied), horizon=365)
    p = w.products.set_index("component")
    expected = _one(tied, Disruption("gallium@USA", mode="export"))["gallium"]
    assert expected[0] == 1.0 and expected[2] < 0.99
    assert p.at["gallium", "availability"] == 1.0
    assert p.at["gallium", "availability_tied"] == pytest.approx(expected[2])
    assert p.at["gallium", "tied_short_from_day"] == expected[3] == 10
    assert pd.isna(p.at["gallium", "time_to_survive_days"])
    assert warning_summary(w).startswith("Nothing goes short within 365 days with every "
                                         "user rationed alike; the first buyers tied")


def test_warn_cli_csv_and_help(run, tied_path, tmp_path):
    out = tmp_path / "w.csv"
    run("warn", "export stop from CHN", "--dataset", tied_path, "-o", out)
    frame = pd.read_csv(out).set_index("component")
    assert frame.at["gallium", "tied_short_from_day"] == 10
    text = " ".join(run("warn", "--help").output.split())
    assert "tied reading" in text and "pooled" in text


# ---- map and report ------------------------------------------------------------------------

def test_map_labels_nodes_with_the_tied_reading(tied):
    from semigraph.render import map_source

    scen = Scenario((Disruption("CHN"),), horizon=40)
    risk = tied.risk(scen)
    expected = _one(tied, "CHN", horizon=40)
    for comp in ("gallium", "wafer", "car"):
        assert risk.table.at[comp, "availability_tied"] == pytest.approx(expected[comp][2])
        assert risk.table.at[comp, "availability_high"] == pytest.approx(expected[comp][1])
    src = map_source(tied.map(scen))
    # gallium: 10% pooled, 28% tied; the wafer is full pooled within 40 days but 57% tied,
    # so it is drawn (it loses supply in the tied reading) and labelled with it
    assert f"10% available · tied {expected['gallium'][2]:.0%}" in src
    assert f"100% available · tied {expected['wafer'][2]:.0%}" in src
    assert (f"{expected['gallium'][0]:.2f} every user rationed alike, "
            f"{expected['gallium'][1]:.2f} the chain served first, "
            f"{expected['gallium'][2]:.2f} buyers tied to their supplier") in src
    assert "buyers tied to their supplier until they qualify" in src  # the legend
    assert "lose supply (pooled or tied)" in src


def test_map_and_report_help_say_which_reading(run):
    text = " ".join(run("map", "--help").output.split())
    assert "pooled reading" in text and "tied reading" in text
    text = " ".join(run("report", "--help").output.split())
    assert "tied reading" in text and "buyers tied to their supplier" in text


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="Graphviz dot is not "
                    "installed (apt-get install graphviz)")
def test_report_tables_carry_the_tied_reading(tied, tmp_path):
    import re

    out = tied.report([Scenario((Disruption("CHN"),), title="China stops")],
                      tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert "<th>available (tied)</th>" in text and "<th>tied short from day</th>" in text
    assert "buyers tied to their supplier until they qualify another" in text
    ranked = text[text.index('<table class="ranked"'):]
    row = re.search(r"<tr><td>gallium</td>(.*?)</tr>", ranked).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    head = re.findall(r"<th>([^<]*)</th>", ranked[:ranked.index("</thead>")])[1:]
    got = dict(zip(head, cells))
    expected = _one(tied, "CHN")["gallium"]
    assert got["available (tied)"] == f"{expected[2]:.0%}"
    assert got["tied short from day"] == str(expected[3]) == "10"
    assert got["short from day"] == "33"


# ---- diff ----------------------------------------------------------------------------------

@pytest.fixture
def untied_path(tmp_path):
    """The same chain with gallium's buyers free to change supplier at once."""
    t = tied_small_tables()
    for row in t["components"]:
        if row["id"] == "gallium":
            row["qualify_days"] = 0
    return write_dataset(tmp_path / "untied", t)


@pytest.mark.parametrize("suffix", ["json", "csv", "parquet"])
def test_diff_reports_a_change_of_the_tied_reading_alone(tied, untied_path, tmp_path, suffix):
    # US gallium stops: 30 days of stock cover the pooled gap of 0.1 until supply is back on
    # day 200, but the buyers tied to the US rows run dry from day 10 while they are tied
    cut = Disruption("gallium@USA", mode="export")
    untied = semigraph.load(untied_path)
    a, b = tmp_path / f"untied.{suffix}", tmp_path / f"tied.{suffix}"
    untied.whatif(cut).to_file(a)
    tied.whatif(cut).to_file(b)
    before, after = _one(untied, cut)["gallium"], _one(tied, cut)["gallium"]
    assert before[0] == after[0] == 1.0 and before[2] == 1.0 and after[2] < 0.99
    t = semigraph.diff(a, b).table.set_index("component")
    row = t.loc["gallium"]
    assert row["status"] == "changed"
    assert row["availability_change"] == 0
    assert row["availability_tied_a"] == pytest.approx(before[2])
    assert row["availability_tied_b"] == pytest.approx(after[2])
    assert row["availability_tied_change"] == pytest.approx(after[2] - before[2])
    # the first tied day short is compared though A has none at all (an empty column)
    assert pd.isna(row["tied_short_from_day_a"]) and row["tied_short_from_day_b"] == 10
    for col in ("exposed_share", "tied_lost_days", "output", "output_high", "output_tied"):
        assert f"{col}_change" in t.columns
    assert row["why"] == "supply behind it changed (no bottleneck named)"
    assert t.index[0] == "gallium"  # the largest change of availability in any reading


def test_diff_orders_by_the_largest_change_in_any_reading():
    a = pd.DataFrame({"component": ["x", "y"], "availability": [0.5, 0.5],
                      "availability_high": [0.6, 0.6], "availability_tied": [0.5, 0.5]})
    b = pd.DataFrame({"component": ["x", "y"], "availability": [0.6, 0.5],
                      "availability_high": [0.6, 0.6], "availability_tied": [0.5, 0.1]})
    t = semigraph.diff(a, b).table
    assert t["component"].tolist() == ["y", "x"]
    assert t["status"].tolist() == ["changed", "changed"]


def test_diff_cli_on_two_dataset_versions_shows_the_tied_column(run, tied_path,
                                                               untied_path):
    out = run("diff", untied_path, tied_path, "--cut", "gallium@USA")
    assert "availability_tied_change" in out.output and "gallium" in out.output
    rows = json.loads(run("diff", untied_path, tied_path, "--cut", "gallium@USA",
                             "--format", "json").output)
    gallium = next(r for r in rows if r["component"] == "gallium")
    assert gallium["status"] == "changed"
    assert gallium["availability_tied_b"] == pytest.approx(
        _one(semigraph.load(tied_path), "gallium@USA")["gallium"][2])
    text = " ".join(run("diff", "--help").output.split())
    assert "availability_tied" in text and "buyers tied to their supplier" in text
