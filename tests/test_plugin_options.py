"""The plugin's switches in mkdocs.yml: with its caches and speed-ups off the site is the same,
byte for byte; switched off entirely, MkDocs builds the author's pages alone."""

from __future__ import annotations

import filecmp
from pathlib import Path

from conftest import TEST_REPO_URL, build, copy_project, warning_lines

PLUGIN_ENTRY = "\n  - infralens\n"


def with_options(project: Path, **options: bool) -> Path:
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert PLUGIN_ENTRY in text, "mkdocs.yml lists the plugin with its defaults"
    lines = "".join(f"\n      {name}: {str(value).lower()}" for name, value in options.items())
    config.write_text(text.replace(PLUGIN_ENTRY, f"\n  - infralens:{lines}\n"), encoding="utf-8")
    return project


def different_files(one: Path, other: Path) -> list[str]:
    names = sorted({path.relative_to(one).as_posix() for path in one.rglob("*") if path.is_file()}
                   | {path.relative_to(other).as_posix() for path in other.rglob("*") if path.is_file()})
    return [name for name in names
            if not ((one / name).is_file() and (other / name).is_file()
                    and filecmp.cmp(one / name, other / name, shallow=False))]


def test_the_site_is_the_same_with_caches_and_speedups_off(site: Path, tmp_path: Path):
    project = with_options(copy_project(tmp_path / "project"), cache=False, highlight_cache=False,
                           search_cache=False)
    result = build(project, tmp_path / "plain", INFRALENS_REPO_URL=TEST_REPO_URL)
    assert result.returncode == 0, result.stderr
    assert warning_lines(result.stderr) == [], result.stderr
    assert different_files(site, tmp_path / "plain") == []


def test_switched_off_the_site_is_the_authors_pages_alone(tmp_path: Path):
    project = with_options(copy_project(tmp_path / "project"), enabled=False)
    result = build(project, tmp_path / "site", "--no-strict")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "site" / "labs" / "lab-01-forward-noise-process").exists()
    assert (tmp_path / "site" / "authoring" / "index.html").is_file()
