"""The CSET/ETO importer: a small fixture in the publisher's format, and the real files."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import semigraph
from semigraph.errors import DatasetError, OutputError
from semigraph.importers.cset import fit_to_whole, import_cset

STAGES = [
    ("stage_id", "stage_name", "description"),
    ("S1", "Design", "Chip design.\n\nA second paragraph."),
    ("S2", "Fabrication", "Fabs make chips."),
]
INPUTS = [
    ("input_name", "input_id", "type", "stage_name", "stage_id", "description"),
    ("Logic chip design: CPUs", "N1", "process", "Design", "S1", ""),
    ("Advanced lithography", "N19", "tool_resource", "", "", ""),
    ("EUV scanners", "N20", "tool_resource", "", "", "Scanners that print\nwith EUV light."),
    ("ArF scanners", "N21", "tool_resource", "", "", ""),
    ("Photolithography", "N25", "process", "Fabrication", "S2", ""),
    ("Photoresists", "N31", "material_resource", "", "", ""),
    ("EDA software", "N84", "tool_resource", "", "", ""),
    ("Finished chip", "N99", "ultimate_output", "", "", ""),
]
PROVIDERS = [
    ("provider_name", "provider_id", "provider_type", "country"),
    ("USA", "P1", "country", ""),                # row 2
    ("CHN", "P2", "country", ""),
    ("Various", "P5", "country", ""),
    ("JPN", "P7", "country", ""),
    ("NLD", "P45", "country", ""),
    ("MAL", "P46", "country", ""),               # row 7: not ISO
    ("ASML", "P88", "organization", "NLD"),
    ("Nikon", "P89", "organization", "JPN"),
    ("SMEE", "P70", "organization", "CHN"),
    ("Synopsys", "P185", "organization", "USA"),
]
PROVISION = [
    ("provider_name", "provider_id", "provided_name", "provided_id", "share_provided",
     "negligible_market_share"),
    ("USA", "P1", "Design", "S1", "61%", ""),                # row 2
    ("Various", "P5", "Design", "S1", "9%", ""),             # row 3: unattributed
    ("CHN", "P2", "Design", "S1", "30%", ""),
    ("USA", "P1", "Fabrication", "S2", "100%", ""),          # row 5: 101% in all
    ("JPN", "P7", "Fabrication", "S2", "1%", ""),
    ("NLD", "P45", "EUV scanners", "N20", "100%", ""),       # row 7: repeated by ASML
    ("ASML", "P88", "EUV scanners", "N20", "100%", ""),
    ("NLD", "P45", "ArF scanners", "N21", "57%", ""),        # row 9: repeated by ASML
    ("JPN", "P7", "ArF scanners", "N21", "43%", ""),         # row 10: repeated by Nikon
    ("ASML", "P88", "ArF scanners", "N21", "57%", ""),
    ("Nikon Corp", "P89", "ArF scanners", "N21", "43%", ""),  # row 12: name mismatch
    ("SMEE", "P70", "ArF scanners", "N21", "", "negligible"),
    ("USA", "P1", "EDA software", "N84", "96%", ""),         # row 14: 102% in all
    ("JPN", "P7", "EDA software", "N84", "3%", ""),
    ("CHN", "P2", "EDA software", "N84", "1%", ""),
    ("MAL", "P46", "EDA software", "N84", "1%", ""),
    ("Synopsys", "P185", "EDA software", "N84", "", ""),     # row 18: no share, USA has one
    ("JPN", "P7", "Photoresists", "N31", "", ""),            # row 19: no share
    ("JPN", "P7", "Photoresists", "N31", "", ""),            # row 20: duplicate
]
SEQUENCE = [
    ("input_name", "input_id", "goes_into_name", "goes_into_id", "is_type_of_name",
     "is_type_of_id"),
    ("EUV scanner", "N20", "", "", "Advanced lithography", "N19"),  # row 2: name mismatch
    ("ArF scanners", "N21", "", "", "Advanced lithography", "N19"),
    ("Advanced lithography", "N19", "Photolithography", "N25", "", ""),
    ("Photoresists", "N31", "Photolithography", "N25", "", ""),
    ("EDA software", "N84", "Logic chip design: CPUs", "N1", "", ""),
    ("Photolithography", "N25", "Finished chip", "N99", "", ""),
    ("Photolithography", "N25", "Finished chip", "N99", "", ""),     # row 8: duplicate
]
FILES = {"stages.csv": STAGES, "inputs.csv": INPUTS, "providers.csv": PROVIDERS,
         "provision.csv": PROVISION, "sequence.csv": SEQUENCE}
WITH_BOM = {"stages.csv", "inputs.csv"}


def write_source(folder: Path, files: dict[str, list[tuple]] | None = None) -> Path:
    """The fixture in the publisher's format: quoted multi-line cells, BOMs, CRLF lines."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (files or FILES).items():
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        data = buf.getvalue().encode("utf-8")
        (folder / name).write_bytes((codecs.BOM_UTF8 if name in WITH_BOM else b"") + data)
    return folder


