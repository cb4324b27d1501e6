"""Validate and type a dataset's tables.

One ``check_*`` function per rule; each adds :class:`~semigraph.errors.Problem` objects to a
shared list, so one pass reports everything that is wrong. Messages name the file, the row a
spreadsheet shows and the column, and say how to fix the problem.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from decimal import Decimal

import pandas as pd

from semigraph.errors import Problem
from semigraph.io.read import RawDataset, RawTable
from semigraph.schema import TABLES, Column, columns, iso3_codes, key_columns

__all__ = ["SHARE_ERROR", "SHARE_WARNING", "parse_fraction", "validate"]

#: A component's shares may sum a little above 1 through rounding in the sources.
SHARE_WARNING = 1.05
SHARE_ERROR = 1.5

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_BLOC = re.compile(r"^[A-Z][A-Z0-9_-]*$")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_FRACTION = re.compile(r"((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)")
_URL = re.compile(r"^(https?://[^\s]+|doi:\S+)$", re.IGNORECASE)
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_fraction(text: str) -> float:
    """Parse a share: a fraction ``0.61`` or a percent string ``61%``.

    Raises ``ValueError`` with an explanation when the text is neither, or lies outside 0..1.

    Examples
    --------
    >>> parse_fraction("61%")
    0.61
    >>> parse_fraction("0.25")
    0.25
    """
    m = _FRACTION.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text.strip()!r} is not a share: write a fraction such as 0.61 (a "
                         "percent such as 61% reads only where no datapackage.json declares "
                         "the column a number)")
    if m.group(2):  # the percent divided exactly, then the nearest float: 14.3% is 0.143
        value = float(Decimal(m.group(1)) / 100)
    else:
        value = float(m.group(1))
        if value > 1:
            raise ValueError(
                f"share {text!r} is not a fraction 0..1; write {value / 100:g} or {text.strip()}%"
            )
    if not math.isfinite(value) or value < 0 or value > 1:
        raise ValueError(f"share {text!r} is outside 0..1 (0%..100%)")
    return value  # as given: never rounded, so a tiny share is not made 0


def _convert(col: Column, text: str):
    """The value of one cell, or ValueError with what is wrong (the same message for every
    row with that text)."""
    t = text.strip()
    if t == "":
        if col.required:
            raise ValueError(f"{col.name} is required but empty")
        return None
    if col.type == "iso3":
        if not _ISO3.match(t):
            hint = f"; use {t.upper()!r}" if _ISO3.match(t.upper()) else ""
            raise ValueError(f"{t!r} is not an ISO 3166-1 alpha-3 code (3 upper-case "
                             f"letters){hint}")
        return t
    if col.type == "slug":
        if not _SLUG.match(t):
            raise ValueError(f"{t!r} is not a lower-case id (letters, digits, '-', '_', "
                             f"'.'; e.g. {re.sub(r'[^a-z0-9._-]+', '-', t.lower())!r})")
        return t
    if col.type == "id":
        if not (_SLUG.match(t) or _ISO3.match(t)):
            raise ValueError(f"{t!r} is neither a lower-case id nor an ISO3 country code")
        return t
    if col.type == "string":
        return t
    if col.type == "fraction":
        try:
            return parse_fraction(t)
        except ValueError as exc:
            if "share" in str(exc):
                raise
            raise ValueError(f"{t!r} is not a share: write a fraction such as 0.61 (a "
                             "percent such as 61% reads only where no datapackage.json "
                             "declares the column a number)") from None
    if col.type in ("number", "integer"):
        if not _NUMBER.fullmatch(t):
            raise ValueError(f"{t!r} is not a number (digits, an optional decimal point "
                             "and exponent; no spaces or underscores)")
        value = float(t)
        if not math.isfinite(value):
            raise ValueError(f"{t!r} is not a finite number")
        if col.type == "integer":
            if not value.is_integer():
                raise ValueError(f"{t!r} is not a whole number")
            value = int(value)
        if col.min is not None and value < col.min:
            raise ValueError(f"{t} is below the minimum {col.min:g}")
        if col.max is not None and value > col.max:
            raise ValueError(f"{t} is above the maximum {col.max:g}")
        return value
    if col.type == "boolean":
        if t.lower() in _TRUE:
            return True
        if t.lower() in _FALSE:
            return False
        raise ValueError(f"{t!r} is not true or false")
    if col.type == "enum":
        if t not in col.values:
            raise ValueError(f"{t!r} is not one of {', '.join(col.values)}"
                             + _suggest(t, col.values))
        return t
    if col.type == "list":
        items = [p.strip() for p in t.split(";") if p.strip()]
        return ";".join(items)
    raise AssertionError(f"unknown column type {col.type}")


class _Checker:
    def __init__(self, raw: RawDataset) -> None:
        self.raw = raw
        self.problems: list[Problem] = list(raw.problems)
        self.typed: dict[str, pd.DataFrame] = {}

    def add(self, table: str, row: int | None, column: str | None, message: str,
            severity: str = "error") -> None:
        file = self.raw.tables[table].file if table in self.raw.tables else f"{table}.csv"
        self.problems.append(Problem(file, row, column, message, severity))

    def _as_written(self, table: str, row: int, column: str) -> str:
        """A cell's text as the file has it (``row``: the file's row number, as the typed
        tables are indexed)."""
        raw = self.raw.tables.get(table)
        try:
            return str(raw.frame.at[row - 2, column]).strip()
        except (AttributeError, KeyError):
            return str(self.typed[table].at[row, column])

    # -- per-cell parsing ------------------------------------------------------------------
    def _parse_column(self, table: str, col: Column, rows: list[int], texts: list) -> list:
        """Every cell of a column parsed. Each distinct text is parsed once (ids, codes and
        shares repeat); an invalid one is reported on every row that has it."""
        strs = list(map(str, texts))
        memo: dict[str, object] = {}
        bad = set()
        for text in dict.fromkeys(strs):
            try:
                memo[text] = _convert(col, text)
            except ValueError:
                bad.add(text)
        if bad:
            for r, text in zip(rows, strs):
                if text in bad:
                    self._parse(table, r, col, text)
        return [memo.get(text) for text in strs]

    def _parse(self, table: str, row: int, col: Column, text: str):
        try:
            return _convert(col, text)
        except ValueError as exc:
            self.add(table, row, col.name, str(exc))
            return None

    def check_columns_and_parse(self) -> None:
        for name in TABLES:
            raw: RawTable | None = self.raw.tables.get(name)
            cols = columns(name)
            if raw is None:
                self.typed[name] = _empty(name)
                continue
            present = set(raw.frame.columns)
            known = {c.name for c in cols}
            unknown = sorted(present - known)
            absent = [c for c in cols if c.name not in present]
            misspelt: dict[str, str] = {}  # a header that is close to an absent column
            for extra in unknown:
                close = difflib.get_close_matches(extra.lower(), [c.name for c in absent], 1,
                                                  0.6)
                if close and close[0] not in misspelt:
                    misspelt[close[0]] = extra
            for col in absent:
                if col.name in misspelt:
                    self.add(name, None, misspelt[col.name], f"column {misspelt[col.name]!r} "
                             f"is not known: the expected column {col.name!r} ({col.description})"
                             f" is missing; rename the header to {col.name!r}")
                elif col.present or col.key:
                    what = "" if col.required else " (its cells may be empty, the column may not)"
                    self.add(name, None, col.name, f"missing column {col.name!r} "
                             f"({col.description}){what}")
            for extra in unknown:
                if extra not in misspelt.values():
                    self.add(name, None, extra, "unknown column, ignored"
                             + _suggest(extra, known), "warning")
            data: dict[str, list] = {}
            rows = [i + 2 for i in raw.frame.index]  # the file's row numbers
            for col in cols:
                if col.name not in present:
                    data[col.name] = [None] * len(rows)
                    continue
                data[col.name] = self._parse_column(name, col, rows,
                                                    raw.frame[col.name].tolist())
            self.typed[name] = _typed_frame(name, data, rows)

    # -- table-level rules -----------------------------------------------------------------
    def check_duplicates(self) -> None:
        for name in TABLES:
            frame, keys = self.typed[name], list(key_columns(name))
            if frame.empty:
                continue
            dup = frame[frame.duplicated(keys, keep=False) & frame[keys].notna().all(axis=1)]
            first: dict[tuple, int] = {}
            for row, values in zip(dup.index, dup[keys].itertuples(index=False)):
                k = tuple(values)
                if k in first:
                    what = ", ".join(f"{c}={v}" for c, v in zip(keys, k))
                    self.add(name, row, keys[-1] if len(keys) > 1 else keys[0],
                             f"duplicate {what} (first at row {first[k]})")
                else:
                    first[k] = row

    def check_country_codes(self) -> None:
        codes = iso3_codes()
        for row, cid in self.typed["countries"]["id"].items():
            if cid is not None and cid not in codes:
                self.add("countries", row, "id", f"{cid!r} is not an assigned ISO 3166-1 "
                         "alpha-3 code" + _suggest(cid, codes))

    def check_namespace(self) -> None:
        firms = self.typed["firms"]
        comp_ids = set(self.typed["components"]["id"].dropna())
        for row, fid in firms["id"].items():
            if fid in comp_ids:
                self.add("firms", row, "id", f"{fid!r} is also a component id; firms and "
                         "components share one namespace, rename one of them")

    def check_references(self) -> None:
        ids = {t: set(self.typed[t]["id"].dropna()) for t in
               ("countries", "firms", "components", "sources")}
        for name in TABLES:
            frame = self.typed[name]
            for col in columns(name):
                if not col.reference or col.name not in frame:
                    continue
                allowed = set().union(*(ids[t] for t in col.reference))
                for row, value in frame[col.name].items():
                    if value is None or value in allowed:
                        continue
                    where = " or ".join(col.reference)
                    self.add(name, row, col.name, f"unknown id {value!r}: not in {where}"
                             + _suggest(value, allowed))

    def check_blocs(self) -> None:
        countries = self.typed["countries"]
        country_ids = set(countries["id"].dropna())
        for row, blocs in countries["blocs"].items():
            for bloc in (blocs or "").split(";"):
                if not bloc:
                    continue
                if not _BLOC.match(bloc):
                    self.add("countries", row, "blocs", f"bloc {bloc!r} must be upper case "
                             "letters and digits (e.g. EU27)")
                elif bloc in country_ids:
                    self.add("countries", row, "blocs", f"bloc {bloc!r} is also a country id")

    def check_supply(self) -> None:
        supply = self.typed["supply"]
        if supply.empty:
            return
        country_ids = set(self.typed["countries"]["id"].dropna())
        for row, supplier, site in zip(supply.index, supply["supplier"], supply["site"]):
            if supplier in country_ids and site and supplier != site:
                self.add("supply", row, "site", f"country supplier {supplier} cannot produce "
                         f"in {site}; a country row's site is the country itself")
        # firm rows and a country row for the same component and site count supply twice
        is_country = supply["supplier"].isin(country_ids)
        by_key: dict[tuple, dict[bool, int]] = defaultdict(dict)
        for row, comp, site, ctry in zip(supply.index, supply["component"], supply["site"],
                                         is_country):
            by_key[(comp, site)].setdefault(bool(ctry), row)
        for (comp, site), kinds in by_key.items():
            if len(kinds) == 2:
                self.add("supply", max(kinds.values()), "supplier",
                         f"{comp} at site {site} has both firm rows and a country row (rows "
                         f"{min(kinds.values())} and {max(kinds.values())}); that counts the "
                         "same supply twice, keep one kind")
        # shares summing well above 1
        sums = supply.groupby("component", dropna=True)["share"].agg(["sum", "count"])
        sums = sums[(sums["count"] > 0) & (sums["sum"] > SHARE_WARNING)]
        for comp, total in sums["sum"].items():
            rows = supply.index[supply["component"] == comp]
            severity = "error" if total > SHARE_ERROR else "warning"
            extra = "" if severity == "error" else "; shares are normalised to 1"
            self.add("supply", int(rows[0]), "share", f"shares of {comp} sum to "
                     f"{total:.3g} (rows {', '.join(map(str, rows))}){extra}", severity)

    def check_consumption(self) -> None:
        cons = self.typed["consumption"]
        if cons.empty:
            return
        sums = cons.groupby("component", dropna=True)["share"].sum()
        for comp, total in sums.items():
            if total <= SHARE_WARNING:
                continue
            rows = cons.index[cons["component"] == comp]
            severity = "error" if total > SHARE_ERROR else "warning"
            self.add("consumption", int(rows[0]), "share", f"consumption shares of {comp} sum "
                     f"to {total:.3g} (rows {', '.join(map(str, rows))}); they are shares of "
                     "world consumption and cannot exceed 1", severity)

    def check_capital(self) -> None:
        comps = self.typed["components"]
        for row, cid, share in zip(comps.index, comps["id"], comps["chain_share"]):
            if share == 0:
                given = self._as_written("components", row, "chain_share")
                m = _FRACTION.fullmatch(given)
                if m is not None and Decimal(m.group(1)) != 0:
                    given += ", too small for a number to hold (it reads as 0)"
                self.add("components", row, "chain_share", f"chain_share of {cid} is {given}: "
                         "give the share the chain uses (above 0), or leave it empty for all "
                         "of it")
        renew = comps["renewal_days"].notna()
        for row, cid, kind in zip(comps.index[renew], comps["id"][renew], comps["kind"][renew]):
            if kind != "equipment":
                self.add("components", row, "renewal_days", f"{cid} has renewal_days but is "
                         f"kind {kind}; renewal_days makes a component capital equipment (an "
                         "installed base), which only suits equipment", "warning")
        missing = sorted(comps.loc[(comps["kind"] == "equipment") & ~renew, "id"].dropna())
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                               if len(missing) > 5 else "")
            self.add("components", None, "renewal_days", f"{len(missing)} equipment "
                     f"component(s) have no renewal_days ({shown}): they are treated as "
                     "consumables, so a supply cut stops their users at once instead of "
                     "eroding an installed base", "warning")

    def check_requires(self) -> None:
        from semigraph.engine.compiled import MAX_DEPTH, topological_generations

        req = self.typed["requires"]
        pairs = [(inp, comp) for comp, inp in zip(req["component"], req["input"])
                 if comp is not None and inp is not None]
        try:  # the usual case, without networkx; only a cycle needs naming
            generations = topological_generations({n for p in pairs for n in p},
                                                  [p[0] for p in pairs], [p[1] for p in pairs])
        except ValueError:
            pass
        else:
            if len(generations) > MAX_DEPTH:  # the engine refuses to simulate it
                end = generations[-1][0]
                row = int(req.index[req["component"] == end][0])
                self.add("requires", row, "component", f"requirement chains run "
                         f"{len(generations):,} levels deep, ending at {end}; the engine "
                         f"simulates at most {MAX_DEPTH} levels (each day walks them one at a "
                         "time) and refuses this dataset for what-ifs, sweeps and spof",
                         "warning")
            return
        import networkx as nx

        graph = nx.DiGraph()
        for row, comp, inp in zip(req.index, req["component"], req["input"]):
            if comp is not None and inp is not None:
                graph.add_edge(inp, comp, row=row)
        for scc in nx.strongly_connected_components(graph):
            if len(scc) == 1 and not graph.has_edge(*(2 * tuple(scc))):
                continue
            cycle = nx.find_cycle(graph.subgraph(scc), source=min(scc))  # same start each run
            # edges point input -> component; read the cycle as "A requires B requires ..."
            nodes = [v for _, v in cycle][::-1]
            nodes.append(nodes[0])
            rows = sorted(graph.edges[u, v]["row"] for u, v in cycle)
            self.add("requires", rows[0], "input", "requirement cycle: "
                     + " requires ".join(nodes) + f" (rows {', '.join(map(str, rows))}); "
                     "requirements must be acyclic")

    def check_ties(self) -> None:
        """The tied reading's parameters: a stock spread within its normal cover, one maker
        input per part, needed alone (not an alternative) and not capital equipment; stocks
        that are unknown are read as 0 days, which the results say."""
        comps = self.typed["components"]
        low, stock = comps["stock_days_min"], comps["stock_days"]
        for row in comps.index[low.notna()]:
            cid = comps.at[row, "id"]
            if pd.isna(stock[row]):
                self.add("components", row, "stock_days_min", f"{cid} has stock_days_min but "
                         "no stock_days: give the normal cover the spread runs around")
            elif low[row] > stock[row]:
                self.add("components", row, "stock_days_min", f"stock_days_min of {cid} "
                         f"({low[row]:g}) is above its stock_days ({stock[row]:g}): the "
                         "thinnest buyers cannot hold more than the average")
        consumable = comps["renewal_days"].isna()
        unknown = sorted(comps.loc[stock.isna() & consumable, "id"].dropna())
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more"
                                               if len(unknown) > 5 else "")
            self.add("components", None, "stock_days", f"{len(unknown)} component(s) have no "
                     f"stock_days ({shown}): they are read as 0 days of stock, so they go "
                     "short the day their supply does; results that rest on them say so",
                     "warning")
        req = self.typed["requires"]
        sup = self.typed["supply"]
        firms = set(self.typed["firms"]["id"])
        makers = set(req.loc[req["maker"].fillna(False).astype(bool), "input"])
        for row in sup.index[sup["captive"].fillna(False).astype(bool)]:
            comp, supplier = sup.at[row, "component"], sup.at[row, "supplier"]
            if supplier not in firms:
                self.add("supply", row, "captive", f"{comp} row of {supplier} is marked "
                         f"captive, but {supplier} is not a firm: a captive row serves its own "
                         "firm's rows downstream, so its supplier must be a firm")
            elif comp in makers:
                self.add("supply", row, "captive", f"{comp} row of {supplier} is marked "
                         f"captive, but {comp} is a maker input: a part already draws on its "
                         "own firm's rows of its maker input (engine README 4.5); drop the "
                         "mark")
        capital = set(comps.loc[~consumable, "id"])
        seen: dict[str, int] = {}
        for row in req.index[req["maker"].fillna(False).astype(bool)]:
            comp, inp = req.at[row, "component"], req.at[row, "input"]
            if comp in seen:
                self.add("requires", row, "maker", f"{comp} names a second maker input ({inp}; "
                         f"the first is on row {seen[comp]}): a part is tied to one maker")
                continue
            seen[comp] = row
            if isinstance(req.at[row, "group"], str) and req.at[row, "group"]:
                self.add("requires", row, "maker", f"the maker input {inp} of {comp} is one of "
                         "a group of alternatives: a maker input must be needed on its own")
            if inp in capital:
                self.add("requires", row, "maker", f"the maker input {inp} of {comp} is "
                         "capital equipment, whose users see an installed base, not a maker")

    def check_uncertainty(self) -> None:
        """Ranges of figures (``uncertainty``): each names a figure that is given, holds it
        (low <= figure <= high) within the column's allowed values, and leaves a component's
        shares feasible; where a dataset gives ranges, estimated figures without one are
        warned of."""
        from semigraph.model.uncertainty import COLUMNS, figure_key, figures

        unc = self.typed["uncertainty"]
        if unc.empty:
            return
        figs = figures(self.typed)
        at = {(t, k, c): (v, r) for t, k, c, v, r in
              _columns(figs, "table", "key", "column", "value", "row")}
        row_of = {t: dict(zip(figure_key(t, self.typed[t]), self.typed[t].index))
                  if len(self.typed[t]) else {} for t in COLUMNS}
        keys = {t: set(row_of[t]) for t in COLUMNS}
        file = {t: self.raw.tables[t].file if t in self.raw.tables else f"{t}.csv"
                for t in COLUMNS}
        lows: dict[tuple[str, str], float] = {}  # (table, key of the share's row) -> low
        for row, table, key, column, low, high in _columns(unc, "table", "key", "column", "low",
                                                           "high", index=True):
            if table is None or key is None or column is None:
                continue  # reported where it was parsed
            if column not in COLUMNS[table]:
                self.add("uncertainty", row, "column", f"{column} is not a figure of {table}: "
                         f"a range in {table} is for {' or '.join(COLUMNS[table])}")
                continue
            if key not in keys[table]:
                shape = {"supply": "component/supplier/site", "components": "id",
                         "consumption": "component/country"}[table]
                self.add("uncertainty", row, "key", f"{key!r} names no row of {file[table]} "
                         f"(a {table} key is written {shape})" + _suggest(key, keys[table]))
                continue
            if (table, key, column) not in at:
                if self._as_written(table, row_of[table][key], column) not in ("", "nan",
                                                                                 "None"):
                    continue  # written but not a figure: reported where it was parsed
                self.add("uncertainty", row, "column", f"{column} of {key} is empty in "
                         f"{file[table]}: a range is given around a figure; give the figure "
                         "or remove the range")
                continue
            value, figure_row = at[(table, key, column)]
            if pd.isna(low) or pd.isna(high):
                continue  # reported where it was parsed
            where = f"{file[table]} row {figure_row}"
            bounds = next(c for c in columns(table) if c.name == column)
            floor = bounds.min if bounds.min is not None else 0.0
            for name, v in (("low", low), ("high", high)):
                if v < floor or (bounds.max is not None and v > bounds.max) or (
                        column == "chain_share" and v == 0):
                    allowed = (f"{floor:g}..{bounds.max:g}" if bounds.max is not None
                               else f"{floor:g} or more")
                    if column == "chain_share":
                        allowed = "above 0, at most 1"
                    self.add("uncertainty", row, name, f"{name} {v:g} is outside the values "
                             f"{column} can take ({allowed})")
            if low > high:
                self.add("uncertainty", row, "low", f"low {low:g} is above high {high:g}")
            if low > value:
                self.add("uncertainty", row, "low", f"low {low:g} is above the figure it "
                         f"ranges, {column} {value:g} of {key} ({where}): a range holds its "
                         "figure")
            if value > high:
                self.add("uncertainty", row, "high", f"high {high:g} is below the figure it "
                         f"ranges, {column} {value:g} of {key} ({where}): a range holds its "
                         "figure")
            if column == "share":  # a low above its figure is reported above, not twice
                lows[(table, key)] = min(low, value)
        self._check_feasible(unc, figs, lows)
        self._warn_unranged(unc, figs)

    def _check_feasible(self, unc: pd.DataFrame, figs: pd.DataFrame,
                        lows: dict[tuple[str, str], float]) -> None:
        """Shares of a component (supply or consumption) at their lows, ranged rows at their
        low and the others at their figure, must sum to 1 or less: otherwise no draw within
        the ranges adds up. A thinnest stock cover's range must start at or below the normal
        cover's (ranged or not)."""
        shares = figs[figs["column"] == "share"]
        first = {}
        for row, t, k, c in _columns(unc, "table", "key", "column", index=True):
            if c == "share" and (t, k) in lows:
                first.setdefault((t, k.split("/")[0]), row)
        totals: dict[tuple[str, str], float] = defaultdict(float)  # one pass, any size
        for table, key, v in _columns(shares, "table", "key", "value"):
            if (table, key.split("/")[0]) in first:
                totals[(table, key.split("/")[0])] += lows.get((table, key), v)
        for (table, comp), row in sorted(first.items(), key=lambda x: x[1]):
            total = totals[(table, comp)]
            if total > 1 + 1e-9:
                what = "supply" if table == "supply" else "consumption"
                self.add("uncertainty", row, "low", f"at their lows the {what} shares of "
                         f"{comp} sum to {total:.4g} (ranged rows at their low, the others at "
                         "their figure): no draw within the ranges adds up to 1 or less; "
                         "lower the lows")
        comp = figs[figs["table"] == "components"]
        value = dict(zip(_columns(comp, "key", "column"), comp["value"].tolist()))
        ranged = {(k, c): (lo, r) for r, t, k, c, lo in
                  _columns(unc, "table", "key", "column", "low", index=True)
                  if t == "components" and c in ("stock_days", "stock_days_min")}
        for (key, column), (low, row) in ranged.items():
            if column != "stock_days_min" or pd.isna(low) or (key, "stock_days") not in value:
                continue
            stock_low = ranged.get((key, "stock_days"), (value[(key, "stock_days")], None))[0]
            if not pd.isna(stock_low) and low > stock_low:
                self.add("uncertainty", row, "low", f"the thinnest cover of {key} starts at "
                         f"{low:g} days, above the lowest normal cover its stock_days can take "
                         f"({stock_low:g}): the thinnest buyers cannot hold more than the "
                         "average")

    def _warn_unranged(self, unc: pd.DataFrame, figs: pd.DataFrame) -> None:
        """One warning per table and column for estimated figures without a range."""
        have = set(_columns(unc, "table", "key", "column"))
        est = figs[figs["estimated"]]
        bare = est[[(t, k, c) not in have for t, k, c in
                    _columns(est, "table", "key", "column")]]
        for (table, column), g in bare.groupby(["table", "column"], sort=False):
            shown = ", ".join(g["key"][:5]) + (f" and {len(g) - 5} more" if len(g) > 5 else "")
            self.add(table, int(g["row"].iloc[0]), column, f"{len(g)} estimated {column} "
                     f"figure(s) have no range in uncertainty ({shown}): a draw within the "
                     "ranges holds them at their value", "warning")

    def check_source_urls(self) -> None:
        """Addresses must be web or DOI links: a ``javascript:`` or ``file:`` address would
        become a live link in the HTML report."""
        sources = self.typed["sources"]
        for row, url in zip(sources.index, sources["url"]):
            if isinstance(url, str) and not _URL.match(url):
                self.add("sources", row, "url", f"{url[:60]!r} is not a web address: write "
                         "http://..., https://... or doi:...")

    def run(self) -> None:
        self.check_columns_and_parse()
        self.check_duplicates()
        self.check_country_codes()
        self.check_namespace()
        self.check_references()
        self.check_blocs()
        self.check_supply()
        self.check_consumption()
        self.check_capital()
        self.check_requires()
        self.check_ties()
        self.check_uncertainty()
        self.check_source_urls()


