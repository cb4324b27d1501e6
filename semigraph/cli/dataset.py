"""Commands about the dataset itself: ``info``, ``validate`` and ``dataset merge``."""

from __future__ import annotations

import json

import click

from semigraph.cli.options import dataset_option, echo, echo_json, load_model


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
    lines.append(f"Share weight on publications: {rec['share_weight_on_publications']:.1%} "
                 "(supply shares whose row cites a primary or secondary source); "
                 f"{rec['share_weight_site_split_estimated']:.1%} of all share weight, within "
                 "that part, has its split over sites estimated")
    unc = rec["uncertainty"]
    weight = unc["share_weight_on_estimates"]
    lines.append(f"Estimated figures: {unc['estimated_figures']:,}, "
                 f"{unc['estimated_figures_with_range']:,} with a range in uncertainty "
                 f"({unc['ranges']:,} ranges in all)"
                 + (f"; {weight:.1%} of the share weight rests on estimates (a source or a "
                    "site split labelled estimate: the complement of the published part whose "
                    "split is published too)" if weight is not None else ""))
    if rec["warnings"]:
        lines.append(f"{rec['warnings']} validation warning(s): run semigraph validate")
    return "\n".join(lines) + "\n"


@click.command()
@dataset_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              help="table (default) or json (one object).")
def info(dataset: str | None, fmt: str) -> None:
    """Describe the dataset: counts by kind, stage and platform, its sources, and how many
    estimated figures carry a range (uncertainty).

    \b
    Examples:
      semigraph info
      semigraph info --format json
    """
    rec = load_model(dataset).info()
    if fmt == "json":
        echo_json(json.dumps(rec, indent=1, ensure_ascii=False))
    else:
        echo(_info_text(rec), nl=False)


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
    import semigraph

    folder, problems = semigraph.validate(path or dataset)
    errors = [p for p in problems if p.severity == "error" or strict]
    if fmt == "json":
        echo_json(json.dumps([{"file": p.file, "row": p.row, "column": p.column,
                                "severity": p.severity, "message": p.message}
                               for p in problems], indent=1, ensure_ascii=False))
    else:
        for p in problems:
            echo(str(p), err=bool(errors))
    if errors:
        echo(f"Error: {folder}: {len(errors)} error(s), "
                   f"{len(problems) - len(errors)} warning(s)", err=True)
        raise SystemExit(2)
    if fmt == "table":
        echo(f"OK: {folder} is valid ({len(problems)} warning(s))")


@click.group("dataset")
def dataset_group() -> None:
    """Work on dataset folders: bring imported tables into a dataset.

    \b
    Examples:
      semigraph dataset merge gallium-trade datasets/semiconductors -o merged --replace
    """


@dataset_group.command("merge")
@click.argument("imported", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.argument("into", metavar="INTO_DATASET",
                type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="The merged dataset folder to write (refused if it exists, unless "
                   "--force).")
@click.option("--replace", "on_conflict", flag_value="replace",
              help="On a conflict the imported rows win (for supply and consumption: every "
                   "row of the component).")
@click.option("--keep", "on_conflict", flag_value="keep",
              help="On a conflict the dataset's rows stay and the imported ones are left "
                   "out.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
def merge(imported: str, into: str, output: str, on_conflict: str | None,
          force: bool) -> None:
    """Bring the tables of IMPORTED (a folder written by `semigraph import`) into a copy of
    INTO_DATASET, written to OUTPUT whole and validated, or not at all.

    Rows are matched by key (id; component and input); supply and consumption rows by
    component, since one component's shares are one breakdown: imported rows of a component
    the dataset already has conflict with all of its rows there. A row equal to the
    dataset's is no conflict. Conflicts are errors naming file, row and column (exit status
    2) unless --replace or --keep says which side wins. Every row keeps its source id;
    OUTPUT/merge-log.csv lists each imported row and what became of it, and a section of
    OUTPUT/README.md says what was merged. Tables that are not dataset tables (the trade
    import's imports.csv) are left out.

    \b
    Examples:
      semigraph import trade baci.csv --component gallium --year 2022 -o ga-trade
      semigraph dataset merge ga-trade datasets/semiconductors -o merged --replace
      semigraph concentration --dataset merged
    """
    import semigraph
    from semigraph.cli.importers import listed

    report = semigraph.merge_dataset(imported, into, output,
                                     on_conflict=on_conflict or "error", force=force)
    for table, counts in report.counts.items():
        echo(f"{table}: " + ", ".join(f"{n:,} {action}" for action, n in counts.items()),
             err=True)
    if report.left_out:
        echo(f"Left out (not dataset tables): {listed(report.left_out)}", err=True)
    warnings = [p for p in report.warnings if p.severity != "error"]
    echo(f"Wrote {output} ({len(warnings)} validation warning(s); every merged row is in "
         f"{output}/merge-log.csv)", err=True)
