"""Command ``sweep``: every unit of a level cut in turn, in batches, streamed to a file."""

from __future__ import annotations

import csv

import click

from semigraph.cli.options import (
    InputFile,
    dataset_option,
    echo,
    emit,
    horizon_option,
    load_model,
    measure_option,
    progress_bar,
)


def _probabilities(path: str) -> dict[str, float]:
    """``unit,probability`` rows of a CSV file; errors name the file, row and column."""
    from semigraph.errors import ScenarioError

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc}") from None
    if not rows or [c.strip() for c in rows[0][:2]] != ["unit", "probability"]:
        raise ScenarioError(f"{path}, row 1: the header must be 'unit,probability'")
    out: dict[str, float] = {}
    first: dict[str, int] = {}  # unit -> the row that gave it
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2:
            raise ScenarioError(f"{path}, row {number}: needs a unit and a probability")
        unit, text = row[0].strip(), row[1].strip()
        try:
            p = float(text)
        except ValueError:
            raise ScenarioError(f"{path}, row {number}, column probability: {text!r} is not "
                                "a number") from None
        if not 0.0 <= p <= 1.0:
            raise ScenarioError(f"{path}, row {number}, column probability: {text} is not "
                                "between 0 and 1")
        if unit in first:  # which of the two is meant cannot be told
            raise ScenarioError(f"{path}, row {number}, column unit: {unit} is given again "
                                f"(first in row {first[unit]}); give each unit once")
        first[unit] = number
        out[unit] = p
    return out


@click.command()
@click.option("--level", type=click.Choice(["country", "bloc", "firm", "component"]),
              default="country", show_default=True,
              help="Units cut: countries (their production sites), blocs, firms or "
                   "components.")
@click.option("--order", type=click.IntRange(1, 3), default=1, show_default=True,
              help="Units cut together: 1 = each alone, 2 = every pair, 3 = every triple.")
@click.option("--targets", "targets", metavar="UNIT[,UNIT...]", multiple=True,
              help="Only these units of the level (comma-separated or repeated); default all.")
@click.option("--all", "all_components", is_flag=True,
              help="Report every component, not only the end-use products.")
@click.option("--mode", type=click.Choice(["export", "outage"]), default=None,
              help="export: the units stop supplying consumers outside them; outage: their "
                   "supply is lost for everyone. [default: export for countries and blocs, "
                   "outage for firms and components]")
@click.option("--severity", type=click.FloatRange(0, 1, min_open=True), default=1.0,
              show_default=True, help="Share of each cut unit's supply lost.")
@click.option("--duration", type=click.FloatRange(0), default=None, metavar="DAYS",
              help="Each cut lasts this many days (default: the whole horizon).")
@horizon_option()
@click.option("--perspective", metavar="REGION",
              help="Consumer country or bloc seen from (default: the rest of the world).")
@measure_option("headline: lowest daily availability within --horizon (stocks, installed "
                "base, restoration), with both allocation bounds, days to impact and lost "
                "days; steady: the static bound alone (fast).")
@click.option("--step", type=click.IntRange(1, 365), default=14, show_default=True,
              metavar="DAYS",
              help="Headline: days simulated at once between events (1 = exactly day by day;"
                   " longer steps are faster and shift days to impact by less than a step).")
@click.option("--monte-carlo", "monte_carlo", type=click.IntRange(1), default=None, metavar="N",
              help="Instead of every combination, N random draws: each unit is cut with its "
                   "probability, independently.")
