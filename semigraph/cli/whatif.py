"""Commands ``whatif`` (disruptions typed on the command line) and ``run`` (a scenario file)."""

from __future__ import annotations

import contextlib
import sys

import click

from semigraph.cli.options import (
    InputFile,
    chart_options,
    dataset_option,
    draw_chart,
    echo,
    emit,
    horizon_option,
    load_model,
    output_options,
    progress_bar,
)

_TABLE_COLUMNS = {
    "component": "component",
    "stage": "stage",
    "availability": "avail",
    "availability_tied": "tied",
    "steady_state": "if_never_restored",
    "world_availability": "world",
    "time_to_survive_days": "short_from_day",
    "tied_short_from_day": "tied_short",
    "exposed_share": "exposed",
    "recovery_day": "recovery_day",
    "lost_days": "lost_days",
    "bottleneck": "bottleneck (why)",
    "bottleneck_high": "if served first",
}


def _tail(chain, component: str, width: int = 48):
    """A bottleneck chain for the table: the last steps and the main cut supply row."""
    if not isinstance(chain, str):
        return chain
    steps = chain.split(" <- ")[1:] if chain.startswith(component + " <- ") else \
        chain.split(" <- ")
    if not steps:
        return chain
    rows = steps[-1].split(" + ")
    first = rows[0].replace(", export stop", "").replace(", cut", "")
    steps[-1] = first + (f" +{len(rows) - 1}" if len(rows) > 1 and "more" not in rows[-1]
                         else " +more" if len(rows) > 1 else "")
    text = " <- ".join(steps)
    while len(text) > width and len(steps) > 1:
        steps = steps[1:]
        text = "… <- " + " <- ".join(steps)
    return text


def value_range(low: float, high: float, digits: int = 2) -> str:
    """``0.21-0.64``, or one figure when both agree as printed; ``-`` when unknown."""
    import math

    if low is None or (isinstance(low, float) and math.isnan(low)):
        return "-"
    if abs(high - low) < 0.5 * 10 ** -digits:
        return f"{low:.{digits}f}"
    return f"{low:.{digits}f}-{high:.{digits}f}"


def _band(mid, low, high, digits: int = 2) -> str:
    """``0.41 (0.33-0.52)``: the median and the 5th-95th percentile band; ``-`` for never."""
    import pandas as pd

    def num(v):
        return "-" if v is None or pd.isna(v) else (f"{v:.{digits}f}" if digits else
                                                     str(int(v)))

    return f"{num(mid)} ({num(low)}-{num(high)})"


def _band_view(view, shown):
    """Band columns for the terminal table (what-if results made with uncertainty)."""
    at = list(view.columns).index("avail") + 1
    for name, src, digits in (("avail p50 (p05-p95)", "availability", 2),
                              ("tied p50 (p05-p95)", "availability_tied", 2),
                              ("short_from p50 (p05-p95)", "time_to_survive_days", 0),
                              ("lost_days p50 (p05-p95)", "lost_days", 1)):
        view.insert(at, name, [_band(m, lo, hi, digits) for m, lo, hi in
                               zip(shown[f"{src}_p50"], shown[f"{src}_p05"],
                                   shown[f"{src}_p95"])])
        at += 1
    return view


