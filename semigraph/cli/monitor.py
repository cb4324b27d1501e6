"""Commands for monitoring and the observatory: ``diff``, ``indicators`` and ``warn``."""

from __future__ import annotations

from pathlib import Path

import click

from semigraph.cli.options import InputFile, dataset_option, echo, emit, load_model, output_options


@click.command()
@click.argument("a", type=click.Path(exists=True, path_type=str))
@click.argument("b", type=click.Path(exists=True, path_type=str))
@click.option("--scenario", "scenario_file", metavar="FILE",
              type=InputFile(dir_okay=False, path_type=str),
              help="With two dataset folders: the scenario run on both.")
@click.option("--cut", "cuts", multiple=True, metavar="UNIT",
              help="With two dataset folders: units cut on both (instead of --scenario).")
@click.option("--tolerance", type=click.FloatRange(0), default=0.005, show_default=True,
              help="Changes smaller than this count as unchanged.")
@click.option("--all", "all_rows", is_flag=True, help="Keep unchanged rows too.")
@click.option("--limit", type=click.IntRange(0), default=30, show_default=True,
              help="Table: rows to print (0 = all).")
@output_options
def diff(a, b, scenario_file, cuts, tolerance, all_rows, limit, fmt, output, force) -> None:
    """What changed between two results, and why.

    A and B are two result files (CSV, JSON, Parquet or XLSX written by semigraph, e.g. last
    month's and today's run of the same scenario), or two dataset folders with --scenario or
    --cut (the same scenario on two dataset versions). Lists the rows whose figures moved,
    by the largest change of availability, with both values and, for what-if results, the
    bottleneck that changed.

    Readings: every figure the two results share is compared, in each reading they carry:
    every user rationed alike (availability), the chain served first (availability_high)
    and buyers tied to their supplier until they qualify another (availability_tied,
    tied_short_from_day). A change in the tied reading marks a row changed and orders it
    like a change in the bounds; the table shows the pooled and the tied availability
    (-o FILE has every column).

    \b
    Examples:
      semigraph diff taiwan-2026-10.parquet taiwan-2026-11.parquet
      semigraph diff old-dataset/ datasets/semiconductors --scenario queries/taiwan-blockade.toml
      semigraph diff a.csv b.csv --format csv -o changes.csv
    """
    import semigraph
    from semigraph.errors import ScenarioError

    folders = Path(a).is_dir(), Path(b).is_dir()
    if any(folders):
        if not all(folders):
            raise ScenarioError("give two result files or two dataset folders, not one of each")
        if bool(scenario_file) == bool(cuts):
            raise ScenarioError("two dataset folders need a scenario: --scenario FILE or --cut")
        results = []
        for folder in (a, b):
            net = load_model(folder)
            results.append(net.whatif(scenario=scenario_file) if scenario_file
                           else net.whatif(*cuts))
        a, b = results
    elif scenario_file or cuts:
        raise ScenarioError("--scenario and --cut are for two dataset folders; two result "
                            "files are compared as they are")
    result = semigraph.diff(a, b, tolerance=tolerance, all_rows=all_rows)
    view = None
    if fmt == "table":
        cols = [c for c in ("scenario", "component", "status", "availability_a",
                            "availability_b", "availability_change", "availability_tied_a",
                            "availability_tied_b", "availability_tied_change",
                            "lost_days_change", "why")
                if c in result.table.columns]
        view = result.table[cols] if cols else result.table
    emit(result, fmt=fmt, output=output, force=force, view=view, notes=result.notes,
         limit=limit or None)


@click.command()
@click.option("--perspective", metavar="REGION", default="NLD", show_default=True,
              help="Whose import concentration and CRMA benchmark are computed (NLD, EU27, "
                   "...); NLD by default, as for warn.")
@click.option("--component", "components", multiple=True, metavar="ID",
              help="Only these components (default: raw materials, materials and every "
                   "chokepoint). Repeatable.")
@click.option("--limit", type=click.IntRange(0), default=40, show_default=True,
              help="Table: rows to print (0 = all).")
@dataset_option
@output_options
def indicators(perspective, components, limit, dataset, fmt, output, force) -> None:
    """The observatory's indicator sheet per raw material and key component.

    Global HHI and top holder, governance-weighted HHI (EU method, with the dataset's wgi),
    the perspective's import concentration and its share from the largest third-country
    supplier against the Critical Raw Materials Act's 65% benchmark, EU critical/strategic
    list status, stock cover, the end products and Dutch firms downstream, and the sources
    behind every figure. Write it as a spreadsheet with -o sheet.xlsx (with a sources sheet:
    the citation and link of every source a row names).

    \b
    Examples:
      semigraph indicators --perspective NLD
      semigraph indicators --perspective EU27 -o indicators.xlsx
      semigraph indicators --component gallium --component germanium --format json
    """
    net = load_model(dataset)
    result = net.indicators(perspective=perspective, components=list(components) or None)
    t = result.table
    view = None
    if fmt == "table":
        cols = {"component": "component", "hhi": "hhi", "top_country": "top",
                "top_share": "top_share", "hhi_wgi": "hhi_wgi",
                "import_concentration": "import_hhi",
                "largest_third_country": "third_country",
                "largest_third_country_share": "third_share",
                "crma_65_exceeded": "crma>65%", "import_reliance": "import_reliance",
                "eu_crm_status": "eu_list",
                "stock_days": "stock_days", "ttr_days": "ttr_days"}
        view = t[[c for c in cols if c in t.columns]].rename(columns=cols)
    notes = [
        f"{len(t)} components; perspective {perspective}. hhi: 0..10,000 over producing "
        "countries; hhi_wgi: governance-weighted (EU CRM method: share^2 x scaled WGI, 0..10, "
        "10 = weakest); import_hhi: concentration of the perspective's sources outside it; "
        "third_share: the largest country outside the EU's share of the EU's consumption, its "
        "own production serving it first (CRMA benchmark 65%, binding for strategic raw "
        "materials; where the dataset has no EU consumption, the EU is taken to buy from every "
        "producer in proportion, its own included); import_reliance: net imports over "
        "consumption; eu_list: EU 2024 critical/strategic list.",
        "-o FILE.xlsx or --format csv gives every column, with end products, Dutch firms "
        "downstream and the sources of each row.",
    ]
    emit(result, fmt=fmt, output=output, force=force, view=view, notes=notes,
         limit=limit or None)


