"""An exploration's answer: the sentence its declaration writes under `says:`, filled in for each
value of its control from the rows drawn at that value, so that moving the control changes a
sentence a reader can read, not only the drawing."""

from __future__ import annotations

import re
from typing import Any

from .errors import Problem
from .figure_spec import FigureSpec, Table
from .lab_rules import rule_fix
from .model import Lab
from .prose_numbers import cell, selected_rows, shown

# `{{column}}` or `{{column|key=value, ...}}`: a value of the figure's own rows at the value shown;
# `{{sum:column|...}}` the sum of the selected rows' values, `{{count:column|...}}` how many
# different values they hold and `{{rows:column|...}}` how many rows there are.
_CITED = re.compile(r"\{\{\s*(?:(?P<total>sum|count|rows):)?(?P<column>[A-Za-z_][\w-]*)"
                    r"(?:\s*\|\s*(?P<where>[^}]*))?\s*\}\}")


def control_values(figure: FigureSpec, table: Table) -> list[Any]:
    """The control's values in the order of the data (one `None` for a figure without a control)."""
    control = figure.control
    return list(dict.fromkeys(table[control.column])) if control and control.column in table else [None]


def sentences(figure: FigureSpec, table: Table) -> tuple[list[str], list[str]]:
    """The `says:` sentence at each value of the control, and what is wrong with its citations."""
    control = figure.control
    if not figure.says or not control:
        return [], []
    column = table[control.column]
    said, errors = [], []
    for value in control_values(figure, table):
        rows = [index for index, each in enumerate(column) if each == value]
        shown = {name: [values[index] for index in rows] for name, values in table.items()}

        def fill(match: re.Match[str], shown: Table = shown, value: Any = value) -> str:
            found, error = _cited(figure, shown, match)
            if error:
                errors.append(f"`{match.group(0)}` at {control.column} = {value} {error}")
            return found or match.group(0)

        said.append(_CITED.sub(fill, figure.says))
    return said, list(dict.fromkeys(errors))


def _cited(figure: FigureSpec, table: Table, match: re.Match[str]) -> tuple[str, str]:
    column, total = match["column"], match["total"]
    if not total or column not in table:
        return cell(figure, table, column, match["where"])
    rows, error = selected_rows(figure, table, match["where"])
    if error:
        return "", error
    values = [table[column][row] for row in rows]
    if total in ("count", "rows"):
        return str(len(set(map(repr, values))) if total == "count" else len(values)), ""
    if not all(isinstance(each, (int, float)) for each in values):
        return "", f"sums `{column}`, which holds text."
    return shown(figure, column, sum(values)), ""


def exploration_problems(lab: Lab, figures: tuple[FigureSpec, ...], tables: dict[str, Table]) -> list[Problem]:
    """Each exploration says what its drawing shows at each value; a figure without a control says nothing."""
    problems = []
    for figure in figures:
        if figure.control and not figure.says:
            problems.append(Problem(lab.starter, f"the exploration `{figure.name}` has no `says:` sentence.",
                                    rule_fix("add `says:` with a sentence that answers the question its control "
                                             "asks, citing the values drawn as `{{column|key=value}}`",
                                             "explorations"), line=figure.line,
                                    lab=lab.id))
        elif figure.says and not figure.control:
            problems.append(Problem(lab.starter, f"the figure `{figure.name}` has `says:` but no control.",
                                    rule_fix("put the sentence in the caption, or add a `control:`", "explorations"),
                                    line=figure.says_line, lab=lab.id))
        elif figure.name in tables:
            problems.extend(Problem(lab.starter, f"the `says:` of `{figure.name}` {error}",
                                    rule_fix("cite columns of the figure's data with conditions that select one "
                                             "value", "explorations"),
                                    line=figure.says_line, lab=lab.id)
                            for error in sentences(figure, tables[figure.name])[1])
    return problems

