"""Author mistakes: each gets one message naming file, line, lab, problem and fix; nothing is lost.

Each case breaks a copy of the real project the way an author might and runs the check command
(`infralens check`), which reports exactly what `mkdocs build` reports (tested below).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, build, copy_project
from infralens.cli import main as infralens
from infralens.paths import figure_data_path
from infralens.project import load_project
from pages import numbered_lines

LAB = "lab-01-forward-noise-process"
STARTER = f"code/{LAB}/forward_noise.py"
OUTPUT = f"code/{LAB}/forward_noise.output.txt"


def replace(path: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        file = project / path
        text = file.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, count), encoding="utf-8")
    return change


def write(path: str, content: str | bytes) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        file = project / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return change


def lab01_entry(project: Path) -> str:
    text = (project / "labs.yaml").read_text(encoding="utf-8")
    start = text.index(f"  - id: {LAB}\n")
    end = text.find("\n  - id: ", start + 1)
    return text[start:] if end < 0 else text[start:end + 1]


def add_lab(lab_id: str, number: int, prerequisites: str = "[]") -> Callable[[Path], None]:
    """Append a copy of Lab 01's entry under another id and number."""
    def change(project: Path) -> None:
        entry = (lab01_entry(project).replace(f"id: {LAB}", f"id: {lab_id}", 1)
                 .replace("number: 1\n", f"number: {number}\n", 1)
                 .replace("prerequisites: []", f"prerequisites: {prerequisites}", 1))
        registry = project / "labs.yaml"
        registry.write_text(registry.read_text(encoding="utf-8").rstrip("\n") + "\n" + entry, encoding="utf-8")
    return change


def both(*changes: Callable[[Path], object]) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        for each in changes:
            each(project)
    return change


def symlink_outside(project: Path) -> None:
    link = project / "code" / "evil" / "evil.py"
    link.parent.mkdir()
    os.symlink(project.parent / "outside.py", link)
    (project.parent / "outside.py").write_text("print('outside')\n", encoding="utf-8")
    replace("labs.yaml", f"starter: {STARTER}", "starter: code/evil/evil.py")(project)


def line_of(path: str, needle: str) -> Callable[[Path], int]:
    def find(project: Path) -> int:
        lines = (project / path).read_text(encoding="utf-8").splitlines()
        return next(number for number, line in enumerate(lines, start=1) if needle in line)
    return find


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
) + "\n"

GOOD_STARTER_HEAD = '# lab:goal g\n# lab:mental-model\n# - m\n# lab:checkpoints\n# - c\n# lab:traps\n# - t\n# lab:interview\n# i\n'


@dataclass(frozen=True)
class Case:
    name: str
    change: Callable[[Path], object]
    message: str
    file: str
    fix: str
    lab: str | None = LAB
    line: Callable[[Path], int] | int | None = None