@pytest.fixture
def imported(tmp_path):
    report = import_cset(write_source(tmp_path / "cset"), tmp_path / "out")
    return report, semigraph.load(report.path)


def shares_by_site(model, component: str) -> dict[str, float]:
    rows = model.supply[model.supply["component"] == component]
    return {k: round(float(v), 6) for k, v in rows.groupby("site")["share"].sum().items()}


def test_fixture_imports_and_validates(imported):
    report, model = imported
    assert report.counts == {"countries": 5, "firms": 4, "components": 10, "supply": 13,
                             "requires": 6, "sources": 2, "repairs": 17}
    assert sorted(model.countries["id"]) == ["CHN", "JPN", "MYS", "NLD", "USA"]
    assert model.countries.set_index("id").loc["NLD", "blocs"] == "EU27"
    assert dict(zip(model.firms["id"], model.firms["hq"])) == {
        "asml": "NLD", "nikon": "JPN", "smee": "CHN", "synopsys": "USA"}
    assert model.firms.set_index("id").loc["nikon", "name"] == "Nikon"  # first name kept


def test_supply_rows_and_shares(imported):
    _, model = imported
    rows = {(c, s, site): (None if v != v else round(float(v), 6)) for c, s, site, v in
            model.supply[["component", "supplier", "site", "share"]].itertuples(index=False)}
    assert rows == {
        ("design", "USA", "USA"): 0.61,
        ("design", "CHN", "CHN"): 0.30,                 # Various left unattributed
        ("fabrication", "USA", "USA"): round(100 / 101, 6),  # 101% scaled to 100%
        ("fabrication", "JPN", "JPN"): round(1 / 101, 6),
        ("euv-scanners", "asml", "NLD"): 1.0,           # the NLD row is not counted again
        ("arf-scanners", "asml", "NLD"): 0.57,
        ("arf-scanners", "nikon", "JPN"): 0.43,
        ("arf-scanners", "smee", "CHN"): 0.0,           # negligible; ASML+Nikon leave 0
        ("eda-software", "USA", "USA"): 0.96,           # the 1% rows absorb the 2% excess
        ("eda-software", "JPN", "JPN"): 0.03,
        ("eda-software", "CHN", "CHN"): 0.005,
        ("eda-software", "MYS", "MYS"): 0.005,          # MAL read as MYS
        ("photoresists", "JPN", "JPN"): None,           # the duplicate row dropped
    }
    assert dict(zip(model.supply["supplier"], model.supply["source"]))["smee"] == \
        "cset-eto-negligible"
    assert set(model.supply["source"]) == {"cset-eto-supply-chain", "cset-eto-negligible"}
    assert model.sources.set_index("id").loc["cset-eto-negligible", "kind"] == "estimate"
    assert shares_by_site(model, "euv-scanners") == {"NLD": 1.0}
    assert shares_by_site(model, "eda-software")["USA"] == 0.96


