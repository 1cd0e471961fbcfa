"""Incremental rebuilds (`mkdocs serve --dirty`) give the same site as a clean build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import mkdocs_env

LAB = "lab-01-forward-noise-process"
STARTER = f"code/{LAB}/forward_noise.py"
HERE = Path(__file__).parent


def run_builds(project: Path, site: Path, *steps: str) -> list[str]:
    result = subprocess.run([sys.executable, str(HERE / "dirty_builds.py"), str(project), str(site), *steps],
                            capture_output=True, check=False, text=True, env=mkdocs_env(), timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def clean_build(project: Path, site: Path, **env: str) -> None:
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", str(site)],
                            cwd=project, capture_output=True, check=False, text=True, timeout=600,
                            env=mkdocs_env(INFRALENS_SITE_URL="http://127.0.0.1:8000/", **env))
    assert result.returncode == 0, result.stderr


def pages(site: Path) -> dict[str, str]:
    return {str(path.relative_to(site)): path.read_text(encoding="utf-8") for path in site.rglob("*.html")}


def search_entries(site: Path) -> list[tuple[str, str]]:
    docs = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    return sorted((doc["location"], doc["text"]) for doc in docs)


def practice_questions(site: Path) -> list[dict[str, Any]]:
    return json.loads((site / "interview" / "questions.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("edit", [
    f"edit|{STARTER}|alphas = 1.0 - betas|alphas = 1.0 - betas  # rebuilt incrementally",
    "edit|labs.yaml|    title: Forward Noise Process|    title: Forward Noise, Renamed",
    "edit|docs/handbook/diffusion.md|## Forward noise process|## Forward noise process\n\nA new paragraph.",
    # A figure a handbook page places: its lab page and the handbook page are rebuilt together.
    "edit|code/lab-02-schedules-and-snr/schedules.py|# title: The cosine schedule keeps|# title: Retitled: the cosine "
    "schedule keeps",
    "edit|labs.yaml|    title: Schedules|    title: Retitled Schedules",
    # A line a practice question shows: the questions file is rebuilt with it.
    f"edit|{STARTER}|rng.standard_normal(x0.shape))\n|rng.standard_normal(x0.shape))  # in closed form\n",
], ids=["starter", "registry", "handbook page", "figure placed in the handbook", "retitled lab",
        "line a practice question shows"])
def test_a_dirty_rebuild_equals_a_clean_build(project_copy: Path, tmp_path: Path, edit: str):
    dirty_site = tmp_path / "dirty"
    run_builds(project_copy, dirty_site, "build", edit, "build")
    clean_site = tmp_path / "clean"
    clean_build(project_copy, clean_site)
    dirty_pages, clean_pages = pages(dirty_site), pages(clean_site)
    assert dirty_pages.keys() == clean_pages.keys()
    different = [name for name in clean_pages if dirty_pages[name] != clean_pages[name]]
    assert different == []
    assert search_entries(dirty_site) == search_entries(clean_site)
    assert practice_questions(dirty_site) == practice_questions(clean_site)
    starter = (project_copy / STARTER).read_text(encoding="utf-8").splitlines()
    shown = [q["code"] for q in practice_questions(clean_site) if q["lab"] == LAB and "code" in q]
    assert shown and all(code["lines"] == starter[code["first"] - 1:code["first"] - 1 + len(code["lines"])]
                         for code in shown), "practice shows the starter's lines as they are now"


def test_search_keeps_every_lab_after_rebuilds(project_copy: Path, tmp_path: Path):
    site = tmp_path / "dirty"
    edit = f"edit|{STARTER}|alphas = 1.0 - betas|alphas = 1.0 - betas  # once more"
    run_builds(project_copy, site, "build", edit, "build", "build")
    locations = {location for location, _ in search_entries(site)}
    registry_ids = [line.split("id: ", 1)[1] for line in
                    (project_copy / "labs.yaml").read_text(encoding="utf-8").splitlines()
                    if line.startswith("  - id: lab-")]
    assert registry_ids and all(f"labs/{lab_id}/" in locations for lab_id in registry_ids)
    entries = search_entries(site)
    assert len(entries) == len(set(entries)), "no page is indexed twice"


def test_a_build_from_the_cache_equals_a_build_without_it(project_copy: Path, tmp_path: Path):
    own_cache = {"INFRALENS_CACHE_DIR": ""}  # each project its own .cache/infralens, not the tests' shared one
    clean_build(project_copy, tmp_path / "first", **own_cache)  # fills .cache/infralens
    assert any((project_copy / ".cache" / "infralens").rglob("*"))
    starter = project_copy / STARTER
    starter.write_text(starter.read_text(encoding="utf-8").replace(
        "alphas = 1.0 - betas", "alphas = 1.0 - betas  # after the cache was filled", 1), encoding="utf-8")
    clean_build(project_copy, tmp_path / "warm", **own_cache)
    cold_project = tmp_path / "cold-project"
    shutil.copytree(project_copy, cold_project, ignore=shutil.ignore_patterns(".cache"))
    clean_build(cold_project, tmp_path / "cold", **own_cache)
    warm, cold = pages(tmp_path / "warm"), pages(tmp_path / "cold")
    assert warm.keys() == cold.keys()
    assert [name for name in cold if warm[name] != cold[name]] == []
    assert search_entries(tmp_path / "warm") == search_entries(tmp_path / "cold")
    assert "after the cache was filled" in warm[f"labs/{LAB}/index.html"]


@pytest.mark.parametrize("after_pages", [False, True], ids=["with the files", "after the pages"])
def test_a_generated_data_file_is_made_only_when_it_is_written(tmp_path: Path, after_pages: bool):
    """Also when it is written after the pages, as an exploration's file is."""
    from infralens.cache import NoCache
    from infralens.incremental import GeneratedPages, Stamps
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

    (tmp_path / "docs").mkdir()
    config = MkDocsConfig(config_file_path=str(tmp_path / "mkdocs.yml"))
    config.load_dict({"site_name": "x", "docs_dir": str(tmp_path / "docs"), "site_dir": str(tmp_path / "site")})
    assert config.validate() == ([], [])
    config.plugins._current_plugin = None  # set by MkDocs while a plugin's event runs
    made: list[str] = []

    def add(stamps: Stamps | None, content: str) -> None:
        pages = GeneratedPages(config, Files([]), "site", stamps, NoCache())
        before = len(made)

        def make() -> str:
            made.append(content)
            return content

        file = pages.add_file("data/x.json", (content,), make, after_pages=after_pages)
        assert len(made) == before, "nothing is made while pages are still being read"
        file.copy_file(dirty=stamps is not None)
        if after_pages:
            assert len(made) == before, "a file written after the pages waits while MkDocs copies files"
            pages.write_postponed()

    add(None, "first")
    assert made == ["first"] and (tmp_path / "site" / "data" / "x.json").read_text() == "first"
    stamps = Stamps(tmp_path / "site")
    stamps.record("data/x.json", "anything")
    stamps.save()
    for content in ("second", "second"):
        stamps = Stamps(tmp_path / "site")
        add(stamps, content)
        stamps.save()
    assert made == ["first", "second"], "a dirty rebuild makes the file again only when its inputs changed"
    assert (tmp_path / "site" / "data" / "x.json").read_text() == "second"