REGISTRY_CASES = [
    Case("yaml syntax error", replace("labs.yaml", "    title: Forward Noise Process", "    title: [Forward"),
         "YAML syntax error", "labs.yaml", "fix the indentation or quoting", lab=None),
    Case("top level not a mapping", write("labs.yaml", "- just\n- a list\n"),
         "top level of the registry must be a mapping", "labs.yaml", "start the file with", lab=None, line=1),
    Case("required field missing", replace("labs.yaml", "    title: Forward Noise Process\n", ""),
         "missing the required key `title`", "labs.yaml", "add `title:`", line=line_of("labs.yaml", f"id: {LAB}")),
    Case("number given as text", replace("labs.yaml", "    number: 1\n    title: Forward", '    number: "1"\n    title: Forward'),
         "must be a whole number", "labs.yaml", "without quotes", line=line_of("labs.yaml", '"1"')),
    Case("tags not a list", replace("labs.yaml", "tags: [diffusion, ddpm, training data]", "tags: diffusion"),
         "must be a list", "labs.yaml", "YAML list", line=line_of("labs.yaml", "tags: diffusion")),
    Case("unknown key", replace("labs.yaml", "    starter: code/", "    startr: code/"),
         "unknown key `startr`", "labs.yaml", "did you mean `starter`", line=line_of("labs.yaml", "startr:")),
    Case("duplicate lab id", add_lab(LAB, 91), f"lab id `{LAB}` is used twice", "labs.yaml",
         "its own lab id"),
    Case("duplicate lab number", add_lab("lab-91-copy", 1), "lab number `1` is used twice", "labs.yaml",
         "its own lab number", lab="lab-91-copy"),
    Case("id not a URL slug", replace("labs.yaml", f"  - id: {LAB}", "  - id: Lab_01"),
         "expected form", "labs.yaml", "URL slug", lab="Lab_01", line=line_of("labs.yaml", "Lab_01")),
    Case("lab id equal to a chapter id", replace("labs.yaml", f"  - id: {LAB}", "  - id: diffusion"),
         "also a chapter id", "labs.yaml", "rename the lab or the chapter", lab="diffusion",
         line=lambda project: line_of("labs.yaml", "title: Forward Noise Process")(project) - 2),
    Case("undefined chapter", replace("labs.yaml", "    chapter: diffusion\n", "    chapter: difusion\n"),
         "chapter `difusion` is not defined", "labs.yaml", "did you mean `diffusion`",
         line=line_of("labs.yaml", "chapter: difusion")),
    Case("handbook page missing", replace("labs.yaml", "handbook: handbook/diffusion.md#forward",
                                          "handbook: handbook/difusion.md#forward"),
         "docs/handbook/difusion.md does not exist", "labs.yaml", "fix the path",
         line=line_of("labs.yaml", "difusion.md")),
    Case("handbook anchor missing", replace("labs.yaml", "diffusion.md#forward-noise-process", "diffusion.md#forward-noise"),
         "has no heading `#forward-noise`", "labs.yaml", "did you mean `#forward-noise-process`?",
         line=line_of("labs.yaml", f"id: {LAB}")),
    Case("starter missing", replace("labs.yaml", f"starter: {STARTER}", f"starter: code/{LAB}/nope.py"),
         "does not exist", "labs.yaml", "create it", line=line_of("labs.yaml", "nope.py")),
    Case("starter path absolute", replace("labs.yaml", f"starter: {STARTER}", "starter: /etc/x.py"),
         "must be a plain relative path under code/", "labs.yaml", "without `..`",
         line=line_of("labs.yaml", "/etc/x.py")),
    Case("starter path with ..", replace("labs.yaml", f"starter: {STARTER}", "starter: code/../hooks/infralens/plugin.py"),
         "must be a plain relative path under code/", "labs.yaml", "without `..`",
         line=line_of("labs.yaml", "code/../")),
    Case("starter outside code/", replace("labs.yaml", f"starter: {STARTER}", "starter: hooks/infralens/plugin.py"),
         "leads outside code/", "labs.yaml", "inside code/", line=line_of("labs.yaml", "starter: hooks/")),
    Case("starter symlink leading outside", symlink_outside, "leads outside code/", "labs.yaml", "inside code/",
         line=line_of("labs.yaml", "evil.py")),
    Case("unknown prerequisite", replace("labs.yaml", "prerequisites: []", "prerequisites: [lab-00-nothing]"),
         "prerequisite `lab-00-nothing` is not a lab", "labs.yaml", "use an id defined under `labs:`",
         line=line_of("labs.yaml", "lab-00-nothing")),
    Case("prerequisite cycle", both(add_lab("lab-91-after", 91, f"[{LAB}]"),
                                    replace("labs.yaml", "prerequisites: []", "prerequisites: [lab-91-after]")),
         "prerequisites form a cycle", "labs.yaml", "remove one prerequisite", lab=None),
    Case("lab requiring itself", replace("labs.yaml", "prerequisites: []", f"prerequisites: [{LAB}]"),
         "lists itself as a prerequisite", "labs.yaml", "remove its own id",
         line=line_of("labs.yaml", f"prerequisites: [{LAB}]")),
    Case("empty registry", write("labs.yaml", "# nothing yet\n"), "the registry is empty", "labs.yaml",
         "add `chapters:` and `labs:`", lab=None),
    Case("reading url not http(s)", replace("labs.yaml", "url: https://arxiv.org/abs/2006.11239", "url: javascript:alert(1)"),
         "expected form", "labs.yaml", "http:// or https://", line=line_of("labs.yaml", "javascript:")),
    Case("YAML alias bomb", write("labs.yaml", BILLION_LAUGHS), "anchors and aliases", "labs.yaml",
         "write the value out in full", lab=None),
    Case("duplicate key", replace("labs.yaml", "    title: Forward Noise Process\n",
                                  "    title: Forward Noise Process\n    title: Again\n"),
         "the key `title` appears twice", "labs.yaml", "keep one", line=line_of("labs.yaml", "title: Again")),
]

