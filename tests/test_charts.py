"""Charts of supply over days: the data drawn, not the pixels; the files written; the CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import semigraph
from semigraph.errors import OutputError, UnknownUnitError
from semigraph.render.charts import (
    READING_LABELS,
    chart_bytes,
    close,
    first_short_day,
    supply_chart,
    svg_for_html,
)
from tests.datasets import small_tables, write_dataset

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def china(bundled):
    """China stops exports: the three readings differ for most end products."""
    return bundled.whatif("CHN")


def _by_gid(ax) -> dict:
    return {line.get_gid(): line for line in ax.lines}


def test_lines_are_the_timelines_of_each_reading(china):
    comp = "ev-traction-inverter"
    series = {"pooled": china.timeline, "high": china.timeline_high,
              "tied": china.timeline_tied}
    # the readings differ here, so a line drawn from the wrong series is caught
    assert not np.allclose(series["pooled"][comp], series["high"][comp])
    assert not np.allclose(series["pooled"][comp], series["tied"][comp])
    fig = china.plot(comp, path=None)
    try:
        (ax,) = fig.axes
        lines = _by_gid(ax)
        for reading, frame in series.items():
            np.testing.assert_array_equal(lines[reading].get_xdata(), frame.index.to_numpy())
            np.testing.assert_allclose(lines[reading].get_ydata(), frame[comp].to_numpy())
            assert lines[reading].get_label() == READING_LABELS[reading]
        # the band between the bounds runs from pooled to chain first
        (band,) = [c for c in ax.collections if c.get_gid() == "range"]
        verts = band.get_paths()[0].vertices
        assert verts[:, 1].min() == pytest.approx(series["pooled"][comp].min())
        assert verts[:, 1].max() == pytest.approx(series["high"][comp].max())
        assert lines["threshold"].get_ydata()[0] == 0.99
        # the first days short marked are the table's
        row = china.table.set_index("component").loc[comp]
        assert lines["short-pooled"].get_xdata()[0] == row["time_to_survive_days"] == 10
        assert lines["short-tied"].get_xdata()[0] == row["tied_short_from_day"] == 9
        texts = {t.get_gid(): t.get_text() for t in ax.texts}
        assert texts["short-tied-label"] == "first tied buyers short on day 9"
        assert ax.get_ylim() == (0, 1.05) and ax.get_xlim() == (0, 365)
        heading = fig.get_suptitle()
        assert heading.startswith("EV traction inverter (ev-traction-inverter)\n")
        assert "What if: CHN: export stop" in heading and "consumers outside CHN" in heading
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert any(t.startswith("tied: buyers tied to their supplier") for t in legend)
    finally:
        semigraph.render.charts.close(fig)


def test_first_short_days_agree_with_the_table_for_every_component(china):
    t = china.table.set_index("component")
    for comp in t.index:
        pooled = first_short_day(china.timeline[comp])
        tied = first_short_day(china.timeline_tied[comp])
        want = t.at[comp, "time_to_survive_days"]
        assert pooled == (None if pd.isna(want) else int(want)), comp
        want = t.at[comp, "tied_short_from_day"]
        assert tied == (None if pd.isna(want) else int(want)), comp


def test_default_panels_are_the_worst_end_products(china):
    fig = china.plot(path=None)
    try:
        shown = [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]
        ends = china.table[(china.table["stage"] == "end_use")
                           & (china.table["availability"] < 1)]["component"].head(4)
        assert [s.rsplit("(", 1)[1].rstrip(")") for s in shown] == list(ends)
        assert fig.get_suptitle().startswith("What if: CHN: export stop")
    finally:
        semigraph.render.charts.close(fig)


def test_ax_takes_one_component(china):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert china.plot("smartphone", ax=ax) is ax
        np.testing.assert_allclose(_by_gid(ax)["tied"].get_ydata(),
                                   china.timeline_tied["smartphone"].to_numpy())
        assert ax.get_legend() is not None
        with pytest.raises(ValueError, match="exactly one"):
            china.plot(["smartphone", "motor-vehicle"], ax=ax)
    finally:
        plt.close(fig)
    with pytest.raises(UnknownUnitError, match="smartfone"):
        china.plot("smartfone", path=None)


def test_files_are_written_and_valid(china, tmp_path):
    png, svg, pdf = (tmp_path / f"c.{s}" for s in ("png", "svg", "pdf"))
    china.plot("smartphone", path=png)
    data = png.read_bytes()
    assert data.startswith(PNG)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 675)  # 8 x 4.5 inches at 150 dpi: a slide
    china.plot(["smartphone", "motor-vehicle"], path=svg)
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    china.plot("smartphone", path=pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    # the same chart gives the same bytes (no date, fixed ids)
    again = tmp_path / "again.svg"
    china.plot(["smartphone", "motor-vehicle"], path=again)
    assert again.read_bytes() == svg.read_bytes()


def test_bad_suffix_and_existing_file(china, tmp_path):
    bad = tmp_path / "c.jpg"
    with pytest.raises(OutputError, match=r"\.png, \.svg or \.pdf"):
        china.plot("smartphone", path=bad)
    assert not bad.exists()
    out = tmp_path / "c.png"
    out.write_bytes(b"old")
    with pytest.raises(OutputError, match="--force"):
        china.plot("smartphone", path=out)
    assert out.read_bytes() == b"old"
    china.plot("smartphone", path=out, force=True)
    assert out.read_bytes().startswith(PNG)
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]  # no temporary file left


def test_pandas_plot_of_a_timeline(china):
    ax = china.timeline[["smartphone", "motor-vehicle"]].plot()
    try:
        ys = [line.get_ydata() for line in ax.lines]
        np.testing.assert_allclose(ys[0], china.timeline["smartphone"].to_numpy())
        np.testing.assert_allclose(ys[1], china.timeline["motor-vehicle"].to_numpy())
    finally:
        import matplotlib.pyplot as plt

        plt.close(ax.figure)


def test_timelines_result_draws_the_same_chart(china):
    long = china.timelines(["smartphone"])
    fig = long.plot(path=None)
    try:
        lines = _by_gid(fig.axes[0])
        for reading, frame in (("pooled", china.timeline), ("high", china.timeline_high),
                               ("tied", china.timeline_tied)):
            np.testing.assert_allclose(lines[reading].get_ydata(),
                                       frame["smartphone"].to_numpy())
        assert fig.get_suptitle().startswith("smartphone\nWhat if: CHN: export stop")
    finally:
        semigraph.render.charts.close(fig)


def test_other_results_have_no_chart(small):
    res = small.concentration()
    with pytest.raises(TypeError, match="concentration result has no chart"):
        res.plot()


def test_nothing_short_says_so(small):
    res = small.whatif("CHN", severity=0.0, horizon=30)  # a cut that takes nothing
    assert (res.table[["availability", "availability_high", "availability_tied"]] == 1).all().all()
    fig = res.plot(path=None)
    try:
        assert "No component loses supply" in " ".join(t.get_text()
                                                       for t in fig.axes[0].texts)
    finally:
        semigraph.render.charts.close(fig)


def test_names_that_look_like_markup_or_maths(tmp_path):
    t = small_tables()
    for row in t["components"]:
        if row["id"] == "car":
            row["name"] = "Car $x^2$ <b>&amp;</b> \x01\x1b[31m"
    net = semigraph.load(write_dataset(tmp_path / "odd", t))
    res = net.whatif("TWN", horizon=60)
    fig = res.plot("car", path=tmp_path / "odd.svg")
    # drawn as written (no maths), control characters left out (SVG's XML allows none)
    assert fig.get_suptitle().startswith("Car $x^2$ <b>&amp;</b> [31m (car)\n")
    ET.parse(tmp_path / "odd.svg")  # a file's text is drawn as outlines
    inline = ET.fromstring(chart_bytes(fig, "svg", inline=True))  # text kept as text
    assert "Car $x^2$ <b>&amp;</b> [31m (car)" in "".join(inline.itertext())


def test_svg_for_html_has_no_references_and_own_ids(china):
    fig = supply_chart({"pooled": china.timeline, "high": china.timeline_high,
                        "tied": china.timeline_tied}, ["smartphone"], title="t")
    text = svg_for_html(chart_bytes(fig, "svg", inline=True), "c1-")
    assert text.startswith("<svg") and "url(" not in text and "href" not in text
    assert "<?xml" not in text and "<!DOCTYPE" not in text
    ids = [m for m in __import__("re").findall(r'\bid="([^"]*)"', text)]
    assert ids and all(i.startswith("c1-") for i in ids)
    ET.fromstring(text)


# ---- the command line ---------------------------------------------------------------------

def test_cli_whatif_chart(run, small_path, tmp_path):
    out = tmp_path / "car.png"
    res = run("whatif", "--cut", "CHN", "--dataset", small_path, "--horizon", 120,
              "--chart", out, "--chart-component", "car,chip")
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(PNG)
    assert f"Wrote {out}" in res.output and "car" in res.output  # the table is printed too
    res = run("whatif", "--cut", "CHN", "--dataset", small_path, "--chart", out)
    assert res.exit_code == 2 and "--force" in res.output


def test_cli_chart_errors(run, small_path, tmp_path):
    bad = tmp_path / "car.gif"
    res = run("whatif", "--cut", "CHN", "--dataset", small_path, "--chart", bad)
    assert res.exit_code == 2 and ".png, .svg or .pdf" in res.output
    assert not bad.exists()
    out = tmp_path / "c.svg"
    res = run("whatif", "--cut", "CHN", "--dataset", small_path, "--chart", out,
              "--chart-component", "nothing")
    assert res.exit_code == 2 and "nothing" in res.output and not out.exists()
    res = run("whatif", "--cut", "CHN", "--dataset", small_path, "--chart-component", "car")
    assert res.exit_code == 2 and "--chart FILE" in res.output
    same = tmp_path / "same.svg"
    res = run("whatif", "--cut", "CHN", "--dataset", small_path, "--chart", same, "-o", same)
    assert res.exit_code == 2 and not same.exists()


def test_cli_run_chart(run, small_path, tmp_path):
    scen = tmp_path / "s.toml"
    scen.write_text('title = "China stops"\nhorizon = 90\n[[disruption]]\nunit = "CHN"\n',
                    encoding="utf-8")
    out = tmp_path / "s.svg"
    res = run("run", scen, "--dataset", small_path, "--chart", out)
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert ET.fromstring(text).tag.endswith("svg")


# ---- the early warning --------------------------------------------------------------------

def test_warning_charts_are_the_whatif_timelines(small):
    res = small.warn("export stop of gallium from CHN", perspective="NLD")
    w = res.warning
    same = small.whatif(scenario=w.scenario)
    low = {c: min(same.timeline[c].min(), same.timeline_high[c].min(),
                  same.timeline_tied[c].min()) for c in same.timeline.columns}
    assert w.chart_components() == [c for c in w.products["component"] if low[c] < 1]
    assert "car" in w.chart_components()
    fig = res.plot("car", path=None)
    try:
        lines = _by_gid(fig.axes[0])
        for reading, frame in (("pooled", same.timeline), ("high", same.timeline_high),
                               ("tied", same.timeline_tied)):
            np.testing.assert_allclose(lines[reading].get_ydata(), frame["car"].to_numpy())
        assert fig.get_suptitle().startswith(
            "Car electronics (car)\nEarly warning: export stop of gallium from CHN; seen "
            "from NLD")
    finally:
        semigraph.render.charts.close(fig)
    page = res.html()
    drawn = w.chart_components()
    assert drawn and page.count('<figure class="chart"') == len(drawn)
    body = page[page.index("<h2>Supply over days</h2>"):page.index("<h2>Dutch firms</h2>")]
    assert "href" not in body and "url(" not in body
    for svg in __import__("re").findall(r"<svg.*?</svg>", body, flags=__import__("re").S):
        ET.fromstring(svg)
    md = res.markdown()
    assert "## Supply over days" in md and "![" not in md
    assert "![Supply over days](b-supply.png)" in res.markdown("b-supply.png")


def test_cli_warn_markdown_writes_the_chart_beside_it(run, small_path, tmp_path):
    out = tmp_path / "brief.md"
    res = run("warn", "export stop of gallium from CHN", "--dataset", small_path, "-o", out)
    assert res.exit_code == 0, res.output
    png = tmp_path / "brief-supply.png"
    assert png.read_bytes().startswith(PNG)
    assert "![Supply over days](brief-supply.png)" in out.read_text(encoding="utf-8")
    out.unlink()
    res = run("warn", "export stop of gallium from CHN", "--dataset", small_path, "-o", out)
    assert res.exit_code == 2 and "brief-supply.png exists" in res.output
    assert not out.exists()  # checked before anything was written
    res = run("warn", "export stop of gallium from CHN", "--dataset", small_path, "-o", out,
              "--force")
    assert res.exit_code == 0 and out.exists()


def test_uncertainty_band_is_drawn_where_the_table_has_it(small):
    """With --uncertainty the chart marks where the pooled lowest day lies over the draws:
    a strip from the table's 5th to its 95th percentile; without it, none."""
    ranges = pd.DataFrame(
        [("supply", "gallium/CHN/CHN", "share", 0.8, 0.95, None, "test"),
         ("components", "gallium", "stock_days", 10, 50, None, "test")],
        columns=["table", "key", "column", "low", "high", "source", "reason"])
    res = small.whatif("CHN", uncertainty=12, seed=3, ranges=ranges)
    row = res.table.set_index("component").loc["car"]
    fig = res.plot(["car"], path=None)
    try:
        ax = fig.axes[0]
        strips = [p for p in ax.patches if p.get_gid() == "uncertainty"]
        assert len(strips) == 1
        strip = strips[0]  # a rectangle in data units along y
        assert strip.get_y() == pytest.approx(row["availability_p05"])
        assert strip.get_y() + strip.get_height() == pytest.approx(
            max(row["availability_p95"], row["availability_p05"] + 0.004))
        assert row["availability_p05"] < row["availability_p95"]
        assert "12 draws" in strip.get_label()
    finally:
        close(fig)
    plain = small.whatif("CHN").plot(["car"], path=None)
    try:
        assert not [p for p in plain.axes[0].patches if p.get_gid() == "uncertainty"]
    finally:
        close(plain)
