"""Scenario sweeps: every unit of a level (or every pair, or random draws) cut in turn.

A sweep evaluates many scenarios on the compiled engine, a batch of them at a time (each
scenario a column of the arrays), and yields the results as chunks of one long table with a
row per scenario and component. Nothing holds the whole table: a writer streams the chunks to
a file, and a Dask cluster can evaluate the batches (:mod:`semigraph.engine.distributed`).

Notes
-----
Scenario ids are the cut units joined by ``+`` in the order of the plan's units
(``CHN+TWN``); a Monte Carlo draw with no unit cut is ``none``. ``measure="headline"`` is the
simulation of engine README 4.1 taken ``step`` days at a time between events (step 1: the exact
daily simulation; see :func:`semigraph.engine.propagation.evaluate`); ``"steady"`` is the
static bound alone. A level's units are those that supply something: countries with
production sites, blocs, firms with supply rows, every component.

With ``uncertainty`` (engine README 4.8) every scenario is also run under the same seeded
draws of the dataset's uncertain figures (common random numbers: two scenarios differ by
their cuts, not by their draws), and each row gains the 5th, 50th and 95th percentile of its
readings over the draws (:func:`semigraph.engine.uncertainty.band_columns`): exactly what
:func:`semigraph.engine.uncertainty.whatif_bands` gives for that scenario alone with the same
seed, simulated ``step`` days at a time as the sweep is.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from semigraph.engine.compiled import compile_model
from semigraph.engine.propagation import evaluate_resolved, resolve
from semigraph.engine.scenario import Disruption, Scenario
from semigraph.engine.units import resolve_targets, units_at_level
from semigraph.engine.workers import follow_parent, processes_for
from semigraph.errors import ScenarioError

__all__ = ["FIELDS", "LEVELS", "MAX_MINUTES", "MEASURES", "STEP", "FigureDraws", "Summary",
           "SweepPlan", "SweepTooLarge", "batch_size", "evaluate_batch", "groups_by_overlap",
           "in_order", "plan_batches", "plan_sweep", "scenario_id", "summarize", "sweep_chunks",
           "sweep_units", "sweep_work"]

LEVELS = ("country", "bloc", "firm", "component")
MEASURES = ("headline", "steady")
#: Result fields of each measure, after ``scenario`` (and ``draw``) and ``component``.
FIELDS = {
    "headline": ("availability", "availability_high", "availability_tied", "steady_state",
                 "time_to_survive_days", "tied_short_from_day", "recovery_day", "recovered",
                 "lost_days", "exposed_share"),
    "steady": ("steady_state",),
}
#: Scenarios evaluated at once for the steady measure.
STEADY_CHUNK = 12
#: Days taken at once between events in a headline sweep (tests/bench shows why).
STEP = 14
#: Monte Carlo draws generated at once.
DRAW_BATCH = 4096
#: A sweep whose estimated work exceeds this many minutes is refused unless its scenarios
#: are allowed explicitly (``max_scenarios``).
MAX_MINUTES = 60
#: Components x simulated steps a second, per scenario (the bundled dataset's pairs of
#: country stops on two cores; a steady sweep counts one step).
RATE = 500_000


def sweep_units(model, level: str) -> list[str]:
    """The units of ``level`` a sweep cuts, sorted."""
    if level == "bloc":
        return sorted(model.blocs)
    if level not in LEVELS:
        raise ScenarioError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return units_at_level(model, level)


@dataclass(frozen=True, eq=False)
class FigureDraws:
    """The draws of the uncertain figures every scenario of a sweep runs under: the ranged
    ``figures`` and their ``values`` (``(draws, figures)``, from
    :func:`semigraph.engine.uncertainty.sample` with ``seed``)."""

    figures: object  # semigraph.engine.uncertainty.Figures
    values: np.ndarray
    seed: int | None

    def __len__(self) -> int:
        return len(self.values)

    def record(self) -> dict:
        """How the draws were made, as a what-if with ``uncertainty`` records it."""
        return {"draws": len(self), "seed": self.seed, "figures": len(self.figures),
                "sampling": "uniform on each range; shares of a component drawn jointly; "
                            "the same draws for every scenario"}


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep evaluates: the units, how they are combined and cut, and what is kept.

    With ``draws`` (Monte Carlo: that many draws) each unit is cut with its
    ``probabilities`` entry, independently, from a generator seeded with ``seed``; the draws
    are generated as they are read, a few thousand at a time, so memory does not grow with
    their number. Otherwise the scenarios are every combination of ``order`` units.
    """

    level: str
    units: tuple[str, ...]
    order: int = 1
    mode: str | None = None
    severity: float = 1.0
    duration_days: float | None = None
    horizon: int = 365
    perspective: str | None = None
    measure: str = "headline"
    step: int = STEP
    components: tuple[str, ...] = ()  # the components reported
    draws: int | None = None
    seed: int | None = None
    probabilities: tuple[float, ...] = ()
    #: With uncertainty bands: the figure draws every scenario runs under.
    figure_draws: FigureDraws | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        if self.draws is not None:
            return self.draws
        return math.comb(len(self.units), self.order)

    def unit_sets(self) -> Iterator[tuple[int, ...]]:
        """Indices into ``units`` of each scenario's cut units, in plan order."""
        if self.draws is None:
            yield from combinations(range(len(self.units)), self.order)
            return
        rng = np.random.default_rng(self.seed)
        p = np.asarray(self.probabilities, dtype=float)
        for start in range(0, self.draws, DRAW_BATCH):
            hit = rng.random((min(DRAW_BATCH, self.draws - start), len(self.units))) < p[None, :]
            for row in hit:
                yield tuple(np.flatnonzero(row).tolist())

    def disruption(self, i: int) -> Disruption:
        """How the plan cuts unit ``i``."""
        return Disruption(self.units[i], severity=self.severity, mode=self.mode,
                          duration_days=self.duration_days)

    def scenario(self, cut: tuple[int, ...]) -> Scenario:
        return Scenario(tuple(self.disruption(i) for i in cut), perspective=self.perspective,
                        horizon=self.horizon)

    @property
    def simulations(self) -> int:
        """Runs of the network the sweep asks for: each scenario once, or once per draw of
        the figures with uncertainty bands."""
        return len(self) * (len(self.figure_draws) if self.figure_draws is not None else 1)

    def record(self) -> dict:
        """The plan as result metadata."""
        extra = ({"uncertainty": self.figure_draws.record()}
                 if self.figure_draws is not None else {})
        return {"level": self.level, "order": self.order, "units": len(self.units),
                "scenarios": len(self), "mode": self.mode or "default", "severity": self.severity,
                "duration_days": self.duration_days, "horizon": self.horizon,
                "perspective": self.perspective or "rest of the world", "measure": self.measure,
                "step_days": self.step if self.measure == "headline" else None,
                "components": len(self.components), "monte_carlo": self.draws is not None,
                "seed": self.seed, **extra}