STARTER_CASES = [
    Case("starter not UTF-8", write(STARTER, b"# lab:goal caf\xe9\n"), "not valid UTF-8", STARTER,
         "save the file as UTF-8", line=1),
    Case("starter empty", write(STARTER, ""), "the starter is empty", STARTER, "write the lab's program"),
    Case("starter not Python", replace(STARTER, "alphas = 1.0 - betas", "alphas = 1.0 - (betas"),
         "not valid Python", STARTER, "fix the syntax"),
    Case("starter binary", write(STARTER, b"\x7fELF\x02\x01\x01\x00\x00\x00"), "binary file", STARTER,
         "Python source file", line=1),
    Case("region never closed", replace(STARTER, "# lab:end chain\n", ""), "opened but never closed", STARTER,
         "add `# lab:end chain`", line=line_of(STARTER, "# lab:begin chain")),
    Case("region closed never opened", replace(STARTER, "# lab:begin forward\n", ""), "never opened", STARTER,
         "add `# lab:begin forward`"),
    Case("duplicate region names", replace(STARTER, "\n\ndef main()",
                                           "\n# lab:begin forward\nX = 1\n# lab:end forward\n\ndef main()"),
         "excerpt name `forward` is used twice", STARTER, "its own name"),
    Case("nested regions", replace(STARTER, "alphas = 1.0 - betas\n", "# lab:begin inner\nalphas = 1.0 - betas\n"),
         "cannot nest", STARTER, "close `forward`", line=line_of(STARTER, "# lab:begin inner")),
    Case("empty excerpt", replace(STARTER, "\n\ndef main()", "\n# lab:begin nothing\n\n# lab:end nothing\n\ndef main()"),
         "the excerpt `nothing` is empty", STARTER, "put code between"),
    Case("marker without text", replace(STARTER, "alphas = 1.0 - betas\n", "alphas = 1.0 - betas  # (3)\n"),
         "annotation markers of excerpt `forward`", STARTER, "number the markers"),
    Case("note text without marker", replace(STARTER, "# (7) The network", "# (8) Extra note.\n# (7) The network"),
         "the note (8) has no marker", STARTER, "end the annotated code line with `# (8)`",
         line=line_of(STARTER, "# (8) Extra")),
    Case("missing goal", replace(STARTER, "# lab:goal ", "# goal: "), "no `# lab:goal` block", STARTER,
         "add a `# lab:goal` block"),
    Case("empty checkpoints block", lambda p: write(STARTER, re.sub(
        r"# lab:checkpoints\n(#.*\n)*?#\n", "# lab:checkpoints\n#\n", (p / STARTER).read_text(encoding="utf-8"), count=1))(p),
         "`# lab:checkpoints` block has no entries", STARTER, "add at least one",
         line=line_of(STARTER, "# lab:checkpoints")),
    Case("empty traps block", lambda p: write(STARTER, re.sub(
        r"# lab:traps\n(#.*\n)*?#\n", "# lab:traps\n#\n", (p / STARTER).read_text(encoding="utf-8"), count=1))(p),
         "`# lab:traps` block has no entries", STARTER, "add at least one", line=line_of(STARTER, "# lab:traps")),
    Case("5 MB starter", write(STARTER, GOOD_STARTER_HEAD + "x = 1\n" * 900_000), "limited to", STARTER,
         "keep a starter a short"),
    Case("recorded output missing", lambda p: (p / OUTPUT).unlink(), "recorded output is missing", OUTPUT,
         f"infralens outputs {LAB}"),
    Case("formula that cannot be rendered in a starter", replace(STARTER, "# lab:goal ", "# lab:goal Broken $x^$ here. "),
         "the formula `x^` cannot be rendered", STARTER, "fix the LaTeX", line=line_of(STARTER, "$x^$")),
    Case("checkpoint stated, not asked", lambda p: write(STARTER, re.sub(
        r"(# lab:checkpoints\n# - )(.*?)\?\n", r"\1\2.\n", (p / STARTER).read_text(encoding="utf-8"), count=1))(p),
         "is a statement, not a question", STARTER, "end it with `?`",
         line=lambda p: line_of(STARTER, "# lab:checkpoints")(p) + 1),
    Case("checkpoint points at output the starter no longer prints",
         write(OUTPUT, "nothing like before\n"),
         "which no line of", STARTER, f"infralens outputs {LAB}"),
    Case("misunderstanding not refuted", lambda p: write(STARTER, re.sub(
        r"(# lab:traps\n# - .*\n)(#   why: .*\n)(#   .*\n)*", r"\1", (p / STARTER).read_text(encoding="utf-8"), count=1))(p),
         "is not refuted", STARTER, "add an indented `why:` line",
         line=lambda p: line_of(STARTER, "# lab:traps")(p) + 1),
]

