"""Uncertainty bands and research gaps (engine README 4.7): the batched draws against plain
runs of the same figures, seeds, collapsed ranges, the joint share rule, and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semigraph
from semigraph.cli import cli
from semigraph.engine import uncertainty as u
from semigraph.engine.compiled import compile_model
from semigraph.engine.propagation import evaluate
from tests.datasets import COUNTRIES, random_tables, write_dataset

FIELDS = list(u.BAND_FIELDS.items())


def _row(table, key, column, low, high):
    return {"table": table, "key": key, "column": column, "low": low, "high": high,
            "source": None, "reason": "test"}


@pytest.fixture(scope="module")
def ranges(bundled):
    """Ranges on every kind of figure the table allows, on the China stop's path."""
    rows = []
    sup = bundled.supply[bundled.supply["share"].notna()]
    for r in sup.head(25).itertuples():
        rows.append(_row("supply", f"{r.component}/{r.supplier}/{r.site}", "share",
                         r.share * 0.6, min(1.0, r.share * 1.5)))
    for r in bundled.consumption.head(6).itertuples():
        rows.append(_row("consumption", f"{r.component}/{r.country}", "share",
                         r.share * 0.8, r.share * 1.2))
    comps = bundled.components
    for col in u.COMPONENT_COLUMNS:
        known = comps[comps[col].notna()].head(8)
        for r in known.itertuples():
            v = getattr(r, col)
            hi = min(1.0, v * 1.3) if col == "chain_share" else v * 1.6
            rows.append(_row("components", r.id, col, v * 0.5, hi))
    return pd.DataFrame(rows)


def test_batched_draws_equal_plain_runs_of_the_same_figures(bundled, ranges):
    scen = bundled.scenario("CHN")
    figs = u.figures(bundled, ranges)
    assert set(figs.what) == {"share", "consumption", *u.COMPONENT_COLUMNS}
    values = u.sample(figs, 3, seed=7)
    res = u.draws(bundled, scen, values, figs)
    for k in range(len(values)):
        plain = evaluate(u.with_figures(bundled, figs, values[k]), scen)
        for name, src in FIELDS:
            np.testing.assert_allclose(res.fields[name][k], getattr(plain, src)[:, 0],
                                       atol=1e-9, rtol=0, err_msg=f"draw {k}, {name}")
    # the draws differ from each other and from the dataset's answer
    base = evaluate(bundled, scen)
    assert not np.allclose(res.fields["availability"][0], res.fields["availability"][1])
    assert not np.allclose(res.fields["lost_days"][0], base.lost_days[:, 0])


def test_batched_draws_with_a_cut_component_and_a_ban(bundled, ranges):
    scen = bundled.scenario("gallium", "nexperia@CHN", duration=40, horizon=120)
    figs = u.figures(bundled, ranges)
    values = u.sample(figs, 2, seed=1)
    res = u.draws(bundled, scen, values, figs)
    for k in range(2):
        plain = evaluate(u.with_figures(bundled, figs, values[k]), scen)
        for name, src in FIELDS:
            np.testing.assert_allclose(res.fields[name][k], getattr(plain, src)[:, 0],
                                       atol=1e-9, rtol=0)


def test_same_seed_same_bands_other_seed_other_bands(bundled, ranges):
    a = bundled.whatif("CHN", uncertainty=6, seed=11, ranges=ranges, explain=False).table
    b = bundled.whatif("CHN", uncertainty=6, seed=11, ranges=ranges, explain=False).table
    c = bundled.whatif("CHN", uncertainty=6, seed=12, ranges=ranges, explain=False).table
    cols = u.band_columns()
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert not a["lost_days_p50"].equals(c["lost_days_p50"])
    assert a.attrs["uncertainty"] == {"draws": 6, "seed": 11, "figures": len(ranges),
                                      "sampling": a.attrs["uncertainty"]["sampling"]}