def _table_view(frame, scenario, show_all: bool):
    hurt = ((frame["availability"] < 1.0) | (frame["steady_state"] < 1.0) | frame["exposed"]
            | (frame["availability_tied"] < 1.0))
    shown = frame if show_all else frame[hurt]
    cols = dict(_TABLE_COLUMNS)
    if (frame["availability"] == frame["world_availability"]).all():
        del cols["world_availability"]
    if shown["bottleneck_high"].isna().all():
        del cols["bottleneck_high"]
    view = shown[list(cols)].rename(columns=cols).copy()
    view["component"] = [c + ("*" if e else "") for c, e in zip(shown["component"],
                                                                 shown["estimated"])]
    view["avail"] = [value_range(lo, hi) for lo, hi in zip(shown["availability"],
                                                           shown["availability_high"])]
    view["tied"] = [f"{v:.2f}" for v in shown["availability_tied"]]
    view["exposed"] = [f"{v:.0%}" if v > 0 else "-" for v in shown["exposed_share"]]
    view["lost_days"] = shown["lost_days"].round(1)
    for col, name in (("bottleneck", "bottleneck (why)"), ("bottleneck_high", "if served first")):
        if name in view:
            view[name] = [_tail(chain, comp) for chain, comp in zip(shown[col],
                                                                     shown["component"])]
    band = frame.attrs.get("uncertainty")
    if band:
        view = _band_view(view, shown)
    end = frame["stage"] == "end_use"
    n_end = int((end & (frame["availability"] < 0.99)).sum())
    n_tied = int((end & (frame["availability_tied"] < 0.99)).sum())
    notes = [
        f"{len(shown)} of {len(frame)} components shown"
        + ("" if show_all else " (those affected; --all shows every one)")
        + f"; {n_end} end-use product(s) go short within the horizon ({n_tied} with buyers "
          "tied to their supplier). End-use products first, then by lost days.",
        "avail: lowest daily supply as a share of normal, from rationing every user alike to "
        "serving the chain first; if_never_restored: the static bound (stocks gone, nothing "
        "restored); short_from_day: first day below 99%; recovery_day: day it is back (= "
        "horizon if not within it); lost_days: supply lost, in days of normal demand.",
        "tied: lowest daily supply with buyers tied to their supplier until they qualify "
        "another (each with its own stock); tied_short: when the first tied buyers run out; "
        "exposed: share of demand tied to a supplier whose output falls below 99% (all of it "
        "where buyers are not tied and production falls short).",
        "bottleneck: the inputs that set the lowest day when every user is rationed alike; "
        "if served first: what sets it when the chain is served before other industries "
        "(-o FILE or --format json has every chain in full).",
    ]
    if band:
        notes.append(
            f"p50 (p05-p95): median and 5th-95th percentile over {band['draws']} draws "
            f"(seed {band['seed']}) of the {band['figures']} uncertain figures, each uniform "
            "on its range (pooled reading; tied: buyers tied to their supplier; - = never "
            "short). Every reading's band is in -o FILE or --format json. A median below "
            "the plain figure is no error: a product takes the scarcest of its inputs, so "
            "spread in several inputs pulls it down, and restore times range further above "
            "their value than below."
            + (" The dataset gives no ranges (no uncertainty table, or none for this "
               "scenario): every band is the plain answer." if not band["figures"] else ""))
    unknown = frame.attrs.get("unknown_stock") or []
    if unknown:
        notes.append(f"Stock unknown, read as 0 days: {', '.join(unknown[:8])}"
                     + (f" and {len(unknown) - 8} more" if len(unknown) > 8 else "")
                     + " (their short_from_day may be too early).")
    if shown["estimated"].any():
        notes.append("* rests on an estimated supply share (unknown shares split equally).")
    if shown["recovered"].eq(False).any():
        notes.append(f"Some components do not recover within the {scenario.horizon}-day "
                     "horizon (ttr unknown or longer): their recovery_day is the horizon.")
    return view, notes


def uncertainty_options(func):
    """``--uncertainty N``, ``--seed`` and ``--ranges FILE``."""
    func = click.option(
        "--ranges", type=InputFile(dir_okay=False, path_type=str), default=None,
        metavar="FILE",
        help="With --uncertainty: draw from the ranges in FILE (CSV: table,key,column,low,"
             "high,source,reason) instead of the dataset's uncertainty table.")(func)
    func = click.option("--seed", type=int, default=0, show_default=True,
                        help="Seed of the --uncertainty draws (the same seed gives the "
                             "same bands).")(func)
    return click.option(
        "--uncertainty", type=click.IntRange(1, 100_000), default=None, metavar="N",
        help="Also run N draws of the dataset's uncertain figures (each uniform on its range, "
             "shares of a component drawn jointly) and show each component's 5th, 50th and "
             "95th percentile of every reading, of the first day short and of lost days "
             "(columns availability_p05 ... in files).")(func)


@contextlib.contextmanager
def _draws(uncertainty, ranges):
    """The ranges file to draw from (None: the dataset's table) and a progress bar for the
    draws."""
    with progress_bar("Uncertainty draws", show=bool(uncertainty)) as progress:
        yield ranges, progress


def _title(scenario, frame) -> str:
    cuts = "; ".join(frame.attrs.get("modes") or [str(d) for d in scenario.disruptions])
    head = scenario.title or "What if: " + "; ".join(str(d) for d in scenario.disruptions)
    persp = frame.attrs.get("perspective", "world")
    return "\n".join([head, f"disruptions: {cuts}",
                      f"perspective: {persp}; horizon: {scenario.horizon} days"])