@click.option("--probability", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Monte Carlo: the probability that a unit is cut in a draw.")
@click.option("--probabilities", "probabilities_file", type=InputFile(dir_okay=False),
              metavar="FILE.csv",
              help="Monte Carlo: per-unit probabilities (columns unit,probability; units not "
                   "listed are never cut).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the --monte-carlo draws of disruptions and of the --uncertainty "
                   "draws of figures (each from a generator of its own; same seed, same "
                   "draws).")
@click.option("--uncertainty", type=click.IntRange(1, 100_000), default=None, metavar="N",
              help="Also run every scenario under the same N draws of the dataset's uncertain "
                   "figures (each uniform on its range, shares of a component drawn jointly) "
                   "and add to each row the 5th, 50th and 95th percentile of every reading, of "
                   "the first day short and of lost days (columns availability_p05 ...). Not "
                   "to be confused with --monte-carlo, which draws disruptions. Each "
                   "scenario costs N simulations, counted against the limits; headline "
                   "measure only (--measure steady is refused), in process only (refused "
                   "with --scheduler or --workers).")
@click.option("--ranges", type=InputFile(dir_okay=False, path_type=str), default=None,
              metavar="FILE",
              help="With --uncertainty: draw from the ranges in FILE (CSV: table,key,column,"
                   "low,high,source,reason) instead of the dataset's uncertainty table.")
@click.option("--max-scenarios", type=click.IntRange(1), default=None, metavar="N",
              help="Allow a sweep of up to N scenarios however long it takes (with "
                   "--uncertainty: up to N simulations, scenarios x draws). Without it, a "
                   "sweep estimated at over an hour of work is refused before it starts, with "
                   "the estimate and how to narrow it.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on this Dask scheduler (tcp://HOST:8786; default "
                   "$DASK_SCHEDULER_ADDRESS). Needs Dask: pip install -e '.[distributed]' in "
                   "the checkout.")
@click.option("--workers", type=click.IntRange(1), default=None, metavar="N",
              help="Start a local Dask cluster of N processes for the sweep.")
@click.option("--limit", type=click.IntRange(0), default=20, show_default=True,
              help="Terminal: scenarios to print (0 = all).")
@dataset_option
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "json", "xlsx"]),
              default=None, help="Format of -o (default: from its suffix).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the long table (scenario, component, fields) here, streamed a "
                   "batch at a time: .parquet, .csv, .json ({\"meta\", \"rows\"}) or .xlsx "
                   "(up to 1,048,575 rows, an Excel sheet's limit; a larger sweep is "
                   "refused before it runs).")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def sweep(level, order, targets, all_components, mode, severity, duration, horizon,
          perspective, measure, step, monte_carlo, probability, probabilities_file, seed,
          uncertainty, ranges, max_scenarios, scheduler, workers, limit, dataset, fmt, output,
          force) -> None:
    """Cut every unit of a level in turn (or every pair, or random draws).

    Each scenario is evaluated on the compiled engine, many at a time, and written as one
    long table: a row per scenario and component (end products by default, every component
    with --all), with the scenario's id (units joined by '+') and the measure's fields. The
    terminal shows the scenarios worst first; -o writes the whole table.

    With --uncertainty N every scenario also runs under the same N seeded draws of the
    uncertain figures (common random numbers: scenarios differ by their cuts, not by their
    draws), simulated --step days at a time like the sweep, and each row gains the bands
    whatif --uncertainty shows (at --step 1, the very same numbers).

    \b
    Examples:
      semigraph sweep                                   # every country's export stop
      semigraph sweep --level country --order 2 --measure steady -o pairs.parquet
      semigraph sweep --level firm --all -o firms.parquet
      semigraph sweep --level country --monte-carlo 10000 --probability 0.02 --seed 7 \\
          -o draws.parquet
      semigraph sweep --targets CHN,TWN,KOR --duration 90
      semigraph sweep --level firm --order 2 --workers 2 -o firm-pairs.parquet
      semigraph sweep --targets CHN,TWN,KOR --uncertainty 50 -o bands.csv
    """
    if output:  # a file the sweep cannot write is refused before the dataset is read
        from semigraph.io.write import STREAM_SUFFIXES, check_output, format_for

        format_for(output, fmt, suffixes=STREAM_SUFFIXES)
        check_output(output, force=force)
    units = [u.strip() for t in targets for u in t.split(",") if u.strip()] or None
    probs = _probabilities(probabilities_file) if probabilities_file else probability
    net = load_model(dataset)
    label = f"Scenarios ({level}, order {order})" if monte_carlo is None else "Draws"
    if uncertainty:
        label += f", {uncertainty:,} figure draws each"
    with progress_bar(label) as progress:
        result = net.sweep(level, order=order, targets=units, mode=mode, severity=severity,
                           duration=duration, horizon=horizon, perspective=perspective,
                           measure=measure, all_components=all_components,
                           monte_carlo=monte_carlo, probability=probs, seed=seed, step=step,
                           max_scenarios=max_scenarios, uncertainty=uncertainty,
                           ranges=ranges, output=output, format=fmt, force=force,
                           scheduler=scheduler, workers=workers, progress=progress)
    if output:
        meta = result.meta
        echo(f"Wrote {meta['rows']:,} rows ({meta['scenarios']:,} scenarios x "
                   f"{meta['components']:,} components) to {output}", err=True)
    lowest = ("the lowest day within the horizon, every user rationed alike"
              if measure == "headline" else "the static bound")
    notes = [f"lowest: the lowest availability of any reported component ({lowest}); "
             "components_short: how many are below 0.99"
             + ("; lost_days: their lost supply summed, in days of normal demand; "
                "lowest_tied, components_short_tied: the same with buyers tied to their "
                "supplier until they qualify another."
                if measure == "headline" else ".")]
    if uncertainty:
        info = result.meta["uncertainty"]
        notes.append(f"lowest_p05, lowest_p95: the lowest component's 5th and 95th percentile "
                     f"over {info['draws']:,} draws of {info['figures']:,} uncertain figures "
                     f"(seed {info['seed']}), the same draws for every scenario; the table "
                     "has every component's band (columns availability_p05 ...).")
    if not output:
        notes.append("Write the whole table (every scenario and component) with "
                     "-o FILE.parquet.")
    emit(result, fmt="table", output=None, force=False, view=result.summary, notes=notes,
         limit=limit or None)
