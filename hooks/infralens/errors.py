"""The one exception type for author mistakes, and the problems it carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing an author has to fix: where it is, what is wrong, and how to fix it."""

    file: str
    message: str
    fix: str
    line: int | None = None
    column: int | None = None
    lab: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        lab = f" (lab {self.lab})" if self.lab else ""
        return f"{where}{lab}: {self.message} Fix: {self.fix}"


class AuthorError(Exception):
    """Raised with every problem found in the registry and the starters of one build."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the labs:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])
