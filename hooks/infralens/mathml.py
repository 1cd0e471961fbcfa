"""Render math to MathML at build time, so pages need no script and no network for formulas."""

from __future__ import annotations

import html
import re

import latex2mathml.converter

# What pymdownx.arithmatex (generic mode) leaves in the HTML.
_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<body>.*?)</(?P=tag)>', re.S)
_DELIMITERS = re.compile(r"^\s*(?:\\\((?P<inline>.*)\\\)|\\\[(?P<block>.*)\\\])\s*$", re.S)


def render_math(page_html: str) -> str:
    """Replace every arithmatex span or div with MathML (display for blocks, inline otherwise)."""
    return _MATH.sub(_convert, page_html)


def _convert(match: re.Match[str]) -> str:
    body = html.unescape(match["body"])
    parts = _DELIMITERS.match(body)
    if not parts:
        return match.group(0)
    latex = parts["inline"] if parts["inline"] is not None else parts["block"]
    display = "block" if parts["block"] is not None else "inline"
    return latex2mathml.converter.convert(latex.strip(), display=display)
