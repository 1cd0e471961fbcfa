"""A content-addressed disk cache for work that only depends on file contents.

Parsing a starter, reading the registry and rendering a page are pure functions of their
inputs, so their results are stored under a digest of those inputs in `.cache/infralens/<version>/`
beside `mkdocs.yml`, like Material's own plugin caches, where the version is a digest of this
package's own source and of the versions of the packages whose output it stores, so a change to
the code, or an upgrade or downgrade of any of them, never reuses an old result. Nothing is kept in
memory between builds.

Entries live in a few pack files, not one file each: a cold build stores about a thousand entries
for the real site, and creating a file costs far more than writing its bytes, while a warm build of
hundreds of labs reads thousands of entries, and opening a file costs more than reading one from a
mapped pack. A build's new entries are written as one pack when it ends (`flush`). A pack is never
changed once written, so builds in other processes can read it while this one writes its own, and
the cache stays bounded by `prune()`, which merges small packs and, past `MAX_BYTES`, keeps only the
entries used most recently.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import mmap
import os
import pickle
import secrets
import shutil
import struct
import sys
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
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
PRUNE_TO = 0.75  # once over the bound, keep this share of it, so pruning is rare
# Each build that stores something adds a pack, and each pack is opened by every build; past this
# many, `prune()` merges them. The largest pack (a cold build's) is left alone when it holds more
# than the others together, so that a save under `mkdocs serve` never rewrites the whole cache.
MAX_PACKS = 8
PACK_MARK = b"ILPACK1\n"  # begins and ends a pack: a file without both marks is not read
PACK_SUFFIX = ".pack"
_FOOTER = struct.Struct("<Q")  # the length of the pickled index, just before the closing mark
# A build's new entries wait in memory for its end; past this many bytes they are written at once,
# so that a cold build of hundreds of labs does not hold them all (a 300-lab one makes 110 MB).
UNWRITTEN_BYTES = 64 * 1024 * 1024
ABANDONED_AFTER = 3600  # seconds after which a half-written pack (a process killed mid-write) is deleted
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


@dataclass(eq=False)  # packs are told apart by identity, never by their (mapped) contents
class Pack:
    """A pack file, mapped into memory: its entries' bytes, then their index."""

    path: Path
    data: mmap.mmap
    index: dict[bytes, tuple[int, int, int]]  # entry digest -> offset, length, last use

    @classmethod
    def open(cls, path: Path) -> Pack | None:
        """The pack at `path`, or None if it is gone (merged by another build) or unreadable."""
        try:
            with open(path, "rb") as file:
                data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        marks = len(PACK_MARK)
        try:
            if data[:marks] != PACK_MARK or data[-marks:] != PACK_MARK:
                raise ValueError(path)
            (length,) = _FOOTER.unpack_from(data, len(data) - marks - _FOOTER.size)
            start = len(data) - marks - _FOOTER.size - length
            index = pickle.loads(data[start:start + length])
            if start < marks or not isinstance(index, dict):
                raise ValueError(path)
        except (ValueError, struct.error, pickle.UnpicklingError, EOFError, IndexError):
            data.close()
            return None
        return cls(path, data, index)


def write_pack(directory: Path, entries: Mapping[bytes, tuple[bytes | memoryview, int]]) -> Path | None:
    """Write `entries` (digest -> pickled bytes, last use) as a new pack in `directory`. Its name
    starts with the time it was written, so that a later pack wins over an earlier one."""
    if not entries:
        return None
    index: dict[bytes, tuple[int, int, int]] = {}
    offset = len(PACK_MARK)
    for digest, (data, used) in entries.items():
        index[digest] = (offset, len(data), used)
        offset += len(data)
    footer = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
    path = directory / f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}{PACK_SUFFIX}"
    temporary = path.with_name(path.name + ".part")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as out:
            out.write(PACK_MARK)
            out.writelines(data for data, _ in entries.values())
            out.write(footer + _FOOTER.pack(len(footer)) + PACK_MARK)
        os.replace(temporary, path)  # atomic: a reader never sees half a pack
    except OSError:
        temporary.unlink(missing_ok=True)
        return None  # a read-only checkout still builds, just without the cache
    return path


@dataclass
class _Unwritten:
    """Entries stored by a build and not yet in a pack: written by `flush`, or when the cache is
    dropped, so that a caller that never flushes (a script, a test) loses nothing."""

    directory: Path
    entries: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)
    size: int = 0

    def add(self, digest: bytes, data: bytes, used: int) -> None:
        self.entries[digest] = (data, used)
        self.size += len(data)

    def write(self) -> Path | None:
        entries = dict(self.entries)
        self.entries.clear()
        self.size = 0
        return write_pack(self.directory, entries)


Located = tuple[Pack, int, int, int]  # an entry's pack, offset, length and last use recorded there


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()[:20]


