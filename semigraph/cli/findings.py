"""Commands ``spof`` (cut sets), ``concentration`` and ``stockpile``: the findings."""

from __future__ import annotations

import sys

import click

from semigraph.cli.options import (
    InputFile,
    dataset_option,
    echo,
    emit,
    horizon_option,
    load_model,
    measure_option,
    output_options,
    progress_bar,
)


@click.command()
@click.option("--target", "targets", multiple=True, metavar="COMPONENT|stage:STAGE",
              default=("stage:end_use",), show_default=True,
              help="Component to protect, or every component of a stage. Repeatable.")
@click.option("--level", type=click.Choice(["country", "firm", "site", "component"]),
              default="country", show_default=True,
              help="Units that fail: countries (production sites there), firms, production "
                   "sites (firm@ISO3) or components (the component itself).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="A cut set drives the target's availability below this; 0 = total loss. "
                   "[default: 0.5]")
@click.option("--order", type=click.IntRange(1, 4), default=1, show_default=True,
              help="Largest number of units failing together (1 = single points of failure).")
@measure_option("headline: lowest daily availability within --horizon (stocks, installed "
                "base, restoration; countries stop exports, seen from the rest of the world); "
                "steady: the static bound, every unit lost for everyone.")
@horizon_option()
@click.option("--max-sets", type=click.IntRange(1), default=None,
              help="Refuse, before starting, a search that could screen more unit sets than "
                   "this (with an estimate and how to narrow it). [default: 500,000, and "
                   "searches estimated at over 2 minutes are refused too; given, it allows "
                   "that many sets however long they take]")