def plan_sweep(model, *, level: str = "country", order: int = 1,
               targets: Sequence[str] | None = None, mode: str | None = None,
               severity: float = 1.0, duration_days: float | None = None, horizon: int = 365,
               perspective: str | None = None, measure: str = "headline",
               all_components: bool = False, monte_carlo: int | None = None,
               probability: float | dict[str, float] = 0.05, seed: int = 0,
               step: int = STEP, max_scenarios: int | None = None,
               uncertainty: int | None = None, ranges: pd.DataFrame | None = None) -> SweepPlan:
    """Check a sweep's parameters against the model and fix its scenarios.

    ``targets`` limits the units (ids of ``level``; the default is every unit of the level).
    ``monte_carlo`` draws that many scenarios instead of the combinations: each unit is cut
    with ``probability`` (one figure for all, or a mapping unit -> probability; units left
    out are never cut), independently, from a generator seeded with ``seed``.

    ``uncertainty`` runs every scenario under that many draws of the uncertain figures
    (``ranges``, default the dataset's ``uncertainty`` table; drawn once, with ``seed``, and
    the same for every scenario) and adds their bands to each row (module Notes). It needs
    the headline measure: the bands are of the simulated readings.

    Before anything runs, the work is estimated (scenarios x components x simulated steps):
    a sweep estimated to take more than :data:`MAX_MINUTES` is refused
    (:class:`SweepTooLarge`) with the estimate and how to narrow it, unless ``max_scenarios``
    allows its scenarios explicitly; a sweep of more scenarios than ``max_scenarios`` is
    refused in any case. With ``uncertainty`` the count is of simulations (scenarios x
    draws), against the same limits.
    """
    if measure not in MEASURES:
        raise ScenarioError(f"unknown measure {measure!r}; use headline or steady")
    if mode not in (None, "export", "outage"):
        raise ScenarioError(f"unknown mode {mode!r}; use export or outage")
    if mode == "export" and level == "component":
        raise ScenarioError("cutting a component is an outage; --mode export applies to "
                            "countries, blocs and firms")
    if step < 1:
        raise ScenarioError("step must be at least one day")
    every = sweep_units(model, level)
    if targets:
        known = set(every)
        units = []
        for t in targets:
            unit = model.resolve(t)  # unknown ids raise with a suggestion
            if unit.id not in known:
                raise ScenarioError(f"{unit.id} is not a {level} unit that supplies something")
            if unit.id not in units:
                units.append(unit.id)
    else:
        units = every
    if not units:
        raise ScenarioError(f"no {level} units to sweep")
    if perspective is not None:
        model.resolve(perspective)
    if not 1 <= order <= len(units) and monte_carlo is None:
        raise ScenarioError(f"order {order} needs at least {order} units; the sweep has "
                            f"{len(units)}")
    shown = (sorted(model.components["id"]) if all_components
             else resolve_targets(model, ["stage:end_use"]))
    draws = None
    if monte_carlo is not None:
        if monte_carlo < 1:
            raise ScenarioError("--monte-carlo needs at least one draw")
        if isinstance(probability, dict):
            for unit in set(probability) - set(units):  # a typo must not cut nothing quietly
                model.resolve(unit)  # an unknown id: the error suggests the nearest ones
                raise ScenarioError(f"probability given for {unit!r}, which is not a {level} "
                                    "unit that supplies something")
            p = np.array([float(probability.get(u, 0.0)) for u in units])
        else:
            p = np.full(len(units), float(probability))
        if ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
            raise ScenarioError("probabilities must lie between 0 and 1")
        draws = monte_carlo  # generated as they are read (SweepPlan.unit_sets)
    figure_draws = None
    if uncertainty is not None:
        figure_draws = _figure_draws(model, measure, uncertainty, ranges, seed)
    plan = SweepPlan(level=level, units=tuple(units), order=order, mode=mode,
                     severity=severity, duration_days=duration_days, horizon=horizon,
                     perspective=perspective, measure=measure, step=step,
                     components=tuple(shown), draws=draws,
                     seed=seed if monte_carlo is not None else None,
                     probabilities=tuple(p.tolist()) if monte_carlo is not None else (),
                     figure_draws=figure_draws)
    _check_size(model, plan, max_scenarios)
    return plan


