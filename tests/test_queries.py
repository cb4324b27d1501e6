"""Every saved scenario in queries/ parses strictly and runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from semigraph.cli import cli
from semigraph.engine.scenario import read_scenario
from semigraph.errors import ScenarioError

QUERIES = sorted((Path(__file__).parents[1] / "queries").glob("*.toml"))


def test_there_are_saved_scenarios():
    assert len(QUERIES) >= 7


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_runs(path):
    result = CliRunner().invoke(cli, ["run", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert min(r["steady_state"] for r in records) < 1.0  # if never restored, it hurts
    for r in records:
        assert 0.0 <= r["steady_state"] <= r["availability"] + 1e-12
        assert r["availability"] <= r["availability_high"] + 1e-12 <= 1.0 + 1e-12


def by_component(path, *extra):
    result = CliRunner().invoke(cli, ["run", str(path), "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return {r["component"]: r for r in json.loads(result.output)}


QDIR = Path(__file__).parents[1] / "queries"


def test_nexperia_assembly_not_front_end_is_the_bottleneck():
    # the 2025 stop without the 28 days after which exemptions came: a lasting stop
    r = by_component(QDIR / "nexperia-2025.toml", "--duration", "365",
                     "--horizon", "365")
    assert r["discrete-die"]["availability"] == 1.0  # front-end in Europe is untouched
    assert r["automotive-discretes"]["availability"] < 1.0
    assert "discrete-assembly" in r["automotive-discretes"]["bottleneck"]
    # the users' stock cover of weeks runs out before requalification (months) restores
    # supply; the assembly step itself holds no stock, so it is short from the first day
    ad = r["automotive-discretes"]
    assert r["discrete-assembly"]["time_to_survive_days"] == 0
    assert 0 < ad["time_to_survive_days"] < ad["recovery_day"]
    assert ad["stock_days"] < 60 < ad["ttr_days"]
    # as it happened: exemptions on day 28, before the users' stocks ran out
    assert by_component(QDIR / "nexperia-2025.toml")["automotive-discretes"]["availability"] \
        == 1.0


def test_us_gallium_ban_leaves_others_untouched():
    r = by_component(QDIR / "gallium-germanium-us-ban-2024.toml")
    assert r["gallium"]["availability"] < 0.1
    assert r["gallium"]["world_availability"] == 1.0


def test_helium_3_shortage_reaches_quantum_computers():
    r = by_component(QDIR / "helium-3-shortage.toml")
    assert r["quantum-computer"]["availability"] < 1.0
    assert "helium-3" in r["quantum-computer"]["bottleneck"]


def test_scenario_typo_is_rejected_with_suggestion(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\nperspectiv = "NLD"\n[[disruption]]\nunit = "CHN"\n')
    with pytest.raises(ScenarioError, match="did you mean 'perspective'"):
        read_scenario(bad)
    bad.write_text('[[disruption]]\nunit = "CHN"\nseverty = 0.5\n')
    with pytest.raises(ScenarioError, match="did you mean 'severity'"):
        read_scenario(bad)
    result = CliRunner().invoke(cli, ["run", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_run_writes_declared_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(
        '[[disruption]]\nunit = "TWN"\n[[output]]\npath = "out.csv"\n')
    result = CliRunner().invoke(cli, ["run", "s.toml", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.csv").read_text().startswith("component,name,stage,availability")


def test_a_mistyped_scenario_file_name_gets_a_suggestion(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from semigraph.cli import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "nexperia-2025.toml").write_text(
        '[[disruption]]\nunit = "nexperia@CHN"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "queries/nexpera-2025.toml"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "did you mean 'queries/nexperia-2025.toml'" in result.output
