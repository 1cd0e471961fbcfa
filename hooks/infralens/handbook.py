"""Handbook pages: read them once, find heading anchors and place "Labs for this section" under them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from markdown.extensions.toc import slugify as default_slugify
from markdown.extensions.toc import unique

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<title>.*?)\s*#*\s*$")
_ATTR_ID = re.compile(r"\s*\{[^}]*#(?P<id>[A-Za-z0-9_-]+)[^}]*\}\s*$")


@dataclass(frozen=True)
class DocsPages:
    """The Markdown pages an author wrote, read once per build for every check that needs them."""

    folder: str = "docs"  # the docs folder's name, as problems name its files
    texts: dict[str, str] = field(default_factory=dict)  # docs-relative path -> text

    @classmethod
    def read(cls, docs_dir: Path) -> DocsPages:
        return cls(docs_dir.name, {page.relative_to(docs_dir).as_posix(): page.read_text(encoding="utf-8")
                                   for page in sorted(docs_dir.rglob("*.md"))})

    def name(self, uri: str) -> str:
        """The page as a problem names it: `docs/handbook/networks.md`."""
        return f"{self.folder}/{uri}"


@dataclass(frozen=True)
class Heading:
    line: int  # 0-based index into the page's lines
    level: int
    title: str
    anchor: str


def headings(markdown: str, slugify: Callable[[str, str], str] = default_slugify) -> list[Heading]:
    """ATX headings outside code fences, with the ids the `toc` extension will give them."""
    found: list[Heading] = []
    used: set[str] = set()
    for number, line in outside_fences(markdown):
        match = _HEADING.match(line)
        if not match:
            continue
        title = match["title"]
        explicit = _ATTR_ID.search(title)
        if explicit:
            anchor, title = explicit["id"], title[: explicit.start()]
        else:
            anchor = unique(slugify(_plain(title), "-"), used)
        used.add(anchor)
        found.append(Heading(number - 1, len(match["level"]), title.strip(), anchor))
    return found


# A line that places a lab's figure in a handbook page, by reference: [[figure lab-id/figure-name]]
FIGURE_REFERENCE = re.compile(r"^\[\[figure (?P<lab>[a-z0-9-]+)/(?P<figure>[a-z0-9-]+)\]\]\s*$")


@dataclass(frozen=True)
class FigureReference:
    line: int  # 1-based
    lab: str
    figure: str


def outside_fences(markdown: str) -> Iterator[tuple[int, str]]:
    """Each line of a page outside its code fences, with its (1-based) number."""
    fence: str | None = None
    for number, line in enumerate(markdown.split("\n"), 1):
        opening = _FENCE.match(line)
        if fence or opening:
            if fence is None and opening:
                fence = opening.group(1)
            elif opening and fence and opening.group(1).startswith(fence):
                fence = None
            continue
        yield number, line


def figure_references(markdown: str) -> list[FigureReference]:
    """The figure references of a page, outside code fences."""
    return [FigureReference(number, match["lab"], match["figure"]) for number, line in outside_fences(markdown)
            if (match := FIGURE_REFERENCE.match(line))]


def place_figures(markdown: str, html_of: Callable[[FigureReference], str]) -> str:
    """Replace each figure reference line with the figure's HTML (a raw HTML block)."""
    lines = markdown.split("\n")
    for reference in figure_references(markdown):
        lines[reference.line - 1] = "\n" + html_of(reference) + "\n"
    return "\n".join(lines)


def first_sentence(markdown: str) -> str:
    """The first sentence of a page's first paragraph: what the page is about, for a summary."""
    paragraph: list[str] = []
    for line in markdown.split("\n"):
        text = line.strip()
        if not text:
            if paragraph:
                break
            continue
        if text.startswith(("#", "!!!", "???", "<", "|", "- ", "```", "$$", "[[")):
            if paragraph:
                break
            continue
        paragraph.append(text)
    joined = " ".join(paragraph)
    end = re.search(r"(?<=[.!?])\s", joined)
    return joined[: end.start()] if end else joined


def _plain(title: str) -> str:
    return re.sub(r"[`*_]", "", title)


def insert_after_headings(markdown: str, blocks: dict[str, str], top: str | None = None) -> str:
    """Insert `blocks[anchor]` after the heading with that anchor, and `top` after the page title."""
    lines = markdown.split("\n")
    found = headings(markdown)
    inserts: dict[int, list[str]] = {}
    for heading in found:
        if heading.anchor in blocks:
            inserts.setdefault(heading.line, []).append(blocks[heading.anchor])
    if top:
        first = next((h.line for h in found if h.level == 1), -1)
        inserts.setdefault(first, []).append(top)
    out = inserts.get(-1, [])[:]
    for index, line in enumerate(lines):
        out.append(line)
        out.extend(inserts.get(index, []))
    return "\n".join(out)