def _figure_draws(model, measure: str, n: int, ranges: pd.DataFrame | None,
                  seed: int | None) -> FigureDraws:
    """The seeded draws of the figures a sweep with uncertainty bands runs every scenario
    under: those :func:`semigraph.engine.uncertainty.whatif_bands` draws for a scenario."""
    from semigraph.engine.uncertainty import figures, ranges_of, sample

    if measure != "headline":
        raise ScenarioError("--uncertainty bands are of the simulated readings: use the "
                            "headline measure (drop --measure steady)")
    if n < 1:
        raise ScenarioError(f"uncertainty needs at least 1 draw, not {n}")
    figs = figures(model, ranges_of(model) if ranges is None else ranges)
    return FigureDraws(figs, sample(figs, n, seed), seed)


class SweepTooLarge(ScenarioError):
    """A sweep larger than the limits, refused before it starts."""


def sweep_work(model, plan: SweepPlan) -> tuple[int, float]:
    """The work a sweep asks for: components x simulated steps over its simulations
    (:attr:`SweepPlan.simulations`), and the estimated minutes at :data:`RATE`."""
    c = compile_model(model)
    steps = math.ceil((plan.horizon + 1) / plan.step) + 1 if plan.measure == "headline" else 1
    work = plan.simulations * c.n_components * steps
    return work, work / RATE / 60


