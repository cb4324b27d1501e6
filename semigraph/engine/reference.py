"""A plain, slow statement of engine README section 4 over the networkx graph.

It reads the graph directly and computes one consumer at a time, day by day, with plain
Python numbers, so it shares no code with the compiled engine beyond unit-id resolution.
Tests hold the two against each other; use :func:`semigraph.engine.propagation.evaluate`
for real work.
"""

from __future__ import annotations

import math

import networkx as nx

from semigraph.engine.scenario import Scenario, with_overrides

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
        self.base: dict[str, str] = {}
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
        component = self.base.get(component, component)  # a captive view's rows are its own
        return _edge_hit(self.model, self.unit, self.d, supplier, component, site)

    def applies(self, r: str) -> bool:
        if self.kind == "ban":
            return r in self.dest
        if self.kind == "stop":
            return r == ROW or r not in self.stopping
        return True

    def active(self, t: int | None) -> bool:
        return t is None or self.d.duration_days is None or t < self.d.duration_days


#: Buyers per group in the tied reading, at the midpoints of equal slices of the stock spread.
BUYERS = 5
#: Days over which history is recorded (a month): the measures take the lowest such mean.
WINDOW = 30


def _window_low(days: list[float]) -> float:
    """The lowest mean over ``WINDOW`` consecutive days (the whole series when shorter)."""
    w = min(WINDOW, len(days))
    return min(sum(days[t:t + w]) / w for t in range(len(days) - w + 1))


