"""Risk maps: escaping, stable DOT, golden file, SVG well-formed, dot missing."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.cli import cli
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.errors import OutputError
from semigraph.findings.risk import dependency_matrix
from semigraph.render import map_source, render_bytes
from semigraph.render.escape import html_text, quoted
from tests.datasets import random_tables, small_tables, write_dataset

GOLDEN = Path(__file__).parent / "golden"
HOSTILE_COMPONENT = 'Zeiß "SMT" <Optik> & {Co}\\'
HOSTILE_FIRM = "Fab «Ω» \\N & 'Söhne'\nline two <b>"
HAS_DOT = shutil.which("dot") is not None or bool(os.environ.get("SEMIGRAPH_DOT"))
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot is not installed "
                                                   "(apt-get install graphviz)")


@pytest.fixture
def hostile_path(tmp_path):
    t = small_tables()
    for row in t["components"]:
        if row["id"] == "litho-a":
            row["name"] = HOSTILE_COMPONENT
        if row["id"] == "chip":
            row["name"] = "Chip ]]> </text> &amp; \\\\ \"\"\""
    for row in t["firms"]:
        if row["id"] == "fab":
            row["name"] = HOSTILE_FIRM
    return write_dataset(tmp_path / "hostile", t)


def _texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)  # raises on malformed XML
    return [el.text or "" for el in root.iter() if el.tag.endswith("text")]


def test_html_text_escapes_markup_and_backslashes():
    assert html_text('a<b>&"c"\\') == "a&lt;b&gt;&amp;&quot;c&quot;\\\\"
    assert html_text("one\ntwo") == "one<BR/>two"
    assert html_text("Zeiß {x}") == "Zeiß {x}"
    assert quoted('a"b\\') == '"a\\"b\\\\"'


def test_dot_is_byte_identical_across_loads(small_path):
    scen = Scenario((Disruption("TWN"),))
    a = map_source(semigraph.load(small_path).map(scen))
    b = map_source(semigraph.load(small_path).map(scen))
    assert a == b
    c = map_source(semigraph.load(small_path).map(countries=True))
    assert c == map_source(semigraph.load(small_path).map(countries=True))


def test_golden_dot(small):
    """The DOT of a small map; regenerate with SEMIGRAPH_UPDATE_GOLDEN=1 after a deliberate
    change, and look at the rendered map before committing it."""
    got = map_source(small.map(Scenario((Disruption("TWN"),), title="cut TWN")))
    path = GOLDEN / "small-cut-twn.dot"
    if os.environ.get("SEMIGRAPH_UPDATE_GOLDEN"):
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


def test_map_marks_cut_units_and_colours_by_availability(small):
    src = map_source(small.map(Scenario((Disruption("TWN"),))))
    assert "CUT" in src and "Taiwan (TWN)" in src
    assert "Chip" in src and "30% available" in src  # 0.2 + 0.1 unattributed survive
    assert "Legend" in src and "lowest daily supply" in src
    assert "Gallium" not in src  # unaffected components are not drawn under a scenario


def test_map_without_scenario_shows_concentration_and_spof(small):
    src = map_source(small.map())
    assert "share of world supply made in the top country" in src
    assert "90% made in CHN" in src
    assert "SPOF: fab" in src  # fab makes 90% of chips: alone it drives car below 50%


def test_target_cone_and_depth(small):
    src = map_source(small.map(target="chip", depth=1))
    assert "Wafer" in src and "Gallium" not in src and "Car electronics" not in src
    down = map_source(small.map(target="wafer", direction="downstream"))
    assert "Car electronics" in down and "Gallium" not in down


def test_large_map_collapses_and_says_so(small):
    src = map_source(small.map(max_nodes=5))
    assert "collapsed to country level" in src
    scen = map_source(small.map(Scenario((Disruption("JPN"),)), max_nodes=2))
    assert "collapsed to the bottleneck chains" in scen


def _drawn_components(model, result=None, **kw) -> set[str]:
    """Ids of the components a risk map with these arguments draws."""
    from semigraph.render.graphviz_map import map_selection

    sel = map_selection(model, model.risk(result), **kw)
    assert not sel.country_map
    return set(sel.components)


def test_target_map_without_scenario_draws_its_cone_not_the_dataset(bundled):
    from semigraph.render.graphviz_map import _cone, _feeds

    graph = bundled.map(target="smartphone", depth=2)
    src = map_source(graph)
    assert "Who holds what" not in src  # not the whole dataset's country matrix
    cone = _cone(_feeds(bundled), "smartphone", "upstream", 2)
    drawn = _drawn_components(bundled, target="smartphone", depth=2)
    assert "smartphone" in drawn and drawn <= cone
    assert len(drawn) <= 45
    # every chokepoint of the cone is drawn, or the title names it as left out
    risk = bundled.risk()
    top = risk.table["top_share"]
    chokepoints = {c for c in cone if c != "smartphone" and top.get(c, 0) >= 0.65}
    assert chokepoints and chokepoints <= drawn
    assert f"{len(chokepoints)} of {len(chokepoints)} chokepoints" in src
    # a tighter limit leaves chokepoints out and says which
    tight = map_source(bundled.map(target="smartphone", depth=2, max_nodes=8))
    assert "not drawn: " in tight and "collapsed to the paths" in tight


def test_scenario_map_at_country_level_is_collapsed_not_a_hairball(bundled):
    res = bundled.whatif("TWN", explain=False)
    graph = bundled.map(res, level="country")
    src = map_source(graph)
    drawn = _drawn_components(bundled, res, level="country")
    assert 0 < len(drawn) <= 45 // 2
    assert "collapsed to the bottleneck chains" in src
    # supplier countries are drawn only for what the cut takes supply from
    hit = bundled.risk(res).table["directly_hit"]
    n_hit = int(hit[sorted(drawn)].sum())
    assert f"suppliers drawn for the {n_hit} components the cut takes supply from" in src


def test_concentration_collapse_keeps_paths_to_the_target(small):
    # the small dataset: gallium (90% CHN) -> wafer -> chip -> car
    graph = small.map(target="car", max_nodes=5)
    src = map_source(graph)
    assert "collapsed to the paths from the most concentrated inputs to car" in src
    drawn = _drawn_components(small, target="car", max_nodes=5)
    assert "car" in drawn and len(drawn) <= 5


@needs_dot
def test_svg_is_well_formed_with_hostile_names_verbatim(hostile_path):
    model = semigraph.load(hostile_path)
    for graph in (model.map(), model.map(level="firm"),
                  model.map(Scenario((Disruption("TWN"),)), level="firm"),
                  model.map(countries=True)):
        texts = _texts(render_bytes(graph, "svg"))
        joined = "\n".join(texts)
        assert "Legend" in joined
    texts = _texts(render_bytes(model.map(level="firm"), "svg"))
    assert HOSTILE_COMPONENT in texts
    assert 'Chip ]]> </text> &amp; \\\\ """' in texts
    first, second = HOSTILE_FIRM.split("\n")
    assert first in texts and second in texts