# A title and id no real lab takes, so that adding labs never changes what the scaffold writes here.
SCAFFOLDED = "lab-scaffold-check"
SCAFFOLD = ["new", "Scaffold Check Lab", "--chapter", "model-parallelism", "--id", SCAFFOLDED]
PAGE_CASES = [
    Case("formula that cannot be rendered in a handbook page",
         lambda p: write("docs/handbook/diffusion.md", (p / "docs/handbook/diffusion.md").read_text(encoding="utf-8")
                         + "\nA broken formula: $x^$.\n")(p),
         "the formula `x^` cannot be rendered", "docs/handbook/diffusion.md", "fix the LaTeX", lab=None,
         line=line_of("docs/handbook/diffusion.md", "$x^$")),
    Case("home page heading renamed", replace("docs/index.md", "## Start here", "## Where to begin"),
         "no heading with the anchor `start-here`", "docs/index.md", "`{#start-here}`", lab=None),
    Case("scaffold text left in a new lab",
         lambda p: infralens(["--root", str(p), *SCAFFOLD]),
         "still has the scaffold's guidance text", f"code/{SCAFFOLDED}/scaffold_check_lab.py",
         "replace each `Replace ...` text", lab=SCAFFOLDED),
    Case("scaffold reading entry left in the registry",
         lambda p: infralens(["--root", str(p), *SCAFFOLD]),
         "is the scaffold's guidance text", "labs.yaml", "give the primary source", lab=SCAFFOLDED),
]


