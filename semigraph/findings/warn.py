"""Early warning: a trade measure in words, what it does downstream, and a one-page briefing.

:func:`parse_measure` turns a sentence such as ``export licence on gallium from CHN`` into a
:class:`~semigraph.engine.scenario.Scenario`; :func:`warning` runs it through
:func:`semigraph.engine.whatif.whatif` and lists the products it makes short and the firms
whose inputs go short, in order of the day it happens; :func:`warning_markdown` and
:func:`warning_html` write the briefing.

Columns of :attr:`EarlyWarning.products` (:data:`PRODUCT_COLUMNS`):

========================  =======  ===========================================================
``component``, ``name``,  object   the component
``stage``
``role``                  object   ``hit``: its own supply is cut by the measure; ``end
                                   product``: an end-use product downstream that goes short
``time_to_survive_days``  Int64    first day supply falls below 99% (NA: not within horizon)
``tied_short_from_day``   Int64    the same with buyers tied to their supplier until they
                                   qualify another (engine README 4.5): the day the first
                                   tied buyers run out (NA: not within horizon)
``availability``          float64  lowest daily supply, every user rationed alike (0..1)
``availability_high``     float64  the same with the chain served first (upper bound)
``availability_tied``     float64  the same with buyers tied to their supplier
``steady_state``          float64  supply if never restored (the static bound)
``lost_days``             float64  supply lost over the horizon, days of normal demand
``recovery_day``          Int64    day supply is back at 99% (the horizon if not within it)
``stock_days``,           float64  consumers' stock cover and time to restore, days
``ttr_days``
``bottleneck``            object   the chain of inputs that sets the lowest day
``sources``               object   source ids behind the figures, sorted, ``;``-joined
========================  =======  ===========================================================

Columns of :attr:`EarlyWarning.firms` (:data:`FIRM_COLUMNS`):

==============================  =======  =====================================================
``firm``, ``name``, ``hq``,     object   the firm
``controlled_by``
``dutch``                       bool     ``hq`` or ``controlled_by`` is NLD
``hit_directly``                bool     some of its own supply rows are cut by the measure
``makes``                       object   the components it supplies that are hit or
                                         downstream of a hit one, sorted, ``;``-joined
``sites``                       object   the countries it makes them in, sorted, ``;``-joined
``short_inputs``                object   their inputs that fall short at its sites within the
                                         horizon, sorted, ``;``-joined ('' when none)
``inputs_short_day``            Int64    first day one of those inputs falls below 99% at one
                                         of its sites (NA: none within the horizon)
``lowest_input_availability``   float64  the lowest supply of those inputs at its sites (1 when
                                         none goes short)
==============================  =======  =====================================================
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from semigraph.engine.compiled import compile_model
from semigraph.engine.propagation import evaluate, resolve
from semigraph.engine.scenario import DEFAULT_HORIZON, Disruption, Scenario
from semigraph.engine.whatif import timeline, whatif
from semigraph.errors import ScenarioError, UnknownUnitError
from semigraph.findings.indicators import downstream

__all__ = [
    "FIRM_COLUMNS",
    "LICENCE_DAYS",
    "LICENCE_SEVERITY",
    "PRODUCT_COLUMNS",
    "EarlyWarning",
    "parse_measure",
    "warning",
    "warning_chart",
    "warning_html",
    "warning_markdown",
    "warning_summary",
]

#: An export licence regime, when the measure gives no figures: no exports at all...
LICENCE_SEVERITY = 1.0
#: ...for the first licensing delay, in days (see :func:`parse_measure`).
LICENCE_DAYS = 60.0
DUTCH = "NLD"
#: Products the briefing draws supply over days for (the first in order of impact day).
MAX_CHARTS = 8

PRODUCT_COLUMNS = {
    "component": "object", "name": "object", "stage": "object", "role": "object",
    "time_to_survive_days": "Int64", "tied_short_from_day": "Int64", "availability": "float64",
    "availability_high": "float64", "availability_tied": "float64", "steady_state": "float64",
    "lost_days": "float64",
    "recovery_day": "Int64", "stock_days": "float64", "ttr_days": "float64",
    "bottleneck": "object", "sources": "object",
}
FIRM_COLUMNS = {
    "firm": "object", "name": "object", "hq": "object", "controlled_by": "object",
    "dutch": "bool", "hit_directly": "bool", "makes": "object", "sites": "object",
    "short_inputs": "object", "inputs_short_day": "Int64",
    "lowest_input_availability": "float64",
}

# Measure phrases, longest first within each kind; matched at the start of the text.
_MEASURES = {
    "licence": ("export licence requirement", "export license requirement",
                "export licensing", "export licence", "export license", "export controls",
                "export control", "licensing", "licence", "license"),
    "stop": ("export embargo", "export stop", "export ban", "export halt", "embargo", "ban",
             "stop"),
    "outage": ("production stop", "shutdown", "outage", "fire", "strike"),
}
_CONNECTORS = ("on", "of", "at", "in", "for")
_KEYWORDS = ("from", "to", "for", "severity", "at")


def _phrases() -> list[tuple[str, str]]:
    pairs = [(p, kind) for kind, ps in _MEASURES.items() for p in ps]
    return sorted(pairs, key=lambda pk: -len(pk[0]))


def _split_measure(words: list[str], text: str) -> tuple[str, list[str]]:
    lowered = [w.lower() for w in words]
    for phrase, kind in _phrases():
        n = len(phrase.split())
        if lowered[:n] == phrase.split():
            rest = words[n:]
            if rest and rest[0].lower() in _CONNECTORS and not _is_duration(rest):
                rest = rest[1:]
            return kind, rest
    known = sorted({p for ps in _MEASURES.values() for p in ps})
    raise ScenarioError(f"measure {text!r}: not understood: {' '.join(words[:2])!r} is no "
                        f"measure; start with one of: {', '.join(known)}")


def _is_duration(words: list[str]) -> bool:
    return (len(words) >= 3 and words[0].lower() == "for"
            and re.fullmatch(r"\d+(\.\d+)?", words[1]) is not None
            and words[2].lower().rstrip(".") in ("day", "days"))


def _clauses(words: list[str], text: str) -> dict[str, list[str]]:
    """Split the words after the measure into the subject and its ``from``, ``to``, ``for N
    days`` and ``at N%`` / ``severity X`` clauses."""
    out: dict[str, list[str]] = {"subject": []}
    key = "subject"
    for w in words:
        low = w.lower()
        if low in _KEYWORDS and not (low == "at" and key == "subject" and not out["subject"]):
            key = {"severity": "at"}.get(low, low)
            if key in out:
                raise ScenarioError(f"measure {text!r}: not understood: {w!r} appears twice")
            out[key] = []
        else:
            out[key].append(w)
    return out


def _number(where: str, words: list[str], text: str) -> float:
    raw = " ".join(words).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", raw)
    if not m:
        raise ScenarioError(f"measure {text!r}: not understood: {where} {raw!r} (write "
                            f"e.g. 'at 50%' or 'severity 0.5')")
    value = float(m.group(1))
    return value / 100 if m.group(2) else value


def _days(words: list[str], text: str) -> float:
    raw = " ".join(words).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*days?", raw)
    if not m:
        raise ScenarioError(f"measure {text!r}: not understood: 'for {raw}' (write e.g. "
                            "'for 90 days')")
    return float(m.group(1))


def _resolve(model, words: list[str], what: str, text: str):
    """A unit named by one or more words: an id in any case, or a component's name."""
    raw = " ".join(words).strip()
    if not raw:
        raise ScenarioError(f"measure {text!r}: {what} is missing")
    candidates = [raw, raw.upper(), raw.lower(), raw.lower().replace(" ", "-")]
    if "@" in raw:
        who, _, site = raw.partition("@")
        candidates.append(f"{who.lower()}@{site.upper()}")
    names = {str(n).lower(): i for i, n in zip(model.components["id"], model.components["name"])}
    if raw.lower() in names:
        candidates.append(names[raw.lower()])
    error = None
    for cand in dict.fromkeys(candidates):
        try:
            return model.resolve(cand)
        except UnknownUnitError as exc:
            error = error or exc
    raise ScenarioError(f"measure {text!r}: not understood: {what} {raw!r}: {error}") from None


