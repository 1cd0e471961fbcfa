"""Third-party internals replaced for the length of one build.

Two are speed-ups with a switch in `mkdocs.yml` (`highlight_cache`, `search_cache`): each swaps a
function of another package for one that looks in the build's cache first and gives the same
output. One is a fix with no switch (`dirty_search_merge`): under `mkdocs serve --dirty` it merges
the search index page by page. An internal can change in any release, so each replacement names
the versions it was written for: outside them, or when its switch is off, the build takes the
plain path, saying so in one INFO line when the versions are the reason.

`install` and `uninstall` are the one place that swaps functions: the replaced function is kept
on its replacement, so installing twice (after a build that failed before it could uninstall)
never wraps a wrapper, and uninstalling always puts the original back.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from .cache import DiskCache

_ORIGINAL = "__infralens_original__"
log = logging.getLogger("mkdocs.plugins.infralens")


@dataclass(frozen=True)
class Patch:
    """`owner.name` replaced by `wrap(original, cache)`."""

    owner: Any
    name: str
    wrap: Callable[[Any, DiskCache], Any]


@dataclass(frozen=True)
class Replacement:
    name: str  # its switch in the plugin's options, for a speed-up
    switchable: bool  # a speed-up (False: a fix, on whenever its versions fit)
    package: str  # the distribution whose internal it replaces
    written_for: str  # the versions of `package` it was written and tested with
    patches: Callable[[], list[Patch]]  # imported only when the speed-up is used

    def refusal(self, installed: str | None) -> str | None:
        """Why the replacement stays out with `installed` (a version, or None if not installed)."""
        if installed is None:
            return f"{self.package} is not installed"
        try:
            fits = Version(installed) in SpecifierSet(self.written_for)
        except InvalidVersion:
            fits = False
        if fits:
            return None
        return f"it was written for {self.package} {self.written_for} and this is {installed}"


def installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def install(patches: Iterable[Patch], cache: DiskCache) -> None:
    for patch in patches:
        original = _original(getattr(patch.owner, patch.name))
        replacement = patch.wrap(original, cache)
        setattr(replacement, _ORIGINAL, original)
        setattr(patch.owner, patch.name, replacement)


def uninstall(patches: Iterable[Patch]) -> None:
    for patch in patches:
        setattr(patch.owner, patch.name, _original(getattr(patch.owner, patch.name)))


def _original(function: Any) -> Any:
    return getattr(function, _ORIGINAL, function)


def _imported(module: str, function: str) -> Callable[[], list[Patch]]:
    """The patches `module.function()` gives, its module imported only when they are used."""
    def patches() -> list[Patch]:
        return getattr(importlib.import_module(f".{module}", __package__), function)()

    return patches


REPLACEMENTS = (
    Replacement("highlight_cache", True, "pymdown-extensions", ">=10.0,<14", _imported("highlight_cache", "patches")),
    Replacement("search_cache", True, "mkdocs-material", ">=9.5,<10", _imported("search_cache", "patches")),
    Replacement("dirty_search_merge", False, "mkdocs-material", ">=9.5,<10",
                _imported("search_cache", "merge_patches")),
)


def install_replacements(options: Mapping[str, Any], cache: DiskCache, told: set[str]) -> list[Patch]:
    """Install each replacement whose switch in `options` is on and whose versions fit, and return
    the patches to uninstall at the build's end. A replacement left out for its versions is named
    in one INFO line, once for each name in `told` (a process that rebuilds says it once)."""
    installed: list[Patch] = []
    for replacement in REPLACEMENTS:
        if replacement.switchable and not options[replacement.name]:
            continue
        if reason := replacement.refusal(installed_version(replacement.package)):
            if replacement.name not in told:
                told.add(replacement.name)
                log.info(f"{replacement.name} is off: {reason}. The build takes the plain path.")
            continue
        patches = replacement.patches()
        install(patches, cache)
        installed += patches
    return installed