def figure_cases() -> list[Case]:
    """Mistakes in a figure, made in the first lab that declares one."""
    project = load_project(ROOT)
    lab = next(lab for lab in project.registry.ordered_labs if project.starters[lab.id].figures)
    figure = project.starters[lab.id].figures[0]
    starter, data = lab.starter, figure_data_path(lab.starter)
    x = figure.encodings["x"].column
    at = line_of(starter, f"# lab:figure {figure.name}")

    def empty_table(project: Path) -> None:
        recorded = json.loads((project / data).read_text(encoding="utf-8"))
        recorded["figures"][figure.name] = {column: [] for column in recorded["figures"][figure.name]}
        write(data, json.dumps(recorded))(project)

    return [
        Case("figure declared without data", replace(starter, f"# lab:figure {figure.name}\n",
                                                     f"# lab:figure {figure.name}-more\n"),
             "its data is not recorded", starter, f"return a table named `{figure.name}-more`", lab=lab.id, line=at),
        Case("figure data older than the code", lambda p: write(starter, (p / starter).read_text(encoding="utf-8")
                                                                + "\nLATER = 1\n")(p),
             "from an older version of the code", starter, f"infralens outputs {lab.id}", lab=lab.id),
        Case("figure names an unknown column", replace(starter, f"# x: {x} ", f"# x: {x}{x[-1]} "),
             f"names the column `{x}{x[-1]}`", starter, f"did you mean `{x}`", lab=lab.id, line=at),
        Case("figure with an empty table", empty_table, "its data is empty", starter, "at least one row",
             lab=lab.id, line=at),
        Case("figure declaration malformed", replace(starter, f"# kind: {figure.kind}", "# kind: pie"),
             "has kind `pie`", starter, "write `kind:` with one of", lab=lab.id),
        Case("figure data not recorded at all", lambda p: (p / data).unlink(), "is not recorded", starter,
             f"infralens outputs {lab.id}", lab=lab.id, line=at),
    ]


ALL_CASES = REGISTRY_CASES + STARTER_CASES + PAGE_CASES + figure_cases()


def named(name: str) -> Case:
    return next(case for case in ALL_CASES if case.name == name)


def check(project: Path, capsys) -> tuple[int, list[str]]:
    status = infralens(["--root", str(project), "check"])
    problems = [line[4:] for line in capsys.readouterr().err.splitlines() if line.startswith("  - ")]
    return status, problems


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.name)
def test_each_mistake_gets_a_clear_message(case: Case, tmp_path: Path, capsys):
    project = copy_project(tmp_path / "project")
    case.change(project)
    expected_line = case.line(project) if callable(case.line) else case.line
    status, problems = check(project, capsys)
    assert status == 1
    matching = [problem for problem in problems if case.message in problem]
    assert matching, problems
    problem = matching[0]
    assert problem.startswith(case.file), problem
    assert "Fix: " in problem and case.fix in problem.split("Fix: ", 1)[1], problem
    if case.lab:
        assert f"(lab {case.lab})" in problem, problem
    if expected_line is not None:
        assert re.match(rf"{re.escape(case.file)}:{expected_line}\b", problem), problem


@pytest.mark.slow
@pytest.mark.parametrize("case", [named("yaml syntax error"), named("unknown key"), named("unknown prerequisite"),
                                  named("region never closed"), named("marker without text"),
                                  named("formula that cannot be rendered in a handbook page"),
                                  named("scaffold text left in a new lab"),
                                  named("figure data older than the code")],
                         ids=lambda case: case.name)
def test_build_fails_with_the_same_problems_as_check(case: Case, tmp_path: Path, capsys):
    project = copy_project(tmp_path / "project")
    case.change(project)
    _, problems = check(project, capsys)
    for strict in ((), ("--strict",)):
        result = build(project, tmp_path / "site", *strict)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout
        reported = [line[4:] for line in result.stderr.splitlines() if line.startswith("  - ")]
        assert reported == problems
        assert not (tmp_path / "site" / "labs" / LAB / "index.html").exists()


def test_all_problems_of_a_build_are_reported_together(tmp_path: Path, capsys):
    project = copy_project(tmp_path / "project")
    both(named("missing goal").change, named("unknown prerequisite").change)(project)
    status, problems = check(project, capsys)
    assert status == 1
    assert any("no `# lab:goal` block" in p for p in problems)
    assert any("lab-00-nothing" in p for p in problems)