@needs_dot
def test_png_and_pdf_render(small):
    graph = small.map()
    assert render_bytes(graph, "png").startswith(b"\x89PNG")
    assert render_bytes(graph, "pdf").startswith(b"%PDF")


def test_dependency_matrix(small):
    m = dependency_matrix(small)
    assert list(m.index) == ["car"]
    assert m.loc["car", "TWN"] == pytest.approx(0.7)
    assert m.loc["car", "NLD"] == pytest.approx(0.0)  # litho-b is an alternative
    assert m.columns[0] == "CHN"  # gallium 90% CHN: car keeps 10%; most exposed first


def _run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_cli_dot_without_graphviz(small_path, tmp_path, monkeypatch):
    monkeypatch.setattr("semigraph.render.dot.FALLBACK_PATHS", ())
    env = {"PATH": str(tmp_path), "SEMIGRAPH_DOT": ""}
    out = tmp_path / "m.dot"
    res = _run("map", "--dataset", str(small_path), "--cut", "TWN", "-o", str(out), env=env)
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").startswith("digraph")
    svg = tmp_path / "m.svg"
    res = _run("map", "--dataset", str(small_path), "-o", str(svg), env=env)
    assert res.exit_code == 2
    assert "apt-get install graphviz" in res.output and "brew install graphviz" in res.output
    assert not svg.exists()


def test_cli_bad_semigraph_dot(small_path, tmp_path):
    res = _run("map", "--dataset", str(small_path), "-o", str(tmp_path / "m.svg"),
               env={"SEMIGRAPH_DOT": str(tmp_path / "nope")})
    assert res.exit_code == 2 and "SEMIGRAPH_DOT" in res.output


def test_cli_errors(small_path, tmp_path):
    out = tmp_path / "m.dot"
    res = _run("map", "--dataset", str(small_path), "--cut", "TWX", "-o", str(out))
    assert res.exit_code == 2 and "did you mean 'TWN'" in res.output
    res = _run("map", "--dataset", str(small_path), "-o", str(tmp_path / "m.jpg"))
    assert res.exit_code == 2 and ".svg" in res.output
    out.write_text("keep")
    res = _run("map", "--dataset", str(small_path), "-o", str(out))
    assert res.exit_code == 2 and "--force" in res.output
    assert out.read_text() == "keep"
    res = _run("map", "--dataset", str(small_path), "--target", "TWN", "-o",
               str(tmp_path / "t.dot"))
    assert res.exit_code == 2 and "component" in res.output


def test_cli_countries(small_path, tmp_path):
    out = tmp_path / "who.dot"
    res = _run("map", "--dataset", str(small_path), "--countries", "--cut", "TWN", "-o",
               str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "Who holds what" in text and "CUT" in text


def test_write_map_unknown_format(small, tmp_path):
    from semigraph.render import write_map

    with pytest.raises(OutputError):
        write_map(small.map(), tmp_path / "m.bmp")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(), threshold=st.sampled_from([0.2, 0.5, 0.9]))
def test_cheap_firm_screen_never_drops_a_single_point_of_failure(tmp_path_factory, tables,
                                                                  threshold):
    from semigraph.engine.compiled import compile_model
    from semigraph.engine.propagation import evaluate
    from semigraph.findings.risk import _may_fail

    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("s"), tables))
    firms = sorted(set(model.supply.loc[model.supply["supplier_kind"] == "firm", "supplier"]))
    targets = list(model.components["id"])
    if not firms:
        return
    ev = evaluate(model, [Scenario((Disruption(f),)) for f in firms], timeline=False)
    index = compile_model(model).index
    rows = [index[t] for t in targets]
    truly = {f for j, f in enumerate(firms) if ev.steady_state[rows, j].min() < threshold}
    assert truly <= set(_may_fail(model, firms, rows, threshold))
