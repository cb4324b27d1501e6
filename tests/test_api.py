"""The Python API: the README's notebook example, each command against the API call it
wraps, result metadata and formats, timelines, and the CLI's layering."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import semigraph
from semigraph.cli import COMMANDS, cli
from semigraph.compare import read_result

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return invoke


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the README's Python API section has a python example"
    return "\n".join(blocks)


def test_readme_notebook_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "queries").symlink_to(ROOT / "queries")
    namespace: dict = {}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    res = namespace["res"]
    assert isinstance(res, semigraph.WhatIfResult)
    assert len(res.timeline) == 366


def _records(output: str) -> pd.DataFrame:
    return pd.DataFrame(json.loads(output))


def _same(cli_frame: pd.DataFrame, api_frame: pd.DataFrame, columns) -> None:
    a = cli_frame[columns].reset_index(drop=True)
    b = pd.DataFrame(json.loads(api_frame.to_json(orient="records")))[columns]
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_whatif_command_is_the_api_call(run, small, small_path):
    out = _records(run("whatif", "--cut", "TWN", "--dataset", small_path, "--format",
                       "json").output)
    api = small.whatif("TWN").table
    _same(out, api, ["component", "availability", "availability_high", "steady_state",
                     "lost_days", "bottleneck"])


def test_run_spof_concentration_stockpile_commands_are_the_api_calls(run, small,
                                                                     small_path, tmp_path):
    scen = tmp_path / "s.toml"
    scen.write_text('title = "t"\n[[disruption]]\nunit = "JPN"\n', encoding="utf-8")
    out = _records(run("run", scen, "--dataset", small_path, "--format", "json").output)
    _same(out, small.run(scen).table, ["component", "availability", "lost_days"])
    out = _records(run("spof", "--target", "car", "--dataset", small_path, "--format",
                       "json").output)
    _same(out, small.spof("car").table, ["target", "order", "availability"])
    out = _records(run("concentration", "--dataset", small_path, "--format", "json").output)
    _same(out, small.concentration().table, ["component", "hhi", "top", "top_share"])
    out = _records(run("concentration", "--matrix", "--dataset", small_path, "--format",
                       "json").output)
    _same(out, small.dependency_matrix().table, list(out.columns))
    out = _records(run("stockpile", "--dataset", small_path, "--format", "json").output)
    api = small.stockpile().table
    assert len(api) == 2  # the small dataset has two candidates
    _same(out, api, ["component", "score"])


def test_info_and_validate_commands_are_the_api_calls(run, small, small_path):
    rec = json.loads(run("info", "--dataset", small_path, "--format", "json").output)
    assert rec == json.loads(json.dumps(small.info()))
    problems = json.loads(run("validate", small_path, "--format", "json").output)
    folder, api = semigraph.validate(small_path)
    assert folder == str(small_path) and len(problems) == len(api)


def test_backtest_command_is_the_api_call(run, tmp_path):
    net = semigraph.load()
    path = ROOT / "queries" / "ukraine-neon-2022.toml"
    out = _records(run("backtest", path, "--format", "json").output)
    _same(out, net.backtest([path]).table, ["component", "model_low", "model_high", "verdict"])


def test_sweep_command_is_the_api_call(run, small, small_path, tmp_path):
    out = tmp_path / "pairs.parquet"
    run("sweep", "--order", "2", "--all", "--horizon", "90", "--dataset", small_path, "-o", out)
    api = small.sweep("country", order=2, all_components=True, horizon=90)
    pd.testing.assert_frame_equal(pd.read_parquet(out), api.table, check_dtype=False)
    assert semigraph.read_result_meta(out)["order"] == 2
    text = run("sweep", "--measure", "steady", "--dataset", small_path).output
    worst = small.sweep("country", measure="steady").summary.iloc[0]
    assert re.search(rf"^{worst['scenario']}\s+{worst['lowest']:.3f}", text, re.M), text


def test_gaps_command_is_the_api_call(run, small, small_path, tmp_path):
    sup = small.supply.dropna(subset=["share"]).iloc[0]
    stocked = small.components.dropna(subset=["stock_days"]).iloc[0]
    ranges = tmp_path / "ranges.csv"
    pd.DataFrame([
        ["supply", f"{sup['component']}/{sup['supplier']}/{sup['site']}", "share",
         sup["share"] / 2, sup["share"], None, "test"],
        ["components", stocked["id"], "stock_days", 0, stocked["stock_days"] * 2, None, "test"],
    ], columns=["table", "key", "column", "low", "high", "source", "reason"]).to_csv(
        ranges, index=False)
    scen = tmp_path / "twn.toml"
    scen.write_text('[[disruption]]\nunit = "TWN"\nmode = "outage"\n', encoding="utf-8")
    out = tmp_path / "gaps.csv"
    run("gaps", scen, "--ranges", ranges, "--dataset", small_path, "-o", out)
    api = small.gaps(scen, ranges=ranges, top=10)
    pd.testing.assert_frame_equal(pd.read_csv(out), api.table, check_dtype=False)


def test_map_and_report_commands_are_the_api_calls(run, small, small_path, tmp_path):
    from semigraph.render import map_source

    run("map", "--cut", "TWN", "--dataset", small_path, "-o", tmp_path / "m.dot")
    api = map_source(small.map(small.whatif("TWN", explain=False)))
    assert (tmp_path / "m.dot").read_text(encoding="utf-8") == api
    run("map", "--countries", "--dataset", small_path, "-o", tmp_path / "c.dot")
    assert (tmp_path / "c.dot").read_text(encoding="utf-8") == \
        map_source(small.map(countries=True))
    pytest.importorskip("graphviz")
    from semigraph.render.dot import find_dot

    try:
        find_dot()
    except semigraph.SemigraphError:
        pytest.skip("Graphviz's dot is not installed")
    run("report", "--cut", "TWN", "--dataset", small_path, "-o", tmp_path / "r.html")
    small.report([small.scenario("TWN")], tmp_path / "api.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == \
        (tmp_path / "api.html").read_text(encoding="utf-8")


#: Every command and the test here that runs it next to the API call it wraps.
API_TESTS = {
    "whatif": "test_whatif_command_is_the_api_call",
    "run": "test_run_spof_concentration_stockpile_commands_are_the_api_calls",
    "spof": "test_run_spof_concentration_stockpile_commands_are_the_api_calls",
    "concentration": "test_run_spof_concentration_stockpile_commands_are_the_api_calls",
    "stockpile": "test_run_spof_concentration_stockpile_commands_are_the_api_calls",
    "info": "test_info_and_validate_commands_are_the_api_calls",
    "validate": "test_info_and_validate_commands_are_the_api_calls",
    "backtest": "test_backtest_command_is_the_api_call",
    "map": "test_map_and_report_commands_are_the_api_calls",
    "report": "test_map_and_report_commands_are_the_api_calls",
    "diff": "test_diff_command_on_two_files_and_two_datasets",
    "import": "test_import_commands_are_the_api_calls",
    "dataset": "test_dataset_merge_command_is_the_api_call",
    "indicators": "test_indicators_and_warn_commands_are_the_api_calls",
    "warn": "test_indicators_and_warn_commands_are_the_api_calls",
    "sweep": "test_sweep_command_is_the_api_call",
    "gaps": "test_gaps_command_is_the_api_call",
}


def test_every_command_is_tested_against_the_api():
    assert set(COMMANDS) == set(API_TESTS)
    for name, test in API_TESTS.items():
        assert callable(globals().get(test)), f"{name}: no {test}"
        body = ast.get_source_segment(Path(__file__).read_text(encoding="utf-8"),
                                      next(n for n in ast.parse(Path(__file__).read_text(
                                          encoding="utf-8")).body
                                          if isinstance(n, ast.FunctionDef) and n.name == test))
        assert f'"{name}"' in body, f"{test} does not run `semigraph {name}`"


def test_cli_imports_only_the_api():
    allowed = ("semigraph", "semigraph.errors", "semigraph.io.write", "semigraph.render",
               "semigraph.render.dot", "semigraph._text", "semigraph._version",
               "semigraph.cli")
    for path in (ROOT / "semigraph" / "cli").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("semigraph"):
                mod = node.module
                assert mod in allowed or mod.startswith("semigraph.cli."), \
                    f"{path.name} imports {mod}: the command line goes through the API"


def test_renderers_do_not_run_the_engine():
    for path in (ROOT / "semigraph" / "render").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("propagation", "evaluate(", "whatif(", "cut_sets", "spof_suppliers("):
            assert name not in text.replace("semigraph.findings.risk.spof_suppliers", ""), \
                f"{path.name} mentions {name}"


def test_timeline_lowest_day_is_the_availability(small):
    for kwargs in ({}, {"perspective": "JPN"}, {"duration": 20}):
        res = small.whatif("TWN", horizon=120, **kwargs)
        t = res.table.set_index("component")
        assert res.timeline.shape == (121, len(t))
        assert np.allclose(res.timeline.min().reindex(t.index), t["availability"])
        assert np.allclose(res.timeline_high.min().reindex(t.index), t["availability_high"])
        assert (res.timeline_high.to_numpy() >= res.timeline.to_numpy() - 1e-12).all()


def test_whatif_columns_and_types_survive_every_format(small, tmp_path):
    res = small.whatif("TWN")
    table = res.table
    for fmt in ("csv", "json", "parquet", "xlsx"):
        path = res.to_file(tmp_path / f"r.{fmt}")
        back, meta = read_result(path)
        assert list(back.columns) == list(table.columns), fmt
        assert np.allclose(back["availability"].astype(float), table["availability"]), fmt
        assert np.allclose(back["lost_days"].astype(float), table["lost_days"]), fmt
        assert pd.to_numeric(back["time_to_survive_days"]).fillna(-1).tolist() == \
            table["time_to_survive_days"].fillna(-1).astype(int).tolist(), fmt
        if fmt != "csv":
            assert meta["dataset"] == "small" and meta["analysis"] == "whatif", fmt
            assert meta["scenario"]["disruptions"][0]["unit"] == "TWN", fmt


def test_json_meta_envelope_from_the_command_line(run, small_path):
    data = json.loads(run("whatif", "--cut", "TWN", "--dataset", small_path, "--format",
                          "json", "--meta").output)
    assert set(data) == {"meta", "rows"}
    assert data["meta"]["dataset"] == "small" and data["meta"]["analysis"] == "whatif"
    plain = json.loads(run("whatif", "--cut", "TWN", "--dataset", small_path, "--format",
                           "json").output)
    assert isinstance(plain, list) and len(plain) == len(data["rows"])


def test_repr_html_escapes_text(small):
    res = small.whatif(semigraph.Disruption("TWN"))
    res.table.loc[0, "name"] = "<script>alert(1)</script>"
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<tr>") == min(len(res.table), 20) + 1


def test_whatif_refuses_units_and_scenario_together(small):
    with pytest.raises(semigraph.ScenarioError):
        small.whatif("TWN", scenario=semigraph.Scenario((semigraph.Disruption("JPN"),)))
    with pytest.raises(semigraph.UnknownUnitError, match="did you mean 'TWN'"):
        small.whatif("twn ")


def test_diff_hand_computed():
    a = pd.DataFrame({"component": ["x", "y", "z"], "availability": [0.5, 1.0, 0.2],
                      "bottleneck": ["x <- p", None, "z <- q"]})
    b = pd.DataFrame({"component": ["x", "y", "w"], "availability": [0.8, 1.0, 0.9],
                      "bottleneck": ["x <- r", None, None]})
    t = semigraph.diff(a, b).table.set_index("component")
    assert sorted(t.index) == ["w", "x", "z"]  # y did not change
    assert t.at["x", "availability_change"] == pytest.approx(0.3)
    assert t.at["x", "why"] == "bottleneck moved: x <- p -> x <- r"
    assert t.at["z", "status"] == "removed" and t.at["w", "status"] == "added"
    full = semigraph.diff(a, b, all_rows=True).table
    assert full.set_index("component").at["y", "status"] == "unchanged"


def test_diff_command_on_two_files_and_two_datasets(run, small, small_path, tmp_path):
    small.whatif("TWN").to_file(tmp_path / "a.parquet")
    small.whatif("TWN", duration=10).to_file(tmp_path / "b.parquet")
    out = _records(run("diff", tmp_path / "a.parquet", tmp_path / "b.parquet", "--format",
                       "json").output)
    api = semigraph.diff(tmp_path / "a.parquet", tmp_path / "b.parquet").table
    _same(out, api, ["component", "status", "availability_change"])
    same = _records(run("diff", small_path, small_path, "--cut", "TWN", "--format",
                        "json").output)
    assert same.empty  # one dataset against itself: nothing changed
    table = run("diff", tmp_path / "a.parquet", tmp_path / "b.parquet").output
    assert f"A: {tmp_path / 'a.parquet'}" in table and f"B: {tmp_path / 'b.parquet'}" in table
    copy = tmp_path / "copy"
    shutil.copytree(small_path, copy)
    folders = run("diff", small_path, copy, "--cut", "TWN").output
    assert f"A: {small_path}" in folders and f"B: {copy}" in folders  # two sides told apart


def test_import_commands_are_the_api_calls(run, tmp_path):
    from tests.test_import_cset import write_source
    from tests.test_import_trade import BACI_HEADER, BACI_ROWS, write_csv

    src = write_source(tmp_path / "cset")
    run("import", "cset", src, "-o", tmp_path / "via-cli")
    report = semigraph.import_cset(src, tmp_path / "via-api")
    for table in ("components", "supply", "requires", "firms"):
        assert (tmp_path / "via-cli" / f"{table}.csv").read_text(encoding="utf-8") == \
            (report.path / f"{table}.csv").read_text(encoding="utf-8"), table
    semigraph.load(tmp_path / "via-cli")  # the import validates
    baci = write_csv(tmp_path / "baci.csv", BACI_HEADER, BACI_ROWS)
    run("import", "trade", baci, "--hs", "811292", "--component", "gallium", "--year", "2022",
        "--importer", "EU27", "-o", tmp_path / "trade-cli")
    api = semigraph.import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                                 importer="EU27")
    got = pd.read_csv(tmp_path / "trade-cli" / "supply.csv")
    assert dict(zip(got["supplier"], got["share"])) == pytest.approx(
        dict(zip(api.supply["supplier"], api.supply["share"].astype(float))))


def test_dataset_merge_command_is_the_api_call(run, tmp_path, small_path):
    from tests.test_import_trade import BACI_HEADER, BACI_ROWS, write_csv

    baci = write_csv(tmp_path / "baci.csv", BACI_HEADER, BACI_ROWS)
    semigraph.import_trade(baci, hs=["811292"], component="gallium", years=[2022],
                           output=tmp_path / "ga")
    run("dataset", "merge", tmp_path / "ga", small_path, "-o", tmp_path / "via-cli",
        "--replace")
    report = semigraph.merge_dataset(tmp_path / "ga", small_path, tmp_path / "via-api",
                                     on_conflict="replace")
    for table in ("supply", "sources"):
        assert (tmp_path / "via-cli" / f"{table}.csv").read_text(encoding="utf-8") == \
            (report.path / f"{table}.csv").read_text(encoding="utf-8"), table
    assert report.counts["supply"] == {"replaced": 4, "removed": 2}


def test_indicators_and_warn_commands_are_the_api_calls(run, tmp_path):
    net = semigraph.load()
    out = _records(run("indicators", "--perspective", "NLD", "--format", "json").output)
    api = net.indicators(perspective="NLD").table
    _same(out, api, ["component", "hhi", "hhi_wgi", "largest_third_country_share",
                     "eu_crm_status"])
    measure = "outage at nexperia@CHN"
    run("warn", measure, "-o", tmp_path / "w.md")
    # written to a file, the briefing links its chart, written beside it
    assert (tmp_path / "w.md").read_text(encoding="utf-8") == \
        net.warn(measure).markdown("w-supply.png")
    assert (tmp_path / "w-supply.png").is_file()
    out = _records(run("warn", measure, "--format", "json").output)
    _same(out, net.warn(measure).table, ["component", "time_to_survive_days"])


def test_bad_input_to_diff_warn_and_sweep_exits_2(small, small_path, tmp_path):
    runner = CliRunner()
    # a result file whose metadata was edited by hand is named, not reported as a bug
    good = tmp_path / "a.json"
    small.whatif("TWN").to_file(good)
    bad = tmp_path / "b.json"
    data = json.loads(good.read_text(encoding="utf-8"))
    data["meta"] = "edited"
    bad.write_text(json.dumps(data), encoding="utf-8")
    res = runner.invoke(cli, ["diff", str(good), str(bad)])
    assert res.exit_code == 2 and "b.json" in res.output, res.output
    # a scenario file is a file whatever its name ends in
    scen = tmp_path / "s.scen"
    scen.write_text('title = "t"\n[[disruption]]\nunit = "TWN"\n', encoding="utf-8")
    res = runner.invoke(cli, ["warn", "--scenario", str(scen), "--dataset", str(small_path)])
    assert res.exit_code == 0, res.output
    # a probability for a unit that is not in the sweep is an error, not a quiet no-cut
    probs = tmp_path / "p.csv"
    probs.write_text("unit,probability\nchn,0.5\n", encoding="utf-8")
    res = runner.invoke(cli, ["sweep", "--monte-carlo", "3", "--probabilities", str(probs),
                              "--dataset", str(small_path)])
    assert res.exit_code == 2 and "CHN" in res.output, res.output
