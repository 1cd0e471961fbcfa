"""A content-addressed disk cache for work that only depends on file contents.

Parsing a starter, reading the registry and rendering a page are pure functions of their
inputs, so their results are stored under a digest of those inputs in `.cache/infralens/<version>/`
beside `mkdocs.yml`, like Material's own plugin caches, where the version is a digest of this
package's own source and of the versions of the packages whose output it stores, so a change to
the code, or an upgrade or downgrade of any of them, never reuses an old result. Nothing is kept in
memory between builds. The cache is bounded: `prune()` deletes other versions' folders and,
past `MAX_BYTES`, the entries used least recently.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket

CACHE_DIR = Path(".cache") / "infralens"
CACHE_ENV = "INFRALENS_CACHE_DIR"
# The real site's cache holds about 25 MB (its figures' drawings are most of it), a copy of it with
# 300 labs about 200 MB: a bound below what a project needs makes every build evict what the next
# one reads, and warm builds as slow as cold ones.
MAX_BYTES = 1024 * 1024 * 1024
PRUNE_TO = 0.75  # once over the bound, delete down to this share of it, so pruning is rare
# Weighing the cache reads the size of every entry (a few thousand): not on every rebuild under
# `mkdocs serve`, but at most once in this many seconds.
WEIGH_EVERY = 600
# Reading an entry marks it used by its modification time, for pruning by least recent use; an entry
# marked within this many seconds is not marked again, which spares a warm build thousands of writes.
TOUCH_EVERY = 3600
_PACKAGE = Path(__file__).parent
# The packages whose output the cache stores: pages and search entries (MkDocs, Material, Markdown,
# Jinja2), highlighted code (Pygments, pymdown-extensions), drawings (vl-convert), formulas
# (latex2mathml), the parsed registry and its messages (PyYAML, jsonschema).
DEPENDENCIES = ("mkdocs", "mkdocs-material", "pymdown-extensions", "pygments", "markdown", "jinja2",
                "vl-convert-python", "latex2mathml", "pyyaml", "jsonschema")


def dependency_versions() -> str:
    """The installed version of each dependency whose output is cached, and Python's."""
    versions = []
    for name in DEPENDENCIES:
        try:
            versions.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} absent")
    return "; ".join([*versions, f"python=={sys.version_info.major}.{sys.version_info.minor}"])


def code_version() -> str:
    """A digest of the package's source and templates and of its dependencies' versions: results
    depend on all of them."""
    hasher = hashlib.sha256(dependency_versions().encode())
    for path in sorted([*_PACKAGE.glob("*.py"), *(_PACKAGE / "templates").glob("*")]):
        hasher.update(path.name.encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


class DiskCache:
    def __init__(self, root: Path, version: str | None = None, max_bytes: int = MAX_BYTES) -> None:
        self.version = version or code_version()
        self.root = root
        self.directory = self.root / self.version
        self.max_bytes = max_bytes
        self._folder = str(self.directory)  # entries' paths are joined as strings: a warm build reads thousands

    def is_new(self) -> bool:
        """Whether it holds nothing for this version of the code (a fresh clone, CI, or new hooks)."""
        return not self.directory.is_dir()

    def _path(self, key: str) -> str:
        name = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._folder}/{name[:2]}/{name}"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            with open(path, "rb") as entry:
                used = os.fstat(entry.fileno()).st_mtime
                value = pickle.loads(entry.read())
            if time.time() - used > TOUCH_EVERY:
                os.utime(path)  # the modification time says when an entry was last used
            return value
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError):
            return None  # a missing or unreadable entry is simply recomputed

    def prune(self) -> None:
        """Delete other versions' entries, and the least recently used past the size bound."""
        weighed = self.directory / "weighed"
        try:
            for other in self.root.iterdir():
                if other.name != self.version and other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
            if time.time() - weighed.stat().st_mtime < WEIGH_EVERY:
                return
        except FileNotFoundError:
            pass
        except OSError:
            return
        try:
            entries = [(entry.stat(), entry) for entry in self.directory.glob("*/*")]
            weighed.touch()
        except OSError:
            return
        total = sum(stat.st_size for stat, _ in entries)
        if total <= self.max_bytes:
            return
        for stat, entry in sorted(entries, key=lambda item: item[0].st_mtime_ns):
            if total <= self.max_bytes * PRUNE_TO:
                break
            entry.unlink(missing_ok=True)
            total -= stat.st_size

    def has(self, key: str) -> bool:
        """Whether an entry is stored, without reading it (it may still turn out unreadable)."""
        return os.path.isfile(self._path(key))

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False) as out:
                out.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(out.name, path)  # atomic: a reader never sees half an entry
        except OSError:
            pass  # a read-only checkout still builds, just without the cache


def project_cache(project_root: Path, folder: str | None = None) -> DiskCache:
    """The cache of the project at `project_root`: `folder` (the plugin's `cache_dir`, relative
    to mkdocs.yml), `.cache/infralens/` beside mkdocs.yml by default; or the folder
    INFRALENS_CACHE_DIR names, which wins (so that copies of a project, as in tests, share one)."""
    shared = os.environ.get(CACHE_ENV)
    return DiskCache(Path(shared) if shared else project_root / (folder or CACHE_DIR))


class TemplateCache(jinja2.BytecodeCache):
    """Compiled Jinja templates (the theme's and ours) kept in a DiskCache, so a build, and every
    rebuild under `mkdocs serve`, loads them instead of compiling them again. An entry is keyed by
    the template's name and file, its source (Jinja's own checksum) and the settings of the
    environment that compiled it, which change the code it compiles to."""

    def __init__(self, cache: DiskCache) -> None:
        self.cache = cache

    def _key(self, bucket: Bucket) -> str:
        return f"jinja\0{bucket.key}\0{bucket.checksum}\0{_compile_settings(bucket.environment)}"

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.cache.get(self._key(bucket))
        if isinstance(code, bytes):
            bucket.bytecode_from_string(code)  # Jinja checks its own magic and checksum again

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.cache.put(self._key(bucket), bucket.bytecode_to_string())


def _compile_settings(env: jinja2.Environment) -> str:
    """What, besides the source, decides the code a template compiles to in `env`."""

    def name(value: object) -> object:
        return value if value is None or isinstance(value, (bool, str)) else getattr(value, "__qualname__", repr(value))

    settings = (env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
                env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
                env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
                env.keep_trailing_newline, env.optimized, env.is_async, name(env.autoescape), name(env.finalize),
                sorted(env.extensions),
                sorted((key, str(getattr(f, "jinja_pass_arg", ""))) for key, f in env.filters.items()),
                sorted((key, str(getattr(f, "jinja_pass_arg", ""))) for key, f in env.tests.items()))
    return hashlib.sha256(repr(settings).encode()).hexdigest()


class NoCache(DiskCache):
    """Stands in where caching is off: nothing is stored or found."""

    def __init__(self) -> None:
        self.version = ""

    def is_new(self) -> bool:
        return True  # every build is cold

    def get(self, key: str) -> Any | None:
        return None

    def has(self, key: str) -> bool:
        return False

    def put(self, key: str, value: Any) -> None:
        pass

    def prune(self) -> None:
        pass
