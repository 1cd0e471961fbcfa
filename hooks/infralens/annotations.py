"""Numbered notes linked to their code lines, written into the finished HTML of a page.

A lab excerpt is a highlighted code block (`<div id="excerpt-NAME" class="... highlight">`)
followed by an ordered list, its notes. A code line whose comment ends in `(N)` is marked for
note N. This module turns that marker into a small numbered link to the note, gives each note an
id and a link back to its line, and wraps code and notes in one box, so the stylesheet can put
the notes beside the code on wide screens and after it on narrow ones. Plain HTML: it works
without scripts, and nothing needs measuring in the browser to show a note.

Only the marker's rendering changes: the rest of the line keeps the file's characters, and the
marker keeps its source text `# (N)` in hidden spans, so the line's text and a copied line
still equal the starter's line.
"""

from __future__ import annotations

import re

from .paths import OUTPUT_BLOCK, line_anchor

# What pymdownx.highlight writes for an excerpt, up to the end of its code; then its notes.
_EXCERPT = re.compile(
    r'<div id="(?P<block>excerpt-[A-Za-z0-9_-]+)" class="(?:[^"]* )?highlight(?: [^"]*)?">'
    r"(?P<code>.*?</code></pre>)</div>(?P<gap>\s*)(?P<notes><ol>.*?</ol>)?", re.S)
# One numbered line (`line_spans`): everything up to the next line or the end of the code.
_LINE = re.compile(r'<span id="__span-(?P<block>[A-Za-z0-9_-]+)-(?P<number>\d+)">(?P<body>.*?)</span>'
                   r"(?=<span id=\"__span-|</code>)", re.S)
# A Pygments comment that ends the line (before the line's own newline) and ends in "(N)".
_MARKER_COMMENT = re.compile(
    r'<span class="c1">(?P<before>#[^<]*?)\((?P<number>\d+)\)(?P<after>[ \t]*)</span>(?P<end>\n?)$')
_NOTE = re.compile(r"<li>(?P<body>.*?)</li>", re.S)
# pymdownx.highlight's `anchor_linenums` makes each line number a link to itself: rows of tiny
# adjacent targets that only lead where the reader already is. The line's anchor stays.
_NUMBER_LINK = re.compile(r'<a href="#__codelineno-[^"]+">(<span class="linenos"[^>]*></span>)</a>')
_EMPTY_LINE_LINK = re.compile(r'(<a id="__codelineno-[^"]+" name="__codelineno-[^"]+") href="#__codelineno-[^"]+">')


def note_id(block: str, number: int) -> str:
    return f"{block}-note-{number}"


def annotate_page(html: str) -> str:
    """Link every excerpt's markers and notes both ways, and drop self-links on line numbers."""
    if "__codelineno-" in html:
        html = _EMPTY_LINE_LINK.sub(r"\1>", _NUMBER_LINK.sub(r"\1", html))
    if 'id="excerpt-' not in html:
        return html
    return _EXCERPT.sub(_annotate_excerpt, html)


def _annotate_excerpt(match: re.Match[str]) -> str:
    block, notes = match["block"], match["notes"]
    head = match.group(0)[:match.start("code") - match.start()]
    if not notes:
        return match.group(0)
    lines: dict[int, int] = {}  # note number -> line number

    def mark_line(line: re.Match[str]) -> str:
        body, number = line["body"], int(line["number"])
        comment = _MARKER_COMMENT.search(body)
        if not comment or line["block"] != block:
            return line.group(0)
        lines.setdefault(int(comment["number"]), number)
        code = body[:comment.start()]
        gap = ""
        if comment["before"].strip() == "#":  # the marker alone: keep it on the row of the code it marks
            code, gap = code.rstrip(" "), code[len(code.rstrip(" ")):]
        rewritten = code + marker_html(block, comment, gap) + comment["end"]
        return f'<span id="__span-{line["block"]}-{number}">{rewritten}</span>'

    code = _LINE.sub(mark_line, match["code"])
    return (f'<div class="il-annotated">{head}{code}</div>{match["gap"]}'
            f"{notes_html(block, notes, lines)}</div>")


def marker_html(block: str, comment: re.Match[str], gap: str = "") -> str:
    """The comment with its `(N)` as a link; a comment that is only the marker shows no `#`.
    `gap`, the spaces before a lone marker, goes inside an unbreakable span with it: a wrapped
    line breaks at an earlier space, and the marker never starts a row of its own."""
    number, before = int(comment["number"]), comment["before"]
    only_marker = before.strip() == "#"
    shown, hidden = ("", before) if only_marker else (before, "")
    opening = f'<span class="c1 il-marker-end">{gap}' if gap else '<span class="c1">'
    # No id on the link: Material hides every `a[id]` in code (its own line anchors).
    return (f'{opening}{shown}<a class="il-marker" href="#{note_id(block, number)}" '
            f'aria-label="Note {number}">'
            f'<span class="il-marker__source">{hidden}(</span><span class="il-marker__number">{number}</span>'
            f'<span class="il-marker__source">){comment["after"]}</span></a></span>')


def notes_html(block: str, notes: str, lines: dict[int, int]) -> str:
    """The notes list with ids, each note naming and linking the line it explains."""
    count = 0

    def note(item: re.Match[str]) -> str:
        nonlocal count
        count += 1
        line = lines.get(count)
        if line is None:
            return f'<li id="{note_id(block, count)}" tabindex="-1">{item["body"]}</li>'
        back = (f' <a class="il-note__line" href="#{line_anchor(block, line)}" data-il-block="{block}" '
                f'data-il-start="{line}" data-il-end="{line}">line&nbsp;{line}</a>')
        return (f'<li id="{note_id(block, count)}" data-il-line="{line}" tabindex="-1">'
                f'{item["body"]}{back}</li>')

    items = _NOTE.sub(note, notes.removeprefix("<ol>"))
    return f'<ol class="il-notes">{items}'


_OUTPUT_BLOCK = re.compile(f'<div id="{OUTPUT_BLOCK}" class="')


def keep_output_out_of_search(html: str) -> str:
    """Leave a lab page's recorded output out of the search index. Its tables of numbers were 6%
    of the index's text, matched searches for a number with pages about something else, and gave
    lunr many one-off terms to index in every reader's browser on every page load. (The excerpts'
    code stays: search finds a lab by a word only its excerpt has.)"""
    return _OUTPUT_BLOCK.sub(f'<div data-search-exclude id="{OUTPUT_BLOCK}" class="', html, count=1)


_CODE_BLOCK = re.compile(r'(<div(?: [\w-]+(?:="[^"]*")?)*? class="language-[\w-]+ highlight")(.*?</code></pre>)', re.S)


_LINE_START = 'id="__span-'


def size_hints(html: str) -> str:
    """Give each code block its number of lines (`--il-lines`): the stylesheet lays out a long
    page's code blocks only as they near the window, and sizes the rest from this meanwhile, so
    the page's height (and the scroll bar) hardly moves as they are laid out."""
    def hinted(match: re.Match[str]) -> str:
        lines = match[2].count(_LINE_START)
        return f'{match[1]} style="--il-lines: {lines}"{match[2]}'

    return _CODE_BLOCK.sub(hinted, html)
