"""Scenarios: disruptions, a perspective and a horizon; read from TOML files in ``queries/``."""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

from semigraph.errors import ScenarioError

__all__ = ["DEFAULT_HORIZON", "MEASURES", "MODES", "OVERRIDABLE", "Disruption", "Observation",
           "Override", "Scenario", "Source", "read_scenario", "with_overrides"]

DEFAULT_HORIZON = 365
SCOPES = ("site", "control")
MODES = ("export", "outage")
#: What an observation measured: deliveries of the component, or its production.
MEASURES = ("supply", "output")
#: Component parameters a scenario may set for its own episode.
OVERRIDABLE = ("stock_days", "stock_days_min", "ttr_days", "qualify_days")
#: What a scenario's [[output]] tables may ask `semigraph run` to write.
OUTPUT_KINDS_BY_COMMAND = ("whatif",)
#: The formats they may be written in, and the file suffixes that name them.
OUTPUT_FORMATS = ("csv", "json", "parquet", "xlsx", "table")
OUTPUT_FORMATS_BY_SUFFIX = {".csv": "csv", ".json": "json", ".parquet": "parquet",
                            ".xlsx": "xlsx", ".txt": "table"}


@dataclass(frozen=True)
class Disruption:
    """Loss of supply from one unit.

    Parameters
    ----------
    unit : str
        A unit id as :meth:`semigraph.Model.resolve` accepts it: a country (``CHN``), a bloc
        (``EU27``), a firm (``asml``), a firm's or a component's production in one country
        (``nexperia@CHN``, ``gallium@CHN``), a component (``euv-optics``) or one supply row
        (``supply:euv-optics/zeiss@DEU``).
    severity : float
        Fraction of the unit's supply that is lost, in (0, 1]; 1 is total loss.
    scope : {"site", "control"}
        For a country: ``site`` hits supply produced in the country; ``control`` also hits
        supply of firms the country controls, wherever produced.
    to : tuple of str
        Destinations (countries or blocs) of an export ban; empty means everyone.
    mode : {"export", "outage"} or None
        ``export`` stops the unit's supply to consumers outside the producing countries (its
        own consumers keep it); ``outage`` loses it for everyone. ``None`` (default): export
        for a country or bloc, outage for firms, sites, supply rows and components
        (engine README 4.3). A disruption with ``to`` is an export ban to those destinations.
    duration_days : float or None
        The disruption is active while day ``t < duration_days`` (a licence regime lifted,
        exemptions granted); ``None`` means for the whole horizon.
    """

    unit: str
    severity: float = 1.0
    scope: str = "site"
    to: tuple[str, ...] = ()
    mode: str | None = None
    duration_days: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.severity, (int, float)) or isinstance(self.severity, bool) \
                or not math.isfinite(self.severity) or not 0 <= self.severity <= 1:
            raise ScenarioError(f"severity of {self.unit} must be a number in [0, 1], "
                                f"not {self.severity!r}")
        if self.scope not in SCOPES:
            raise ScenarioError(f"scope of {self.unit} must be 'site' or 'control', "
                                f"not {self.scope!r}")
        if self.mode is not None and self.mode not in MODES:
            raise ScenarioError(f"mode of {self.unit} must be 'export' or 'outage', "
                                f"not {self.mode!r}")
        if self.mode == "outage" and self.to:
            raise ScenarioError(f"{self.unit}: a disruption with destinations (to) is an export "
                                "ban; mode 'outage' loses supply for everyone, drop one of them")
        d = self.duration_days
        if d is not None and (not isinstance(d, (int, float)) or isinstance(d, bool)
                              or not math.isfinite(d) or d < 0):
            raise ScenarioError(f"duration_days of {self.unit} must be a number of days >= 0, "
                                f"not {d!r}")
        object.__setattr__(self, "to", tuple(self.to))

    def __str__(self) -> str:
        text = self.unit
        if self.severity != 1:
            text += f" ×{self.severity:g}"
        if self.scope != "site":
            text += f" (scope {self.scope})"
        if self.mode:
            text += f" ({self.mode})"
        if self.to:
            text += " to " + "+".join(self.to)
        if self.duration_days is not None:
            text += f" for {self.duration_days:g} days"
        return text


@dataclass(frozen=True)
class Source:
    """A publication named in a scenario file itself rather than by id in the dataset."""

    publisher: str
    title: str
    year: int | None = None
    url: str | None = None

    @property
    def id(self) -> str:
        """A readable label: publisher and year."""
        return f"{self.publisher} {self.year}" if self.year else self.publisher