def test_components_kinds_stages_and_requirements(imported):
    _, model = imported
    comps = model.components.set_index("id")
    assert {c: (comps.loc[c, "kind"], comps.loc[c, "stage"]) for c in comps.index} == {
        "design": ("process", "design"),
        "fabrication": ("process", "front_end"),
        "logic-chip-design-cpus": ("process", "design"),
        "advanced-lithography": ("equipment", "materials_equipment"),
        "euv-scanners": ("equipment", "materials_equipment"),
        "arf-scanners": ("equipment", "materials_equipment"),
        "photolithography": ("process", "front_end"),
        "photoresists": ("material", "materials_equipment"),
        "eda-software": ("design_tool", "design"),     # goes only into design
        "finished-chip": ("chip", "back_end"),
    }
    assert comps.loc["design", "description"] == "CSET/ETO S1. Chip design. A second paragraph."
    req = {(c, i): g for c, i, g in
           model.requires[["component", "input", "group"]].itertuples(index=False)}
    assert req == {
        ("advanced-lithography", "euv-scanners"): "types",
        ("advanced-lithography", "arf-scanners"): "types",
        ("photolithography", "advanced-lithography"): None,
        ("photolithography", "photoresists"): None,
        ("logic-chip-design-cpus", "eda-software"): None,
        ("finished-chip", "photolithography"): None,
    }
    assert set(model.requires["source"]) == {"cset-eto-supply-chain"}
    src = model.sources.set_index("id").loc["cset-eto-supply-chain"]
    assert src["kind"] == "primary" and src["url"].startswith("https://github.com/")


def test_repairs_are_logged(imported):
    report, _ = imported
    where = {(r["file"], r["row"], r["column"]) for r in report.repairs}
    assert where == {
        ("stages.csv", 1, None), ("inputs.csv", 1, None),          # byte-order marks
        ("stages.csv", 2, "description"), ("inputs.csv", 4, "description"),  # multi-line
        ("provision.csv", 20, None), ("sequence.csv", 8, None),    # duplicates
        ("provision.csv", 12, "provider_name"), ("sequence.csv", 2, "input_name"),
        ("providers.csv", 7, "provider_name"),                     # MAL
        ("provision.csv", 3, "provider_id"),                       # Various
        ("provision.csv", 7, "share_provided"), ("provision.csv", 9, "share_provided"),
        ("provision.csv", 10, "share_provided"),                   # repeated country shares
        ("provision.csv", 18, "share_provided"),                   # Synopsys without share
        ("provision.csv", 5, "share_provided"), ("provision.csv", 14, "share_provided"),
        ("provision.csv", 13, "negligible_market_share"),           # SMEE
    }
    assert report.repair_kinds == {
        "byte-order mark": 2, "country row repeats firm shares": 3, "duplicate row": 2,
        "firm without share under a country share": 1, "multi-line text": 2,
        "name mismatch": 2, "negligible share": 1, "non-ISO country code": 1,
        "shares above 100%": 2,
        "unattributed share": 1}
    by_row = {(r["file"], r["row"]): r for r in report.repairs}
    assert by_row[("providers.csv", 7)]["action"] == "read as MYS"
    assert "'Nikon Corp'" in by_row[("provision.csv", 12)]["what"]
    assert "0.5%" in by_row[("provision.csv", 14)]["action"]
    assert "100/101" in by_row[("provision.csv", 5)]["action"]
    assert all(set(r) == {"file", "row", "column", "what", "action"} for r in report.repairs)


