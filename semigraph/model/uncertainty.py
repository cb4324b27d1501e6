"""Ranges of estimated figures: which figures are estimates, and which of them have a range.

A dataset may give ``uncertainty.csv``: one row per figure that is uncertain, with its
``low`` and ``high`` and the ``reason`` (see the project README, "Dataset format", and the
bundled dataset's README, "Uncertainty ranges"). A figure is *estimated* when the source it
rests on is a modelling estimate (``kind = estimate`` in ``sources.csv``):

===========  ================  ================================================================
table        column            the source it rests on
===========  ================  ================================================================
supply       share             ``source`` or ``split_source`` (the division over sites)
components   stock_days        ``stock_source``, else the row's ``source``
components   stock_days_min    ``stock_source``, else the row's ``source``
components   ttr_days          ``source``
components   qualify_days      ``qualify_source``
components   chain_share       ``chain_share_source``
components   renewal_days      ``renewal_source``
consumption  share             ``source``
===========  ================  ================================================================

Only figures that are given count: an empty cell (unknown) has nothing to range.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["COLUMNS", "estimated_figures", "figure_key", "figures", "missing_ranges"]

#: The columns a range may be given for, by table, each with the columns naming its source
#: (the first one given is used; for supply both count, see :func:`figures`).
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "supply": {"share": ("source", "split_source")},
    "components": {
        "stock_days": ("stock_source", "source"),
        "stock_days_min": ("stock_source", "source"),
        "ttr_days": ("source",),
        "qualify_days": ("qualify_source",),
        "chain_share": ("chain_share_source",),
        "renewal_days": ("renewal_source",),
    },
    "consumption": {"share": ("source",)},
}

_KEYS = {"supply": ("component", "supplier", "site"), "components": ("id",),
         "consumption": ("component", "country")}
_OUT = ["table", "key", "column", "value"]


def figure_key(table: str, frame: pd.DataFrame) -> pd.Series:
    """The key of each row of ``frame`` (a ``supply``, ``components`` or ``consumption``
    table) as ``uncertainty.csv`` writes it: the key columns joined with ``/``."""
    cols = [["" if v is None or v != v else str(v) for v in frame[c].tolist()]
            for c in _KEYS[table]]
    return pd.Series(["/".join(parts) for parts in zip(*cols)], index=frame.index,
                     dtype=object)


def _tables(data) -> dict[str, pd.DataFrame]:
    return data if isinstance(data, dict) else data.tables


def figures(data) -> pd.DataFrame:
    """Every given figure a range may be given for, with whether it is estimated.

    ``data`` is a model or a dict of its tables. Columns: ``table``, ``key``, ``column``,
    ``value``, ``estimated`` (its source has ``kind = estimate``), ``row`` (the figure's row
    label in its table: the spreadsheet row during validation, the position in a model).
    """
    tables = _tables(data)
    sources = tables["sources"]
    estimate = set(sources.loc[sources["kind"] == "estimate", "id"].dropna())
    parts = []
    for table, cols in COLUMNS.items():
        frame = tables[table]
        if frame.empty:
            continue
        key = figure_key(table, frame)
        for column, source_cols in cols.items():
            value = frame[column].astype("float64")
            given = value.notna()
            if table == "supply":  # a publication's total with an estimated site split counts
                est = frame["source"].isin(estimate) | frame["split_source"].isin(estimate)
            else:  # the first source column given
                src = frame[source_cols[0]]
                for other in source_cols[1:]:
                    src = src.where(src.notna(), frame[other])
                est = src.isin(estimate)
            parts.append(pd.DataFrame({
                "table": table, "key": key[given], "column": column, "value": value[given],
                "estimated": est[given].astype(bool), "row": frame.index[given],
            }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip([*_OUT, "estimated", "row"],
                                 [object, object, object, "float64", bool, "int64"])})
    return pd.concat(parts, ignore_index=True)


def estimated_figures(data) -> pd.DataFrame:
    """The figures that rest on a modelling estimate: ``table``, ``key``, ``column``,
    ``value``, in the order of the tables and their rows.

    Examples
    --------
    >>> import semigraph
    >>> est = estimated_figures(semigraph.load())
    >>> sorted(est["table"].unique())
    ['components', 'consumption', 'supply']
    """
    out = figures(data)
    return out.loc[out["estimated"], _OUT].reset_index(drop=True)


def missing_ranges(data) -> pd.DataFrame:
    """The estimated figures that have no row in the ``uncertainty`` table (same columns as
    :func:`estimated_figures`); empty when every estimate carries a range."""
    est = estimated_figures(data)
    unc = _tables(data)["uncertainty"]
    have = set(zip(unc["table"], unc["key"], unc["column"]))
    keep = [(t, k, c) not in have for t, k, c in zip(est["table"], est["key"], est["column"])]
    return est.loc[keep].reset_index(drop=True)
