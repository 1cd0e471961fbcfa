"""Render math to MathML at build time, so pages need no script and no network for formulas."""

from __future__ import annotations

import hashlib
import html
import re

import latex2mathml.converter

from .cache import DiskCache, NoCache

# What pymdownx.arithmatex (generic mode) leaves in the HTML.
_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<body>.*?)</(?P=tag)>', re.S)
_DELIMITERS = re.compile(r"^\s*(?:\\\((?P<inline>.*)\\\)|\\\[(?P<block>.*)\\\])\s*$", re.S)


def render_math(page_html: str, cache: DiskCache | None = None) -> str:
    """Replace every arithmatex span or div with MathML (display for blocks, inline otherwise)."""
    if 'class="arithmatex"' not in page_html:
        return page_html
    cache = cache or NoCache()
    key = "math\0" + hashlib.sha256(page_html.encode("utf-8")).hexdigest()
    converted = cache.get(key)
    if converted is None:
        converted = _MATH.sub(_convert, page_html)
        cache.put(key, converted)
    return converted


def _convert(match: re.Match[str]) -> str:
    body = html.unescape(match["body"])
    parts = _DELIMITERS.match(body)
    if not parts:
        return match.group(0)
    latex = parts["inline"] if parts["inline"] is not None else parts["block"]
    display = "block" if parts["block"] is not None else "inline"
    return latex2mathml.converter.convert(latex.strip(), display=display)
