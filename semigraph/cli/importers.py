"""Command group ``import``: public data brought into semigraph's dataset format."""

from __future__ import annotations

import sys

import click

from semigraph.cli.options import InputFile, dataset_option, echo


@click.group("import")
def import_group() -> None:
    """Bring public data into semigraph's dataset format.

    \b
    Examples:
      semigraph import cset path/to/cset-eto -o cset-dataset
      semigraph import trade baci.csv --component gallium -o gallium-trade
    """


@import_group.command("cset")
@click.argument("source_dir", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Dataset folder to write (refused if it exists, unless --force).")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
def cset(source_dir, output, force) -> None:
    """Convert the CSET/ETO "Advanced Semiconductor Supply Chain Dataset" into a dataset.

    Stages and inputs become components, goes_into becomes requirements, is_type_of
    alternatives of the parent, provision rows supply. Every repair of the source files
    (byte-order marks, multi-line text, percent strings, shares rounding above 100%,
    "Various", non-ISO codes, shares counted twice, duplicates, names that differ between
    files) is listed in the output's README.md and summarised here.

    \b
    Examples:
      semigraph import cset eto-supply-chain/data -o cset-dataset
      semigraph concentration --dataset cset-dataset
    """
    import semigraph

    show = sys.stderr.isatty()
    report = semigraph.import_cset(source_dir, output, force=force,
                                   progress=(lambda msg: echo(msg, err=True))
                                   if show else None)
    counts = ", ".join(f"{v:,} {k}" for k, v in report.counts.items())
    echo(f"Wrote {report.path}: {counts}", err=True)
    kinds = getattr(report, "repair_kinds", None) or {}
    if kinds:
        echo(f"{len(report.repairs)} repair(s), listed in {report.path}/README.md: "
                   + "; ".join(f"{k} {v}" for k, v in kinds.items()), err=True)


#: Items a warning lists before it says how many more there are.
LISTED = 10


def listed(items) -> str:
    """Items joined with commas, the first :data:`LISTED` of them and how many more."""
    items = [str(i) for i in items]
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED:,} more" if len(items) > LISTED else "")


@import_group.command("trade")
@click.argument("file", type=InputFile(exists=True, dir_okay=False, path_type=str))
@click.option("--component", required=True, metavar="ID",
              help="The component the shares are for (e.g. gallium).")
@click.option("--hs", "hs", multiple=True, metavar="CODE",
              help="HS6 product code(s); repeatable or comma-separated. Default: the codes "
                   "mapped to --component in datasets/hs-components.csv.")
@click.option("--importer", metavar="REGION",
              help="A country or bloc (e.g. EU27): also write its imports by origin "
                   "(imports.csv, flows between its members left out) and each country's "
                   "share of world imports (consumption.csv).")
@click.option("--year", "years", multiple=True, type=int, help="Years to count; repeatable.")
@click.option("--weight", type=click.Choice(["value", "quantity"]), default="value",
              show_default=True, help="Shares of trade value or of quantity.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Folder to write supply.csv, sources.csv and, with --importer, "
                   "consumption.csv and imports.csv into.")
@click.option("--force", is_flag=True, help="Replace an existing output folder.")
@dataset_option
def trade(file, component, hs, importer, years, weight, output, force, dataset) -> None:
    """Country shares of a component from bilateral trade flows.

    FILE is a CEPII BACI file (columns t, i, j, k, v, q; ISO numeric country codes) or a
    UN Comtrade CSV export; it is streamed, so a multi-gigabyte file never sits in memory.
    Missing values may be empty or NA, N/A, NaN, NULL or None, in any case, padded or not.

    \b
    What each table means:
      supply.csv       each exporter's share of world exports, the trade proxy of its
                       share of world supply (always written)
      consumption.csv  each country's share of world imports, the proxy of its share of
                       world consumption (with --importer; a floor: home production used
                       at home is not traded)
      imports.csv      each origin's share of the REGION's imports from outside it: its
                       import dependency, a share of neither; not a dataset table
      sources.csv      the source row describing the file

    A code that also carries other goods (HS 811292: gallium, germanium, indium, niobium
    and vanadium) is warned about here and in the source row's note: its shares are of
    the group. Bring the tables into a dataset with `semigraph dataset merge`.

    \b
    Examples:
      semigraph import trade BACI_HS17_Y2022_V202401.csv --component gallium -o ga
      semigraph import trade BACI_HS17_Y2022_V202401.csv --hs 280429 --component neon \\
          --importer EU27 -o neon-eu
    """
    import semigraph
    from semigraph.io.write import refuse_replacing_source

    refuse_replacing_source(file, output)  # before the file is read, however long it is
    codes = [c.strip() for part in hs for c in part.split(",") if c.strip()]
    net = semigraph.load(dataset) if importer else None
    result = semigraph.import_trade(file, component=component, hs=codes or None,
                                    importer=importer, years=list(years) or None,
                                    weight=weight, output=output, force=force, network=net)
    rep = result.report
    echo(f"Wrote {output}: {len(result.supply)} supply row(s)"
               + (f", {len(result.consumption)} consumption row(s)"
                  if result.consumption is not None else "")
               + f"; {rep.get('rows_used', 0):,} of {rep.get('rows_read', 0):,} trade rows "
                 "used", err=True)
    for code, goods in rep.get("shared_codes", {}).items():
        echo(f"Warning: HS {code} also carries {listed(goods)}: the shares are of all of "
             f"them, not of {component} alone (noted in sources.csv)", err=True)
    if result.imports is not None:
        echo(f"{len(result.imports)} origin(s) of {importer}'s imports written to imports.csv "
             "(its import dependency, not a share of world supply)", err=True)
    if rep.get("unmapped_value"):
        echo(f"Warning: {rep['unmapped_value']:,.0f} of the value has country codes "
             f"not in the ISO table ({listed(rep.get('unmapped_codes', []))}); it is left "
             "unattributed", err=True)