def test_collapsed_ranges_give_a_point_band_equal_to_the_plain_answer(bundled, ranges):
    figs = u.figures(bundled, ranges)
    value = figs.frame["value"].to_numpy(dtype=float)
    known = ~np.isnan(value)
    collapsed = ranges[known].assign(low=value[known], high=value[known])
    res = bundled.whatif("CHN", uncertainty=5, seed=3, ranges=collapsed, explain=False)
    t = res.table
    assert t.attrs["uncertainty"]["figures"] == int(known.sum()) > 30
    for name in u.BAND_FIELDS:
        for p in ("p05", "p50", "p95"):
            got, want = t[f"{name}_{p}"], t[name]
            if name in ("time_to_survive_days", "tied_short_from_day"):
                assert got.astype("Float64").fillna(-1).tolist() == \
                    want.astype("Float64").fillna(-1).tolist(), name
            else:
                np.testing.assert_allclose(got, want, atol=1e-12, rtol=0, err_msg=name)


def test_bands_are_percentiles_of_the_draws(bundled, ranges):
    scen = bundled.scenario("CHN", horizon=90)
    figs = u.figures(bundled, ranges)
    res = u.draws(bundled, scen, u.sample(figs, 9, seed=2), figs)
    band = u.bands(res)
    i = list(res.components).index("smartphone")
    lost = np.sort(res.fields["lost_days"][:, i])
    assert band.loc["smartphone", "lost_days_p50"] == pytest.approx(lost[4])
    assert band.loc["smartphone", "lost_days_p05"] == pytest.approx(lost[0] + 0.4 * (lost[1]
                                                                                    - lost[0]))
    days = res.fields["time_to_survive_days"][:, i]
    assert band.loc["smartphone", "time_to_survive_days_p50"] == int(np.sort(days)[4])


def test_shares_of_one_component_are_drawn_jointly(small):
    sup = small.supply.dropna(subset=["share"])
    comp = sup.groupby("component").size().idxmax()
    rows = sup[sup["component"] == comp].sort_values("supplier")
    first = rows.iloc[0]
    others = float(rows["share"].iloc[1:].sum())
    key = f"{comp}/{first['supplier']}/{first['site']}"
    ranges = pd.DataFrame([_row("supply", key, "share", 0.0, 1.0)])
    figs = u.figures(small, ranges)
    cap = max(1.0, float(rows["share"].sum()))
    model = u.with_figures(small, figs, np.array([1.0]))
    got = model.supply.set_index(["component", "supplier", "site"]).loc[
        (comp, first["supplier"], first["site"]), "share"]
    # the drawn share is scaled down to what the unranged rows leave of the cap
    assert got == pytest.approx(max(0.0, cap - others))
    low = u.with_figures(small, figs, np.array([0.0]))
    assert low.supply.set_index(["component", "supplier", "site"]).loc[
        (comp, first["supplier"], first["site"]), "share"] == 0.0


def test_a_bad_range_row_is_named(bundled, tmp_path):
    bad = pd.DataFrame([_row("supply", "no/such/row", "share", 0.1, 0.2)])
    with pytest.raises(Exception, match=r"row 2, column key: no supply row 'no/such/row'"):
        u.figures(bundled, bad)
    path = tmp_path / "ranges.csv"
    pd.DataFrame([_row("components", "gallium", "stock_days", 30, 10)]).to_csv(path,
                                                                                index=False)
    result = CliRunner().invoke(cli, ["whatif", "--cut", "CHN", "--uncertainty", "2",
                                      "--ranges", str(path)])
    assert result.exit_code == 2
    assert f"{path}, row 2, column low" in result.output


def test_gaps_leave_out_figures_off_every_path(bundled, ranges):
    c = compile_model(bundled)
    product = "automotive-mcu"
    on = u.upstream(c, [c.index[product]])
    outside = [x for x in c.components if not on[c.index[x]]
               and not pd.isna(bundled.components.set_index("id").at[x, "stock_days"])][:5]
    assert outside
    extra = pd.DataFrame([_row("components", x, "stock_days", 0.0, 400.0) for x in outside]
                         + [_row("components", product, "stock_days", 0.0, 200.0)])
    both = pd.concat([ranges.iloc[::8], extra], ignore_index=True)
    scen = bundled.scenario("CHN")
    res = bundled.gaps(scen, components=[product], ranges=both)
    listed = set(res.table["key"])
    assert not listed & set(outside)
    figs = u.figures(bundled, both)
    on_path = {k for k, i in zip(figs.frame["key"], figs.component) if on[i]}
    assert listed == on_path
    # the swings are what plain runs at either end give
    top = res.table.iloc[0]
    assert abs(top["swing"]) > 0
    f = int(np.flatnonzero((figs.frame["key"] == top["key"])
                           & (figs.frame["column"] == top["column"]))[0])
    for end in ("low", "high"):
        values = np.full(len(figs), np.nan)
        values[f] = top[end]
        plain = evaluate(u.with_figures(bundled, figs, values), scen)
        assert top[f"headline_at_{end}"] == pytest.approx(
            plain.availability[c.index[product], 0], abs=1e-9)
    assert res.table["swing"].abs().is_monotonic_decreasing
    assert res.table.attrs["headline"] == pytest.approx(
        evaluate(bundled, scen).availability[c.index[product], 0])


