"""Rich display of results in Jupyter: a heading, what the result was computed from, the
first rows of the table and the reading notes."""

from __future__ import annotations

import html

import pandas as pd

__all__ = ["result_html"]

#: Rows a notebook shows; ``result.table`` has them all.
ROWS = 20


def _cell(value) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def result_html(result) -> str:
    """A result as an HTML fragment (every text escaped)."""
    meta = result.meta
    table = result.table
    head = table.head(ROWS)
    cols = list(head.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in head.itertuples(index=False))
    more = (f"<p><small>{len(table) - ROWS} more rows in <code>.table</code></small></p>"
            if len(table) > ROWS else "")
    about = ", ".join(f"{k}: {v}" for k, v in (
        ("dataset", f"{meta.get('dataset')} {meta.get('dataset_version')}"),
        ("perspective", meta.get("perspective")),
        ("disruptions", "; ".join(meta.get("disruptions") or []) or None),
    ) if v)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    return (f"<div class='semigraph-result'><strong>{html.escape(result.title or result.kind)}"
            f"</strong><br><small>{html.escape(about)}</small>"
            "<table><thead><tr>"
            + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
            + f"</tr></thead><tbody>{body}</tbody></table>{more}"
            + (f"<ul>{notes}</ul>" if notes else "") + "</div>")
