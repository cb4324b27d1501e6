"""Command ``gaps``: the uncertain figures that move a scenario's headline most."""

from __future__ import annotations

import click

from semigraph.cli.options import (
    InputFile,
    dataset_option,
    emit,
    load_model,
    output_options,
    progress_bar,
)


@click.command()
@click.argument("scenario_file", type=InputFile(dir_okay=False, path_type=str))
@click.option("--component", "components", multiple=True, metavar="ID",
              help="The headline's product(s): the mean of their lowest daily supply. "
                   "Repeatable. Default: every end-use product.")
@click.option("--top", type=click.IntRange(1), default=10, show_default=True,
              help="Figures listed (and charted).")
@click.option("--ranges", type=InputFile(dir_okay=False, path_type=str), default=None,
              metavar="FILE",
              help="Rank the ranges in FILE (CSV: table,key,column,low,high,source,reason) "
                   "instead of the dataset's uncertainty table.")
@dataset_option
@output_options(extra=("png", "svg"), suffixes={".png": "png", ".svg": "svg"},
                extra_help=", or png/svg for a tornado chart")
def gaps(scenario_file, components, top, ranges, dataset, fmt, output, force) -> None:
    """Which uncertain figures matter most for a scenario: the research agenda.

    Sets each figure of the dataset's uncertainty table that lies on a path to the
    headline's products to the low and then the high end of its range, every other figure at
    its value, and ranks the figures by how far that moves the headline (the mean lowest
    daily supply of the end-use products, every user rationed alike; --component for
    others). Each row gives the figure's value, range, source and reason, the headline at
    either end and the swing. -o FILE.png or FILE.svg draws the ranking as a tornado chart.

    \b
    Examples:
      semigraph gaps queries/china-export-stop.toml
      semigraph gaps queries/china-export-stop.toml --component motor-vehicle
      semigraph gaps queries/china-export-stop.toml -o gaps.png
    """
    net = load_model(dataset)
    with progress_bar("Figures at low and high") as progress:
        result = net.gaps(scenario_file, components=components or None, top=top,
                          ranges=ranges, progress=progress)
    frame = result.table
    if fmt in ("png", "svg"):
        _chart(result, fmt=fmt, output=output, force=force, top=top)
        return
    head = frame.attrs["headline"]
    notes = [
        f"headline: lowest daily supply (every user rationed alike), "
        f"{frame.attrs['headline_of']}: {head:.3f} with every figure at its value.",
        "headline_at_low / _high: the headline with the figure at the low / high end of its "
        "range, every other figure at its value; swing: high - low. Only figures on a path "
        "to the headline's products are listed. figure_source: where the dataset's figure "
        "comes from (the estimate to replace); -o FILE.csv adds each range's reason.",
    ]
    if frame.empty:
        notes.append("No ranged figure lies on a path to these products (the dataset's "
                      "uncertainty table, or --ranges, gives none).")
    view = None
    if fmt == "table":
        from semigraph._text import figure_text

        view = frame.drop(columns=["reason"]).copy()
        if view["source"].isna().all():  # ranges set by rule name no source of their own
            view = view.drop(columns=["source"])
        for col in ("headline_at_low", "headline_at_high", "swing"):
            view[col] = view[col].round(4)
        # value, low and high hold shares and days side by side: each row in its own unit
        for col in ("value", "low", "high"):
            view[col] = [figure_text(v, what) or "-"
                         for v, what in zip(frame[col], frame["column"])]
    emit(result, fmt=fmt, output=output, force=force, view=view, notes=notes)


def _chart(result, *, fmt: str, output, force: bool, top: int) -> None:
    from semigraph.errors import ScenarioError
    from semigraph.io.write import atomic_write

    if not output or output == "-":
        raise ScenarioError(f"a {fmt.upper()} chart needs -o FILE.{fmt}")
    data = result.chart(fmt, top=top)
    atomic_write(output, lambda fh: fh.write(data), force=force)
