"""The command line through click's CliRunner: exact outputs and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

import semigraph
from semigraph.cli import COMMANDS, cli
from tests.datasets import small_tables, write_dataset


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and "semigraph, version" in result.output


def test_every_command_has_help_with_an_example(run):
    for name in COMMANDS:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Example" in result.output, name


@pytest.mark.parametrize("args", [["--help"], ["whatif", "--help"], ["warn", "--help"]])
def test_help_is_lean(args):
    # semigraph --help must not import pandas, networkx or the plotting library
    code = ("import sys; from semigraph.cli import cli; "
            f"sys.argv=['semigraph',*{args!r}]\n"
            "try: cli.main(prog_name='semigraph')\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('pandas','networkx','numpy','matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "Usage" in out
    loaded = out.strip().rsplit("\n", 1)[-1]
    assert loaded == "[]" if args == ["--help"] else "matplotlib" not in loaded


def test_whatif_imports_only_what_it_uses(small_path):
    # a what-if needs the tables and arrays, not the graph, maps, spreadsheets or Dask (the
    # first load validates the files, which uses the graph to name a cycle; later loads of
    # the same files come from the validation cache)
    semigraph.load(small_path)
    code = ("import sys; from semigraph.cli import cli\n"
            f"sys.argv=['semigraph','whatif','--cut','TWN','--dataset',{str(small_path)!r}]\n"
            "try: cli.main(prog_name='semigraph')\nexcept SystemExit as e: print('EXIT', e.code)\n"
            "print(sorted(m for m in ('networkx','graphviz','openpyxl','dask','distributed',"
            "'hypothesis','matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "EXIT 0" in out and out.strip().endswith("[]"), out[-300:]


def test_info_json(run, small_path):
    result = run("info", "--dataset", small_path, "--format", "json")
    assert result.exit_code == 0
    rec = json.loads(result.output)
    assert rec["counts"]["components"] == 6
    assert rec["by_stage"]["front_end"] == {"components": 1, "supply_rows": 2}


def test_validate_ok_and_bad(run, small_path, tmp_path):
    assert run("validate", small_path).exit_code == 0
    t = small_tables()
    t["supply"][0]["share"] = "90"
    t["supply"][1]["supplier"] = "nobody"
    t["requires"].append({"component": "gallium", "input": "car", "source": "src"})
    t["firms"].append(dict(t["firms"][0]))
    bad = write_dataset(tmp_path / "bad", t)
    result = CliRunner(mix_stderr=False).invoke(cli, ["validate", str(bad)]) if "mix_stderr" in \
        CliRunner.__init__.__code__.co_varnames else CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 2
    out = result.output + (result.stderr if hasattr(result, "stderr") else "")
    assert "supply.csv, row 2, column share" in out
    assert "supply.csv, row 3, column supplier: error: unknown id 'nobody'" in out
    assert "requirement cycle" in out and "firms.csv, row 6, column id" in out
    assert "Traceback" not in out


def test_bad_dataset_is_exit_2_without_traceback(run, tmp_path):
    t = small_tables()
    t["supply"][0]["share"] = "abc"
    bad = write_dataset(tmp_path / "bad", t)
    result = run("whatif", "--cut", "CHN", "--dataset", bad, "-o", tmp_path / "out.csv")
    assert result.exit_code == 2
    assert "supply.csv, row 2, column share" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_unknown_unit_suggests(run, small_path):
    result = run("whatif", "--cut", "CNH", "--dataset", small_path)
    assert result.exit_code == 2
    assert "unknown unit 'CNH'" in result.output and "'CHN'" in result.output
    result = run("whatif", "--cut", "asml@JPN", "--dataset", small_path)
    assert result.exit_code == 2 and "asml has no supply produced in JPN" in result.output


def test_whatif_json_fields(run, small_path):
    result = run("whatif", "--cut", "CHN", "--dataset", small_path, "--format", "json")
    assert result.exit_code == 0
    records = {r["component"]: r for r in json.loads(result.output)}
    assert len(records) == 6
    car = records["car"]
    assert car["availability"] == pytest.approx(0.1) and car["shortfall"] == pytest.approx(0.9)
    assert car["stage"] == "end_use" and car["name"] == "Car electronics"
    assert car["time_to_survive_days"] == 44 and car["recovery_day"] == 200
    assert car["steady_state"] == pytest.approx(0.1) and car["availability_high"] == \
        pytest.approx(0.1)
    # 1 - 0.1 a day from day 44 (the wafer stock's last part) to day 199, in days of demand
    assert car["lost_days"] == pytest.approx(0.5 + 0.9 * (199 - 44))
    assert car["bottleneck"] == \
        "car <- chip <- wafer <- gallium <- CHN@CHN (90%, export stop)"
    assert records["litho-a"]["availability"] == 1.0


def test_whatif_table_leads_with_end_use(run, small_path):
    result = run("whatif", "--cut", "CHN", "--dataset", small_path)
    assert result.exit_code == 0
    body = result.output.splitlines()
    first_row = body[body.index(next(line for line in body if line.startswith("---"))) + 1]
    assert first_row.startswith("car ")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
def test_output_files(run, small_path, tmp_path, fmt):
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / f"out.{fmt}"
    assert run("whatif", "--cut", "CHN", "--dataset", small_path, "-o", out).exit_code == 0
    frame = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet,
             "xlsx": pd.read_excel}[fmt](out)
    assert len(frame) == 6 and "availability" in frame.columns
    # not overwritten without --force, and nothing else left behind
    again = run("whatif", "--cut", "NLD", "--dataset", small_path, "-o", out)
    assert again.exit_code == 2 and "--force" in again.output
    assert run("whatif", "--cut", "NLD", "--dataset", small_path, "-o", out,
               "--force").exit_code == 0
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_binary_format_needs_a_file(run, small_path):
    result = run("whatif", "--cut", "CHN", "--dataset", small_path, "--format", "parquet")
    assert result.exit_code == 2 and "-o FILE.parquet" in result.output


def test_typo_in_command_suggests(run):
    result = run("whatfi")
    assert result.exit_code == 2 and "Did you mean 'whatif'" in result.output