def _columns(frame: pd.DataFrame, *names: str, index: bool = False):
    """The rows of some columns as tuples of Python values (the row label first with
    ``index``): iterating lists is far faster than iterating a pandas column."""
    cols = [frame[n].tolist() for n in names]
    return zip(frame.index.tolist(), *cols) if index else zip(*cols)


def _empty(name: str) -> pd.DataFrame:
    return _typed_frame(name, {c.name: [] for c in columns(name)}, [])


_DTYPES = {"number": "float64", "fraction": "float64", "integer": "Int64", "boolean": "boolean"}


def _typed_frame(name: str, data: dict[str, list], rows: list[int]) -> pd.DataFrame:
    out = {}
    for col in columns(name):
        dtype = _DTYPES.get(col.type, object)
        values = data[col.name]
        if dtype == "float64":
            values = [math.nan if v is None else v for v in values]
        out[col.name] = pd.Series(values, index=rows, dtype=dtype)
    return pd.DataFrame(out, index=pd.Index(rows, name="row"))


def validate(raw: RawDataset) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Type the tables of ``raw`` and check every rule.

    Returns the typed tables (indexed by spreadsheet row) and all problems found, errors and
    warnings alike.
    """
    checker = _Checker(raw)
    if any(p.severity == "error" for p in raw.problems):
        # a table that cannot be read makes every reference to it look wrong: report what is
        # wrong within each file, not across them
        checker.check_columns_and_parse()
        return checker.typed, checker.problems
    checker.run()
    return checker.typed, checker.problems
