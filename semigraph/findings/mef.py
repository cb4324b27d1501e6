"""A target's total-loss problem as an Open-PSA Model Exchange Format (MEF) fault tree.

At threshold 0 with every cut in full, availability is Boolean: a component is lost when it
is cut itself, when all its supply is lost (every supply row with a positive share is hit and
no unattributed rest of the world remains), or when any needed requirement group is lost (all
the group's alternatives are lost). The fault tree states exactly that, with one basic event
per unit (country, firm, site or component), so SCRAM, XFTA or any MEF tool can compute its
minimal cut sets and, given probabilities, the top event's probability.

Names: MEF identifiers hold letters, digits, ``_`` and ``-`` and start with a letter; a unit
``nexperia@CHN`` becomes ``nexperia_at_CHN``, and every basic event and gate carries the
original id in its label. The escaping is one-to-one, so distinct ids never share a name:
``_`` is written ``__``, ``@`` ``_at_``, any other character ``_xHEX_`` (``fab.x`` is
``fab_x2e_x``, ``fab_x`` is ``fab__x``), and a name that would not start with a letter gets
``u_`` in front.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from xml.etree import ElementTree as ET

import numpy as np

from semigraph.engine.compiled import compile_model
from semigraph.engine.units import resolve_targets, unit_space
from semigraph.findings.cutsets import ZERO

__all__ = ["fault_tree", "mef_name", "to_mef"]


_LETTERS = frozenset(string.ascii_letters)
_PLAIN = frozenset(string.ascii_letters + string.digits + "-")


def mef_name(text: str) -> str:
    """A MEF identifier for a unit or component id; distinct ids get distinct names (the
    escaping can be read back), and the same id always the same name."""
    name = "".join(c if c in _PLAIN else "__" if c == "_" else "_at_" if c == "@"
                   else f"_x{ord(c):x}_" for c in text)
    return name if name[:1] in _LETTERS else f"u_{name}"


def fault_tree(model, target: str, *, level: str = "country") -> tuple[dict, set[str]]:
    """The Boolean total-loss structure of ``target``.

    Returns ``(gates, events)``: ``gates`` maps a component id upstream of the target to its
    formula, a nested tuple ``("or"|"and", operand, ...)`` whose operands are
    ``("event", unit)``, ``("gate", component)`` or the constant ``False``; ``events`` is the
    set of units that occur in the target's tree. A component that cannot be lost has the
    formula ``False``.
    """
    c = compile_model(model)
    space = unit_space(model, level)
    [target] = resolve_targets(model, [target])
    t = c.index[target]
    hitters: list[list[int]] = [[] for _ in range(c.n_edges)]
    for k, edges in enumerate(space.edge_hits):
        for e in edges:
            hitters[e].append(k)
    cutters = [np.flatnonzero(space.comp_hits[:, i]) for i in range(c.n_components)]

    def simplify(op, parts):
        parts = [p for p in parts if p is not False] if op == "or" else parts
        if op == "and" and any(p is False for p in parts):
            return False
        parts = list(dict.fromkeys(parts))
        if not parts:
            return False  # an empty OR; an empty AND does not occur (supply rows exist)
        return parts[0] if len(parts) == 1 else (op, *parts)

    gates: dict[str, object] = {}
    events: set[str] = set()
    need = {t}
    order = []
    while need:  # the upstream cone, collected before building bottom-up
        i = need.pop()
        order.append(i)
        for _, members in c.groups[i]:
            need |= {m for m in members if m not in order}
    for i in sorted(set(order)):  # topological order: inputs first
        parts = [("event", space.units[u]) for u in cutters[i] if i != t or level != "component"]
        edges = np.flatnonzero((c.e_comp == i) & (c.e_share > 0))
        if len(edges) and c.rest[i] <= ZERO:
            parts.append(simplify("and", [simplify("or", [("event", space.units[u])
                                                          for u in hitters[e]])
                                          for e in edges]))
        for _, members in c.groups[i]:
            alts = [("gate", c.components[m]) if gates[c.components[m]] is not False else False
                    for m in members]
            parts.append(simplify("and", alts))
        gates[c.components[i]] = simplify("or", parts)
    stack = [gates[g] for g in _reachable(gates, target)]
    while stack:
        f = stack.pop()
        if isinstance(f, tuple) and f[0] == "event":
            events.add(f[1])
        elif isinstance(f, tuple) and f[0] != "gate":
            stack.extend(f[1:])
    return gates, events


def to_mef(model, targets: Sequence[str], *, level: str = "country") -> str:
    """An ``opsa-mef`` XML document with one fault tree per target (top gate
    ``lost-TARGET``).

    Examples
    --------
    >>> import semigraph
    >>> xml = to_mef(semigraph.load(), ["euv-scanner"], level="firm")
    >>> "<define-fault-tree" in xml
    True
    """
    root = ET.Element("opsa-mef")
    comps = model.components.set_index("id")
    all_events: set[str] = set()
    for target in resolve_targets(model, targets):
        gates, events = fault_tree(model, target, level=level)
        all_events |= events
        tree = ET.SubElement(root, "define-fault-tree", name=mef_name(f"loss-of-{target}"))
        ET.SubElement(tree, "label").text = (f"Total loss of {comps.at[target, 'name']} "
                                             f"({target}); basic events are {level} cuts")
        used = _reachable(gates, target)
        for comp in [g for g in gates if g in used]:
            gate = ET.SubElement(tree, "define-gate", name=_gate_name(comp, target))
            ET.SubElement(gate, "label").text = f"{comp} lost"
            _formula(gate, gates[comp], target)
    data = ET.SubElement(root, "model-data")
    for unit in sorted(all_events):
        ev = ET.SubElement(data, "define-basic-event", name=mef_name(unit))
        ET.SubElement(ev, "label").text = f"{level} {unit} stops supplying"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


def _reachable(gates: dict, target: str) -> set[str]:
    seen, todo = set(), [target]
    while todo:
        g = todo.pop()
        if g in seen:
            continue
        seen.add(g)
        stack = [gates[g]]
        while stack:
            f = stack.pop()
            if isinstance(f, tuple):
                if f[0] == "gate":
                    todo.append(f[1])
                elif f[0] != "event":
                    stack.extend(f[1:])
    return seen


def _gate_name(comp: str, target: str) -> str:
    # gate names are public in MEF, so each tree's gates carry the target's name
    return mef_name(f"lost-{target}" if comp == target else f"{target}--lost-{comp}")


def _formula(parent: ET.Element, f, target: str) -> None:
    if f is False:
        ET.SubElement(parent, "constant", value="false")
    elif f[0] == "event":
        ET.SubElement(parent, "basic-event", name=mef_name(f[1]))
    elif f[0] == "gate":
        ET.SubElement(parent, "gate", name=_gate_name(f[1], target))
    else:
        node = ET.SubElement(parent, f[0])
        for p in f[1:]:
            _formula(node, p, target)
