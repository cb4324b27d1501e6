"""Risk maps as Graphviz diagrams: components clustered by stage and coloured by risk.

Colour is availability under a scenario, or, without one, the share of world supply made in
the top country (concentration). Edge width is the share of supply an edge carries; single
points of failure and cut units are marked, and a legend explains every colour and mark.
A graph too large to read is collapsed automatically and the title says how.

Under a scenario the fill is the pooled reading (every user of an input rationed alike); a
node whose tied reading (buyers tied to their supplier until they qualify another, engine
README 4.5) differs as printed says "tied x%" too, and every node's tooltip gives the three
readings. A component that loses supply in either reading is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx
import pandas as pd

from semigraph.errors import OutputError, UnknownUnitError
from semigraph.findings.risk import CHOKEPOINT, SPOF_THRESHOLD, Risk
from semigraph.render.escape import html_text
from semigraph.schema import stages

__all__ = ["LEVELS", "MAX_NODES", "STAGES", "MapSelection", "country_map", "map_selection",
           "risk_map"]

#: Stages in the order goods flow (left to right on the map).
STAGES = stages()
STAGE_LABEL = {
    "materials_equipment": "Materials & equipment",
    "design": "Design",
    "front_end": "Front-end fabs",
    "back_end": "Back-end (assembly, test)",
    "photonics": "Photonics",
    "quantum": "Quantum",
    "end_use": "End-use products",
}
#: Stages drawn side by side in one column (parallel chains share a column).
COLUMNS = (("materials_equipment", "design"), ("front_end", "photonics"),
           ("back_end", "quantum"), ("end_use",))
LEVELS = ("auto", "component", "firm", "country")
#: More components than this are collapsed (a map must fit a briefing page).
MAX_NODES = 45
#: Suppliers below this share of a component are left out at firm and country level.
MIN_SUPPLIER_SHARE = 0.10
#: A cut unit hitting more drawn components than this marks them instead of drawing arrows.
MAX_CUT_EDGES = 8

FONT = "DejaVu Sans,Arial,Helvetica,sans-serif"
# ColorBrewer YlOrRd (colour-blind safe, prints in grey scale in order)
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NEUTRAL = "#f2f2f2"
UNKNOWN = "#ffffff"
CUT_FILL = "#252525"
CUT_EDGE = "#c51b1b"
SPOF_EDGE = "#6a3d9a"
CUT_TEXT = {"black": "#a50f15", "white": "white"}
AVAIL_BINS = ((0.25, 4, "under 25% left"), (0.5, 3, "25–50% left"), (0.75, 2, "50–75% left"),
              (0.9, 1, "75–90% left"), (1.0, 0, "90–99% left"))
CONC_BINS = ((0.3, 0, "top country < 30%"), (0.5, 1, "30–50%"),
             (CHOKEPOINT, 2, f"50–{CHOKEPOINT:.0%}"),
             (0.9, 3, f"{CHOKEPOINT:.0%}–90% (chokepoint)"), (1.01, 4, "≥ 90% (chokepoint)"))

#: Country map: a country's share of a whole stage is far below a component's top share.
SHARE_BINS = ((0.05, 0, "under 5%"), (0.15, 1, "5–15%"), (0.3, 2, "15–30%"),
              (0.5, 3, "30–50%"), (1.01, 4, "50% or more"))


def _avail_colour(a: float) -> str:
    if pd.isna(a):
        return UNKNOWN
    if a >= 1.0:
        return NEUTRAL
    for upper, i, _ in AVAIL_BINS:
        if a < upper:
            return PALETTE[i]
    return PALETTE[0]


def _conc_colour(share: float) -> str:
    if pd.isna(share):
        return UNKNOWN
    for upper, i, _ in CONC_BINS:
        if share < upper:
            return PALETTE[i]
    return PALETTE[-1]


def _share_colour(share: float) -> str:
    for upper, i, _ in SHARE_BINS:
        if share < upper:
            return PALETTE[i]
    return PALETTE[-1]


def _text_colour(fill: str) -> str:
    return "white" if fill in (PALETTE[3], PALETTE[4], CUT_FILL) else "black"


def _pct(x: float) -> str:
    if x >= 0.995 and x < 1.0:
        return ">99%"
    if 0 < x < 0.005:
        return "<1%"
    return f"{x:.0%}"


def _wrapped(name: object, width: int = 26) -> str:
    """A name escaped for a label, long ones broken at spaces into lines of ~``width``."""
    import textwrap

    lines = []
    for part in str(name).splitlines() or [""]:
        lines += textwrap.wrap(part, width, break_long_words=False,
                               break_on_hyphens=False) if len(part) > width + 4 else [part]
    return "<BR/>".join(html_text(line) for line in lines)


def _html(*lines: str) -> str:
    """An HTML-like label from already-escaped lines."""
    return "<" + "<BR/>".join(lines) + ">"


def _small(text: str, size: int = 9) -> str:
    return f'<FONT POINT-SIZE="{size}">{text}</FONT>'


@dataclass
class MapSelection:
    """What a risk map draws: its ``components``, the ``targets`` whose single points of
    failure it marks, and whether it is ``collapsed`` (to bottleneck chains, or, with
    ``country_map`` set, to the country map)."""

    components: list[str]
    notes: list[str] = field(default_factory=list)
    chain_edges: set[tuple[str, str]] = field(default_factory=set)
    collapsed: bool = False
    targets: list[str] = field(default_factory=list)
    country_map: bool = False
    #: what the bold edges are: the inputs that limit a product under a scenario
    #: ("bottleneck") or the paths from concentrated inputs to the target ("concentration")
    chain_kind: str = "bottleneck"


def _feeds(model) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(sorted(model.components["id"]))
    g.add_edges_from(sorted(zip(model.requires["input"], model.requires["component"])))
    return g


def _cone(g: nx.DiGraph, target: str, direction: str, depth: int | None) -> set[str]:
    view = g.reverse(copy=False) if direction == "upstream" else g
    lengths = nx.single_source_shortest_path_length(view, target, cutoff=depth)
    return set(lengths)


def _resolve_target(model, target: str) -> str:
    unit = model.resolve(target)
    if unit.kind != "component":
        raise UnknownUnitError(f"--target must be a component, not {unit.kind} {unit.id}")
    return unit.id


def _bottleneck_chain(g: nx.DiGraph, avail: pd.Series, start: str) -> list[str]:
    """From ``start``, follow the least available input while it explains the loss."""
    chain = [start]
    node = start
    while True:
        preds = [p for p in g.predecessors(node) if avail.get(p, 1.0) < 1.0]
        if not preds:
            return chain
        nxt = min(preds, key=lambda p: (avail[p], p))
        if avail[nxt] > avail[node] + 1e-9 and len(chain) > 1:
            return chain
        chain.append(nxt)
        node = nxt


def _select(model, risk: Risk, g: nx.DiGraph, *, target, stages, direction, depth,
            max_nodes, level="component") -> MapSelection:
    table = risk.table
    comps = sorted(table.index)
    notes: list[str] = []
    if target:
        cone = _cone(g, target, direction, depth)
        comps = [c for c in comps if c in cone]
        how = f"{direction} of {target}" + (f" within {depth} steps" if depth else "")
        notes.append(f"{len(comps)} components {how}")
    if stages:
        comps = [c for c in comps if table.at[c, "stage"] in stages or c == target]
        notes.append("stages: " + ", ".join(stages))
    scenario_mode = risk.scenario is not None and risk.scenario.disruptions
    if scenario_mode:  # what loses supply in the pooled or the tied reading
        affected = [c for c in comps if table.at[c, "availability"] < 1.0
                    or table.at[c, "availability_tied"] < 1.0 or c == target]
        notes.append(f"{len(affected)} of {len(comps)} components lose supply (pooled or "
                     "tied)"
                     + ("" if len(affected) == len(comps) else "; unaffected ones not drawn"))
        comps = affected
    sel = MapSelection(components=comps, notes=notes, targets=[target] if target else [])
    # suppliers drawn beside the components need room too: half the components at firm or
    # country level
    limit = max_nodes if level in ("auto", "component") else max(2, max_nodes // 2)
    if len(comps) <= limit:
        return sel
    if scenario_mode:
        return _collapse_to_bottlenecks(sel, risk, g, limit)
    if target:
        return _collapse_to_concentration(sel, risk, g, target, direction, limit)
    sel.collapsed = sel.country_map = True
    return sel  # the caller draws the country map instead


def _collapse_to_bottlenecks(sel: MapSelection, risk: Risk, g: nx.DiGraph,
                             limit: int) -> MapSelection:
    """Keep the bottleneck chains that explain the losses of the most downstream nodes."""
    table = risk.table
    avail = table["availability"]
    comps = sel.components
    shown = set(comps)
    sub = g.subgraph(shown)
    sinks = [c for c in comps if sub.out_degree(c) == 0]
    sinks.sort(key=lambda c: (avail[c], c))
    keep: set[str] = set(sel.targets)
    chain_edges: set[tuple[str, str]] = set()
    used = 0
    for s in sinks:
        chain = _bottleneck_chain(sub, avail, s)
        new = keep | set(chain)
        if len(new) > limit and keep:
            break
        keep = new
        used += 1
        chain_edges |= {(chain[i + 1], chain[i]) for i in range(len(chain) - 1)}
    for cid in sorted(table.index[table["directly_hit"]]):
        if cid in shown and len(keep) < limit and avail[cid] < 0.9:
            keep.add(cid)
    sel.components = sorted(keep)
    sel.chain_edges = chain_edges
    sel.collapsed = True
    lost = len(shown) - len(keep)
    sel.notes.append(
        f"collapsed to the bottleneck chains of {used} of the {len(sinks)} products at the end "
        f"of the chain ({len(keep)} components drawn, {lost} hidden; use --target, --stage or "
        "a larger --max-nodes for detail)")
    return sel


def _collapse_to_concentration(sel: MapSelection, risk: Risk, g: nx.DiGraph, target: str,
                               direction: str, limit: int) -> MapSelection:
    """Keep the most concentrated components of a target's cone and the paths that join
    them to the target: where one country holds the most of a component the target needs."""
    table = risk.table
    shown = set(sel.components)
    sub = g.subgraph(shown)
    top = table["top_share"]
    ranked = sorted((c for c in shown if c != target and pd.notna(top.get(c))),
                    key=lambda c: (-float(top[c]), c))
    chokepoints = [c for c in ranked if float(top[c]) >= CHOKEPOINT]
    # the chokepoints, or where there are none the ten most concentrated components
    ranked = chokepoints or ranked[:10]
    keep: set[str] = {target}
    chain_edges: set[tuple[str, str]] = set()
    for c in ranked:
        path = (nx.shortest_path(sub, c, target) if direction == "upstream"
                else nx.shortest_path(sub, target, c))
        new = keep | set(path)
        if len(new) > limit:
            continue  # a longer path may not fit where a shorter one still does
        keep = new
        chain_edges |= set(pairwise(path))
    left_out = [c for c in chokepoints if c not in keep]
    sel.components = sorted(keep)
    sel.chain_edges = chain_edges
    sel.chain_kind = "concentration"
    sel.collapsed = True
    note = (f"collapsed to the paths from the most concentrated inputs to {target}: "
            f"{len(keep)} of {len(shown)} components drawn, "
            f"{sum(1 for c in chokepoints if c in keep)} of {len(chokepoints)} chokepoints "
            f"(one country ≥ {CHOKEPOINT:.0%}) among them")
    if left_out:
        names = dict(zip(table.index, table["name"]))
        shown_names = ", ".join(str(names.get(c, c)) for c in left_out[:6])
        more = f" and {len(left_out) - 6} more" if len(left_out) > 6 else ""
        note += f"; not drawn: {shown_names}{more}"
    sel.notes.append(note + " (use --depth, --stage or a larger --max-nodes for detail)")
    return sel


def _title(model, risk: Risk, kind: str, notes: list[str]) -> str:
    scen = risk.scenario
    if scen is not None and scen.disruptions:
        head = f"Risk map: {scen.label}"
        cuts = "; ".join(str(d) for d in scen.disruptions)
        sub = (f"cut: {cuts} · perspective: {risk.perspective} · colour: lowest daily "
               f"supply within {scen.horizon} days, share of normal, every user rationed "
               "alike")
    else:
        head = "Risk map: supply concentration (no scenario)"
        sub = "colour: share of world supply made in the top country"
    if kind == "countries":
        head = head.replace("Risk map", "Who holds what")
        sub = sub.split(" · colour")[0] + (" · " if scen is not None and scen.disruptions
                                           else "") if " · colour" in sub else ""
        sub += "cell: share of the stage's world supply made in the country"
    lines = [f'<FONT POINT-SIZE="18"><B>{html_text(head)}</B></FONT>',
             html_text(f"dataset {model.name} {model.version} · {sub}")]
    lines += [_small(html_text(n), 11) for n in notes]
    return _html(*lines)


def _legend_row(fill: str, text: str, *, style: str = "", colour: str = "#555555") -> str:
    return (f'<TR><TD BGCOLOR="{fill}" COLOR="{colour}" BORDER="1" FIXEDSIZE="TRUE" '
            f'WIDTH="22" HEIGHT="14" {style}></TD><TD ALIGN="LEFT">{html_text(text)}</TD></TR>')


def _legend(risk: Risk, *, suppliers: bool, chain: str | None, has_spof: bool,
            has_estimated: bool, cut_marks: bool, cut_edges: bool) -> str:
    scen = risk.scenario is not None and bool(risk.scenario.disruptions)
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>']
    if scen:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">Fill: lowest daily supply left</TD></TR>')
        rows += [_legend_row(PALETTE[i], text) for _, i, text in AVAIL_BINS]
        rows.append(_legend_row(NEUTRAL, "unaffected (100%)"))
        rows.append(_legend_row(CUT_FILL, "cut unit (scenario disruption)"))
        rows.append('<TR><TD>tied</TD><TD ALIGN="LEFT" BALIGN="LEFT">"tied x%": lowest daily '
                    "supply with buyers tied to their supplier until they qualify<BR/>another, "
                    "each with its own stock; shown where it differs from the fill's figure "
                    "(every<BR/>user rationed alike). The tooltip gives every reading.</TD></TR>")
    else:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">Fill: share of world supply made in '
                    'the top country</TD></TR>')
        rows += [_legend_row(PALETTE[i], text) for _, i, text in CONC_BINS]
        rows.append(_legend_row(UNKNOWN, "no supply data (unknown, not zero)"))
    if has_spof:
        rows.append(f'<TR><TD BORDER="2" COLOR="{SPOF_EDGE}" WIDTH="22">'
                    f'<FONT COLOR="{SPOF_EDGE}">▢</FONT></TD>'
                    '<TD ALIGN="LEFT">double purple border, "SPOF: firm": that firm alone '
                    f'drives a product below {SPOF_THRESHOLD:.0%} available</TD></TR>')
    if has_estimated:
        rows.append('<TR><TD>*</TD><TD ALIGN="LEFT">dashed border: rests on an estimated '
                    'supply share</TD></TR>')
    if cut_marks:
        rows.append(f'<TR><TD BORDER="3" COLOR="{CUT_EDGE}" WIDTH="22"></TD>'
                    '<TD ALIGN="LEFT">thick red border, "cut: x% from U": share of the '
                    "component's supply the cut unit U made</TD></TR>")
    if scen and cut_edges:
        rows.append(f'<TR><TD><FONT COLOR="{CUT_EDGE}"><B>→</B></FONT></TD><TD ALIGN="LEFT">'
                    "red arrow from a cut unit: its share of the component's supply "
                    "(width = share)</TD></TR>")
    if suppliers:
        rows.append('<TR><TD><FONT COLOR="#3182bd"><B>→</B></FONT></TD><TD ALIGN="LEFT">'
                    "blue arrow from a supplier: its share of the component's supply "
                    f"(width = share; under {MIN_SUPPLIER_SHARE:.0%} not drawn)</TD></TR>")
    if chain == "concentration":
        rows.append('<TR><TD><B>→</B></TD><TD ALIGN="LEFT">input → product that needs it, '
                    'on the path from a concentrated input to the target</TD></TR>')
    elif chain:
        rows.append('<TR><TD><B>→</B></TD><TD ALIGN="LEFT">input → product that needs it, '
                    'on the chain of inputs that limits the product (bottleneck)</TD></TR>')
    else:
        rows.append('<TR><TD><FONT COLOR="#9e9e9e"><B>→</B></FONT></TD><TD ALIGN="LEFT">'
                    'input → product that needs it</TD></TR>')
    return ('<<TABLE BORDER="1" COLOR="#999999" CELLBORDER="0" CELLSPACING="3" '
            'CELLPADDING="2" BGCOLOR="white">' + "".join(rows) + "</TABLE>>")


def _new_graph(name: str):
    import graphviz

    g = graphviz.Digraph(name=name)
    g.attr(rankdir="LR", newrank="true", nodesep="0.18", ranksep="0.55", labelloc="t",
           labeljust="l", fontname=FONT, fontsize="12", bgcolor="white", pad="0.3",
           outputorder="edgesfirst")
    g.attr("node", fontname=FONT, fontsize="11", shape="box", style="rounded,filled",
           margin="0.08,0.04", color="#555555")
    g.attr("edge", fontname=FONT, fontsize="9", color="#9e9e9e", arrowsize="0.6")
    return g


def map_selection(model, risk: Risk, *, target: str | None = None, stages=(),
                  level: str = "auto", direction: str = "upstream", depth: int | None = None,
                  max_nodes: int = MAX_NODES) -> MapSelection:
    """What :func:`risk_map` draws with these arguments (see there), before drawing it: the
    caller marks single points of failure among ``components`` for ``targets``."""
    if level not in LEVELS:
        raise OutputError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    for s in stages:
        if s not in STAGES:
            raise OutputError(f"unknown stage {s!r}; use one of {', '.join(STAGES)}")
    if target:
        target = _resolve_target(model, target)
    g = _feeds(model)
    sel = _select(model, risk, g, target=target, stages=tuple(stages), direction=direction,
                  depth=depth, max_nodes=max_nodes, level=level)
    if sel.country_map:
        sel.notes.append(f"{len(sel.components)} components are too many to draw: "
                         "collapsed to country level (use --target or --stage for a component "
                         "map)")
        return sel
    table = risk.table
    shown = sel.components
    products = [c for c in shown if table.at[c, "stage"] == "end_use"]
    sel.targets = [target] if target else (products or [
        c for c in shown if g.subgraph(shown).out_degree(c) == 0])
    return sel


def risk_map(model, risk: Risk, *, spofs: dict[str, list[str]] | None = None,
             target: str | None = None, stages=(), level: str = "auto",
             direction: str = "upstream", depth: int | None = None,
             max_nodes: int = MAX_NODES):
    """A risk map of ``model`` as a ``graphviz.Digraph``, drawn from computed results.

    Parameters
    ----------
    model : Model
    risk : Risk
        Per-component figures (:func:`semigraph.findings.risk.component_risk`): with a
        scenario, colour by availability, draw only what loses supply and mark the cut units;
        without one, colour by concentration (share of the top country).
    spofs : dict, optional
        Component id -> suppliers that are single points of failure there
        (:func:`semigraph.findings.risk.spof_suppliers` over the selection's components and
        targets); none are marked when not given.
    target : str, optional
        A component: draw its upstream (or downstream) cone.
    stages : sequence of str
        Draw only these stages.
    level : {"auto", "component", "firm", "country"}
        ``component`` (and ``auto``, its synonym): components only (and the cut units);
        ``firm``/``country``: also each component's suppliers, by firm or by producing
        country (under a scenario only for the components the cut takes supply from).
    direction : {"upstream", "downstream"}
    depth : int, optional
        Steps from the target.
    max_nodes : int
        A map of more components than this (half of it at firm or country level, where
        supplier nodes need room too) is collapsed, and its title says how and what was
        left out: under a scenario to the bottleneck chains of the worst-hit products; with
        a target to the paths from the chokepoints of its cone (or its ten most concentrated
        components) to the target; else to the country map.
    """
    sel = map_selection(model, risk, target=target, stages=stages, level=level,
                        direction=direction, depth=depth, max_nodes=max_nodes)
    if sel.country_map:
        return country_map(model, risk, stages=stages, notes=sel.notes)
    return _component_graph(model, risk, _feeds(model), sel, spofs or {},
                            target=_resolve_target(model, target) if target else None,
                            level="component" if level == "auto" else level)


def _component_graph(model, risk: Risk, feeds: nx.DiGraph, sel: MapSelection,
                     spofs: dict[str, list[str]], *, target, level: str):
    table = risk.table
    shown = sel.components
    scen = risk.scenario is not None and bool(risk.scenario.disruptions)
    ids = {c: f"c{i}" for i, c in enumerate(shown)}
    cut_lost: dict[str, list[tuple[str, float]]] = {}
    for unit, lost in risk.cut_shares.items():
        hit = [c for c, share in lost.items() if c in ids and share > 0]
        if len(hit) > MAX_CUT_EDGES:
            for c in hit:
                cut_lost.setdefault(c, []).append((unit, lost[c]))
    name_of = _supplier_names(model)
    gv = _new_graph("risk_map")
    notes = list(sel.notes)
    if level != "component":
        notes.append(f"level: {level} (suppliers with at least {MIN_SUPPLIER_SHARE:.0%} "
                     "of a component drawn)")
    gv.attr(label=_title(model, risk, "map", notes))
    for stage in STAGES:
        members = [c for c in shown if table.at[c, "stage"] == stage]
        if not members:
            continue
        with gv.subgraph(name=f"cluster_{stage}") as sub:
            sub.attr(label=_html(f"<B>{html_text(STAGE_LABEL[stage])}</B>"), style="rounded",
                     color="#bbbbbb", bgcolor="#fbfbfb", fontsize="13")
            for c in members:
                sub.node(ids[c], **_component_attrs(table.loc[c], scen, spofs.get(c, []),
                                                    target == c, cut_lost.get(c)))
    # keep the stages in flow order, left to right: invisible anchors between the columns
    columns = [[st for st in col if any(table.at[c, "stage"] == st for c in shown)]
               for col in COLUMNS]
    columns = [col for col in columns if col]
    if len(columns) > 1:
        for k in range(len(columns) + 1):
            gv.node(f"a{k}", label="", shape="point", style="invis", width="0", height="0")
        for k in range(len(columns)):
            gv.edge(f"a{k}", f"a{k + 1}", style="invis", weight="0")
        for k, col in enumerate(columns):
            for c in shown:
                if table.at[c, "stage"] in col:
                    gv.edge(f"a{k}", ids[c], style="invis", weight="0")
                    gv.edge(ids[c], f"a{k + 1}", style="invis", weight="0")
    # inputs -> products that need them
    sub_feeds = feeds.subgraph(shown)
    for u, v in sorted(sub_feeds.edges()):
        if (u, v) in sel.chain_edges:
            gv.edge(ids[u], ids[v], color="#222222", penwidth="1.6")
        elif not sel.chain_edges:
            gv.edge(ids[u], ids[v])
    extra = 0
    cut_edges = False
    if scen:
        for k, (unit, lost) in enumerate(risk.cut_shares.items()):
            nid = f"u{k}"
            hit = [(cid, share) for cid, share in lost.items() if cid in ids and share > 0]
            more = ("<BR/>" + _small(html_text(f"hits {len(hit)} drawn components "
                                               "(red borders)"))
                    if len(hit) > MAX_CUT_EDGES else "")
            gv.node(nid, label=_html(_small("CUT"), "<B>" + html_text(
                        _unit_label(model, unit, name_of)) + "</B>" + more),
                    shape="box", style="filled", fillcolor=CUT_FILL, fontcolor="white",
                    color=CUT_FILL, fontsize="13")
            if len(hit) > MAX_CUT_EDGES:
                continue
            cut_edges = cut_edges or bool(hit)
            for cid, share in hit:
                gv.edge(nid, ids[cid], color=CUT_EDGE, penwidth=_width(share),
                        label=html_text(_pct(share)), fontcolor=CUT_EDGE)
    if level in ("firm", "country"):
        col = "supplier" if level == "firm" else "site"
        with_suppliers = shown
        if scen:  # where the cut takes supply, who else makes it is what the map is for
            with_suppliers = [c for c in shown if table.at[c, "directly_hit"]]
            notes_extra = (f"suppliers drawn for the {len(with_suppliers)} components the "
                           "cut takes supply from (red borders)")
            gv.attr(label=_title(model, risk, "map", [*notes, notes_extra]))
        sup = model.supply[model.supply["component"].isin(with_suppliers)]
        agg = sup.groupby([col, "component"], sort=True)["share_used"].sum()
        agg = agg[agg >= MIN_SUPPLIER_SHARE]
        suppliers = sorted({s for s, _ in agg.index})
        sid = {s: f"s{i}" for i, s in enumerate(suppliers)}
        for s in suppliers:
            gv.node(sid[s], label=_html(html_text(name_of.get(s, s))), shape="ellipse",
                    style="filled", fillcolor="#deebf7", color="#3182bd")
        for (s, cid), share in agg.items():
            gv.edge(sid[s], ids[cid], color="#3182bd", penwidth=_width(share),
                    label=html_text(_pct(share)), fontcolor="#3182bd")
        extra = len(suppliers)
    has_est = bool(table.loc[shown, "estimated"].any()) if shown else False
    chain = sel.chain_kind if sel.chain_edges else None
    gv.node("legend", label=_legend(risk, suppliers=extra > 0, chain=chain,
                                    has_spof=bool(spofs), has_estimated=has_est,
                                    cut_marks=bool(cut_lost), cut_edges=cut_edges),
            shape="plain", style="")
    if not shown:
        gv.node("empty", label=_html(html_text("nothing loses supply under this scenario")),
                shape="plaintext", style="")
    return gv


def _width(share: float) -> str:
    return f"{0.8 + 7.0 * min(max(share, 0.0), 1.0):.2f}"


def _supplier_names(model) -> dict[str, str]:
    names = dict(zip(model.firms["id"], model.firms["name"]))
    names.update(zip(model.countries["id"], model.countries["name"]))
    return {k: str(v) for k, v in names.items() if isinstance(v, str)}


def _unit_label(model, unit: str, names: dict[str, str]) -> str:
    try:
        u = model.resolve(unit)
    except UnknownUnitError:
        return unit
    if u.kind in ("country", "firm"):
        return f"{names.get(u.id, u.id)} ({u.id})"
    if u.kind == "site":
        who = u.firm or u.component
        return f"{names.get(who, who)} in {names.get(u.country, u.country)} ({u.id})"
    return u.id


def _component_attrs(row, scen: bool, spof: list[str], is_target: bool,
                     cut: list[tuple[str, float]] | None = None) -> dict:
    avail, share = row["availability"], row["top_share"]
    tooltip = None
    if scen:
        fill = _avail_colour(avail)
        figure = f"{_pct(avail)} available" if not pd.isna(avail) else "availability unknown"
        tied, high = row["availability_tied"], row["availability_high"]
        if not pd.isna(avail) and not pd.isna(tied):
            if _pct(tied) != _pct(avail):
                figure += f" · tied {_pct(tied)}"
            tooltip = (f"lowest daily supply: {avail:.2f} every user rationed alike, "
                       f"{high:.2f} the chain served first, {tied:.2f} buyers tied to their "
                       "supplier until they qualify another")
    else:
        fill = _conc_colour(share)
        figure = (f"{_pct(share)} made in {row['top_country']}" if row["has_supply"]
                  else "no supply data")
    star = "*" if row["estimated"] else ""
    lines = [f"<B>{_wrapped(row['name'])}</B>", _small(html_text(figure + star))]
    attrs = {"fillcolor": fill, "fontcolor": _text_colour(fill)}
    styles = ["rounded", "filled"]
    if row["estimated"]:
        styles.append("dashed")
    if spof:
        names = ", ".join(spof[:3]) + (f" +{len(spof) - 3}" if len(spof) > 3 else "")
        lines.append(_small("SPOF: " + html_text(names)))
        attrs.update(peripheries="2", color=SPOF_EDGE)
    if cut:
        lost = ", ".join(f"{_pct(share)} from {unit}" for unit, share in cut)
        lines.append(f'<FONT POINT-SIZE="9" COLOR="{CUT_TEXT[attrs["fontcolor"]]}"><B>'
                     + html_text("cut: " + lost) + "</B></FONT>")
        attrs.update(color=CUT_EDGE, penwidth="3.5")
    if is_target:
        lines.insert(0, _small("TARGET"))
        attrs["penwidth"] = "3"
    attrs["style"] = ",".join(styles)
    attrs["label"] = _html(*lines)
    if tooltip is not None:
        attrs["tooltip"] = tooltip
    return attrs


def country_map(model, risk: Risk, *, stages=(), max_countries: int = 14,
                notes: list[str] | None = None):
    """Who holds what: stages x countries, each cell the share of the stage's supply made in
    the country, shaded by that share; a scenario's cut countries are marked.

    A stage's share is the mean over its components with supply data of the country's share
    of each component; ``n▲`` counts the components where the country is a chokepoint
    (at least 65%).
    """
    scenario = risk.scenario
    table = risk.table
    stages = [s for s in STAGES if not stages or s in stages]
    supply = model.supply.merge(table[["stage"]], left_on="component", right_index=True)
    per = supply.groupby(["stage", "site", "component"], sort=True)["share_used"].sum()
    n_with = table[table["has_supply"]].groupby("stage").size()
    n_all = table.groupby("stage").size()
    cell = {}
    chokes = {}
    for (stage, site), shares in per.groupby(level=[0, 1]):
        cell[(stage, site)] = float(shares.sum()) / float(n_with.get(stage, 1))
        chokes[(stage, site)] = int((shares >= CHOKEPOINT).sum())
    totals: dict[str, float] = {}
    for (stage, site), v in cell.items():
        if stage in stages:
            totals[site] = totals.get(site, 0.0) + v
    cut = set()
    if scenario is not None:
        for d in scenario.disruptions:
            try:
                u = model.resolve(d.unit)
            except UnknownUnitError:
                continue
            if u.kind in ("country", "bloc"):
                cut |= set(model.members(u.id))
            elif u.country:
                cut.add(u.country)
    countries = sorted(totals, key=lambda c: (-round(totals[c], 12), c))[:max_countries]
    countries += sorted(c for c in cut if c in totals and c not in countries)
    names = _supplier_names(model)
    head = ['<TD BORDER="0"></TD>']
    for c in countries:
        mark = "<BR/>" + _small("CUT") if c in cut else ""
        bg = ' BGCOLOR="#252525"' if c in cut else ""
        fc = "white" if c in cut else "black"
        head.append(f'<TD{bg}><FONT COLOR="{fc}"><B>{html_text(c)}</B>{mark}</FONT></TD>')
    head.append("<TD><B>other</B></TD>")
    rows = ["<TR>" + "".join(head) + "</TR>"]
    for stage in stages:
        if stage not in n_all.index:
            continue
        known = int(n_with.get(stage, 0))
        label = (f"<B>{html_text(STAGE_LABEL[stage])}</B><BR/>"
                 + _small(html_text(f"{known} of {int(n_all[stage])} components with "
                                    "supply data")))
        cells = [f'<TD ALIGN="LEFT">{label}</TD>']
        for c in countries:
            v = cell.get((stage, c))
            if v is None or known == 0:
                cells.append('<TD><FONT COLOR="#999999">–</FONT></TD>')
                continue
            fill = _share_colour(v)
            n = chokes.get((stage, c), 0)
            txt = html_text(_pct(v)) + (f"<BR/>{_small(f'{n}▲')}" if n else "")
            cells.append(f'<TD BGCOLOR="{fill}"><FONT COLOR="{_text_colour(fill)}">{txt}'
                         "</FONT></TD>")
        other = max(0.0, 1.0 - sum(cell.get((stage, c), 0.0) for c in countries))
        cells.append(f"<TD>{html_text(_pct(other)) if known else '–'}</TD>")
        rows.append("<TR>" + "".join(cells) + "</TR>")
    body = ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="5" '
            'COLOR="#888888">' + "".join(rows) + "</TABLE>>")
    legend_rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>',
                   '<TR><TD COLSPAN="2" ALIGN="LEFT">Cell: share of the stage\'s world supply '
                   "made in the country (mean over the stage's components)</TD></TR>"]
    legend_rows += [_legend_row(PALETTE[i], t) for _, i, t in SHARE_BINS]
    legend_rows.append('<TR><TD>–</TD><TD ALIGN="LEFT">no supply row names this country for '
                       "the stage (not a known supplier)</TD></TR>")
    legend_rows.append('<TR><TD>n▲</TD><TD ALIGN="LEFT">components where the country holds '
                       f"≥ {CHOKEPOINT:.0%} (chokepoints)</TD></TR>")
    if cut:
        legend_rows.append(_legend_row(CUT_FILL, "country cut by the scenario"))
    for k in range(0, len(countries), 5):
        legend_rows.append('<TR><TD></TD><TD ALIGN="LEFT">' + html_text(", ".join(
            f"{c} {names.get(c, c)}" for c in countries[k:k + 5])) + "</TD></TR>")
    legend = ('<<TABLE BORDER="1" COLOR="#999999" CELLBORDER="0" CELLSPACING="3" '
              'CELLPADDING="2">' + "".join(legend_rows) + "</TABLE>>")
    gv = _new_graph("country_map")
    gv.attr(rankdir="TB")
    gv.attr(label=_title(model, risk, "countries", list(notes or [])))
    gv.node("table", label=body, shape="plain", style="")
    gv.node("legend", label=legend, shape="plain", style="")
    gv.edge("table", "legend", style="invis")
    return gv
