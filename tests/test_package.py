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
    old.flush()
    cache = DiskCache(tmp_path, version="new", max_bytes=20_000)
    assert old.directory.parent == cache.directory.parent and old.directory.is_dir()
    for n in range(100):
        cache.put(f"entry {n}", "y" * 1000)
    assert cache.get("entry 99") == "y" * 1000
    cache.prune()
    assert not old.directory.exists(), "an older version's entries are deleted"
    size = sum(p.stat().st_size for p in cache.directory.rglob("*") if p.is_file())
    assert 0 < size <= 20_000
    later = DiskCache(tmp_path, version="new")
    assert later.get("entry 99") is not None, "the most recently used entries stay"
    assert later.get("entry 0") is None, "the least recently used go first"


def test_an_entry_a_build_reads_outlives_one_it_does_not(tmp_path: Path):
    """Pruning keeps what builds use: an entry read by the last build is kept over one stored
    later but never read again."""
    first = DiskCache(tmp_path, version="v")
    first.put("read by every build", "a" * 6000)
    first.flush()
    second = DiskCache(tmp_path, version="v")
    second.put("stored once", "b" * 6000)
    second.flush()
    third = DiskCache(tmp_path, version="v", max_bytes=10_000)
    assert third.get("read by every build") == "a" * 6000
    third.put("new", "c" * 100)
    third.prune()
    after = DiskCache(tmp_path, version="v")
    assert after.get("read by every build") == "a" * 6000 and after.get("new") == "c" * 100
    assert after.get("stored once") is None


def test_a_build_reads_what_earlier_builds_wrote_in_few_files(tmp_path: Path):
    """Each build's new entries go into one pack; past MAX_PACKS, pruning merges the small packs
    and leaves the large one (a cold build's) as it is, so that a save never rewrites it all."""
    cold = DiskCache(tmp_path, version="v")
    for n in range(200):
        cold.put(f"page {n}", "p" * 500)
    cold.prune()
    (large,) = cold.directory.glob("*.pack")
    for build in range(cache_module.MAX_PACKS + 3):
        cache = DiskCache(tmp_path, version="v")
        assert cache.get(f"page {build}") == "p" * 500
        cache.put(f"save {build}", build)
        cache.prune()
        packs = sorted(cache.directory.glob("*.pack"))
        assert len(packs) <= cache_module.MAX_PACKS, "packs are merged once there are many"
        assert large in packs, "the large pack is never rewritten for a few small ones"
    last = DiskCache(tmp_path, version="v")
    assert [last.get(f"save {n}") for n in range(cache_module.MAX_PACKS + 3)] == list(range(cache_module.MAX_PACKS + 3))
    assert last.entries() == 200 + cache_module.MAX_PACKS + 3


def test_what_a_caller_stores_is_written_even_if_it_never_flushes(tmp_path: Path):
    """A script or a check that stores entries and ends leaves them for the next build."""
    import gc

    cache = DiskCache(tmp_path, version="v")
    cache.put("parsed", {"lab": 1})
    assert cache.get("parsed") == {"lab": 1} and cache.has("parsed"), "found before it is written"
    assert not list(tmp_path.rglob("*.pack"))
    del cache
    gc.collect()
    assert DiskCache(tmp_path, version="v").get("parsed") == {"lab": 1}


def test_a_build_that_stores_much_writes_as_it_goes(tmp_path: Path, monkeypatch):
    """A cold build of hundreds of labs does not hold every new entry in memory until it ends."""
    monkeypatch.setattr(cache_module, "UNWRITTEN_BYTES", 10_000)
    cache = DiskCache(tmp_path, version="v")
    for n in range(25):  # about 1 kB each
        cache.put(f"page {n}", "p" * 1000)
    assert len(list(cache.directory.glob("*.pack"))) == 2, "written each time over 10 kB had gathered"
    assert all(cache.get(f"page {n}") == "p" * 1000 for n in range(25))
    cache.flush()
    assert DiskCache(tmp_path, version="v").entries() == 25


def test_a_damaged_or_half_written_pack_is_left_out_and_cleaned_up(tmp_path: Path):
    import os
    import time

    cache = DiskCache(tmp_path, version="v")
    cache.put("kept", 1)
    cache.flush()
    other = DiskCache(tmp_path, version="v")
    other.put("lost", 2)
    other.flush()
    damaged = sorted(cache.directory.glob("*.pack"))[-1]  # the later one, which holds "lost"
    damaged.write_bytes(damaged.read_bytes()[:-5])  # as if the disk lost its end
    part = cache.directory / "0-1-abandoned.pack.part"
    part.write_bytes(b"half")
    os.utime(part, (time.time() - 2 * cache_module.ABANDONED_AFTER,) * 2)
    reader = DiskCache(tmp_path, version="v")
    assert reader.get("kept") == 1 and reader.get("lost") is None, "a damaged pack is read as missing entries"
    reader.prune()
    assert not part.exists(), "a pack a killed process left half written is deleted"


def test_two_builds_at_once_each_add_their_pack(tmp_path: Path):
    """Builds sharing a cache (copies of a project, or tests) never write to the same file."""
    one, two = DiskCache(tmp_path, version="v"), DiskCache(tmp_path, version="v")
    one.get("anything")  # both have read the cache before either writes
    two.get("anything")
    one.put("one", 1)
    two.put("two", 2)
    one.prune()
    two.prune()
    both = DiskCache(tmp_path, version="v")
    assert (both.get("one"), both.get("two")) == (1, 2)
    assert len(list(both.directory.glob("*.pack"))) == 2


@pytest.mark.parametrize("package", DEPENDENCIES)
def test_an_upgrade_of_a_dependency_gives_a_fresh_cache(package: str, tmp_path: Path, monkeypatch):
    """After `pip install -U <package>` a build reads nothing its old version made, and the next
    prune deletes what it made."""
    before = DiskCache(tmp_path)
    before.put("page", "<p>as the old version rendered it</p>")
    before.flush()
    assert before.directory.is_dir()
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
