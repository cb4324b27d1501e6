"""Concentration measures on hand examples, and upstream exposure."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import semigraph
from semigraph.cli import cli
from semigraph.findings.concentration import concentration, dependency_matrix, hhi
from tests.datasets import small_tables, write_dataset


@pytest.mark.parametrize(("shares", "expected"), [
    ([1.0], 10000), ([0.5, 0.5], 5000), ([0.9, 0.1], 8200), ([0.25] * 4, 2500),
    ([0.8, 0.8], 5000),  # summing above 1: normalised
    ([0.5], 2500),  # the unattributed rest counts as fragmented
])
def test_hhi_hand(shares, expected):
    assert hhi(shares) == pytest.approx(expected)


@given(st.lists(st.floats(0.001, 1.0), min_size=1, max_size=12))
def test_hhi_bounds(shares):
    h = hhi(shares)
    assert 0 < h <= 10000 + 1e-6
    if sum(shares) <= 1:
        assert h >= 10000 * max(shares) ** 2 - 1e-6


def row(frame, comp):
    return frame.set_index("component").loc[comp]


def test_country_measures(small):
    f = concentration(small, by="country")
    g = row(f, "gallium")  # CHN .9, USA .1
    assert g["hhi"] == pytest.approx(8200)
    assert (g["top"], g["top_share"], g["cr1"], g["cr3"]) == ("CHN", 0.9, 0.9, pytest.approx(1.0))
    assert g["effective_suppliers"] == pytest.approx(10000 / 8200)
    assert g["chokepoint"] and g["eu_2004_band"] == "high"
    assert g["us_2023_band"] == "highly concentrated"
    assert g["crma_top_third_country"] == "CHN" and g["crma_exceeded"]
    chip = row(f, "chip")  # fab@TWN .7, fab@USA .2, rest .1
    assert chip["hhi"] == pytest.approx(4900 + 400) and chip["cr3"] == pytest.approx(0.9)
    wafer = row(f, "wafer")  # JPN .6, DEU .4: no direct chokepoint, but CHN's gallium
    assert not wafer["chokepoint"] and wafer["hidden_chokepoint"]
    assert (wafer["upstream_country"], wafer["upstream_exposure"]) == ("CHN", pytest.approx(0.9))
    assert row(f, "litho-a")["crma_exceeded"] is False or not row(f, "litho-a")["crma_exceeded"]
    assert f["chokepoint"].iloc[0]  # chokepoints ranked first


def test_firm_and_bloc(small):
    firm = concentration(small, by="firm")
    assert row(firm, "chip")["hhi"] == pytest.approx(8100)  # one firm, two sites
    wafer = row(firm, "wafer")  # JPN's row is country-level: no firm known
    assert wafer["coverage"] == pytest.approx(0.4) and wafer["top"] == "subsid"
    assert row(firm, "gallium")["hhi"] != row(firm, "gallium")["hhi"]  # no firm data: NaN
    bloc = concentration(small, by="bloc")
    assert row(bloc, "wafer")["top"] == "G7" and row(bloc, "wafer")["top_share"] == 0.6
    assert row(bloc, "wafer")["hhi"] == pytest.approx(3600 + 1600)


def test_governance_weighted_hhi(tmp_path):
    t = small_tables()
    for c in t["countries"]:
        c["wgi"] = {"CHN": -0.5, "USA": 1.5}.get(c["id"])
    model = semigraph.load(write_dataset(tmp_path / "w", t))
    g = row(concentration(model), "gallium")
    scaled = {"CHN": (2.5 + 0.5) / 5 * 10, "USA": (2.5 - 1.5) / 5 * 10}
    assert g["hhi_wgi"] == pytest.approx(0.81 * scaled["CHN"] + 0.01 * scaled["USA"])
    assert g["wgi_coverage"] == pytest.approx(1.0)
    assert row(concentration(model), "wafer")["hhi_wgi"] != row(
        concentration(model), "wafer")["hhi_wgi"]  # no wgi known for JPN, DEU: NaN


def test_dependency_matrix(small):
    m = dependency_matrix(small)
    assert list(m.index) == ["car"]
    assert m.loc["car", "CHN"] == pytest.approx(0.9)
    assert m.loc["car", "TWN"] == pytest.approx(0.7)
    assert m.columns[0] == "CHN"  # ordered by largest exposure


def test_cli(small_path):
    runner = CliRunner()
    out = runner.invoke(cli, ["concentration", "--dataset", str(small_path), "--format",
                              "json"])
    assert out.exit_code == 0
    rec = {r["component"]: r for r in json.loads(out.output)}
    assert rec["gallium"]["top"] == "CHN" and rec["gallium"]["top_share"] == 0.9
    out = runner.invoke(cli, ["concentration", "--dataset", str(small_path), "--matrix"])
    assert out.exit_code == 0 and "car" in out.output and "CHN" in out.output


def test_bundled_dataset_chokepoints():
    f = concentration(semigraph.load()).set_index("component")
    for comp in ("euv-scanner", "euv-optics", "gallium"):
        assert f.loc[comp, "chokepoint"], comp
    assert f.loc["gallium", "top"] == "CHN" and f.loc["gallium", "crma_exceeded"]
    assert f.loc["helium-3", "top"] == "USA"


def test_cli_counts_chokepoints_on_given_shares_apart(tmp_path):
    """gallium's CHN share left unknown: the rest of the world's 0.9 goes to it as an estimate,
    so the chokepoint rests on an estimated share and the count says so apart (an imported
    dataset's count then matches its publisher's, which gives only known shares)."""
    t = small_tables()
    for row in t["supply"]:
        if row["component"] == "gallium" and row["site"] == "CHN":
            row["share"] = ""
    path = write_dataset(tmp_path / "d", t)
    res = CliRunner().invoke(cli, ["concentration", "--dataset", str(path), "--chokepoints"])
    assert res.exit_code == 0, res.output
    assert "gallium*" in res.output
    n = int(res.output.split(" chokepoint(s)")[0].split()[-1])
    assert f"{n} chokepoint(s) (one country holds at least 65%; {n - 1} on given shares " \
           "alone, 1 resting on an estimated share, marked *)" in res.output
