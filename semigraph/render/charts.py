"""Charts of supply over days: one panel per component, the three readings of a what-if.

Each panel shows a component's delivered supply as a share of normal (0..1) for every day of
the horizon, in the three readings of engine README 4.1, 4.2 and 4.5:

- pooled (every user of an input rationed alike: the lower bound), a solid line;
- chain first (the chain served before other industries' uses: the upper bound), a dashed
  line, with the range between the two bounds shaded;
- tied (buyers tied to their supplier until they qualify another), a line of its own, since
  it may lie below, between or above the bounds;

with the 0.99 line below which a component counts as short and the first day short in the
pooled and the tied reading marked. The first days are read off the series drawn, so they
are the what-if table's ``time_to_survive_days`` and ``tied_short_from_day``.

matplotlib is imported only inside these functions (``semigraph --help`` and a what-if
without a chart never load it); files are drawn off-screen with the Agg canvas.

Notes
-----
The daily series are of supply (deliveries, stocks included). Production before stocks is
kept only as its lowest 30-day mean (``output`` in the what-if table), not day by day, so the
charts do not draw it.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from semigraph.errors import OutputError, UnknownUnitError

__all__ = ["CHART_FORMATS", "READING_LABELS", "SHORT", "chart_bytes", "chart_format",
           "default_components", "first_short_day", "supply_chart", "svg_for_html",
           "write_chart"]

#: Below this share of normal supply a component is short (engine README 4.1).
SHORT = 0.99
CHART_FORMATS = ("png", "svg", "pdf")
#: What each reading means, as the legend says it.
READING_LABELS = {
    "pooled": "pooled: every user rationed alike (lower bound)",
    "high": "chain first: the chain served before other uses (upper bound)",
    "tied": "tied: buyers tied to their supplier until they qualify another",
}
RANGE_LABEL = "range between the bounds: who is served first decides"
_COLOURS = {"pooled": "#1f4e9c", "high": "#1f4e9c", "tied": "#d9730d", "range": "#9bb7e0",
            "threshold": "#777777"}
#: A slide: 8 x 4.5 inches (16:9), 150 dots per inch for PNG (1200 x 675 pixels).
SLIDE = (8.0, 4.5)
DPI = 150
#: Components drawn when none are named (the worst end-use products).
DEFAULT_PANELS = 4
_RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
       "ytick.labelsize": 10, "legend.fontsize": 9.5, "figure.titlesize": 13,
       "font.family": "DejaVu Sans", "text.parse_math": False, "svg.hashsalt": "semigraph",
       "axes.spines.top": False, "axes.spines.right": False}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _text(value, width: int = 70) -> str:
    """Text for a chart: no control characters (not allowed in SVG's XML), one line, at
    most ``width`` characters."""
    text = " ".join(_CONTROL.sub(" ", "" if value is None else str(value)).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def chart_format(path: str | Path, fmt: str | None = None) -> str:
    """The chart format: as given, else from the file's suffix (``.png``, ``.svg``, ``.pdf``).

    Raises
    ------
    OutputError
        For any other format or suffix.
    """
    if fmt is None:
        fmt = Path(path).suffix.lower().lstrip(".")
        if fmt not in CHART_FORMATS:
            raise OutputError(f"cannot tell the chart format from {path}: name the file "
                              ".png, .svg or .pdf")
    if fmt not in CHART_FORMATS:
        raise OutputError(f"a chart is written as {', '.join(CHART_FORMATS)}, not {fmt!r}")
    return fmt


def first_short_day(series: pd.Series) -> int | None:
    """The first day a daily series is below :data:`SHORT` (``None``: never)."""
    below = series.to_numpy() < SHORT
    return int(series.index[below.argmax()]) if below.any() else None


def default_components(table: pd.DataFrame, series: Mapping[str, pd.DataFrame], *,
                       limit: int = DEFAULT_PANELS) -> list[str]:
    """The components a chart shows when none are named: the end-use products whose supply
    falls below normal in some reading, in the order of ``table`` (a what-if table: most lost
    days first), at most ``limit``; where no end-use product loses supply, the other
    components that do."""
    low = pd.concat([f.min() for f in series.values()], axis=1).min(axis=1)
    hurt = [c for c in table["component"] if c in low.index and low[c] < 1.0]
    stage = dict(zip(table["component"], table["stage"]))
    ends = [c for c in hurt if stage.get(c) == "end_use"]
    return (ends or hurt)[:limit]


def _panel(ax, component: str, series: Mapping[str, pd.DataFrame], name: str | None,
           *, legend: bool, wrap: int | None = None,
           spread: tuple[float, float, int] | None = None) -> None:
    """Draw one component's three readings into ``ax``. Lines carry their reading as
    ``gid`` (``pooled``, ``high``, ``tied``; the first-day marks ``short-pooled`` and
    ``short-tied``), so what was drawn can be read back."""
    days = series["pooled"].index.to_numpy()
    lo = series["pooled"][component].to_numpy(dtype=float)
    hi = series["high"][component].to_numpy(dtype=float)
    tied = series["tied"][component].to_numpy(dtype=float)
    # nothing is clipped: every value lies inside the axes (0..1, day 0..horizon), and an
    # unclipped SVG refers to no clip paths
    band = ax.fill_between(days, lo, hi, color=_COLOURS["range"], alpha=0.55, linewidth=0,
                           label=RANGE_LABEL, clip_on=False)
    band.set_gid("range")
    ax.plot(days, hi, color=_COLOURS["high"], linestyle="--", linewidth=1.4,
            label=READING_LABELS["high"], gid="high", clip_on=False)
    ax.plot(days, lo, color=_COLOURS["pooled"], linewidth=2.0,
            label=READING_LABELS["pooled"], gid="pooled", clip_on=False)
    ax.plot(days, tied, color=_COLOURS["tied"], linewidth=1.8, linestyle=(0, (5, 1.5)),
            label=READING_LABELS["tied"], gid="tied", clip_on=False)
    ax.axhline(SHORT, color=_COLOURS["threshold"], linestyle=":", linewidth=1.0,
               label=f"{SHORT:g} of normal: short below it", gid="threshold",
               clip_on=False)
    if spread is not None:  # where the lowest day lies when the uncertain figures vary
        p05, p95, draws = spread
        strip = ax.axhspan(p05, max(p95, p05 + 0.004), color=_COLOURS["pooled"], alpha=0.12,
                           hatch="//", linewidth=0,
                           label=f"lowest day, pooled: 5th-95th percentile over {draws} "
                                 "draws of the uncertain figures", gid="uncertainty")
        strip.set_clip_on(False)
    marks = [("pooled", first_short_day(series["pooled"][component]), "short from day"),
             ("tied", first_short_day(series["tied"][component]),
              "first tied buyers short on day")]
    for i, (reading, day, words) in enumerate(marks):
        if day is None:
            continue
        ax.axvline(day, ymin=0, ymax=1, color=_COLOURS[reading], linewidth=1.0,
                   linestyle="-" if reading == "pooled" else "-.", alpha=0.8,
                   gid=f"short-{reading}", clip_on=False)
        # just below the 0.99 line, right of the mark: where the lines have dropped away
        ax.annotate(f"{words} {day}", xy=(day, 0.92 - 0.09 * i), xytext=(4, 0),
                    textcoords="offset points", color=_COLOURS[reading], fontsize=9,
                    va="center", gid=f"short-{reading}-label",
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.85})
    horizon = int(days[-1]) if len(days) else 0
    ax.set_xlim(0, max(horizon, 1))
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.grid(True, color="#e4e4e4", linewidth=0.6)
    ax.set_axisbelow(True)
    label = _text(name) if name and name != component else ""
    heading = f"{label} ({component})" if label else component
    if wrap:  # panels side by side: a long name on two lines rather than into the next
        import textwrap

        heading = textwrap.fill(heading, wrap, max_lines=2, placeholder="…",
                                break_on_hyphens=False)
    ax.set_title(heading, loc="left")
    if legend:
        ax.legend(*_legend_entries(ax, wrap=None), loc="lower right", frameon=True,
                  framealpha=0.9)


_LEGEND_ORDER = ("pooled", "high", "range", "tied", "threshold", "uncertainty")


def _legend_entries(ax, *, wrap: int | None) -> tuple[list, list[str]]:
    """The legend's handles and labels in reading order, labels wrapped at ``wrap``
    characters."""
    import textwrap

    by_gid = {}
    for artist in (*ax.lines, *ax.collections, *ax.patches):
        if artist.get_gid() in _LEGEND_ORDER:
            by_gid.setdefault(artist.get_gid(), artist)
    handles = [by_gid[g] for g in _LEGEND_ORDER if g in by_gid]
    labels = [h.get_label() if wrap is None else textwrap.fill(h.get_label(), wrap)
              for h in handles]
    return handles, labels


def supply_chart(series: Mapping[str, pd.DataFrame], components: Sequence[str] | None = None,
                 *, title: str = "", subtitle: str = "", names: Mapping[str, str] | None = None,
                 table: pd.DataFrame | None = None, ax=None, pyplot: bool = False,
                 limit: int = DEFAULT_PANELS,
                 bands: Mapping[str, tuple[float, float, int]] | None = None):
    """Supply over days of one or more components in the three readings.

    Parameters
    ----------
    series : mapping
        ``{"pooled": frame, "high": frame, "tied": frame}``: delivered supply per day as a
        share of normal, rows days ``0..horizon``, columns components (a what-if result's
        ``timeline``, ``timeline_high`` and ``timeline_tied``).
    components : sequence of str, optional
        One panel each. Default: :func:`default_components` of ``table``.
    title, subtitle : str
        The figure's heading (the scenario) and a second line (the perspective).
    names : mapping, optional
        Component names for the panel titles.
    table : DataFrame, optional
        The what-if table, for the default components.
    ax : matplotlib Axes, optional
        Draw one component into it (with its own legend) and return it.
    bands : mapping, optional
        Component -> (5th percentile, 95th percentile, draws) of its lowest day in the
        pooled reading over uncertainty draws (``--uncertainty N``): drawn as a hatched
        strip across the panel.
    pyplot : bool
        Make the figure through ``matplotlib.pyplot`` (so a notebook or ``plt.show()``
        shows it, as pandas' ``.plot`` does); otherwise a free-standing figure on the Agg
        canvas, for files.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.

    Raises
    ------
    UnknownUnitError
        A component is not in the series.
    ValueError
        ``ax`` with more than one component.
    """
    import matplotlib as mpl

    if components is None:
        components = (default_components(table, series, limit=limit) if table is not None
                      else [])
    components = list(dict.fromkeys(components))
    unknown = [c for c in components if c not in series["pooled"].columns]
    if unknown:
        raise UnknownUnitError(f"not a component of this result: {', '.join(unknown)}")
    names = names or {}
    with mpl.rc_context(_RC):
        if ax is not None:
            if len(components) != 1:
                raise ValueError("ax takes one component's chart; name exactly one "
                                 f"component (got {len(components)}), or leave ax out for "
                                 "one panel per component")
            _panel(ax, components[0], series, names.get(components[0]), legend=True,
                   spread=(bands or {}).get(components[0]))
            return ax
        n = max(1, len(components))
        cols = 1 if n == 1 else 2
        rows = math.ceil(n / cols)
        size = SLIDE if n == 1 else (11.0, 1.9 + 2.9 * rows)
        if pyplot:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=size, dpi=100, layout="constrained")
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=size, dpi=100, layout="constrained")
            FigureCanvasAgg(fig)
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
        lines = [t for t in (_text(title, 90), _text(subtitle, 110)) if t]
        if len(lines) == 2 and len(lines[0]) + len(lines[1]) < 78:  # one line where it fits
            lines = [f"{lines[0]}; {lines[1]}"]
        for k, axis in enumerate(axes.flat):
            if k < len(components):
                _panel(axis, components[k], series, names.get(components[k]), legend=False,
                       wrap=None if n == 1 else 48, spread=(bands or {}).get(components[k]))
                if n == 1:  # a slide: the component heads the figure
                    lines.insert(0, axis.get_title(loc="left"))
                    axis.set_title("", loc="left")
                if k % cols == 0:
                    axis.set_ylabel("supply, share of normal")
                if k >= len(components) - cols:
                    axis.set_xlabel("days after the disruption starts")
            else:
                axis.set_visible(False)
        if not components:
            axis = axes.flat[0]
            axis.set_visible(True)
            axis.set_axis_off()
            axis.text(0.5, 0.5, "No component loses supply in any reading.",
                      ha="center", va="center", transform=axis.transAxes, fontsize=13)
        else:
            # below the panels, the full width of the figure (wrapped to fit on a slide)
            fig.legend(*_legend_entries(axes.flat[0], wrap=44 if n == 1 else None),
                       loc="outside lower center", ncols=2, frameon=False)
        if lines:
            fig.suptitle("\n".join(lines), x=0.01, ha="left")
        return fig


def chart_bytes(fig, fmt: str, *, inline: bool = False) -> bytes:
    """A figure as PNG (150 dpi), SVG or PDF bytes, without a creation date (the same chart
    gives the same bytes). ``inline`` SVG keeps text as text (for an HTML page; the page's
    fonts draw it) instead of outlines."""
    import matplotlib as mpl

    fmt = chart_format("", fmt)
    meta = {"png": {"Software": "semigraph (matplotlib)"},
            "svg": {"Date": None, "Creator": "semigraph (matplotlib)"},
            "pdf": {"CreationDate": None, "Creator": "semigraph (matplotlib)"}}[fmt]
    buf = io.BytesIO()
    with mpl.rc_context({**_RC, "svg.fonttype": "none" if inline else "path"}):
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=meta)
    return buf.getvalue()


def svg_for_html(svg: bytes, prefix: str) -> str:
    """An SVG chart made to sit inside an HTML page: no XML declaration, doctype, comments
    or metadata; no references inside it (each ``<use>`` of a tick mark or a shaded band is
    replaced by a copy of what it names, and there are no clip paths: nothing is clipped, see
    :func:`supply_chart`), so it needs no ``href`` or ``url()``; and every ``id`` begins with
    ``prefix``, so several charts on one page keep their ids apart."""
    import copy
    import xml.etree.ElementTree as ET

    ns, xlink = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
    root = ET.fromstring(svg)
    defs = [d for d in root.iter(f"{{{ns}}}defs")]
    named = {el.get("id"): el for d in defs for el in d if el.get("id")}
    parents = {child: parent for parent in root.iter() for child in parent}
    for use in [u for u in root.iter(f"{{{ns}}}use")]:
        ref = (use.get(f"{{{xlink}}}href") or use.get("href") or "").lstrip("#")
        parent, target = parents[use], named.get(ref)
        at = list(parent).index(use)
        parent.remove(use)
        if target is None:
            continue
        attrs = {k: v for k, v in use.attrib.items()
                 if k not in (f"{{{xlink}}}href", "href", "x", "y")}
        attrs["transform"] = (f"translate({use.get('x', '0')} {use.get('y', '0')}) "
                              + attrs.get("transform", "")).strip()
        group = ET.Element(f"{{{ns}}}g", attrs)
        inner = copy.deepcopy(target)
        inner.attrib.pop("id", None)
        group.append(inner)
        parent.insert(at, group)
    for d in defs:
        for el in list(d):
            if el.get("id") in named or el.tag == f"{{{ns}}}clipPath":
                d.remove(el)
    for el in [e for e in root if e.tag == f"{{{ns}}}metadata"]:
        root.remove(el)
    for el in root.iter():
        el.attrib.pop("clip-path", None)
        if el.get("id"):
            el.set("id", prefix + el.get("id"))
    text = ET.tostring(root, encoding="unicode")
    # the default namespace written as svg's own, not as a prefix ElementTree made up
    text = re.sub(r"\bns0:", "", text).replace("xmlns:ns0=", "xmlns=")
    return text.strip()


def close(fig) -> None:
    """Let a figure go (one made through pyplot is also dropped from pyplot's list)."""
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def write_chart(fig, path: str | Path, *, fmt: str | None = None,
                force: bool = False) -> Path:
    """Write a figure atomically to ``path`` (format from the suffix): drawn in full before
    anything is written, so a failure leaves no file."""
    from semigraph.io.write import atomic_write, check_output

    fmt = chart_format(path, fmt)
    check_output(path, force=force)
    data = chart_bytes(fig, fmt)
    return atomic_write(path, lambda fh: fh.write(data), force=force)
