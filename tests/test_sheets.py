"""Spreadsheets for Excel users, output suffixes, and one number format per terminal column."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

import semigraph
from semigraph.compare import read_result
from semigraph.errors import OutputError
from semigraph.io import sheets
from semigraph.io.write import format_for, format_table, write_stream


@pytest.fixture(scope="module")
def chn(bundled):
    return bundled.whatif("CHN")


def _cited(table: pd.DataFrame) -> set[str]:
    """Source ids a table names, by brute force over every cell."""
    ids = set()
    for col in ("sources", "source"):
        for cell in table.get(col, []):
            cells = cell if isinstance(cell, list) else str(cell or "").split(";")
            ids |= {c for c in cells if c}
    return ids


def test_whatif_workbook(chn, tmp_path):
    out = chn.to_file(tmp_path / "chn.xlsx")
    book = load_workbook(out)
    assert book.sheetnames == ["result", "about", "sources", "meta"]
    assert book["meta"].sheet_state == "hidden"
    ws = book["result"]
    cols = list(chn.table.columns)
    assert [c.value for c in ws[1]] == cols
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(cols))}{len(chn.table) + 1}"
    assert ws["A1"].font.b
    at = {name: i + 1 for i, name in enumerate(cols)}
    # shares as percentages, days whole, lost days with one decimal: the values untouched
    avail = ws.cell(row=2, column=at["availability"])
    assert avail.number_format == "0.0%"
    assert avail.value == pytest.approx(chn.table["availability"].iloc[0], abs=1e-12)
    for col in ("availability_tied", "steady_state", "exposed_share", "output"):
        assert ws.cell(row=2, column=at[col]).number_format == "0.0%", col
    assert ws.cell(row=2, column=at["stock_days"]).number_format == "#,##0"
    assert ws.cell(row=2, column=at["time_to_survive_days"]).number_format == "#,##0"
    assert ws.cell(row=2, column=at["lost_days"]).number_format == "#,##0.0"
    assert ws.cell(row=2, column=at["component"]).number_format == "General"
    # widths: the longest of the header and the cells, plus 2, at least 8, at most 60
    longest = max(len(c) for c in chn.table["component"])
    assert ws.column_dimensions["A"].width == max(8, longest + 2)
    bottleneck = get_column_letter(at["bottleneck"])
    assert ws.column_dimensions[bottleneck].width == sheets.MAX_WIDTH
    # about: plain values, numbers as numbers, lists joined by "; "
    about = {r[0].value: r[1] for r in book["about"].iter_rows(min_row=2)}
    assert about["dataset"].value == "semiconductors"
    assert about["scenario.horizon"].value == 365
    assert about["scenario.horizon"].data_type == "n"
    assert about["disruptions"].value == "CHN: export stop"
    assert about["scenario.disruptions"].value.startswith("unit=CHN, severity=1.0")
    assert about["scenario.perspective"].value is None
    assert not any(isinstance(c.value, str) and c.value.startswith('"')
                   for c in about.values())
    # sources: every source the rows cite, with the dataset's citation and a link
    src = book["sources"]
    head = [c.value for c in src[1]]
    assert head == ["id", "publisher", "title", "year", "url", "kind", "note"]
    rows = list(src.iter_rows(min_row=2))
    assert {r[0].value for r in rows} == _cited(chn.table)
    table = bundled_sources = chn.citations.set_index("id")
    linked = 0
    for r in rows:
        url = r[4].value
        want = bundled_sources.loc[r[0].value, "url"]
        assert url == (want if isinstance(want, str) else None)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            assert r[4].hyperlink.target == url
            linked += 1
        assert r[1].value == table.loc[r[0].value, "publisher"]
    assert linked > 10
    # the metadata comes back exactly
    assert semigraph.read_result_meta(out) == json.loads(chn.to_json(meta=True))["meta"]


def test_number_formats_by_meaning(bundled, tmp_path):
    stock = bundled.stockpile().to_file(tmp_path / "s.xlsx")
    ws = load_workbook(stock)["result"]
    cols = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=cols.index("cost_eur") + 1)
    assert cell.number_format == "#,##0" and cell.value > 1e6
    assert ws.cell(row=2, column=cols.index("score") + 1).number_format == "#,##0"
    assert ws.cell(row=2, column=cols.index("availability") + 1).number_format == "0.0%"
    assert ws.cell(row=2, column=cols.index("extra_stock_days") + 1).number_format == "#,##0"
    # the dependency matrix: every country column a share of the product lost
    matrix = bundled.dependency_matrix().to_file(tmp_path / "m.xlsx")
    ws = load_workbook(matrix)["result"]
    assert {c.number_format for c in ws[2][1:]} == {"0.0%"}
    # the backtest's score is a score on 0..1, not a count: left as it is
    bt = bundled.backtest(["queries"]).to_file(tmp_path / "b.xlsx")
    book = load_workbook(bt)
    cols = [c.value for c in book["result"][1]]
    assert book["result"].cell(row=2, column=cols.index("score") + 1).number_format == \
        "General"
    assert book["result"].cell(row=2, column=cols.index("observed_low") + 1).number_format \
        == "0.0%"
    assert "sources" in book.sheetnames  # the backtest's rows name their source


def test_no_sources_sheet_without_source_ids(bundled, tmp_path):
    out = bundled.concentration().to_file(tmp_path / "c.xlsx")
    assert load_workbook(out).sheetnames == ["result", "about", "meta"]


def test_indicators_and_warn_cite(bundled, tmp_path, run):
    ind = bundled.indicators(perspective="EU27")
    book = load_workbook(ind.to_file(tmp_path / "i.xlsx"))
    assert {r[0].value for r in book["sources"].iter_rows(min_row=2)} == _cited(ind.table)
    # the command's workbook too: frozen header and filters over every row
    res = run("indicators", "-o", tmp_path / "cmd.xlsx")
    assert res.exit_code == 0, res.output
    ws = load_workbook(tmp_path / "cmd.xlsx")["result"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
    assert ws.max_row > 10
    out = tmp_path / "w.xlsx"
    res = run("warn", "export licence on gallium from CHN", "-o", out)
    assert res.exit_code == 0, res.output
    warned = bundled.warn("export licence on gallium from CHN")
    book = load_workbook(out)
    ids = {r[0].value for r in book["sources"].iter_rows(min_row=2)}
    assert ids == set(warned.warning.sources["id"]) | _cited(warned.table)
    assert ids  # the briefing cites the estimate behind the gallium share


def test_old_about_sheet_still_read(tmp_path):
    """A workbook written before the hidden metadata sheet: its about values are JSON."""
    book = Workbook()
    book.active.title = "result"
    about = book.create_sheet("about")
    about.append(["key", "value"])
    about.append(["analysis", '"whatif"'])
    about.append(["order", "2"])
    about.append(["units", '["CHN", "TWN"]'])
    book.save(tmp_path / "old.xlsx")
    assert semigraph.read_result_meta(tmp_path / "old.xlsx") == \
        {"analysis": "whatif", "order": 2, "units": ["CHN", "TWN"]}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(meta=st.dictionaries(st.text(min_size=1, max_size=10), _JSON, min_size=1, max_size=6))
def test_metadata_round_trip(meta, tmp_path_factory):
    """Whatever metadata is written comes back as it was, and the about sheet holds only
    plain cells (no list, no dict, no JSON quoting of text)."""
    path = tmp_path_factory.mktemp("meta") / "r.xlsx"
    with open(path, "wb") as fh:
        sheets.write_xlsx([pd.DataFrame({"a": [1.0]})], fh, meta=meta)
    clean = json.loads(json.dumps(meta))
    back = semigraph.read_result_meta(path)
    # text loses only the characters XLSX cannot hold (none in the hidden JSON: escaped)
    assert back == clean
    for _key, value in sheets.about_rows(meta):
        assert not isinstance(value, (list, dict))


def test_long_metadata_split_across_cells(tmp_path):
    meta = {"note": "x" * 100_000, "n": 3}
    path = tmp_path / "long.xlsx"
    with open(path, "wb") as fh:
        sheets.write_xlsx([pd.DataFrame({"a": [1]})], fh, meta=meta)
    hidden = load_workbook(path)["meta"]
    assert hidden.max_row == 1 + 4  # header and four cells of at most 32,000 characters
    assert semigraph.read_result_meta(path) == meta


# --- suffixes ---------------------------------------------------------------------------

def test_format_for():
    assert format_for("a.XLSX", None) == "xlsx"
    assert format_for("a.txt", None) == "table"
    assert format_for("-", None) == "table"
    assert format_for(None, None) == "table"
    assert format_for("a.dat", "csv") == "csv"
    with pytest.raises(OutputError, match=r"'\.xls'.*old Excel.*\.csv, \.json, \.parquet, "
                                          r"\.txt, \.xlsx"):
        format_for("a.xls", None)
    with pytest.raises(OutputError, match="no suffix"):
        format_for("results", None)


@pytest.mark.parametrize("args", [
    ["whatif", "--cut", "CHN"],
    ["run", "queries/taiwan-blockade.toml"],
    ["backtest", "queries"],
    ["spof"],
    ["concentration"],
    ["stockpile"],
    ["indicators"],
    ["diff", "queries/taiwan-blockade.toml", "queries/taiwan-blockade.toml"],
    ["warn", "export licence on gallium from CHN"],
    ["sweep", "--measure", "steady"],
    ["report", "--cut", "CHN"],
    ["map", "--cut", "CHN"],
])
@pytest.mark.parametrize("name", ["out.xls", "out.xlsxx", "out"])
def test_bad_suffix_refused(run, tmp_path, args, name):
    out = tmp_path / name
    res = run(*args, "-o", out)
    assert res.exit_code == 2, res.output
    assert out.name in res.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "Traceback" not in res.output


def test_every_table_format_where_it_fits(run, tmp_path):
    for suffix in (".csv", ".json", ".parquet", ".xlsx"):
        out = tmp_path / f"w{suffix}"
        res = run("warn", "export licence on gallium from CHN", "-o", out)
        assert res.exit_code == 0, res.output
        frame, meta = read_result(out)
        assert list(frame["component"]) == ["gallium"] and meta.get("analysis", "warn") == \
            "warn"
    out = tmp_path / "brief.md"
    assert run("warn", "export licence on gallium from CHN", "-o", out).exit_code == 0
    assert out.read_text().startswith("#")


# --- sweep: every streamed format, Excel's limit -----------------------------------------

def test_sweep_to_xlsx_and_json(run, tmp_path):
    pq = tmp_path / "s.parquet"
    assert run("sweep", "--measure", "steady", "-o", pq).exit_code == 0
    want = pd.read_parquet(pq)
    assert len(want) == 1250  # 50 countries x 25 end products
    xl = tmp_path / "s.xlsx"
    res = run("sweep", "--measure", "steady", "-o", xl)
    assert res.exit_code == 0, res.output
    book = load_workbook(xl)
    ws = book["result"]
    assert ws.max_row == 1251 and ws.auto_filter.ref == "A1:C1251"
    assert ws["C2"].number_format == "0.0%"
    got = pd.read_excel(xl, sheet_name="result", dtype={"scenario": str})
    assert list(got["scenario"]) == list(want["scenario"])
    assert got["steady_state"].to_numpy() == pytest.approx(want["steady_state"].to_numpy())
    assert semigraph.read_result_meta(xl)["components"] == 25
    js = tmp_path / "s.json"
    assert run("sweep", "--measure", "steady", "-o", js).exit_code == 0
    data = json.loads(js.read_text())
    assert data["meta"]["analysis"] == "sweep"
    assert pd.DataFrame(data["rows"])["steady_state"].to_numpy() == \
        pytest.approx(want["steady_state"].to_numpy())


def test_sweep_beyond_excel_refused_before_it_runs(bundled, tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 1000)
    ran = []
    import semigraph.engine.sweep as sw

    monkeypatch.setattr(sw, "sweep_chunks", lambda *a, **k: ran.append(1) or iter(()))
    out = tmp_path / "s.xlsx"
    with pytest.raises(OutputError, match=r"1,250 rows.*more than the 999"):
        bundled.sweep(measure="steady", output=out)
    assert not ran and list(tmp_path.iterdir()) == []


def test_stream_past_excel_limit_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 11)
    chunks = (pd.DataFrame({"a": range(i, i + 4)}) for i in range(0, 12, 4))
    with pytest.raises(OutputError, match="more than 10 rows"):
        write_stream(chunks, tmp_path / "x.xlsx", fmt="xlsx")
    assert list(tmp_path.iterdir()) == []
    chunks = (pd.DataFrame({"a": range(i, i + 5)}) for i in range(0, 10, 5))
    assert write_stream(chunks, tmp_path / "x.xlsx", fmt="xlsx") == 10


# --- terminal: one number format per column ----------------------------------------------

def _columns(text: str) -> dict[str, list[str]]:
    """The cells of a terminal table, by column (split at the dashes under the header)."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    header = lines[rule - 1]
    body = []
    for line in lines[rule + 1:]:
        if not line or line.startswith(("...", "(")):
            break  # the rows end; notes follow
        body.append(line)
    return {header[a:b].strip(): [line[a:b].strip() for line in body] for a, b in spans}