def test_gaps_cli_table_and_tornado(bundled, ranges, tmp_path):
    path = tmp_path / "ranges.csv"
    ranges.iloc[::10].to_csv(path, index=False)
    runner = CliRunner()
    out = runner.invoke(cli, ["gaps", "queries/china-export-stop.toml", "--ranges", str(path),
                              "--top", "4", "--component", "smartphone"])
    assert out.exit_code == 0, out.output
    assert "headline: lowest daily supply" in out.output
    png = tmp_path / "gaps.png"
    out = runner.invoke(cli, ["gaps", "queries/china-export-stop.toml", "--ranges", str(path),
                              "-o", str(png)])
    assert out.exit_code == 0, out.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "gaps.svg"
    out = runner.invoke(cli, ["gaps", "queries/china-export-stop.toml", "--ranges", str(path),
                              "-o", str(svg)])
    assert out.exit_code == 0 and b"<svg" in svg.read_bytes()
    out = runner.invoke(cli, ["gaps", "queries/china-export-stop.toml", "--ranges", str(path),
                              "-o", str(png)])
    assert out.exit_code == 2  # not replaced without --force


def test_whatif_cli_shows_the_band_and_writes_every_column(ranges, tmp_path):
    path = tmp_path / "ranges.csv"
    ranges.to_csv(path, index=False)
    runner = CliRunner()
    out = runner.invoke(cli, ["whatif", "--cut", "CHN", "--uncertainty", "3", "--ranges",
                              str(path), "--limit", "3"])
    assert out.exit_code == 0, out.output
    assert "avail p50 (p05-p95)" in out.output and "over 3 draws (seed 0)" in out.output
    csv = tmp_path / "out.csv"
    out = runner.invoke(cli, ["whatif", "--cut", "CHN", "--uncertainty", "3", "--ranges",
                              str(path), "-o", str(csv)])
    assert out.exit_code == 0, out.output
    assert set(u.band_columns()) <= set(pd.read_csv(csv).columns)


def test_gaps_table_prints_each_figure_in_its_own_unit(small_path, tmp_path):
    """value, low and high mix shares and days: a share keeps three decimals beside a
    restore time of hundreds of days (one format per column would print 0.9 as 1)."""
    ranges = tmp_path / "ranges.csv"
    ranges.write_text(
        "table,key,column,low,high,source,reason\n"
        "supply,gallium/CHN/CHN,share,0.85,0.95,,test\n"
        "components,gallium,ttr_days,100,300,,test\n", encoding="utf-8")
    scen = tmp_path / "chn.toml"
    scen.write_text('horizon = 400\n[[disruption]]\nunit = "CHN"\n', encoding="utf-8")
    out = CliRunner().invoke(cli, ["gaps", str(scen), "--dataset", str(small_path),
                                   "--ranges", str(ranges), "--component", "car"])
    assert out.exit_code == 0, out.output
    share = next(line for line in out.output.splitlines() if "gallium/CHN/CHN" in line)
    assert "0.900" in share and "0.850" in share and "0.950" in share
    ttr = next(line for line in out.output.splitlines() if "ttr_days" in line)
    assert " 200 " in f" {ttr} " and " 100 " in f" {ttr} " and " 300 " in f" {ttr} "


def test_bands_honour_captive_rows(bundled):
    """A Taiwan stop takes TSMC's own mask shop: the draws must read Samsung's and Intel's
    rows from their own shops (engine README 4.5) as the plain run does, not pool the masks.
    With the masks' ranges collapsed to their values the band is the plain answer."""
    from semigraph.engine.uncertainty import figures

    ranges = bundled.uncertainty[bundled.uncertainty["key"].str.startswith("photomask-euv")]
    ranges = ranges.copy()
    values = figures(bundled, ranges).frame["value"].to_numpy()
    ranges["low"] = ranges["high"] = values
    plain = bundled.whatif("TWN").table.set_index("component")
    band = bundled.whatif("TWN", uncertainty=2, ranges=ranges).table.set_index("component")
    for col in ("availability", "availability_high", "availability_tied", "lost_days"):
        for p in ("p05", "p50", "p95"):
            assert band[f"{col}_{p}"].to_numpy() == pytest.approx(plain[col].to_numpy(),
                                                                   abs=1e-12), (col, p)
    # pooled masks would give leading-edge logic less: the captive shops matter here
    assert plain.at["logic-leading-edge", "availability"] > 0.1


