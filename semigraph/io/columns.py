"""What a result column holds, read from its name: how a spreadsheet and the terminal show it.

Result columns are named the same way in every analysis (engine README 1; the column lists of
each analysis module), so the name says the unit:

=========  ==============================================================  =========  ========
kind       columns                                                         XLSX       terminal
=========  ==============================================================  =========  ========
share      a fraction 0..1 of normal supply, of world supply or of demand:  0.0%       0.000
           ``availability*``, ``output*``, ``steady_state``, ``shortfall``,
           ``share`` and ``*_share``, ``coverage``, ``cr1``, ``cr3``,
           ``import_reliance``, ``upstream_exposure``, ``supply`` (a daily
           series), ``lowest*``, the backtest's ``observed_*``/``model_*``
           ranges, every country column of the dependency matrix
day        a day or a number of days: ``day``, ``*_day``, ``*_days``        #,##0      1,095
           (one decimal where a value is not a whole day)
days       an amount of supply in days of normal demand: ``*lost_days``    #,##0.0    287.5
money      euros: ``*_eur``                                                #,##0      1,250,000
index      an index on 0..10,000 or a count: ``hhi``,                      #,##0      4,012
           ``import_concentration``, ``extra_stock_units``, the stockpile's
           ``score``; every integer column
year       a calendar year: ``year``, ``*_year``                           0          2024
=========  ==============================================================  =========  ========

A comparison (``diff``) names its columns ``<column>_a``, ``<column>_b`` and
``<column>_change``: they are read as ``<column>``. Any other number keeps the spreadsheet's
General format, and on the terminal one number of decimals for the whole column (three below
100, one below 10,000, none above). The EU criticality figures (``eu_eol_rir``,
``eu_import_reliance``) are percentages 0..100 as the EU publishes them, not fractions, and
are left as they are.
"""

from __future__ import annotations

import math
import re

__all__ = ["XLSX_FORMATS", "column_kind", "decimals", "terminal_spec"]

#: Number formats of each kind in a spreadsheet.
XLSX_FORMATS = {"share": "0.0%", "day": "#,##0", "days": "#,##0.0", "money": "#,##0",
                "index": "#,##0", "year": "0"}
#: Decimals of each kind on the terminal.
_DECIMALS = {"share": 3, "day": 0, "days": 1, "money": 0, "index": 0, "year": 0}

_SHARES = {"steady_state", "shortfall", "share", "coverage", "wgi_coverage", "cr1", "cr3",
           "import_reliance", "upstream_exposure", "supply", "lowest", "lowest_tied",
           "observed_low", "observed_high", "model_low", "model_high", "model_tied"}
_INDEX = {"hhi", "import_concentration", "extra_stock_units"}
_PERCENT_0_100 = {"eu_eol_rir", "eu_import_reliance"}
_COMPARED = re.compile(r"_(a|b|change)$")
#: Analyses whose every numeric column but the first is a share (a product x country matrix).
_ALL_SHARES = {"dependency_matrix"}


def column_kind(name: str, *, analysis: str | None = None, integer: bool = False) -> str | None:
    """The kind of figure a column holds (``share``, ``day``, ``days``, ``money``,
    ``index``, ``year``), from its name; ``None`` when the name does not say.

    ``analysis`` (the result's ``meta["analysis"]``) settles names that mean different
    things in different results (the stockpile's ``score`` is a count of product-days, the
    backtest's an interval score on 0..1); ``integer`` marks an integer column, read as a
    count when its name says nothing else.
    """
    name = str(name)
    if analysis in _ALL_SHARES:
        return "share"
    base = _COMPARED.sub("", name)
    if base in _PERCENT_0_100:
        return None
    if (base in _SHARES or base.endswith("_share") or base.startswith("availability")
            or base.startswith("world_availability") or base in ("output", "output_high",
                                                                 "output_tied")):
        return "share"
    if base.endswith("lost_days"):
        return "days"
    if base == "day" or base.endswith("_day") or base.endswith("_days"):
        return "day"
    if base.endswith("_eur"):
        return "money"
    if base == "year" or base.endswith("_year"):
        return "year"
    if base in _INDEX or (base == "score" and analysis == "stockpile"):
        return "index"
    if integer:
        return "index"
    return None


def decimals(kind: str | None, values) -> int:
    """Decimals for a whole column on the terminal: by its kind, else by its largest value
    (three below 100, one below 10,000, none above), none when every value is whole. Days
    that are not whole (a dataset may give 7.5 days of stock) get one decimal."""
    finite = [abs(float(v)) for v in values if math.isfinite(v)]
    whole = all(v.is_integer() for v in finite)
    if kind == "day" and not whole:
        return 1
    if kind is not None:
        return _DECIMALS[kind]
    if not finite or whole:
        return 0
    top = max(finite)
    return 3 if top < 100 else 1 if top < 10_000 else 0


def terminal_spec(kind: str | None, values) -> str:
    """The format spec (``",.3f"``) of every number of a column on the terminal: thousands
    separated, :func:`decimals` decimals; a year without a separator."""
    digits = decimals(kind, values)
    return f".{digits}f" if kind == "year" else f",.{digits}f"