def test_terminal_column_has_one_format(chn):
    cols = ["component", "stock_days", "ttr_days", "lost_days", "steady_state",
            "time_to_survive_days", "exposed_share"]
    table = chn.table[cols].copy()
    table.loc[table.index[0], "ttr_days"] = 1095.0  # a column with 1,095 beside 540
    table.loc[table.index[1], "ttr_days"] = 540.0
    text = format_table(table, analysis="whatif")
    cells = _columns(text)
    patterns = {"stock_days": r"\d{1,3}(,\d{3})*", "ttr_days": r"\d{1,3}(,\d{3})*",
                "time_to_survive_days": r"\d{1,3}(,\d{3})*",
                "lost_days": r"\d{1,3}(,\d{3})*\.\d", "steady_state": r"[01]\.\d{3}",
                "exposed_share": r"[01]\.\d{3}"}
    for col, pattern in patterns.items():
        values = [c for c in cells[col] if c != "-"]
        assert values, col
        bad = [v for v in values if not re.fullmatch(pattern, v)]
        assert not bad, (col, bad[:5])
    assert "1,095" in cells["ttr_days"] and "540" in cells["ttr_days"]


def test_terminal_unknown_column_by_largest_value():
    frame = pd.DataFrame({"x": [1095.5, 540.0, 0.25], "n": [12000, 5, 7],
                          "whole": [1.0, 2.0, 3.0], "mixed": ["a", 2.5, None],
                          "year": [2024, 1999, 2025]})
    cells = _columns(format_table(frame))
    assert cells["year"] == ["2024", "1999", "2025"]
    assert cells["x"] == ["1,095.5", "540.0", "0.2"]
    assert cells["n"] == ["12,000", "5", "7"]
    assert cells["whole"] == ["1", "2", "3"]
    assert cells["mixed"] == ["a", "2.500", "-"]


def test_cli_table_lost_days(run):
    res = run("whatif", "--cut", "CHN", "--limit", "0")
    assert res.exit_code == 0
    lost = [c for c in _columns(res.output)["lost_days"] if c]
    assert lost and all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d", c) for c in lost)
