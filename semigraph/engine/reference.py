"""A plain, slow statement of DESIGN.md section 4 over the networkx graph.

It reads the graph directly and computes one consumer at a time, day by day, with plain
Python numbers, so it shares no code with the compiled engine beyond unit-id resolution.
Tests hold the two against each other; use :func:`semigraph.engine.propagation.evaluate`
for real work.
"""

from __future__ import annotations

import math

import networkx as nx

from semigraph.engine.scenario import Scenario

__all__ = ["ROW", "availability_reference", "simulate_reference"]

ROW = "ROW"  # the unattributed rest of the world: outside every stop and destination list


def _edge_hit(model, unit, disruption, supplier: str, component: str, site: str) -> bool:
    g = model.graph
    if unit.kind in ("country", "bloc"):
        members = set(model.members(unit.id))
        if site in members:
            return True
        if disruption.scope == "control" and g.nodes[supplier]["kind"] == "firm":
            return g.nodes[supplier]["controlled_by"] in members
        return False
    if unit.kind == "firm":
        return supplier == unit.id
    if unit.kind == "site":
        return site == unit.country and (unit.firm is None or supplier == unit.firm) and (
            unit.component is None or component == unit.component)
    if unit.kind == "supply":
        return (component, supplier, site) == (unit.component, unit.firm, unit.country)
    return False


class _Disruption:
    """A disruption with its unit, kind (outage, ban, stop) and stopping countries."""

    def __init__(self, model, d) -> None:
        self.d = d
        self.unit = model.resolve(d.unit)
        mode = d.mode or ("export" if self.unit.kind in ("country", "bloc") else "outage")
        self.kind = "ban" if d.to else ("stop" if mode == "export" else "outage")
        self.whole = self.kind == "stop" and self.unit.kind in ("country", "bloc")
        self.keep = 1.0 - d.severity
        self.dest = {c for r in d.to for c in model.members(r)}
        self.model = model
        if self.kind == "stop" and self.unit.kind in ("country", "bloc"):
            self.stopping = set(model.members(self.unit.id))
        elif self.kind == "stop":
            self.stopping = {data["site"] for s, comp, data in model.graph.edges(data=True)
                             if data["kind"] == "supplies" and self.hits(s, comp, data["site"])}
        else:
            self.stopping = set()

    def hits(self, supplier: str, component: str, site: str) -> bool:
        if self.unit.kind == "component":
            return False
        return _edge_hit(self.model, self.unit, self.d, supplier, component, site)

    def applies(self, r: str) -> bool:
        if self.kind == "ban":
            return r in self.dest
        if self.kind == "stop":
            return r == ROW or r not in self.stopping
        return True

    def active(self, t: int | None) -> bool:
        return t is None or self.d.duration_days is None or t < self.d.duration_days


