"""A floor under the lowest day: a cheap lower bound of the day-by-day simulation.

The static bound (engine README section 4) is never above the lowest day, but it spends every
stock and restores nothing, so it often lies far below: a part whose only maker stops is at 0
in the static bound and at 1 on every day if its stock outlasts the days to restore it. The
floor keeps the static bound's single pass over the levels and adds what a component's own
stock, restoration and installed base guarantee within the horizon (engine README 4.7). It
is never above the lowest day and never below the static bound, so a cut-set search can
skip simulating a set whose floor already clears the threshold.
"""

from __future__ import annotations

import numpy as np

from semigraph.engine.compiled import compile_model, restrict_level
from semigraph.engine.propagation import (
    ROW,
    Resolved,
    _affected,
    _classes,
    _epoch,
    _inputs,
    _made,
    _on_views,
    _Run,
)

__all__ = ["lowest_day_floor"]


def lowest_day_floor(model, batch: list[list[Resolved]], horizon: int, *,
                     world: bool = True) -> np.ndarray:
    """A lower bound of every component's lowest delivered day within ``horizon`` (pooled
    reading, engine README 4.1) under each scenario of ``batch`` (resolved disruptions, one
    list per scenario).

    Parameters
    ----------
    model : Model
    batch : list of list of Resolved
        The disruptions of each scenario, as :func:`semigraph.engine.propagation.resolve`
        gives them.
    horizon : int
        Last day simulated (days 0 .. horizon).
    world : bool
        Return the rest of the world's floor ``(C, B)`` (default), else every consumer
        class's ``(K, C, B)``.

    Returns
    -------
    numpy.ndarray
        The floor, 0..1.

    Notes
    -----
    Level by level, inputs first, with every input at its floor (engine README 4.7):

    - ``M1``: the static formula (every disruption active, whatever their durations) and
      ``M2``: the same with the component's own supply restored; both are monotone in the
      inputs, so on every day before ``ttr_days`` the component makes at least ``M1``, and
      at least ``M2`` from then on.
    - A stock ``s`` falls by at most ``1 - M1`` a day before restoration and ``1 - M2``
      after, so the delivered supply on day ``t`` is at least ``min(1, M + s - drawn(t))``;
      its lowest value in each phase is on the phase's last day.
    - Capital equipment: users see an installed base that starts at 1 and moves towards the
      deliveries by ``1 / renewal_days`` a day, so it stays above
      ``d + (1 - d) x (1 - 1 / renewal_days) ** horizon`` when the deliveries stay above
      ``d`` (the component's own lowest day is its deliveries', ``d``).

    One pass, two evaluations of the supply formula per level: about twice the cost of the
    static bound.
    """
    real = compile_model(model)
    cls = _classes(real, batch)
    b = len(batch)
    ep = _epoch(real, cls, batch, lambda r: True)
    affected = _affected(real, batch)
    c = real.sim or real  # captive rows read their firm's view (engine README 4.5)
    if c is not real:
        affected = affected[c.comp_src]
        ep = _on_views(ep, c)
    run = _Run(c, b, np.zeros(b, dtype=bool), cls.country_class[c.e_site], np.arange(b))
    low = np.ones((cls.n, c.n_components, b))  # delivered: what the lowest day reports
    seen = np.ones((cls.n, c.n_components, b))  # what users get: capital's installed base
    h = float(max(0, horizon))
    for full in c.levels:
        if not affected[full.comps].any():
            continue
        level = restrict_level(full, affected[full.comps])
        comps = level.comps
        inputs = _inputs(run, level, seen)
        m1 = np.clip(_made(run, level, inputs, ep, None, x=seen) * ep.factor[:, comps, :], 0.0,
                     1.0)
        m2 = np.clip(_made(run, level, inputs, ep, np.ones(len(comps), dtype=bool), x=seen),
                     0.0, 1.0)
        stock = c.stock_days[comps][None, :, None]
        # days before the supply returns (t < ttr_days), within days 0 .. horizon
        before = np.minimum(h + 1.0, np.maximum(0.0, np.ceil(c.ttr_days[comps])))[None, :, None]
        first = np.minimum(1.0, m1 + np.maximum(0.0, stock - (before - 1.0) * (1.0 - m1)))
        first = np.where(before >= 1.0, first, 1.0)
        left = stock - before * (1.0 - m1)  # the stock left when the supply returns, at least
        after = np.minimum(1.0, m2 + np.maximum(0.0, left - (h - before) * (1.0 - m2)))
        after = np.where(before <= h, after, 1.0)
        d = np.minimum(first, after)
        low[:, comps, :] = d
        cap = c.capital[comps]
        if cap.any():
            renew = np.where(cap, c.renewal_days[comps], 1.0)
            q = np.clip(1.0 - 1.0 / renew, 0.0, 1.0)[None, :, None] ** h
            d = np.where(cap[None, :, None], d + (1.0 - d) * q, d)
        seen[:, comps, :] = d
    if c is not real:
        low = low[:, c.real, :]
    return low[ROW] if world else low
