"""Search entries from the cache: Material's search plugin splits each page's finished HTML into
sections with Python's HTML parser, about a quarter of a warm build (a lab's highlighted code is
thousands of tags). A page with the same HTML, address, title, metadata and table of contents
gives the same entries.

The patch swaps the plugin's `SearchIndex.add_entry_from_context` for one that looks in the
build's cache first, from a build's start to its end (`speedups.install` and `uninstall`), so
nothing outlives the build that installed it (the same arrangement as `highlight_cache`).

A second patch, a fix rather than a speed-up, mends the plugin's merge under `mkdocs serve
--dirty`, which drops the previous entries of the first page rebuilt only: a save that rebuilds
two pages (a starter whose figure a handbook page shows) left the second page's old entries beside
its new ones. The merge here drops the old entries of every page the build indexed.

A page that is not in the cache is parsed with fewer tags that give the same entries
(`with_fewer_tags`): most of a lab page's tags are Pygments' spans around each token of its
excerpts and the MathML of its formulas, and parsing it takes half the time without them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from material.plugins.search.plugin import SearchIndex

from .cache import DiskCache
from .speedups import Patch

AddEntries = Callable[[SearchIndex, Any], None]

_CODE_BLOCK = re.compile(r"<pre\b[^>]*>.*?</pre>", re.DOTALL)
_INLINE_TAG = re.compile(r"</?(?:span|a)\b[^>]*>")
_FORMULA = re.compile(r"<math\b[^>]*>.*?</math>", re.DOTALL)
_TAGS = re.compile(r"(?:<[^>]*>)+")
# Tags the plugin treats specially: a code block or formula with one of them is parsed whole.
_SPECIAL = re.compile(r"data-search-exclude|linenodiv|<(?:script|style|object|h[1-6]|p|li|ol|ul|sub|sup)\b")


def entries_key(page: Any) -> str:
    """Everything the plugin reads from a page to index it."""
    def headings(items: Any) -> list[Any]:
        return [[item.id, item.title, item.url, headings(item.children)] for item in items]

    shown = [page.url, str(page.title), page.content, repr(sorted(page.meta.items())), headings(page.toc)]
    return "search\0" + hashlib.sha256(json.dumps(shown).encode()).hexdigest()


def caching(add_entries: AddEntries, cache: DiskCache) -> AddEntries:
    def cached(index: SearchIndex, page: Any) -> None:
        key = entries_key(page)
        entries = cache.get(key)
        if entries is None:
            before = len(index.entries)
            add_entries(index, _WithContent(page, with_fewer_tags(page.content)))
            cache.put(key, index.entries[before:])
        else:
            index.entries.extend(entries)  # unpickled afresh by each `get`: shared with nothing

    return cached


def with_fewer_tags(html: str) -> str:
    """`html` with fewer tags, which the plugin reads to the same entries:
    - inside code blocks, no `<span>` or `<a>`: inside `<pre>` the plugin keeps every piece of
      text as it is and drops those tags;
    - inside formulas, one `<br>` for each run of MathML tags: the plugin drops MathML tags, and
      one tag keeps each piece of text a piece of its own (it collapses a piece that is only
      spaces, such as MathML's thin spaces, against the one before)."""
    def lean_code(block: re.Match[str]) -> str:
        code = block.group(0)
        return code if _SPECIAL.search(code) else _INLINE_TAG.sub("", code)

    def lean_formula(formula: re.Match[str]) -> str:
        math = formula.group(0)
        return math if _SPECIAL.search(math) else _TAGS.sub("<br>", math)

    return _FORMULA.sub(lean_formula, _CODE_BLOCK.sub(lean_code, html))


class _WithContent:
    """`page` as the plugin reads it, with other HTML as its content."""

    def __init__(self, page: Any, content: str) -> None:
        self._page, self.content = page, content

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


def _page_of(entry: dict[str, Any]) -> str:
    return str(entry["location"]).split("#", 1)[0]


Generate = Callable[[SearchIndex, Any], str]


def merging(generate: Generate, cache: DiskCache | None = None) -> Generate:
    """The plugin's index writer, merging a dirty build's entries page by page: the pages this
    build indexed are those its entries are on (every page has one, for its title)."""
    def merged(index: SearchIndex, prev: Any) -> str:
        if prev is not None and index.entries:
            rebuilt = {_page_of(entry) for entry in index.entries}
            kept = [entry for entry in prev.entries if _page_of(entry) not in rebuilt]
            index.entries = kept + index.entries
            prev = None  # merged: the plugin's own merge would drop one page only
        return generate(index, prev)

    return merged


def patches() -> list[Patch]:
    return [Patch(SearchIndex, "add_entry_from_context", caching)]


def merge_patches() -> list[Patch]:
    return [Patch(SearchIndex, "generate_search_index", merging)]