def simulate_reference(model, scenario: Scenario, region: str | None = None, *,
                       high: bool = False) -> dict[str, dict]:
    """Day by day, for consumer ``region`` (country or bloc; ``None`` = the rest of the world).

    Returns ``{component: {"availability", "steady_state", "time_to_survive", "recovery",
    "lost_days", "series"}}`` (days -1 = never). ``high`` gives the upper allocation bound.
    """
    g = model.graph
    comps = sorted(n for n, d in g.nodes(data=True) if d["kind"] == "component")
    feeds = nx.DiGraph()
    feeds.add_nodes_from(comps)
    feeds.add_edges_from((u, v) for u, v, d in g.edges(data=True) if d["kind"] == "feeds")
    order = list(nx.lexicographical_topological_sort(feeds))
    consumers = [ROW, *sorted(n for n, d in g.nodes(data=True) if d["kind"] == "country")]
    ds = [_Disruption(model, d) for d in scenario.disruptions]
    cons = {(r["component"], r["country"]): r["share"]
            for r in model.consumption.to_dict("records")}
    attr = g.nodes

    def num(c, key, default):
        v = attr[c].get(key)
        return default if v is None or (isinstance(v, float) and math.isnan(v)) else v

    supply = {c: [(s, d["site"], d["share_used"]) for s, _, d in g.in_edges(c, data=True)
                  if d["kind"] == "supplies"] for c in comps}
    groups: dict[str, dict] = {c: {} for c in comps}
    for i, c, d in g.edges(data=True):
        if d["kind"] == "feeds":
            groups[c].setdefault(d["group"] or ("alone", i), []).append(i)

    def made(c: str, r: str, t: int | None, x) -> float:
        ttr = num(c, "ttr_days", None)
        restored = t is not None and ttr is not None and t >= ttr
        act = [d for d in ds if d.active(t) and not restored]

        def inputs(k: str) -> float:
            vals = []
            for members in groups[c].values():
                best = 0.0
                for i in members:
                    v = x(i, k)
                    if high:
                        v = min(1.0, v / num(i, "chain_share", 1.0))
                    best = max(best, v)
                vals.append(best)
            return min(vals, default=1.0)

        rows = supply[c]
        value = own_supply(c, r, act, inputs, rows, bans=True)
        bans = [d for d in act if d.kind == "ban" and d.applies(r)
                and any(d.hits(s, c, site) for s, site, _ in rows)]
        banned = set().union(*(d.dest for d in bans))
        if high and bans and all((c, xc) in cons for xc in banned):
            # the banned consumers served first from the supply that still reaches them
            need = sum(cons[(c, xc)] for xc in banned)
            free = own_supply(c, r, act, inputs, rows, bans=False)
            pool = value * demand_of(c, r, act)
            value = max(value, min(free, pool / need if need > 0 else math.inf))
        for d in act:
            if d.unit.kind == "component" and d.unit.id == c and d.applies(r):
                value *= d.keep
        return min(1.0, max(0.0, value))

    def stops_at(c: str, xc: str, stops) -> list:
        """The stops that reach ``xc``'s own consumers of ``c``: a whole country's or bloc's,
        or one that stops some of ``c``'s supply made in ``xc``."""
        return [d for d in stops if xc in d.stopping and (d.whole or any(
            d.hits(s, c, site) for s, site, _ in supply[c] if site == xc))]

    def served_by(c: str, r: str, act) -> dict:
        """Stopping countries that serve their own consumers of ``c`` first, with their
        stops."""
        stops = [d for d in act if d.kind == "stop" and d.applies(r)]
        stopping = set().union(*(d.stopping for d in stops))
        out = {xc: stops_at(c, xc, stops) for xc in stopping if (c, xc) in cons}
        return {xc: ds for xc, ds in out.items() if ds}

    def demand_of(c: str, r: str, act) -> float:
        """The demand the export stops leave to share what reaches ``r`` (1 without them)."""
        return 1.0 - sum(cons[(c, xc)] for xc in served_by(c, r, act))

    def own_supply(c: str, r: str, act, inputs, rows, *, bans: bool) -> float:
        """What consumer ``r`` gets of ``c``'s supply, before a cut of ``c`` itself; without
        ``bans``, as if no export ban reached ``r`` on ``c``'s own supply rows."""

        def surv(s, site, rr):
            out = 1.0
            for d in act:
                if d.kind != "stop" and (bans or d.kind != "ban") and d.applies(rr) \
                        and d.hits(s, c, site):
                    out *= d.keep
            return out

        def home(s, site, xc):  # what other countries' stops leave xc's own consumers
            return math.prod(d.keep for d in act if d.kind == "stop" and d.applies(xc)
                             and d.hits(s, c, site))

        if not rows:
            value = inputs(r)
        else:
            norm = max(1.0, sum(sh for _, _, sh in rows))
            stops = [d for d in act if d.kind == "stop" and d.applies(r)]
            stopped = {(s, site) for s, site, _ in rows
                       if any(d.hits(s, c, site) for d in stops)}
            value = max(0.0, 1.0 - sum(sh for _, _, sh in rows)) * inputs(ROW)
            for s, site, sh in rows:
                if (s, site) not in stopped:
                    value += sh * surv(s, site, r) * inputs(site) / norm
            served = served_by(c, r, act)  # own consumers first
            for s, site, sh in rows:  # what the stops leave of the stopped exports
                if (s, site) in stopped and site not in served:
                    keep = math.prod(d.keep for d in stops if d.hits(s, c, site))
                    value += keep * sh * surv(s, site, r) * inputs(site) / norm
            demand = 1.0
            for xc in sorted(served):
                keep = math.prod(d.keep for d in served[xc])
                pool = sum(sh * surv(s, site, xc) * home(s, site, xc) * inputs(xc) / norm
                           for s, site, sh in rows if site == xc and (s, site) in stopped)
                need = cons[(c, xc)]
                value += keep * max(0.0, pool - need) - max(0.0, need - pool)
                demand -= need
            value = min(1.0, max(0.0, value / demand)) if demand > 1e-12 else 1.0
        return value

    # the static bound: all disruptions active, nothing restored, no stocks
    static: dict[tuple[str, str], float] = {}
    for c in order:
        for r in consumers:
            static[(c, r)] = made(c, r, None, lambda i, k: static[(i, k)])

    members = model.members(region) if region else (ROW,)
    horizon = scenario.horizon
    stock = {(c, r): (0.0 if num(c, "renewal_days", None) else num(c, "stock_days", 0.0))
             for c in comps for r in consumers}
    base = {(c, r): 1.0 for c in comps for r in consumers}
    series: dict[str, list[float]] = {c: [] for c in comps}
    for t in range(horizon + 1):
        delivered: dict[tuple[str, str], float] = {}

        def seen(i: str, k: str, delivered=delivered) -> float:
            return base[(i, k)] if num(i, "renewal_days", None) else delivered[(i, k)]

        for c in order:
            for r in consumers:
                m = made(c, r, t, seen)
                d = min(1.0, m + stock[(c, r)])
                stock[(c, r)] -= d - m
                delivered[(c, r)] = d
        for c in comps:
            renew = num(c, "renewal_days", None)
            for r in consumers:
                if renew:
                    base[(c, r)] += (delivered[(c, r)] - base[(c, r)]) / renew
            series[c].append(min(delivered[(c, m)] for m in members))
    out = {}
    for c in comps:
        days = series[c]
        first = next((t for t, v in enumerate(days) if v < 0.99), -1)
        rec = next((t for t in range(first + 1, len(days)) if days[t] >= 0.99), -1) \
            if first >= 0 else -1
        out[c] = {"availability": min(days), "steady_state": min(static[(c, m)]
                                                                  for m in members),
                  "time_to_survive": first, "recovery": rec,
                  "lost_days": sum(1.0 - v for v in days), "series": days}
    return out


def availability_reference(model, scenario: Scenario, region: str | None = None) -> dict:
    """The static bound of every component for consumer ``region`` (None = the rest of the
    world): ``{component id: steady_state}``."""
    ref = simulate_reference(model, scenario.with_(horizon=0), region)
    return {c: v["steady_state"] for c, v in ref.items()}
