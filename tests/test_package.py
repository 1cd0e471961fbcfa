"""The package itself: a bounded cache, and every import declared as a dependency."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest
from conftest import ROOT
from infralens import cache as cache_module
from infralens.cache import DEPENDENCIES, DiskCache, code_version


def test_cache_deletes_old_versions_and_stays_under_its_bound(tmp_path: Path):
    old = DiskCache(tmp_path, version="old")
    old.put("a", "x" * 1000)
    cache = DiskCache(tmp_path, version="new", max_bytes=20_000)
    assert old.directory.parent == cache.directory.parent
    for n in range(100):
        cache.put(f"entry {n}", "y" * 1000)
    assert cache.get("entry 99") == "y" * 1000
    cache.prune()
    assert not old.directory.exists(), "an older version's entries are deleted"
    size = sum(p.stat().st_size for p in cache.directory.rglob("*") if p.is_file())
    assert 0 < size <= 20_000
    assert cache.get("entry 99") is not None, "the most recently used entries stay"
    assert cache.get("entry 0") is None, "the least recently used go first"


def test_reading_an_entry_marks_it_used_unless_it_was_marked_within_the_hour(tmp_path: Path):
    """Pruning deletes the entries used least recently: a read that marked nothing would let an
    entry every build reads be deleted first; one that marked every read writes thousands."""
    import os
    import time

    cache = DiskCache(tmp_path, version="v")
    cache.put("old", 1)
    cache.put("recent", 2)
    entry = {key: Path(cache._path(key)) for key in ("old", "recent")}
    now = time.time()
    os.utime(entry["old"], (now - 7200, now - 7200))
    os.utime(entry["recent"], (now - 600, now - 600))
    assert cache.get("old") == 1 and cache.get("recent") == 2
    assert entry["old"].stat().st_mtime > now - 60, "read two hours after its last use: marked now"
    assert abs(entry["recent"].stat().st_mtime - (now - 600)) < 1, "marked ten minutes ago: left as is"


@pytest.mark.parametrize("package", DEPENDENCIES)
def test_an_upgrade_of_a_dependency_gives_a_fresh_cache(package: str, tmp_path: Path, monkeypatch):
    """After `pip install -U <package>` a build reads nothing its old version made, and the next
    prune deletes what it made."""
    before = DiskCache(tmp_path)
    before.put("page", "<p>as the old version rendered it</p>")
    real = cache_module.importlib.metadata.version
    monkeypatch.setattr(cache_module.importlib.metadata, "version",
                        lambda name: "999.0" if name == package else real(name))
    after = DiskCache(tmp_path)
    assert after.version != before.version == DiskCache(tmp_path, version=before.version).version
    assert after.get("page") is None
    after.put("page", "<p>as the new version renders it</p>")
    after.prune()
    assert not before.directory.exists() and after.get("page") == "<p>as the new version renders it</p>"
    monkeypatch.setattr(cache_module.importlib.metadata, "version", real)
    assert code_version() == before.version, "a downgrade back gives the old namespace again"


def test_every_dependency_whose_output_is_cached_keys_the_cache():
    """Each runtime dependency is in the cache's key, except the file watcher, which makes no output,
    and packaging, which compares version numbers."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[<>=!~ ]", requirement, maxsplit=1)[0].lower() for requirement in declared}
    assert names - {"watchdog", "packaging"} == set(DEPENDENCIES)


def imported_modules(folder: Path) -> set[str]:
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"infralens", "__future__"}


def declared(requirement: str) -> str:
    name = requirement.split(";", maxsplit=1)[0]
    for mark in "<>=!~[ ":
        name = name.split(mark)[0]
    return name.lower().replace("_", "-")


def top_level_modules(name: str) -> set[str]:
    """The importable top-level names an installed distribution provides."""
    files = distribution(name).files or []
    return {Path(str(file)).parts[0].removesuffix(".py") for file in files
            if not str(file).startswith(("..", "/")) and ".dist-info" not in str(file)}


def test_every_module_the_package_imports_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    provided = set().union(*(top_level_modules(declared(r)) for r in project["dependencies"]))
    missing = imported_modules(ROOT / "hooks") - provided
    assert not missing, f"declare the distributions of {sorted(missing)} in pyproject.toml's dependencies"


def test_the_cache_lives_where_the_plugin_says_unless_the_environment_names_one(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(cache_module.CACHE_ENV, raising=False)
    assert cache_module.project_cache(tmp_path).directory.parent == tmp_path / cache_module.CACHE_DIR
    assert cache_module.project_cache(tmp_path, "build/cache").directory.parent == tmp_path / "build" / "cache"
    monkeypatch.setenv(cache_module.CACHE_ENV, str(tmp_path / "shared"))
    assert cache_module.project_cache(tmp_path, "build/cache").directory.parent == tmp_path / "shared"


def test_the_plugin_is_registered_where_mkdocs_finds_plugins():
    from infralens.plugin import InfralensPlugin
    from mkdocs.plugins import get_plugins

    assert get_plugins()["infralens"].load() is InfralensPlugin
