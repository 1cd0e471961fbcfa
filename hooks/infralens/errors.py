"""The one exception type for author mistakes, the problems it carries, and how they are collected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

Position = tuple[int, int]  # 1-based line and column


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

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the labs:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class Problems(list[Problem]):
    """The problems found in one file, collected so that an author sees all of them at once."""

    def __init__(self, file: str, lab: str | None = None) -> None:
        super().__init__()
        self.file = file
        self.lab = lab

    def add(self, where: int | Position | None, message: str, fix: str, lab: str | None = None) -> None:
        """Record a problem at a line, a (line, column) position, or nowhere in particular."""
        line, column = where if isinstance(where, tuple) else (where, None)
        self.append(Problem(self.file, message, fix, line=line, column=column, lab=lab or self.lab))

    def raise_if_any(self) -> None:
        if self:
            raise AuthorError(self)


def suggest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to a mistyped word, if one is close enough to be what was meant."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=cutoff)
    return close[0] if close else None
