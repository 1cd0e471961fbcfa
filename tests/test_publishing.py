"""Publishing: the deploy workflow runs the README's commands, ProperDocs builds the same
site, and `infralens new` starts a lab that builds and runs at once."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, build, copy_project, mkdocs_env, warning_lines
from infralens.cli import main as infralens
from infralens.paths import planted_bugs_path
from infralens.registry import load_registry

GENERATOR = re.compile(r'<meta name="generator"[^>]*>')


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S)
    assert match, "the README has a Quick start block"
    block = match.group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def make_recipe(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match, f"the Makefile has a `{target}` target"
    body = match.group(1)
    return [line.strip() for line in body.splitlines()]


def test_readme_has_exactly_two_commands_serve_and_test():
    commands = readme_commands()
    assert len(commands) == 2
    assert any("mkdocs serve" in line for line in make_recipe(commands[0].split()[-1]))
    assert any("pytest" in line for line in make_recipe(commands[1].split()[-1]))


def test_deploy_workflow_runs_the_readme_test_command_and_a_strict_build():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    runs = [step["run"].strip() for step in steps if "run" in step]
    test_command = readme_commands()[1]
    assert test_command in runs, "the workflow tests the way the README says"
    build_step = next(run for run in runs if run.startswith("make build"))
    assert any("mkdocs build --strict" in line for line in make_recipe(build_step.split()[1]))
    assert runs.index(test_command) < runs.index(build_step)
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as True


def test_properdocs_builds_the_same_lab_pages(site, tmp_path):
    out = tmp_path / "properdocs-site"
    result = subprocess.run(
        [sys.executable, "-m", "properdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=ROOT, capture_output=True, check=False, text=True, timeout=300,
        env=mkdocs_env(INFRALENS_REPO_URL="https://git.example.org/infralens/infralens"),
    )
    assert result.returncode == 0, result.stderr
    assert warning_lines(result.stderr) == []
    for lab in load_registry(ROOT).labs:
        for page in (f"labs/{lab.id}/index.html", f"labs/{lab.id}/starter/index.html"):
            ours = GENERATOR.sub("", (site / page).read_text(encoding="utf-8"))
            theirs = GENERATOR.sub("", (out / page).read_text(encoding="utf-8"))
            assert ours == theirs, page


def test_scaffold_creates_a_lab_that_runs_and_builds_once_its_guidance_is_replaced(tmp_path, capsys):
    project = copy_project(tmp_path / "project")
    registry = load_registry(project)
    chapter = registry.chapters[0].id
    assert infralens(["--root", str(project), "new", "Scaffold Check Lab", "--chapter", chapter]) == 0
    created = load_registry(project)
    lab = next(lab for lab in created.labs if lab.title == "Scaffold Check Lab")
    assert lab.number == max(other.number for other in registry.labs) + 1
    assert lab.handbook_page == registry.chapter(chapter).handbook
    assert lab.handbook_anchor == "scaffold-check-lab", "its own section, added to the chapter's page"
    run = subprocess.run([sys.executable, lab.starter], cwd=project, capture_output=True, check=False, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    starter = (project / lab.starter).read_text(encoding="utf-8")
    for directive in ("goal", "mental-model", "checkpoints", "traps", "interview", "intuition", "begin", "notes",
                      "explain"):
        assert f"# lab:{directive}" in starter
    capsys.readouterr()
    assert infralens(["--root", str(project), "check"]) == 1, "guidance text is never published"
    reported = [line for line in capsys.readouterr().err.splitlines() if line.startswith("  - ")]
    assert reported and all("scaffold's guidance text" in line for line in reported), reported
    written = (project / lab.starter, project / "labs.yaml", project / planted_bugs_path(lab.starter),
               project / "docs" / lab.handbook_page)
    for path in written:  # the author writes the lab
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("Replace with", "Written as").replace("Replace this", "This"), encoding="utf-8")
    assert infralens(["--root", str(project), "outputs", lab.id]) == 0, "as the scaffold's last line says"
    assert infralens(["--root", str(project), "check"]) == 0, capsys.readouterr().err
    assert infralens(["--root", str(project), "mutate", lab.id]) == 0, "the scaffold's planted bug is caught"
    result = build(project, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert warning_lines(result.stderr) == []
    assert (tmp_path / "site" / "labs" / lab.id / "index.html").is_file()


@pytest.mark.parametrize("extra, message", [
    ([], "already has the title"),
    (["--number", "1", "--id", "lab-77-other"], "lab number 1 is already taken"),
    (["--id", "lab-01-forward-noise-process"], "already exists"),
])
def test_scaffold_refuses_clashes(tmp_path, capsys, extra, message):
    project = copy_project(tmp_path / "project")
    title = "Forward Noise Process" if not extra else "Another Title"
    before = (project / "labs.yaml").read_text(encoding="utf-8")
    status = infralens(["--root", str(project), "new", title, "--chapter", "diffusion", *extra])
    assert status == 1
    assert message in capsys.readouterr().err
    assert (project / "labs.yaml").read_text(encoding="utf-8") == before, "nothing is written"
