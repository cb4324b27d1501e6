"""A tornado chart of a gaps ranking: how far each uncertain figure moves the headline."""

from __future__ import annotations

import io

import pandas as pd

from semigraph._text import figure_text

__all__ = ["tornado"]


LOW, HIGH = "#4c78a8", "#f58518"


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
    import textwrap

    from matplotlib.patches import Patch

    rows = frame.head(top).iloc[::-1]
    fig = Figure(figsize=(8, 1.6 + 0.45 * max(1, len(rows))))
    ax = fig.add_subplot()
    ends = [headline]
    for y, (_, row) in enumerate(rows.iterrows()):
        lo, hi = float(row["headline_at_low"]), float(row["headline_at_high"])
        ends += [lo, hi]
        ax.barh(y, lo - headline, left=headline, color=LOW, height=0.6)
        ax.barh(y, hi - headline, left=headline, color=HIGH, height=0.6)
        for x, figure in ((lo, row["low"]), (hi, row["high"])):  # the figure at each end
            if abs(x - headline) > 1e-12:
                ax.annotate(figure_text(figure, row["column"]), (x, y), fontsize=7,
                            xytext=(3 if x > headline else -3, 0), textcoords="offset points",
                            ha="left" if x > headline else "right", va="center")
    span = max(ends) - min(ends) or 0.01
    ax.set_xlim(min(ends) - 0.25 * span, max(ends) + 0.25 * span)  # room for the labels
    ax.axvline(headline, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), [_label(r) for _, r in rows.iterrows()], fontsize=8)
    ax.set_xlabel(f"headline: lowest daily supply (share of normal); line: {headline:.3f} with "
                  "every figure at its value", fontsize=8)
    ax.set_title("\n".join(textwrap.wrap(title or "What moves the headline", 80)), fontsize=9)
    ax.legend(handles=[Patch(color=LOW, label="figure at its low end"),
                       Patch(color=HIGH, label="figure at its high end")],
              fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14 - 0.6 / len(rows)),
              ncol=2, frameon=False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()