class DiskCache:
    def __init__(self, root: Path, version: str | None = None, max_bytes: int = MAX_BYTES) -> None:
        self.version = version or code_version()
        self.root = root
        self.directory = self.root / self.version
        self.max_bytes = max_bytes
        self._unwritten = _Unwritten(self.directory)
        weakref.finalize(self, self._unwritten.write)
        self._packs: list[Pack] | None = None  # opened on first use: a build that reads nothing opens nothing
        self._index: dict[bytes, Located] = {}  # entry digest -> where its latest copy is
        self._used: dict[bytes, int] = {}  # entries this build read or stored -> when

    def is_new(self) -> bool:
        """Whether it holds nothing for this version of the code (a fresh clone, CI, or new hooks)."""
        return not self._opened() and not self._unwritten.entries

    def get(self, key: str) -> Any | None:
        digest = _digest(key)
        self._opened()
        unwritten = self._unwritten.entries.get(digest)
        located = None if unwritten else self._index.get(digest)
        try:
            if unwritten:
                value = pickle.loads(unwritten[0])
            elif located:
                pack, offset, length, _ = located
                value = pickle.loads(memoryview(pack.data)[offset:offset + length])
            else:
                return None
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, ValueError):
            return None  # an unreadable entry is simply recomputed
        self._used[digest] = time.time_ns()
        return value

    def has(self, key: str) -> bool:
        """Whether an entry is stored, without reading it (it may still turn out unreadable)."""
        digest = _digest(key)
        self._opened()
        return digest in self._unwritten.entries or digest in self._index

    def put(self, key: str, value: Any) -> None:
        digest, used = _digest(key), time.time_ns()
        self._unwritten.add(digest, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), used)
        self._used[digest] = used
        if self._unwritten.size > UNWRITTEN_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the entries stored since the last flush as one pack."""
        self._opened()  # before the new pack exists, so that it is added once
        if (path := self._unwritten.write()) is not None and (pack := Pack.open(path)) is not None:
            self._add(pack)

    def entries(self) -> int:
        """How many entries it holds, written or not."""
        self._opened()
        return len(self._index.keys() | self._unwritten.entries.keys())

    def _opened(self) -> list[Pack]:
        if self._packs is None:
            self._packs = []
            try:
                paths = sorted(self.directory.glob("*" + PACK_SUFFIX))  # oldest first: a later entry wins
            except OSError:
                paths = []
            for path in paths:
                if (pack := Pack.open(path)) is not None:
                    self._add(pack)
        return self._packs

    def _add(self, pack: Pack) -> None:
        assert self._packs is not None
        self._packs.append(pack)
        for digest, (offset, length, used) in pack.index.items():
            self._index[digest] = (pack, offset, length, used)

    def prune(self) -> None:
        """Write what is unwritten; delete other versions, half-written packs and, past the size
        bound, the entries used least recently; merge packs when there are many."""
        self.flush()
        try:
            for other in self.root.iterdir():
                if other.name != self.version and other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
            for part in self.directory.glob("*.part"):
                if time.time() - part.stat().st_mtime > ABANDONED_AFTER:
                    part.unlink(missing_ok=True)
        except OSError:
            return
        packs = self._opened()
        total = sum(located[2] for located in self._index.values())
        if total > self.max_bytes:
            self._rewrite(packs, self._most_recent(self.max_bytes * PRUNE_TO))
        elif len(packs) > MAX_PACKS:
            largest = max(packs, key=lambda pack: len(pack.data))
            small = [pack for pack in packs if pack is not largest]
            merged = small if 2 * len(largest.data) > sum(len(pack.data) for pack in packs) else packs
            self._rewrite(merged, {digest for digest, located in self._index.items() if located[0] in merged})

    def _most_recent(self, budget: float) -> set[bytes]:
        """The entries used most recently whose bytes fit in `budget`."""
        kept: set[bytes] = set()
        size = 0
        for digest, located in sorted(self._index.items(), key=lambda item: -self._last_use(*item)):
            if size + located[2] > budget:
                break
            kept.add(digest)
            size += located[2]
        return kept

    def _last_use(self, digest: bytes, located: Located) -> int:
        return self._used.get(digest, located[3])

    def _rewrite(self, packs: list[Pack], keep: set[bytes]) -> None:
        """Replace `packs` with one pack of the entries in `keep` (their latest copies)."""
        entries = {digest: (memoryview(pack.data)[offset:offset + length], self._last_use(digest, located))
                   for digest, located in self._index.items() if digest in keep
                   for pack, offset, length, _ in (located,)}
        if write_pack(self.directory, entries) is None and entries:
            return  # keep the old packs rather than lose their entries
        for pack in packs:
            pack.path.unlink(missing_ok=True)  # a build reading it has it mapped: unlinking is safe
        self._packs, self._index = None, {}  # read afresh: the new pack, and any another build wrote


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

    def flush(self) -> None:
        pass

    def entries(self) -> int:
        return 0

    def prune(self) -> None:
        pass
