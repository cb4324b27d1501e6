"""Hostile or careless input: formulas in exported names, script links in sources."""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import semigraph
from semigraph.cli import cli
from semigraph.errors import DatasetError, OutputError
from tests.datasets import small_tables, write_dataset

FORMULAS = ['=HYPERLINK("http://example.invalid","x")', "+cmd|' /C calc'!A0", "-2+3",
            "@SUM(1,2)"]


@pytest.fixture
def formula_path(tmp_path):
    t = small_tables()
    for row, name in zip(t["components"][1:], FORMULAS):  # names the commands write
        row["name"] = name
    t["components"][-1]["name"] = "=1+1"
    t["components"][0]["name"] = "Gallium\x01\uffff"  # characters XLSX cannot hold
    return write_dataset(tmp_path / "f", t)


@pytest.mark.parametrize("args", [["whatif", "--cut", "CHN", "--all"], ["concentration"],
                                  ["stockpile"], ["spof", "--target", "car"],
                                  ["concentration", "--by", "firm"]])
def test_no_formula_in_csv_or_xlsx(formula_path, tmp_path, args):
    runner = CliRunner()
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"out.{suffix}"
        result = runner.invoke(cli, [*args, "--dataset", str(formula_path), "-o", str(out),
                                     "--force"])
        assert result.exit_code == 0, result.output
        if suffix == "csv":
            with open(out, newline="", encoding="utf-8") as fh:
                cells = [c for row in csv.reader(fh) for c in row]
            assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")
                        and not _number(c)]
            assert any(c[:2] in ("'=", "'+", "'-", "'@") for c in cells)  # hostile text written
        else:
            sheet = load_workbook(out).active
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", cell.value  # never a formula
                    if isinstance(cell.value, str):
                        assert "\x01" not in cell.value and "\uffff" not in cell.value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_formula_text_kept_in_json(formula_path):
    result = CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--all", "--dataset",
                                      str(formula_path), "--format", "json"])
    names = {r["name"] for r in json.loads(result.output)}
    assert "=1+1" in names  # JSON keeps the text as it is: it is typed, not a spreadsheet


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)",
                                 "file:///etc/passwd", "data:text/html,<script>x</script>",
                                 "https://ok.example/ x"])
def test_script_links_are_errors_for_every_source(tmp_path, url):
    t = small_tables()
    t["sources"][0]["url"] = url  # an estimate source, checked all the same
    with pytest.raises(DatasetError, match=r"sources\.csv, row 2, column url"):
        semigraph.load(write_dataset(tmp_path / "u", t))


def test_doi_and_web_links_are_fine(tmp_path):
    t = small_tables()
    t["sources"][0]["url"] = "doi:10.1000/182"
    semigraph.load(write_dataset(tmp_path / "d", t))


# -- scenario outputs: confined, checked before anything is computed, never half-written ----

def _run(*args, cwd=None, monkeypatch=None):
    if cwd is not None:
        monkeypatch.chdir(cwd)
    return CliRunner().invoke(cli, ["run", *map(str, args)])


def _scenario(folder, *outputs: str, extra: str = "") -> str:
    body = '[[disruption]]\nunit = "TWN"\n' + extra
    for o in outputs:
        body += f"[[output]]\n{o}\n"
    (folder / "s.toml").write_text(body, encoding="utf-8")
    return "s.toml"


