"""One self-contained HTML report: scenario summaries, ranked tables, risk maps (inline SVG),
the product-by-country dependency matrix and the sources cited. It fetches nothing."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Section", "report_html", "write_report"]

_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.8em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.map{overflow:auto;max-height:90vh;border:1px solid #ddd;padding:.5em;margin:1em 0}
.map svg{max-width:none}
.muted{color:#666;font-size:.9em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:.5em}
.chart{margin:0}
.chart svg{width:100%;height:auto}
.heat td{text-align:center;min-width:2.6em}
.heat th.rot{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
"""

_TABLE_COLUMNS = {
    "component": "component", "name": "name", "stage": "stage",
    "availability": "available (low)", "availability_high": "available (high)",
    "availability_tied": "available (tied)",
    "steady_state": "if never restored", "time_to_survive_days": "short from day",
    "tied_short_from_day": "tied short from day",
    "recovery_day": "recovery day", "lost_days": "lost days", "bottleneck": "bottleneck (why)",
}



#: Charts of supply over days per scenario: the end-use products that lose most supply.
MAX_CHARTS = 8


@dataclass(frozen=True)
class Section:
    """One scenario of the report: the scenario, its what-if table and its risk map; and
    ``series``, its daily supply per reading (``{"pooled", "high", "tied"}``: days x
    components) for the charts of supply over days (none without it)."""

    scenario: object
    table: pd.DataFrame
    map: object
    series: dict | None = None

def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _svg_inline(svg: bytes) -> str:
    """Graphviz SVG without its XML declaration and doctype, ready to sit in HTML."""
    text = svg.decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return text.strip()


def _cell(value) -> tuple[str, str]:
    if value is None or (not isinstance(value, (list, tuple, str)) and pd.isna(value)):
        return "–", ""
    if isinstance(value, float):
        return f"{value:.0%}" if 0 <= value <= 1 else f"{value:,.0f}", "num"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return str(value), "num"
    return str(value), ""


