"""Commands ``whatif`` (disruptions typed on the command line) and ``run`` (a scenario file)."""

from __future__ import annotations

import click

from semigraph.cli.options import dataset_option, load_model, output_options

_TABLE_COLUMNS = {
    "component": "component",
    "stage": "stage",
    "availability": "avail",
    "world_availability": "world",
    "time_to_survive_days": "short_from_day",
    "recovery_day": "recovery_day",
    "exposed_days": "exposed_days",
    "bottleneck": "bottleneck (why)",
}


def _check_units(model, scenario) -> None:
    """Resolve every unit and region now, so a typo fails before any work is done."""
    for d in scenario.disruptions:
        model.resolve(d.unit)
        for region in d.to:
            model.members(region)
    if scenario.perspective:
        model.members(scenario.perspective)


def _table_view(frame, scenario, show_all: bool):
    shown = frame if show_all else frame[(frame["availability"] < 1.0) | frame["exposed"]]
    cols = dict(_TABLE_COLUMNS)
    if (frame["availability"] == frame["world_availability"]).all():
        del cols["world_availability"]
    view = shown[list(cols)].rename(columns=cols).copy()
    view["component"] = [c + ("*" if e else "") for c, e in zip(shown["component"],
                                                                 shown["estimated"])]
    n_end = int(((frame["stage"] == "end_use") & (frame["availability"] < 1)).sum())
    notes = [
        f"{len(shown)} of {len(frame)} components shown"
        + ("" if show_all else " (those affected; --all shows every one)")
        + f"; {n_end} end-use product(s) lose supply.",
        "avail: share of normal supply left; short_from_day: first day stocks no longer cover "
        "the loss; recovery_day: day supply is full again (= horizon if not within it).",
    ]
    if shown["estimated"].any():
        notes.append("* rests on an estimated supply share (unknown shares split equally).")
    if shown["recovered"].eq(False).any():
        notes.append(f"Some components do not recover within the {scenario.horizon}-day "
                     "horizon (ttr unknown or longer): their recovery_day is the horizon.")
    return view, notes


def _title(scenario, frame) -> str:
    cuts = "; ".join(str(d) for d in scenario.disruptions)
    head = scenario.title or f"What if: {cuts}"
    sub = f"cut: {cuts}" if scenario.title else ""
    persp = frame.attrs.get("perspective", "world")
    return "\n".join(filter(None, [head, sub, f"perspective: {persp}; horizon: "
                                              f"{scenario.horizon} days"]))


def emit_whatif(model, scenario, *, fmt, output, force, show_all=False, limit=25) -> None:
    from semigraph.analysis.whatif import whatif
    from semigraph.io.write import write_result

    frame = whatif(model, scenario)
    if fmt == "table":
        view, notes = _table_view(frame, scenario, show_all)
        write_result(view, fmt=fmt, output=output, force=force, title=_title(scenario, frame),
                     notes=notes, limit=limit or None)
    else:
        write_result(frame, fmt=fmt, output=output, force=force)


@click.command()
@click.option("--cut", "cuts", multiple=True, required=True, metavar="UNIT",
              help="Unit that stops supplying: country (CHN), bloc (EU27), firm (asml), "
                   "production site (nexperia@CHN, gallium@CHN), component (euv-optics) or "
                   "supply row (supply:COMPONENT/SUPPLIER@SITE). Repeatable.")
@click.option("--severity", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Fraction of each cut unit's supply lost.")
@click.option("--scope", type=click.Choice(["site", "control"]), default="site",
              show_default=True,
              help="For a country: site = supply produced there; control = also supply of "
                   "firms it controls, wherever produced.")
@click.option("--to", "to", multiple=True, metavar="REGION",
              help="Limit the cuts to these destinations (an export ban): country or bloc. "
                   "Repeatable.")
@click.option("--perspective", metavar="REGION",
              help="Consumer country or bloc whose availability is shown (a bloc shows its "
                   "weakest member). Default: world, or the --to destinations.")
@click.option("--horizon", type=click.IntRange(0, 3650), default=365, show_default=True,
              help="Days to simulate stocks and recovery.")
@click.option("--all", "show_all", is_flag=True, help="Table: show unaffected components too.")
@click.option("--limit", type=click.IntRange(0), default=25, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options
def whatif(cuts, severity, scope, to, perspective, horizon, show_all, limit, dataset, fmt,
           output, force) -> None:
    """What if a country, firm or site stops supplying?

    Propagates the loss through the value chain and ranks the components that lose supply,
    end-use products first, with the day stocks run out, the day supply recovers, and the
    chain of inputs that explains each loss.

    \b
    Examples:
      semigraph whatif --cut CHN
      semigraph whatif --cut TWN --perspective NLD --horizon 180
      semigraph whatif --cut gallium@CHN --to USA
      semigraph whatif --cut nexperia@CHN --format json -o nexperia.json
    """
    from semigraph.analysis.scenario import Disruption, Scenario

    model = load_model(dataset)
    scenario = Scenario(
        disruptions=tuple(Disruption(u, severity=severity, scope=scope, to=tuple(to))
                          for u in cuts),
        perspective=perspective, horizon=horizon)
    _check_units(model, scenario)
    emit_whatif(model, scenario, fmt=fmt, output=output, force=force, show_all=show_all,
                limit=limit)


@click.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--perspective", metavar="REGION", help="Override the file's perspective.")
@click.option("--horizon", type=click.IntRange(0, 3650), default=None,
              help="Override the file's horizon (days).")
@click.option("--all", "show_all", is_flag=True, help="Table: show unaffected components too.")
@click.option("--limit", type=click.IntRange(0), default=25, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options
def run(scenario_file, perspective, horizon, show_all, limit, dataset, fmt, output,
        force) -> None:
    """Run a saved scenario file (TOML) from queries/.

    Prints the what-if table and writes the files the scenario's [[output]] tables name
    (relative to the current folder; existing files need --force).

    \b
    Examples:
      semigraph run queries/taiwan-blockade.toml
      semigraph run queries/nexperia-2025.toml --perspective NLD --format csv -o out.csv
    """
    from semigraph.analysis.scenario import read_scenario
    from semigraph.io.write import check_output, format_for

    scenario = read_scenario(scenario_file)
    changes = {}
    if perspective:
        changes["perspective"] = perspective
    if horizon is not None:
        changes["horizon"] = horizon
    scenario = scenario.with_(**changes)
    model = load_model(dataset)
    _check_units(model, scenario)
    for out in scenario.outputs:
        check_output(out["path"], force=force)
    if scenario.description:
        click.echo(scenario.description.strip() + "\n") if fmt == "table" and not output \
            else None
    emit_whatif(model, scenario, fmt=fmt, output=output, force=force, show_all=show_all,
                limit=limit)
    for out in scenario.outputs:
        emit_whatif(model, scenario, fmt=format_for(out["path"], out.get("format")),
                    output=out["path"], force=force, show_all=True, limit=0)
        click.echo(f"Wrote {out['path']}", err=True)
