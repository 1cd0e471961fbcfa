"""Shared fixtures: the real project, throwaway copies of it, and a real site build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every build of the session, copies of the project included, shares one content-addressed cache:
# figures and pages are drawn once, not once per copy.
os.environ.setdefault("INFRALENS_CACHE_DIR", str(ROOT / ".cache" / "infralens"))
PROJECT_PARTS = ("mkdocs.yml", "labs.yaml", "labs.schema.json", "docs", "code", "hooks", "overrides")
TEST_REPO_URL = "https://git.example.org/infralens/infralens"


def copy_project(destination: Path) -> Path:
    """A copy of the project's site sources, safe to break or edit in a test."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        else:
            shutil.copy2(source, destination / part)
    return destination


def authoring_example(language: str, after: str = "## A complete example") -> str:
    """The first `language` code block after the text `after` on the authoring page."""
    page = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    match = re.compile(rf"```{language}\n(.*?)\n```", re.S).search(page, page.index(after))
    assert match, f"the authoring page has a {language} block after {after!r}"
    return match.group(1) + "\n"


def mkdocs_env(**extra: str) -> dict[str, str]:
    """The environment for a build: the caller decides whether a repository URL is set."""
    env = {key: value for key, value in os.environ.items() if key != "INFRALENS_REPO_URL"}
    return {**env, "NO_MKDOCS_2_WARNING": "1", **extra}


def build(project: Path, site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `mkdocs build --strict` as an author would (no -q/-v: both hide warnings)."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site), *args],
        cwd=project, capture_output=True, check=False, text=True, env=mkdocs_env(**env), timeout=300,
    )


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real project built once, strictly, with a repository URL so edit links exist."""
    out = tmp_path_factory.mktemp("site") / "site"
    result = build(ROOT, out, INFRALENS_REPO_URL=TEST_REPO_URL)
    assert result.returncode == 0, result.stderr
    assert warning_lines(result.stderr) == [], result.stderr
    return out


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


SLOW_FIXTURES = {"site", "served", "dirty_site"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what `make check-fast` leaves out: tests of a whole build (by the fixtures they use or
    the `build` helper their module calls) and of the real curriculum's content."""
    for item in items:
        module = item.module.__name__ if isinstance(item, pytest.Function) and item.module else ""
        if module in ("test_browser",):
            item.add_marker(pytest.mark.browser)
        if module in ("test_starters_run", "test_curriculum"):
            item.add_marker(pytest.mark.content)
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# Modules whose tests build a copy of the site or run MkDocs end to end.
SLOW_MODULES = {"test_publishing", "test_incremental", "test_dirty_warning", "test_serve", "test_plugin_options"}
