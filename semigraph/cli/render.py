"""Commands ``map`` (a Graphviz risk map) and ``report`` (one self-contained HTML file)."""

from __future__ import annotations

from pathlib import Path

import click

from semigraph.cli.options import InputFile, dataset_option, echo, load_model

_STAGES = ("materials_equipment", "design", "front_end", "back_end", "photonics", "quantum",
           "end_use")


def _scenario(model, scenario_file, cuts, severity, scope, perspective, mode=None,
              duration=None, horizon=None):
    """The scenario from --scenario FILE or --cut UNIT (not both), or None."""
    from semigraph import Disruption, Scenario
    from semigraph.errors import ScenarioError

    if scenario_file and cuts:
        raise ScenarioError("give --scenario FILE or --cut UNIT, not both")
    if scenario_file:
        scenario = Scenario.read(scenario_file)
        if perspective:
            scenario = scenario.with_(perspective=perspective)
    elif cuts:
        scenario = Scenario(disruptions=tuple(Disruption(u, severity=severity, scope=scope,
                                                         mode=mode, duration_days=duration)
                                              for u in cuts), perspective=perspective)
    else:
        return None
    if horizon is not None:
        scenario = scenario.with_(horizon=horizon)
    if duration is not None and scenario_file:
        from dataclasses import replace

        scenario = scenario.with_(disruptions=tuple(replace(d, duration_days=duration)
                                                    for d in scenario.disruptions))
    return model.check(scenario)


def scenario_options(func):
    """``--scenario FILE``, ``--cut UNIT``, ``--severity``, ``--scope``, ``--mode``,
    ``--duration``, ``--horizon``, ``--perspective``."""
    for opt in reversed([
        click.option("--scenario", "scenario_file", metavar="FILE",
                     type=InputFile(dir_okay=False, path_type=str),
                     help="Scenario file (TOML, see queries/): colour by availability."),
        click.option("--cut", "cuts", multiple=True, metavar="UNIT",
                     help="Unit that stops supplying (country, firm, site such as "
                          "nexperia@CHN, component). Repeatable; instead of --scenario."),
        click.option("--severity", type=click.FloatRange(0, 1), default=1.0,
                     show_default=True, help="With --cut: fraction of supply lost."),
        click.option("--scope", type=click.Choice(["site", "control"]), default="site",
                     show_default=True, help="With --cut on a country: site or control."),
        click.option("--mode", type=click.Choice(["export", "outage"]), default=None,
                     help="With --cut: export stop (default for countries and blocs) or "
                          "outage (default for firms and sites)."),
        click.option("--duration", type=click.FloatRange(0), default=None, metavar="DAYS",
                     help="The cuts (or the scenario's disruptions) end after DAYS."),
        click.option("--horizon", type=click.IntRange(0, 3650), default=None,
                     help="Days simulated (default: the scenario's, else 365)."),
        click.option("--perspective", metavar="REGION",
                     help="Consumer country or bloc whose availability is shown (default: the "
                          "rest of the world)."),
    ]):
        func = opt(func)
    return func


@click.command("map")
@scenario_options
@click.option("--target", metavar="COMPONENT",
              help="Draw this component's upstream (or --downstream) cone.")
@click.option("--stage", "stages", multiple=True, type=click.Choice(_STAGES),
              help="Draw only this stage. Repeatable.")
@click.option("--level", type=click.Choice(["auto", "component", "firm", "country"]),
              default="auto", show_default=True,
              help="component: components only; firm/country: also their suppliers by firm "
                   "or producing country (under a scenario: of the components the cut takes "
                   "supply from); auto: component.")
@click.option("--upstream/--downstream", "upstream", default=True,
              help="Direction of the --target cone (default upstream: what it depends on).")
@click.option("--depth", type=click.IntRange(1), default=None,
              help="Steps from --target (default: all).")
@click.option("--countries", is_flag=True,
              help="Draw the country map instead: stages x countries, the share each holds.")
