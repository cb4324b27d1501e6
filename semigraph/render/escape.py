"""Escape text for DOT files: quoted strings and HTML-like labels.

Graphviz reads a label twice: once as DOT (a quoted string or an ``<...>`` HTML-like label),
then as an "escString" in which ``\\N``, ``\\G``, ``\\n``, ``\\l`` and friends are expanded.
A name such as ``Zeiß "SMT" <Optik> & {Co}\\`` must survive both readings verbatim, so every
backslash is doubled as well as the markup characters being escaped.
"""

from __future__ import annotations

__all__ = ["html_text", "quoted"]

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
         # escString expansion happens after entity decoding, so a backslash is doubled
         "\\": "\\\\"}


def _xml_char(ch: str) -> bool:
    """Whether XML (the SVG Graphviz writes) can hold the character: not a control character
    other than newline and tab, not a surrogate, not U+FFFE or U+FFFF."""
    o = ord(ch)
    return ch in "\n\t" or (32 <= o < 0xD800) or (0xE000 <= o < 0xFFFE) or o > 0xFFFF


def html_text(text: object) -> str:
    """Text for an HTML-like label: markup escaped, line breaks as ``<BR/>``.

    >>> html_text('A & "B" <c>\\\\')
    'A &amp; &quot;B&quot; &lt;c&gt;\\\\\\\\'
    """
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    out = "".join(_HTML.get(ch, ch) for ch in s)
    # control characters other than newline and tab are not valid in XML (the SVG)
    out = "".join(ch for ch in out if _xml_char(ch))
    return out.replace("\t", " ").replace("\n", "<BR/>")


def quoted(text: object) -> str:
    """A DOT quoted string (with its quotes) that Graphviz reads back verbatim.

    >>> quoted('say "hi"\\\\')
    '"say \\\\"hi\\\\"\\\\\\\\"'
    """
    s = "" if text is None else str(text)
    s = "".join(ch for ch in s if _xml_char(ch))
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'
