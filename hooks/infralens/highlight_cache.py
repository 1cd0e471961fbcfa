"""Highlighted code from the cache: Pygments colouring the same lines with the same options
always gives the same HTML, and it was a quarter of a build (every starter page and excerpt,
each build).

pymdownx's Highlight extension calls the `highlight` function its module imported from Pygments;
the patch swaps in one that looks in the build's cache first, from a build's start to its end
(`speedups.install` and `uninstall`), so nothing outlives the build that installed it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pymdownx.highlight

from .cache import DiskCache
from .speedups import Patch

Highlight = Callable[[str, Any, Any], str]


def highlight_key(source: str, lexer: Any, formatter: Any) -> str:
    """Everything the HTML depends on: the code, the lexer and its options, the formatter and its."""
    hasher = hashlib.sha256()
    for part in (source, type(lexer).__qualname__, repr(sorted(lexer.options.items())),
                 type(formatter).__qualname__, repr(sorted((k, repr(v)) for k, v in formatter.options.items()))):
        hasher.update(part.encode())
        hasher.update(b"\0")
    return "highlight\0" + hasher.hexdigest()


def caching(highlight: Highlight, cache: DiskCache) -> Highlight:
    def cached(source: str, lexer: Any, formatter: Any) -> str:
        key = highlight_key(source, lexer, formatter)
        html = cache.get(key)
        if html is None:
            html = highlight(source, lexer, formatter)
            cache.put(key, html)
        return html

    return cached


def patches() -> list[Patch]:
    return [Patch(pymdownx.highlight, "highlight", caching)]