def simulate_reference(model, scenario: Scenario, region: str | None = None, *,
                       high: bool = False, tied: bool = False) -> dict[str, dict]:
    """Day by day, for consumer ``region`` (country or bloc; ``None`` = the rest of the world).

    Returns ``{component: {"availability", "steady_state", "time_to_survive", "recovery",
    "lost_days", "series", "output", "output_series", "output_short", "supply_month",
    "exposed"}}`` (days -1 = never). ``high`` gives the upper allocation bound, ``tied`` the
    tied reading (buyers tied to their supplier until they qualify another).
    """
    model = with_overrides(model, scenario.overrides)
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

    supply = {c: [(s, d["site"], d["share_used"]) for s, _, d in g.in_edges(c, data=True)
                  if d["kind"] == "supplies"] for c in comps}
    groups: dict[str, dict] = {c: {} for c in comps}
    maker: dict[str, str] = {}
    for i, c, d in g.edges(data=True):
        if d["kind"] == "feeds":
            groups[c].setdefault(d["group"] or ("alone", i), []).append(i)
            if d.get("maker"):
                maker[c] = i

    # captive rows (engine README 4.5): a component with some gets a view per firm of them
    # (its captive rows, shares scaled to 1) and a merchant view (the other rows and the
    # unattributed rest, scaled to what they hold together); a row of firm F reads F's view
    # of an input, every other consumer the merchant view
    base_of: dict[str, str] = {}
    view: dict[tuple[str, str | None], str] = {}
    captive = {(c, s, d["site"]) for s, c, d in g.edges(data=True)
               if d["kind"] == "supplies" and d.get("captive")}
    real = list(comps)
    for m in real:
        rows = supply[m]
        mine = [r for r in rows if (m, r[0], r[1]) in captive]
        if not mine:
            continue
        total = sum(sh for _, _, sh in rows)
        norm = max(1.0, total)
        others = [r for r in rows if r not in mine]
        held = sum(sh for _, _, sh in others) / norm + max(0.0, 1.0 - total)
        mv = m + "~merchant"
        supply[mv] = ([(s, site, sh / norm / held) for s, site, sh in others]
                      if held > 1e-12 else list(rows))
        base_of[mv], view[(m, None)] = m, mv
        for firm in sorted({s for s, _, _ in mine}):
            own = [r for r in mine if r[0] == firm]
            tot = sum(sh for _, _, sh in own)
            cv = f"{m}~{firm}"
            supply[cv] = [(s, site, sh / tot if tot > 1e-12 else 1.0 / len(own))
                          for s, site, sh in own]
            base_of[cv], view[(m, firm)] = m, cv
    for v, m in base_of.items():
        groups[v] = groups[m]
        if m in maker:
            maker[v] = maker[m]
    comps = real + sorted(base_of)
    order = [v for c in order for v in [c, *sorted(x for x in base_of if base_of[x] == c)]]
    for d in ds:
        d.base = base_of

    def reads(i: str, s: str | None) -> str:
        """What a row of supplier ``s`` (None: the rest, or a component without rows) reads
        of input ``i``."""
        return view.get((i, s)) or view.get((i, None)) or i

    def num(c, key, default):
        v = attr[base_of.get(c, c)].get(key)
        return default if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def made(c: str, r: str, t: int | None, x, mk=None) -> float:
        """Supply of ``c`` to consumer ``r``; ``mk(supplier, site, k)`` (tied reading) gives
        the maker input as the row's own buyers see it."""
        act = active(c, t)
        rows = supply[c]
        value = own_supply(c, r, act, inputs_of(c, x, mk), rows, bans=True)
        bans = [d for d in act if d.kind == "ban" and d.applies(r)
                and any(d.hits(s, c, site) for s, site, _ in rows)]
        banned = set().union(*(d.dest for d in bans))
        if high and bans and all((c, xc) in cons for xc in banned):
            # the banned consumers served first from the supply that still reaches them
            need = sum(cons[(c, xc)] for xc in banned)
            free = own_supply(c, r, act, inputs_of(c, x, mk), rows, bans=False)
            pool = value * demand_of(c, r, act)
            value = max(value, min(free, pool / need if need > 0 else math.inf))
        return min(1.0, max(0.0, value)) * own_cut(c, r, act)

    def active(c: str, t: int | None) -> list:
        ttr = num(c, "ttr_days", None)
        restored = t is not None and ttr is not None and t >= ttr
        return [d for d in ds if d.active(t) and not restored]

    def own_cut(c: str, r: str, act) -> float:
        out = 1.0
        for d in act:
            if d.unit.kind == "component" and d.unit.id == base_of.get(c, c) and d.applies(r):
                out *= d.keep
        return out

    def inputs_of(c: str, x, mk):
        """I_k(c) as a function of the consumer k (and, in the tied reading, of the row's
        supplier and site: the maker input as the row's buyers see it)."""
        def inputs(k: str, s=None, site=None) -> float:
            vals = []
            for members in groups[c].values():
                best = 0.0
                for i in members:
                    v = (mk(s, site, k) if mk is not None and i == maker.get(c)
                         else x(reads(i, s), k))
                    if high:
                        v = min(1.0, v / num(i, "chain_share", 1.0))
                    best = max(best, v)
                vals.append(best)
            return min(vals, default=1.0)
        return inputs

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

    def surv_of(c, act, bans=True):
        def surv(s, site, rr):
            out = 1.0
            for d in act:
                if d.kind != "stop" and (bans or d.kind != "ban") and d.applies(rr) \
                        and d.hits(s, c, site):
                    out *= d.keep
            return out
        return surv

    def home_of(c, act):
        def home(s, site, xc):  # what other countries' stops leave xc's own consumers
            return math.prod(d.keep for d in act if d.kind == "stop" and d.applies(xc)
                             and d.hits(s, c, site))
        return home

    def own_supply(c: str, r: str, act, inputs, rows, *, bans: bool) -> float:
        """What consumer ``r`` gets of ``c``'s supply, before a cut of ``c`` itself; without
        ``bans``, as if no export ban reached ``r`` on ``c``'s own supply rows."""
        surv, home = surv_of(c, act, bans), home_of(c, act)
        if not rows:
            return inputs(r)
        norm = max(1.0, sum(sh for _, _, sh in rows))
        stops = [d for d in act if d.kind == "stop" and d.applies(r)]
        stopped = {(s, site) for s, site, _ in rows
                   if any(d.hits(s, c, site) for d in stops)}
        value = max(0.0, 1.0 - sum(sh for _, _, sh in rows)) * inputs(ROW)
        for s, site, sh in rows:
            if (s, site) not in stopped:
                value += sh * surv(s, site, r) * inputs(site, s, site) / norm
        served = served_by(c, r, act)  # own consumers first
        for s, site, sh in rows:  # what the stops leave of the stopped exports
            if (s, site) in stopped and site not in served:
                keep = math.prod(d.keep for d in stops if d.hits(s, c, site))
                value += keep * sh * surv(s, site, r) * inputs(site, s, site) / norm
        demand = 1.0
        for xc in sorted(served):
            keep = math.prod(d.keep for d in served[xc])
            pool = sum(sh * surv(s, site, xc) * home(s, site, xc) * inputs(xc, s, site) / norm
                       for s, site, sh in rows if site == xc and (s, site) in stopped)
            need = cons[(c, xc)]
            value += keep * max(0.0, pool - need) - max(0.0, need - pool)
            demand -= need
        return min(1.0, max(0.0, value / demand)) if demand > 1e-12 else 1.0

    def parts(c: str, r: str, t: int, x, mk) -> dict:
        """The buyer groups of ``c`` seen by consumer ``r`` on day ``t``: ``{row: (weight,
        output)}`` (row ``(supplier, site)``, or ``None`` for the unattributed rest), the
        pooled formula split by the supply row each group's buyers are tied to."""
        act = active(c, t)
        rows = supply[c]
        inputs = inputs_of(c, x, mk)
        surv, home = surv_of(c, act), home_of(c, act)
        norm = max(1.0, sum(sh for _, _, sh in rows))
        stops = [d for d in act if d.kind == "stop" and d.applies(r)]
        stopped = {(s, site) for s, site, _ in rows if any(d.hits(s, c, site) for d in stops)}
        served = served_by(c, r, act)
        out: dict = {}
        rest = max(0.0, 1.0 - sum(sh for _, _, sh in rows))
        if rest > 0:
            out[None] = (rest, inputs(ROW))
        for s, site, sh in rows:
            if (s, site) in stopped and site in served:
                continue
            keep = math.prod(d.keep for d in stops if d.hits(s, c, site))
            out[(s, site)] = (sh / norm, keep * surv(s, site, r) * inputs(site, s, site))
        drawn, imported = 0.0, 0.0  # what importing stopping countries draw, now and normally
        for xc in sorted(served):
            xs = [(s, site, sh) for s, site, sh in rows if site == xc and (s, site) in stopped]
            keep = math.prod(d.keep for d in served[xc])
            normal = sum(sh for _, _, sh in xs) / norm
            pool = sum(sh * surv(s, site, xc) * home(s, site, xc) * inputs(xc, s, site) / norm
                       for s, site, sh in xs)
            need = cons[(c, xc)]
            net = keep * max(0.0, pool - need) - max(0.0, need - pool)
            a = normal - need  # the stopping country's normal net exports: one group
            for s, site, sh in xs:
                out[(s, site)] = ((a * sh / norm / normal, net / a) if a > 1e-12
                                  else (0.0, 0.0))
            if a <= 1e-12:  # it normally imports: its draw falls on every other group
                drawn += net
                imported += a
        total = sum(w for w, _ in out.values())
        demand = total + imported  # what the groups serve: 1 less the stopping countries' use
        if total <= 1e-12 or demand <= 1e-12:
            return {}
        cut = own_cut(c, r, act)
        return {k: (w / total, min(1.0, max(0.0, (total * o + drawn) / demand)) * cut)
                for k, (w, o) in out.items()}

    # the static bound: all disruptions active, nothing restored, no stocks
    static: dict[tuple[str, str], float] = {}
    for c in order:
        for r in consumers:
            static[(c, r)] = made(c, r, None, lambda i, k: static[(i, k)])

    members = model.members(region) if region else (ROW,)
    horizon = scenario.horizon
    capital = {c: num(c, "renewal_days", None) is not None for c in comps}
    stock = {(c, r): (0.0 if capital[c] else num(c, "stock_days", 0.0))
             for c in comps for r in consumers}
    base = {(c, r): 1.0 for c in comps for r in consumers}
    series: dict[str, list[float]] = {c: [] for c in comps}
    out_series: dict[str, list[float]] = {c: [] for c in comps}
    exposed = dict.fromkeys(comps, 0.0)

    # the tied reading's groups: a component's own rows, or its maker input's groups
    def space(c: str):
        if supply[c]:
            return c
        return space(maker[c]) if c in maker else None

    def qualify(c: str) -> float:
        q = num(c, "qualify_days", None)
        if q is None and not supply[c] and c in maker:
            return qualify(maker[c])
        return q or 0.0

    tie = {c: tied and not capital[c] and qualify(c) > 0 and space(c) is not None
           for c in comps}
    spread = {}
    for c in comps:
        s = stock[(c, ROW)]
        lo = num(c, "stock_days_min", s)
        spread[c] = [lo + (s - lo) * (2 * j + 1) / BUYERS for j in range(BUYERS)]
    buyers: dict = {}  # (c, r, row) -> stocks of its five buyers
    weights: dict = {}  # (c, r) -> {row: weight} on the last grouped day
    held: dict = {}  # (c, r) -> {row: delivered} while c's groups hold
    short_w: dict = {}  # (c, r) -> {row: its largest weight on a day its output fell short}

    for t in range(horizon + 1):
        delivered: dict[tuple[str, str], float] = {}
        output: dict[tuple[str, str], float] = {}

        def seen(i: str, k: str, delivered=delivered) -> float:
            return base[(i, k)] if capital[i] else delivered[(i, k)]

        def grouped(c: str, t=t) -> bool:
            return tie[c] and t < qualify(c)

        space_w: dict = {}

        def weights_of(c: str, k: str, t=t, space_w=space_w) -> dict:
            """The weights of the groups of ``c``'s space seen by consumer ``k`` today."""
            root = space(c)
            if (root, k) not in space_w:
                space_w[(root, k)] = {g: w for g, (w, _) in
                                      parts(root, k, t, seen, None).items()}
            return space_w[(root, k)]

        for c in order:
            m = maker.get(c)
            for r in consumers:
                if not grouped(c):
                    if tie[c] and (c, r) in weights:  # the groups pool their stock on day Q
                        w = weights.pop((c, r))
                        stock[(c, r)] = sum(w[k] * sum(buyers[(c, r, k)]) / BUYERS
                                            for k in w)
                    made_now = made(c, r, t, seen)
                    d = min(1.0, made_now + stock[(c, r)])
                    stock[(c, r)] -= d - made_now
                    delivered[(c, r)] = d
                    output[(c, r)] = made_now
                    if r in members and made_now < 0.99 and not tie[c]:
                        exposed[c] = 1.0  # untied buyers share the one pool
                    continue

                def maker_value(s, k, firms=(), m=m):
                    """The maker input as the buyers of a row of firm ``s`` see it: the same
                    firm's groups of it where it has some, else the groups of firms that
                    make none of ``c``, in proportion; pooled once its groups have pooled."""
                    got = held.get((m, k)) if grouped(m) else None
                    if got is None:
                        return seen(m, k)
                    w = weights_of(m, k)
                    own = [g for g in got if g is not None and g[0] == s]
                    if not own:
                        own = [g for g in got if g is None or g[0] not in firms]
                    total = sum(w[g] for g in own)
                    if total <= 1e-12:
                        return seen(m, k)
                    return sum(w[g] * got[g] for g in own) / total

                if supply[c]:
                    firms_c = {s for s, _, _ in supply[c]}
                    mk = None if m is None else (
                        lambda s, site, k, f=firms_c, mv=maker_value: mv(s, k, f))
                    ps = parts(c, r, t, seen, mk)
                else:  # made by its buyers from the maker's groups
                    got = held.get((m, r)) if grouped(m) else None
                    nomaker = inputs_of(c, seen, lambda s, site, k: 1.0)(r)
                    cut = own_cut(c, r, active(c, t))
                    ps = {g: (w, min(nomaker, got[g] if got is not None else seen(m, r)) * cut)
                          for g, w in weights_of(m, r).items()}
                if not ps:  # no demand left to share: full supply
                    delivered[(c, r)] = output[(c, r)] = 1.0
                    continue
                weights[(c, r)] = {g: w for g, (w, _) in ps.items()}
                got_c, tot_d, tot_o = {}, 0.0, 0.0
                for g, (w, o) in ps.items():
                    st = buyers.setdefault((c, r, g), list(spread[c]))
                    dd = 0.0
                    for b in range(BUYERS):
                        db = min(1.0, o + st[b])
                        st[b] -= db - o
                        dd += db / BUYERS
                    got_c[g] = dd
                    tot_d += w * dd
                    tot_o += w * o
                    if o < 0.99:
                        had = short_w.setdefault((c, r), {})
                        had[g] = max(had.get(g, 0.0), w)
                held[(c, r)] = got_c
                delivered[(c, r)] = min(1.0, tot_d)
                output[(c, r)] = min(1.0, tot_o)
                if r in members:
                    exposed[c] = max(exposed[c], sum(short_w.get((c, r), {}).values()))
        for c in comps:
            renew = num(c, "renewal_days", None)
            for r in consumers:
                if renew:
                    base[(c, r)] += (delivered[(c, r)] - base[(c, r)]) / renew
            series[c].append(min(delivered[(c, m)] for m in members))
            out_series[c].append(min(output[(c, m)] for m in members))
    out = {}
    for c in real:
        days = series[c]
        first = next((t for t, v in enumerate(days) if v < 0.99), -1)
        rec = next((t for t in range(first + 1, len(days)) if days[t] >= 0.99), -1) \
            if first >= 0 else -1
        made_days = out_series[c]
        out[c] = {"availability": min(days), "steady_state": min(static[(c, m)]
                                                                  for m in members),
                  "time_to_survive": first, "recovery": rec,
                  "lost_days": sum(1.0 - v for v in days), "series": days,
                  "output": _window_low(made_days), "output_series": made_days,
                  "output_short": next((t for t, v in enumerate(made_days) if v < 0.99), -1),
                  "supply_month": _window_low(days), "exposed": exposed[c]}
    return out


def availability_reference(model, scenario: Scenario, region: str | None = None) -> dict:
    """The static bound of every component for consumer ``region`` (None = the rest of the
    world): ``{component id: steady_state}``."""
    ref = simulate_reference(model, scenario.with_(horizon=0), region)
    return {c: v["steady_state"] for c, v in ref.items()}