def _regions(model, words: list[str], text: str) -> tuple[str, ...]:
    parts = [p for p in re.split(r"\s*(?:,|\+|\band\b)\s*", " ".join(words)) if p]
    if not parts:
        raise ScenarioError(f"measure {text!r}: 'to' names no destination")
    out = []
    for p in parts:
        unit = _resolve(model, [p], "destination", text)
        if unit.kind not in ("country", "bloc"):
            raise ScenarioError(f"measure {text!r}: not understood: destination {p!r} is a "
                                f"{unit.kind}, not a country or bloc")
        out.append(unit.id)
    return tuple(out)


def _units(model, kind: str, subject, origin, text: str) -> list[str]:
    """The unit ids a measure disrupts."""
    if subject is None:
        return [origin.id]
    if subject.kind in ("country", "bloc"):
        if origin is not None:
            raise ScenarioError(f"measure {text!r}: not understood: 'from {origin.id}' after "
                                f"the country or bloc {subject.id}")
        return [subject.id]
    if subject.kind in ("site", "supply"):
        if origin is not None and subject.country not in model.members(origin.id):
            raise ScenarioError(f"measure {text!r}: {subject.id} is not in {origin.id}")
        return [subject.id]
    if origin is None:
        if subject.kind == "component" and kind != "outage":
            raise ScenarioError(f"measure {text!r}: say where the {subject.id} comes from, "
                                f"e.g. '... of {subject.id} from CHN'")
        return [subject.id]
    col = "component" if subject.kind == "component" else "supplier"
    made = set(model.supply.loc[model.supply[col] == subject.id, "site"])
    sites = [c for c in model.members(origin.id) if c in made]
    if not sites:
        raise ScenarioError(f"measure {text!r}: no {subject.id} is produced in {origin.id} "
                            f"(produced in: {', '.join(sorted(made)) or 'nowhere'})")
    return [f"{subject.id}@{c}" for c in sites]