def _check_size(model, plan: SweepPlan, max_scenarios: int | None) -> None:
    n = len(plan)
    sets = f"every set of {plan.order} of " if plan.order > 1 else ""
    what = (f"{n:,} random draws" if plan.draws is not None else
            f"{n:,} scenarios ({sets}{len(plan.units):,} {plan.level} units)")
    sims = plan.simulations
    if plan.figure_draws is not None:
        k = len(plan.figure_draws)
        what += f" x {k:,} --uncertainty draws = {sims:,} simulations"
    if max_scenarios is not None:
        if n > max_scenarios:
            raise SweepTooLarge(f"the sweep has {what}, more than --max-scenarios "
                                f"{max_scenarios:,}")
        if sims > max_scenarios:
            raise SweepTooLarge(f"the sweep has {what}, more than --max-scenarios "
                                f"{max_scenarios:,}; use fewer --uncertainty draws or fewer "
                                f"scenarios, or allow it with --max-scenarios {sims}")
        return
    _, minutes = sweep_work(model, plan)
    if minutes > MAX_MINUTES:
        fewer = " fewer --uncertainty draws," if plan.figure_draws is not None else ""
        steady = "" if plan.figure_draws is not None else " --measure steady"
        raise SweepTooLarge(
            f"the sweep has {what} over {compile_model(model).n_components:,} components: "
            f"an estimated {minutes:,.0f} minutes of work, more than the limit of "
            f"{MAX_MINUTES} minutes; narrow it with{fewer} --targets, a lower --order, fewer "
            f"--monte-carlo draws,{steady} or a longer --step, or allow it with "
            f"--max-scenarios {sims}")


def scenario_id(plan: SweepPlan, cut: tuple[int, ...]) -> str:
    """A scenario's id: its units joined by ``+``; ``none`` when it cuts nothing."""
    return "+".join(plan.units[i] for i in cut) or "none"


