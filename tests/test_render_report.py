"""The HTML report: self-contained, and it opens in a real (headless) browser."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from semigraph.cli import cli
from semigraph.engine.scenario import Disruption, Scenario

HAS_DOT = shutil.which("dot") is not None or bool(os.environ.get("SEMIGRAPH_DOT"))
pytestmark = pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot is not installed "
                                                    "(apt-get install graphviz)")
CHROMIUM = next((p for p in (os.environ.get("SEMIGRAPH_CHROMIUM"), "/usr/bin/chromium",
                             shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and Path(p).is_file()), None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def test_report_is_self_contained(small, tmp_path):
    out = small.report([Scenario((Disruption("TWN"),), title="Taiwan <cut>")],
                       tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    # the risk map and one chart of supply over days: the car, the one end product short
    assert text.count("<svg") == 2 and "Taiwan &lt;cut&gt;" in text
    assert text.count('<figure class="chart"') == 1 and 'id="chart-1-car"' in text
    assert 'id="dependency-matrix"' in text and "Sources cited" in text
    assert "<code>src</code>" in text  # the small dataset's one source is cited
    # nothing is fetched: no scripts, stylesheets, images or frames from anywhere
    assert not re.search(r"<(script|link|img|iframe)\b", text)
    assert not re.search(r"""\bsrc\s*=\s*["']""", text)
    assert "@import" not in text and "url(" not in text


def test_cli_report(small_path, tmp_path):
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", "--dataset", str(small_path), "--cut", "TWN",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    res = CliRunner().invoke(cli, ["report", "--dataset", str(small_path), "-o", str(out)])
    assert res.exit_code == 2 and "--force" in res.output


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found at /usr/bin/chromium or on "
                    "PATH (apt-get install chromium, or set SEMIGRAPH_CHROMIUM)")
def test_report_in_headless_chromium(small_path, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    out = tmp_path / "report.html"
    res = CliRunner().invoke(cli, ["report", "--dataset", str(small_path), "--cut", "TWN",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.resolve().as_uri(), wait_until="load")
            svg = page.locator("#map-1 svg")
            assert svg.count() == 1
            box = svg.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            assert "Legend" in svg.text_content()
            assert page.locator("table.ranked tbody tr").count() >= 2
            assert page.locator("#dependency-matrix tbody tr").count() == 1
            assert "Car electronics" in page.locator("#dependency-matrix").inner_text()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes().startswith(b"\x89PNG")
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith("file:")] == []


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found at /usr/bin/chromium or on "
                    "PATH (apt-get install chromium, or set SEMIGRAPH_CHROMIUM)")
def test_report_maps_are_readable_in_chromium(tmp_path):
    """The example report of `report --help` (the Taiwan blockade on the bundled dataset): its
    map is drawn at full size in a scrolling frame, so its text is as large on the page as in
    the map (it was scaled to the page width, text about 5 px), and a legible chart of supply
    over days stands beside it for each end-use product that loses supply."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install playwright)")
    out = tmp_path / "report.html"
    blockade = Path(__file__).resolve().parents[1] / "queries" / "taiwan-blockade.toml"
    res = CliRunner().invoke(cli, ["report", "--scenario", str(blockade), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "Reading: the static bound" in text  # the matrix says which reading it shows
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(out.resolve().as_uri(), wait_until="load")
            heights = page.evaluate(
                "() => Array.from(document.querySelectorAll('#map-1 svg text'))"
                ".map(t => t.getBoundingClientRect().height).filter(h => h > 0)"
                ".sort((a, b) => a - b)")
            assert len(heights) > 20
            median = heights[len(heights) // 2]
            assert median >= 10, f"map text {median:.1f} px high"
            frame = page.locator("#map-1").bounding_box()
            assert frame is not None and frame["height"] <= 900  # scrolls inside its frame
            # a chart of supply over days per end-use product that loses supply, legible too
            charts = page.locator("#scenario-1 figure.chart svg")
            assert charts.count() >= 3
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box is not None and box["width"] >= 500 and box["height"] >= 250
            chart_text = page.evaluate(
                "() => Array.from(document.querySelectorAll('#scenario-1 figure.chart svg text'))"
                ".map(t => t.getBoundingClientRect().height).filter(h => h > 0)"
                ".sort((a, b) => a - b)")
            if chart_text:  # matplotlib may draw glyphs as paths; then the size is the box's
                assert chart_text[len(chart_text) // 2] >= 9
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes().startswith(b"\x89PNG")
        finally:
            browser.close()