@pytest.mark.parametrize(("output", "message"), [
    ('path = "/tmp/evil.csv"', "must stay inside"),
    ('path = "../evil.csv"', "must stay inside"),
    ('path = "sub/../../evil.csv"', "must stay inside"),
    ('path = "s.toml"\nformat = "csv"', "would overwrite"),
    ('path = "x.mef"', "cannot tell the format"),
    ('path = "x.csv"\nformat = "mef"', "format must be one of"),
    ("path = 5", "needs path"),
])
def test_scenario_outputs_refused(tmp_path, monkeypatch, output, message):
    name = _scenario(tmp_path, output)
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    result = _run(name, cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 2, result.output
    assert message in result.output and "s.toml" in result.output
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before  # nothing outside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]  # nothing inside either


def test_scenario_output_through_a_link_out_is_refused(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    work = tmp_path / "work"
    outside.mkdir()
    work.mkdir()
    (work / "out").symlink_to(outside, target_is_directory=True)
    name = _scenario(work, 'path = "out/x.csv"')
    result = _run(name, cwd=work, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "leads outside" in result.output
    assert not list(outside.iterdir())


def test_scenario_output_never_a_dataset_file(tmp_path, monkeypatch):
    data = write_dataset(tmp_path / "data", small_tables())
    name = _scenario(tmp_path, 'path = "data/supply.csv"')
    before = (data / "supply.csv").read_bytes()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", name, "--dataset", "data",
                                      "--overwrite-outputs"])
    assert result.exit_code == 2 and "would overwrite" in result.output
    assert (data / "supply.csv").read_bytes() == before


def test_run_writes_nothing_when_any_output_is_wrong(tmp_path, monkeypatch):
    # two outputs on one path, or an output that is the -o file: refused before any writing
    name = _scenario(tmp_path, 'path = "a.csv"', 'path = "./a.csv"')
    assert _run(name, cwd=tmp_path, monkeypatch=monkeypatch).exit_code == 2
    name = _scenario(tmp_path, 'path = "b.csv"', 'path = "c.json"')
    result = CliRunner().invoke(cli, ["run", name, "-o", "b.csv"])
    assert result.exit_code == 2 and "is the -o file" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_existing_scenario_output_needs_its_own_switch(tmp_path, monkeypatch):
    name = _scenario(tmp_path, 'path = "r.csv"')
    (tmp_path / "r.csv").write_text("keep me")
    result = _run(name, "-o", "mine.csv", "--force", cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "--overwrite-outputs" in result.output
    assert (tmp_path / "r.csv").read_text() == "keep me" and not (tmp_path / "mine.csv").exists()
    assert _run(name, "--overwrite-outputs").exit_code == 0
    assert (tmp_path / "r.csv").read_text().startswith("component,")


# -- datasets: no silent equal split, one clear message per broken file --------------------

def test_supply_without_share_column_is_an_error(tmp_path):
    folder = write_dataset(tmp_path / "d", small_tables())
    text = (folder / "supply.csv").read_text().splitlines()
    header = text[0].split(",")
    i = header.index("share")
    rows = [",".join(c for j, c in enumerate(r.split(",")) if j != i) for r in text]
    (folder / "supply.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DatasetError, match=r"supply\.csv, column share: error: missing column"):
        semigraph.load(folder)


@pytest.mark.parametrize(("old", "new"), [("share", "Share"), ("stock_days", "stock_day")])
def test_misspelt_header_is_an_error_naming_the_column(tmp_path, old, new):
    folder = write_dataset(tmp_path / "d", small_tables())
    table = "supply.csv" if old == "share" else "components.csv"
    text = (folder / table).read_text()
    (folder / table).write_text(text.replace(old, new, 1))
    with pytest.raises(DatasetError, match=f"the expected column '{old}'"):
        semigraph.load(folder)


def test_latin1_file_gives_one_error_with_its_row(tmp_path):
    folder = write_dataset(tmp_path / "d", small_tables())
    data = (folder / "firms.csv").read_bytes().replace(b"Nikon", "Nik\u00f6n".encode("latin-1"))
    (folder / "firms.csv").write_bytes(data)
    with pytest.raises(DatasetError) as exc:
        semigraph.load(folder)
    assert [str(p) for p in exc.value.problems] == [
        "firms.csv, row 4: error: not UTF-8 text; save the file as UTF-8 (CSV UTF-8 in a "
        "spreadsheet program)"]


def test_ragged_row_is_reported_not_shifted(tmp_path):
    folder = write_dataset(tmp_path / "d", small_tables())
    lines = (folder / "supply.csv").read_text().splitlines()
    n = len(lines[0].split(","))
    lines[2] += ",extra"
    (folder / "supply.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=rf"supply\.csv, row 3: error: {n + 1} fields where the "
                                           rf"header has {n}"):
        semigraph.load(folder)


@pytest.mark.parametrize(("text", "message"), [
    ("[1, 2]", "must be a JSON object"),
    ('{"licenses": "CC-BY-4.0"}', "licenses must be a list"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
])
def test_bad_datapackage_is_an_error_not_a_crash(tmp_path, text, message):
    folder = write_dataset(tmp_path / "d", small_tables())
    (folder / "datapackage.json").write_text(text)
    result = CliRunner().invoke(cli, ["info", "--dataset", str(folder)])
    assert result.exit_code == 2 and message in result.output and "datapackage.json" in \
        result.output


@pytest.mark.parametrize("share", ["inf", "0_5%", "5 0 %", "nan", "1e400"])
def test_strange_shares_are_errors(tmp_path, share):
    t = small_tables()
    t["supply"][0]["share"] = share
    with pytest.raises(DatasetError, match=r"supply\.csv, row 2, column share"):
        semigraph.load(write_dataset(tmp_path / "s", t))


def test_cycle_message_is_the_same_every_run(tmp_path):
    import subprocess
    import sys

    t = small_tables()
    t["requires"] += [{"component": "gallium", "input": "car", "source": "src"}]
    folder = write_dataset(tmp_path / "c", t)
    code = (f"import semigraph\ntry:\n    semigraph.load({str(folder)!r})\n"
            "except semigraph.DatasetError as e:\n"
            "    print([str(p) for p in e.problems if 'cycle' in p.message])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout
            for seed in range(4)}
    assert len(outs) == 1 and "requirement cycle" in outs.pop()


# -- scenario files and the terminal -------------------------------------------------------

def test_scenario_with_byte_order_mark_reads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[[disruption]]\nunit = "TWN"\n')
    assert CliRunner().invoke(cli, ["run", str(path), "--limit", "1"]).exit_code == 0


def test_deep_toml_and_unknown_unit_name_the_file(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100000 + "]" * 100000)
    result = CliRunner().invoke(cli, ["run", str(deep)])
    assert result.exit_code == 2 and "deep.toml" in result.output
    typo = tmp_path / "typo.toml"
    typo.write_text('[[disruption]]\nunit = "CNH"\n')
    result = CliRunner().invoke(cli, ["run", str(typo)])
    assert result.exit_code == 2 and "typo.toml: disruption 1: unknown unit 'CNH'" in \
        result.output


def test_terminal_escapes_are_not_printed(tmp_path):
    path = tmp_path / "esc.toml"
    path.write_text('title = "\\u001b]0;owned\\u0007\\u001b[31mred"\n'
                    'description = "\\u001b[2J"\n[[disruption]]\nunit = "TWN"\n')
    result = CliRunner().invoke(cli, ["run", str(path), "--limit", "1"])
    assert result.exit_code == 0 and "\x1b" not in result.output and "\x07" not in result.output
    assert "red" in result.output


def test_matrix_of_unknown_stage_is_an_error():
    result = CliRunner().invoke(cli, ["concentration", "--matrix", "--stage", "bogus"])
    assert result.exit_code == 2 and "unknown stage 'bogus'" in result.output


# -- output files --------------------------------------------------------------------------

def test_output_errors_are_exit_2(tmp_path):
    link = tmp_path / "dangling.csv"
    link.symlink_to(tmp_path / "nowhere")
    result = CliRunner().invoke(cli, ["whatif", "--cut", "TWN", "-o", str(link)])
    assert result.exit_code == 2 and "exists" in result.output  # a dangling link counts
    result = CliRunner().invoke(cli, ["whatif", "--cut", "TWN", "-o", "/proc/version",
                                      "--force", "--format", "csv"])
    assert result.exit_code == 2 and "cannot write /proc/version" in result.output


def test_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import os

    from semigraph.io.write import atomic_write

    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))

    def killed(fh):
        fh.write(b"half")
        raise SystemExit(143)  # what the SIGTERM handler raises while a file is written

    with pytest.raises(SystemExit):
        atomic_write(tmp_path / "out.csv", killed, force=False)
    assert list(tmp_path.iterdir()) == []
    atomic_write(tmp_path / "ok.csv", lambda fh: fh.write(b"x"), force=False)
    assert synced and (tmp_path / "ok.csv").read_bytes() == b"x"


def test_noncharacters_in_names_do_not_break_maps(tmp_path):
    t = small_tables()
    t["firms"][0]["name"] = "ASML\uffff\ufffe\x01"
    folder = write_dataset(tmp_path / "n", t)
    result = CliRunner().invoke(cli, ["map", "--cut", "NLD", "--dataset", str(folder),
                                      "--level", "firm", "-o", str(tmp_path / "m.dot")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "m.dot").read_text(encoding="utf-8")
    assert "\uffff" not in text and "\ufffe" not in text and "\x01" not in text


@pytest.mark.parametrize("kind", ["fifo", "link", "dangling link", "socket", "device"])
def test_force_never_replaces_what_is_not_a_regular_file(tmp_path, monkeypatch, kind):
    import os
    import socket
    import stat

    monkeypatch.chdir(tmp_path)  # short relative names: a socket's path has a length limit
    kept = tmp_path / "kept.csv"
    kept.write_text("keep me")
    if kind == "fifo":
        os.mkfifo("out.csv")
    elif kind == "link":
        os.symlink("kept.csv", "out.csv")
    elif kind == "dangling link":
        os.symlink("nowhere.csv", "out.csv")
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("out.csv")
        sock.close()
    else:
        try:
            os.mknod("out.csv", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
        except PermissionError:
            pytest.skip("making a device node needs privileges")
    before = os.lstat("out.csv")
    result = CliRunner().invoke(cli, ["whatif", "--cut", "TWN", "--format", "csv", "-o",
                                      "out.csv", "--force"])
    assert result.exit_code == 2, result.output
    assert "out.csv exists and is a" in result.output and "not a regular file" in result.output
    after = os.lstat("out.csv")
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode),
                                                          before.st_ino)
    assert kept.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.csv", "out.csv"]  # no temp file


def test_atomic_write_refuses_a_device_put_there_while_writing(tmp_path):
    import os

    from semigraph.errors import OutputError
    from semigraph.io.write import atomic_write

    def fifo_appears(fh):
        fh.write(b"x")
        os.mkfifo(tmp_path / "out.csv")

    with pytest.raises(OutputError, match="named pipe"):
        atomic_write(tmp_path / "out.csv", fifo_appears, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert not (tmp_path / "out.csv").is_file()


def test_write_stays_in_the_folder_it_opened(tmp_path):
    from semigraph.io.write import atomic_write

    folder, outside, moved = tmp_path / "d", tmp_path / "outside", tmp_path / "moved"
    folder.mkdir()
    outside.mkdir()

    def swap_then_write(fh):  # the folder is swapped for a link to elsewhere mid-write
        folder.rename(moved)
        folder.symlink_to(outside, target_is_directory=True)
        fh.write(b"data")

    atomic_write(folder / "out.csv", swap_then_write, force=False)
    assert list(outside.iterdir()) == []
    assert [p.name for p in moved.iterdir()] == ["out.csv"]
    assert (moved / "out.csv").read_bytes() == b"data"


def test_scenario_output_folder_swapped_for_a_link_after_the_check(tmp_path, monkeypatch):
    outside, work = tmp_path / "outside", tmp_path / "work"
    outside.mkdir()
    (work / "sub").mkdir(parents=True)
    name = _scenario(work, 'path = "sub/x.csv"')
    real_run = semigraph.Network.run

    def run_then_swap(self, *args, **kwargs):  # between the check and the write
        result = real_run(self, *args, **kwargs)
        (work / "sub").rename(work / "held")
        (work / "sub").symlink_to(outside, target_is_directory=True)
        return result

    monkeypatch.setattr(semigraph.Network, "run", run_then_swap)
    result = _run(name, cwd=work, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert list(outside.iterdir()) == []
    assert (work / "held" / "x.csv").read_text().startswith("component,")


def test_scenario_output_through_any_link_is_refused(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    name = _scenario(tmp_path, 'path = "alias/x.csv"')
    result = _run(name, cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 2, result.output
    assert "goes through the link" in result.output and "alias" in result.output
    assert list((tmp_path / "real").iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_folder_output_never_replaces_a_link_or_device(tmp_path, kind):
    import os
    import stat

    from semigraph.errors import OutputError
    from semigraph.io.write import write_folder

    target, kept = tmp_path / "out", tmp_path / "kept"
    kept.mkdir()
    (kept / "a.csv").write_text("keep me")
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(kept, target_is_directory=True)
    with pytest.raises(OutputError, match="not a regular file"):
        write_folder(target, lambda folder: (folder / "b.csv").write_text("new"), force=True)
    mode = os.lstat(target).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISLNK(mode)
    assert (kept / "a.csv").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "out"]


# -- the validation cache: the key names exactly what is stored under it ----------------------

def test_file_edited_while_loading_cannot_poison_the_cache(tmp_path, monkeypatch):
    from semigraph.model import cache, model

    data = write_dataset(tmp_path / "d", small_tables())
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    firms = data / "firms.csv"
    original = firms.read_bytes()
    edited = original.replace(b"Nikon", b"Edited")
    real_key = model.dataset_key

    def key_then_edit(*args, **kwargs):  # the file changes once the key is computed
        key = real_key(*args, **kwargs)
        firms.write_bytes(edited)
        return key

    monkeypatch.setattr(model, "dataset_key", key_then_edit)
    first = semigraph.load(data)
    monkeypatch.setattr(model, "dataset_key", real_key)
    names = dict(zip(first.firms["id"], first.firms["name"]))
    assert names["nikon"] == "Nikon"  # what was hashed is what was validated
    firms.write_bytes(original)
    (entry,) = (tmp_path / "cache").iterdir()
    assert entry.name == cache.dataset_key(data)  # stored under the key of its own bytes
    again = semigraph.load(data)  # the original files, answered from the cache
    assert dict(zip(again.firms["id"], again.firms["name"]))["nikon"] == "Nikon"
    firms.write_bytes(edited)
    assert dict(zip(*[semigraph.load(data).firms[c] for c in ("id", "name")]))["nikon"] == \
        "Edited"  # the edited files miss the entry of the original ones


# -- MEF export: one basic event per unit, never two units under one name ----------------------

def _mef_decode(name: str) -> str:
    """Read a MEF name back into its id (the inverse of mef_name's escaping)."""
    import re

    def unescape(text: str) -> str:
        token = re.compile(r"[A-Za-z0-9-]|__|_at_|_x([0-9a-f]+)_")
        out, i = [], 0
        while i < len(text):
            m = token.match(text, i)
            if m is None:
                raise ValueError(text)
            out.append(chr(int(m[1], 16)) if m[1] else {"__": "_", "_at_": "@"}.get(m[0], m[0]))
            i = m.end()
        return "".join(out)

    try:
        return unescape(name)
    except ValueError:  # "u_" in front of a name that would not start with a letter
        assert name.startswith("u_")
        return unescape(name[2:])


def test_mef_names_never_merge_distinct_ids():
    import re

    from semigraph.findings.mef import mef_name

    ids = ["fab.x", "fab_x", "fab-x", "fab__x", "fab@x", "fab_at_x", "fab_x2e_x", "3m", "u_3m",
           "u__3m", "_x", "u___x", "@x", "u_at_x", "nexperia@CHN", "nexperia_at_CHN", "a.b_c@D",
           "lost-chip", "\u00e9t\u00e9"]
    names = [mef_name(i) for i in ids]
    assert len(set(names)) == len(ids), names
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", n) for n in names)
    assert [_mef_decode(n) for n in names] == ids  # one-to-one: each name reads back
    assert [mef_name(i) for i in ids] == names  # and the same id, the same name
    assert mef_name("nexperia@CHN") == "nexperia_at_CHN"


def test_mef_export_keeps_firms_apart_that_differ_in_punctuation(tmp_path):
    import xml.etree.ElementTree as ET

    from semigraph.findings.mef import to_mef

    t = small_tables()
    t["firms"] += [{"id": "fab.x", "name": "Fab dot", "hq": "NLD"},
                   {"id": "fab_x", "name": "Fab underscore", "hq": "NLD"}]
    t["supply"] = [r for r in t["supply"] if r["component"] != "litho-a"] + [
        {"component": "litho-a", "supplier": s, "site": "NLD", "share": "0.5", "source": "src"}
        for s in ("fab.x", "fab_x")]  # litho-a is lost only when both firms stop
    model = semigraph.load(write_dataset(tmp_path / "m", t))
    root = ET.fromstring(to_mef(model, ["litho-a"], level="firm"))
    events = {e.get("name"): e.find("label").text for e in root.iter("define-basic-event")}
    assert len(events) == 2
    assert sorted(events.values()) == ["firm fab.x stops supplying",
                                       "firm fab_x stops supplying"]
    (top,) = [g for g in root.iter("define-gate") if g.get("name") == "lost-litho-a"]
    assert top.find("and") is not None  # both are needed: no single point of failure
    assert sorted(e.get("name") for e in top.iter("basic-event")) == sorted(events)


# -- trade import: no infinite values, no sums past the largest float ---------------------------

@pytest.mark.parametrize(("rows", "weight", "where"), [
    ([["inf", 1], [5, 1]], "value", "row 2, column v"),
    ([["1e400", 1], [5, 1]], "value", "row 2, column v"),
    ([[5, 1], ["Infinity", 1]], "value", "row 3, column v"),
    ([[5, "inf"], [5, 1]], "quantity", "row 2, column q"),
    ([["1e308", 1], ["1e308", 1]], "value", "row 3, column v"),  # each finite, the sum not
    ([[1, "1e308"], [1, "1e308"]], "quantity", "row 3, column q"),
])
def test_trade_import_refuses_infinite_values_and_overflowing_sums(tmp_path, rows, weight,
                                                                   where):
    lines = ["t,i,j,k,v,q"] + [f"2022,{exporter},276,811292,{v},{q}"
                               for exporter, (v, q) in zip((156, 842), rows)]
    (tmp_path / "flows.csv").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["import", "trade", str(tmp_path / "flows.csv"),
                                      "--component", "gallium", "--hs", "811292",
                                      "--weight", weight, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"flows.csv, {where}: error:" in result.output
    assert "Traceback" not in result.output and "Wrote" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flows.csv"]  # no table written


def test_trade_import_with_the_largest_finite_values_still_shares(tmp_path):
    # one value near the largest float and small ones: correct shares, no overflow
    (tmp_path / "flows.csv").write_text("t,i,j,k,v\n2022,156,276,811292,1e308\n"
                                        "2022,842,276,811292,1e307\n")
    result = semigraph.import_trade(tmp_path / "flows.csv", component="gallium",
                                    hs=["811292"])
    assert dict(zip(result.supply["supplier"], result.supply["share"])) == pytest.approx(
        {"CHN": 10 / 11, "USA": 1 / 11})


# -- two runs writing the same new file: the second fails, the first's result is kept ----------

def test_second_of_two_sweeps_to_one_new_file_fails(tmp_path, monkeypatch):
    from semigraph.io import write

    data = write_dataset(tmp_path / "d", small_tables())
    out = tmp_path / "same.csv"
    real_check = write._check_entry
    calls = []

    def other_run_finishes(dir_fd, shown, **kwargs):  # right after the last check
        real_check(dir_fd, shown, **kwargs)
        calls.append(shown)
        if len(calls) == 2:
            out.write_text("the other run's result\n")

    monkeypatch.setattr(write, "_check_entry", other_run_finishes)
    result = CliRunner().invoke(cli, ["sweep", "--dataset", str(data), "--measure", "steady",
                                      "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Wrote" not in result.output
    assert "same.csv appeared while this result was written" in result.output
    assert out.read_text() == "the other run's result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "same.csv"]  # no temp file
    monkeypatch.setattr(write, "_check_entry", real_check)
    again = CliRunner().invoke(cli, ["sweep", "--dataset", str(data), "--measure", "steady",
                                     "-o", str(out)])
    assert again.exit_code == 2 and "exists; use --force" in again.output
    forced = CliRunner().invoke(cli, ["sweep", "--dataset", str(data), "--measure", "steady",
                                      "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert out.read_text().startswith("scenario,")


def test_new_file_written_where_hard_links_are_not_supported(tmp_path, monkeypatch):
    import errno
    import os

    from semigraph.io.write import atomic_write

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    atomic_write(tmp_path / "out.csv", lambda fh: fh.write(b"x"), force=False)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert (tmp_path / "out.csv").read_bytes() == b"x"


# -- diff: a file against itself, ids that look missing or numeric, streamed files -------------

def test_diff_of_a_result_with_itself_at_tolerance_zero(tmp_path):
    out = tmp_path / "a.csv"
    assert CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--all", "-o",
                                    str(out)]).exit_code == 0
    result = CliRunner().invoke(cli, ["diff", str(out), str(out), "--tolerance", "0"])
    assert result.exit_code == 0, result.output
    assert "0 changed, 0 added, 0 removed" in result.output
    b = pd.read_csv(out)
    b.loc[0, "availability"] += 1e-9  # the smallest change counts at tolerance 0
    b.to_csv(tmp_path / "b.csv", index=False)
    result = CliRunner().invoke(cli, ["diff", str(out), str(tmp_path / "b.csv"),
                                      "--tolerance", "0"])
    assert "1 changed, 0 added, 0 removed" in result.output


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "json"])
def test_diff_reads_ids_as_text(tmp_path, suffix):
    from semigraph.io.write import write_result

    frame = pd.DataFrame({"component": ["nan", "null", "007", "NA", "1e3"],
                          "bottleneck": ["none", "", "NULL", "x", "nan"],
                          "availability": [0.5, 0.25, 1.0, None, 0.0]})
    for name, fmt in ((f"a.{suffix}", suffix), ("b.parquet", "parquet")):
        write_result(frame, fmt=fmt, output=str(tmp_path / name))
    result = semigraph.diff(tmp_path / f"a.{suffix}", tmp_path / "b.parquet", tolerance=0,
                            all_rows=True)
    table = result.table
    assert sorted(table["component"]) == sorted(frame["component"])
    assert set(table["status"]) == {"unchanged"}, table


def test_streamed_csv_and_parquet_hold_the_same_rows(tmp_path):
    from semigraph.io.write import write_stream

    empty = pd.DataFrame({"scenario": pd.Series([], dtype=object),
                          "component": pd.Series([], dtype=object),
                          "availability": pd.Series([], dtype=float)})
    full = pd.DataFrame({"scenario": ["CHN", "TWN"], "component": ["chip", "chip"],
                         "availability": [0.5, 0.25]})
    for fmt in ("csv", "parquet"):  # a first batch that reports nothing
        assert write_stream(iter([empty, full]), tmp_path / f"s.{fmt}", fmt=fmt) == 2
    csv_rows, _ = semigraph.compare.read_result(tmp_path / "s.csv")
    parquet_rows = pd.read_parquet(tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(csv_rows, parquet_rows, check_dtype=False)


def test_diff_of_monte_carlo_draws_that_repeat_a_scenario(tmp_path):
    a = tmp_path / "a.csv"
    args = ["sweep", "--measure", "steady", "--monte-carlo", "40", "--probability", "0.02",
            "--seed", "3", "-o"]
    assert CliRunner().invoke(cli, [*args, str(a)]).exit_code == 0
    assert pd.read_csv(a, keep_default_na=False).duplicated(["scenario", "component"]).any()
    result = CliRunner().invoke(cli, ["diff", str(a), str(a), "--tolerance", "0"])
    assert result.exit_code == 0, result.output
    assert "0 changed, 0 added, 0 removed" in result.output


# -- the CSET importer: a damaged file is an error, never a repair -----------------------------

def _cset_source(folder, damage):
    from tests.test_import_cset import write_source

    source = write_source(folder)
    name, change = damage
    path = source / name
    path.write_bytes(change(path.read_bytes()))
    return source


def _drop_cells(data: bytes) -> bytes:  # row 4 of provision.csv loses its last two cells
    lines = data.split(b"\r\n")
    lines[3] = b"CHN,P2,Design,S1"
    return b"\r\n".join(lines)


@pytest.mark.parametrize(("damage", "file", "row", "column", "message"), [
    (("provision.csv", _drop_cells), "provision.csv", 4, "share_provided", "cut short"),
    (("provision.csv", lambda d: d[:d.rindex(b",")]), "provision.csv", 20,
     "negligible_market_share", "cut short"),
    (("stages.csv", lambda d: d[:d.index(b"A second")]), "stages.csv", 2, "description",
     "ends inside a quoted cell"),
    (("inputs.csv", lambda d: d[:d.index(b"with EUV")]), "inputs.csv", 4, "description",
     "ends inside a quoted cell"),
    (("provision.csv", lambda d: d[:d.index(b"\r\n") + 2]), "provision.csv", None, None,
     "header but no rows"),
    (("sequence.csv", lambda d: b""), "sequence.csv", None, None, "no header row"),
])
def test_damaged_cset_file_is_an_error_naming_file_row_column(tmp_path, damage, file, row,
                                                               column, message):
    source = _cset_source(tmp_path / "cset", damage)
    result = CliRunner().invoke(cli, ["import", "cset", str(source), "-o",
                                      str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    where = file + (f", row {row}" if row else "") + (f", column {column}" if column else "")
    assert f"{where}: error:" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cset"]


# -- the trade importer never replaces the folder its input is in ------------------------------

@pytest.mark.parametrize("where", ["folder", "file", "parent"])
def test_trade_import_refuses_to_replace_its_input(tmp_path, where):
    from tests.test_import_trade import BACI_HEADER, BACI_ROWS, write_csv

    data = tmp_path / "data"
    data.mkdir()
    baci = write_csv(data / "baci.csv", BACI_HEADER, BACI_ROWS)
    before = baci.read_bytes()
    output = {"folder": data, "file": baci, "parent": tmp_path}[where]
    result = CliRunner().invoke(cli, ["import", "trade", str(baci), "--component", "gallium",
                                      "--hs", "811292", "-o", str(output), "--force"])
    assert result.exit_code == 2, result.output
    assert "would replace the source file" in result.output
    assert baci.read_bytes() == before
    with pytest.raises(OutputError, match="would replace the source file"):
        semigraph.import_trade(baci, component="gallium", hs=["811292"], output=output,
                               force=True)
    assert baci.read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == ["baci.csv"]


# -- a damaged cache entry is a miss, and is written anew --------------------------------------

@pytest.mark.parametrize("damage", ["no table", "no meta", "not json"])
def test_damaged_cache_entry_is_a_miss_and_is_rewritten(tmp_path, monkeypatch, damage):
    data = write_dataset(tmp_path / "d", small_tables())
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    semigraph.load(data)
    (entry,) = (tmp_path / "cache").iterdir()
    about = entry / "about.json"
    info = json.loads(about.read_text())
    if damage == "no table":
        info["tables"].remove("supply")
        about.write_text(json.dumps(info))
    elif damage == "no meta":
        del info["meta"]
        about.write_text(json.dumps(info))
    else:
        about.write_text("{")
    for _ in range(2):  # not only once: the entry is replaced
        result = CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--dataset", str(data)])
        assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [entry.name]
    stored = json.loads(about.read_text())  # written anew, whole
    assert sorted(stored["tables"]) == sorted(semigraph.schema.TABLES)
    assert isinstance(stored["meta"], dict) and "problems" in stored


# -- a name too long for the file system is the analyst's error, not a crash -------------------

@pytest.mark.parametrize("where", ["output", "dataset", "scenario", "scenario output",
                                   "dataset folder"])
def test_name_too_long_is_a_clear_error(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    long = "a" * 300
    args = {"output": ["whatif", "--cut", "TWN", "-o", f"{long}.csv"],
            "dataset": ["info", "--dataset", long],
            "dataset folder": ["concentration", "--dataset", f"{tmp_path}/{long}/x"],
            "scenario": ["run", f"{long}.toml"],
            "scenario output": ["run", _scenario(tmp_path, f'path = "{long}.csv"')]}[where]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Internal error" not in result.output and "Traceback" not in result.output
    assert ("too long" in result.output) or ("File name too long" in result.output)


# -- only regular files are read: a named pipe or a link to a device is an error ----------------

@contextlib.contextmanager
def _deadline(seconds: int):
    """Fail instead of waiting forever (a named pipe read without a writer)."""
    import signal

    def expired(signum, frame):
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _special(path, kind):
    import os

    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize("cache", ["on", "off"])
@pytest.mark.parametrize(("table", "kind"), [("consumption.csv", "fifo"),
                                             ("supply.csv", "link to /dev/zero"),
                                             ("datapackage.json", "fifo")])
def test_dataset_file_that_is_not_a_regular_file_is_an_error(tmp_path, monkeypatch, cache,
                                                             table, kind):
    data = write_dataset(tmp_path / "d", small_tables())
    (data / table).unlink(missing_ok=True)
    _special(data / table, kind)
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache") if cache == "on"
                       else "off")
    with _deadline(20):
        result = CliRunner().invoke(cli, ["info", "--dataset", str(data)])
    assert result.exit_code == 2, result.output
    if kind == "fifo":
        assert (f"{table}: error: cannot be read: is a named pipe (FIFO), not a regular file"
                in result.output)
    else:  # a link is refused before what it leads to is opened
        assert f"{table}: error: cannot be read: is a link" in result.output


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
@pytest.mark.parametrize("command", ["run", "stockpile", "probabilities", "trade"])
def test_input_file_that_is_not_a_regular_file_is_refused(tmp_path, kind, command):
    path = tmp_path / "in.toml"
    _special(path, kind)
    args = {"run": ["run", str(path)],
            "stockpile": ["stockpile", "--scenario", str(path)],
            "probabilities": ["sweep", "--monte-carlo", "2", "--probabilities", str(path)],
            "trade": ["import", "trade", str(path), "--component", "gallium", "--hs",
                      "811292", "-o", str(tmp_path / "out")]}[command]
    with _deadline(20):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "in.toml" in result.output and "not a regular file" in result.output


# -- every line printed goes through one filter of control characters -------------------------

ESCAPES = "\x1b]0;owned\x07\x1b[31m\x9b2J"


def _clean(text: str) -> bool:
    return not any(c in text for c in ("\x1b", "\x07", "\x9b"))


def test_info_prints_no_control_characters(tmp_path):
    data = write_dataset(tmp_path / "d", small_tables())
    package = {"name": "d" + ESCAPES, "title": "T" + ESCAPES, "version": "1" + ESCAPES,
               "licenses": [{"name": "L" + ESCAPES}]}
    (data / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    result = CliRunner().invoke(cli, ["info", "--dataset", str(data)])
    assert result.exit_code == 0, result.output
    assert _clean(result.output) and "owned" in result.output
    as_json = CliRunner().invoke(cli, ["info", "--dataset", str(data), "--format", "json"])
    assert _clean(as_json.output)
    assert "\x9b" in json.dumps(json.loads(as_json.output), ensure_ascii=False)  # data kept


def test_warnings_and_wrote_lines_print_no_control_characters(tmp_path, monkeypatch):
    from semigraph.errors import Problem

    real_load = semigraph.load

    def with_warning(*args, **kwargs):
        net = real_load(*args, **kwargs)
        object.__setattr__(net, "warnings", (Problem("x.csv", 2, "name", ESCAPES,
                                                     "warning"),))
        return net

    monkeypatch.setattr(semigraph, "load", with_warning)
    monkeypatch.chdir(tmp_path)
    name = _scenario(tmp_path, 'path = "out\\u001b[31m.csv"')
    result = CliRunner().invoke(cli, ["run", name])
    assert result.exit_code == 0, result.output
    assert "Warning: x.csv, row 2" in result.output and "Wrote " in result.output
    assert _clean(result.output)



# -- a sweep killed outright leaves no worker processes behind ---------------------------------

_KILLED_SWEEP = """
import os, sys, time
import semigraph
from semigraph.engine import sweep

def stuck(model, plan, cuts, numbers):  # a batch that takes long: the workers are busy
    open(os.path.join(sys.argv[2], str(os.getpid())), "w").close()
    time.sleep(300)

sweep.evaluate_batch = stuck
if sys.argv[3] == "elsewhere":
    sys.platform = "elsewhere"  # no PR_SET_PDEATHSIG: the watching thread ends the workers
net = semigraph.load(sys.argv[1])
plan = sweep.plan_sweep(net, measure="steady")
for chunk in sweep.sweep_chunks(net, plan, size=1, processes=2):
    pass
"""


def _alive(pid: int) -> bool:
    import os

    try:
        with open(f"/proc/{pid}/stat") as fh:  # a zombie nobody reaps has ended
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="workers are forked")
@pytest.mark.parametrize("platform", ["here", "elsewhere"])
def test_sweep_workers_end_when_the_sweep_is_killed(tmp_path, platform):
    import os
    import signal
    import subprocess
    import sys
    import time

    data = write_dataset(tmp_path / "d", small_tables())
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "SEMIGRAPH_CACHE_DIR": "off"}
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_SWEEP, str(data), str(pids),
                               platform],
                              env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            assert parent.poll() is None, "the sweep ended early"
            time.sleep(0.1)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2 and all(map(_alive, workers))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        assert not left, f"workers {left} outlived the sweep"
    finally:
        parent.kill()
        for p in pids.iterdir():
            with contextlib.suppress(OSError):
                os.kill(int(p.name), signal.SIGKILL)


# -- any name the file system accepts is a valid output name ----------------------------------

@pytest.mark.parametrize("command", ["whatif", "sweep", "folder"])
def test_output_name_of_250_characters_is_written(tmp_path, monkeypatch, command):
    from semigraph.io.write import write_folder

    monkeypatch.chdir(tmp_path)
    name = "a" * 246 + ".csv"  # 250 bytes: the file system takes up to 255
    if command == "folder":
        write_folder(name, lambda f: (f / "x.csv").write_text("x\n"), force=False)
        assert (tmp_path / name / "x.csv").read_text() == "x\n"
    else:
        args = {"whatif": ["whatif", "--cut", "TWN"],
                "sweep": ["sweep", "--measure", "steady"]}[command]
        result = CliRunner().invoke(cli, [*args, "-o", name])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_text().count("\n") > 1
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


# -- JSON output stays valid JSON: an infinite figure is null, and the result says so ---------

def test_stockpile_json_with_an_overflowing_cost_is_valid_json(tmp_path):
    t = small_tables()
    for row in t["components"]:
        row["demand_per_year"], row["unit_value_eur"] = 1e308, 1e308  # the cost overflows
    data = write_dataset(tmp_path / "d", t)

    def strict(text):
        def refuse(constant):
            raise ValueError(f"{constant} is not JSON")
        return json.loads(text, parse_constant=refuse)

    result = CliRunner().invoke(cli, ["stockpile", "--dataset", str(data), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "Warning: 2 value(s) of cost_eur are too large to hold" in result.output
    rows = strict(result.stdout)
    assert [r["cost_eur"] for r in rows] == [None, None]
    assert all(r["extra_stock_units"] > 1e306 for r in rows)  # finite figures kept
    out = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["stockpile", "--dataset", str(data), "-o", str(out),
                                      "--meta"])
    assert result.exit_code == 0, result.output
    about = strict(out.read_text())
    assert about["meta"]["null_for_infinite"] == {"cost_eur": 2}
    api = strict(semigraph.load(data).stockpile().to_json())
    assert [r["cost_eur"] for r in api] == [None, None]


# -- a unit given twice in --probabilities is an error, not its last value --------------------

def test_unit_repeated_in_probabilities_is_an_error(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("unit,probability\nCHN,0.5\nTWN,0.1\n CHN ,0.01\n")
    result = CliRunner().invoke(cli, ["sweep", "--monte-carlo", "5", "--probabilities",
                                      str(path)])
    assert result.exit_code == 2, result.output
    assert (f"{path}, row 4, column unit: CHN is given again (first in row 2)"
            in result.output)
    assert "Traceback" not in result.output


# -- a share is read as given: never rounded to 0, reported as written -------------------------

@pytest.mark.parametrize(("text", "said"), [
    ("1e-300", None), ("0.0000000000001", None), ("1e-10%", None),
    ("0", "chain_share of gallium is 0:"),
    ("0.0%", "chain_share of gallium is 0.0%:"),
    ("1e-400", "chain_share of gallium is 1e-400, too small for a number to hold"),
])
def test_tiny_chain_share_is_read_as_given(tmp_path, text, said):
    from semigraph.model.validate import parse_fraction

    t = small_tables()
    (gallium,) = [r for r in t["components"] if r["id"] == "gallium"]
    gallium["chain_share"] = text
    data = write_dataset(tmp_path / "d", t)
    result = CliRunner().invoke(cli, ["validate", "--dataset", str(data)])
    if said is None:
        assert result.exit_code == 0, result.output
        assert parse_fraction(text) > 0
        net = semigraph.load(data)
        assert net.tables["components"].set_index("id").at["gallium", "chain_share"] == \
            parse_fraction(text)
    else:
        assert result.exit_code == 2, result.output
        assert "components.csv, row 2, column chain_share: error: " + said in result.output
    assert parse_fraction("14.3%") == 0.143 and parse_fraction("61%") == 0.61


# -- a dataset's files are its own: no links, no paths outside the folder ----------------------

@pytest.mark.parametrize("cache", ["on", "off"])
@pytest.mark.parametrize("target", ["/etc/passwd", "outside", "inside"])
def test_dataset_table_that_is_a_link_is_refused(tmp_path, monkeypatch, cache, target):
    import os

    data = write_dataset(tmp_path / "d", small_tables())
    secret = tmp_path / "secret.csv"
    secret.write_text("id,name\nSECRET-LINE,x\n")
    (data / "firms.csv").unlink()
    to = {"/etc/passwd": "/etc/passwd", "outside": str(secret),
          "inside": str(data / "sources.csv")}[target]
    os.symlink(to, data / "firms.csv")
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache") if cache == "on"
                       else "off")
    result = CliRunner().invoke(cli, ["validate", "--dataset", str(data)])
    assert result.exit_code == 2, result.output
    assert "firms.csv: error: cannot be read: is a link;" in result.output
    assert "root:" not in result.output and "SECRET" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("path", ["/etc/passwd", "../secret.csv", "/nonexistent/x.csv",
                                  "sub/../../secret.csv", "out/secret.csv"])
def test_datapackage_paths_outside_the_folder_are_never_looked_at(tmp_path, path):
    import os

    data = write_dataset(tmp_path / "d", small_tables())
    (tmp_path / "secret.csv").write_text("x\n")
    os.symlink(tmp_path, data / "out")  # a folder link that leads out
    package = {"name": "d", "version": "1", "resources": [{"name": "firms", "path": path}]}
    (data / "datapackage.json").write_text(json.dumps(package))
    _, problems = semigraph.validate(data)
    said = [str(p) for p in problems if "resources.firms.path" in str(p)]
    assert len(said) == 1, problems
    assert "is not a file of the dataset folder" in said[0]
    assert "does not exist" not in said[0]  # the same answer whether the file exists or not


# -- two outputs of one run that are one file are refused, however they are spelt -------------

@pytest.mark.parametrize("outputs", [
    ['path = "a.csv"', 'path = "hard.csv"'],  # hard.csv is a.csv under another name
    ['path = "sub/x.csv"', 'path = "sub/./x.csv"'],
])
def test_two_outputs_that_are_one_file_are_refused(tmp_path, monkeypatch, outputs):
    import os

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.csv").write_text("old\n")
    os.link(tmp_path / "a.csv", tmp_path / "hard.csv")
    name = _scenario(tmp_path, *outputs)
    result = CliRunner().invoke(cli, ["run", name, "--overwrite-outputs"])
    assert result.exit_code == 2, result.output
    assert "output 2" in result.output
    assert ("is the same file as output 1" in result.output
            or "named by an earlier output" in result.output)
    assert (tmp_path / "a.csv").read_text() == "old\n"  # nothing written
    assert "Traceback" not in result.output


def test_output_that_is_the_o_file_through_a_link_is_refused(tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    os.symlink(tmp_path, tmp_path / "here")  # -o through a folder link to this folder
    name = _scenario(tmp_path, 'path = "a.csv"')
    result = CliRunner().invoke(cli, ["run", name, "-o", "here/a.csv"])
    assert result.exit_code == 2, result.output
    assert "the -o file here/a.csv" in result.output
    assert not (tmp_path / "a.csv").exists()


# -- a killed cache store leaves nothing for long ----------------------------------------------

def test_stale_temporary_cache_folders_are_removed_on_the_next_store(tmp_path, monkeypatch):
    import os
    import time

    cache = tmp_path / "cache"
    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(cache))
    left = [cache / ("." + "a" * 64 + ".k1ll3d"), cache / ("." + "b" * 64 + ".x.old")]
    for folder in left:
        folder.mkdir(parents=True)
        (folder / "supply.parquet").write_bytes(b"half")
    recent = cache / ("." + "c" * 64 + ".busy")  # another run storing now: kept
    recent.mkdir()
    hour_ago = time.time() - 2 * 3600
    for folder in left:
        os.utime(folder, (hour_ago, hour_ago))
    semigraph.load(write_dataset(tmp_path / "d", small_tables()))
    names = sorted(p.name for p in cache.iterdir())
    assert recent.name in names and not any(f.name in names for f in left)
    assert len([n for n in names if not n.startswith(".")]) == 1  # the new entry


# -- a cell longer than the csv module's default limit is read ----------------------------------

@pytest.mark.parametrize("cache", ["on", "off"])
def test_dataset_with_a_cell_of_200000_characters_loads(tmp_path, monkeypatch, cache):
    import csv as csv_module

    monkeypatch.setenv("SEMIGRAPH_CACHE_DIR", str(tmp_path / "cache") if cache == "on"
                       else "off")
    csv_module.field_size_limit(131072)  # the default, whatever an earlier test set
    t = small_tables()
    note = "HS " + ", ".join(f"{i:06d}" for i in range(25000))  # 200,000 characters
    t["sources"][0]["note"] = note
    data = write_dataset(tmp_path / "d", t)
    net = semigraph.load(data)
    assert net.tables["sources"]["note"].iloc[0] == note
    result = CliRunner().invoke(cli, ["validate", "--dataset", str(data)])
    assert result.exit_code == 0, result.output


# -- trade importer messages: what is wrong, duplicate columns, bounded warning lines -----------

def _trade(tmp_path, text):
    (tmp_path / "flows.csv").write_text(text)
    return CliRunner().invoke(cli, ["import", "trade", str(tmp_path / "flows.csv"),
                                    "--component", "gallium", "--hs", "811292", "-o",
                                    str(tmp_path / "out")])


@pytest.mark.parametrize(("cell", "column", "message"), [
    ("1.5", "i", "'1.5' is a number, but column i takes whole numbers only"),
    ("2022.0", "t", "'2022.0' is a number, but column t takes whole numbers only"),
    ("1e3", "j", "'1e3' is a number, but column j takes whole numbers only"),
    ("abc", "i", "'abc' is not a number"),
    ("x5", "v", "'x5' is not a number"),
])
def test_trade_cell_refused_says_what_is_wrong(tmp_path, cell, column, message):
    row = {"t": "2022", "i": "156", "j": "276", "v": "5"}
    row[column] = cell
    result = _trade(tmp_path, "t,i,j,k,v\n2022,842,276,811292,1\n"
                    f"{row['t']},{row['i']},{row['j']},811292,{row['v']}\n")
    assert result.exit_code == 2, result.output
    assert f"flows.csv, row 3, column {column}: error: {message}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("header", "column", "said"), [
    ("t,i,j,k,v,v", "v", "column 'v' appears more than once"),
    ("t,i,j,k,v,V", "V", "columns 'v' and 'V' are one column twice"),
    ("t,i,j,k,k,v", "k", "column 'k' appears more than once"),
])
def test_trade_file_with_a_column_twice_is_refused(tmp_path, header, column, said):
    result = _trade(tmp_path, f"{header}\n2022,156,276,811292,5,7\n")
    assert result.exit_code == 2, result.output
    assert f"flows.csv, row 1, column {column}: error: {said}" in result.output
    assert not (tmp_path / "out").exists()


def test_trade_warning_lists_a_few_unknown_codes_and_counts_the_rest(tmp_path):
    rows = "".join(f"2022,{900000 + n},276,811292,1\n" for n in range(5000))
    result = _trade(tmp_path, "t,i,j,k,v\n2022,156,276,811292,100000\n" + rows)
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines()
               if x.startswith("Warning:") and "ISO table" in x]
    assert len(line) < 300, len(line)
    assert "and 4,990 more" in line


# -- bounds on work and memory -----------------------------------------------------------

COUNTRIES = ["CHN", "TWN", "KOR", "JPN", "USA", "DEU", "NLD", "FRA", "MYS", "SGP"]


def test_one_scenario_over_the_memory_budget_is_refused_before_allocating(tmp_path,
                                                                          monkeypatch):
    # ten export stops make eleven consumer classes; their daily series over 1,000 days
    # (about 95 MiB) cannot fit a budget of 16 MiB, and nothing is written
    monkeypatch.setenv("SEMIGRAPH_MEMORY_MB", "16")
    out = tmp_path / "w.csv"
    args = ["whatif", *[x for c in COUNTRIES for x in ("--cut", c)], "--horizon", "1000",
            "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "MiB of arrays" in result.output and "memory budget of 16 MiB" in result.output
    assert "Traceback" not in result.output and not out.exists()
    from semigraph.engine.propagation import OverBudget, evaluate
    from semigraph.engine.scenario import Disruption, Scenario

    net = semigraph.load()
    scenario = Scenario(tuple(Disruption(c) for c in COUNTRIES), horizon=1000)
    with pytest.raises(OverBudget, match=r"about \d+ MiB of arrays \(11 consumer class"):
        evaluate(net, scenario, series=True)
    evaluate(net, scenario, series=False)  # without the series it fits


def _chain_dataset(folder, depth: int):
    """A requirement chain ``depth`` components deep, its raw material made in China."""
    from tests.datasets import base_tables

    t = base_tables()
    ids = [f"c{i:04d}" for i in range(depth)]
    t["components"] = [{"id": c, "name": c, "kind": "raw_material" if i == 0 else "material",
                        "stage": "end_use" if i == depth - 1 else "materials_equipment",
                        "stock_days": 0, "ttr_days": 100, "source": "src"}
                       for i, c in enumerate(ids)]
    t["supply"] = [{"component": ids[0], "supplier": "CHN", "site": "CHN", "share": 1.0,
                    "source": "src"}]
    t["requires"] = [{"component": b, "input": a, "source": "src"}
                     for a, b in itertools.pairwise(ids)]
    return write_dataset(folder, t)


def test_requirement_chain_deeper_than_the_limit_is_refused(tmp_path):
    from semigraph.engine.compiled import MAX_DEPTH, ChainTooDeep

    deep = _chain_dataset(tmp_path / "deep", MAX_DEPTH + 1)
    result = CliRunner().invoke(cli, ["validate", str(deep)])
    # the warning names the file and row of the chain's end
    assert f"requires.csv, row {MAX_DEPTH + 1}" in result.output, result.output
    assert f"{MAX_DEPTH + 1} levels deep, ending at c{MAX_DEPTH:04d}" in result.output
    out = tmp_path / "w.csv"
    result = CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--dataset", str(deep),
                                      "-o", str(out)])
    assert result.exit_code == 2 and "deeper than the limit of 200" in result.output
    assert "Traceback" not in result.output and not out.exists()
    with pytest.raises(ChainTooDeep, match="201 levels deep"):
        semigraph.load(deep).whatif("CHN")
    ok = _chain_dataset(tmp_path / "ok", MAX_DEPTH)  # at the limit: simulated
    result = CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--dataset", str(ok)])
    assert result.exit_code == 0, result.output


def test_monte_carlo_draws_are_generated_as_they_are_read():
    import tracemalloc

    import numpy as np

    from semigraph.engine.sweep import plan_sweep

    net = semigraph.load()
    tracemalloc.start()
    plan = plan_sweep(net, monte_carlo=10**9, probability=0.05, seed=3, max_scenarios=10**9)
    first = list(itertools.islice(plan.unit_sets(), 5000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(plan) == 10**9 and peak < 20 << 20  # memory does not grow with the draws
    # the same draws as drawing them all at once, a batch of 4,096 at a time
    rng = np.random.default_rng(3)
    hit = np.concatenate([rng.random((4096, len(plan.units))) < 0.05 for _ in range(2)])
    assert first == [tuple(np.flatnonzero(row).tolist()) for row in hit[:5000]]


def test_sweep_estimated_over_the_limit_is_refused_before_it_starts(tmp_path):
    from semigraph.engine.sweep import sweep_units

    out = tmp_path / "s.parquet"
    triples = math.comb(len(sweep_units(semigraph.load(), "firm")), 3)  # about 7.6 million
    for args, what in ((["--order", "3", "--level", "firm"], f"{triples:,} scenarios"),
                       (["--monte-carlo", "1000000000"], "1,000,000,000 random draws")):
        result = CliRunner().invoke(cli, ["sweep", *args, "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert what in result.output and "minutes of work" in result.output
        assert "--max-scenarios" in result.output and "Traceback" not in result.output
        assert not out.exists()
    # an explicit allowance below the count is refused too; one above it goes ahead
    result = CliRunner().invoke(cli, ["sweep", "--targets", "CHN,TWN,KOR", "--order", "2",
                                      "--max-scenarios", "2", "--measure", "steady"])
    assert result.exit_code == 2 and "more than --max-scenarios 2" in result.output
    result = CliRunner().invoke(cli, ["sweep", "--targets", "CHN,TWN,KOR", "--order", "2",
                                      "--max-scenarios", "3", "--measure", "steady"])
    assert result.exit_code == 0, result.output


def test_spof_search_estimated_over_the_time_limit_is_refused_before_it_starts(tmp_path):
    from semigraph.findings.cutsets import SearchTooLarge, check_search

    net = semigraph.load()
    with pytest.raises(SearchTooLarge, match=r"[\d,]{7} unit sets .* an estimated \d+ minutes"):
        check_search(net, ["stage:end_use"], level="site", order=2)
    check_search(net, ["stage:end_use"], level="site", order=2, max_sets=400_000,
                 max_minutes=None)  # allowed explicitly
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(cli, ["spof", "--level", "site", "--order", "2", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "longer than the limit of 2 minutes" in result.output
    from semigraph.findings.cutsets import search_size

    sets = search_size(net, ["stage:end_use"], level="site", order=2)
    assert f"--max-sets {sets}" in result.output and "Traceback" not in result.output
    assert not out.exists()
    with pytest.raises(SearchTooLarge, match="limit of 2 minutes"):
        net.spof(level="site", order=2)
