"""Loading labs.yaml: the real registry loads; mistakes are reported with line, lab and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from infralens.errors import AuthorError
from infralens.registry import load_registry


def test_real_registry_loads_with_every_lab():
    registry = load_registry(ROOT)
    assert registry.labs and registry.chapters
    assert len({lab.id for lab in registry.labs}) == len(registry.labs)
    first = min(registry.labs, key=lambda lab: lab.number)
    assert first.id == "lab-01-forward-noise-process"
    assert first.starter.startswith("code/") and (ROOT / first.starter).is_file()


def edit_registry(project: Path, old: str, new: str) -> None:
    path = project / "labs.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(project: Path) -> list[str]:
    with pytest.raises(AuthorError) as caught:
        load_registry(project)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("old, new, expected", [
    ("    starter: code/", "    startr: code/", "did you mean `starter` instead of `startr`?"),
    ("    number: 1\n    title: Forward", "    number: \"1\"\n    title: Forward",
     "must be a whole number"),
    ("    chapter: diffusion\n    handbook: handbook/diffusion.md#forward",
     "    chapter: difusion\n    handbook: handbook/diffusion.md#forward", "did you mean `diffusion`?"),
    ("  - id: lab-01-forward-noise-process", "  - id: Lab 01", "URL slug"),
    ("starter: code/lab-01-forward-noise-process/forward_noise.py",
     "starter: code/lab-01-forward-noise-process/missing.py", "does not exist"),
    ("url: https://arxiv.org/abs/2006.11239", "url: javascript:alert(1)", "http:// or https://"),
    ("    prerequisites: []\n    tags: [diffusion, ddpm",
     "    prerequisites: [lab-01-forward-noise-process]\n    tags: [diffusion, ddpm",
     "lists itself as a prerequisite"),
])
def test_registry_mistakes_are_located_and_explained(project_copy, old, new, expected):
    edit_registry(project_copy, old, new)
    found = problems(project_copy)
    assert any(expected in problem for problem in found), found
    assert all(problem.startswith("labs.yaml:") and "Fix:" in problem for problem in found), found


def test_a_problem_names_the_line_of_the_bad_key(project_copy):
    edit_registry(project_copy, "    starter: code/", "    startr: code/")
    text = (project_copy / "labs.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, row in enumerate(text, start=1) if row.startswith("    startr:"))
    found = problems(project_copy)
    unknown = next(problem for problem in found if "unknown key" in problem)
    assert unknown.startswith(f"labs.yaml:{line}:5 (lab lab-01-forward-noise-process)")
    assert any("missing the required key `starter`" in problem for problem in found)


def test_yaml_syntax_errors_have_a_position(project_copy):
    edit_registry(project_copy, "    title: Forward Noise Process", "    title: [Forward")
    (problem,) = problems(project_copy)
    assert "YAML syntax error" in problem and problem.startswith("labs.yaml:")