def parse_measure(text: str, model) -> Scenario:
    """A trade measure or an outage in words, as a scenario.

    The text is ``MEASURE [on|of|at] SUBJECT [from ORIGIN] [to DESTINATIONS] [for N days]
    [at N% | severity X]``, for example::

        export licence on gallium from CHN
        export stop of germanium from CHN to USA
        ban on neon from RUS for 90 days
        outage at nexperia@CHN
        export stop from CHN at 50%

    Parameters
    ----------
    text : str
        The measure. Measures (case-insensitive): an export licence regime (``export
        licence``, ``export license``, ``export licensing``, ``export controls``,
        ``licensing``); an export stop (``export stop``, ``export ban``, ``export halt``,
        ``embargo``, ``ban``, ``stop``); an outage (``outage``, ``shutdown``, ``fire``,
        ``strike``, ``production stop``). The subject is a unit id (any case) or a
        component's name; the origin a country or bloc; destinations are countries or blocs
        separated by commas, ``+`` or ``and``.
    model : Model

    Returns
    -------
    Scenario
        One disruption per unit hit (a component from a bloc: one per member that produces
        it), titled with the text; perspective unset, horizon the default.

    Raises
    ------
    ScenarioError
        Naming the part of the text that was not understood.

    Notes
    -----
    An export licence or stop is a disruption with ``mode = "export"``: consumers in the
    producing countries keep their supply (engine README 4.3); with destinations it is an export
    ban to them only. An outage loses the supply for everyone.

    A licence regime without figures is modelled as an export stop with severity
    :data:`LICENCE_SEVERITY` (1.0) for :data:`LICENCE_DAYS` (60) days: the first licensing
    delay, when nothing is shipped until the first licences are granted. That is what
    China's 2023 gallium and germanium licensing did: from 1 August 2023 exports needed a
    licence (MOFCOM and GAC Announcement No. 23 of 2023), licences took up to about 45
    working days, and Chinese customs recorded no wrought gallium or germanium exports in
    August and none or almost none in September (Reuters, 20 September and 20 November 2023;
    the bundled dataset's sources ``reuters-2023-ga-ge-august`` and
    ``reuters-2023-ga-ge-october``). Later, partial licensing is a second disruption with a
    lower severity, as in ``queries/gallium-germanium-2023.toml``; give ``for N days`` and
    ``at N%`` to change the defaults. Export stops and outages last the whole horizon unless
    ``for N days`` is given; every measure has severity 1 unless ``at`` or ``severity``
    says otherwise.
    """
    clean = " ".join(str(text).split()).rstrip(".")
    if not clean:
        raise ScenarioError("measure is empty: write e.g. 'export licence on gallium from CHN'")
    kind, rest = _split_measure(clean.split(" "), clean)
    parts = _clauses(rest, clean)
    subject = _resolve(model, parts["subject"], "subject", clean) if parts["subject"] else None
    origin = _resolve(model, parts["from"], "origin", clean) if "from" in parts else None
    if origin is not None and origin.kind not in ("country", "bloc"):
        raise ScenarioError(f"measure {clean!r}: not understood: origin {origin.id!r} is a "
                            f"{origin.kind}, not a country or bloc")
    if subject is None and origin is None:
        raise ScenarioError(f"measure {clean!r}: name what is hit, e.g. '{clean} of gallium "
                            "from CHN' or '... from CHN'")
    to = _regions(model, parts["to"], clean) if "to" in parts else ()
    if to and kind == "outage":
        raise ScenarioError(f"measure {clean!r}: an outage loses supply for everyone; "
                            "'to' belongs to an export stop or licence")
    severity = _number("severity", parts["at"], clean) if "at" in parts else (
        LICENCE_SEVERITY if kind == "licence" else 1.0)
    days = _days(parts["for"], clean) if "for" in parts else (
        LICENCE_DAYS if kind == "licence" else None)
    mode = "outage" if kind == "outage" else "export"
    units = _units(model, kind, subject, origin, clean)
    try:
        disruptions = tuple(Disruption(unit=u, severity=severity, mode=mode, to=to,
                                       duration_days=days) for u in units)
    except ScenarioError as exc:
        raise ScenarioError(f"measure {clean!r}: {exc}") from None
    note = ""
    if kind == "licence" and "for" not in parts and "at" not in parts:
        note = (f"An export licence regime, modelled as no exports until the first licences "
                f"are granted ({LICENCE_DAYS:g} days, as after China's gallium and germanium "
                "licensing of August 2023).")
    return Scenario(disruptions=disruptions, title=clean, description=note)


