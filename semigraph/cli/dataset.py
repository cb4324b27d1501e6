"""Commands about the dataset itself: ``info`` and ``validate``."""

from __future__ import annotations

import json

import click

from semigraph.cli.options import dataset_option, load_model


def _info_record(model) -> dict:
    comps, supply, sources = model.components, model.supply, model.sources
    by_stage = {}
    for stage, group in comps.groupby("stage", sort=True):
        ids = set(group["id"])
        by_stage[stage] = {
            "components": len(group),
            "supply_rows": int(supply["component"].isin(ids).sum()),
        }
    kinds = model.supply["supplier_kind"].value_counts()
    return {
        "name": model.name,
        "version": model.version,
        "title": model.meta.get("title"),
        "licence": ", ".join(lic.get("name", "") for lic in model.meta.get("licenses", [])) or None,
        "path": str(model.path),
        "counts": {
            "countries": len(model.countries),
            "blocs": len(model.blocs),
            "firms": len(model.firms),
            "components": len(comps),
            "supply": len(supply),
            "consumption": len(model.consumption),
            "requires": len(model.requires),
            "sources": len(sources),
        },
        "by_kind": {k: int(v) for k, v in comps["kind"].value_counts().sort_index().items()},
        "by_stage": by_stage,
        "by_platform": {k: int(v) for k, v in
                        comps["platform"].dropna().value_counts().sort_index().items()},
        "supply_rows_by_supplier_kind": {k: int(v) for k, v in kinds.sort_index().items()},
        "estimated_shares": int(supply["share_estimated"].sum()),
        "sources_by_kind": {k: int(v) for k, v in
                            sources["kind"].fillna("unspecified").value_counts().sort_index()
                            .items()},
        "warnings": len(model.warnings),
    }


def _info_text(rec: dict) -> str:
    lines = [f"Dataset {rec['name']} {rec['version']}"
             + (f": {rec['title']}" if rec["title"] else ""),
             f"  path     {rec['path']}"]
    if rec["licence"]:
        lines.append(f"  licence  {rec['licence']}")
    lines.append("")
    lines.append("Counts")
    lines += [f"  {k:<12}{v:>6}" for k, v in rec["counts"].items()]
    lines.append("")
    lines.append(f"  {'stage':<22}{'components':>11}{'supply rows':>13}")
    lines += [f"  {s:<22}{v['components']:>11}{v['supply_rows']:>13}"
              for s, v in rec["by_stage"].items()]
    lines.append("")
    lines.append("Components by kind: " + ", ".join(f"{k} {v}" for k, v in rec["by_kind"].items()))
    if rec["by_platform"]:
        lines.append("Components by platform: "
                     + ", ".join(f"{k} {v}" for k, v in rec["by_platform"].items()))
    lines.append("Supply rows by supplier: " + ", ".join(
        f"{k} {v}" for k, v in rec["supply_rows_by_supplier_kind"].items())
        + f"; {rec['estimated_shares']} with an unknown share (estimated)")
    lines.append("Sources by kind: " + ", ".join(f"{k} {v}"
                                                for k, v in rec["sources_by_kind"].items()))
    if rec["warnings"]:
        lines.append(f"{rec['warnings']} validation warning(s): run semigraph validate")
    return "\n".join(lines) + "\n"


@click.command()
@dataset_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              help="table (default) or json (one object).")
def info(dataset: str | None, fmt: str) -> None:
    """Describe the dataset: counts by kind, stage and platform, and its sources.

    \b
    Examples:
      semigraph info
      semigraph info --format json
    """
    model = load_model(dataset)
    rec = _info_record(model)
    if fmt == "json":
        click.echo(json.dumps(rec, indent=1, ensure_ascii=False))
    else:
        click.echo(_info_text(rec), nl=False)


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=str))
@dataset_option
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              help="table (default): one line a problem; json: an array of problems.")
def validate(path: str | None, dataset: str | None, strict: bool, fmt: str) -> None:
    """Check a dataset folder and report every problem, with file, row and column.

    Rows are counted as a spreadsheet shows them (the header is row 1). Exit status 0 when
    the dataset is valid, 2 when it has errors (or warnings, with --strict).

    \b
    Examples:
      semigraph validate datasets/semiconductors
      semigraph validate my-dataset --strict --format json
    """
    from semigraph.errors import DatasetError
    from semigraph.io.read import read_folder
    from semigraph.model.model import default_dataset_path
    from semigraph.model.validate import validate as run_checks

    folder = path or dataset or str(default_dataset_path())
    try:
        raw = read_folder(folder)
    except DatasetError as exc:
        problems = exc.problems
    else:
        _, problems = run_checks(raw)
    problems = sorted(problems, key=lambda p: (p.file, p.row or 0, p.column or ""))
    errors = [p for p in problems if p.severity == "error" or strict]
    if fmt == "json":
        click.echo(json.dumps([{"file": p.file, "row": p.row, "column": p.column,
                                "severity": p.severity, "message": p.message}
                               for p in problems], indent=1, ensure_ascii=False))
    else:
        for p in problems:
            click.echo(str(p), err=bool(errors))
    if errors:
        click.echo(f"Error: {folder}: {len(errors)} error(s), "
                   f"{len(problems) - len(errors)} warning(s)", err=True)
        raise SystemExit(2)
    if fmt == "table":
        click.echo(f"OK: {folder} is valid ({len(problems)} warning(s))")
