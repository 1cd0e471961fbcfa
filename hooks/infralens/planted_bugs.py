"""A lab's planted bugs: plausible mistakes its asserts must catch, kept beside its starter.

`<name>.bugs.yaml` lists entries of `bug` (what is wrong, as a reviewer would say it), `replace`
(text that occurs exactly once in the starter) and `with` (the buggy text). `infralens check`
reads the file and checks each entry against the starter; `infralens mutate` runs the starter
with each bug in a throwaway copy and expects it to stop with an `AssertionError`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, Problems
from .lab_rules import placeholder_lines, rule_fix
from .model import Lab
from .paths import planted_bugs_path
from .running import RUN_TIMEOUT_SECONDS, run_starter
from .yaml_positions import parse_yaml

FIELDS = ("bug", "replace", "with")
EXAMPLE = ('- bug: the closed form uses alpha_bar instead of its square root\n'
           '  replace: "np.sqrt(a) * x0"\n  with: "a * x0"')


@dataclass(frozen=True)
class PlantedBug:
    bug: str
    replace: str
    with_: str
    line: int  # in the bugs file

    def apply(self, source: str) -> str:
        return source.replace(self.replace, self.with_, 1)


@dataclass(frozen=True)
class Outcome:
    bug: PlantedBug
    caught: bool
    detail: str  # the last line the mutant printed to stderr, or why it was not caught


def read_planted_bugs(root: Path, lab: Lab, source: str) -> tuple[list[PlantedBug], list[Problem]]:
    """The lab's planted bugs and the problems of its bugs file against the starter `source`."""
    name = planted_bugs_path(lab.starter)
    problems = Problems(name, lab.id)
    try:
        text = (root / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [], [Problem(lab.starter, f"the lab has no planted bugs ({name} is missing).", rule_fix(
            f"write {name} with at least one bug its asserts catch, e.g.\n{EXAMPLE}", "planted-bugs"), lab=lab.id)]
    data, positions = parse_yaml(text, problems, registry=False)
    if not isinstance(data, list) or not data:
        if not problems:
            problems.add(positions.get(()), "the file lists no planted bug.",
                         rule_fix(f"write a YAML list of bugs, e.g.\n{EXAMPLE}", "planted-bugs"))
        return [], list(problems)
    bugs = []
    for index, entry in enumerate(data):
        at = positions.get((index,))
        if not isinstance(entry, dict) or any(not isinstance(entry.get(key), str) or not entry[key]
                                              for key in FIELDS):
            problems.add(at, "a planted bug needs the text fields `bug`, `replace` and `with`.",
                         rule_fix(f"write it as\n{EXAMPLE}", "planted-bugs"))
            continue
        bug = PlantedBug(entry["bug"], entry["replace"], entry["with"], at[0] if at else 0)
        if placeholder_lines([bug.bug]):
            problems.add(at, "the planted bug is the scaffold's guidance text.",
                         rule_fix("describe a mistake this lab's asserts catch, and plant it with `replace` and "
                              "`with`", "finished"))
        if (count := source.count(bug.replace)) != 1:
            problems.add(positions.get((index, "replace"), at), f"the `replace` text of `{bug.bug[:60]}` occurs "
                         f"{count} times in {lab.starter}.", rule_fix(
                             "quote text that occurs exactly once (copy the line from the starter; longer text "
                             "is unique)" if count else "copy it from the starter as it reads now", "planted-bugs"))
        elif bug.replace == bug.with_:
            problems.add(positions.get((index, "with"), at), f"the bug `{bug.bug[:60]}` changes nothing.",
                         rule_fix("write the buggy text in `with`", "planted-bugs"))
        else:
            bugs.append(bug)
    return bugs, list(problems)


def run_planted_bug(root: Path, lab: Lab, bug: PlantedBug) -> Outcome:
    """Run the starter with the bug in a copy of its folder, as `python <starter>` from a root."""
    source = (root / lab.starter).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="infralens-mutant-") as scratch:
        folder = Path(scratch) / Path(lab.starter).parent
        shutil.copytree((root / lab.starter).parent, folder)
        (Path(scratch) / lab.starter).write_text(bug.apply(source), encoding="utf-8")
        try:
            result = run_starter(Path(scratch), lab.starter)
        except subprocess.TimeoutExpired:
            return Outcome(bug, False, f"it ran for over {RUN_TIMEOUT_SECONDS} s instead of failing an assert")
    if result.returncode == 0:
        return Outcome(bug, False, "the starter still runs to the end: no assert checks what the bug breaks")
    last = (result.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
    if not last.startswith("AssertionError"):
        return Outcome(bug, False, f"it crashed instead of failing an assert: {last}")
    return Outcome(bug, True, last)
