"""Highlighted code comes from the cache only when code and options are the same, gives the
same HTML as Pygments, and the cache is in use only while a build runs."""

from __future__ import annotations

from pathlib import Path

import markdown
import pymdownx.highlight
from infralens import highlight_cache, speedups
from infralens.cache import DiskCache

FENCE = '```python linenums="1" hl_lines="2"\nx = 1\ny = x + 1  # (1)\n```\n'


def _html(text: str) -> str:
    return markdown.markdown(text, extensions=["pymdownx.highlight", "pymdownx.superfences"],
                             extension_configs={"pymdownx.highlight": {"anchor_linenums": True}})


def test_cached_code_is_the_html_pygments_gives(tmp_path: Path):
    plain = _html(FENCE)
    cache = DiskCache(tmp_path)
    speedups.install(highlight_cache.patches(), cache)
    try:
        first, second = _html(FENCE), _html(FENCE)
        other_options = _html(FENCE.replace('hl_lines="2"', 'hl_lines="1"'))
    finally:
        speedups.uninstall(highlight_cache.patches())
    assert first == second == plain
    assert other_options != plain, "a different highlighted line is a different entry"
    assert cache.entries() == 2


def test_a_second_build_reads_what_the_first_wrote(tmp_path: Path, monkeypatch):
    pygments_runs = []
    pygments = pymdownx.highlight.highlight

    def counted(*args: object) -> str:
        pygments_runs.append(args)
        return pygments(*args)

    monkeypatch.setattr(pymdownx.highlight, "highlight", counted)
    for _build in range(2):
        cache = DiskCache(tmp_path)
        speedups.install(highlight_cache.patches(), cache)
        try:
            _html(FENCE)
        finally:
            speedups.uninstall(highlight_cache.patches())
            cache.flush()  # as a build does when it ends
    assert len(pygments_runs) == 1