@dataclass(frozen=True, eq=False)
class EarlyWarning:
    """An early warning: a scenario, the products it makes short and the firms hit.

    ``products`` and ``firms`` have the columns of :data:`PRODUCT_COLUMNS` and
    :data:`FIRM_COLUMNS` (module docstring); ``measures`` describe the disruptions in words;
    ``perspective`` says whose supply the product figures are; ``sources`` lists the sources
    cited (columns ``id``, ``publisher``, ``title``, ``year``, ``url``).
    """

    scenario: Scenario
    products: pd.DataFrame
    firms: pd.DataFrame
    measures: tuple[str, ...] = ()
    perspective: str = ""
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Daily supply per reading (``pooled``, ``high``, ``tied``: days x components), for the
    #: charts of supply over days.
    series: dict | None = None

    def chart_components(self) -> list[str]:
        """The products the briefing draws: those of ``products`` whose supply falls below
        normal in some reading, in the table's order, at most :data:`MAX_CHARTS`."""
        if self.series is None:
            return []
        low = pd.concat([f.min() for f in self.series.values()], axis=1).min(axis=1)
        return [c for c in self.products["component"] if low[c] < 1.0][:MAX_CHARTS]


def _hit(model, scenario: Scenario) -> tuple[set[str], set[int]]:
    """Components whose own supply (or the component itself) the scenario cuts, and the
    supply edges it hits."""
    c = compile_model(model)
    comps: set[str] = set()
    edges: set[int] = set()
    for d in scenario.disruptions:
        r = resolve(model, c, d)
        edges |= {int(e) for e in r.edges}
        comps |= {c.components[i] for i in c.e_comp[r.edges]}
        if r.component is not None:
            comps.add(c.components[r.component])
    return comps, edges


def _products(frame: pd.DataFrame, hit: set[str], below: set[str]) -> pd.DataFrame:
    short = (frame["availability"] < 1.0) | (frame["availability_tied"] < 1.0)
    touched = short | (frame["steady_state"] < 1.0)
    is_hit = frame["component"].isin(hit) & touched
    is_end = frame["component"].isin(below) & (frame["stage"] == "end_use") & short
    out = frame[is_hit | is_end].copy()
    out["role"] = np.where(out["component"].isin(hit), "hit", "end product")
    out["sources"] = out["sources"].map(lambda s: ";".join(sorted(set(s or []))))
    out = out[list(PRODUCT_COLUMNS)].astype(PRODUCT_COLUMNS)
    out = out.assign(_end=out["role"] != "hit").sort_values(
        ["time_to_survive_days", "lost_days", "_end", "component"],
        ascending=[True, False, True, True], na_position="last", kind="stable")
    return out.drop(columns="_end").reset_index(drop=True)


