"""Rendering: author text stays text, code stays code, navigation follows the registry."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin

import markdown
import pytest
from conftest import ROOT
from infralens.interview import practice_questions
from infralens.markdown_text import code_span, fence_for, inline
from infralens.navigation import NAV_LABS_PER_CHAPTER, expand_nav
from infralens.paths import PRACTICE_QUESTIONS, lab_uri
from infralens.project import load_project
from infralens.registry import load_registry
from mkdocs.structure.files import File


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


def nav_pages(items) -> list[str]:
    pages: list[str] = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_nav_lists_every_chapter_and_lab_once():
    registry = load_registry(ROOT)
    nav = expand_nav([{"Home": "index.md"}, {"Labs": "labs/index.md"}], registry)
    pages = nav_pages(next(entry["Labs"] for entry in nav if "Labs" in entry))
    assert len(pages) == len(set(pages))
    assert {page for page in pages if page.count("/") == 2 and "/lab-" in page} == {
        f"labs/{lab.id}/index.md" for lab in registry.labs}
    assert {f"labs/{chapter.id}/index.md" for chapter in registry.chapters} <= set(pages)
    handbook = next(entry["Handbook"] for entry in nav if "Handbook" in entry)
    assert len(handbook) == len(registry.chapters)


def test_a_large_chapter_lists_its_labs_on_its_page_not_in_the_nav():
    registry = load_registry(ROOT)
    template = registry.labs[0]
    many = tuple(replace(template, id=f"lab-{n}", number=n) for n in range(1, NAV_LABS_PER_CHAPTER + 2))
    big = replace(registry, labs=many)
    pages = nav_pages(next(entry["Labs"] for entry in expand_nav([], big) if "Labs" in entry))
    assert f"labs/{template.chapter}/index.md" in pages
    assert not any("/lab-" in page for page in pages)


def test_search_partial_override_only_names_the_dialog():
    import material

    stock = (Path(material.__file__).parent / "templates" / "partials" / "search.html").read_text(encoding="utf-8")
    ours = (ROOT / "overrides" / "partials" / "search.html").read_text(encoding="utf-8")
    def without_comments(text: str) -> str:
        return re.sub(r"\{#.*?#\}\n?", "", text, flags=re.S)

    assert 'role="dialog" aria-label=' in ours
    assert without_comments(ours).replace(' aria-label="{{ lang.t(\'search\') }}"', "", 1) == without_comments(stock)


@pytest.mark.parametrize("directory_urls", [True, False], ids=["directory URLs", "file URLs"])
def test_practice_links_lead_to_the_url_mkdocs_gives_each_lab_page(directory_urls: bool):
    """Nothing converts links inside the practice data, so they must match MkDocs' own URLs."""
    project = load_project(ROOT)
    questions = json.loads(practice_questions(project.registry, project.starters, directory_urls=directory_urls))
    data_url = "https://example.org/site/" + PRACTICE_QUESTIONS
    for question in questions:
        lab_page = File(lab_uri(project.registry.lab(question["lab"])), "docs", "site", directory_urls)
        assert urljoin(data_url, question["href"]) == f"https://example.org/site/{lab_page.url}#what-to-notice"