def evaluate_batch(model, plan: SweepPlan, cuts: Sequence[tuple[int, ...]],
                   draw_numbers: Sequence[int] | None = None) -> pd.DataFrame:
    """The long-table rows of a batch of scenarios (``cuts``: unit indices per scenario).

    Scenarios that cut the same units are evaluated once. Pure: a Dask worker runs it on its
    copy of the model.
    """
    c = compile_model(model)
    unique = list(dict.fromkeys(cuts))
    column = {cut: j for j, cut in enumerate(unique)}
    cache: dict[int, object] = {}

    def resolved(i: int):
        if i not in cache:
            cache[i] = resolve(model, c, plan.disruption(i))
        return cache[i]

    headline = plan.measure == "headline"
    scenarios = tuple(plan.scenario(cut) for cut in unique)
    batch = [[resolved(i) for i in cut] for cut in unique]
    if headline:
        fields = _simulate_grouped(model, scenarios, batch, plan.step)
    else:
        steady = np.empty((c.n_components, len(scenarios)))
        for i in range(0, len(scenarios), STEADY_CHUNK):  # no join of the engine's arrays
            part = slice(i, i + STEADY_CHUNK)
            steady[:, part] = evaluate_resolved(model, scenarios[part], batch[part],
                                                timeline=False, bounds=False).steady_state
        fields = {"steady_state": steady}
    rows = np.array([c.index[x] for x in plan.components], dtype=np.int64)
    cols = np.array([column[cut] for cut in cuts], dtype=np.int64)
    n_rows, n_cols = len(rows), len(cols)
    grid = np.ix_(rows, cols)

    def flat(a: np.ndarray) -> np.ndarray:
        return a[grid].T.reshape(-1)  # scenario-major: one scenario's components together

    # scenario and component as categories: a long table repeats them millions of times
    ids = [scenario_id(plan, cut) for cut in cuts]
    names = list(dict.fromkeys(ids))
    code = {name: k for k, name in enumerate(names)}
    data: dict[str, object] = {"scenario": pd.Categorical.from_codes(
        np.repeat(np.array([code[i] for i in ids], dtype=np.int32), n_rows), categories=names)}
    if plan.draws is not None:
        data["draw"] = np.repeat(np.asarray(draw_numbers, dtype=np.int64), n_rows)
    data["component"] = pd.Categorical.from_codes(
        np.tile(np.arange(n_rows, dtype=np.int32), n_cols), categories=list(plan.components))
    if headline:  # the day fields as whatif gives them: empty where never short
        first, rec = flat(fields["time_to_survive"]), flat(fields["recovery"])
        never = first < 0

        def days(values, dtype):
            out = pd.array(values, dtype=dtype)
            out[never] = pd.NA
            return out

        data["availability"] = flat(fields["availability"])
        data["availability_high"] = flat(fields["availability_high"])
        data["availability_tied"] = flat(fields["availability_tied"])
        data["steady_state"] = flat(fields["steady_state"])
        data["time_to_survive_days"] = days(np.maximum(first, 0), "Int64")
        tied = flat(fields["tied_short_from_day"])
        data["tied_short_from_day"] = pd.array(np.maximum(tied, 0), dtype="Int64")
        data["tied_short_from_day"][tied < 0] = pd.NA
        data["recovery_day"] = days(np.where(rec >= 0, rec, plan.horizon), "Int64")
        data["recovered"] = days(rec >= 0, "boolean")
        data["lost_days"] = flat(fields["lost_days"])
        data["exposed_share"] = flat(fields["exposed_share"])
    else:
        data["steady_state"] = flat(fields["steady_state"])
    if plan.figure_draws is not None:
        data.update(_band_columns(model, plan, unique, cuts))
    return pd.DataFrame(data)


def _band_columns(model, plan: SweepPlan, unique: list, cuts: Sequence[tuple[int, ...]]
                  ) -> dict[str, object]:
    """The band columns of a batch's rows: each scenario run once under the plan's figure
    draws (:func:`semigraph.engine.uncertainty.draws`, all draws batched), as
    :func:`semigraph.engine.uncertainty.whatif_bands` runs it."""
    from semigraph.engine.uncertainty import band_columns, bands, draws

    fd = plan.figure_draws
    # without a ranged figure every draw is the plain answer: one draw gives them all
    values = fd.values if len(fd.figures) else fd.values[:1]
    shown = list(plan.components)
    per = {cut: bands(draws(model, plan.scenario(cut), values, fd.figures, step=plan.step)
                      ).loc[shown].reset_index(drop=True)
           for cut in unique}
    table = pd.concat([per[cut] for cut in cuts], ignore_index=True)
    return {name: table[name].array for name in band_columns()}


#: Fixed cost of simulating a group of scenarios, in components simulated per scenario: a
#: scenario joins a group when the components the group then simulates for it cost less than
#: simulating it alone (measured on the synthetic benchmark network).
GROUP_OVERHEAD = 15000
_HEADLINE_FIELDS = ("availability", "availability_high", "availability_tied", "steady_state",
                    "time_to_survive", "tied_short_from_day", "recovery", "lost_days",
                    "exposed_share")


def groups_by_overlap(touched: np.ndarray, *, overhead: int = GROUP_OVERHEAD,
                      largest: int = 64) -> list[list[int]]:
    """Columns of ``touched`` (components x scenarios, bool: the static bound is below 1)
    grouped for simulation: the simulation of a group runs over every component any member
    touches, for every member, so scenarios are grouped only where that costs less than
    simulating them apart (greedy, largest first)."""
    sizes = touched.sum(axis=0)
    groups: list[tuple[list[int], np.ndarray]] = []
    for j in np.argsort(-sizes, kind="stable"):
        best, best_gain = None, 0.0
        for g, (members, union) in enumerate(groups):
            if len(members) >= largest:
                continue
            joined = int(np.count_nonzero(union | touched[:, j]))
            extra = joined * (len(members) + 1) - int(union.sum()) * len(members)
            gain = sizes[j] + overhead - extra
            if gain > best_gain:
                best, best_gain = g, gain
        if best is None:
            groups.append(([int(j)], touched[:, j].copy()))
        else:
            groups[best][0].append(int(j))
            groups[best][1][:] |= touched[:, j]
    return [members for members, _ in groups]


