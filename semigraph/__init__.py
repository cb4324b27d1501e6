"""semigraph: the semiconductor value chain as a typed dependency graph.

>>> import semigraph
>>> net = semigraph.load()            # the bundled dataset, as a Network
>>> sorted(net.graph.nodes["asml"])[:3]
['controlled_by', 'hq', 'kind']
>>> res = net.whatif("CHN")           # China stops exports
>>> res.table.columns[:3].tolist()
['component', 'name', 'stage']

Heavy modules (pandas, networkx) are imported on first use, so that the command line starts
fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from semigraph._version import __version__

if TYPE_CHECKING:
    from semigraph.api import (
        Network,
        Result,
        WarningResult,
        WhatIfResult,
        import_cset,
        import_trade,
        load,
        merge_dataset,
        read_result_meta,
        validate,
    )
    from semigraph.compare import diff
    from semigraph.engine.scenario import Disruption, Scenario
    from semigraph.errors import (
        DatasetError,
        ScenarioError,
        SemigraphError,
        UnknownUnitError,
    )
    from semigraph.model import Model, Unit

__all__ = [
    "DatasetError",
    "Disruption",
    "Model",
    "Network",
    "Result",
    "Scenario",
    "ScenarioError",
    "SemigraphError",
    "SweepResult",
    "Unit",
    "UnknownUnitError",
    "WarningResult",
    "WhatIfResult",
    "__version__",
    "diff",
    "import_cset",
    "import_trade",
    "load",
    "merge_dataset",
    "read_result_meta",
    "validate",
]

_LAZY = {
    "load": "semigraph.api",
    "Network": "semigraph.api",
    "Result": "semigraph.api",
    "WhatIfResult": "semigraph.api",
    "SweepResult": "semigraph.api",
    "read_result_meta": "semigraph.api",
    "import_cset": "semigraph.api",
    "import_trade": "semigraph.api",
    "merge_dataset": "semigraph.api",
    "WarningResult": "semigraph.api",
    "validate": "semigraph.api",
    "diff": "semigraph.compare",
    "Scenario": "semigraph.engine.scenario",
    "Disruption": "semigraph.engine.scenario",
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
