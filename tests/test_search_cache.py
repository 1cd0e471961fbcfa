"""A page's search entries come from the cache only when everything the search plugin reads of
the page is the same, they are the plugin's own entries, and the cache is in use only while a
build runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from infralens import search_cache
from infralens.cache import DiskCache
from material.plugins.search.plugin import SearchIndex
from mkdocs.structure.toc import AnchorLink

CONTENT = ('<h1 id="lab">Lab</h1><p>Intro</p><h2 id="goal">Goal</h2><p>Read the <code>q_sample</code> '
           'line.</p><div data-search-exclude><p>printed numbers</p></div>')


def page(content: str = CONTENT, meta: dict | None = None) -> SimpleNamespace:
    lab = AnchorLink("Lab", "lab", 1)
    lab.children = [AnchorLink("Goal", "goal", 2)]
    return SimpleNamespace(url="labs/x/", title="Lab", content=content, meta=meta or {}, toc=[lab])


def entries(*pages: SimpleNamespace) -> list[dict[str, str]]:
    index = SearchIndex()
    for each in pages:
        index.add_entry_from_context(each)
    return index.entries


def test_cached_entries_are_the_plugins_own(tmp_path: Path):
    plain = entries(page())
    search_cache.install(DiskCache(tmp_path))
    try:
        first, second = entries(page()), entries(page())
        other_text = entries(page(CONTENT.replace("Intro", "Introduction")))
        boosted = entries(page(meta={"search": {"boost": 2}}))
    finally:
        search_cache.uninstall()
    assert first == second == plain and len(plain) == 2
    assert "printed numbers" not in str(plain)
    assert plain not in (other_text, boosted), "a page that reads differently is another entry"


def test_a_second_build_reads_what_the_first_wrote(tmp_path: Path, monkeypatch):
    parsed = []
    add = SearchIndex.add_entry_from_context

    def counted(index: SearchIndex, each: SimpleNamespace) -> None:
        parsed.append(each.url)
        add(index, each)

    monkeypatch.setattr(SearchIndex, "add_entry_from_context", counted)
    built = []
    for _build in range(2):
        search_cache.install(DiskCache(tmp_path))
        try:
            built.append(entries(page()))
        finally:
            search_cache.uninstall()
    assert parsed == ["labs/x/"] and built[0] == built[1]


def test_installing_twice_never_wraps_twice_and_uninstall_restores(tmp_path: Path):
    original = SearchIndex.add_entry_from_context
    search_cache.install(DiskCache(tmp_path / "a"))
    search_cache.install(DiskCache(tmp_path / "b"))
    assert SearchIndex.add_entry_from_context.uncached is original
    search_cache.uninstall()
    assert SearchIndex.add_entry_from_context is original
