"""The data of a starter's figures: produced by its `figures()` function, recorded beside it.

`infralens outputs` runs `figures()` (the build never runs a starter) and writes the tables,
rounded to the precision each figure shows, with a digest of the starter's code. The build checks
the recording against the declarations: missing data, unknown columns, empty tables and a
recording older than the code each become a problem naming the starter's line.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from .errors import Problem, suggest
from .figure_spec import FigureSpec, Table, round_to, same_when_shown
from .model import Lab
from .paths import figure_data_path
from .starter import Starter

FUNCTION = "figures"
# numpy scalars and arrays become plain numbers and lists (`tolist`); any other object is passed on
# by its type's name, for the parent to report with its figure and column.
_RUNNER = (
    "import json, runpy, sys\n"
    "namespace = runpy.run_path(sys.argv[1], run_name='infralens_figures')\n"
    "plain = lambda o: o.tolist() if hasattr(o, 'tolist') else {'unsupported': type(o).__name__}\n"
    f"json.dump(namespace['{FUNCTION}'](), sys.stdout, default=plain)\n"
)


class FigureRunError(Exception):
    """The starter's `figures()` could not be run; carries what Python printed."""


def run_figures(root: Path, starter: str, env: dict[str, str] | None = None) -> dict[str, Table]:
    """Call the starter's `figures()` in a fresh interpreter, as `python <starter>` would run."""
    result = subprocess.run([sys.executable, "-c", _RUNNER, starter], cwd=root, capture_output=True, check=False,
                            text=True, timeout=60, encoding="utf-8", env=env)
    if result.returncode != 0:
        raise FigureRunError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output")
    data = json.loads(result.stdout)
    if not isinstance(data, dict):
        raise FigureRunError(f"`{FUNCTION}()` returned {type(data).__name__}, not a dict of tables")
    if found := unplottable(data):
        raise FigureRunError(found)
    return data


def unplottable(data: dict[str, Any]) -> str | None:
    """The first value a figure cannot draw, named by figure, column and row, with a fix."""
    for name, table in data.items():
        if not isinstance(table, dict):
            return f"`{FUNCTION}()['{name}']` is a {type(table).__name__}, not a table: return a dict of columns."
        for column, values in table.items():
            if not isinstance(values, list):
                return (f"figure `{name}`, column `{column}` is a single value, not a column: "
                        "return a list or array with one value per row.")
            for row, value in enumerate(values):
                if isinstance(value, (dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
                    what = (f"a {value['unsupported']}" if isinstance(value, dict) and "unsupported" in value
                            else "a list or array" if isinstance(value, (list, dict)) else repr(value))
                    return (f"figure `{name}`, column `{column}`, row {row} is {what}, which no axis can show. Fix: "
                            "return one plain number or text per row (numpy numbers are converted; drop rows "
                            "that are NaN or inf, or return None for a gap).")
    return None


def rounded(figure: FigureSpec, table: Table) -> Table:
    """The declared columns of a table, each value rounded to the precision the figure shows."""
    return {encoding.column: [round_to(value, encoding.format) for value in table.get(encoding.column, [])]
            for encoding in figure.encodings.values()}


def recording(starter: Starter, data: dict[str, Table]) -> dict[str, Any]:
    return {"code": starter.code_digest,
            "figures": {figure.name: rounded(figure, data.get(figure.name, {})) for figure in starter.figures}}


def write_recording(root: Path, lab: Lab, starter: Starter, data: dict[str, Table]) -> Path:
    path = root / figure_data_path(lab.starter)
    path.write_text(_readable_json(recording(starter, data)), encoding="utf-8")
    return path


def _readable_json(record: dict[str, Any]) -> str:
    """JSON with one line per column, so a change to the data reads well in a diff."""
    figures = ",\n".join(
        f"  {json.dumps(name)}: {{\n" + ",\n".join(f"   {json.dumps(column)}: {json.dumps(values)}"
                                                  for column, values in table.items()) + "\n  }"
        for name, table in record["figures"].items())
    return f'{{\n "code": {json.dumps(record["code"])},\n "figures": {{\n{figures}\n }}\n}}\n'



def read_recording(root: Path, lab: Lab) -> dict[str, Any] | None:
    try:
        data = json.loads((root / figure_data_path(lab.starter)).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_recording(lab: Lab, starter: Starter, recorded: dict[str, Any] | None) -> list[Problem]:
    """Problems of the recorded data against the starter's declarations."""
    if not starter.figures:
        return []
    record = f"run `infralens outputs {lab.id}` to record them again"
    if recorded is None:
        return [Problem(lab.starter, f"the data of its figures is not recorded ({figure_data_path(lab.starter)}).",
                        f"{record}; the starter needs a `{FUNCTION}()` function returning one table per figure.",
                        line=starter.figures[0].line, lab=lab.id)]
    problems = []
    if recorded.get("code") != starter.code_digest:
        problems.append(Problem(lab.starter, "the recorded output and figure data come from an older version of "
                                "the code.", record + ", so the page shows what the code prints and computes now.",
                                line=starter.figures[0].line, lab=lab.id))
    tables = recorded.get("figures", {})
    for figure in starter.figures:
        problems.extend(_table_problems(lab, figure, tables.get(figure.name)))
    return problems


def _table_problems(lab: Lab, figure: FigureSpec, table: Table | None) -> list[Problem]:
    def problem(message: str, fix: str) -> Problem:
        return Problem(lab.starter, f"figure `{figure.name}`: {message}", fix, line=figure.line, lab=lab.id)

    if table is None:
        return [problem("its data is not recorded.", f"return a table named `{figure.name}` from `{FUNCTION}()`, "
                        f"then run `infralens outputs {lab.id}`.")]
    problems = []
    for channel, encoding in figure.encodings.items():
        if encoding.column not in table:
            close = suggest(encoding.column, table)
            problems.append(problem(f"`{channel}` names the column `{encoding.column}`, which its data does not have.",
                                    f"did you mean `{close}`?" if close else
                                    f"use one of {', '.join(sorted(table)) or '(none)'}, or add it to the table."))
    lengths = {len(values) for values in table.values()}
    if lengths == {0} or not lengths:
        problems.append(problem("its data is empty.", f"return at least one row for it from `{FUNCTION}()`."))
    elif len(lengths) > 1:
        problems.append(problem("its columns have different lengths.", "return one value per row in every column."))
    control = figure.control
    if control and figure.default and control.column in table and \
            figure.default not in {str(value) for value in table[control.column]}:
        problems.append(problem(f"`default: {figure.default}` is not a value of `{control.column}`.",
                                f"use one of {', '.join(sorted({str(v) for v in table[control.column]}))}."))
    return problems


def differences(figure: FigureSpec, recorded: Table, fresh: Table) -> list[str]:
    """Where freshly computed data differs from the recording at the precision the figure shows."""
    found = []
    for encoding in figure.encodings.values():
        old, new = recorded.get(encoding.column, []), fresh.get(encoding.column, [])
        if len(old) != len(new):
            found.append(f"{figure.name}.{encoding.column}: {len(old)} rows recorded, {len(new)} now")
            continue
        for row, (before, after) in enumerate(zip(old, new, strict=True)):
            if not same_when_shown(before, after, encoding.format):
                found.append(f"{figure.name}.{encoding.column}[{row}]: recorded {before}, now {after}")
                break
    return found
