"""The bundled dataset: coverage of the value chain and the facts analysts check first."""

from __future__ import annotations

import networkx as nx
import pytest

import semigraph


@pytest.fixture(scope="module")
def model():
    return semigraph.load()


def test_scale(model):
    assert len(model.components) >= 150
    assert len(model.firms) >= 120
    assert len(model.countries) >= 30
    assert len(model.supply) >= 400
    assert len(model.requires) >= 250


def test_no_validation_warnings(model):
    assert model.warnings == ()


@pytest.mark.parametrize("stage", ["materials_equipment", "design", "front_end", "back_end",
                                   "photonics", "quantum", "end_use"])
def test_every_stage_is_covered(model, stage):
    assert (model.components["stage"] == stage).sum() >= 5


REQUIRED = {
    # materials_equipment: raw and process materials, equipment down to key parts
    "gallium", "germanium", "neon", "helium", "helium-3", "hp-quartz", "polysilicon",
    "tungsten", "fluorspar", "hydrogen-fluoride", "rare-earths", "indium", "inp-substrate",
    "silicon-wafer-300mm", "photoresist-euv", "mask-blank-euv", "abf-film", "electronic-gases",
    "wet-chemicals", "euv-scanner", "euv-optics", "euv-light-source", "euv-drive-laser",
    "duv-immersion-scanner", "deposition-equipment", "etch-equipment", "cmp-equipment",
    "inspection-metrology", "die-attach-equipment", "hybrid-bonding-equipment",
    # design
    "eda-software", "core-ip", "cpu-design", "gpu-design", "ai-accelerator-design",
    "analog-mixed-signal-design", "automotive-mcu-design",
    # front_end by node band, memory, power
    "logic-leading-edge", "logic-7-28nm", "logic-mature", "dram", "nand", "discrete-die",
    # back_end
    "osat-assembly-test", "advanced-packaging", "discrete-assembly",
    # photonics and quantum
    "inp-pic", "sin-pic", "siph-pic", "superconducting-qubit-chip", "spin-qubit-chip",
    "qubit-control-electronics", "cryogenic-cabling", "dilution-refrigerator",
    # end use
    "automotive-mcu", "automotive-discretes", "ai-accelerator", "rf-front-end-6g",
    "datacom-transceiver", "power-electronics", "quantum-computer", "defence-electronics",
}


def test_required_components_exist(model):
    assert REQUIRED - set(model.components["id"]) == set()


def test_photonic_components_carry_a_platform(model):
    photonic = model.components[model.components["stage"] == "photonics"]
    assert photonic["platform"].notna().all()
    assert {"InP", "SiN", "SiPh"} <= set(photonic["platform"])


def test_every_firm_has_hq_and_control(model):
    assert model.firms["hq"].notna().all()
    assert model.firms["controlled_by"].notna().all()


def test_every_row_cites_a_source(model):
    assert model.supply["source"].notna().all()
    assert model.requires["source"].notna().all()
    timed = model.components[model.components[["stock_days", "ttr_days"]].notna().any(axis=1)]
    assert timed["source"].notna().all()
    assert len(timed) >= 40
    c = model.components
    for value, source in (("unit_value_eur", "value_source"), ("demand_per_year", "value_source"),
                          ("chain_share", "chain_share_source"),
                          ("renewal_days", "renewal_source")):
        assert c.loc[c[value].notna(), source].notna().all(), value
    assert model.consumption["source"].notna().all()
    assert model.countries.loc[model.countries["wgi"].notna(), "source"].notna().all()


def test_estimates_say_so(model):
    est = model.sources[model.sources["kind"] == "estimate"]
    assert len(est) > 0
    assert est["note"].notna().all()


def test_every_end_use_product_reaches_raw_materials(model):
    feeds = nx.DiGraph()
    feeds.add_edges_from(zip(model.requires["input"], model.requires["component"]))
    raw = set(model.components.loc[model.components["kind"] == "raw_material", "id"])
    for product in model.components.loc[model.components["stage"] == "end_use", "id"]:
        assert nx.ancestors(feeds, product) & raw, product


def _shares(model, component):
    rows = model.supply[model.supply["component"] == component]
    return {(s, site): share for s, site, share in zip(rows["supplier"], rows["site"],
                                                         rows["share_used"])}


def test_euv_scanners_are_asml_in_the_netherlands(model):
    assert _shares(model, "euv-scanner") == {("asml", "NLD"): 1.0}
    assert model.graph.nodes["asml"]["hq"] == "NLD"


def test_primary_gallium_is_at_least_90_percent_china(model):
    rows = model.supply[(model.supply["component"] == "gallium")
                        & (model.supply["site"] == "CHN")]
    assert rows["share_used"].sum() >= 0.90


def test_nexperia_controlled_from_china_with_back_end_in_china(model):
    nexperia = model.graph.nodes["nexperia"]
    assert (nexperia["hq"], nexperia["controlled_by"]) == ("NLD", "CHN")
    back_end = model.supply[(model.supply["supplier"] == "nexperia")
                            & (model.supply["site"] == "CHN")]
    stages = set(model.components.set_index("id").loc[back_end["component"], "stage"])
    assert "back_end" in stages
    front = _shares(model, "discrete-die")
    assert ("nexperia", "DEU") in front and ("nexperia", "GBR") in front


def test_helium_3_is_upstream_of_quantum_computers(model):
    feeds = nx.DiGraph(zip(model.requires["input"], model.requires["component"]))
    assert nx.has_path(feeds, "helium-3", "quantum-computer")
    assert nx.has_path(feeds, "helium-3", "dilution-refrigerator")


def test_smart_photonics_is_the_single_european_inp_foundry(model):
    eu = set(model.blocs["EU27"])
    rows = model.supply[(model.supply["component"] == "inp-foundry-service")
                        & model.supply["site"].isin(eu)]
    assert set(rows["supplier"]) == {"smart-photonics"}
    assert model.graph.nodes["smart-photonics"]["hq"] == "NLD"
    assert model.components.set_index("id").at["inp-foundry-service", "platform"] == "InP"


def test_every_component_has_stock_and_its_tie_parameters_a_source(model):
    c = model.components
    consumable = c["renewal_days"].isna()
    assert c.loc[consumable, "stock_days"].notna().all(), \
        sorted(c.loc[consumable & c["stock_days"].isna(), "id"])
    stock_src = c["stock_source"].fillna(c["source"])
    assert stock_src[c["stock_days"].notna() | c["stock_days_min"].notna()].notna().all()
    assert c.loc[c["qualify_days"].fillna(0) > 0, "qualify_source"].notna().all()
    assert (c["stock_days_min"].isna() | (c["stock_days_min"] <= c["stock_days"])).all()
    assert (c["qualify_days"].fillna(0) > 0).sum() >= 30
    assert model.requires["maker"].fillna(False).astype(bool).sum() >= 5


def test_the_readme_counts_are_the_datasets(model):
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`datasets/semiconductors/`, ([\d,]+) components,\s+([\d,]+) firms, "
                      r"([\d,]+) supply rows", text)
    assert found, "the README's opening no longer gives the dataset's counts"
    counts = [int(x.replace(",", "")) for x in found.groups()]
    assert counts == [len(model.components), len(model.firms), len(model.supply)]
