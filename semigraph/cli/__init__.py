"""The ``semigraph`` command line: a thin layer over the Python API.

Subcommands live in their own modules and are imported only when run, so ``semigraph --help``
does not pay for pandas and networkx.
"""

from __future__ import annotations

import errno
import importlib
import sys

import click

from semigraph._version import __version__

__all__ = ["cli", "main"]

# command name -> "module:function"; each module holds one command group's commands
COMMANDS = {
    "info": "semigraph.cli.dataset:info",
    "validate": "semigraph.cli.dataset:validate",
    "dataset": "semigraph.cli.dataset:dataset_group",
    "whatif": "semigraph.cli.whatif:whatif",
    "run": "semigraph.cli.whatif:run",
    "backtest": "semigraph.cli.whatif:backtest",
    "spof": "semigraph.cli.findings:spof",
    "concentration": "semigraph.cli.findings:concentration",
    "stockpile": "semigraph.cli.findings:stockpile",
    "map": "semigraph.cli.render:map_command",
    "report": "semigraph.cli.render:report",
    "diff": "semigraph.cli.monitor:diff",
    "indicators": "semigraph.cli.monitor:indicators",
    "warn": "semigraph.cli.monitor:warn",
    "import": "semigraph.cli.importers:import_group",
    "sweep": "semigraph.cli.sweep:sweep",
    "gaps": "semigraph.cli.gaps:gaps",
}


class ExitError(click.ClickException):
    """An analyst's error: message on stderr, exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        from semigraph._text import terminal_text

        click.echo(f"Error: {terminal_text(self.format_message())}", err=True)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name and name not in COMMANDS and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"no such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        from semigraph.errors import SemigraphError

        try:
            return super().invoke(ctx)
        except SemigraphError as exc:
            if ctx.params.get("debug"):
                raise
            raise ExitError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if ctx.params.get("debug"):
                raise
            if exc.errno in _PATH_ERRORS:
                raise ExitError(_path_message(exc)) from None
            self._internal(ctx, exc)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            self._internal(ctx, exc)

    @staticmethod
    def _internal(ctx: click.Context, exc: Exception) -> None:
        from semigraph._text import terminal_text

        click.echo(terminal_text(f"Internal error: {type(exc).__name__}: {exc}\n"
                                 "This is a bug in semigraph; run again with --debug for the "
                                 "traceback and report it."), err=True)
        ctx.exit(1)


#: Errors of a path as given (a name too long for the file system, a loop of links): the
#: analyst's to fix, wherever the path is first used.
_PATH_ERRORS = {errno.ENAMETOOLONG, errno.ELOOP}


def _path_message(exc: OSError) -> str:
    name = str(exc.filename) if exc.filename is not None else "a path"
    shown = name if len(name) <= 80 else f"{name[:40]}...{name[-20:]} ({len(name)} characters)"
    if exc.errno == errno.ENAMETOOLONG:
        return f"{shown}: the name is too long for the file system; use a shorter one"
    return f"{shown}: {exc.strerror or exc}"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="semigraph")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error.")
def cli(debug: bool) -> None:
    """semigraph: what a supply shock does to the semiconductor value chain.

    The value chain (materials and equipment, design, front-end fabs, back-end assembly,
    photonics, quantum, end-use products) is a graph of countries, firms and components.
    Every command runs on the bundled dataset unless given --dataset PATH.

    \b
    Examples:
      semigraph info
      semigraph validate path/to/dataset
    """


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="semigraph"))
