"""Option bundles shared by the commands."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys

import click

from semigraph._text import terminal_text

FORMATS = ("table", "csv", "json", "parquet", "xlsx")


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print a line for the terminal: every message the commands print goes through here,
    so that text from datasets, scenario files, trade files or paths cannot send control
    characters (escape sequences that recolour, move the cursor or retitle the window)."""
    click.echo(terminal_text(message), err=err, nl=nl)


def echo_json(text: str) -> None:
    """Print JSON: C1 control characters (which ``json.dumps`` leaves as they are) written as
    ``\\u`` escapes, so the data stays the same and the terminal is left alone."""
    click.echo(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


_C1 = re.compile("[\x7f-\x9f]")


class InputFile(click.Path):
    """A file the command reads (a scenario, a table of probabilities, a trade file): a
    regular file, or a link to one. A named pipe, a device (a link to ``/dev/zero``) or a
    socket is refused, since reading it could wait forever or never end."""

    def convert(self, value, param, ctx):
        import stat

        value = super().convert(value, param, ctx)
        try:
            st = os.stat(value)
        except OSError:
            return value  # missing or unreadable: the reader says so, naming the file
        if stat.S_ISREG(st.st_mode) or (stat.S_ISDIR(st.st_mode) and self.dir_okay):
            return value
        from semigraph.io.write import describe_kind

        self.fail(f"{terminal_text(str(value))} is a {describe_kind(st)}, not a regular file; "
                  "give a file to read", param, ctx)


def dataset_option(func):
    """``--dataset PATH``: the dataset folder; default the bundled one."""
    return click.option(
        "--dataset", "dataset", type=click.Path(file_okay=False, path_type=str),
        envvar="SEMIGRAPH_DATASET", show_envvar=True, default=None,
        help="Dataset folder (CSV or Parquet tables). Default: the bundled semiconductor "
             "dataset.",
    )(func)


def horizon_option(help: str = "Days simulated for the headline measure."):
    """``--horizon DAYS`` (0..3650, default 365)."""
    return click.option("--horizon", type=click.IntRange(0, 3650), default=365,
                        show_default=True, help=help)


def measure_option(help: str):
    """``--measure headline|steady`` (default headline); ``help`` says what each means for
    the command."""
    return click.option("--measure", type=click.Choice(["headline", "steady"]),
                        default="headline", show_default=True, help=help)


def output_options(func=None, *, extra: tuple[str, ...] = (), suffixes: dict | None = None,
                   extra_help: str = ""):
    """``--format``, ``-o/--output`` and ``--force`` for commands that print a table.

    ``extra`` adds formats of the command's own (e.g. ``mef``), ``suffixes`` maps output-file
    suffixes to them (e.g. ``{".xml": "mef"}``). Without ``--format``, the format is the -o
    file's suffix; a suffix that names no format (``.xls``, a typing slip, none) is an error
    (exit status 2) and nothing is written.
    """
    if func is None:
        return functools.partial(output_options, extra=extra, suffixes=suffixes,
                                 extra_help=extra_help)

    @click.option("--format", "fmt", type=click.Choice((*FORMATS, *extra)), default=None,
                  help="Output format" + extra_help + ". Default: from the -o file's suffix, "
                       "else table.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str),
                  default=None,
                  help="Write to FILE (written only when the command succeeds): .csv, .json, "
                       ".parquet, .xlsx (a spreadsheet with an about sheet and, where the "
                       "rows cite sources, a sources sheet) or .txt (the table)"
                       + "".join(f", {s}" for s in (suffixes or {})) + ".")
    @click.option("--force", is_flag=True, help="Overwrite an existing output file.")
    @click.option("--meta", "json_meta", is_flag=True,
                  help="JSON: write {\"meta\": ..., \"rows\": [...]}, with the dataset, "
                       "its version and the analysis's parameters (Parquet and XLSX files "
                       "always carry them).")
    @functools.wraps(func)
    def wrapper(*args, fmt, output, force, json_meta, **kwargs):
        from semigraph.io.write import RESULT_SUFFIXES, check_output, format_for

        click.get_current_context().meta["semigraph.json_meta"] = json_meta
        # the format first: a file named .xls or .xlsxx is refused before anything is run
        fmt = format_for(output, fmt, suffixes={**RESULT_SUFFIXES, **(suffixes or {})})
        check_output(output, force=force)
        return func(*args, fmt=fmt, output=output, force=force, **kwargs)

    return wrapper


def chart_options(func):
    """``--chart FILE`` (a chart of supply over days: .png, .svg or .pdf) and
    ``--chart-component COMPONENT`` (repeatable, or comma-separated) for the what-if
    commands. The chart is checked (suffix, an existing file without ``--force``, the same
    file as ``-o``) before anything is computed."""

    @click.option("--chart", metavar="FILE", type=click.Path(dir_okay=False, path_type=str),
                  default=None,
                  help="Also draw supply over days in the three readings (pooled, chain "
                       "first, tied; the first day short marked) as FILE.png (a slide: 8 x "
                       "4.5 in, 150 dpi, for one component), .svg or .pdf. Default "
                       "components: the four end-use products that lose most supply.")
    @click.option("--chart-component", "chart_components", multiple=True,
                  metavar="COMPONENT",
                  help="With --chart: a component to draw, one panel each. Repeatable, or "
                       "comma-separated.")
    @functools.wraps(func)
    def wrapper(*args, chart, chart_components, **kwargs):
        from semigraph.io.write import check_output
        from semigraph.render import chart_format

        names = [c.strip() for raw in chart_components for c in raw.split(",") if c.strip()]
        if names and not chart:
            raise click.UsageError("--chart-component needs --chart FILE (.png, .svg or .pdf)")
        if chart:
            chart_format(chart)
            check_output(chart, force=kwargs.get("force", False))
            output = kwargs.get("output")
            if output and output != "-" and os.path.abspath(output) == os.path.abspath(chart):
                raise click.UsageError("--chart and -o name the same file; write one of them "
                                       "elsewhere")
        return func(*args, chart=chart, chart_components=names or None, **kwargs)

    return wrapper


def draw_chart(result, chart: str | None, components, *, force: bool):
    """For ``--chart``: a callable that draws the what-if ``result``'s chart, writes it
    atomically (:meth:`semigraph.WhatIfResult.plot`) and says so; ``None`` without it."""
    if not chart:
        return None

    def write() -> None:
        result.plot(components, path=chart, force=force)
        echo(f"Wrote {chart}", err=True)

    return write


def load_model(dataset: str | None):
    """Load the dataset named on the command line as a :class:`semigraph.Network`, printing
    its warnings to stderr."""
    import semigraph

    net = semigraph.load(dataset)
    for problem in net.warnings:
        echo(f"Warning: {problem}", err=True)
    return net


def emit(result, *, fmt: str, output: str | None, force: bool, view=None,
         title: str | None = None, notes=(), limit: int | None = None) -> None:
    """Write a :class:`semigraph.Result`: the ``view`` (what the terminal table shows) as a
    table, else the full table with its metadata."""
    from semigraph.io.write import write_result

    if fmt == "table":
        write_result(result.table if view is None else view, fmt=fmt, output=output,
                     force=force, title=title if title is not None else result.title,
                     notes=list(notes), limit=limit, meta=result.meta)
        return
    ctx = click.get_current_context(silent=True)
    json_meta = bool(ctx and ctx.meta.get("semigraph.json_meta"))
    if fmt == "json":
        from semigraph.io.write import non_finite

        for col, n in non_finite(result.table).items():
            echo(f"Warning: {n:,} value(s) of {col} are too large to hold (infinite); JSON has "
                 "no such number, so they are written as null", err=True)
    write_result(result.table, fmt=fmt, output=output, force=force, meta=result.meta,
                 json_meta=json_meta, sources=getattr(result, "citations", None))


@contextlib.contextmanager
def progress_bar(label: str, *, length: int = 0, show: bool = True):
    """A ``progress(done, more=0)`` callable for the API's long-running calls: a bar on
    stderr when it is a terminal (and ``show``), else nothing. ``more`` adds work found on
    the way (a search that simulates what it screened, a sweep announcing its size)."""
    if not (show and sys.stderr.isatty()):
        yield lambda done, more=0: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr, show_eta=True) as bar:

        def progress(done: int, more: int = 0) -> None:
            bar.length += more
            bar.update(done)

        yield progress
