"""A content-addressed disk cache for work that only depends on file contents.

Parsing a starter, reading the registry and rendering a page are pure functions of their
inputs, so their results are stored under a digest of those inputs (and of this package's own
source, so a change to the code never reuses an old result) in `.cache/infralens/` beside
`mkdocs.yml`, like Material's own plugin caches. Nothing is kept in memory between builds.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

CACHE_DIR = Path(".cache") / "infralens"
_PACKAGE = Path(__file__).parent


def code_version() -> str:
    """A digest of the package's source and templates: results depend on them too."""
    hasher = hashlib.sha256()
    for path in sorted([*_PACKAGE.glob("*.py"), *(_PACKAGE / "templates").glob("*")]):
        hasher.update(path.name.encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


class DiskCache:
    def __init__(self, root: Path, version: str | None = None) -> None:
        self.directory = root / CACHE_DIR
        self.version = version or code_version()

    def _path(self, key: str) -> Path:
        name = hashlib.sha256(f"{self.version}\0{key}".encode()).hexdigest()
        return self.directory / name[:2] / name

    def get(self, key: str) -> Any | None:
        try:
            return pickle.loads(self._path(key).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError):
            return None  # a missing or unreadable entry is simply recomputed

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
                out.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(out.name, path)  # atomic: a reader never sees half an entry
        except OSError:
            pass  # a read-only checkout still builds, just without the cache


class NoCache(DiskCache):
    """Stands in where caching is off: nothing is stored or found."""

    def __init__(self) -> None:
        self.version = ""

    def get(self, key: str) -> Any | None:
        return None

    def put(self, key: str, value: Any) -> None:
        pass
