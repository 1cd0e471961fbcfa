"""The replacements of other packages' internals: installed once, put back whole, and left out
(with one INFO line) outside the versions they were written for or when switched off."""

from __future__ import annotations

import logging
from pathlib import Path

import pymdownx.highlight
import pytest
from infralens import highlight_cache, search_cache, speedups
from infralens.cache import DiskCache
from material.plugins.search.plugin import SearchIndex


def test_installing_twice_never_wraps_twice_and_uninstall_restores(tmp_path: Path):
    patches = highlight_cache.patches() + search_cache.patches() + search_cache.merge_patches()
    originals = [getattr(patch.owner, patch.name) for patch in patches]
    speedups.install(patches, DiskCache(tmp_path / "a"))
    speedups.install(patches, DiskCache(tmp_path / "b"))  # a build that failed before uninstalling
    try:
        for patch, original in zip(patches, originals, strict=True):
            replacement = getattr(patch.owner, patch.name)
            assert replacement is not original and replacement.__infralens_original__ is original
    finally:
        speedups.uninstall(patches)
    assert [getattr(patch.owner, patch.name) for patch in patches] == originals


@pytest.mark.parametrize(("written_for", "installed", "refused"), [
    (">=9.5,<10", "9.8.2", False),
    (">=9.5,<10", "10.0.0", True),
    (">=9.5,<10", "9.4.14", True),
    (">=10.0,<14", "13.1.2", False),
    (">=10.0,<14", "not a version", True),
    (">=10.0,<14", None, True),
])
def test_a_replacement_fits_only_the_versions_it_was_written_for(written_for, installed, refused):
    replacement = speedups.Replacement("x", True, "some-package", written_for, list)
    reason = replacement.refusal(installed)
    assert (reason is not None) == refused
    if reason is not None:
        assert ("some-package" in reason and written_for in reason) if installed else "not installed" in reason


OPTIONS = {"highlight_cache": True, "search_cache": True}


def test_outside_its_versions_a_speedup_says_so_once_and_takes_the_plain_path(tmp_path, monkeypatch, caplog):
    versions = {"pymdown-extensions": "99.0", "mkdocs-material": "9.8.2"}
    monkeypatch.setattr(speedups, "installed_version", versions.get)
    plain_highlight, plain_add = pymdownx.highlight.highlight, SearchIndex.add_entry_from_context
    told: set[str] = set()
    with caplog.at_level(logging.INFO, logger="mkdocs.plugins.infralens"):
        for _rebuild in range(2):
            installed = speedups.install_replacements(OPTIONS, DiskCache(tmp_path), told)
            try:
                assert pymdownx.highlight.highlight is plain_highlight
                assert SearchIndex.add_entry_from_context is not plain_add
            finally:
                speedups.uninstall(installed)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["highlight_cache is off: it was written for pymdown-extensions >=10.0,<14 and this is 99.0. "
                     "The build takes the plain path."]


def test_a_switched_off_speedup_is_not_installed_and_the_fix_still_is(tmp_path):
    plain_highlight, plain_add = pymdownx.highlight.highlight, SearchIndex.add_entry_from_context
    plain_merge = SearchIndex.generate_search_index
    installed = speedups.install_replacements({"highlight_cache": False, "search_cache": False},
                                              DiskCache(tmp_path), set())
    try:
        assert pymdownx.highlight.highlight is plain_highlight
        assert SearchIndex.add_entry_from_context is plain_add
        assert SearchIndex.generate_search_index is not plain_merge, "the dirty merge is a fix, not a switch"
    finally:
        speedups.uninstall(installed)
