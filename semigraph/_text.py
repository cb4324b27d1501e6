"""Text made safe to show: on a terminal, in a spreadsheet cell."""

from __future__ import annotations

__all__ = ["terminal_text"]

_CONTROL = {c: None for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F,
                              *range(0x80, 0xA0), 0xFFFE, 0xFFFF]}


def terminal_text(text: str) -> str:
    """Text safe to print on a terminal: control characters (escape sequences that recolour,
    move the cursor or retitle the window) removed; newlines kept."""
    return str(text).translate(_CONTROL)