def _firms(model, scenario: Scenario, hit: set[str], hit_edges: set[int],
           below: set[str]) -> pd.DataFrame:
    """Firms making a hit or downstream component, with when their inputs go short where
    they make it (each site country evaluated as its own perspective)."""
    sup = model.supply.reset_index(drop=True)
    relevant = hit | below
    rows = sup[(sup["supplier_kind"] == "firm") & sup["component"].isin(relevant)]
    if not len(rows):
        return pd.DataFrame(columns=list(FIRM_COLUMNS)).astype(FIRM_COLUMNS)
    c = compile_model(model)
    sites = sorted(set(rows["site"]))
    ev = evaluate(model, [scenario.with_(perspective=s) for s in sites], bounds=False,
                  tied=False)
    col = {s: j for j, s in enumerate(sites)}
    inputs: dict[str, list[str]] = {}
    for comp, inp in zip(model.requires["component"], model.requires["input"]):
        if inp in relevant:
            inputs.setdefault(comp, []).append(inp)
    edge_of = {(cmp, s, site): i for i, (cmp, s, site) in
               enumerate(zip(c.e_comp, c.e_supplier, c.e_site))}
    firms = model.firms.set_index("id")
    out = []
    for firm, g in rows.groupby("supplier"):
        short, days, low = set(), [], 1.0
        for comp, site in zip(g["component"], g["site"]):
            for inp in inputs.get(comp, ()):
                i, j = c.index[inp], col[site]
                day = int(ev.time_to_survive[i, j])
                if day >= 0:
                    short.add(inp)
                    days.append(day)
                low = min(low, float(ev.availability[i, j]))
        direct = any(edge_of.get((c.index[cmp], firm, c.country_index[site])) in hit_edges
                     for cmp, site in zip(g["component"], g["site"]))
        hq, ctrl = firms.at[firm, "hq"], firms.at[firm, "controlled_by"]
        out.append({
            "firm": firm, "name": firms.at[firm, "name"], "hq": hq, "controlled_by": ctrl,
            "dutch": DUTCH in (hq, ctrl), "hit_directly": direct,
            "makes": ";".join(sorted(set(g["component"]))),
            "sites": ";".join(sorted(set(g["site"]))),
            "short_inputs": ";".join(sorted(short)),
            "inputs_short_day": min(days) if days else None,
            "lowest_input_availability": low,
        })
    frame = pd.DataFrame(out, columns=list(FIRM_COLUMNS)).astype(FIRM_COLUMNS)
    frame = frame.sort_values(["inputs_short_day", "dutch", "firm"],
                              ascending=[True, False, True], na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def _cited(model, products: pd.DataFrame, edges: set[int]) -> pd.DataFrame:
    c = compile_model(model)
    ids = {s for cell in products["sources"] for s in str(cell).split(";") if s}
    ids |= {str(c.e_source[e]) for e in edges if c.e_source[e]}
    src = model.sources
    cols = ["id", "publisher", "title", "year", "url"]
    found = src[src["id"].isin(ids)].reindex(columns=cols)
    return found.sort_values("id").reset_index(drop=True)


def warning(model, scenario: Scenario, *, perspective: str | None = None,
            horizon: int = DEFAULT_HORIZON) -> EarlyWarning:
    """What a measure does downstream: products short, and the firms hit, by day.

    Parameters
    ----------
    model : Model
    scenario : Scenario
        For instance from :func:`parse_measure` or
        :func:`semigraph.engine.scenario.read_scenario`.
    perspective : str, optional
        Whose supply the product figures are (a country or bloc); ``None`` keeps the
        scenario's (by default the rest of the world outside the stopping countries).
    horizon : int
        Days simulated; replaces the scenario's own.

    Returns
    -------
    EarlyWarning
        ``products``: the components the measure hits (those it leaves short, in the pooled
        or the tied reading, or would leave short if never restored) and the end-use
        products downstream that go short within the horizon in either reading, ordered by
        the first day short in the pooled reading (never short last), then lost days (most
        first), hit components before end products, then id. ``firms``: every
        firm that makes a hit component or one downstream of it (so uses a hit component,
        directly or through its inputs), with the first day one of its inputs goes short
        where it makes them, ordered by that day (none last), Dutch firms first on a tie.

    Notes
    -----
    The product figures are those of :func:`semigraph.engine.whatif.whatif` for the
    perspective, in its three readings: every user rationed alike (pooled, the lower bound),
    the chain served first (the upper bound) and buyers tied to their supplier until they
    qualify another (tied). The firm figures are judged from each firm's production sites:
    every site country is evaluated as a perspective of its own (pooled reading), so that a
    firm in a country that stops exports keeps its home supply.
    """
    changes: dict = {"horizon": horizon}
    if perspective is not None:
        changes["perspective"] = perspective
    scen = scenario.with_(**changes)
    if scen.perspective is not None:
        model.members(scen.perspective)  # an unknown region fails here, with a suggestion
    ev = evaluate(model, scen, series=True)
    frame = whatif(model, scen, evaluation=ev)
    series = {"pooled": timeline(ev), "high": timeline(ev, high=True),
              "tied": timeline(ev, reading="tied")}
    hit, edges = _hit(model, scen)
    down = downstream(model)
    below = set().union(*(down.get(h, set()) for h in hit)) if hit else set()
    products = _products(frame, hit, below)
    return EarlyWarning(scenario=scen, products=products,
                   firms=_firms(model, scen, hit, edges, below),
                   measures=tuple(frame.attrs.get("modes", ())),
                   perspective=str(frame.attrs.get("perspective", "")),
                   sources=_cited(model, products, edges), series=series)


# ---- the briefing ------------------------------------------------------------------------

def _avail(lo: float, hi: float) -> str:
    return f"{lo:.2f}" if abs(hi - lo) < 0.005 else f"{lo:.2f}-{hi:.2f}"


def _day(value) -> str:
    return "-" if value is None or pd.isna(value) else str(int(value))


def _title(w: EarlyWarning) -> str:
    return w.scenario.label


def warning_summary(w: EarlyWarning) -> str:
    """One sentence on what the warning says: how many products go short, the first one
    (pooled reading), the first tied buyers to run out where they do so earlier, and the
    first Dutch firm whose inputs go short."""
    p, h = w.products, w.scenario.horizon
    short = p[p["time_to_survive_days"].notna()]
    ends = short[short["stage"] == "end_use"]
    dutch = w.firms[w.firms["dutch"] & w.firms["inputs_short_day"].notna()] \
        if len(w.firms) else w.firms
    tied = p[p["tied_short_from_day"].notna()].sort_values("tied_short_from_day",
                                                           kind="stable")
    if not len(short):
        text = f"Nothing goes short within {h} days" + (
            " with every user rationed alike" if len(tied) else "")
    else:
        first = short.iloc[0]
        text = (f"{len(ends)} end-use product(s) and {len(short) - len(ends)} other "
                f"component(s) go short within {h} days; first {first['component']} on day "
                f"{int(first['time_to_survive_days'])}, down to "
                f"{_avail(first['availability'], first['availability_high'])} of normal "
                "supply")
    if len(tied) and (not len(short) or tied.iloc[0]["tied_short_from_day"]
                      < short.iloc[0]["time_to_survive_days"]):
        t = tied.iloc[0]
        text += (f"; the first buyers tied to their supplier run out earlier, on day "
                 f"{int(t['tied_short_from_day'])} ({t['component']}, down to "
                 f"{t['availability_tied']:.2f})")
    if len(dutch):
        d = dutch.iloc[0]
        text += (f"; {len(dutch)} Dutch firm(s) see inputs go short, first {d['firm']} on "
                 f"day {int(d['inputs_short_day'])}")
    else:
        text += "; no Dutch firm sees its inputs go short"
    direct = w.firms[w.firms["dutch"] & w.firms["hit_directly"]] if len(w.firms) else w.firms
    if len(direct):
        text += "; Dutch firms hit directly: " + ", ".join(direct["firm"])
    return text + "."


def _product_rows(w: EarlyWarning) -> list[list[str]]:
    return [[r.component, r.name, r.stage, r.role, _day(r.time_to_survive_days),
             _day(r.tied_short_from_day), _avail(r.availability, r.availability_high),
             f"{r.availability_tied:.2f}", f"{r.lost_days:.1f}", _day(r.recovery_day)]
            for r in w.products.itertuples(index=False)]


_PRODUCT_HEAD = ["component", "name", "stage", "role", "first day short",
                 "first tied buyers short", "lowest supply", "lowest supply, tied",
                 "lost days", "recovery day"]
#: The product table's legend, in the Markdown and the HTML briefing.
_PRODUCT_LEGEND = ("Lowest supply: share of normal on the worst day, every user rationed "
                   "alike to the chain served first. Tied: buyers tied to their supplier "
                   "until they qualify another, each with its own stock; first tied buyers "
                   "short: the day the first of them run out, often before the first day "
                   "short of the pooled supply.")
_FIRM_HEAD = ["firm", "name", "hq", "controlled by", "makes", "inputs short from day",
              "short inputs", "hit directly"]


def _dutch_rows(w: EarlyWarning) -> list[list[str]]:
    f = w.firms[w.firms["dutch"]] if len(w.firms) else w.firms
    return [[r.firm, r.name, r.hq, r.controlled_by, r.makes.replace(";", ", "),
             _day(r.inputs_short_day), r.short_inputs.replace(";", ", ") or "-",
             "yes" if r.hit_directly else "no"]
            for r in f.itertuples(index=False)]


def _source_items(w: EarlyWarning) -> list[tuple[str, str, str | None]]:
    """(id, description, safe link or None) per source cited."""
    out = []
    for r in w.sources.itertuples(index=False):
        year = "" if r.year is None or pd.isna(r.year) else f" ({int(r.year)})"
        text = f"{_s(r.publisher)}, {_s(r.title)}{year}"
        out.append((str(r.id), text, _link(r.url)))
    return out


def _s(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else str(value)


def _link(url) -> str | None:
    """Only http(s) addresses are linked; ``doi:`` becomes its https resolver address."""
    u = _s(url).strip()
    if u.lower().startswith("doi:"):
        return "https://doi.org/" + u[4:].strip()
    return u if re.match(r"https?://", u, flags=re.IGNORECASE) else None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>~])")