def _simulate_grouped(model, scenarios, batch, step: int) -> dict[str, np.ndarray]:
    """The headline fields (components x scenarios) of a batch, simulated in groups of
    scenarios that touch the same components (see :func:`groups_by_overlap`)."""
    # the static bound of the whole batch, to group it; each group's simulation computes it
    # again for its own members (one pass against the simulation's many)
    quick = evaluate_resolved(model, scenarios, batch, timeline=False, bounds=False)
    touched = (quick.steady < 1.0).any(axis=0)
    out = {name: np.empty(touched.shape, dtype=np.int64 if name in (
               "time_to_survive", "tied_short_from_day", "recovery") else float)
           for name in _HEADLINE_FIELDS}
    for members in groups_by_overlap(touched):
        ev = evaluate_resolved(model, tuple(scenarios[j] for j in members),
                               [batch[j] for j in members], step=step)
        for name in _HEADLINE_FIELDS:
            out[name][:, members] = getattr(ev, name)
    return out


def batch_size(model, plan: SweepPlan) -> int:
    """Scenarios per batch: enough columns to amortise a pass over the levels, few enough to
    stay within the engine's memory budget (which splits larger batches itself). With
    uncertainty bands each scenario is that many simulations of the whole network, run
    scenario by scenario: a batch holds about :data:`BAND_BATCH` simulations (at least one
    scenario), so progress is reported and work shared among the processes as it goes."""
    c = compile_model(model)
    size = int(min(512, max(8, 1_000_000 // max(1, c.n_components))))
    if plan.figure_draws is not None:
        size = max(1, min(size, BAND_BATCH // len(plan.figure_draws)))
    return size


#: Simulations (scenarios x figure draws) per batch of a sweep with uncertainty bands.
BAND_BATCH = 100

_SHARED: dict = {}  # the model and plan a forked worker process inherits


def _run_shared(cuts, numbers) -> pd.DataFrame:
    os.environ["SEMIGRAPH_MEMORY_MB"] = str(_SHARED["memory_mb"])  # this worker's share
    return evaluate_batch(_SHARED["model"], _SHARED["plan"], cuts, numbers)


def plan_batches(plan: SweepPlan, size: int) -> Iterator[tuple[list, list]]:
    """The plan's scenarios in batches of ``size``: (unit indices, scenario numbers)."""
    cuts: list[tuple[int, ...]] = []
    numbers: list[int] = []
    for number, cut in enumerate(plan.unit_sets()):
        cuts.append(cut)
        numbers.append(number)
        if len(cuts) == size:
            yield cuts, numbers
            cuts, numbers = [], []
    if cuts:
        yield cuts, numbers


def in_order(submit: Callable, batches, depth: int,
             progress: Callable[[int], None] | None = None) -> Iterator[pd.DataFrame]:
    """Results of ``submit(cuts, numbers)`` (a future) for each batch, in batch order, with
    at most ``depth`` batches in flight so finished results never pile up."""
    window: deque = deque()

    def oldest():
        n, future = window.popleft()
        result = future.result()
        if progress:
            progress(n)
        return result

    for cuts, numbers in batches:
        window.append((len(cuts), submit(cuts, numbers)))
        if len(window) >= depth:
            yield oldest()
    while window:
        yield oldest()


def sweep_chunks(model, plan: SweepPlan, *, size: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 processes: int | None = None) -> Iterator[pd.DataFrame]:
    """The sweep's long table, a batch of scenarios at a time, in plan order.

    Batches run in ``processes`` worker processes (default: one per core, at most four; 1 =
    in this process). The workers are forked from this one after the model is compiled, so
    they share it rather than copy or recompile it, and split the engine's memory budget;
    where the platform cannot fork, the batches run here. At most one batch per worker, and
    one more, are in flight. ``progress`` is called with the number of scenarios each
    finished batch held.
    """
    size = size or batch_size(model, plan)
    processes = processes_for(processes, max(1, len(plan)))
    compile_model(model)  # before forking: the workers inherit it
    if processes == 1 or len(plan) <= size or "fork" not in mp.get_all_start_methods():
        for cuts, numbers in plan_batches(plan, size):
            yield evaluate_batch(model, plan, cuts, numbers)
            if progress:
                progress(len(cuts))
        return
    from semigraph.engine.propagation import _budget

    _SHARED.update(model=model, plan=plan, memory_mb=max(64, (_budget() >> 20) // processes))
    try:
        with ProcessPoolExecutor(processes, mp_context=mp.get_context("fork"),
                                 initializer=follow_parent,
                                 initargs=(os.getpid(), threading.current_thread()
                                           is threading.main_thread())) as pool:
            yield from in_order(lambda cuts, numbers: pool.submit(_run_shared, cuts, numbers),
                                plan_batches(plan, size), processes + 1, progress)
    finally:
        _SHARED.clear()


class Summary:
    """One row per scenario of a sweep, gathered from its chunks: the lowest reported
    component and its value (with uncertainty bands, also that component's 5th and 95th
    percentile, ``lowest_p05`` and ``lowest_p95``), how many reported components go short
    (below 0.99) and, for the headline measure, their lost days summed and the same lowest
    value and count with buyers tied to their supplier (``lowest_tied``,
    ``components_short_tied``)."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.parts: list[pd.DataFrame] = []

    def add(self, chunk: pd.DataFrame) -> None:
        """Summarise a chunk of whole scenarios (each one's components together, in the
        plan's order, as :func:`evaluate_batch` gives them)."""
        value = "availability" if self.plan.measure == "headline" else "steady_state"
        n = len(self.plan.components)
        if not len(chunk) or not n:
            return
        values = chunk[value].to_numpy(dtype=float).reshape(-1, n)
        first = values.argmin(axis=1)  # ties: the first component in the plan's (id) order
        out = {"scenario": np.asarray(chunk["scenario"].to_numpy()[::n], dtype=object)}
        if "draw" in chunk.columns:
            out["draw"] = chunk["draw"].to_numpy()[::n]
        out["lowest"] = values[np.arange(len(values)), first]
        out["lowest_component"] = np.asarray(self.plan.components, dtype=object)[first]
        if "availability_p05" in chunk.columns:  # that component's band, with bands
            for p in ("p05", "p95"):
                band = chunk[f"availability_{p}"].to_numpy(dtype=float).reshape(-1, n)
                out[f"lowest_{p}"] = band[np.arange(len(band)), first]
        out["components_short"] = (values < 0.99).sum(axis=1)
        if self.plan.measure == "headline":
            out["lost_days"] = chunk["lost_days"].to_numpy(dtype=float).reshape(-1, n).sum(axis=1)
            tied = chunk["availability_tied"].to_numpy(dtype=float).reshape(-1, n)
            out["lowest_tied"] = tied.min(axis=1)
            out["components_short_tied"] = (tied < 0.99).sum(axis=1)
        self.parts.append(pd.DataFrame(out))

    def table(self) -> pd.DataFrame:
        """Scenarios worst first: lowest value, then most lost days or most short."""
        if not self.parts:
            cols = ["scenario", "lowest", "lowest_component", "components_short"]
            return pd.DataFrame(columns=cols)
        frame = pd.concat(self.parts, ignore_index=True)
        by = ["lowest", "lost_days" if "lost_days" in frame else "components_short", "scenario"]
        return frame.sort_values(by, ascending=[True, False, True],
                                 kind="stable").reset_index(drop=True)


def summarize(plan: SweepPlan, table: pd.DataFrame) -> pd.DataFrame:
    """:class:`Summary` of a whole long table."""
    summary = Summary(plan)
    summary.add(table)
    return summary.table()
