"""semigraph: the semiconductor value chain as a typed dependency graph.

>>> import semigraph
>>> model = semigraph.load()          # the bundled dataset
>>> sorted(model.graph.nodes["asml"])[:3]
['controlled_by', 'hq', 'kind']

Heavy modules (pandas, networkx) are imported on first use, so that the command line starts
fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from semigraph._version import __version__

if TYPE_CHECKING:
    from semigraph.errors import (
        DatasetError,
        ScenarioError,
        SemigraphError,
        UnknownUnitError,
    )
    from semigraph.model import Model, Unit, load

__all__ = [
    "DatasetError",
    "Model",
    "ScenarioError",
    "SemigraphError",
    "Unit",
    "UnknownUnitError",
    "__version__",
    "load",
]

_LAZY = {
    "load": "semigraph.model",
    "Model": "semigraph.model",
    "Unit": "semigraph.model",
    "DatasetError": "semigraph.errors",
    "ScenarioError": "semigraph.errors",
    "SemigraphError": "semigraph.errors",
    "UnknownUnitError": "semigraph.errors",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'semigraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
