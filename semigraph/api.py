"""The Python API: a loaded :class:`Network` with the analyses as methods, and the
:class:`Result` tables they return.

>>> import semigraph
>>> net = semigraph.load()
>>> res = net.whatif("CHN")
>>> res.table.loc[0, "stage"]
'end_use'

The command line is a thin layer over exactly these calls; the library prints nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from semigraph._version import __version__
from semigraph.engine.scenario import Disruption, Scenario, read_scenario
from semigraph.errors import ScenarioError, SemigraphError, UnknownUnitError
from semigraph.model.model import Model
from semigraph.model.model import load as _load_model

__all__ = ["GapsResult", "Network", "Result", "SweepResult", "WarningResult", "WhatIfResult",
           "import_cset", "load", "read_result_meta", "validate"]

UnitLike = str | Disruption
#: Whose supply the observatory's commands (``indicators``, ``warn``) report unless told: the
#: Netherlands, whose ministry and National Materials Observatory they are written for. The
#: simulations (``whatif``, ``run``, ``spof``, ``sweep``) keep the model's default, the rest of
#: the world outside the stopping countries (engine README 4.3).
OBSERVATORY_PERSPECTIVE = "NLD"


@dataclass(eq=False)
class Result:
    """A result table with what it was computed from.

    Attributes
    ----------
    kind : str
        The analysis: ``whatif``, ``spof``, ``concentration``, ``stockpile``, ``backtest``,
        ``indicators``, ``dependency_matrix`` or ``sweep``.
    table : pandas.DataFrame
        One row per record, with the columns the analysis documents (the same columns and
        types in CSV, JSON, Parquet and XLSX).
    meta : dict
        The dataset's name and version, the semigraph version, the analysis and its
        parameters (and the scenario, for a what-if): written with the table as Parquet
        schema metadata, an ``about`` sheet in XLSX, and the envelope of ``to_json(meta=True)``.
    title, notes :
        The heading and the reading notes the command line prints with the table.
    citations : pandas.DataFrame or None
        The dataset's sources the rows cite (``id``, ``publisher``, ``title``, ``year``,
        ``url``, ``kind``, ``note``; an id the dataset does not list keeps only its id), for
        results whose rows name sources (``whatif``, ``backtest``, ``indicators``,
        ``warn``); written as the ``sources`` sheet of an XLSX file. ``None`` for the others.
    """

    kind: str
    table: pd.DataFrame
    meta: dict = field(default_factory=dict)
    title: str = ""
    notes: tuple[str, ...] = ()
    citations: pd.DataFrame | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.kind}: {len(self.table)} rows; "
                f"dataset {self.meta.get('dataset')} {self.meta.get('dataset_version')}>")

    def to_file(self, path: str | Path, *, format: str | None = None,
                force: bool = False) -> Path:
        """Write the table (csv, json, parquet or xlsx; from the suffix when not given) with
        its metadata, atomically. ``json`` is the envelope ``{"meta": ..., "rows": [...]}``;
        ``xlsx`` adds the ``about`` sheet and, where the rows cite sources, a ``sources``
        sheet (:mod:`semigraph.io.sheets`).

        Raises
        ------
        OutputError
            The suffix names no format (``.xls``, ``.xlsx`` mistyped, none) and ``format`` is
            not given, or the file exists and ``force`` is not given.
        """
        from semigraph.io.write import format_for, write_result

        fmt = format_for(str(path), format)
        write_result(self.table, fmt=fmt, output=str(path), force=force, meta=self.meta,
                     title=self.title, notes=list(self.notes), json_meta=True,
                     sources=self.citations)
        return Path(path)

    def to_json(self, *, meta: bool = False) -> str:
        """The rows as a JSON array, or with ``meta`` the envelope ``{"meta", "rows"}``."""
        from semigraph.io.write import json_text

        return json_text(self.table, meta=self.meta if meta else None)

    def _repr_html_(self) -> str:
        from semigraph.render.notebook import result_html

        return result_html(self)

    def plot(self, components: Sequence[str] | None = None, *, path: str | Path | None = None,
             ax=None, force: bool = False):
        """Supply over days in the three readings, for a ``timeline`` result (the long table
        of :meth:`WhatIfResult.timelines`): see :meth:`WhatIfResult.plot`.

        Other results have no chart of their own (a ranking or a list of sets reads best as
        its table): they raise ``TypeError``; ``result.table.plot(...)`` draws any column.
        """
        if self.kind != "timeline":
            raise TypeError(f"a {self.kind} result has no chart of its own; what-if results "
                            "draw supply over days (WhatIfResult.plot, or .timelines().plot()), "
                            f"and result.table.plot(...) draws any column of a {self.kind} "
                            "table")
        t = self.table
        series = {r: t[t["reading"] == r].pivot(index="day", columns="component",
                                                   values="supply")
                  for r in ("pooled", "high", "tied")}
        if components is None:  # the four that lose most supply (pooled), as in the table
            lost = (1.0 - series["pooled"]).sum().sort_values(ascending=False, kind="stable")
            low = t.groupby("component")["supply"].min()
            components = [c for c in lost.index if low[c] < 1.0][:4]
        scen = self.meta.get("scenario") or {}
        units = ", ".join(d["unit"] for d in scen.get("disruptions") or [])
        title = scen.get("title") or self.title
        if title == units and self.meta.get("disruptions"):
            title = "What if: " + "; ".join(self.meta["disruptions"])
        return _draw(series, components, title=title,
                     subtitle=_seen_from(self.meta), path=path, ax=ax, force=force)


@dataclass(eq=False, repr=False)
class WhatIfResult(Result):
    """A what-if :class:`Result` with its scenario and the daily series.

    Attributes
    ----------
    scenario : Scenario
    timeline : pandas.DataFrame
        Delivered supply per day as a share of normal, seen from the perspective: rows are
        days ``0..horizon``, columns components (every user of an input rationed alike; its
        lowest value per column is ``availability``).
    timeline_high : pandas.DataFrame
        The same with the chain served first (``availability_high``).
    timeline_tied : pandas.DataFrame
        The same with buyers tied to their supplier until they qualify another
        (``availability_tied``; engine README 4.5).
    """

    scenario: Scenario | None = None
    timeline: pd.DataFrame | None = None
    timeline_high: pd.DataFrame | None = None
    timeline_tied: pd.DataFrame | None = None

    def timelines(self, components: Sequence[str] | None = None) -> Result:
        """The daily series of every reading as one long table, for a file or a chart.

        Columns ``day``, ``component``, ``reading`` (``pooled``: every user rationed alike;
        ``high``: the chain served first; ``tied``: buyers tied to their supplier until they
        qualify another) and ``supply`` (delivered supply as a share of normal, seen from the
        perspective). ``components`` limits the rows (default: the components whose supply
        falls below 1 in some reading). The lowest ``supply`` per component and reading is
        the table's ``availability``, ``availability_high`` or ``availability_tied``.
        """
        series = {"pooled": self.timeline, "high": self.timeline_high,
                  "tied": self.timeline_tied}
        if components is None:
            low = pd.concat([f.min() for f in series.values()], axis=1).min(axis=1)
            components = [c for c in self.table["component"] if low[c] < 1.0]
        unknown = [c for c in components if c not in self.timeline.columns]
        if unknown:
            raise UnknownUnitError(f"not a component of this result: {', '.join(unknown)}")
        parts = []
        for reading, frame in series.items():
            long = frame[list(components)].stack().rename("supply").reset_index()
            long.insert(2, "reading", reading)
            parts.append(long)
        order = {r: i for i, r in enumerate(series)}
        table = (pd.concat(parts, ignore_index=True)
                 .sort_values(["component", "reading", "day"], kind="stable",
                              key=lambda col: col.map(order) if col.name == "reading" else col)
                 .reset_index(drop=True))
        table["component"] = table["component"].astype(str)
        return Result("timeline", table[["day", "component", "reading", "supply"]],
                      {**self.meta, "analysis": "timeline"}, title=f"Daily supply: {self.title}")

    def plot(self, components: Sequence[str] | None = None, *, path: str | Path | None = None,
             ax=None, force: bool = False):
        """Supply over days of each component in the three readings (a panel each).

        The pooled reading (every user rationed alike, the lower bound) and the chain served
        first (the upper bound) with the range between them shaded; the tied reading
        (buyers tied to their supplier until they qualify another) as a line of its own;
        the 0.99 line below which a component is short, and the first day short in the
        pooled and the tied reading marked. Days on x, supply as a share of normal (0..1)
        on y, the scenario and the perspective in the title (engine README 4.1, 4.2, 4.5;
        :mod:`semigraph.render.charts`).

        Parameters
        ----------
        components : sequence of str, optional
            One panel each. Default: the end-use products that lose supply in some
            reading, most lost days first, at most four (where none does, the other
            components that lose supply).
        path : str or Path, optional
            Also write the chart there, as PNG (8 x 4.5 inches at 150 dpi for one panel: a
            slide), SVG or PDF by the suffix; atomically, an existing file only with
            ``force``.
        ax : matplotlib Axes, optional
            Draw one component into this Axes (with its legend) and return the Axes.

        Returns
        -------
        matplotlib.figure.Figure
            Made through ``matplotlib.pyplot`` (so a notebook shows it, as pandas' ``.plot``
            does) unless ``path`` is given: then a figure off pyplot, on the Agg canvas.
            With ``ax``, the Axes.
        """
        series = {"pooled": self.timeline, "high": self.timeline_high,
                  "tied": self.timeline_tied}
        title, subtitle = _chart_headings(self)
        return _draw(series, components, title=title, subtitle=subtitle,
                     names=dict(zip(self.table["component"], self.table["name"])),
                     table=self.table, path=path, ax=ax, force=force, bands=_bands(self))


def _bands(res: WhatIfResult) -> dict | None:
    """Component -> (p05, p95, draws) of the pooled lowest day, where the result carries
    uncertainty bands."""
    t = res.table
    info = t.attrs.get("uncertainty") or (res.meta or {}).get("uncertainty")
    if not info or "availability_p05" not in t.columns:
        return None
    return {c: (float(a), float(b), int(info["draws"]))
            for c, a, b in zip(t["component"], t["availability_p05"], t["availability_p95"])}


def _chart_headings(res: WhatIfResult) -> tuple[str, str]:
    """A what-if chart's heading (the scenario's title, else "What if: " and its
    disruptions) and second line (:func:`_seen_from`)."""
    title = (res.scenario.title if res.scenario is not None and res.scenario.title
             else "What if: " + "; ".join(res.meta.get("disruptions") or [res.title]))
    return title, _seen_from(res.meta)


def _seen_from(meta: dict) -> str:
    """The chart's second heading line: the disruptions where the scenario has a title of its
    own, the perspective and the horizon."""
    scen = meta.get("scenario") or {}
    units = ", ".join(d["unit"] for d in scen.get("disruptions") or [])
    titled = scen.get("title") and scen.get("title") != units
    parts = ["; ".join(meta["disruptions"])] if titled and meta.get("disruptions") else []
    if meta.get("perspective"):
        parts.append(f"seen from {meta['perspective']}")
    if scen.get("horizon") is not None:
        parts.append(f"horizon {scen['horizon']} days")
    return "; ".join(parts)


def _draw(series, components, *, title, subtitle, names=None, table=None, path=None, ax=None,
          force=False, bands=None):
    """Draw (and with ``path`` write) a supply chart; see :meth:`WhatIfResult.plot`."""
    from semigraph.render.charts import chart_format, supply_chart, write_chart

    if path is not None:
        if ax is not None:
            raise ValueError("give path or ax, not both: with ax the chart is part of your "
                             "figure (save that figure)")
        chart_format(path)  # a bad suffix fails before anything is drawn
        from semigraph.io.write import check_output

        check_output(path, force=force)
    if isinstance(components, str):
        components = [components]
    out = supply_chart(series, components, title=title, subtitle=subtitle, names=names,
                       table=table, ax=ax, pyplot=path is None and ax is None, bands=bands)
    if path is not None:
        write_chart(out, path, force=force)
    return out


@dataclass(eq=False, repr=False)
class WarningResult(Result):
    """An early warning: ``table`` the products hit by the day they go short, ``firms`` the
    firms downstream, and a one-page briefing as ``markdown()`` or ``html()``."""

    warning: object = None

    @property
    def firms(self) -> pd.DataFrame:
        return self.warning.firms

    def markdown(self, chart: str | None = None) -> str:
        """The briefing as Markdown; ``chart``: the address of its chart's image (e.g. the
        file :meth:`plot` wrote with ``path``), linked under "Supply over days"."""
        from semigraph.findings.warn import warning_markdown

        return warning_markdown(self.warning, chart)

    def plot(self, components: Sequence[str] | None = None, *, path: str | Path | None = None,
             ax=None, force: bool = False):
        """Supply over days of the products the briefing draws (those that lose supply, in
        order of impact day, at most eight), a panel each; as :meth:`WhatIfResult.plot`."""
        from semigraph.findings.warn import warning_chart

        if isinstance(components, str):
            components = [components]
        if path is not None:
            from semigraph.io.write import check_output
            from semigraph.render.charts import chart_format, write_chart

            if ax is not None:
                raise ValueError("give path or ax, not both")
            chart_format(path)
            check_output(path, force=force)
            fig = warning_chart(self.warning, components)
            write_chart(fig, path, force=force)
            return fig
        return warning_chart(self.warning, components, ax=ax, pyplot=ax is None)

    def html(self) -> str:
        from semigraph.findings.warn import warning_html

        return warning_html(self.warning)


@dataclass(eq=False, repr=False)
class GapsResult(Result):
    """A :meth:`Network.gaps` ranking; :meth:`chart` draws it as a tornado chart."""

    def chart(self, fmt: str = "png", *, top: int = 10) -> bytes:
        """The first ``top`` figures as a tornado chart, PNG or SVG bytes."""
        from semigraph.render.tornado import tornado

        return tornado(self.table, headline=self.table.attrs["headline"], fmt=fmt, top=top,
                       title=self.title)


@dataclass(eq=False, repr=False)
class SweepResult(Result):
    """A sweep: ``table`` is the long table (scenario, component, fields), or the summary
    when the long table was streamed to ``meta["output"]``; ``summary`` has one row per
    scenario, worst first (lowest component, how many short, lost days)."""

    summary: pd.DataFrame = field(default_factory=pd.DataFrame)


def cited_sources(table: pd.DataFrame, sources: pd.DataFrame,
                  extra: Iterable[str] = ()) -> pd.DataFrame | None:
    """The rows of ``sources`` that ``table`` cites, by id: its ``sources`` column (a list of
    ids or ``;``-joined ids) and its ``source`` column, with ``extra`` ids. ``None`` when the
    table has neither column; an id missing from ``sources`` keeps a row with its id alone."""
    cols = [c for c in ("sources", "source") if c in table.columns]
    if not cols:
        return None
    ids = set(extra)
    for col in cols:
        for cell in table[col]:
            if isinstance(cell, (list, tuple, set)):
                ids.update(str(x) for x in cell if isinstance(x, str) and x)
            elif isinstance(cell, str):
                ids.update(x.strip() for x in cell.split(";") if x.strip())
    keep = ["id", "publisher", "title", "year", "url", "kind", "note"]
    found = sources[sources["id"].isin(ids)].reindex(columns=keep)
    missing = sorted(ids - set(found["id"]))
    if missing:
        found = pd.concat([found, pd.DataFrame({"id": missing}).reindex(columns=keep)],
                          ignore_index=True)
    return found.sort_values("id", kind="stable").reset_index(drop=True)


def _ranges(ranges):
    """Ranges given as a table, or a CSV file to read (None: the dataset's own)."""
    if isinstance(ranges, (str, Path)):
        from semigraph.engine.uncertainty import read_ranges

        return read_ranges(ranges)
    return ranges


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def scenario_record(scenario: Scenario) -> dict:
    """A scenario as plain data (for metadata and JSON)."""
    return {
        "title": scenario.title or scenario.label,
        "perspective": scenario.perspective,
        "horizon": scenario.horizon,
        "file": scenario.path.name if scenario.path else None,
        "disruptions": [{"unit": d.unit, "severity": d.severity, "scope": d.scope,
                         "to": list(d.to), "mode": d.mode, "duration_days": d.duration_days}
                        for d in scenario.disruptions],
    }


@dataclass(frozen=True, eq=False, repr=False)
class Network(Model):
    """A loaded dataset and the analyses on it.

    The tables (``countries``, ``firms``, ``components``, ``supply``, ``consumption``,
    ``requires``, ``sources``, ``uncertainty``) are pandas DataFrames; ``graph`` is the
    networkx form. Every analysis returns a :class:`Result` and prints nothing. Units are
    given as strings (``"CHN"``, ``"EU27"``, ``"asml"``, ``"nexperia@CHN"``,
    ``"supply:neon/UKR@UKR"``) or :class:`~semigraph.engine.scenario.Disruption` objects.
    """

    def __repr__(self) -> str:
        return (f"<Network {self.name} {self.version}: {len(self.components)} components, "
                f"{len(self.firms)} firms, {len(self.supply)} supply rows>")

    # --- scenarios ------------------------------------------------------------------------
    def scenario(self, *units: UnitLike, mode: str | None = None, severity: float = 1.0,
                 scope: str = "site", to: Sequence[str] = (), duration: float | None = None,
                 perspective: str | None = None, horizon: int = 365,
                 title: str = "") -> Scenario:
        """A checked :class:`Scenario` of ``units`` (strings take the keyword settings;
        :class:`Disruption` objects keep their own).

        Raises
        ------
        UnknownUnitError
            For a unit or region not in the dataset (with the closest ids).
        """
        if not units:
            raise ScenarioError("name at least one unit to cut (e.g. 'CHN')")
        if isinstance(to, str):
            to = (to,)
        disruptions = tuple(
            u if isinstance(u, Disruption) else
            Disruption(u, severity=severity, scope=scope, to=tuple(to), mode=mode,
                       duration_days=duration)
            for u in units)
        scen = Scenario(disruptions=disruptions, perspective=perspective, horizon=horizon,
                        title=title)
        self.check(scen)
        return scen

    def check(self, scenario: Scenario) -> Scenario:
        """Resolve every unit and region of ``scenario`` now, so a typo fails before any work
        is done; an error in a scenario file names the file and the disruption."""
        from semigraph.engine.compiled import compile_model
        from semigraph.engine.propagation import resolve

        where = f"{scenario.path}: " if scenario.path else ""

        def check(what: str, call) -> None:
            try:
                call()
            except SemigraphError as exc:
                raise type(exc)(f"{where}{what}: {exc}" if where else str(exc)) from None

        compiled = compile_model(self)
        for i, d in enumerate(scenario.disruptions, start=1):
            check(f"disruption {i}", lambda d=d: [resolve(self, compiled, d),
                                                  *map(self.members, d.to)])
        for obs in scenario.observed:
            if obs.perspective:
                check(f"observed {obs.component}", lambda o=obs: self.members(o.perspective))
        if scenario.perspective:
            check("perspective", lambda: self.members(scenario.perspective))
        if scenario.overrides:
            from semigraph.engine.scenario import with_overrides

            check("override", lambda: with_overrides(self, scenario.overrides))
        return scenario

    def _meta(self, kind: str, **params) -> dict:
        return {"dataset": self.name, "dataset_version": self.version,
                "dataset_path": str(self.path) if self.path else None,
                "semigraph_version": __version__, "analysis": kind, "created": _now(),
                **{k: v for k, v in params.items() if v is not None}}

    # --- what-if --------------------------------------------------------------------------
    def whatif(self, *units: UnitLike, mode: str | None = None, horizon: int = 365,
               perspective: str | None = None, to: Sequence[str] = (),
               duration: float | None = None, severity: float = 1.0, scope: str = "site",
               scenario: Scenario | str | Path | None = None,
               explain: bool = True, uncertainty: int | None = None, seed: int | None = 0,
               ranges: pd.DataFrame | str | Path | None = None,
               progress: Callable[..., None] | None = None) -> WhatIfResult:
        """What if ``units`` stop supplying? (engine README section 4.)

        Parameters
        ----------
        *units : str or Disruption
            Countries, blocs, firms, sites, components or supply rows; or give ``scenario``.
        mode : {"export", "outage"}, optional
            Default: export stop for countries and blocs, outage for the rest.
        horizon : int
            Days simulated (default 365).
        perspective : str, optional
            Consumer country or bloc seen from; default the rest of the world.
        to : sequence of str
            Destinations of an export ban.
        duration : float, optional
            The cuts end after this many days.
        severity : float
            Fraction of each unit's supply lost.
        scope : {"site", "control"}
            For a country: supply produced there, or also supply of the firms it controls.
        scenario : Scenario or path, optional
            A scenario (or a TOML file) instead of ``units``.
        explain : bool
            Trace bottleneck chains (default); ``False`` is faster.
        uncertainty : int, optional
            Also run this many draws of the dataset's uncertain figures (a seeded Monte
            Carlo over the ranges of its ``uncertainty`` table, engine README 4.8) and add
            each component's 5th, 50th and 95th percentile of every reading, of the first
            day short and of lost days (columns ``availability_p05`` ...; see
            :func:`semigraph.engine.uncertainty.band_columns`).
        seed : int, optional
            Seed of the draws (the same seed gives the same bands).
        ranges : pandas.DataFrame or path, optional
            Ranges to draw from instead of the dataset's (columns ``table, key, column,
            low, high, source, reason``; a path is read as CSV).
        progress : callable, optional
            ``progress(done, more=0)``, called as draws finish.

        Returns
        -------
        WhatIfResult
            ``table``: one row per component with the columns of
            :data:`semigraph.engine.whatif.COLUMNS`, end-use products first, then by lost
            days; ``timeline`` / ``timeline_high`` / ``timeline_tied``: delivered supply per
            day in each reading.
        """
        if scenario is not None:
            if units:
                raise ScenarioError("give units or a scenario, not both")
            scen = self.check(read_scenario(scenario) if isinstance(scenario, (str, Path))
                              else scenario)
        else:
            scen = self.scenario(*units, mode=mode, severity=severity, scope=scope, to=to,
                                 duration=duration, perspective=perspective, horizon=horizon)
        return self._whatif(scen, explain=explain, uncertainty=uncertainty, seed=seed,
                            ranges=ranges, progress=progress)

    def run(self, scenario: Scenario | str | Path, *, perspective: str | None = None,
            horizon: int | None = None, duration: float | None = None,
            uncertainty: int | None = None, seed: int | None = 0,
            ranges: pd.DataFrame | str | Path | None = None,
            progress: Callable[..., None] | None = None) -> WhatIfResult:
        """Run a saved scenario (a :class:`Scenario` or a TOML file), optionally with its
        perspective, horizon or every disruption's duration replaced; ``uncertainty``,
        ``seed``, ``ranges`` and ``progress`` as for :meth:`whatif`."""
        from dataclasses import replace

        scen = read_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
        changes: dict = {}
        if perspective:
            changes["perspective"] = perspective
        if horizon is not None:
            changes["horizon"] = horizon
        if duration is not None:
            changes["disruptions"] = tuple(replace(d, duration_days=duration)
                                           for d in scen.disruptions)
        return self._whatif(self.check(scen.with_(**changes)), uncertainty=uncertainty,
                            seed=seed, ranges=ranges, progress=progress)

    def _whatif(self, scen: Scenario, *, explain: bool = True, uncertainty: int | None = None,
                seed: int | None = 0, ranges: pd.DataFrame | str | Path | None = None,
                progress: Callable[..., None] | None = None) -> WhatIfResult:
        from semigraph.engine.propagation import evaluate
        from semigraph.engine.whatif import timeline, whatif

        ev = evaluate(self, scen, series=True)
        frame = whatif(self, scen, explain=explain, evaluation=ev)
        band_info = None
        if uncertainty:
            from semigraph.engine.uncertainty import whatif_bands

            if progress is not None:
                progress(0, uncertainty)
            band, band_info = whatif_bands(self, scen, uncertainty, seed=seed,
                                           ranges=_ranges(ranges), progress=progress)
            attrs = dict(frame.attrs)
            frame = frame.join(band, on="component")
            frame.attrs.update(attrs, uncertainty=band_info)
        meta = self._meta("whatif", scenario=scenario_record(scen),
                          perspective=frame.attrs.get("perspective"),
                          disruptions=frame.attrs.get("modes"), uncertainty=band_info)
        return WhatIfResult("whatif", frame, meta, title=scen.label, scenario=scen,
                            timeline=timeline(ev), timeline_high=timeline(ev, high=True),
                            timeline_tied=timeline(ev, reading="tied"),
                            citations=cited_sources(frame, self.sources))

    def backtest(self, paths: Iterable[str | Path] | None = None, *,
                 scenarios: Sequence[Scenario] | None = None) -> Result:
        """Run historical episodes (scenario files with ``[[observed]]`` entries, or
        ``scenarios``) and compare the model with what was observed."""
        from semigraph.engine.backtest import backtest, find_episodes

        if scenarios is None:
            paths = list(paths or ["queries"])
            scenarios = find_episodes(paths)
            if not scenarios:
                raise ScenarioError("no scenario with [[observed]] entries in "
                                    + ", ".join(map(str, paths)))
        for s in scenarios:
            self.check(s)
        frame = backtest(self, list(scenarios))
        meta = self._meta("backtest", episodes=frame.attrs.get("episodes"),
                          within=frame.attrs.get("within"),
                          episodes_within=frame.attrs.get("episodes_within"))
        return Result("backtest", frame, meta, title="Backtest: model against history",
                      citations=cited_sources(frame, self.sources))

    def gaps(self, scenario: Scenario | str | Path, *, components: Sequence[str] | None = None,
             top: int | None = None, ranges: pd.DataFrame | str | Path | None = None,
             progress: Callable[..., None] | None = None) -> GapsResult:
        """The uncertain figures ranked by how far each moves the scenario's headline: the
        research agenda of a scenario (engine README 4.8).

        Each figure of the uncertainty table on a path to the headline's products is set to
        the low and then the high end of its range, every other figure at its value (two runs
        per figure, batched); the headline is the mean over ``components`` (default: every
        end-use product) of their lowest daily supply, every user rationed alike. Figures off
        every path to those products are not listed.

        Returns
        -------
        Result
            One row per figure with the columns of
            :data:`semigraph.engine.uncertainty.COLUMNS`, largest swing first (the first
            ``top`` rows when given); ``table.attrs["headline"]`` is the headline with every
            figure at its value.
        """
        from semigraph.engine.propagation import evaluate
        from semigraph.engine.uncertainty import scenario_figures, swings

        scen = self.check(read_scenario(scenario) if isinstance(scenario, (str, Path))
                          else scenario)
        if components:
            units = [self.resolve(p) for p in components]
            for p, unit in zip(components, units):
                if unit.kind != "component":
                    raise ScenarioError(f"{p!r} is a {unit.kind}, not a component")
            products = sorted({u.id for u in units})
        else:
            products = sorted(self.components.loc[self.components["stage"] == "end_use", "id"])
        run_model, figs = scenario_figures(self, scen, _ranges(ranges))
        plain = scen.with_(overrides=())  # run_model has them
        ev = evaluate(run_model, plain, series=False)
        idx = [ev.compiled.index[p] for p in products]
        headline = float(ev.availability[idx, 0].mean())
        frame = swings(run_model, plain, figs, products, progress=progress)
        if top:
            frame = frame.head(top).reset_index(drop=True)
        what = (products[0] if len(products) == 1 else
                f"mean of {len(products)} " + ("end-use products" if not components
                                               else "components"))
        frame.attrs.update(headline=headline, headline_of=what, products=products)
        meta = self._meta("gaps", scenario=scenario_record(scen), headline=headline,
                          headline_of=products, top=top)
        return GapsResult("gaps", frame, meta,
                          title=f"Research gaps: {scen.label} (headline: lowest supply, {what})")

    # --- findings -------------------------------------------------------------------------
    def spof(self, targets: Sequence[str] | str = ("stage:end_use",), *,
             level: str = "country", order: int = 1, threshold: float = 0.5,
             measure: str = "headline", horizon: int = 365, max_sets: int | None = 500_000,
             max_minutes: float | None = 2.0,
             progress: Callable[..., None] | None = None) -> Result:
        """Minimal cut sets: every set of up to ``order`` units of ``level`` whose joint loss
        drives a target below ``threshold`` (exact; see
        :func:`semigraph.findings.cutsets.cut_sets` for the columns)."""
        from semigraph.findings.cutsets import cut_sets

        targets = [targets] if isinstance(targets, str) else list(targets)
        frame = cut_sets(self, targets, level=level, threshold=threshold, order=order,
                         measure=measure, horizon=horizon, max_sets=max_sets,
                         max_minutes=max_minutes, progress=progress)
        meta = self._meta("spof", targets=targets, level=level, order=order,
                          threshold=threshold, measure=measure, horizon=horizon)
        return Result("spof", frame, meta, title=f"Minimal cut sets ({level} level)")

    def sweep(self, level: str = "country", *, order: int = 1,
              targets: Sequence[str] | None = None, mode: str | None = None,
              severity: float = 1.0, duration: float | None = None, horizon: int = 365,
              perspective: str | None = None, measure: str = "headline",
              all_components: bool = False, monte_carlo: int | None = None,
              probability: float | dict[str, float] = 0.05, seed: int = 0,
              step: int | None = None, output: str | Path | None = None,
              format: str | None = None, force: bool = False,
              scheduler: str | None = None, workers: int | None = None,
              batch: int | None = None, max_scenarios: int | None = None,
              uncertainty: int | None = None,
              ranges: pd.DataFrame | str | Path | None = None,
              progress: Callable[..., None] | None = None) -> Result:
        """Cut every unit of ``level`` in turn (every ``order``-set, or ``monte_carlo``
        random draws), and report each scenario's availability of the end products (every
        component with ``all_components``).

        Returns the long table (``scenario``, with ``draw`` for Monte Carlo, ``component``,
        then the measure's fields: see :data:`semigraph.engine.sweep.FIELDS`). With
        ``output`` (``.parquet``, ``.csv``, ``.json`` or ``.xlsx``; ``format`` overrides the
        suffix) the table is streamed to that file a batch at a
        time and the result holds, instead, one summary row per scenario (its lowest
        component, how many are short, lost days). ``scheduler`` (a Dask address, or
        ``$DASK_SCHEDULER_ADDRESS``) or ``workers`` (a local Dask cluster of that many
        processes) run the batches on Dask; both need Dask (the ``distributed`` extra:
        ``pip install -e '.[distributed]'`` in the checkout).
        A sweep estimated to take more than an hour of work is refused before it starts
        (:class:`semigraph.engine.sweep.SweepTooLarge`, with the estimate) unless
        ``max_scenarios`` allows that many scenarios explicitly.

        ``uncertainty`` (a number of draws; headline measure, in process) runs every
        scenario under the same ``seed``-ed draws of the dataset's uncertain figures
        (``ranges``, a DataFrame or CSV path, instead of its ``uncertainty`` table) and adds
        to each row the 5th, 50th and 95th percentile of its readings over the draws
        (:func:`semigraph.engine.uncertainty.band_columns`; engine README 4.8), exactly
        those :meth:`whatif` gives for the scenario alone at ``step=1``. The draws are
        common to every scenario, so the difference of two scenarios is not noise. The
        limits above then count simulations (scenarios x draws); the summary gains the
        lowest component's ``lowest_p05`` and ``lowest_p95``. ``seed`` also seeds the
        Monte Carlo draws of disruptions, from a generator of their own.
        ``progress(done, more=0)`` is called once with the number of scenarios as ``more``,
        then with the number of scenarios of each finished batch as ``done``.
        """
        from semigraph.engine import sweep as sw
        from semigraph.errors import OutputError
        from semigraph.io.write import STREAM_SUFFIXES, format_for, write_stream

        fmt = format_for(str(output), format, suffixes=STREAM_SUFFIXES) if output else None
        plan = sw.plan_sweep(
            self, level=level, order=order, targets=targets, mode=mode, severity=severity,
            duration_days=duration, horizon=horizon, perspective=perspective,
            measure=measure, all_components=all_components, monte_carlo=monte_carlo,
            probability=probability, seed=seed, step=step or sw.STEP,
            max_scenarios=max_scenarios, uncertainty=uncertainty,
            ranges=_ranges(ranges) if uncertainty is not None else None)
        dask = bool(scheduler or workers or os.environ.get("DASK_SCHEDULER_ADDRESS"))
        if dask and plan.figure_draws is not None:
            raise ScenarioError(
                "--uncertainty runs in process only: drop --scheduler/--workers (and unset "
                "DASK_SCHEDULER_ADDRESS) for a sweep with uncertainty bands")
        meta = self._meta("sweep", **plan.record())
        if fmt == "xlsx":
            from semigraph.io.sheets import MAX_ROWS

            n = len(plan) * len(plan.components)
            if n > MAX_ROWS - 1:
                raise OutputError(
                    f"{output}: the sweep's table has {n:,} rows ({len(plan):,} scenarios x "
                    f"{len(plan.components):,} components), more than the {MAX_ROWS - 1:,} an "
                    "Excel sheet holds; write it as .parquet or .csv, or narrow the sweep")
        size = batch or sw.batch_size(self, plan)
        if progress is not None:
            progress(0, len(plan))
        summary = sw.Summary(plan)

        def chunks(run):
            for chunk in run:
                summary.add(chunk)
                yield chunk

        def produce():
            if dask:
                from semigraph.engine.distributed import cluster, dask_chunks

                with cluster(scheduler, workers) as client:
                    yield from dask_chunks(self, plan, client, size=size, progress=progress)
            else:
                yield from sw.sweep_chunks(self, plan, size=size, progress=progress)

        what = f"sets of {plan.order}" if plan.order > 1 else "single"
        title = (f"Sweep: {len(plan):,} scenarios "
                 + (f"(random draws of {level} units)" if plan.draws is not None
                    else f"({what} {level} units)")
                 + f", {plan.measure} measure"
                 + (f", bands over {uncertainty:,} draws of the uncertain figures"
                    if plan.figure_draws is not None else ""))
        if output is None:
            table = pd.concat(list(chunks(produce())), ignore_index=True)
            for col in ("scenario", "component"):  # as a file gives them back
                table[col] = table[col].astype(str)
            return SweepResult("sweep", table, meta, title=title, summary=summary.table())
        rows = write_stream(chunks(produce()), output, fmt=fmt, force=force, meta=meta)
        meta = {**meta, "output": str(output), "rows": rows}
        table = summary.table()
        return SweepResult("sweep", table, meta, title=title, summary=table)

    def spof_search_size(self, targets: Sequence[str] | str = ("stage:end_use",), *,
                         level: str = "country", order: int = 1) -> int:
        """The number of unit sets a :meth:`spof` search may screen (for progress bars)."""
        from semigraph.findings.cutsets import search_size

        targets = [targets] if isinstance(targets, str) else list(targets)
        return search_size(self, targets, level=level, order=order)

    def spof_check(self, targets: Sequence[str] | str = ("stage:end_use",), *,
                   level: str = "country", order: int = 1, max_sets: int | None = 500_000,
                   max_minutes: float | None = 2.0) -> None:
        """Raise :class:`semigraph.findings.cutsets.SearchTooLarge`, with the estimate, where
        :meth:`spof` would refuse the search; nothing is searched."""
        from semigraph.findings.cutsets import check_search

        targets = [targets] if isinstance(targets, str) else list(targets)
        check_search(self, targets, level=level, order=order, max_sets=max_sets,
                     max_minutes=max_minutes)

    def fault_tree(self, targets: Sequence[str] | str, *, level: str = "country") -> str:
        """The total-loss problem as an Open-PSA MEF fault tree (XML text)."""
        from semigraph.findings.mef import to_mef

        return to_mef(self, [targets] if isinstance(targets, str) else list(targets),
                      level=level)

    def concentration(self, *, by: str = "country", threshold: float = 0.65,
                      perspective: str | None = "EU27",
                      chokepoints_only: bool = False) -> Result:
        """HHI, CR1, CR3, top holder, chokepoints, policy bands and upstream exposure per
        component (:func:`semigraph.findings.concentration.concentration`)."""
        from semigraph.findings.concentration import concentration

        frame = concentration(self, by=by, threshold=threshold, perspective=perspective)
        if chokepoints_only:
            frame = frame[frame["chokepoint"] | frame["hidden_chokepoint"]]
            frame = frame.reset_index(drop=True)
        meta = self._meta("concentration", by=by, threshold=threshold,
                          perspective=frame.attrs.get("perspective", perspective))
        return Result("concentration", frame, meta, title=f"Concentration of supply by {by}")

    def dependency_matrix(self, *, stage: str = "end_use") -> Result:
        """Products of ``stage`` x countries: the share of each product's supply lost when
        that country's supply is lost for everyone (an outage, the world view; the static
        bound). The report's matrix is the export-stop reading of the same computation,
        :func:`semigraph.findings.concentration.upstream_exposure` with ``mode="export"``."""
        from semigraph.findings.concentration import dependency_matrix

        frame = dependency_matrix(self, stage=stage).reset_index()
        return Result("dependency_matrix", frame,
                      self._meta("dependency_matrix", stage=stage, reading="static bound"),
                      title=f"Dependency matrix (static bound): {stage} products x countries, "
                            "share lost")

    def stockpile(self, scenarios: Sequence[Scenario | str | Path] | None = None, *,
                  perspective: str | None = None, horizon: int = 730) -> Result:
        """Ranked strategic-stockpile candidates under ``scenarios`` (default: each
        chokepoint-holding country cut in full)."""
        from semigraph.findings.stockpile import stockpile

        scens = None
        if scenarios:
            scens = [self.check(read_scenario(s) if isinstance(s, (str, Path)) else s)
                     for s in scenarios]
        if perspective:
            self.members(perspective)
        frame = stockpile(self, scens, perspective=perspective, horizon=horizon)
        meta = self._meta("stockpile", perspective=perspective, horizon=horizon,
                          scenarios=frame.attrs.get("scenarios"))
        return Result("stockpile", frame, meta, title="Strategic-stockpile candidates")

    # --- the observatory ------------------------------------------------------------------
    def indicators(self, *, perspective: str = OBSERVATORY_PERSPECTIVE,
                   components: Sequence[str] | None = None) -> Result:
        """The observatory's indicator sheet per raw material and key component: global HHI
        and top holder, governance-weighted HHI (EU method), the perspective's import
        concentration and largest third-country share against the CRMA's 65% benchmark, EU
        list status, stock cover, end products and Dutch firms downstream, and sources
        (:func:`semigraph.findings.indicators.indicators` documents every column)."""
        from semigraph.findings.indicators import indicators

        frame = indicators(self, perspective=perspective, components=components)
        return Result("indicators", frame, self._meta("indicators", perspective=perspective),
                      title=f"Indicators, perspective {perspective}",
                      citations=cited_sources(frame, self.sources))

    def warn(self, measure: str | Scenario | Path, *, perspective: str | None = None,
             horizon: int = 365) -> WarningResult:
        """An early warning: which products and firms a measure hits, in what order and when.

        ``measure`` is a sentence such as ``"export licence on gallium from CHN"``, ``"ban on
        neon from RUS to EU27"`` or ``"outage at nexperia@CHN for 60 days"``
        (:func:`semigraph.findings.warn.parse_measure`), a scenario or a scenario file.
        ``perspective`` is whose supply the products show: as given, else the scenario's own,
        else :data:`OBSERVATORY_PERSPECTIVE` (NLD, as for :meth:`indicators`); ``"ROW"`` is
        the rest of the world outside the stopping countries (the simulations' default: use
        it when the measure is the Netherlands' own). The result's ``table`` lists the
        products by the day they go short, ``firms`` the firms downstream (Dutch ones
        flagged); ``markdown()`` and ``html()`` give a one-page briefing.
        """
        from semigraph.findings.warn import parse_measure, warning

        if isinstance(measure, Scenario):
            scen = self.check(measure)
        elif isinstance(measure, Path) or (isinstance(measure, str)
                                           and measure.endswith(".toml")):
            scen = self.check(read_scenario(measure))
        else:
            scen = self.check(parse_measure(measure, self))
        if perspective == "ROW":
            scen, perspective = scen.with_(perspective=None), None
        elif perspective is None and scen.perspective is None:
            perspective = OBSERVATORY_PERSPECTIVE
        w = warning(self, scen, perspective=perspective, horizon=horizon)
        meta = self._meta("warn", scenario=scenario_record(scen), perspective=w.perspective,
                          measures=list(w.measures))
        return WarningResult("warn", w.products, meta, title=scen.label, warning=w,
                             citations=cited_sources(w.products, self.sources,
                                                     extra=w.sources["id"]))

    # --- maps and reports -----------------------------------------------------------------
    def risk(self, result: WhatIfResult | Scenario | None = None):
        """Per-component figures a map shows (availability under a what-if result, or
        concentration without one)."""
        from semigraph.findings.risk import component_risk

        if isinstance(result, WhatIfResult):
            return component_risk(self, result.scenario, result=result.table)
        if isinstance(result, Scenario):
            return component_risk(self, self.check(result))
        return component_risk(self)

    def map(self, result: WhatIfResult | Scenario | None = None, *, countries: bool = False,
            target: str | None = None, stages: Sequence[str] = (), level: str = "auto",
            direction: str = "upstream", depth: int | None = None, max_nodes: int = 45):
        """A risk map as a ``graphviz.Digraph`` (write it with
        :func:`semigraph.render.write_map`, or show it in a notebook).

        ``result`` is a what-if result (or a scenario, run here); without one the map shows
        concentration. Single points of failure among the drawn components are marked.
        """
        from semigraph.render.graphviz_map import country_map, map_selection, risk_map

        risk = self.risk(result)
        if countries:
            return country_map(self, risk, stages=stages)
        sel = map_selection(self, risk, target=target, stages=stages, level=level,
                            direction=direction, depth=depth, max_nodes=max_nodes)
        spofs = {}
        if not sel.country_map:
            from semigraph.findings.risk import spof_suppliers

            spofs = spof_suppliers(self, sel.components, sel.targets)
        return risk_map(self, risk, spofs=spofs, target=target, stages=stages, level=level,
                        direction=direction, depth=depth, max_nodes=max_nodes)

    def report(self, scenarios: Sequence[Scenario | str | Path], path: str | Path, *,
               force: bool = False) -> Path:
        """Write one self-contained HTML report of ``scenarios`` to ``path``."""
        from semigraph.findings.risk import dependency_matrix
        from semigraph.render.report import Section, write_report

        sections = []
        for s in scenarios:
            res = self.whatif(scenario=s)
            sections.append(Section(res.scenario, res.table, self.map(res),
                                    series={"pooled": res.timeline, "high": res.timeline_high,
                                            "tied": res.timeline_tied}))
        cmap = None if sections else self.map(countries=True)
        return write_report(self, sections, dependency_matrix(self), path, country_map=cmap,
                            force=force)

    # --- the dataset ----------------------------------------------------------------------
    def info(self) -> dict:
        """Counts by kind, stage and platform, sources by kind, and the share weight that
        rests on publications."""
        from semigraph.model.summary import summary

        return summary(self)


def load(path: str | Path | None = None, *, strict: bool = False) -> Network:
    """Load and validate a dataset folder as a :class:`Network`.

    Parameters
    ----------
    path : str or Path, optional
        A folder of the tables as CSV or Parquet. ``None`` (default) loads the bundled
        semiconductor dataset (or the folder named by ``SEMIGRAPH_DATASET``).
    strict : bool
        Treat warnings (e.g. shares summing slightly above 1) as errors.

    Raises
    ------
    DatasetError
        Listing every problem found, each with file, row and column.

    Examples
    --------
    >>> import semigraph
    >>> net = semigraph.load()
    >>> net.graph.nodes["NLD"]["kind"]
    'country'
    """
    return _load_model(path, strict=strict, cls=Network)


def import_cset(source_dir: str | Path, output_dir: str | Path, *, force: bool = False,
                progress: Callable[[str], None] | None = None):
    """Convert the CSET/ETO "Advanced Semiconductor Supply Chain Dataset" files in
    ``source_dir`` into a semigraph dataset folder ``output_dir`` (see
    :func:`semigraph.importers.cset.import_cset`); returns the report with its repair log."""
    from semigraph.importers.cset import import_cset as run

    return run(source_dir, output_dir, force=force, progress=progress)


def import_trade(path: str | Path, *, component: str, hs: Sequence[str] | None = None,
                 importer: str | None = None, years: Sequence[int] | None = None,
                 weight: str = "value", output: str | Path | None = None,
                 force: bool = False, network: Network | None = None):
    """Country shares of ``component`` from bilateral trade flows (CEPII BACI or UN Comtrade
    CSV), streamed so a multi-gigabyte file never sits in memory.

    Parameters
    ----------
    path : str or Path
        The trade file.
    component : str
        The component the shares are for.
    hs : sequence of str, optional
        HS6 codes; default: the codes mapped to ``component`` in the shipped table
        ``datasets/hs-components.csv``.
    importer : str, optional
        A country or bloc (e.g. ``EU27``): also its imports by origin (``imports``: import
        dependency, flows between its members left out) and each country's share of world
        imports (``consumption``). ``supply`` is world exports by exporter either way.
    years : sequence of int, optional
        Years to count (default: all in the file).
    weight : {"value", "quantity"}
    output : str or Path, optional
        Write ``supply.csv``, ``sources.csv`` and, with ``importer``, ``consumption.csv`` and
        ``imports.csv`` into this folder.
    network : Network, optional
        Where bloc names are looked up (default: the bundled dataset).

    Returns
    -------
    TradeImport
        ``supply``, ``consumption`` and ``imports`` tables, the ``source`` row and a
        ``report`` (``report["shared_codes"]``: the codes that also carry other goods).
    """
    from semigraph.importers.trade import hs_codes_for, write_trade_import
    from semigraph.importers.trade import import_trade as run

    codes = list(hs) if hs else hs_codes_for(component)
    members = None
    if importer:
        members = list((network or load()).members(importer))
    result = run(path, hs=codes, component=component, importer_members=members,
                 importer_label=importer, years=years, weight=weight)
    if output is not None:
        write_trade_import(result, output, force=force)
    return result


def merge_dataset(imported: str | Path, dataset: str | Path, output: str | Path, *,
                  on_conflict: str = "error", force: bool = False):
    """Write ``output``: a copy of the dataset folder ``dataset`` with the tables of
    ``imported`` (a folder an importer wrote) merged in, validated, whole or not at all.

    Conflicts (rows of one key; supply and consumption rows of one component) are errors
    unless ``on_conflict`` is ``"replace"`` (the imported rows win) or ``"keep"`` (the
    dataset's rows stay); every row keeps its source id and ``merge-log.csv`` lists each
    imported row (see :func:`semigraph.io.merge.merge_dataset`).

    Returns
    -------
    MergeReport
        Rows per table and action, the log lines, the files left out and the merged
        dataset's validation warnings.
    """
    from semigraph.io.merge import merge_dataset as run

    return run(imported, dataset, output, on_conflict=on_conflict, force=force)


def validate(path: str | Path | None = None) -> tuple[str, list]:
    """Check a dataset folder (default: the bundled one) without loading it: every table
    against the schema, and ``datapackage.json`` (Frictionless) against the schema and the
    files.

    Returns
    -------
    folder : str
        The folder checked.
    problems : list of Problem
        Every problem found, sorted by file, row and column (errors and warnings).
    """
    from semigraph.errors import DatasetError
    from semigraph.io.read import read_folder
    from semigraph.model.model import default_dataset_path
    from semigraph.model.validate import validate as run_checks

    folder = str(path) if path is not None else str(default_dataset_path())
    from semigraph.io.package import check_package

    try:
        raw = read_folder(folder)
    except DatasetError as exc:
        problems = exc.problems
    else:
        _, problems = run_checks(raw)
        problems = [*problems, *check_package(raw.path, raw.meta, set(raw.tables),
                                              raw.tables)]
    return folder, sorted(problems, key=lambda p: (p.file, p.row or 0, p.column or ""))


def read_result_meta(path: str | Path) -> dict:
    """The metadata a result file carries (Parquet, XLSX or JSON envelope); ``{}`` if none."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        raw = (pq.read_schema(path).metadata or {}).get(b"semigraph")
        return json.loads(raw) if raw else {}
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return data.get("meta", {}) if isinstance(data, dict) else {}
    if suffix == ".xlsx":
        from semigraph.io.sheets import read_xlsx_meta

        return read_xlsx_meta(path)
    return {}
