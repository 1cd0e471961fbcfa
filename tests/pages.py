"""Reading a built site the way a browser would: pages, links and the elements learners see."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup

BASE = "http://site.test/"


def page_path(site: Path, url_path: str) -> Path:
    """The file a server would send for a site-relative URL path."""
    path = site / unquote(url_path).lstrip("/")
    return path / "index.html" if url_path.endswith("/") or path.is_dir() else path


def soup(site: Path, url_path: str) -> Any:
    """The parsed page. Typed as Any on purpose: tests navigate HTML whose shape they assert as
    they go, and an element that is missing fails the test where it is used."""
    return BeautifulSoup(page_path(site, url_path).read_text(encoding="utf-8"), "html.parser")


def resolve(site: Path, from_url_path: str, href: str) -> tuple[str, str]:
    """The site path and fragment a link leads to, asserting the target exists."""
    target = urlsplit(urljoin(BASE + from_url_path.lstrip("/"), href))
    assert target.netloc == urlsplit(BASE).netloc, f"{href} leaves the site"
    path = page_path(site, target.path)
    assert path.is_file(), f"{href} from {from_url_path} leads to missing {path}"
    if target.fragment:
        assert target.fragment in anchors(path), f"{href} names a missing anchor"
    return target.path, target.fragment


@functools.cache
def anchors(page: Path) -> frozenset[str]:
    """Every id on a built page, parsed once per test run: many links lead to the same pages.
    (A test that rebuilds a site writes it under a new temporary path.)"""
    html = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return frozenset(str(element["id"]) for element in html.find_all(id=True))


def article(page: BeautifulSoup):
    return page.find("article")


def section(page: BeautifulSoup, heading_id: str) -> list:
    """The elements between the h2 with `heading_id` and the next h2."""
    heading = page.find("h2", id=heading_id)
    assert heading is not None, f"no section #{heading_id}"
    elements = []
    for sibling in heading.find_next_siblings():
        if sibling.name == "h2":
            break
        elements.append(sibling)
    return elements


def text_of(elements: list) -> str:
    return " ".join(element.get_text(" ", strip=True) for element in elements)


def numbered_lines(block) -> list[tuple[int, str]]:
    """The (line number, text) pairs a highlighted code block shows."""
    # Line numbers are written inside each line (`linenums_style: pymdownx-inline`).
    numbers = [int(span["data-linenos"]) for span in block.select("code > span[id^=__span-] .linenos")]
    texts = [span.get_text().rstrip("\n") for span in block.select("code > span[id^=__span-]")]
    assert len(numbers) == len(texts)
    return list(zip(numbers, texts, strict=False))