def _md(value) -> str:
    """Text for a markdown table cell or line: no control characters or line breaks,
    markup characters escaped."""
    text = _CONTROL.sub(" ", _s(value))
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in head) + " |",
             "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines


#: What the charts show, in the briefings.
_CHART_LEGEND = ("Supply over days, as a share of normal: pooled (every user rationed alike, "
                 "the lower bound) and chain first (the upper bound) with the range between "
                 "them shaded; tied (buyers tied to their supplier until they qualify "
                 "another); the first day below 0.99 marked.")


def warning_chart(w: EarlyWarning, components=None, *, ax=None, pyplot: bool = False):
    """The briefing's chart of supply over days: a panel per product of
    :meth:`EarlyWarning.chart_components` (or ``components``), titled with the measure
    (:func:`semigraph.render.charts.supply_chart`)."""
    from semigraph.render.charts import supply_chart

    if w.series is None:
        raise ValueError("this warning kept no daily series to draw")
    comps = w.chart_components() if components is None else components
    names = dict(zip(w.products["component"], w.products["name"]))
    return supply_chart(w.series, comps, title=f"Early warning: {_title(w)}",
                        subtitle=f"seen from {w.perspective}; horizon {w.scenario.horizon} "
                                 "days", names=names, ax=ax, pyplot=pyplot)


