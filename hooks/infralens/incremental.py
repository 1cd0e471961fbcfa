"""Incremental rebuilds for `mkdocs serve --dirty`.

In a dirty build MkDocs rebuilds a page only when `File.is_modified()` is true, and a page
generated from `content=` always claims to be modified. Here each generated page carries a
fingerprint of what it is made from, and the fingerprints of the last successful build are kept
in the site directory (on disk, read per build), so saving a starter rebuilds that lab's pages
only. What every page shows (the registry, through navigation and the handbook boxes; page
templates; the theme overrides; the list of pages; the problem banner) goes into one site
fingerprint, and when that changes every page is rebuilt.

Under `mkdocs serve` it also quiets MkDocs' warning that a dirty build leaves navigation and
links stale (here it does not). The file watcher is in `watching.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel

from .cache import DiskCache

STAMPS_FILE = Path(".infralens") / "stamps.json"
SITE_KEY = "__site__"
DIRTY_WARNING = "A 'dirty' build is being performed"  # how MkDocs' warning begins (mkdocs.commands.build)
DIRTY_NOTE = ("Rebuilding incrementally (serve --dirty): a save rebuilds the pages made from what changed, and "
              "a change to labs.yaml, mkdocs.yml, the templates or the list of pages rebuilds every page.")


def digest(*parts: object) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
        hasher.update(b"\0")
    return hasher.hexdigest()


def tree_state(paths: Iterable[Path]) -> list[tuple[str, int]]:
    """Names and modification times of the files under `paths`: cheap to read on every build."""
    state = []
    for root in paths:
        if root.is_file():
            state.append((str(root), root.stat().st_mtime_ns))
        elif root.is_dir():
            state.extend((str(p), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file())
    return state


class Stamps:
    """Fingerprints of the last successful dirty build, and of the one in progress."""

    def __init__(self, site_dir: Path) -> None:
        self.path = site_dir / STAMPS_FILE
        try:
            self.previous: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            self.previous = {}
        self.current: dict[str, str] = {}

    def record(self, key: str, fingerprint: str) -> None:
        self.current[key] = fingerprint

    def changed(self, key: str) -> bool:
        return self.previous.get(key) != self.current.get(key)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.current, sort_keys=True), encoding="utf-8")


class FingerprintedFile(File):
    """A generated file that counts as modified only when its fingerprint changed."""

    stamps: Stamps | None = None
    make_content: Callable[[], str] | None = None  # called only if the file is written
    # Where MkDocs' writing of the file waits (with its `dirty` flag) to be done after the pages:
    # see `GeneratedPages.write_postponed`.
    postponed: list[tuple[FingerprintedFile, bool]] | None = None

    def is_modified(self) -> bool:
        if self.stamps is None:
            return True
        return self.stamps.changed(self.src_uri) or not os.path.isfile(self.abs_dest_path)

    def copy_file(self, dirty: bool = False) -> None:
        if self.postponed is not None:
            self.postponed.append((self, dirty))
            self.postponed = None
            return
        if self.make_content is not None and (not dirty or self.is_modified()):
            self.content_string, self.make_content = self.make_content(), None
        super().copy_file(dirty)


def force_rebuild(files: Iterable[File]) -> None:
    """Make MkDocs rebuild ordinary pages in a dirty build by removing their last output."""
    for file in files:
        if not isinstance(file, FingerprintedFile) and os.path.isfile(file.abs_dest_path):
            os.remove(file.abs_dest_path)


class GeneratedPages:
    """Adds generated pages to a build without doing work the build will not use: a page is
    rendered only if a dirty rebuild will write it and the cache does not already hold it."""

    def __init__(self, config: MkDocsConfig, files: Files, site: str, stamps: Stamps | None,
                 cache: DiskCache) -> None:
        self.config, self.files, self.site, self.stamps, self.cache = config, files, site, stamps, cache
        self.postponed: list[tuple[FingerprintedFile, bool]] = []

    def add(self, uri: str, inputs: tuple[object, ...], render_page: Callable[..., str], *args: object,
            inclusion: InclusionLevel = InclusionLevel.UNDEFINED) -> FingerprintedFile:
        """Add the page at `uri`, made by `render_page(*args)` from `inputs` and the site."""
        fingerprint = digest(self.site, *inputs)
        if self.stamps:
            self.stamps.record(uri, fingerprint)
        content = self._content(uri, fingerprint, lambda: render_page(*args))
        page = FingerprintedFile.generated(self.config, uri, content=content, inclusion=inclusion)
        assert isinstance(page, FingerprintedFile)  # File.generated builds the class it is called on
        page.stamps = self.stamps
        self.files.append(page)
        return page

    def add_file(self, uri: str, inputs: tuple[object, ...], content: str | Callable[[], str],
                 after_pages: bool = False) -> FingerprintedFile:
        """Add a generated file that is not a page (data a page fetches), made from `inputs` (its
        content, or a function making it when MkDocs writes it, after reading every page): a dirty
        rebuild writes it only when they changed. A file `after_pages` is written only at
        `write_postponed`, so that making it cannot hold up the pages."""
        file = FingerprintedFile.generated(self.config, uri, content="")
        assert isinstance(file, FingerprintedFile)
        if self.stamps:
            self.stamps.record(uri, digest(*inputs))
        file.stamps = self.stamps
        if after_pages:
            file.postponed = self.postponed
        if isinstance(content, str):
            file.content_string = content
        else:
            file.make_content = content
        self.files.append(file)
        return file

    def write_postponed(self) -> None:
        """Write the files added `after_pages` that MkDocs has asked to write."""
        postponed, self.postponed[:] = list(self.postponed), []
        for file, dirty in postponed:
            file.copy_file(dirty)

    def _content(self, uri: str, fingerprint: str, render_page: Callable[[], str]) -> str:
        if self.stamps is not None and not self.stamps.changed(uri):
            return ""  # a dirty rebuild will not write this page
        key = f"page\0{uri}\0{fingerprint}"
        markdown = self.cache.get(key)
        if markdown is None:
            markdown = render_page()
            self.cache.put(key, markdown)
        return markdown

    def finish(self) -> None:
        """After all pages are added: if what every page shows changed, rebuild every page;
        otherwise the theme's own pages (404, sitemap), which show only that, stay as they are."""
        if not self.stamps:
            return
        self.stamps.record(SITE_KEY, self.site)
        if self.stamps.changed(SITE_KEY):
            force_rebuild(self.files.documentation_pages())
        else:
            site_dir = Path(self.config.site_dir)
            self.config.theme.static_templates = {
                name for name in self.config.theme.static_templates if not (site_dir / name).is_file()}


class DirtyWarningFilter(logging.Filter):
    """Drops exactly MkDocs' warning that a dirty build may leave navigation and links stale:
    with these hooks a dirty rebuild gives the same site as a clean build, so under
    `mkdocs serve --dirty` it only alarms. Every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and record.getMessage().startswith(DIRTY_WARNING))


def quiet_dirty_warning() -> None:
    """Install the filter on the logger MkDocs warns on, once per process."""
    logger = logging.getLogger("mkdocs.commands.build")
    if not any(isinstance(existing, DirtyWarningFilter) for existing in logger.filters):
        logger.addFilter(DirtyWarningFilter())