def test_schema_errors_and_cross_entry_errors_are_reported_together(tmp_path: Path, capsys):
    project = copy_project(tmp_path / "project")
    text = (project / "labs.yaml").read_text(encoding="utf-8")
    second = text.index("  - id: lab-02-")
    reading = text.index("    reading:\n", second)
    end = text.index("\n  - id: ", reading + 1)
    (project / "labs.yaml").write_text(text[:reading] + "    reading: []\n" + text[end + 1:], encoding="utf-8")
    add_lab(LAB, 91)(project)
    status, problems = check(project, capsys)
    assert status == 1
    assert any("`labs[2].reading` is empty" in p for p in problems), problems
    assert any(f"lab id `{LAB}` is used twice" in p for p in problems), problems


@pytest.mark.slow
def test_a_custom_docs_dir_is_honoured(tmp_path: Path, capsys):
    project = copy_project(tmp_path / "project")
    (project / "docs").rename(project / "content")
    config = project / "mkdocs.yml"
    config.write_text("docs_dir: content\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    status, problems = check(project, capsys)
    assert (status, problems) == (0, [])
    result = build(project, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "labs" / LAB / "index.html").is_file()


@pytest.mark.slow
def test_ten_thousand_labs_load(tmp_path: Path):
    from infralens.registry import load_registry

    project = copy_project(tmp_path / "project")
    entry = lab01_entry(project)
    entries = [entry.replace(f"id: {LAB}", f"id: lab-{n}", 1).replace("number: 1\n", f"number: {n}\n", 1)
               for n in range(1, 10_001)]
    text = (project / "labs.yaml").read_text(encoding="utf-8")
    (project / "labs.yaml").write_text(text[: text.index("labs:\n") + 6] + "".join(entries), encoding="utf-8")
    registry = load_registry(project)
    assert len(registry.labs) == 10_000
    following = registry.neighbours(registry.lab("lab-5000"))[1]
    assert following is not None and following.id == "lab-5001"


PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"]


@pytest.mark.slow
def test_html_and_markdown_in_author_text_stay_text(tmp_path: Path):
    from bs4 import BeautifulSoup

    project = copy_project(tmp_path / "project")
    payload = " ".join(PAYLOADS)
    replace("labs.yaml", "    title: Forward Noise Process", f"    title: 'Forward {payload}'")(project)
    replace("labs.yaml", 'title: "Ho, Jain, Abbeel:', f'title: "Ho {payload}, Jain, Abbeel:')(project)
    for old in ("# lab:goal Read the fixed", "#   answer: (512, 1):", "# (1) Per-step noise variances",
                "#   why: It only adds noise"):
        replace(STARTER, old, f"{old} {payload}")(project)
    result = build(project, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for page in (tmp_path / "site").rglob("*.html"):
        html = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert not [s for s in html.find_all("script") if "alert(1)" in s.get_text()], page
        assert not html.select("[onerror]"), page
        assert not html.select('a[href^="javascript:"]'), page
    lab_page = (tmp_path / "site" / "labs" / LAB / "index.html").read_text(encoding="utf-8")
    text = BeautifulSoup(lab_page, "html.parser").get_text()
    for shown in PAYLOADS:
        assert text.count(shown) >= 4, f"{shown} is shown as typed"


@pytest.mark.slow
def test_crlf_tabs_backticks_and_non_ascii_build(tmp_path: Path):
    from bs4 import BeautifulSoup

    project = copy_project(tmp_path / "project")
    starter = project / STARTER
    text = starter.read_text(encoding="utf-8").replace(
        "alphas = 1.0 - betas", 'alphas = 1.0 - betas\t# ``` größer → β', 1)
    starter.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    result = build(project, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    page = BeautifulSoup((tmp_path / "site" / "labs" / LAB / "index.html").read_text(encoding="utf-8"),
                         "html.parser")
    lines = text.splitlines()
    shown = [pair for block in page.select("div[id^=excerpt-]") for pair in numbered_lines(block)]
    # Markdown expands tabs before highlighting; the page shows them as spaces to tab stops of 4.
    assert [(number, lines[number - 1].expandtabs(4)) for number, _ in shown] == shown
    assert any("# ``` größer → β" in text for _, text in shown)
