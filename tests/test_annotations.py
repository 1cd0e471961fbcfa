"""Excerpt markers and notes linked both ways, on HTML from the site's own Markdown settings."""

from __future__ import annotations

import html
from copy import deepcopy
from typing import Any

import markdown
import pytest
from bs4 import BeautifulSoup
from infralens.annotations import annotate_page, keep_output_out_of_search

HIGHLIGHT = {"anchor_linenums": True, "line_spans": "__span", "pygments_lang_class": True,
             "linenums_style": "pymdownx-inline"}
LINES = [
    "betas = np.linspace(1e-4, 0.02, T)  # (1)",
    "alphas = 1.0 - betas",
    'label = "# (9) is text, not a marker"',
    "x = a < b  # compare, then keep (2)",
]
NOTES = ["Noise variances.", "A comparison with `<`."]


def page(lines: list[str], notes: list[str], block: str = "excerpt-forward", first: int = 41) -> str:
    """A lab excerpt as the lab template writes it, through Python-Markdown and pymdownx."""
    fence = "\n".join([f'``` {{ .python #{block} linenums="{first}" title="f.py" }}', *lines, "```"])
    items = "\n".join(f"{number}. {text}" for number, text in enumerate(notes, 1))
    md = markdown.Markdown(extensions=["attr_list", "pymdownx.highlight", "pymdownx.superfences"],
                           extension_configs={"pymdownx.highlight": HIGHLIGHT})
    return md.convert(f"{fence}\n\n{items}\n" if notes else fence)


def line_texts(soup: BeautifulSoup, block: str) -> dict[int, str]:
    return {int(str(span["id"]).rsplit("-", 1)[1]): span.get_text().rstrip("\n")
            for span in soup.select(f"#{block} code > span[id^=__span-]")}


def visible_text(element) -> str:
    """Text a reader sees: the marker's hidden source characters left out."""
    copy = deepcopy(element)
    for hidden in copy.select(".il-marker__source"):
        hidden.decompose()
    return copy.get_text()


@pytest.fixture
def soup() -> BeautifulSoup:
    return BeautifulSoup(annotate_page(page(LINES, NOTES)), "html.parser")


def test_each_marker_links_to_its_note_and_the_note_back_to_its_line(soup):
    markers = soup.select("#excerpt-forward a.il-marker")
    assert [m["href"] for m in markers] == ["#excerpt-forward-note-1", "#excerpt-forward-note-2"]
    assert [m["aria-label"] for m in markers] == ["Note 1", "Note 2"]
    for marker, line in zip(markers, (41, 44), strict=False):
        note = soup.find(id=marker["href"][1:])
        back = note.select_one("a.il-note__line")
        assert back["href"] == f"#__codelineno-excerpt-forward-{line}"
        assert soup.find(id=back["href"][1:]), "the line's anchor exists"
        assert (back["data-il-block"], back["data-il-start"], back["data-il-end"]) == ("excerpt-forward", str(line),
                                                                                        str(line))
        assert note["data-il-line"] == str(line)
        assert marker.find_parent("span", id=f"__span-excerpt-forward-{line}")


def test_lines_keep_the_files_text_and_no_hash_is_shown_before_a_marker(soup):
    texts = line_texts(soup, "excerpt-forward")
    assert texts == {41 + index: line for index, line in enumerate(LINES)}
    first = soup.find(id="__span-excerpt-forward-41")
    assert visible_text(first).rstrip("\n") == "betas = np.linspace(1e-4, 0.02, T)  1"
    fourth = soup.find(id="__span-excerpt-forward-44")
    assert visible_text(fourth).rstrip("\n") == "x = a < b  # compare, then keep 2", "other comment text stays"


def test_text_that_only_looks_like_a_marker_is_left_alone(soup):
    string_line = soup.find(id="__span-excerpt-forward-43")
    assert not string_line.select("a.il-marker")
    assert string_line.get_text().rstrip("\n") == html.unescape(LINES[2])


def test_code_and_notes_share_one_box_with_the_notes_right_after_the_code(soup):
    box = soup.select_one("div.il-annotated")
    assert [child.name for child in box.find_all(recursive=False)] == ["div", "ol"]
    notes = box.select("ol.il-notes > li")
    assert [note["id"] for note in notes] == ["excerpt-forward-note-1", "excerpt-forward-note-2"]
    assert notes[1].code.get_text() == "<", "note text keeps its inline markup"
    assert all(note["tabindex"] == "-1" for note in notes), "a note can take focus when its marker is followed"