def emit_whatif(result, *, fmt, output, force, show_all=False, limit=25,
                timeline=False) -> None:
    """Print or write a what-if result (the terminal shows the affected components); with
    ``timeline``, the daily supply of every reading instead (one row per day, component and
    reading)."""
    if timeline:
        daily = result.timelines(None if not show_all else list(result.table["component"]))
        notes = ["supply: delivered supply as a share of normal on that day; reading: pooled "
                 "(every user rationed alike), high (the chain served first), tied (buyers "
                 "tied to their supplier until they qualify another)."]
        if fmt == "table" and not output:
            notes.append("Write every day with -o FILE.csv (or .parquet, .xlsx).")
        emit(daily, fmt=fmt, output=output, force=force, notes=notes,
             limit=limit or None)
        return
    if fmt == "table":
        view, notes = _table_view(result.table, result.scenario, show_all)
        emit(result, fmt=fmt, output=output, force=force, view=view,
             title=_title(result.scenario, result.table), notes=notes, limit=limit or None)
    else:
        emit(result, fmt=fmt, output=output, force=force)


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
@click.option("--mode", type=click.Choice(["export", "outage"]), default=None,
              help="export: the cut units stop supplying consumers outside their countries, "
                   "who keep their own (default for countries and blocs); outage: the supply "
                   "is lost for everyone (default for firms, sites and supply rows).")
@click.option("--duration", "duration", type=click.FloatRange(0), default=None,
              metavar="DAYS",
              help="The cuts end after DAYS (a licence regime lifted, exemptions granted). "
                   "Default: they last the whole horizon.")
@click.option("--perspective", metavar="REGION",
              help="Consumer country or bloc whose availability is shown (a bloc shows its "
                   "weakest member each day). Default: the rest of the world, the consumers "
                   "outside every stopping country and --to destination.")
@horizon_option("Days to simulate stocks and recovery.")
@click.option("--all", "show_all", is_flag=True, help="Table: show unaffected components too.")
@click.option("--limit", type=click.IntRange(0), default=25, show_default=True,
              help="Table: rows to print (0 = all).")
@click.option("--timeline", is_flag=True,
              help="Give the daily supply of every reading instead of the table: one row per "
                   "day, component and reading (pooled, high, tied), for the components that "
                   "lose supply (--all: every one). Write it with -o FILE.csv or .parquet.")
@chart_options
@uncertainty_options
@dataset_option
@output_options
def whatif(cuts, severity, scope, to, mode, duration, perspective, horizon, show_all, limit,
           timeline, chart, chart_components, uncertainty, seed, ranges, dataset, fmt, output,
           force) -> None:
    """What if a country, firm or site stops supplying?

    Simulates the value chain day by day over the horizon: consumers draw on their stocks,
    installed equipment keeps running while new deliveries stop, lost supply returns after
    its time to restore. Ranks the components that go short, end-use products first, with the
    lowest daily supply (a range: every user rationed alike .. the chain served first), the
    day stocks run out, the day supply is back, the supply lost in days, and the chain of
    inputs that explains each loss.

    \b
    Examples:
      semigraph whatif --cut CHN                      # China stops exports
      semigraph whatif --cut TWN --mode outage --perspective NLD --horizon 180
      semigraph whatif --cut gallium@CHN --to USA --perspective USA
      semigraph whatif --cut CHN --duration 60        # a two-month licence regime
      semigraph whatif --cut nexperia@CHN --format json -o nexperia.json
      semigraph whatif --cut nexperia@CHN --timeline -o nexperia-days.csv
      semigraph whatif --cut nexperia@CHN --chart nexperia.png \\
          --chart-component automotive-ecu
      semigraph whatif --cut CHN --uncertainty 200   # bands over the uncertain figures
    """
    net = load_model(dataset)
    _check_components(net, chart_components)
    with _draws(uncertainty, ranges) as (table, progress):
        result = net.whatif(*cuts, severity=severity, scope=scope, to=to, mode=mode,
                            duration=duration, perspective=perspective, horizon=horizon,
                            uncertainty=uncertainty, seed=seed, ranges=table,
                            progress=progress)
    write_chart = draw_chart(result, chart, chart_components, force=force)
    emit_whatif(result, fmt=fmt, output=output, force=force, show_all=show_all, limit=limit,
                timeline=timeline)
    if write_chart:
        write_chart()


def _check_components(net, components) -> None:
    """Every --chart-component is a component of the dataset (before any work is done)."""
    from semigraph.errors import UnknownUnitError

    known = set(net.components["id"])
    for comp in components or ():
        if comp not in known:
            try:
                unit = net.resolve(comp)
            except UnknownUnitError as exc:
                raise UnknownUnitError(f"--chart-component: {exc}") from None
            raise UnknownUnitError(f"--chart-component {comp!r} is a {unit.kind}, not a "
                                   "component")


