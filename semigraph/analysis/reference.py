"""A plain, slow statement of DESIGN.md section 4 over the networkx graph.

It reads the graph directly and recurses with memoisation, one consumer country at a time,
so it shares no code with the compiled engine beyond unit-id resolution. Tests hold the two
against each other; use :func:`semigraph.analysis.propagation.evaluate` for real work.
"""

from __future__ import annotations

from semigraph.analysis.scenario import Scenario

__all__ = ["availability_reference"]

ROW = "ROW"  # the unattributed rest of the world: a site outside every destination list


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


def availability_reference(model, scenario: Scenario, region: str | None = None) -> dict:
    """Availability of every component for consumer ``region`` (a country, or None = world).

    Returns ``{component id: availability}``.
    """
    g = model.graph
    resolved = [(d, model.resolve(d.unit)) for d in scenario.disruptions]
    dest = {id(d): {c for r in d.to for c in model.members(r)} for d in scenario.disruptions}

    def applies(d, r: str) -> bool:
        return not d.to or r in dest[id(d)]

    memo: dict[tuple[str, str], float] = {}

    def inputs_at(c: str, r: str) -> float:
        groups: dict[object, list[float]] = {}
        for i, _, _key, data in g.in_edges(c, keys=True, data=True):
            if data["kind"] == "feeds":
                gk = data["group"] if data["group"] else ("alone", i)
                groups.setdefault(gk, []).append(avail(i, r))
        return min((max(v) for v in groups.values()), default=1.0)

    def avail(c: str, r: str) -> float:
        if (c, r) in memo:
            return memo[(c, r)]
        supply = [(s, d["site"], d["share_used"]) for s, _, d in g.in_edges(c, data=True)
                  if d["kind"] == "supplies"]
        if not supply:
            value = inputs_at(c, r)
        else:
            total = sum(share for _, _, share in supply)
            value = 0.0
            for supplier, site, share in supply:
                survive = 1.0
                for d, unit in resolved:
                    if unit.kind != "component" and applies(d, r) and _edge_hit(
                            model, unit, d, supplier, c, site):
                        survive *= 1.0 - d.severity
                # the site judges its inputs from where it stands
                value += share * survive * inputs_at(c, site) / max(1.0, total)
            value += max(0.0, 1.0 - total) * inputs_at(c, ROW)
        for d, unit in resolved:
            if unit.kind == "component" and unit.id == c and applies(d, r):
                value *= 1.0 - d.severity
        memo[(c, r)] = min(1.0, max(0.0, value))
        return memo[(c, r)]

    r = region or ROW
    return {c: avail(c, r) for c, data in g.nodes(data=True) if data["kind"] == "component"}