@pytest.mark.parametrize("cut", ["CHN", "TWN"])  # a Taiwan stop hits captive rows
def test_draws_in_worker_processes_equal_draws_in_one(bundled, ranges, cut):
    """The draws split over forked worker processes give the same numbers bit for bit as in
    this process, in the same order, whatever the split."""
    scen = bundled.scenario(cut)
    figs = u.figures(bundled, ranges)
    values = u.sample(figs, 5, seed=11)
    done = []
    one = u.draws(bundled, scen, values, figs, processes=1, progress=done.append)
    assert sum(done) == 5
    seen = []
    for procs in (2, 3):
        many = u.draws(bundled, scen, values, figs, processes=procs, progress=seen.append)
        assert set(many.fields) == set(one.fields)
        for name in one.fields:
            assert np.array_equal(many.fields[name], one.fields[name], equal_nan=True), name
    assert sum(seen) == 10  # every draw reported once per run
    # the draws differ from each other: the order would show
    assert not np.array_equal(one.fields["availability"][0], one.fields["availability"][1])


def _equal_plain_runs(model, scen, figs, values, res) -> None:
    """Every field of every draw equals a plain run of the model with that draw's figures
    written into its tables, to 1e-9."""
    for k in range(len(values)):
        plain = evaluate(u.with_figures(model, figs, values[k]), scen)
        idx = [plain.compiled.index[x] for x in res.components]
        for name, src in FIELDS:
            np.testing.assert_allclose(res.fields[name][k], getattr(plain, src)[idx, 0],
                                       atol=1e-9, rtol=0, err_msg=f"draw {k}, {name}")


def test_stacked_draws_with_captive_views_equal_plain_runs(bundled):
    """A Taiwan stop takes TSMC's own mask shop (engine README 4.5): the stacked copies carry
    the captive views, each draw's view rows rescaled from its own shares as the compiled
    views are, and give what plain runs of the same figures give; the masks' own shares are
    among the drawn figures."""
    rows = bundled.uncertainty
    masks = rows[rows["key"].str.startswith("photomask-euv")]
    assert len(masks) > 0
    scen = bundled.scenario("TWN")
    figs = u.figures(bundled, pd.concat([masks, rows.sample(200, random_state=2)])
                     .drop_duplicates(["table", "key", "column"]))
    values = u.sample(figs, 3, seed=5)
    res = u.draws(bundled, scen, values, figs)
    _equal_plain_runs(bundled, scen, figs, values, res)
    assert not np.allclose(res.fields["availability"][0], res.fields["availability"][1])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables=random_tables(captive=True, tied=True), cut=st.sampled_from(COUNTRIES),
       seed=st.integers(0, 1000))
def test_stacked_draws_equal_plain_runs_on_random_captive_networks(tmp_path_factory, tables,
                                                                    cut, seed):
    """On random networks with captive rows, every known share and stock ranged: the stacked
    draws (captive views included, or plain runs where a draw would lay the views out
    otherwise) equal plain runs of the same figures."""
    model = semigraph.load(write_dataset(tmp_path_factory.mktemp("cap"), tables))
    sup = model.supply[model.supply["share"].notna()]
    rows = [_row("supply", f"{r.component}/{r.supplier}/{r.site}", "share", r.share * 0.5,
                 min(1.0, r.share * 1.5)) for r in sup.itertuples()]
    comps = model.components[model.components["stock_days"].notna()]
    rows += [_row("components", r.id, "stock_days", 0.0, r.stock_days * 2 + 1)
             for r in comps.itertuples()]
    if not rows:
        return
    figs = u.figures(model, pd.DataFrame(rows))
    scen = model.scenario(cut)
    values = u.sample(figs, 3, seed=seed)
    res = u.draws(model, scen, values, figs)
    _equal_plain_runs(model, scen, figs, values, res)