@click.command()
@click.argument("scenario_file", type=InputFile(dir_okay=False, path_type=str))
@click.option("--perspective", metavar="REGION", help="Override the file's perspective.")
@click.option("--horizon", type=click.IntRange(0, 3650), default=None,
              help="Override the file's horizon (days).")
@click.option("--duration", type=click.FloatRange(0), default=None, metavar="DAYS",
              help="Override every disruption's duration_days (e.g. what if the exemptions "
                   "had not come).")
@click.option("--all", "show_all", is_flag=True, help="Table: show unaffected components too.")
@click.option("--limit", type=click.IntRange(0), default=25, show_default=True,
              help="Table: rows to print (0 = all).")
@click.option("--overwrite-outputs", is_flag=True,
              help="Replace existing files named by the scenario's [[output]] tables.")
@chart_options
@uncertainty_options
@dataset_option
@output_options
def run(scenario_file, perspective, horizon, duration, show_all, limit, overwrite_outputs,
        chart, chart_components, uncertainty, seed, ranges, dataset, fmt, output,
        force) -> None:
    """Run a saved scenario file (TOML) from queries/.

    Prints the what-if table and writes the files the scenario's [[output]] tables name:
    inside the current folder only (never the scenario or the dataset), each checked before
    anything is computed and written only once everything is; existing ones need
    --overwrite-outputs.

    \b
    Examples:
      semigraph run queries/taiwan-blockade.toml
      semigraph run queries/nexperia-2025.toml --perspective NLD --format csv -o out.csv
      semigraph run queries/nexperia-2025.toml --duration 365 --horizon 365
      semigraph run queries/taiwan-blockade.toml --chart taiwan.svg
    """
    import semigraph
    from semigraph.io.write import format_for

    scenario = semigraph.Scenario.read(scenario_file)
    net = load_model(dataset)
    _check_components(net, chart_components)
    targets = _scenario_outputs(scenario, net, output, overwrite_outputs)
    try:  # every result is computed before any file is written
        with _draws(uncertainty, ranges) as (table, progress):
            result = net.run(scenario, perspective=perspective, horizon=horizon,
                             duration=duration, uncertainty=uncertainty, seed=seed,
                             ranges=table, progress=progress)
    except BaseException:
        for target in targets:
            target.close()
        raise
    write_chart = draw_chart(result, chart, chart_components, force=force)
    if scenario.description and fmt == "table" and not output:
        from semigraph._text import terminal_text

        echo(terminal_text(scenario.description.strip()) + "\n")
    try:
        emit_whatif(result, fmt=fmt, output=output, force=force, show_all=show_all,
                    limit=limit)
        for out, target in zip(scenario.outputs, targets):
            # written into the folder opened when it was checked
            emit_whatif(result, fmt=format_for(out["path"], out.get("format")),
                        output=target, force=overwrite_outputs, show_all=True, limit=0)
            echo(f"Wrote {out['path']}", err=True)
        if write_chart:
            write_chart()
    finally:
        for target in targets:
            target.close()


def _scenario_outputs(scenario, model, output, overwrite: bool) -> list:
    """Check every [[output]] of a scenario before anything is computed or written."""
    from pathlib import Path

    from semigraph.errors import ScenarioError
    from semigraph.io.write import confined_output

    protected = [p for p in (scenario.path, model.path) if p is not None]
    main = Path(output).resolve() if output and output != "-" else None
    # where each file goes, by what it is rather than how it is spelt: the folder (device and
    # inode) and name, and the file itself where it exists (a hard link, a folder reached
    # through "..", a case-insensitive file system)
    written: dict[tuple, str] = {}
    if main is not None:
        for key in _identities(None, Path(output)):
            written[key] = f"the -o file {output}"
    targets = []  # each holds its folder open until written
    try:
        for i, out in enumerate(scenario.outputs, start=1):
            try:
                target = confined_output(out["path"], base=Path.cwd(), protected=protected,
                                         force=overwrite)
            except Exception as exc:
                raise ScenarioError(f"{scenario.path}: output {i}: {exc}") from None
            targets.append(target)
            if main is not None and target.path == main:
                raise ScenarioError(f"{scenario.path}: output {i} is the -o file {output}; "
                                    "write one of them elsewhere")
            for key in _identities(target.dir_fd, target.path):
                if key in written:
                    raise ScenarioError(f"{scenario.path}: output {i} ({out['path']!r}) is "
                                        f"the same file as {written[key]}; write one of "
                                        "them elsewhere")
            for key in _identities(target.dir_fd, target.path):
                written[key] = f"output {i} ({out['path']!r})"
    except BaseException:
        for target in targets:
            target.close()
        raise
    return targets


