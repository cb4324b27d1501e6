"""semigraph backtest: verdicts by hand, the saved episodes, and bad observations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from semigraph.cli import cli
from semigraph.engine.backtest import VERDICTS, interval_score, verdict
from semigraph.engine.scenario import Observation, read_scenario
from semigraph.errors import ScenarioError

QDIR = Path(__file__).parents[1] / "queries"


def obs(avail, days=None, never=False):
    return Observation(component="x", availability=avail, source="s", days_to_impact=days,
                       never_short=never)


@pytest.mark.parametrize(("o", "low", "high", "days", "pooled", "want"), [
    (obs((0.7, 1.0)), 0.5, 0.8, None, None, "within"),  # ranges meet
    (obs((0.7, 1.0)), 0.5, 0.6, 40, 40, "too severe"),  # even the highest reading is below
    (obs((0.7, 0.9)), 0.95, 1.0, None, None, "too mild"),  # even the lowest is above
    (obs((0.7, 0.9)), 0.904, 1.0, 10, 10, "within"),  # equal as printed (two decimals)
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, None, None, "too mild"),  # never short
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, 10, 12, "too early"),  # first buyers too early
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, 61, 61, "too late"),
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, 20, 25, "within"),
    (obs((0.8, 0.95), (20, 60)), 0.97, 1.0, 10, None, "too mild; too early"),  # both named
    (obs((0.8, 0.95), (20, 60)), 0.5, 0.7, 70, 70, "too severe; too late"),
    (obs((0.99, 1.0), never=True), 0.9, 1.0, 5, None, "within"),  # pooled never short
    (obs((0.99, 1.0), never=True), 0.9, 1.0, 5, 30, "too severe"),
])
def test_verdict_by_hand(o, low, high, days, pooled, want):
    assert verdict(o, low, high, days, pooled)[0] == want


@pytest.mark.parametrize(("observed", "low", "high", "want"), [
    ((0.8, 0.9), 0.85, 0.85, 0.0),  # a point inside the observed range: perfect
    ((0.8, 0.9), 0.0, 1.0, 1.0),  # the answer that says nothing scores 1
    ((0.8, 0.9), 0.95, 1.0, 0.05 + 10 * 0.05),  # width plus ten times the gap
    ((0.8, 0.9), 0.5, 0.7, 0.2 + 10 * 0.1),
])
def test_interval_score_by_hand(observed, low, high, want):
    assert interval_score(observed, low, high) == pytest.approx(want)


def test_backtest_runs_every_episode():
    result = CliRunner().invoke(cli, ["backtest", str(QDIR), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    episodes = {p.stem for p in QDIR.glob("*.toml") if read_scenario(p).observed}
    assert len(episodes) >= 16 and {r["scenario"] for r in rows} == episodes
    for r in rows:
        assert set(r["verdict"].split("; ")) <= set(VERDICTS) and r["source"]
        assert r["model_low"] - 1e-12 <= r["model_tied"] <= r["model_high"] + 1e-12
        assert r["score"] == pytest.approx(interval_score(
            (r["observed_low"], r["observed_high"]), r["model_low"], r["model_high"]))
        if r["verdict"] == "within":
            assert r["observed_low"] - 0.005 <= r["model_high"]
            assert r["model_low"] <= r["observed_high"] + 0.005


def test_episodes_where_buyers_output_was_lost():
    # issue 23: episodes in which a downstream buyer's production fell, each observed with a
    # sourced range below normal, a first day short, and a note showing how it was derived
    import semigraph

    stages = semigraph.load().components.set_index("id")["stage"]
    lost = {}
    for path in QDIR.glob("*.toml"):
        for o in read_scenario(path).observed:
            if o.of == "output" and stages[o.component] == "end_use" and o.availability[1] < 1:
                lost.setdefault(path.stem, []).append(o)
    assert len(lost) >= 6, sorted(lost)
    assert {"malaysia-lockdown-2021", "kumamoto-earthquake-2016", "hubei-lockdown-2020",
            "thailand-floods-2011"} <= set(lost)
    for stem, observations in lost.items():
        for o in observations:
            assert o.days_to_impact is not None, stem
            assert o.days_to_impact[0] <= o.days_to_impact[1], stem
            assert o.availability[0] < o.availability[1] < 1, stem
            if not isinstance(o.source, str):  # a publication named in the file has a url
                assert o.source.url and o.source.url.startswith("http"), stem
            assert any(ch.isdigit() for ch in o.note), f"{stem}: a range without arithmetic"


def test_backtest_table(tmp_path, monkeypatch):
    monkeypatch.chdir(QDIR.parent)
    result = CliRunner().invoke(cli, ["backtest"])
    assert result.exit_code == 0, result.output
    assert "observations within" in result.output and "hualien-earthquake-2024" in result.output
    assert "mean interval score" in result.output


@pytest.mark.parametrize(("body", "message"), [
    ('component = "galium"\navailability = [0.5, 1]\nsource = "usgs-mcs-2024"',
     "did you mean 'gallium'"),
    ('component = "gallium"\navailability = [0.5, 1]\nsource = "nowhere"', "source 'nowhere'"),
    ('component = "gallium"\navailability = [1, 0.5]\nsource = "usgs-mcs-2024"',
     "expected a range"),
    ('component = "gallium"\navailabilty = [0.5, 1]\nsource = "usgs-mcs-2024"',
     "did you mean 'availability'"),
])
def test_bad_observation_exits_2_naming_the_file(tmp_path, body, message):
    path = tmp_path / "episode.toml"
    path.write_text(f'[[disruption]]\nunit = "CHN"\n[[observed]]\n{body}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["backtest", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "episode.toml" in result.output
    assert "Traceback" not in result.output


def test_observation_range_checked_when_read(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[[disruption]]\nunit = "CHN"\n[[observed]]\ncomponent = "x"\n'
                    'availability = [0.5, 1.5]\nsource = "s"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"e\.toml: observed 1, availability"):
        read_scenario(path)


def test_episode_overrides_and_inline_sources(tmp_path):
    # the episode's own thin stock sends the Renesas buyers short sooner than the dataset's
    text = (QDIR / "renesas-naka-fire-2021.toml").read_text(encoding="utf-8")
    base = re.sub(r"\[\[override\]\].*?(?=\[\[)", "", text, flags=re.S)  # the dataset's stock
    thin = tmp_path / "thin.toml"
    thin.write_text(base.replace('source = "est-obs-renesas-2021"', 'source = { publisher = '
                                 '"Example", title = "An observation", year = 2021 }')
                    + '\n[[override]]\ncomponent = "automotive-mcu"\nstock_days = 2\n'
                    'source = { publisher = "Example", title = "Thin stocks" }\n',
                    encoding="utf-8")
    normal = tmp_path / "normal.toml"
    normal.write_text(base, encoding="utf-8")
    result = CliRunner().invoke(cli, ["backtest", str(thin), str(normal), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["scenario"]: r for r in json.loads(result.output)}
    assert rows["thin"]["source"] == "Example 2021"
    assert rows["thin"]["model_days"] is not None
    assert rows["normal"]["model_days"] is None or (
        rows["thin"]["model_days"] < rows["normal"]["model_days"])


@pytest.mark.parametrize(("body", "message"), [
    ('[[override]]\ncomponent = "automotive-mcu"\nstok_days = 5\nsource = "doc-2022-rfi"',
     "did you mean 'stock_days'"),
    ('[[override]]\ncomponent = "automotive-mcu"\nsource = "doc-2022-rfi"', "sets nothing"),
    ('[[override]]\ncomponent = "automotive-mcx"\nstock_days = 5\nsource = "doc-2022-rfi"',
     "did you mean 'automotive-mcu'"),
    ('[[override]]\ncomponent = "automotive-mcu"\nstock_days = -1\nsource = "doc-2022-rfi"',
     "number of days"),
    ('[[observed]]\ncomponent = "gallium"\nof = "outputs"\navailability = [0.5, 1]\n'
     'source = "usgs-mcs-2024"', "of must be one of"),
    ('[[observed]]\ncomponent = "gallium"\nnever_short = true\navailability = [0.5, 1]\n'
     'source = "usgs-mcs-2024"', "drop availability"),
    ('[[observed]]\ncomponent = "gallium"\nnever_short = true\nsource = { title = "x" }',
     "needs publisher"),
])
def test_bad_override_or_measure_exits_2(tmp_path, body, message):
    path = tmp_path / "episode.toml"
    extra = "" if "[[observed]]" in body else ('\n[[observed]]\ncomponent = "gallium"\n'
                                               'never_short = true\nsource = "usgs-mcs-2024"')
    path.write_text(f'[[disruption]]\nunit = "CHN"\n{body}{extra}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["backtest", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "episode.toml" in result.output
    assert "Traceback" not in result.output


def test_output_of_a_countrys_plants_by_hand(small_path, tmp_path):
    """An output observation seen from a country measures that country's plants: wafer is
    made in JPN (0.6) and DEU (0.4), from gallium that nothing here disrupts."""
    import semigraph

    net = semigraph.load(small_path)
    path = tmp_path / "plants.toml"
    path.write_text(
        'horizon = 60\n'
        '[[disruption]]\nunit = "JPN"\nmode = "outage"\n'
        '[[disruption]]\nunit = "wafer@DEU"\nseverity = 0.25\n'
        '[[observed]]\ncomponent = "wafer"\nof = "output"\nperspective = "DEU"\n'
        'availability = [0.7, 0.8]\nsource = "src"\n'
        '[[observed]]\ncomponent = "wafer"\nof = "output"\nperspective = "JPN"\n'
        'availability = [0.0, 0.1]\nsource = "src"\n'
        '[[observed]]\ncomponent = "wafer"\nof = "output"\n'
        'availability = [0.0, 1.0]\nsource = "src"\n'
        '[[observed]]\ncomponent = "wafer"\nperspective = "DEU"\n'
        'availability = [0.0, 1.0]\nsource = "src"\n', encoding="utf-8")
    rows = {(r["perspective"], r["of"]): r
            for r in net.backtest([path]).table.to_dict("records")}
    deu, jpn, world, supply = (rows[("DEU", "output")], rows[("JPN", "output")],
                               next(r for (persp, of), r in rows.items()
                                    if of == "output" and not isinstance(persp, str)),
                               rows[("DEU", "supply")])
    # Germany's plants lose the quarter cut from them, nothing of Japan's stop
    assert deu["measured"] == "output of plants in DEU"
    assert (deu["model_low"], deu["model_high"]) == pytest.approx((0.75, 0.75))
    assert deu["verdict"] == "within"
    # Japan's plants stop
    assert jpn["measured"] == "output of plants in JPN"
    assert (jpn["model_low"], jpn["model_high"]) == pytest.approx((0.0, 0.0))
    # the default perspective keeps the world's production: 0.4 x 0.75 of it is left
    assert world["measured"] == "output"
    assert world["model_low"] == pytest.approx(0.3)
    # supply observations are untouched by the plants view: the world's wafers as Germany's
    # consumers get them, from 10 days of stock, then 0.3
    assert supply["measured"] == "supply"
    assert supply["model_high"] < 1.0 and supply["model_low"] >= 0.3 - 1e-9
