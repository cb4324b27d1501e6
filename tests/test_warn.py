"""Early warning: measures in words, the products and firms they hit by day, the briefing."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import semigraph
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.errors import ScenarioError
from semigraph.findings.warn import (
    FIRM_COLUMNS,
    LICENCE_DAYS,
    PRODUCT_COLUMNS,
    parse_measure,
    warning,
    warning_html,
    warning_markdown,
    warning_summary,
)
from tests.datasets import small_tables, write_dataset

HOSTILE = '<script>alert("x")</script> | *Sub* & [Co](javascript:alert(1))'


@pytest.fixture
def hostile(tmp_path):
    tables = small_tables()
    for firm in tables["firms"]:
        if firm["id"] == "subsid":
            firm["name"] = HOSTILE
    tables["sources"][0]["url"] = "https://example.org/a?b=1&c=<2>"
    return semigraph.load(write_dataset(tmp_path / "hostile", tables))


# ---- parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("export licence on gallium from CHN",
     [Disruption("gallium@CHN", 1.0, mode="export", duration_days=LICENCE_DAYS)]),
    ("Export license on Gallium from chn.",
     [Disruption("gallium@CHN", 1.0, mode="export", duration_days=60)]),
    ("export stop of gallium from CHN to USA, JPN",
     [Disruption("gallium@CHN", mode="export", to=("USA", "JPN"))]),
    ("ban on wafer from EU27", [Disruption("wafer@DEU", mode="export")]),  # DEU makes it
    ("outage at subsid@DEU", [Disruption("subsid@DEU", mode="outage")]),
    ("fire at fab", [Disruption("fab", mode="outage")]),
    ("outage of gallium", [Disruption("gallium", mode="outage")]),
    ("export stop from CHN at 50% for 30 days",
     [Disruption("CHN", 0.5, mode="export", duration_days=30)]),
    ("export licence on gallium from CHN for 90 days severity 0.7",
     [Disruption("gallium@CHN", 0.7, mode="export", duration_days=90)]),
    ("embargo on Litho A from NLD", [Disruption("litho-a@NLD", mode="export")]),  # by name
])
def test_parse(small, text, expected):
    scenario = parse_measure(text, small)
    assert list(scenario.disruptions) == expected
    assert scenario.perspective is None and scenario.title


@pytest.mark.parametrize(("text", "message"), [
    ("sanctions on gallium from CHN", "'sanctions on' is no measure"),
    ("export stop of unobtainium from CHN", "subject 'unobtainium'"),
    ("export stop of gallium from NDL", r"origin 'NDL'.*did you mean 'NLD'"),
    ("export stop of gallium from fab", "origin 'fab' is a firm"),
    ("ban on gallium from EU27", "no gallium is produced in EU27 .produced in: CHN, USA"),
    ("export stop of gallium", "say where the gallium comes from"),
    ("outage at fab to USA", "an outage loses supply for everyone"),
    ("export stop of gallium from CHN at lots", "severity 'lots'"),
    ("export stop of gallium from CHN for ever", "'for ever'"),
    ("export stop of gallium from CHN to wafer", "destination 'wafer' is a component"),
    ("export stop", "name what is hit"),
    ("", "measure is empty"),
    ("export stop from CHN at 150%", "severity"),
])
def test_parse_errors_name_what_was_not_understood(small, text, message):
    with pytest.raises(ScenarioError, match=message):
        parse_measure(text, small)


def test_licence_default_is_explained(small):
    scenario = parse_measure("export licence on gallium from CHN", small)
    assert "(60 days, as after China's gallium and germanium licensing" in scenario.description
    assert parse_measure("export licence on gallium from CHN for 90 days",
                         small).description == ""
    assert parse_measure("export stop of gallium from CHN", small).description == ""


def test_bundled_measures(bundled):
    examples = {
        "export licence on gallium from CHN": ["gallium@CHN (export) for 60 days"],
        "export stop of germanium from CHN to USA": ["germanium@CHN (export) to USA"],
        "ban on neon from RUS": ["neon@RUS (export)"],
        "outage at nexperia@CHN": ["nexperia@CHN (outage)"],
        "export stop of rare earths from CHN": ["rare-earths@CHN (export)"],
    }
    for text, expected in examples.items():
        assert [str(d) for d in parse_measure(text, bundled).disruptions] == expected


# ---- the warning on the small chain, by hand ----------------------------------------------
# gallium: CHN .9, USA .1, stock 30 days, restored on day 200. Cut CHN's 90%: consumers get
# 0.1 and draw 0.9 a day from stock, so day 33 is the first short day (stock 0.3 left,
# delivered 0.4), then 0.1 until day 200: lost 0.6 + 166 x 0.9 = 150.0 days.
# wafer (stock 10) sees 0.4 on day 33 (stock 9.4), then 0.1: short on day 33 + 1 + 10 = 44
# (stock 0.4, delivered 0.5); chip and car have no stock and follow the wafer:
# car lost 0.5 + 155 x 0.9 = 140.0 days, back on day 200.

def test_warning_by_hand(small):
    w = warning(small, parse_measure("export stop of gallium from CHN", small),
                perspective="NLD")
    p = w.products
    assert list(p.columns) == list(PRODUCT_COLUMNS)
    assert {c: str(t) for c, t in p.dtypes.items()} == PRODUCT_COLUMNS
    assert list(p["component"]) == ["gallium", "car"]
    assert list(p["role"]) == ["hit", "end product"]
    assert list(p["time_to_survive_days"]) == [33, 44]
    assert p["availability"].tolist() == pytest.approx([0.1, 0.1])
    assert p["lost_days"].tolist() == pytest.approx([150.0, 140.0])
    assert list(p["recovery_day"]) == [200, 200]
    assert p.loc[0, "sources"] == "src"
    f = w.firms
    assert list(f.columns) == list(FIRM_COLUMNS)
    assert {c: str(t) for c, t in f.dtypes.items()} == FIRM_COLUMNS
    assert list(f["firm"]) == ["subsid", "fab"]  # by the day their inputs go short
    assert list(f["inputs_short_day"]) == [33, 44]
    assert list(f["short_inputs"]) == ["gallium", "wafer"]
    assert list(f["dutch"]) == [True, False] and not f["hit_directly"].any()
    assert list(f["sites"]) == ["DEU", "TWN;USA"]
    assert f["lowest_input_availability"].tolist() == pytest.approx([0.1, 0.1])
    assert w.scenario.perspective == "NLD" and w.scenario.horizon == 365
    assert list(w.sources["id"]) == ["src"]
    assert warning_summary(w) == (
        "1 end-use product(s) and 1 other component(s) go short within 365 days; first "
        "gallium on day 33, down to 0.10 of normal supply; 1 Dutch firm(s) see inputs go "
        "short, first subsid on day 33.")


def test_an_export_ban_is_judged_where_each_firm_makes_things(small):
    scenario = parse_measure("export stop of gallium from CHN to USA", small)
    usa = warning(small, scenario, perspective="USA", horizon=100)
    assert list(usa.products["component"]) == ["gallium"]  # US wafer comes from JPN and DEU
    assert list(usa.products["time_to_survive_days"]) == [33]
    assert usa.scenario.horizon == 100
    # subsid makes wafer in DEU, outside the ban: its gallium keeps coming
    assert usa.firms["inputs_short_day"].isna().all()
    nld = warning(small, scenario, perspective="NLD")
    assert nld.products.empty
    assert warning_summary(nld).startswith("Nothing goes short within 365 days")


def test_an_outage_at_a_firm_site(small):
    w = warning(small, parse_measure("outage at subsid@DEU", small), perspective="NLD")
    # wafer keeps 0.6 and draws 0.4 a day from 10 days of stock: short on day 25, never back
    assert list(w.products["component"]) == ["wafer", "car"]
    assert list(w.products["time_to_survive_days"]) == [25, 25]
    assert w.products["availability"].tolist() == pytest.approx([0.6, 0.6])
    assert w.products["recovery_day"].tolist() == [365, 365]
    firms = w.firms.set_index("firm")
    assert firms.at["subsid", "hit_directly"] and pd.isna(firms.at["subsid",
                                                                   "inputs_short_day"])
    assert firms.at["fab", "inputs_short_day"] == 25
    assert warning_summary(w).endswith("; no Dutch firm sees its inputs go short; Dutch firms "
                                       "hit directly: subsid.")


def test_a_scenario_file_perspective_is_kept(small):
    s = Scenario((Disruption("gallium@CHN", mode="export"),), perspective="USA", horizon=50)
    w = warning(small, s)
    assert w.scenario.perspective == "USA" and w.scenario.horizon == 365
    with pytest.raises(semigraph.UnknownUnitError):
        warning(small, s, perspective="NDL")


# ---- the briefing ---------------------------------------------------------------------------

def test_markdown_briefing(small):
    w = warning(small, parse_measure("export stop of gallium from CHN", small),
                perspective="NLD")
    md = warning_markdown(w)
    assert md.startswith("# Early warning: export stop of gallium from CHN\n")
    assert "gallium@CHN: export stop" in md
    rows = [line for line in md.splitlines() if line.startswith("| gallium")]
    # no qualify_days: the tied buyers run out with the pooled stock (day 33, 0.10)
    assert rows == ["| gallium | Gallium | materials\\_equipment | hit | 33 | 33 | 0.10 | 0.10 "
                    "| 150.0 | 200 |"]
    assert md.index("| gallium") < md.index("| car")  # in order of impact day
    assert "## Dutch firms" in md and "| subsid | Subsidiary | NLD | CHN | wafer | 33 |" in md
    assert "| fab |" not in md  # only Dutch firms in the briefing
    assert "- src: Test, Test source (2024)" in md


def test_briefings_escape_every_text(hostile):
    w = warning(hostile, parse_measure("export stop of gallium from CHN", hostile),
                perspective="NLD")
    page = warning_html(w)
    assert "<script" not in page and "javascript:alert(1)</a>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; | *Sub* &amp; " in page
    assert 'href="https://example.org/a?b=1&amp;c=&lt;2&gt;"' in page
    # self-contained: nothing loaded from elsewhere, the only links are the sources'
    assert not re.search(r"<(link|img|iframe|script)\b|\bsrc=", page)
    assert re.findall(r'href="([^"]*)"', page) == ["https://example.org/a?b=1&amp;c=&lt;2&gt;"]
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    md = warning_markdown(w)
    line = next(x for x in md.splitlines() if x.startswith("| subsid"))
    assert "\\<script\\>" in line and "\\| \\*Sub\\* & \\[Co\\]" in line
    assert line.count(" | ") == 7  # the name's pipe does not add a column
    assert "<https://example.org/a?b=1&c=%3C2%3E>" in md


def test_bundled_licence_and_nexperia(bundled):
    w = warning(bundled, parse_measure("export licence on gallium from CHN", bundled),
                perspective="NLD")
    p = w.products
    assert p.loc[0, "component"] == "gallium"
    days = p["time_to_survive_days"].dropna().tolist()
    assert days == sorted(days)
    assert "est-gallium-china" in set(w.sources["id"])  # an estimate resting on USGS's 98%
    notes = bundled.sources.set_index("id")["note"]
    assert "usgs-mcs-2024" in notes["est-gallium-china"]
    nex = warning(bundled, parse_measure("outage at nexperia@CHN", bundled), perspective="NLD")
    firms = nex.firms.set_index("firm")
    assert firms.at["nexperia", "dutch"] and firms.at["nexperia", "hit_directly"]
    first = nex.products.iloc[0]
    assert first["component"] == "discrete-assembly" and first["role"] == "hit"
    assert set(nex.products.loc[nex.products["role"] == "end product", "stage"]) == {"end_use"}
    assert "automotive-ecu" in set(nex.products["component"])
    html_page = warning_html(nex)
    assert "Nexperia" in html_page and "<h2>Dutch firms</h2>" in html_page
