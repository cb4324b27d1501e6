"""A tornado chart of a gaps ranking: how far each uncertain figure moves the headline."""

from __future__ import annotations

import io

import pandas as pd

__all__ = ["tornado"]


def _label(row) -> str:
    return f"{row['key']} {row['column']}"


def tornado(frame: pd.DataFrame, *, headline: float, fmt: str = "png", top: int = 10,
            title: str = "") -> bytes:
    """The first ``top`` rows of a gaps table (:meth:`semigraph.api.Network.gaps`) as a
    tornado chart, PNG or SVG bytes.

    Each figure is a bar from the headline at the figure's low end to the headline at its
    high end (blue: the low end's side of the bar, orange: the high end's), around a line at
    the headline with every figure at its value; the largest swing is on top.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    if fmt not in ("png", "svg"):
        raise ValueError(f"a tornado chart is PNG or SVG, not {fmt!r}")
    rows = frame.head(top).iloc[::-1]
    fig = Figure(figsize=(8, 1.2 + 0.45 * max(1, len(rows))))
    ax = fig.add_subplot()
    for y, (_, row) in enumerate(rows.iterrows()):
        lo, hi = float(row["headline_at_low"]), float(row["headline_at_high"])
        ax.barh(y, lo - headline, left=headline, color="#4c78a8", height=0.6)
        ax.barh(y, hi - headline, left=headline, color="#f58518", height=0.6)
    ax.axvline(headline, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), [_label(r) for _, r in rows.iterrows()], fontsize=8)
    ax.set_xlabel("headline: lowest daily supply (share of normal)")
    ax.set_title(title or "What moves the headline", fontsize=10)
    ax.bar(0, 0, color="#4c78a8", label="figure at its low end")
    ax.bar(0, 0, color="#f58518", label="figure at its high end")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()