@dataclass(frozen=True)
class Observation:
    """What history showed for one component under a scenario (for ``semigraph backtest``).

    ``availability`` is the observed range of the lowest monthly (30-day) mean of ``of``
    (``supply``: deliveries; ``output``: production); ``days_to_impact`` the observed range of
    the first day of shortfall, ``None`` when none was observed; ``never_short`` says nothing
    went short (the range is then [0.99, 1]). ``source`` is a source id of the dataset or a
    :class:`Source` given in the file.
    """

    component: str
    availability: tuple[float, float]
    source: str | Source
    days_to_impact: tuple[float, float] | None = None
    perspective: str | None = None
    note: str = ""
    of: str = "supply"
    never_short: bool = False


@dataclass(frozen=True)
class Override:
    """A component parameter set for one episode (2021's thin stocks belong to 2021)."""

    component: str
    values: tuple[tuple[str, float], ...]  # (parameter, value) of OVERRIDABLE
    source: str | Source
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A set of disruptions seen from a perspective over a horizon of days."""

    disruptions: tuple[Disruption, ...] = ()
    perspective: str | None = None
    horizon: int = DEFAULT_HORIZON
    title: str = ""
    description: str = ""
    outputs: tuple[dict, ...] = field(default=(), compare=False)
    observed: tuple[Observation, ...] = field(default=(), compare=False)
    overrides: tuple[Override, ...] = ()
    path: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "disruptions", tuple(self.disruptions))
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) \
                or not 0 <= self.horizon <= 3650:
            raise ScenarioError(f"horizon must be a whole number of days 0..3650, "
                                f"not {self.horizon!r}")

    @property
    def label(self) -> str:
        return self.title or ", ".join(map(str, self.disruptions)) or "baseline"

    def with_(self, **changes) -> Scenario:
        return replace(self, **changes)

    @classmethod
    def read(cls, path: str | Path) -> Scenario:
        """Read a scenario file (TOML, see ``queries/``); see :func:`read_scenario`."""
        return read_scenario(path)


_TOP_KEYS = {"title", "description", "perspective", "horizon", "disruption", "output",
             "notes", "observed", "override"}
_DISRUPTION_KEYS = {"unit", "severity", "scope", "to", "note", "mode", "duration_days"}
_OBSERVED_KEYS = {"component", "perspective", "availability", "days_to_impact", "source",
                  "note", "of", "never_short"}
_OVERRIDE_KEYS = {"component", "source", "note", *OVERRIDABLE}
_SOURCE_KEYS = {"publisher", "title", "year", "url"}
_OUTPUT_KEYS = {"format", "path", "kind"}


def _check_keys(where: str, table: dict, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ScenarioError(f"{where}: unknown key {key!r}{hint} (allowed: "
                                f"{', '.join(sorted(allowed))})")


def _as_list(where: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ScenarioError(f"{where}: expected a string or a list of strings, not {value!r}")


def read_scenario(path: str | Path) -> Scenario:
    """Read a scenario file.

    The file is TOML::

        title = "Taiwan blockade"
        description = "..."
        perspective = "NLD"        # optional: a country or bloc
        horizon = 365              # days, optional

        [[disruption]]
        unit = "TWN"
        severity = 1.0             # optional, default 1
        scope = "site"             # optional: site | control
        to = ["EU27"]              # optional: export ban to these destinations
        mode = "export"            # optional: export | outage (default by unit kind)
        duration_days = 90         # optional: the disruption ends after this many days
        note = "..."               # optional

        [[output]]                 # optional: files `semigraph run` writes
        path = "taiwan.csv"        # relative to the current folder
        kind = "whatif"            # what to write (whatif, the default)

        [[override]]               # optional: component parameters of this episode
        component = "automotive-mcu"
        stock_days = 5             # any of stock_days, stock_days_min, ttr_days, qualify_days
        source = "doc-2022-rfi"    # a source id of the dataset, or a table as below
        note = "..."

        [[observed]]               # optional: what history showed (semigraph backtest)
        component = "motor-vehicle"
        perspective = "JPN"        # optional: default the scenario's perspective
        of = "output"              # optional: supply (deliveries, default) or output
        availability = [0.5, 0.7]  # observed range of the lowest monthly mean
        days_to_impact = [20, 40]  # observed first day of shortfall; leave out if none
        never_short = false        # optional: true instead of a range: nothing went short
        source = "jama-2011"       # a source id, or {publisher, title, year, url}
        note = "..."

    Unknown keys are rejected with a suggestion, so a typo never passes silently.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is not an error
        data = tomllib.loads(text)
    except FileNotFoundError:
        near = difflib.get_close_matches(path.name, sorted(
            p.name for p in path.parent.glob("*.toml")) if path.parent.is_dir() else [], n=1)
        hint = f"; did you mean {str(path.with_name(near[0]))!r}?" if near else ""
        raise ScenarioError(f"{path}: no such scenario file{hint}") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a folder, not a scenario file") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise ScenarioError(f"{path}, line {line}: not UTF-8 text; save the file as UTF-8") \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to be a scenario file") from None
    _check_keys(str(path), data, _TOP_KEYS)
    raw = data.get("disruption", [])
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{path}: needs at least one [[disruption]] table")
    disruptions = []
    for i, d in enumerate(raw, start=1):
        where = f"{path}: disruption {i}"
        if not isinstance(d, dict):
            raise ScenarioError(f"{where}: must be a table with a unit")
        _check_keys(where, d, _DISRUPTION_KEYS)
        if "unit" not in d or not isinstance(d["unit"], str):
            raise ScenarioError(f"{where}: needs unit = \"ID\"")
        try:
            disruptions.append(Disruption(
                unit=d["unit"], severity=d.get("severity", 1.0), scope=d.get("scope", "site"),
                to=_as_list(f"{where}, to", d.get("to", [])), mode=d.get("mode"),
                duration_days=d.get("duration_days")))
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
    outputs = []
    for i, o in enumerate(_tables(path, data, "output"), start=1):
        where = f"{path}: output {i}"
        if "path" not in o or not isinstance(o["path"], str) or not o["path"].strip():
            raise ScenarioError(f"{where}: needs path = \"FILE\" (a file name, as text)")
        _check_keys(where, o, _OUTPUT_KEYS)
        if o.get("kind", "whatif") not in OUTPUT_KINDS_BY_COMMAND:
            raise ScenarioError(f"{where}: kind must be one of "
                                f"{', '.join(OUTPUT_KINDS_BY_COMMAND)}")
        target = PurePath(o["path"])
        if target.is_absolute() or ".." in target.parts or o["path"].startswith("~"):
            raise ScenarioError(f"{where}: path {o['path']!r} must stay inside the folder the "
                                "command runs in (no absolute path, no '..')")
        fmt = o.get("format")
        suffix = target.suffix.lower()
        if fmt is None and suffix not in OUTPUT_FORMATS_BY_SUFFIX:
            raise ScenarioError(f"{where}: cannot tell the format of {o['path']!r}; end it in "
                                f"{', '.join(sorted(OUTPUT_FORMATS_BY_SUFFIX))} or give format")
        if fmt is not None and fmt not in OUTPUT_FORMATS:
            raise ScenarioError(f"{where}: format must be one of {', '.join(OUTPUT_FORMATS)}, "
                                f"not {fmt!r}")
        if any(PurePath(prev["path"]) == target for prev in outputs):
            raise ScenarioError(f"{where}: {o['path']!r} is named by an earlier output too")
        outputs.append(dict(o))
    observed = tuple(_observation(f"{path}: observed {i}", o)
                     for i, o in enumerate(_tables(path, data, "observed"), start=1))
    overrides = tuple(_override(f"{path}: override {i}", o)
                      for i, o in enumerate(_tables(path, data, "override"), start=1))
    named = [o.component for o in overrides]
    if len(set(named)) < len(named):
        twice = sorted({c for c in named if named.count(c) > 1})
        raise ScenarioError(f"{path}: override: {', '.join(twice)} named twice; give each "
                            "component's parameters in one [[override]] table")
    for key in ("title", "description", "perspective"):
        if key in data and not isinstance(data[key], str):
            raise ScenarioError(f"{path}: {key} must be a string")
    try:
        return Scenario(
            disruptions=tuple(disruptions), perspective=data.get("perspective"),
            horizon=data.get("horizon", DEFAULT_HORIZON), title=data.get("title", path.stem),
            description=data.get("description", "").strip(), outputs=tuple(outputs),
            observed=observed, overrides=overrides, path=path)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _tables(path: Path, data: dict, key: str) -> list[dict]:
    raw = data.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ScenarioError(f"{path}: {key} must be written as [[{key}]] tables")
    return raw


