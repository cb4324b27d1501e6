"""Sweeps with uncertainty bands (engine README 4.8): every row's band against the what-if
bands of its scenario alone, seeds, collapsed ranges, the size guard and the files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import semigraph
from semigraph.cli import cli
from semigraph.engine import sweep as sw
from semigraph.engine import uncertainty as u
from semigraph.engine.scenario import Disruption, Scenario

DAYS = ("time_to_survive_days", "tied_short_from_day")
#: Band fields the sweep's long table also has as a plain figure.
PLAIN = [name for name in u.BAND_FIELDS if name != "tied_lost_days"]


def _row(table, key, column, low, high):
    return {"table": table, "key": key, "column": column, "low": low, "high": high,
            "source": "test", "reason": "hand-made range"}


@pytest.fixture
def ranges():
    """Ranges on the small chain's shares, stocks, restore and renewal times (every value
    the dataset gives lies inside its range)."""
    return pd.DataFrame([
        _row("supply", "gallium/CHN/CHN", "share", 0.7, 0.95),
        _row("supply", "gallium/USA/USA", "share", 0.05, 0.3),
        _row("supply", "wafer/JPN/JPN", "share", 0.5, 0.7),
        _row("supply", "chip/fab/TWN", "share", 0.6, 0.8),
        _row("components", "gallium", "stock_days", 15, 45),
        _row("components", "gallium", "ttr_days", 120, 260),
        _row("components", "wafer", "stock_days", 4, 20),
        _row("components", "chip", "stock_days", 0, 6),
        _row("components", "litho-a", "renewal_days", 600, 1400),
    ])


def _same(got: pd.Series, want: pd.Series, name: str) -> None:
    """Equal value for value (exactly; an empty day equal only to an empty day)."""
    if any(day in name for day in DAYS):
        assert got.astype("Float64").fillna(-1).tolist() == \
            want.astype("Float64").fillna(-1).tolist(), name
    else:
        assert np.array_equal(got.to_numpy(float), want.to_numpy(float)), name


def test_every_row_is_the_whatif_band_of_its_scenario_alone(small, ranges):
    # pairs, in batches of two (so across chunks and worker processes), every component
    got = small.sweep("country", order=2, all_components=True, step=1, uncertainty=7,
                      seed=5, ranges=ranges, batch=2).table
    countries = sw.sweep_units(small, "country")
    assert len(got) == 15 * 6 and set(u.band_columns()) <= set(got.columns)
    for scenario_id, rows in got.groupby("scenario", sort=False):
        cut = Scenario(tuple(Disruption(x) for x in scenario_id.split("+")), horizon=365)
        assert all(x in countries for x in scenario_id.split("+"))
        band, info = u.whatif_bands(small, cut, 7, seed=5, ranges=ranges)
        assert info["figures"] == len(ranges)
        want = band.loc[rows["component"]]
        for name in u.band_columns():
            _same(rows[name].reset_index(drop=True), want[name].reset_index(drop=True),
                  f"{scenario_id} {name}")
    # and the bands are not all points: the ranges move the answer
    assert (got["availability_p95"] - got["availability_p05"]).max() > 0.01
    assert (got["lost_days_p95"] - got["lost_days_p05"]).max() > 1.0


def test_same_seed_same_table_other_seed_other_bands(small, ranges):
    def run(seed):
        return small.sweep("country", uncertainty=6, seed=seed, ranges=ranges,
                           all_components=True).table

    a, b, c = run(11), run(11), run(12)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not np.array_equal(a["availability_p50"], c["availability_p50"])
    # the plain figures do not depend on the draws
    pd.testing.assert_frame_equal(a[list(sw.FIELDS["headline"])], c[list(sw.FIELDS["headline"])])


def test_common_draws_for_every_scenario(small, ranges):
    """The draws are those of one seeded sample, whatever the scenarios around them."""
    both = small.sweep("country", targets=["CHN", "JPN"], uncertainty=5, seed=2,
                       ranges=ranges, all_components=True).table
    alone = small.sweep("country", targets=["JPN"], uncertainty=5, seed=2,
                        ranges=ranges, all_components=True).table
    jpn = both[both["scenario"] == "JPN"].reset_index(drop=True)
    pd.testing.assert_frame_equal(jpn, alone, check_exact=True)


@pytest.mark.parametrize("step", [1, 14])
def test_collapsed_ranges_give_point_bands_equal_to_the_plain_sweep(small, ranges, step):
    collapsed = ranges.copy()
    value = u.figures(small, ranges).frame["value"].to_numpy(dtype=float)
    assert not np.isnan(value).any()
    collapsed["low"] = collapsed["high"] = value
    plain = small.sweep("country", order=2, all_components=True, step=step).table
    banded = small.sweep("country", order=2, all_components=True, step=step, uncertainty=4,
                         seed=9, ranges=collapsed).table
    pd.testing.assert_frame_equal(banded[plain.columns], plain, check_exact=True)
    short = 0
    for name in PLAIN:
        for p in ("p05", "p50", "p95"):
            _same(banded[f"{name}_{p}"], plain[name], f"{name}_{p}")
        short += int(plain[name].lt(0.99).sum()) if name == "availability" else 0
    assert short > 10  # the check covers rows that go short
    for p in ("p50", "p95"):  # no plain column to hold it against: a point, at least
        _same(banded[f"tied_lost_days_{p}"], banded["tied_lost_days_p05"], "tied_lost_days")


def test_summary_carries_the_lowest_components_band(small, ranges):
    res = small.sweep("country", uncertainty=5, ranges=ranges, all_components=True)
    table = res.table
    for row in res.summary.itertuples():
        mine = table[(table["scenario"] == row.scenario)
                     & (table["component"] == row.lowest_component)].iloc[0]
        assert row.lowest == mine["availability"]
        assert row.lowest_p05 == mine["availability_p05"]
        assert row.lowest_p95 == mine["availability_p95"]
    assert res.meta["uncertainty"]["draws"] == 5
    assert res.meta["uncertainty"]["figures"] == len(ranges)


def test_the_guard_counts_scenarios_times_draws(small, ranges, tmp_path):
    plan = sw.plan_sweep(small, order=2)
    banded = sw.plan_sweep(small, order=2, uncertainty=40, ranges=ranges)
    assert banded.simulations == 15 * 40 == 40 * plan.simulations
    assert sw.sweep_work(small, banded)[0] == 40 * sw.sweep_work(small, plan)[0]
    with pytest.raises(sw.SweepTooLarge, match="600 simulations"):
        sw.plan_sweep(small, order=2, uncertainty=40, ranges=ranges, max_scenarios=599)
    sw.plan_sweep(small, order=2, uncertainty=40, ranges=ranges, max_scenarios=600)

    path = tmp_path / "ranges.csv"
    ranges.to_csv(path, index=False)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "bands.csv"
    res = CliRunner().invoke(cli, ["sweep", "--order", "2", "--uncertainty", "10",
                                   "--ranges", str(path), "--max-scenarios", "100",
                                   "--dataset", str(small.path), "-o", str(out)])
    assert res.exit_code == 2, res.output
    assert "15 scenarios" in res.output and "150 simulations" in res.output
    assert "--max-scenarios 150" in res.output and "Traceback" not in res.output
    assert not list(out.parent.iterdir())  # nothing written, not even a partial file


def test_the_hour_limit_counts_the_draws_too(small, ranges, monkeypatch):
    # a rate at which the plain sweep just fits the hour, and 3 draws of it do not
    work, _ = sw.sweep_work(small, sw.plan_sweep(small, order=2))
    monkeypatch.setattr(sw, "RATE", work / 60 / sw.MAX_MINUTES * 1.5)
    sw.plan_sweep(small, order=2)
    with pytest.raises(sw.SweepTooLarge, match="fewer --uncertainty draws"):
        sw.plan_sweep(small, order=2, uncertainty=3, ranges=ranges)


def test_what_the_sweep_refuses(small, ranges, tmp_path):
    with pytest.raises(semigraph.ScenarioError, match="headline measure"):
        small.sweep("country", measure="steady", uncertainty=3, ranges=ranges)
    with pytest.raises(semigraph.ScenarioError, match="in process only"):
        small.sweep("country", uncertainty=3, ranges=ranges, workers=2)
    bad = ranges.copy()
    bad.loc[2, "key"] = "wafer/JPN/KOR"
    with pytest.raises(semigraph.ScenarioError, match="row 4, column key"):
        small.sweep("country", uncertainty=3, ranges=bad)
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    res = CliRunner().invoke(cli, ["sweep", "--uncertainty", "3", "--ranges", str(path),
                                   "--dataset", str(small.path)])
    assert res.exit_code == 2 and "bad.csv, row 4, column key" in res.output, res.output
    res = CliRunner().invoke(cli, ["sweep", "--uncertainty", "3", "--measure", "steady",
                                   "--dataset", str(small.path)])
    assert res.exit_code == 2 and "headline measure" in res.output, res.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_writes_the_band_columns(small, ranges, tmp_path, suffix):
    path = tmp_path / "ranges.csv"
    ranges.to_csv(path, index=False)
    out = tmp_path / f"bands{suffix}"
    res = CliRunner().invoke(cli, ["sweep", "--all", "--uncertainty", "4", "--seed", "3",
                                   "--ranges", str(path), "--dataset", str(small.path),
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "lowest_p05" in res.output and "over 4 draws of 9 uncertain figures" in res.output
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    want = small.sweep("country", all_components=True, uncertainty=4, seed=3,
                       ranges=ranges).table
    assert list(got.columns) == list(want.columns)
    assert got.columns[-len(u.band_columns()):].tolist() == u.band_columns()
    assert got["scenario"].astype(str).tolist() == want["scenario"].tolist()
    for name in u.band_columns():
        if any(day in name for day in DAYS):
            _same(got[name], want[name], name)
        else:
            np.testing.assert_allclose(got[name].to_numpy(float), want[name].to_numpy(float),
                                       rtol=1e-12, atol=0, err_msg=name)