def test_line_numbers_are_not_links_but_every_line_keeps_its_anchor(soup):
    code = soup.select_one("#excerpt-forward code")
    assert not code.select("a[href^='#__codelineno-']")
    anchors = [a["id"] for a in code.select("a[id^=__codelineno-]")]
    assert anchors == [f"__codelineno-excerpt-forward-{n}" for n in range(41, 45)]
    assert [s["data-linenos"].strip() for s in code.select(".linenos")] == ["41", "42", "43", "44"]


def test_blocks_that_are_not_annotated_excerpts_are_unchanged_but_for_line_number_links():
    starter = page(LINES, [], block="starter", first=1)
    result = BeautifulSoup(annotate_page(starter), "html.parser")
    assert not result.select("a.il-marker, .il-annotated, .il-notes")
    assert line_texts(result, "starter") == {1 + index: line for index, line in enumerate(LINES)}
    bare = page(LINES, [])
    assert annotate_page(bare).count("il-marker") == 0


def test_two_excerpts_on_one_page_each_link_their_own_notes():
    both = (page(LINES[:2], NOTES[:1], block="excerpt-a") + "\n"
            + page(LINES[:2], ["Other."], block="excerpt-b", first=7))
    soup: Any = BeautifulSoup(annotate_page(both), "html.parser")  # HTML checked as the test reads it
    assert [m["href"] for m in soup.select("a.il-marker")] == ["#excerpt-a-note-1", "#excerpt-b-note-1"]
    assert soup.find(id="excerpt-b-note-1").select_one("a.il-note__line")["href"] == "#__codelineno-excerpt-b-7"
    assert len(soup.select("div.il-annotated")) == 2


def test_a_page_without_code_is_returned_as_it_is():
    text = "<p>No code here, just <code>x = 1  # (1)</code>.</p>"
    assert annotate_page(text) is text or annotate_page(text) == text


def test_a_lone_marker_wraps_with_the_code_it_marks_and_the_line_keeps_its_text(soup):
    first = soup.select_one("#excerpt-forward code > span[id$='-41']")
    end = first.select_one(".il-marker-end")
    assert end is not None and end.get_text().startswith("  "), "the spaces before the marker wrap with it"
    assert first.get_text().rstrip("\n") == LINES[0], "copying the line still gives the file's line"
    with_text = soup.select_one("#excerpt-forward code > span[id$='-44']")
    assert with_text.select_one(".il-marker-end") is None, "a comment with words wraps as text does"


def test_the_output_is_kept_out_of_search_and_nothing_else():
    page = ('<div id="excerpt-forward" class="language-python highlight">a</div>'
            '<div id="output" class="language-text highlight">b</div>'
            '<div class="language-bash highlight">c</div><div id="outputs" class="x">d</div>')
    kept = keep_output_out_of_search(page)
    assert kept == page.replace('<div id="output"', '<div data-search-exclude id="output"')


def test_each_code_block_carries_its_number_of_lines_for_its_placeholder_size():
    from infralens.annotations import size_hints

    html = ('<div id="x" class="language-python highlight"><pre><code><span id="__span-x-1">a</span>'
            '<span id="__span-x-2">b</span></code></pre></div><p>text</p>'
            '<div class="language-bash highlight"><pre><code>make serve</code></pre></div>')
    hinted = size_hints(html)
    assert '<div id="x" class="language-python highlight" style="--il-lines: 2">' in hinted
    assert '<div class="language-bash highlight" style="--il-lines: 0">' in hinted
    assert hinted.replace(' style="--il-lines: 2"', "").replace(' style="--il-lines: 0"', "") == html


def test_a_finished_page_is_kept_by_its_html_and_a_page_with_a_bad_formula_is_not(tmp_path, monkeypatch):
    from infralens import site_pages
    from infralens.cache import DiskCache
    from infralens.mathml import Formulas

    html = page(LINES, NOTES) + '<p><span class="arithmatex">\\(x_t\\)</span></p>'
    cache = DiskCache(tmp_path)
    first, ids, bad = site_pages.finished_html(html, cache, Formulas())
    assert not bad and "<math" in first and "il-notes" in first and "--il-lines" in first
    assert ids and all(f'id="{line_id}"' in first for line_id in ids), "the code lines links may target"
    monkeypatch.setattr(site_pages, "annotate_page", lambda _: pytest.fail("a kept page is not annotated again"))
    assert site_pages.finished_html(html, cache, Formulas()) == (first, ids, [])
    monkeypatch.undo()
    _, _, bad = site_pages.finished_html(html.replace("x_t", "x^"), DiskCache(tmp_path / "b"), Formulas())
    assert bad and not list((tmp_path / "b").rglob("*/*/*")), "the problem is reported on every build until fixed"