def _range(where: str, value, low: float, high: float | None) -> tuple[float, float]:
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok or not low <= value[0] <= value[1] or (high is not None and value[1] > high):
        top = f"{high:g}" if high is not None else "any"
        raise ScenarioError(f"{where}: expected a range [low, high] with {low:g} <= low <= "
                            f"high <= {top}, not {value!r}")
    return float(value[0]), float(value[1])


def _source(where: str, value) -> str | Source:
    """A source id, or a publication given as a table in the file."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, dict):
        _check_keys(where, value, _SOURCE_KEYS)
        for key in ("publisher", "title"):
            if not isinstance(value.get(key), str) or not value[key].strip():
                raise ScenarioError(f"{where}: needs {key} = \"...\"")
        year = value.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)
                                 or not 1900 <= year <= 2100):
            raise ScenarioError(f"{where}: year must be a whole number 1900..2100, "
                                f"not {year!r}")
        url = value.get("url")
        if url is not None and not isinstance(url, str):
            raise ScenarioError(f"{where}: url must be a string")
        return Source(value["publisher"].strip(), value["title"].strip(), year, url)
    raise ScenarioError(f"{where}: expected a source id or a table {{publisher, title, year, "
                        f"url}}, not {value!r}")


def _override(where: str, o: dict) -> Override:
    _check_keys(where, o, _OVERRIDE_KEYS)
    for key in ("component", "source"):
        if key not in o:
            raise ScenarioError(f"{where}: needs {key}")
    if not isinstance(o["component"], str):
        raise ScenarioError(f"{where}: component must be a string")
    values = []
    for key in OVERRIDABLE:
        if key in o:
            v = o[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < 0:
                raise ScenarioError(f"{where}: {key} must be a number of days >= 0, not {v!r}")
            values.append((key, float(v)))
    if not values:
        raise ScenarioError(f"{where}: sets nothing; give one of {', '.join(OVERRIDABLE)}")
    given = dict(values)
    if "stock_days" in given and "stock_days_min" in given \
            and given["stock_days_min"] > given["stock_days"]:
        raise ScenarioError(f"{where}: stock_days_min {given['stock_days_min']:g} is above "
                            f"stock_days {given['stock_days']:g}")
    note = o.get("note", "")
    if not isinstance(note, str):
        raise ScenarioError(f"{where}: note must be a string")
    return Override(o["component"], tuple(values), _source(f"{where}, source", o["source"]),
                    note.strip())


def _observation(where: str, o: dict) -> Observation:
    _check_keys(where, o, _OBSERVED_KEYS)
    never = o.get("never_short", False)
    if not isinstance(never, bool):
        raise ScenarioError(f"{where}: never_short must be true or false")
    need = ("component", "source") if never else ("component", "source", "availability")
    for key in need:
        if key not in o:
            raise ScenarioError(f"{where}: needs {key}")
    if never and ("availability" in o or "days_to_impact" in o):
        raise ScenarioError(f"{where}: never_short = true says nothing went short; drop "
                            "availability and days_to_impact, or never_short")
    for key in ("component", "perspective", "note"):
        if key in o and not isinstance(o[key], str):
            raise ScenarioError(f"{where}: {key} must be a string")
    of = o.get("of", "supply")
    if of not in MEASURES:
        raise ScenarioError(f"{where}: of must be one of {', '.join(MEASURES)}, not {of!r}")
    days = o.get("days_to_impact")
    return Observation(
        component=o["component"], source=_source(f"{where}, source", o["source"]),
        perspective=o.get("perspective"),
        availability=(0.99, 1.0) if never else _range(f"{where}, availability",
                                                      o["availability"], 0.0, 1.0),
        days_to_impact=None if days is None else _range(f"{where}, days_to_impact", days, 0.0,
                                                        None),
        note=o.get("note", "").strip(), of=of, never_short=never)


def with_overrides(model, overrides) -> object:
    """The model with an episode's component parameters (``[[override]]`` of a scenario)
    in place of the dataset's; the dataset itself is left as it is."""
    if not overrides:
        return model
    comps = model.components.copy()
    ids = set(comps["id"])
    for o in overrides:
        if o.component not in ids:
            raise ScenarioError(f"component {o.component!r} is not in the dataset"
                                + model._did_you_mean(o.component, ("component",)))
        row = comps["id"] == o.component
        for key, value in o.values:
            comps.loc[row, key] = value
        low, stock = comps.loc[row, "stock_days_min"], comps.loc[row, "stock_days"]
        if (low > stock).any():  # a thinner normal cover takes the spread's floor with it
            comps.loc[row, "stock_days_min"] = stock
    return replace(model, components=comps)