@click.option("--max-nodes", type=click.IntRange(5), default=45, show_default=True,
              help="Collapse maps with more components than this (half of it at firm or "
                   "country level): to the bottleneck chains under a scenario, to the paths "
                   "from the most concentrated inputs with --target, else to the country "
                   "map. The title says what was left out.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="FILE.dot, .svg, .png or .pdf (all but .dot need Graphviz's dot).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@dataset_option
def map_command(scenario_file, cuts, severity, scope, mode, duration, horizon, perspective,
                target, stages, level, upstream, depth, countries, max_nodes, output, force,
                dataset) -> None:
    """Draw a risk map: components by stage, coloured by risk.

    With a scenario, colour is the lowest daily supply within the horizon, every user of an
    input rationed alike (the pooled reading); a node whose tied reading (buyers tied to
    their supplier until they qualify another) differs says "tied x%", its tooltip gives
    the chain-first bound and the tied reading too, and only what loses supply in either
    reading is drawn. Without a scenario, colour is the share of world supply made in the
    top country. Single points of failure and cut units are marked; a legend explains every
    colour and mark. Large maps are collapsed so that they fit a slide, and the title says
    how and what was left out (--max-nodes sets the size).

    \b
    Examples:
      semigraph map --scenario queries/taiwan-blockade.toml -o taiwan.svg
      semigraph map --cut nexperia@CHN -o nexperia.png
      semigraph map --target smartphone --depth 2 -o smartphone.png
      semigraph map --cut TWN --level country -o taiwan-suppliers.png
      semigraph map --countries -o who.svg
    """
    from semigraph.io.write import check_output
    from semigraph.render import map_format, write_map

    map_format(output)
    check_output(output, force=force)
    net = load_model(dataset)
    scenario = _scenario(net, scenario_file, cuts, severity, scope, perspective, mode,
                         duration, horizon)
    result = net.whatif(scenario=scenario, explain=False) if scenario is not None else None
    graph = net.map(result, countries=countries, target=target, stages=stages, level=level,
                    direction="upstream" if upstream else "downstream", depth=depth,
                    max_nodes=max_nodes)
    write_map(graph, output, force=force)
    echo(f"Wrote {output}", err=True)


@click.command()
@click.option("--scenario", "scenario_files", multiple=True, metavar="FILE",
              type=InputFile(dir_okay=False, path_type=str),
              help="Scenario file (TOML). Repeatable: one section per scenario.")
@click.option("--cut", "cuts", multiple=True, metavar="UNIT",
              help="Unit that stops supplying; all --cut units form one scenario.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The HTML file to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@dataset_option
def report(scenario_files, cuts, output, force, dataset) -> None:
    """Write one self-contained HTML report (no network access needed to read it).

    For each scenario: its summary, the ranked what-if table (the lowest supply from every
    user rationed alike to the chain served first, and the tied reading: buyers tied to
    their supplier until they qualify another, with the day the first of them run out),
    charts of supply over days in the three readings for the end-use products that lose
    supply (up to eight) and the risk map (coloured by the pooled reading); then the
    dependency matrix (end-use products x countries: the share of each product lost when
    that country is cut) and the sources cited. Maps need Graphviz's dot.

    \b
    Examples:
      semigraph report --scenario queries/taiwan-blockade.toml -o report.html
      semigraph report --scenario queries/taiwan-blockade.toml \\
          --scenario queries/nexperia-2025.toml -o report.html
    """
    from semigraph import Scenario
    from semigraph.io.write import check_output
    from semigraph.render.dot import find_dot

    if Path(output).suffix.lower() not in (".html", ".htm"):
        from semigraph.errors import OutputError

        raise OutputError(f"{output}: the report is an HTML file; name it .html or .htm")
    check_output(output, force=force)
    find_dot()  # fail before the work, not after it
    net = load_model(dataset)
    scenarios = [Scenario.read(f) for f in scenario_files]
    if cuts:
        scenarios.append(net.scenario(*cuts))
    for s in scenarios:
        net.check(s)
    net.report(scenarios, output, force=force)
    echo(f"Wrote {output}", err=True)
