"""Option bundles shared by the commands."""

from __future__ import annotations

import functools

import click

FORMATS = ("table", "csv", "json", "parquet", "xlsx")


def dataset_option(func):
    """``--dataset PATH``: the dataset folder; default the bundled one."""
    return click.option(
        "--dataset", "dataset", type=click.Path(file_okay=False, path_type=str),
        envvar="SEMIGRAPH_DATASET", show_envvar=True, default=None,
        help="Dataset folder (CSV or Parquet tables). Default: the bundled semiconductor "
             "dataset.",
    )(func)


def output_options(func=None, *, extra: tuple[str, ...] = (), suffixes: dict | None = None,
                   extra_help: str = ""):
    """``--format``, ``-o/--output`` and ``--force`` for commands that print a table.

    ``extra`` adds formats of the command's own (e.g. ``mef``), ``suffixes`` maps output-file
    suffixes to them (e.g. ``{".xml": "mef"}``).
    """
    if func is None:
        return functools.partial(output_options, extra=extra, suffixes=suffixes,
                                 extra_help=extra_help)

    @click.option("--format", "fmt", type=click.Choice((*FORMATS, *extra)), default=None,
                  help="Output format" + extra_help + ". Default: from the -o file's suffix, "
                       "else table.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str),
                  default=None, help="Write to FILE (written only when the command succeeds).")
    @click.option("--force", is_flag=True, help="Overwrite an existing output file.")
    @functools.wraps(func)
    def wrapper(*args, fmt, output, force, **kwargs):
        from semigraph.io.write import check_output, format_for

        check_output(output, force=force)
        if fmt is None and output:
            for suffix, own in (suffixes or {}).items():
                if output.lower().endswith(suffix):
                    fmt = own
        return func(*args, fmt=format_for(output, fmt), output=output, force=force, **kwargs)

    return wrapper


def load_model(dataset: str | None):
    """Load the dataset named on the command line, printing its warnings to stderr."""
    import semigraph

    model = semigraph.load(dataset)
    for problem in model.warnings:
        click.echo(f"Warning: {problem}", err=True)
    return model