@click.option("--limit", type=click.IntRange(0), default=40, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options(extra=("mef",), suffixes={".xml": "mef"},
                extra_help="; mef = Open-PSA fault tree (XML) of the total-loss problem")
def spof(targets, level, threshold, order, measure, horizon, max_sets, limit, dataset, fmt,
         output, force) -> None:
    """Single points of failure and minimal cut sets of a component or stage.

    Lists every minimal set of up to --order units whose joint loss drives the target's
    availability below --threshold, with the availability left. The search is exact: no
    listed set contains another, and none is missing up to the order.

    Readings: the search runs on the pooled reading (every user of an input rationed
    alike), or on the static bound with --measure steady. With the headline measure each set
    found also shows the chain served first (the upper bound) and the tied reading (buyers
    tied to their supplier until they qualify another); they do not decide what is listed.

    \b
    Examples:
      semigraph spof --target euv-scanner --level firm
      semigraph spof --target stage:end_use --level country --order 2
      semigraph spof --target quantum-computer --level site --threshold 0
      semigraph spof --target smartphone --level firm --format mef -o smartphone.xml
    """
    net = load_model(dataset)
    if fmt == "mef":
        xml = net.fault_tree(targets, level=level)
        if threshold is not None and threshold > 0:
            echo("Note: the fault tree states total loss (threshold 0); --threshold "
                       "does not apply to it.", err=True)
        _write_text(xml, output, force)
        return
    threshold = 0.5 if threshold is None else threshold
    # the API's limits, or the sets given: allowed however long they take
    limits = {} if max_sets is None else {"max_sets": max_sets, "max_minutes": None}
    net.spof_check(targets, level=level, order=order, **limits)  # refuse at once
    total = net.spof_search_size(targets, level=level, order=order)
    with progress_bar("Unit sets screened and simulated", length=total,
                      show=measure == "headline" and total > 2000) as progress:
        result = net.spof(targets, level=level, threshold=threshold, order=order,
                          measure=measure, horizon=horizon, progress=progress, **limits)
    frame = result.table
    if fmt != "table":
        emit(result, fmt=fmt, output=output, force=force)
        return
    view = frame[["target", "order", "units", "availability"]].copy()
    if measure == "headline":
        from semigraph.cli.whatif import value_range

        view["availability"] = [value_range(lo, hi, 3) for lo, hi in
                                zip(frame["availability"], frame["availability_high"])]
        view["tied"] = [f"{v:.3f}" for v in frame["availability_tied"]]
    view["units"] = [" + ".join(u) + ("*" if e else "")
                     for u, e in zip(frame["units"], frame["estimated"])]
    none = frame.attrs["no_cut_set"]
    stats = frame.attrs["stats"]
    goal = "total loss" if threshold == 0 else f"availability below {threshold:g}"
    notes = [
        f"{len(frame)} minimal cut set(s) of up to {order} {level} unit(s) for "
        f"{len(frame.attrs['targets'])} target(s); read a row as: if these units all stop "
        f"supplying, the target is left with `availability` of its normal supply"
        + (" on its lowest day (a range: every user rationed alike .. the chain served "
           "first; tied: buyers tied to their supplier until they qualify another). The "
           "search is on the first figure (every user rationed alike)."
           if measure == "headline" else "."),
        f"{len(none)} target(s) have none: " + ", ".join(none[:12])
        + (" ..." if len(none) > 12 else "") if none else "Every target has a cut set.",
        (f"Measure: lowest daily availability within {horizon} days (headline). Search: "
         f"{stats['evaluated']:,} unit sets screened by their static bound, "
         f"{stats['floored']:,} of them then by a floor under the lowest day (what stocks, "
         f"restoration and installed equipment guarantee), {stats['simulated']:,} "
         f"simulated day by day, where trying every set would take "
         f"{stats['brute_force']:,} per target; the result is exact."
         if measure == "headline" else
         f"Measure: static bound (steady). Search: {stats['evaluated']:,} unit sets evaluated "
         f"where trying every set would take {stats['brute_force']:,} per target (pruned by "
         "upstream cone, monotonicity and separability; the result is exact)."),
    ]
    if frame["estimated"].any():
        notes.append("* rests on an estimated supply share (unknown shares split equally).")
    emit(result, fmt=fmt, output=output, force=force, view=view, notes=notes,
         limit=limit or None,
         title=f"Minimal cut sets ({level} level, {goal}, "
               + (f"lowest day within {horizon} days, rest of the world)"
                  if measure == "headline" else "static bound, lost for everyone)"))


def _write_text(text: str, output: str | None, force: bool) -> None:
    from semigraph.io.write import atomic_write

    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        atomic_write(output, lambda fh: fh.write(text.encode("utf-8")), force=force)


_CONC_TABLE = {
    "component": "component",
    "top": "top",
    "top_share": "top_share",
    "cr3": "cr3",
    "hhi": "hhi",
    "effective_suppliers": "eff_n",
    "chokepoint": "choke",
    "eu_2004_band": "eu_2004",
    "us_2023_band": "us_2023",
    "crma_exceeded": "crma>65%",
    "upstream_exposure": "upstream",
    "upstream_country": "via",
}


@click.command()
@click.option("--by", type=click.Choice(["country", "firm", "bloc"]), default="country",
              show_default=True, help="Holders whose shares are counted.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=0.65,
              show_default=True, help="Chokepoint: one holder has at least this share.")
@click.option("--perspective", metavar="REGION", default="EU27", show_default=True,
              help="Whose third countries the Critical Raw Materials Act benchmark counts.")
@click.option("--matrix", is_flag=True,
              help="Print the dependency matrix instead: end-use products x countries, each "
                   "cell 1 - availability when that country is cut.")
@click.option("--stage", default="end_use", show_default=True,
              help="--matrix: the stage whose components are the rows.")
@click.option("--chokepoints", "only_chokepoints", is_flag=True,
              help="Only components that are chokepoints or hidden chokepoints.")
@click.option("--limit", type=click.IntRange(0), default=30, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options
def concentration(by, threshold, perspective, matrix, stage, only_chokepoints, limit, dataset,
                  fmt, output, force) -> None:
    """Concentration of supply per component: HHI, CR1, CR3, chokepoints, policy bands.

    Also shows each component's upstream exposure: the largest share of its availability
    that one country can remove anywhere upstream, which finds hidden chokepoints.

    \b
    Examples:
      semigraph concentration
      semigraph concentration --by firm --chokepoints
      semigraph concentration --by bloc --threshold 0.5 --format csv -o blocs.csv
      semigraph concentration --matrix
    """
    net = load_model(dataset)
    if matrix:
        result = net.dependency_matrix(stage=stage)
        notes = ["Reading: the static bound (stocks spent, nothing restored, every user "
                 "rationed alike). Each cell: share of the product's supply lost when every "
                 "production site in that country stops for good (1 - availability), world "
                 "view; columns ordered by their largest exposure. The lowest day of a what-if "
                 "(semigraph whatif --cut COUNTRY) counts stocks and restoration and is milder."]
        emit(result, fmt=fmt, output=output, force=force, limit=limit or None, notes=notes)
        return
    result = net.concentration(by=by, threshold=threshold, perspective=perspective,
                               chokepoints_only=only_chokepoints)
    frame = result.table
    if fmt != "table":
        emit(result, fmt=fmt, output=output, force=force)
        return
    view = frame[list(_CONC_TABLE)].rename(columns=_CONC_TABLE)
    view["component"] = [c + ("*" if e else "") + ("!" if h else "")
                         for c, e, h in zip(frame["component"], frame["estimated"],
                                            frame["hidden_chokepoint"])]
    n_choke = int(frame["chokepoint"].sum())
    n_est = int((frame["chokepoint"] & frame["estimated"]).sum())
    notes = [
        f"{n_choke} chokepoint(s) (one {by} holds at least {threshold:.0%}"
        + (f"; {n_choke - n_est} on given shares alone, {n_est} resting on an estimated "
           "share, marked *" if n_est else "") + "); "
        f"{int(frame['hidden_chokepoint'].sum())} hidden (marked !: no holder does, but one "
        "country upstream removes that much).",
        "hhi 0..10,000; eu_2004: low <1,000, moderate 1,000-2,000, high >2,000; us_2023: "
        "highly concentrated >1,800; crma>65%: one country outside "
        f"{frame.attrs['perspective']} supplies over 65%; upstream: largest share one country "
        "removes anywhere upstream (via).",
    ]
    if frame["estimated"].any():
        notes.append("* rests on an estimated supply share (unknown shares split equally).")
    emit(result, fmt=fmt, output=output, force=force, view=view, limit=limit or None,
         notes=notes)


@click.command()
@click.option("--perspective", metavar="REGION",
              help="Consumer country or bloc whose supply is judged. Default: world (or each "
                   "scenario file's own).")
@click.option("--scenario", "scenario_files", multiple=True, metavar="FILE",
              type=InputFile(dir_okay=False, path_type=str),
              help="Scenario file (TOML) to include; repeatable. Default: each country holding "
                   "a chokepoint (65% of some component) cut in full.")
@click.option("--horizon", type=click.IntRange(1, 3650), default=730, show_default=True,
              help="Days simulated for the default scenarios.")
@click.option("--limit", type=click.IntRange(0), default=25, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options
def stockpile(perspective, scenario_files, horizon, limit, dataset, fmt, output, force) -> None:
    """Strategic-stockpile candidates, ranked, with the extra stock to hold.

    A candidate is a storable component whose supply takes longer to restore than its stock
    lasts and whose shortfall alone makes end-use products short, in some plausible scenario.

    Readings: candidates, ranking and extra stock use the pooled reading (every user of an
    input rationed alike), leaving out shortfalls that serving the chain first would close
    (the upper bound). Beside them, tied_short is the tied reading (buyers tied to their
    supplier until they qualify another): the day the first tied buyers run out, by when a
    stockpile must be in place.

    \b
    Examples:
      semigraph stockpile
      semigraph stockpile --perspective EU27
      semigraph stockpile --scenario queries/taiwan-blockade.toml --format csv -o stock.csv
    """
    import semigraph

    scenarios = [semigraph.Scenario.read(f) for f in scenario_files] or None
    net = load_model(dataset)
    result = net.stockpile(scenarios, perspective=perspective, horizon=horizon)
    frame = result.table
    if fmt != "table":
        emit(result, fmt=fmt, output=output, force=force)
        return
    view = frame[["rank", "component", "score", "products_protected", "worst_scenario",
                  "stock_days", "ttr_days", "time_to_survive_days", "tied_short_from_day",
                  "exposed_days", "extra_stock_days", "cost_eur"]].rename(columns={
                      "products_protected": "products", "worst_scenario": "worst",
                      "time_to_survive_days": "short_from_day",
                      "tied_short_from_day": "tied_short", "exposed_days": "exposed",
                      "extra_stock_days": "extra_days"}).copy()
    for col in ("stock_days", "ttr_days", "extra_days"):
        view[col] = view[col].round().astype("Int64")
    view["products"] = [f"{len(p)}: " + ", ".join(p) for p in frame["products_protected"]]
    view["component"] = [c + ("*" if e else "") for c, e in zip(frame["component"],
                                                                 frame["estimated"])]
    notes = [
        "Read a row as: in its worst scenario this input runs out on short_from_day and stays "
        "short for `exposed` days, making `products` short; holding extra_days more days of "
        "demand in stock bridges it. tied_short: the day the first buyers tied to their "
        "supplier until they qualify another run out (each holding its own stock; - = "
        "never), by when the stockpile must be in place.",
        "Scenarios: " + ", ".join(frame.attrs["scenarios"]) + ".",
        *frame.attrs["notes"],
    ]
    if frame["estimated"].any():
        notes.append("* rests on an estimated supply share (unknown shares split equally).")
    emit(result, fmt=fmt, output=output, force=force, view=view, limit=limit or None,
         notes=notes, title="Strategic-stockpile candidates"
                            + (f" (perspective {perspective})" if perspective else ""))