def warning_markdown(w: EarlyWarning, chart: str | None = None) -> str:
    """The one-page briefing as Markdown: title, the measure, a summary, the products in
    order of impact day, supply over days, the Dutch firms and the sources cited. Every text
    from the dataset or the measure is escaped, so it cannot add markup.

    Markdown text holds no picture: ``chart`` is the address of the chart's image file
    (written beside the briefing, e.g. by ``semigraph warn ... -o FILE.md``), linked under
    "Supply over days"; without it that section says where the charts are."""
    lines = [f"# Early warning: {_md(_title(w))}", ""]
    lines += [f"**Measure.** {_md('; '.join(w.measures) or w.scenario.label)}. "
              f"Seen from {_md(w.perspective)}; horizon {w.scenario.horizon} days.", ""]
    if w.scenario.description:
        lines += [f"*Scenario:* {_md(w.scenario.description)}", ""]
    lines += [f"**Summary.** {_md(warning_summary(w))}", "",
              "## Products, in order of impact day", ""]
    rows = _product_rows(w)
    lines += _md_table(_PRODUCT_HEAD, rows) if rows else ["Nothing goes short."]
    lines += ["", _PRODUCT_LEGEND, ""]
    if w.chart_components():
        lines += ["## Supply over days", ""]
        if chart:
            lines += [f"![Supply over days]({_md_url(chart)})", "", _CHART_LEGEND, ""]
        else:
            lines += ["Charts are not part of Markdown text: write the briefing to a file "
                      "(a PNG beside it) or as HTML (charts inline).", ""]
    lines += ["## Dutch firms", ""]
    dutch = _dutch_rows(w)
    lines += _md_table(_FIRM_HEAD, dutch) if dutch else [
        "No Dutch firm makes a component hit by the measure or downstream of one."]
    lines += ["", "## Sources", ""]
    items = _source_items(w)
    for sid, text, url in items:
        lines.append(f"- {_md(sid)}: {_md(text)}" + (f" <{_md_url(url)}>" if url else ""))
    if not items:
        lines.append("No sources recorded for these figures.")
    return "\n".join(lines) + "\n"


