"""Render results: risk maps (Graphviz), charts of supply over days (matplotlib) and the
HTML report.

``graphviz`` and the ``dot`` program are needed only here, and imported only when a map is
drawn; writing DOT source needs no ``dot`` program. matplotlib is imported only when a chart
is drawn (:mod:`semigraph.render.charts`).
"""

from __future__ import annotations

from pathlib import Path

from semigraph.errors import OutputError

__all__ = ["MAP_FORMATS", "chart_format", "country_map", "map_source", "risk_map",
           "write_map"]

MAP_FORMATS = ("dot", "svg", "png", "pdf")


def risk_map(model, risk, **kwargs):
    """See :func:`semigraph.render.graphviz_map.risk_map`."""
    from semigraph.render.graphviz_map import risk_map as _risk_map

    return _risk_map(model, risk, **kwargs)


def country_map(model, risk, **kwargs):
    """See :func:`semigraph.render.graphviz_map.country_map`."""
    from semigraph.render.graphviz_map import country_map as _country_map

    return _country_map(model, risk, **kwargs)


def chart_format(path: str | Path, fmt: str | None = None) -> str:
    """See :func:`semigraph.render.charts.chart_format` (no plotting library needed)."""
    from semigraph.render.charts import chart_format as _chart_format

    return _chart_format(path, fmt)


def map_source(graph) -> str:
    """The DOT source of a map, newline-terminated."""
    src = graph.source
    return src if src.endswith("\n") else src + "\n"


def render_bytes(graph, fmt: str) -> bytes:
    """A map as ``dot``, ``svg``, ``png`` or ``pdf`` bytes (all but ``dot`` need Graphviz)."""
    if fmt not in MAP_FORMATS:
        raise OutputError(f"a map is written as {', '.join(MAP_FORMATS)}, not {fmt!r}")
    source = map_source(graph)
    if fmt == "dot":
        return source.encode("utf-8")
    from semigraph.render.dot import run_dot

    return run_dot(source, fmt)


def map_format(path: str | Path, fmt: str | None = None) -> str:
    """The map format: as given, else from the file's suffix."""
    if fmt:
        if fmt not in MAP_FORMATS:
            raise OutputError(f"unknown map format {fmt!r}; use {', '.join(MAP_FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "gv":
        return "dot"
    if suffix not in MAP_FORMATS:
        raise OutputError(f"cannot tell the map format from {path}: name the file .dot, "
                          ".svg, .png or .pdf")
    return suffix


def write_map(graph, path: str | Path, *, fmt: str | None = None, force: bool = False) -> Path:
    """Render ``graph`` and write it atomically to ``path`` (format from the suffix)."""
    from semigraph.io.write import atomic_write, check_output

    fmt = map_format(path, fmt)
    check_output(path, force=force)
    data = render_bytes(graph, fmt)  # render first: nothing is written when dot fails
    return atomic_write(path, lambda fh: fh.write(data), force=force)