def _identities(dir_fd: int | None, path) -> list[tuple]:
    """What a file to be written is, whatever the path that names it: its folder's device,
    inode and the name (case-folded where the file system may ignore case), and the file's
    own device and inode where it exists."""
    import os

    try:
        folder = os.fstat(dir_fd) if dir_fd is not None else os.stat(path.parent)
    except OSError:
        return []
    out = [("entry", folder.st_dev, folder.st_ino, os.path.normcase(path.name))]
    if sys.platform in ("darwin", "win32"):  # their usual file systems ignore case
        out.append(("entry", folder.st_dev, folder.st_ino, path.name.casefold()))
    try:
        st = (os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False) if dir_fd is not None
              else os.stat(path, follow_symlinks=False))
        out.append(("file", st.st_dev, st.st_ino))
    except OSError:
        pass
    return out


@click.command()
@click.argument("paths", nargs=-1, type=InputFile(exists=True, path_type=str))
@click.option("--limit", type=click.IntRange(0), default=0, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options
def backtest(paths, limit, dataset, fmt, output, force) -> None:
    """Hold the model against history: run saved scenarios that carry [[observed]] entries.

    For every observation (a component, the consumers observed, whether supply or output was
    observed, the observed range of its lowest monthly mean and of the first day short, a
    source) prints the model's range over its three readings (buyers tied to their
    supplier until they qualify another, every buyer pooled, the chain served first), the
    tied reading's own figure, the day its first buyers run out, the verdict (within, or
    every reason it is not: too mild, too severe, too early, too late) and the interval
    score (range width plus 10 x the gap to the observed range; lower is better, a model
    answering 0..1 scores 1). PATHS are scenario files or folders (default: queries/ in the
    current folder).

    \b
    Examples:
      semigraph backtest
      semigraph backtest queries/renesas-naka-fire-2021.toml
      semigraph backtest --format json -o backtest.json
    """
    from pathlib import Path

    from semigraph.errors import ScenarioError

    if not paths:
        if not Path("queries").is_dir():
            raise ScenarioError("no queries/ folder here: give scenario files or folders")
        paths = ("queries",)
    net = load_model(dataset)
    result = net.backtest(paths)
    frame = result.table
    if fmt != "table":
        emit(result, fmt=fmt, output=output, force=force)
        return
    view = _backtest_view(frame)
    n = len(frame)
    score = frame.attrs.get("score")
    notes = [
        f"{frame.attrs['within']} of {n} observations within; "
        f"{frame.attrs['episodes_within']} of {frame.attrs['episodes']} episodes have every "
        "observation within; mean interval score "
        + ("-" if score is None else f"{score:.3f}") + " (lower is better; 0..1 scores 1).",
        "of: supply (deliveries) or output (production; plants: of the component's plants in "
        "the perspective's countries, as history records a country's output). "
        "observed / model: lowest 30-day mean; "
        "model: lowest to highest of the three readings, tied: buyers tied to their supplier "
        "until they qualify another. days: first day short (model: when the first tied "
        "buyers run out; - = never).",
    ]
    misses = frame[frame["verdict"] != "within"]
    notes += [f"  {r.scenario} / {r.component}: {r.verdict}: {r.reason}"
              for r in misses.itertuples()]
    emit(result, fmt=fmt, output=output, force=force, view=view, notes=notes,
         limit=limit or None)


def _backtest_view(frame):
    """The backtest table as printed: ranges as text."""
    import pandas as pd

    view = frame[["scenario", "component", "of"]].copy()
    view.loc[frame["measured"].str.startswith("output of plants"), "of"] = "output (plants)"
    view["perspective"] = frame["perspective"].fillna("(default)")
    view["observed"] = ["never short" if never else value_range(a, b) for a, b, never in
                        zip(frame["observed_low"], frame["observed_high"],
                            frame["never_short"])]
    view["model"] = [value_range(a, b) for a, b in zip(frame["model_low"], frame["model_high"])]
    view["tied"] = [f"{v:.2f}" for v in frame["model_tied"]]
    view["days_observed"] = [value_range(a, b, 0) for a, b in zip(frame["observed_days_low"],
                                                                  frame["observed_days_high"])]
    view["days_model"] = ["-" if pd.isna(d) else str(int(d)) for d in frame["model_days"]]
    view["verdict"] = frame["verdict"]
    view["score"] = [f"{v:.2f}" for v in frame["score"]]
    view["source"] = frame["source"]
    return view