#: What ``warn -o FILE`` writes, by the file's suffix.
WARN_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
                 ".csv": "csv", ".json": "json", ".parquet": "parquet", ".xlsx": "xlsx"}


@click.command()
@click.argument("measure", required=False)
@click.option("--scenario", "scenario_file", metavar="FILE",
              type=InputFile(dir_okay=False, path_type=str),
              help="A scenario file instead of a measure in words.")
@click.option("--perspective", metavar="REGION",
              help="Consumer country or bloc whose supply the products show (default: the "
                   "scenario file's, else NLD, as for indicators); ROW: the rest of the world "
                   "outside the stopping countries.")
@click.option("--horizon", type=click.IntRange(1, 3650), default=365, show_default=True,
              help="Days simulated.")
@click.option("--format", "fmt",
              type=click.Choice(["markdown", "html", "csv", "json", "parquet", "xlsx"]),
              default=None, help="Briefing as markdown (default on a terminal) or html; csv, "
                                 "json, parquet or xlsx: the products table (xlsx with the "
                                 "sources cited). Default: from -o's suffix.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str),
              help="Write to FILE (.md, .html, .csv, .json, .parquet, .xlsx).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@dataset_option
def warn(measure, scenario_file, perspective, horizon, fmt, output, force, dataset) -> None:
    """Early warning: which products and firms a measure hits, in what order and when.

    MEASURE is a sentence: "export licence on gallium from CHN", "export stop of germanium
    from CHN to USA", "ban on neon from RUS", "outage at nexperia@CHN for 60 days". An
    export licence is read as an export stop for 60 days (China's 2023 gallium and germanium
    licences stopped exports for about two months). Prints a one-page briefing, seen from
    NLD unless --perspective (or the scenario file) says otherwise, as indicators is.

    Readings: each product shows its lowest supply as a range from every user of an input
    rationed alike (pooled) to the chain served first, and the tied reading (buyers tied to
    their supplier until they qualify another): its lowest supply and the day the first
    tied buyers run out. Products are ordered by the pooled first day short; the firms'
    inputs are judged on the pooled reading.

    Charts: supply over days of the products that lose supply (the first eight in order
    of impact day), in the three readings. An HTML briefing holds them inline (SVG); a
    Markdown briefing written with -o NAME.md links NAME-supply.png, written beside it (a
    panel per product; --force also replaces it); Markdown on the terminal has none.

    \b
    Examples:
      semigraph warn "export licence on gallium from CHN"
      semigraph warn "outage at nexperia@CHN" --perspective NLD -o nexperia.html
      semigraph warn --scenario queries/taiwan-blockade.toml -o taiwan.md
    """
    from semigraph.errors import ScenarioError
    from semigraph.io.write import atomic_write, check_output, format_for

    if bool(measure) == bool(scenario_file):
        raise ScenarioError("give a measure in words or --scenario FILE (one of them)")
    fmt = format_for(output, fmt, suffixes=WARN_SUFFIXES)
    fmt = "markdown" if fmt == "table" else fmt  # the terminal shows the briefing
    check_output(output, force=force)
    chart = None
    if fmt == "markdown" and output and output != "-":  # the charts as a PNG beside it
        chart = Path(output).with_name(Path(output).stem + "-supply.png")
        check_output(chart, force=force)
    net = load_model(dataset)
    result = net.warn(Path(scenario_file) if scenario_file else measure,
                      perspective=perspective, horizon=horizon)
    if fmt in ("csv", "json", "parquet", "xlsx"):
        emit(result, fmt=fmt, output=output, force=force)
        return
    if chart is not None and result.warning.chart_components():
        result.plot(path=chart, force=force)
        echo(f"Wrote {chart}", err=True)
    else:
        chart = None
    text = result.html() if fmt == "html" else result.markdown(chart.name if chart else None)
    if output and output != "-":
        atomic_write(output, lambda fh: fh.write(text.encode("utf-8")), force=force)
        echo(f"Wrote {output}", err=True)
    else:
        from semigraph._text import terminal_text

        echo(terminal_text(text), nl=False)