def _table(frame: pd.DataFrame, columns: dict[str, str], *, css_class: str = "") -> str:
    head = "".join(f"<th>{_e(label)}</th>" for label in columns.values())
    rows = []
    for rec in frame[list(columns)].itertuples(index=False):
        cells = []
        for v in rec:
            text, cls = _cell(v)
            cells.append(f'<td class="{cls}">{_e(text)}</td>' if cls else f"<td>{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{css_class}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _heat_colour(x: float) -> str:
    """White (0) through orange (0.6) to dark red (1)."""
    x = min(max(x, 0.0), 1.0)
    if x < 0.6:
        r, g, b = 255, 255 - 200 * x / 0.6 * 0.6, 255 - 230 * x / 0.6 * 0.6
    else:
        t = (x - 0.6) / 0.4
        r, g, b = 255 - 130 * t, 135 - 135 * t, 117 - 80 * t
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def _matrix_html(model, m: pd.DataFrame, max_countries: int = 20) -> str:
    if m.empty:
        return "<p>No end-use products or no supply data: no matrix.</p>"
    cols = [c for c in m.columns if m[c].max() > 0.005][:max_countries]
    names = dict(zip(model.components["id"], model.components["name"]))
    head = "<th>product \\ country cut<br><small>share lost, static bound</small></th>" + "".join(
        f'<th class="rot">{_e(c)}</th>' for c in cols)
    rows = []
    for p, row in m.iterrows():
        cells = []
        for c in cols:
            v = float(row[c])
            fg = "white" if v >= 0.6 else "black"
            cells.append(f'<td style="background:{_heat_colour(v)};color:{fg}" '
                         f'title="{_e(names.get(p, p))} if {_e(c)} is cut for good: '
                         f'{v:.0%} lost (static bound)">'
                         f"{v:.0%}</td>" if v > 0.005 else "<td>·</td>")
        rows.append(f"<tr><th>{_e(names.get(p, p))}</th>{''.join(cells)}</tr>")
    hidden = len(m.columns) - len(cols)
    note = (f"<p class='muted'>{hidden} further countries whose loss costs no end-use product "
            "more than 0.5%, or beyond the first "
            f"{max_countries}, are not shown.</p>" if hidden else "")
    return (f'<table class="heat" id="dependency-matrix"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{note}")


def _scenario_section(section: Section, k: int, cited: set[str]) -> str:
    from semigraph.render import render_bytes

    scenario, frame = section.scenario, section.table
    for srcs in frame["sources"]:
        cited.update(s for s in srcs or [] if s)
    affected = frame[(frame["availability"] < 1.0) | (frame["availability_tied"] < 1.0)]
    end = affected[affected["stage"] == "end_use"]
    cuts = "; ".join(str(d) for d in scenario.disruptions)
    parts = [f'<section class="scenario" id="scenario-{k}">',
             f"<h2>{_e(scenario.label)}</h2>"]
    if scenario.description:
        parts.append(f"<p>{_e(scenario.description)}</p>")
    parts.append(
        "<ul>"
        f"<li>cut: {_e(cuts)}</li>"
        f"<li>perspective: {_e(frame.attrs.get('perspective', 'world'))}; horizon: "
        f"{scenario.horizon} days</li>"
        f"<li>{len(affected)} of {len(frame)} components lose supply (every user rationed "
        f"alike, or buyers tied to their supplier); {len(end)} end-use product(s)"
        + (f", worst: {_e(end.iloc[0]['name'])} at {end.iloc[0]['availability']:.0%} "
           "available" if len(end) else "") + "</li></ul>")
    parts.append("<h3>Ranked: who loses how much, how soon</h3>")
    shown = affected.head(30)
    parts.append(_table(shown, _TABLE_COLUMNS, css_class="ranked"))
    if len(affected) > len(shown):
        parts.append(f"<p class='muted'>{len(affected) - len(shown)} more affected components "
                     "not shown (semigraph whatif -o FILE.csv lists all).</p>")
    parts.append("<p class='muted'>available: the lowest daily supply within the horizon as a "
                 "share of normal, from every user of an input rationed alike (low) to the chain "
                 "served first (high), and with buyers tied to their supplier until they "
                 "qualify another, each with its own stock (tied); if never restored: the "
                 "static bound; short from day: first day below 99%; tied short from day: when "
                 "the first tied buyers run out; recovery day: day supply is back (the horizon "
                 "if not within it); lost days: supply lost over the horizon, in days of "
                 "demand. The map's colour is the low figure.</p>")
    if section.series is not None:
        parts.append(_charts_html(section, k))
    svg = render_bytes(section.map, "svg")
    parts.append("<h3>Risk map</h3><p class='muted'>Drawn at full size: scroll inside the "
                 "frame to see all of it. Colour: the lowest daily supply with every user of "
                 "an input rationed alike (pooled reading).</p>"
                 f'<div class="map" id="map-{k}">{_svg_inline(svg)}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _charts_html(section: Section, k: int) -> str:
    """Supply over days of the end-use products that lose supply (at most
    :data:`MAX_CHARTS`, most lost days first), one inline SVG chart each."""
    from semigraph.render.charts import (
        chart_bytes,
        close,
        default_components,
        supply_chart,
        svg_for_html,
    )

    frame = section.table
    shown = [c for c in default_components(frame, section.series, limit=len(frame))
             if frame.loc[frame["component"] == c, "stage"].iloc[0] == "end_use"]
    if not shown:
        return ""
    names = dict(zip(frame["component"], frame["name"]))
    figures = []
    for j, comp in enumerate(shown[:MAX_CHARTS], 1):
        fig = supply_chart(section.series, [comp], names=names)
        svg = svg_for_html(chart_bytes(fig, "svg", inline=True), f"chart-{k}-{j}-")
        close(fig)
        figures.append(f'<figure class="chart" id="chart-{k}-{_e(comp)}">{svg}</figure>')
    more = (f"<p class='muted'>{len(shown) - MAX_CHARTS} more end-use products lose supply "
            "(semigraph whatif --chart FILE --chart-component ID draws any of them).</p>"
            if len(shown) > MAX_CHARTS else "")
    return ("<h3>Supply over days</h3><p class='muted'>Each end-use product that loses supply: "
            "pooled (every user rationed alike, the lower bound) and chain first (the upper "
            "bound) with the range between them shaded; tied (buyers tied to their supplier "
            "until they qualify another); the first day below 0.99 marked.</p>"
            f'<div class="charts">{"".join(figures)}</div>{more}')


def _sources_html(model, cited: set[str]) -> str:
    src = model.sources.set_index("id")
    ids = sorted(s for s in cited if s in src.index)
    if not ids:
        return "<p>No sources are cited by the results above.</p>"
    items = []
    for sid in ids:
        row = src.loc[sid]
        bits = [str(row.get(c)) for c in ("publisher", "title") if pd.notna(row.get(c))]
        year = f" ({int(row['year'])})" if pd.notna(row.get("year")) else ""
        url = row.get("url")
        link = ""
        if isinstance(url, str) and re.match(r"^(https?://|doi:)", url, re.IGNORECASE):
            href = "https://doi.org/" + url[4:] if url.lower().startswith("doi:") else url
            link = f' <a href="{_e(href)}">{_e(url)}</a>'
        elif isinstance(url, str) and url:
            link = f" {_e(url)}"  # not a web address: shown, never linked
        items.append(f'<li id="src-{_e(sid)}"><code>{_e(sid)}</code>: '
                     f"{_e(': '.join(bits))}{_e(year)}.{link}</li>")
    return "<ol class='sources'>" + "".join(items) + "</ol>"


def report_html(model, sections: Sequence[Section], matrix: pd.DataFrame, *,
                country_map=None) -> str:
    """The report as an HTML string, from computed results (maps need Graphviz's dot).

    Parameters
    ----------
    model : Model
    sections : sequence of Section
        One per scenario: the scenario, its what-if table and its risk map.
    matrix : DataFrame
        The dependency matrix (products x countries, share lost).
    country_map : graphviz.Digraph, optional
        Drawn when there are no scenarios.
    """
    from semigraph.render import render_bytes

    cited: set[str] = set()
    scenarios = [sec.scenario for sec in sections]
    parts = [_scenario_section(sec, k, cited) for k, sec in enumerate(sections, 1)]
    if not sections and country_map is not None:
        svg = render_bytes(country_map, "svg")
        parts.append('<section><h2>Who holds what</h2><div class="map" id="map-0">'
                     f"{_svg_inline(svg)}</div></section>")
    title = "semigraph report" + (": " + "; ".join(s.label for s in scenarios)
                                  if scenarios else "")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='muted'>dataset {_e(model.name)} {_e(model.version)} · "
        f"{len(model.components)} components, {len(model.firms)} firms, "
        f"{len(model.supply)} supply rows</p>",
        *parts,
        "<section><h2>Dependency matrix</h2>",
        "<p><b>Reading: the static bound</b> (stocks spent, nothing restored, every user "
        "rationed alike). Share of each end-use product's supply lost if one country stops "
        "exports for good, seen from the rest of the world: a structural view of where each "
        "product's inputs pass. It is not the lowest day of a what-if, which counts stocks "
        "and restoration and is milder for short or replaceable losses (semigraph whatif "
        "--cut COUNTRY gives that).</p>",
        _matrix_html(model, matrix),
        "</section>",
        "<section><h2>Sources cited</h2>",
        _sources_html(model, cited),
        "</section></body></html>",
        "",
    ])


def write_report(model, sections: Sequence[Section], matrix: pd.DataFrame,
                 path: str | Path, *, country_map=None, force: bool = False) -> Path:
    """Write the report (see :func:`report_html`) to ``path`` atomically."""
    from semigraph.io.write import atomic_write

    text = report_html(model, list(sections), matrix, country_map=country_map)
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), force=force)
