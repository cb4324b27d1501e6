"""semigraph backtest: verdicts by hand, the saved episodes, and bad observations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from semigraph.cli import cli
from semigraph.engine.backtest import VERDICTS, verdict
from semigraph.engine.scenario import Observation, read_scenario
from semigraph.errors import ScenarioError

QDIR = Path(__file__).parents[1] / "queries"


def obs(avail, days=None):
    return Observation(component="x", availability=avail, source="s", days_to_impact=days)


@pytest.mark.parametrize(("o", "low", "high", "days", "want"), [
    (obs((0.7, 1.0)), 0.5, 0.8, None, "within"),  # ranges meet
    (obs((0.7, 1.0)), 0.5, 0.6, 40, "model too severe"),  # even the upper bound is below
    (obs((0.7, 0.9)), 0.95, 1.0, None, "model too mild"),  # even the lower bound is above
    (obs((0.7, 0.9)), 0.904, 1.0, 10, "within"),  # equal as printed (two decimals)
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, None, "model too mild"),  # never short
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, 10, "model too severe"),  # short too early
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, 61, "model too mild"),  # short too late
    (obs((0.8, 0.95), (20, 60)), 0.9, 0.9, 20, "within"),
])
def test_verdict_by_hand(o, low, high, days, want):
    assert verdict(o, low, high, days)[0] == want


def test_backtest_runs_every_episode():
    result = CliRunner().invoke(cli, ["backtest", str(QDIR), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    episodes = {p.stem for p in QDIR.glob("*.toml") if read_scenario(p).observed}
    assert len(episodes) >= 8 and {r["scenario"] for r in rows} == episodes
    for r in rows:
        assert r["verdict"] in VERDICTS and r["source"]
        assert r["model_low"] <= r["model_high"] + 1e-12
        o = Observation(r["component"], (r["observed_low"], r["observed_high"]), r["source"],
                        None if r["observed_days_low"] is None else
                        (r["observed_days_low"], r["observed_days_high"]))
        assert verdict(o, r["model_low"], r["model_high"], r["model_days"])[0] == r["verdict"]


def test_backtest_table(tmp_path, monkeypatch):
    monkeypatch.chdir(QDIR.parent)
    result = CliRunner().invoke(cli, ["backtest"])
    assert result.exit_code == 0, result.output
    assert "observations within" in result.output and "hualien-earthquake-2024" in result.output


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
