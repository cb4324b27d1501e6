"""Units of the network: what a country, firm, site or component is as a disruption, the
targets a command names, and what each unit hits and reaches.

The findings (cut sets, sweeps, the fault-tree export) enumerate units of one *level*:
``country`` = every country where something is produced (site scope); ``firm`` = every
supplying firm; ``site`` = a firm's production in one country (``nexperia@CHN``), or a
component's production in one country where only country-level data exist (``gallium@CHN``);
``component`` = the component itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from semigraph.engine.compiled import Compiled, compile_model
from semigraph.engine.propagation import unit_hits
from semigraph.engine.scenario import Disruption
from semigraph.engine.whatif import STAGE_ORDER
from semigraph.errors import ScenarioError, UnknownUnitError

__all__ = ["LEVELS", "UnitSpace", "downstream", "resolve_targets", "unit_space",
           "units_at_level"]

LEVELS = ("country", "firm", "site", "component")


def units_at_level(model, level: str) -> list[str]:
    """The units of one level that supply something, as :meth:`Model.resolve` accepts them."""
    sup = model.supply
    if level == "country":
        return sorted(set(sup["site"]))
    if level == "firm":
        return sorted(set(sup.loc[sup["supplier_kind"] == "firm", "supplier"]))
    if level == "site":
        firm = sup["supplier_kind"] == "firm"
        out = {f"{f}@{s}" for f, s in zip(sup.loc[firm, "supplier"], sup.loc[firm, "site"])}
        out |= {f"{c}@{s}" for c, s in zip(sup.loc[~firm, "component"], sup.loc[~firm, "site"])}
        return sorted(out)
    if level == "component":
        return sorted(model.components["id"])
    raise ScenarioError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")


def resolve_targets(model, targets: Iterable[str]) -> list[str]:
    """Component ids named by ``targets``: component ids or ``stage:STAGE`` (all of a stage).

    Order is kept (stage expansions downstream-first by stage order, then by id); duplicates
    are dropped. Unknown ids raise :class:`UnknownUnitError` with a suggestion.
    """
    comps = model.components
    out: list[str] = []
    for text in targets:
        kind, _, rest = text.partition(":")
        if kind == "stage" and rest:
            stages = set(comps["stage"])
            if rest not in stages:
                raise UnknownUnitError(f"unknown stage {rest!r}; stages: "
                                       f"{', '.join(s for s in STAGE_ORDER if s in stages)}")
            out += sorted(comps.loc[comps["stage"] == rest, "id"])
            continue
        unit = model.resolve(text)
        if unit.kind != "component":
            raise UnknownUnitError(f"target {text!r} is a {unit.kind}, not a component; name a "
                                   "component (e.g. euv-scanner) or stage:STAGE")
        out.append(unit.id)
    return list(dict.fromkeys(out))


@dataclass(eq=False)
class UnitSpace:
    """The units of one level and what each hits, as boolean arrays.

    ``edge_hits``: per unit, the indices of the supply edges it stops (a list, so that many
    units over many edges stay small); ``comp_hits`` (U, C): components cut
    themselves; ``own`` (U, C): components whose own supply (or self) the unit hits;
    ``reach`` (U, C): ``own`` and everything downstream of it (what the unit can affect).
    """

    level: str
    units: list[str]
    edge_hits: list[np.ndarray]
    comp_hits: np.ndarray
    own: np.ndarray
    reach: np.ndarray


def unit_space(model, level: str, units: Sequence[str] | None = None) -> UnitSpace:
    """Hit and reach arrays of the units of ``level`` (or of the given ``units``)."""
    c = compile_model(model)
    units = list(units) if units is not None else units_at_level(model, level)
    n_u, n_c = len(units), c.n_components
    edge_hits: list[np.ndarray] = []
    comp_hits = np.zeros((n_u, n_c), dtype=bool)
    for k, u in enumerate(units):
        mask, comp = unit_hits(model, c, Disruption(u))
        edge_hits.append(mask)
        if comp is not None:
            comp_hits[k, comp] = True
    own = comp_hits.copy()
    for k in range(n_u):
        hit = edge_hits[k]
        own[k, c.e_comp[hit[c.e_share[hit] > 0]]] = True
    if level in ("country", "bloc") and len(c.j_comp):
        # a country that stops exports still draws its own consumption first (engine README 4.3),
        # so it reaches what it consumes even where it makes nothing
        for k, u in enumerate(units):
            members = [c.country_index[m] for m in model.members(model.resolve(u).id)]
            own[k, c.j_comp[np.isin(c.j_country, members)]] = True
    reach = (own.astype(np.float32) @ downstream(c).astype(np.float32)) > 0
    return UnitSpace(level, units, edge_hits, comp_hits, own, reach)


def downstream(c: Compiled) -> np.ndarray:
    """(C, C) bool: ``[i, j]`` when component j is i or lies downstream of i (needs i)."""
    down = np.eye(c.n_components, dtype=bool)
    for ci in range(c.n_components):  # topological order: inputs come first
        for _, members in c.groups[ci]:
            down[:, ci] |= down[:, members].any(axis=1)
    return down