def _md_url(url: str) -> str:
    # an autolink ends at '>' or whitespace: percent-encode them (and '<')
    return (url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
            .replace("\n", ""))


_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.summary{background:#fff4e5;border-left:4px solid #e67e00;padding:.5rem .8rem}
.note{color:#555;font-size:.85rem}
.chart{margin:.4rem 0}.chart svg{width:100%;height:auto}
"""


def _e(value) -> str:
    return html.escape(_CONTROL.sub(" ", _s(value)), quote=True)


def _html_table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _charts_html(w: EarlyWarning) -> str:
    """One inline SVG chart per product drawn (no references, no scripts: the page's
    content policy allows it)."""
    from semigraph.render.charts import chart_bytes, close, supply_chart, svg_for_html

    comps = w.chart_components()
    if not comps:
        return ""
    names = dict(zip(w.products["component"], w.products["name"]))
    figures = []
    for j, comp in enumerate(comps, 1):
        fig = supply_chart(w.series, [comp], names=names)
        figures.append(f'<figure class="chart" id="chart-{_e(comp)}">'
                       f'{svg_for_html(chart_bytes(fig, "svg", inline=True), f"c{j}-")}'
                       "</figure>")
        close(fig)
    more = len(w.products) - len(comps)
    note = _CHART_LEGEND + (f" The first {len(comps)} products in order of impact day are "
                            "drawn." if more > 0 and len(comps) == MAX_CHARTS else "")
    return ("<h2>Supply over days</h2>" + "".join(figures)
            + f'<p class="note">{_e(note)}</p>')


def warning_html(w: EarlyWarning) -> str:
    """The one-page briefing as one self-contained HTML page (inline style, no scripts, no
    external resources; links only to the sources' http(s) addresses). Every text is
    escaped with :func:`html.escape`."""
    title = f"Early warning: {_title(w)}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'style-src \'unsafe-inline\'">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p><strong>Measure.</strong> {_e('; '.join(w.measures) or w.scenario.label)}. "
        f"Seen from {_e(w.perspective)}; horizon {_e(w.scenario.horizon)} days.</p>",
    ]
    if w.scenario.description:
        parts.append(f'<p class="note">{_e(w.scenario.description)}</p>')
    parts.append(f'<p class="summary"><strong>Summary.</strong> {_e(warning_summary(w))}</p>')
    parts.append("<h2>Products, in order of impact day</h2>")
    rows = _product_rows(w)
    parts.append(_html_table(_PRODUCT_HEAD, rows, {4, 5, 6, 7, 8, 9}) if rows
                 else "<p>Nothing goes short.</p>")
    parts.append(f'<p class="note">{_e(_PRODUCT_LEGEND)}</p>')
    parts.append(_charts_html(w))
    parts.append("<h2>Dutch firms</h2>")
    dutch = _dutch_rows(w)
    parts.append(_html_table(_FIRM_HEAD, dutch, {5}) if dutch else
                 "<p>No Dutch firm makes a component hit by the measure or downstream of "
                 "one.</p>")
    parts.append("<h2>Sources</h2>")
    items = _source_items(w)
    if items:
        lis = []
        for sid, text, url in items:
            link = (f' <a href="{_e(url)}" rel="noopener noreferrer">{_e(url)}</a>'
                    if url else "")
            lis.append(f"<li><strong>{_e(sid)}</strong>: {_e(text)}{link}</li>")
        parts.append("<ul>" + "".join(lis) + "</ul>")
    else:
        parts.append("<p>No sources recorded for these figures.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
