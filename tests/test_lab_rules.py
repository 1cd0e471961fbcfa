"""The rulebook on a small lab, without MkDocs: the authoring page's complete example meets every
rule, and breaking each rule gives one problem that names the rule, the file, the line and the lab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, authoring_example, copy_project
from infralens.cli import main as infralens
from infralens.figure_data import FigureRunError, run_figures, unplottable
from infralens.handbook import DocsPages
from infralens.lab_rules import (
    RULES,
    curriculum_problems,
    moved_references,
    prose_words,
    recorded_lines,
    registry_problems,
    site_page_problems,
    starter_problems,
)
from infralens.model import Lab, Reading, Registry
from infralens.paths import planted_bugs_path
from infralens.planted_bugs import read_planted_bugs, run_planted_bug
from infralens.starter import parse_starter
from markdown.extensions.toc import slugify

EXAMPLE = authoring_example("python")
BUGS = authoring_example("yaml", after="its planted bug")
ENTRY = authoring_example("yaml", after="and its registry entry")
READING = (Reading("NumPy reference", "https://numpy.org/doc/", "official"),
           Reading("A guide", "https://example.org/", "practical"))
LAB = Lab("lab-99-batch-mean", 99, "Mean of a batch", "hardware", "handbook/hardware.md", "mean-of-a-batch",
          "code/lab-99-batch-mean/batch_mean.py", (), (), READING, 7)


def problems_of(text: str) -> list[str]:
    return [str(problem) for problem in starter_problems(LAB, parse_starter(text, LAB.starter, LAB.id))]


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.split("\n"), 1) if needle in line)


def test_the_authoring_pages_example_meets_every_rule():
    assert problems_of(EXAMPLE) == []
    assert registry_problems(LAB) == []


def test_every_rule_has_its_own_name():
    assert len({rule.id for rule in RULES}) == len(RULES)


# (what to change in the example, the rule, words of the message, the line it names or the text on it)
CASES = [
    (("# - The axis you reduce is the axis that disappears from the result's shape.\n", "#\n"),
     "mental-model", "the mental model has 2 items; a lab needs at least 3", None),
    (("# - Which line would change if the batch held 8 examples instead of 4?\n"
      "#   answer: Only line 39, which builds the batch; the reductions read the shape.\n#   see: line 39\n",
      "#\n" * 3),
     "checkpoints", "has 2 questions; a lab needs at least 3", None),
    (("# - The mean over examples and the mean over features hold the same numbers in another order.\n"
      "#   why: They do not even have the same length: 3 means against 4 (lines 40 and 41).\n", "#\n" * 2),
     "traps", "has 1 misunderstandings; a lab needs at least 2", None),
    (("# one per example instead. The axis named is the one that disappears from the shape.\n", "#\n"),
     "interview", "the interview text is 3 sentences long", None),
    (("\n\nimport numpy as np\n", "\nimport scipy\nimport numpy as np\n"),
     "imports", "imports `scipy`", "import scipy"),
    (("(lines 40 and 41)", "(lines 40 and 43)"),
     "line-references", "`line 43` points at no code: line 43 is a comment", "(lines 40 and 43)"),
    (("(lines 40 and 41)", "(lines 40 and 999)"), "line-references", "`line 999` is outside the starter",
     "(lines 40 and 999)"),
    (("# lab:figure means\n", "# (no figure)\n"), "figures", "the starter declares no figure", None),
    (("# lab:explain 38-42 Two reductions of one batch\n# The same array gives two different summaries depending "
      "on the axis.\n", ""), "excerpts", "no `# lab:explain` range explains the excerpt `reduce`", "# lab:begin"),
    (("per_example = x.mean(axis=1)  # (2)\n", "per_example = x.mean(axis=1)  # (2)\n" + "    y = 0\n" * 40),
     "excerpts", "the excerpt `reduce` is 45 lines long", "# lab:begin"),
]


@pytest.mark.parametrize("change, rule, message, where", CASES, ids=[f"{c[1]}: {c[2]}" for c in CASES])
def test_breaking_a_rule_names_it(change, rule, message, where):
    old, new = change
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    problems = [p for p in problems_of(text) if message in p]
    assert len(problems) == 1, problems_of(text)
    line = f":{line_of(text, where)} " if where else " "
    assert problems[0].startswith(f"{LAB.starter}{line}(lab {LAB.id}): "), problems[0]
    assert f"(rule `{rule}` on the authoring page)" in problems[0]


def test_a_reference_moved_by_an_edit_above_names_the_line_it_moved_to():
    before = parse_starter(EXAMPLE, LAB.starter, LAB.id)
    recorded = recorded_lines(before)
    # One line becomes two above `per_feature`: `see: line 40` still parses (it is code of the excerpt)
    # but no longer names the line it meant.
    edited = EXAMPLE.replace("    x = np.arange(12.0).reshape(4, 3)\n",
                             "    x = np.arange(12.0)\n    x = x.reshape(4, 3)\n")
    after = parse_starter(edited, LAB.starter, LAB.id)
    moved = [str(p) for p in moved_references(LAB, after, recorded)]
    first = next(p for p in moved if p.startswith(f"{LAB.starter}:{line_of(edited, 'see: line 40')} "))
    assert "`line 40` pointed at `per_feature = x.mean(axis=0)  # (1)`, which is now line 41" in first
    assert "write line 41" in first and "(rule `line-references`" in first
    fixed = (edited.replace("see: line 40", "see: line 41").replace("lines 40 and 41", "lines 41 and 42")
             .replace("Only line 39", "Only lines 39-40").replace("see: line 39", "see: lines 39-40"))
    assert moved_references(LAB, parse_starter(fixed, LAB.starter, LAB.id), recorded) == [], \
        "fixed references point at the lines they meant"


def test_registry_rules_name_the_entry():
    one = Lab(**{**LAB.__dict__, "reading": READING[1:], "handbook_anchor": ""})
    problems = [str(p) for p in registry_problems(one)]
    assert problems[0].startswith(f"labs.yaml:7 (lab {LAB.id}): the lab lists 1 reading, none a paper or official.")
    assert "names a page, not a section" in problems[1] and "rule `handbook-section`" in problems[1]


def test_interviews_and_chapter_pages_are_checked_across_the_curriculum(tmp_path: Path):
    starter = parse_starter(EXAMPLE, LAB.starter, LAB.id)
    twin = Lab(**{**LAB.__dict__, "id": "lab-98-twin", "number": 98})
    (tmp_path / "handbook").mkdir()
    (tmp_path / "handbook" / "hardware.md").write_text("# Hardware\n\nToo short.\n", encoding="utf-8")
    from infralens.model import Chapter
    registry = Registry((Chapter("hardware", 2, "Hardware", "handbook/hardware.md"),), (twin, LAB))
    starters = {LAB.id: starter, twin.id: starter}
    problems = [str(p) for p in curriculum_problems(registry, starters, DocsPages.read(tmp_path))]
    assert any(f"(lab {LAB.id}): the interview text is the same as lab `lab-98-twin`'s" in p for p in problems)
    assert any(p.startswith(f"{tmp_path.name}/handbook/hardware.md: the page of chapter `hardware` has 3 words")
               for p in problems)


def write_example_lab(root: Path, bugs: str = BUGS) -> None:
    (root / LAB.starter).parent.mkdir(parents=True)
    (root / LAB.starter).write_text(EXAMPLE, encoding="utf-8")
    (root / planted_bugs_path(LAB.starter)).write_text(bugs, encoding="utf-8")


def test_planted_bugs_are_read_and_run(tmp_path: Path):
    write_example_lab(tmp_path)
    bugs, problems = read_planted_bugs(tmp_path, LAB, EXAMPLE)
    assert problems == [] and len(bugs) == 1
    outcome = run_planted_bug(tmp_path, LAB, bugs[0])
    assert outcome.caught and outcome.detail.startswith("AssertionError")
    assert (tmp_path / LAB.starter).read_text(encoding="utf-8") == EXAMPLE, "the starter itself is never changed"


@pytest.mark.parametrize("bugs, message, line", [
    (None, "the lab has no planted bugs (code/lab-99-batch-mean/batch_mean.bugs.yaml is missing)", None),
    ("", "the file lists no planted bug", None),
    ('- bug: a typo\n  replace: "per_feature = x.mean(axis=2)"\n  with: "x"\n', "occurs 0 times", 2),
    ('- bug: two places\n  replace: "x.mean"\n  with: "x.sum"\n', f"occurs {EXAMPLE.count('x.mean')} times", 2),
    ('- bug: no with\n  replace: "x.mean"\n', "needs the text fields `bug`, `replace` and `with`", 1),
    ('- bug: Replace with a mistake\n  replace: "per_feature = x.mean(axis=0)"\n  with: "per_feature = x"\n',
     "the scaffold's guidance text", 1),
])
def test_planted_bug_mistakes_are_problems(tmp_path: Path, bugs, message, line):
    write_example_lab(tmp_path, bugs or "")
    if bugs is None:
        (tmp_path / planted_bugs_path(LAB.starter)).unlink()
    _, problems = read_planted_bugs(tmp_path, LAB, EXAMPLE)
    assert len(problems) == 1 and message in problems[0].message, problems
    assert problems[0].lab == LAB.id and problems[0].line == line
    assert "rule `" in problems[0].fix


@pytest.mark.parametrize("with_, detail", [
    ("per_feature = x.mean(axis=0) + 0", "still runs to the end"),
    ("per_feature = x.mean(axis=3)", "crashed instead of failing an assert: numpy"),
])
def test_a_bug_the_asserts_miss_says_why(tmp_path: Path, capsys, with_, detail):
    write_example_lab(tmp_path, f'- bug: harmless\n  replace: "per_feature = x.mean(axis=0)"\n  with: "{with_}"\n')
    (bug,), _ = read_planted_bugs(tmp_path, LAB, EXAMPLE)
    outcome = run_planted_bug(tmp_path, LAB, bug)
    assert not outcome.caught and detail in outcome.detail


def test_a_lab_written_from_the_authoring_page_alone_passes_check_and_mutate(tmp_path: Path, capsys):
    """The acceptance test of the author path: the page's example, bugs and entry, added to a copy
    of the project, record, check and mutate clean."""
    project = copy_project(tmp_path / "project")
    write_example_lab(project)
    registry = project / "labs.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").rstrip("\n") + "\n" + ENTRY, encoding="utf-8")
    page = project / "docs" / "handbook" / "hardware.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n## Mean of a batch\n\nA mean reduces one axis.\n",
                    encoding="utf-8")
    assert infralens(["--root", str(project), "outputs", LAB.id]) == 0, capsys.readouterr().err
    assert infralens(["--root", str(project), "check"]) == 0, capsys.readouterr().err
    assert infralens(["--root", str(project), "mutate", LAB.id]) == 0, capsys.readouterr().err
    assert "caught: lab-99-batch-mean" in capsys.readouterr().out
    # The author edits the code and forgets to record again: check says so, not a test run later.
    starter = project / LAB.starter
    starter.write_text(starter.read_text(encoding="utf-8").replace("np.arange(12.0)", "np.arange(1.0, 13.0)"),
                       encoding="utf-8")
    assert infralens(["--root", str(project), "check"]) == 1
    assert "from an older version of the code." in capsys.readouterr().err


def test_mutate_reports_a_missed_bug_with_its_line(tmp_path: Path, capsys):
    project = copy_project(tmp_path / "project")
    lab_dir = project / "code" / "lab-01-forward-noise-process"
    (bugs,) = lab_dir.glob("*.bugs.yaml")
    bugs.write_text(bugs.read_text(encoding="utf-8") + '- bug: a comment changes\n  replace: "# lab:goal"\n'
                    '  with: "# lab:goal "\n', encoding="utf-8")
    assert infralens(["--root", str(project), "mutate", "lab-01-forward-noise-process"]) == 1
    out, err = capsys.readouterr()
    assert "MISSED: lab-01-forward-noise-process: a comment changes" in out
    assert f"{bugs.relative_to(project).as_posix()}:" in err and "make an assert check" in err


def figure_starter(tmp_path: Path, table: str) -> str:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "f.py").write_text(f"import numpy as np\n\ndef figures():\n    return {table}\n",
                                           encoding="utf-8")
    return "code/f.py"


def test_numpy_numbers_and_arrays_in_figure_data_are_converted(tmp_path: Path):
    data = run_figures(tmp_path, figure_starter(tmp_path, '{"f": {"x": np.arange(3), "y": [np.int64(2)] * 3}}'))
    assert data == {"f": {"x": [0, 1, 2], "y": [2, 2, 2]}}
    assert json.dumps(data)


@pytest.mark.parametrize("table, message", [
    ('{"f": {"x": [1.0, float("nan")]}}', "figure `f`, column `x`, row 1 is nan"),
    ('{"f": {"x": [1, 2], "y": [[1], [2]]}}', "figure `f`, column `y`, row 0 is a list or array"),
    ('{"f": {"x": [object()]}}', "figure `f`, column `x`, row 0 is a object"),
    ('{"f": {"x": 3}}', "figure `f`, column `x` is a single value"),
])
def test_values_no_axis_can_show_are_named_by_figure_column_and_row(tmp_path: Path, table, message):
    with pytest.raises(FigureRunError, match=r"Fix|return a list") as error:
        run_figures(tmp_path, figure_starter(tmp_path, table))
    assert message in str(error.value)
    assert unplottable({"f": {"x": [1.0]}}) is None


def test_the_scaffold_without_numpy_says_what_to_install_and_writes_nothing(tmp_path: Path, capsys, monkeypatch):
    project = copy_project(tmp_path / "project")
    before = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None if name == "numpy" else object())
    assert infralens(["--root", str(project), "new", "Another Lab", "--chapter", "hardware"]) == 1
    err = capsys.readouterr().err
    assert "numpy" in err and "pip install -e '.[starters]'" in err and "nothing was written" in err
    assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == before


def test_the_starters_extra_is_what_the_site_install_of_make_serve_installs():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    site_install = makefile[makefile.index("$(VENV)/.site-installed:"):].split("\n\n")[0]
    assert "'.[starters]'" in site_install


def test_a_generated_section_is_found_by_its_heading_or_an_explicit_anchor(tmp_path: Path):
    """The site inserts its lists under headings of the home page; renaming one is reported, and
    keeping the anchor on the new heading, as the fix says, satisfies the rule."""
    docs = tmp_path / "docs"
    (docs / "handbook").mkdir(parents=True)
    home = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    (docs / "handbook" / "index.md").write_text((ROOT / "docs/handbook/index.md").read_text(encoding="utf-8"))
    (docs / "index.md").write_text(home.replace("## Your progress", "## Progress"), encoding="utf-8")
    assert [p.message for p in site_page_problems(DocsPages.read(docs), slugify)] == [
        "the page has no heading with the anchor `your-progress`, under which the site inserts a generated list."]
    (docs / "index.md").write_text(home.replace("## Your progress", "## Progress {#your-progress}"), encoding="utf-8")
    assert site_page_problems(DocsPages.read(docs), slugify) == []


def test_chapter_words_count_prose_not_code_or_formulas():
    """Words in any code fence (backticks or tildes, as Markdown allows) or formula are not prose."""
    page = "# Title\n\nTwo words.\n\n~~~python\nx = total_bytes / seconds\n~~~\n\n````\n```\nnot prose\n```\n````\n" \
           "\n$$a = b$$ and $c$ end.\n"
    assert prose_words(page) == len(["Title", "Two", "words", "and", "end"])
