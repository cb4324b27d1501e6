"""Exceptions raised by semigraph.

Every error an analyst can cause (a bad dataset, an unknown unit id, a malformed scenario file)
derives from :class:`SemigraphError`; the command line turns these into a message on stderr and
exit status 2.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DatasetError",
    "OutputError",
    "Problem",
    "ScenarioError",
    "SemigraphError",
    "UnknownUnitError",
]


class SemigraphError(Exception):
    """Base class of the errors an analyst can cause and fix."""


@dataclass(frozen=True, order=True)
class Problem:
    """One finding of dataset validation.

    ``row`` is the row a spreadsheet shows (the header is row 1, the first record row 2);
    ``None`` where the problem concerns a whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.severity}: {self.message}"


#: Problems shown in an error message; the rest are counted.
SHOWN = 50


class DatasetError(SemigraphError):
    """A dataset failed validation; ``problems`` lists everything found in one pass."""

    def __init__(self, problems: list[Problem], path: str = "") -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.row or 0, p.column or ""))
        self.path = path
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"dataset {path} has {len(errors)} error(s)" if path else f"{len(errors)} error(s)"
        shown = self.problems[:SHOWN]
        more = len(self.problems) - len(shown)
        tail = (f"\n  ... and {more} more (semigraph validate {path or 'PATH'} --format json "
                "lists all)") if more else ""
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in shown) + tail)


class UnknownUnitError(SemigraphError):
    """A unit id (country, firm, site, component, supply edge) is not in the dataset."""


class ScenarioError(SemigraphError):
    """A scenario (file or command-line disruptions) is malformed."""


class OutputError(SemigraphError):
    """An output file cannot be written as asked (exists without --force, unknown format...)."""
