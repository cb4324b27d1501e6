"""Text for people: safe to show on a terminal or in a spreadsheet cell, figures in their units."""

from __future__ import annotations

__all__ = ["figure_text", "terminal_text"]

_CONTROL = {c: None for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F,
                              *range(0x80, 0xA0), 0xFFFE, 0xFFFF]}


def terminal_text(text: str) -> str:
    """Text safe to print on a terminal: control characters (escape sequences that recolour,
    move the cursor or retitle the window) removed; newlines kept."""
    return str(text).translate(_CONTROL)


def figure_text(value, column: str) -> str:
    """A dataset figure as text in its own unit: a share (``share``, ``chain_share``) to three
    decimals, a number of days whole; ``""`` when unknown (None or NaN)."""
    if value is None or value != value:
        return ""
    return f"{float(value):.3f}" if column in ("share", "chain_share") else f"{value:,.0f}"
