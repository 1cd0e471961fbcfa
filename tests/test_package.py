"""The package itself: a bounded cache, and every import declared as a dependency."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

from conftest import ROOT
from infralens.cache import DiskCache


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