def test_readme_and_datapackage(imported):
    report, model = imported
    readme = (report.path / "README.md").read_text(encoding="utf-8")
    assert "CC BY-NC 4.0" in readme and "https://github.com/georgetown-cset/eto-supply-chain" \
        in readme
    repairs = readme.split("## Repairs", 1)[1]
    assert sum(line.startswith("| provision.csv |") for line in repairs.splitlines()) == 10
    assert "| read as MYS |" in repairs
    package = json.loads((report.path / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "CC-BY-NC-4.0"
    assert model.name == package["name"] and model.version == package["version"]


def test_refuses_existing_output_unless_forced(tmp_path):
    source = write_source(tmp_path / "cset")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="exists"):
        import_cset(source, out)
    assert (out / "keep.txt").read_text() == "mine"
    import_cset(source, out, force=True)
    assert not (out / "keep.txt").exists() and (out / "supply.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cset", "out"]  # nothing left over


@pytest.mark.parametrize(("change", "file", "row", "column"), [
    (lambda f: f.pop("sequence.csv"), "sequence.csv", None, None),
    (lambda f: f.update({"provision.csv": [r[:4] + r[5:] for r in PROVISION]}),
     "provision.csv", 1, "share_provided"),
    (lambda f: f.update({"provision.csv": [
        *PROVISION[:3], ("CHN", "P2", "Design", "S1", "thirty", "")]}), "provision.csv", 4,
     "share_provided"),
    (lambda f: f.update({"providers.csv": [*PROVIDERS[:2], ("XYZ", "P2", "country", "")]}),
     "providers.csv", 3, "provider_name"),
])
def test_bad_input_names_file_row_column(tmp_path, change, file, row, column):
    files = dict(FILES)
    change(files)
    with pytest.raises(DatasetError) as exc:
        import_cset(write_source(tmp_path / "cset", files), tmp_path / "out")
    assert (exc.value.problems[0].file, exc.value.problems[0].row,
            exc.value.problems[0].column) == (file, row, column)
    assert not (tmp_path / "out").exists()


def test_invalid_result_leaves_nothing(tmp_path):
    files = dict(FILES)
    files["sequence.csv"] = [*SEQUENCE, ("Photolithography", "N25", "Advanced lithography",
                                         "N19", "", "")]  # a cycle
    with pytest.raises(DatasetError, match="cycle"):
        import_cset(write_source(tmp_path / "cset", files), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cset"]


@given(st.lists(st.one_of(st.just(1), st.integers(1, 100)), min_size=1, max_size=12)
       .filter(lambda v: sum(v) > 100))
def test_fit_to_whole_sums_to_100(values):
    shares = [float(v) for v in values]
    fitted, _ = fit_to_whole(shares)
    assert sum(fitted) == pytest.approx(100.0)
    assert all(0 < new <= old for new, old in zip(fitted, shares))
    ones = shares.count(1.0)
    if ones and sum(shares) - 100 < ones:  # the rows published as 1% absorb the excess
        assert [f for f, s in zip(fitted, shares) if s != 1.0] == [s for s in shares if s != 1]


@pytest.mark.skipif(not os.environ.get("SEMIGRAPH_CSET_DIR"),
                    reason="set SEMIGRAPH_CSET_DIR to the folder of the publisher's files")
def test_real_files(tmp_path):
    report = import_cset(os.environ["SEMIGRAPH_CSET_DIR"], tmp_path / "cset")
    model = semigraph.load(report.path)
    names = dict(zip(model.components["name"], model.components["id"]))
    assert shares_by_site(model, names["EUV scanners"]) == {"NLD": 1.0}
    eda = shares_by_site(model, names["Electronic design automation software"])
    assert eda["USA"] == pytest.approx(0.96, abs=0.005)
    assert report.counts["components"] == len(model.components) > 50
    totals = model.supply.groupby("component")["share"].sum()
    assert (totals <= 1.0 + 1e-6).all()


# -- negligible flags, unknown shares and the chokepoint count -------------------------------
SMALL_INPUTS = [
    ("input_name", "input_id", "type", "stage_name", "stage_id", "description"),
    ("Logic chip design: CPUs", "N1", "process", "Design", "S1", ""),
    ("EUV scanners", "N20", "tool_resource", "", "", ""),
    ("E-beam tools", "N29", "tool_resource", "", "", ""),
    ("Wafer inspection", "N61", "tool_resource", "", "", ""),
    ("Photomask handlers", "N12", "tool_resource", "", "", ""),
    ("CVD tools", "N39", "tool_resource", "", "", ""),
]
SMALL_PROVIDERS = [
    ("provider_name", "provider_id", "provider_type", "country"),
    ("USA", "P1", "country", ""), ("CHN", "P2", "country", ""), ("JPN", "P7", "country", ""),
    ("NLD", "P45", "country", ""), ("KOR", "P4", "country", ""), ("ISR", "P133", "country", ""),
    ("FRA", "P132", "country", ""), ("DEU", "P6", "country", ""),
    ("Intel", "P9", "organization", "USA"), ("AMD", "P10", "organization", "USA"),
    ("Loongson", "P13", "organization", "CHN"), ("Zhaoxin", "P14", "organization", "CHN"),
    ("Phytium", "P15", "organization", "CHN"), ("Sunway", "P31", "organization", "CHN"),
    ("Applied Materials", "P81", "organization", "USA"),
]
SMALL_PROVISION = [
    ("provider_name", "provider_id", "provided_name", "provided_id", "share_provided",
     "negligible_market_share"),
    # CPUs: two US firms without shares, four Chinese firms flagged negligible
    ("Intel", "P9", "CPUs", "N1", "", ""), ("AMD", "P10", "CPUs", "N1", "", ""),
    ("Loongson", "P13", "CPUs", "N1", "", "negligible"),
    ("Zhaoxin", "P14", "CPUs", "N1", "", "negligible"),
    ("Phytium", "P15", "CPUs", "N1", "", "negligible"),
    ("Sunway", "P31", "CPUs", "N1", "", "negligible"),
    ("NLD", "P45", "EUV scanners", "N20", "100%", ""),
    # e-beam: the USA total is published; the flagged US firm inside it is not counted again
    ("JPN", "P7", "E-beam tools", "N29", "91%", ""), ("USA", "P1", "E-beam tools", "N29", "5%", ""),
    ("DEU", "P6", "E-beam tools", "N29", "4%", ""),
    ("Applied Materials", "P81", "E-beam tools", "N29", "", "negligible"),
    # wafer inspection: countries without shares, two flagged negligible
    ("USA", "P1", "Wafer inspection", "N61", "", ""),
    ("JPN", "P7", "Wafer inspection", "N61", "", ""),
    ("NLD", "P45", "Wafer inspection", "N61", "", ""),
    ("KOR", "P4", "Wafer inspection", "N61", "", ""),
    ("ISR", "P133", "Wafer inspection", "N61", "", "negligible"),
    ("FRA", "P132", "Wafer inspection", "N61", "", "negligible"),
    ("USA", "P1", "Photomask handlers", "N12", "81%", ""),
    ("JPN", "P7", "Photomask handlers", "N12", "19%", ""),
    ("USA", "P1", "CVD tools", "N39", "59%", ""), ("JPN", "P7", "CVD tools", "N39", "41%", ""),
]
SMALL_SEQUENCE = [
    ("input_name", "input_id", "goes_into_name", "goes_into_id", "is_type_of_name",
     "is_type_of_id"),
    ("EUV scanners", "N20", "CPUs", "N1", "", ""),
]
SMALL = {"stages.csv": STAGES, "inputs.csv": SMALL_INPUTS, "providers.csv": SMALL_PROVIDERS,
         "provision.csv": SMALL_PROVISION, "sequence.csv": SMALL_SEQUENCE}


def publisher_chokepoints(folder: Path, threshold: float = 0.65) -> set[str]:
    """Brute force on the publisher's files: the inputs where one country's published share
    (a country provider row with a share) is at least the threshold."""
    def rows(name):
        with open(folder / name, encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))

    kind = {r["provider_id"]: r["provider_type"] for r in rows("providers.csv")}
    out = set()
    for r in rows("provision.csv"):
        share = r["share_provided"].strip().rstrip("%")
        if kind.get(r["provider_id"]) == "country" and share and float(share) / 100 >= threshold:
            out.add(r["provided_id"])
    return out


def test_negligible_is_near_zero_and_unknown_stays_unknown(tmp_path):
    report = import_cset(write_source(tmp_path / "cset", SMALL), tmp_path / "out")
    model = semigraph.load(report.path)
    rows = {(c, s): (None if v != v else round(float(v), 6), src) for c, s, v, src in
            model.supply[["component", "supplier", "share", "source"]].itertuples(index=False)}
    cpu = "logic-chip-design-cpus"
    # the four flagged Chinese firms hold 1% together; Intel and AMD stay unknown
    assert {s: v for (c, s), v in rows.items() if c == cpu} == {
        "intel": (None, "cset-eto-supply-chain"), "amd": (None, "cset-eto-supply-chain"),
        **{f: (0.0025, "cset-eto-negligible") for f in ("loongson", "zhaoxin", "phytium",
                                                        "sunway")}}
    # the published USA total wins over its flagged firm, which is not counted twice
    assert {s: v[0] for (c, s), v in rows.items() if c == "e-beam-tools"} == {
        "JPN": 0.91, "USA": 0.05, "DEU": 0.04}
    inspection = {s: v[0] for (c, s), v in rows.items() if c == "wafer-inspection"}
    assert inspection == {"USA": None, "JPN": None, "NLD": None, "KOR": None, "ISR": 0.01,
                          "FRA": 0.01}
    used = model.supply.set_index(["component", "supplier"])["share_used"]
    # unknown rows take equal parts of what is left: (1 - 0.01) / 2 and (1 - 0.02) / 4
    assert used[(cpu, "intel")] == pytest.approx(0.495)
    assert used[("wafer-inspection", "KOR")] == pytest.approx(0.245)
    kinds = [r for r in report.repairs if r["what"].startswith("loongson ")]
    assert kinds[0]["column"] == "negligible_market_share" and "0.25%" in kinds[0]["action"]
    readme = (report.path / "README.md").read_text(encoding="utf-8")
    assert "cset-eto-negligible" in readme

    conc = model.concentration(by="country").table.set_index("component")
    assert conc.loc[cpu, "top"] == "USA" and conc.loc[cpu, "top_share"] == pytest.approx(0.99)
    assert conc.loc[cpu, "estimated"]  # Intel's and AMD's split is not published
    # an equal split of all six rows, as before, gave China 4/6 of CPU design
    assert conc.loc[cpu, "top_share"] != pytest.approx(4 / 6)
    on_published = set(conc.index[conc["chokepoint"] & ~conc["estimated"]])
    assert on_published == {"euv-scanners", "e-beam-tools", "photomask-handlers"}
    names = dict(zip(model.components["id"], model.components["description"]))
    assert {names[c].split()[1].rstrip(".") for c in on_published} == \
        publisher_chokepoints(tmp_path / "cset") == {"N20", "N29", "N12"}


def test_bad_negligible_flag_names_row_and_column(tmp_path):
    files = dict(SMALL)
    files["provision.csv"] = [*SMALL_PROVISION, ("Intel", "P9", "E-beam tools", "N29", "",
                                                 "tiny")]
    with pytest.raises(DatasetError) as exc:
        import_cset(write_source(tmp_path / "cset", files), tmp_path / "out")
    p = exc.value.problems[0]
    assert (p.file, p.row, p.column) == ("provision.csv", len(SMALL_PROVISION) + 1,
                                         "negligible_market_share")


@pytest.mark.skipif(not os.environ.get("SEMIGRAPH_CSET_DIR"),
                    reason="set SEMIGRAPH_CSET_DIR to the folder of the publisher's files")
def test_real_files_chokepoints(tmp_path):
    source = Path(os.environ["SEMIGRAPH_CSET_DIR"])
    report = import_cset(source, tmp_path / "cset")
    model = semigraph.load(report.path)
    conc = model.concentration(by="country").table.set_index("component")
    ids = {c: d.split()[1].rstrip(".") for c, d in
           zip(model.components["id"], model.components["description"])}
    published = {ids[c] for c in conc.index[conc["chokepoint"] & ~conc["estimated"]]}
    assert len(published) == 22 and published == publisher_chokepoints(source)
    cpu = conc.loc[next(c for c, i in ids.items() if i == "N1")]
    assert cpu["top"] == "USA" and cpu["top_share"] > 0.97 and cpu["estimated"]


def test_imported_folder_passes_frictionless(imported):
    from tests.test_package import frictionless_errors

    report, _ = imported
    assert frictionless_errors(report.path) == []
