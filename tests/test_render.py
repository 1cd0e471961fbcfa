"""Rendering: author text stays text, code stays code, navigation follows the registry."""

from __future__ import annotations

import markdown

from conftest import ROOT
from infralens.markdown_text import code_span, fence_for, inline
from infralens.navigation import expand_nav
from infralens.registry import load_registry


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=["attr_list"])


def test_html_and_links_in_author_text_are_shown_as_text():
    html = to_html(inline('<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))'))
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "&lt;script&gt;" in html


def test_code_spans_in_author_text_render_as_code():
    assert "<code>alpha_bar[t]</code>" in to_html(inline("use `alpha_bar[t]` here"))


def test_emphasis_and_list_markers_stay_literal():
    html = to_html(inline("1. **not bold** _x_"))
    assert "<ol>" not in html and "<strong>" not in html and "<em>" not in html


def test_fences_outlast_backticks_in_the_content():
    assert fence_for(["a = '```'"]) == "````"
    assert to_html(code_span("a`b")) == "<p><code>a`b</code></p>"


def test_nav_lists_every_chapter_and_lab_once():
    registry = load_registry(ROOT)
    nav = expand_nav([{"Home": "index.md"}, {"Labs": "labs/index.md"}], registry)
    labs_section = next(entry["Labs"] for entry in nav if "Labs" in entry)
    pages = [page for chapter in labs_section[2:] for item in next(iter(chapter.values()))
             for page in item.values()]
    assert sorted(pages) == sorted(f"labs/{lab.id}/index.md" for lab in registry.labs)
    handbook = next(entry["Handbook"] for entry in nav if "Handbook" in entry)
    assert len(handbook) == len(registry.chapters)
