"""Render math to MathML at build time, so pages need no script and no network for formulas."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass

from .cache import DiskCache, NoCache
from .errors import Problem

# What pymdownx.arithmatex (generic mode) leaves in the HTML.
_MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<body>.*?)</(?P=tag)>', re.S)
_DELIMITERS = re.compile(r"^\s*(?:\\\((?P<inline>.*)\\\)|\\\[(?P<block>.*)\\\])\s*$", re.S)
# Where arithmatex finds math in Markdown: $$ blocks and $inline$ spans outside code.
_CODE = re.compile(r"^(\s*)(`{3,}|~{3,}).*?^\1\2|`+[^`\n]*`+", re.S | re.M)
_SOURCE_MATH = re.compile(r"\$\$(?P<block>.+?)\$\$|(?<![\\$\w])\$(?=\S)(?P<inline>[^$\n]+?)(?<=\S)\$(?![$\w])", re.S)


def math_spans(text: str) -> str:
    """Plain text as HTML, its `$...$` formulas marked as arithmatex marks them in Markdown, so
    that `render_math` converts them on the page: for text that reaches a page as HTML, such as
    a figure's caption."""
    escaped = html.escape(text, quote=False)
    return _SOURCE_MATH.sub(lambda match: f'<span class="arithmatex">\\({match["inline"]}\\)</span>'
                            if match["inline"] is not None else match.group(0), escaped)


@dataclass(frozen=True)
class BadFormula:
    latex: str
    reason: str


class Formulas:
    """LaTeX to MathML, each formula converted once however often it is asked for. A build checks
    every formula when it loads the project, then converts the same formulas into its pages: one
    `Formulas` for the whole build halves that work. Kept by the build, never between builds."""

    def __init__(self) -> None:
        self._converted: dict[tuple[str, str], str | BadFormula] = {}

    def mathml(self, latex: str, display: str) -> str | BadFormula:
        """The MathML of `latex` ("block" or "inline"), or why it cannot be rendered."""
        key = (latex, display)
        if key not in self._converted:
            import latex2mathml.converter  # deferred: a build whose pages are all cached converts nothing

            try:
                self._converted[key] = latex2mathml.converter.convert(latex, display=display)
            except Exception as error:  # latex2mathml raises a plain Exception subclass per kind of mistake
                self._converted[key] = BadFormula(latex, _reason(error))
        return self._converted[key]


def render_math(page_html: str, cache: DiskCache | None = None,
                formulas: Formulas | None = None) -> tuple[str, list[BadFormula]]:
    """Replace every arithmatex span or div with MathML (display for blocks, inline otherwise).
    A formula that cannot be read stays as its source text and is returned with the reason."""
    if 'class="arithmatex"' not in page_html:
        return page_html, []
    cache = cache or NoCache()
    key = "math\0" + hashlib.sha256(page_html.encode("utf-8")).hexdigest()
    converted = cache.get(key)
    if converted is not None:
        return converted, []
    bad: list[BadFormula] = []
    formulas = formulas or Formulas()
    converted = _MATH.sub(lambda match: _convert(match, bad, formulas), page_html)
    if not bad:
        cache.put(key, converted)
    return converted, bad


def _convert(match: re.Match[str], bad: list[BadFormula], formulas: Formulas) -> str:
    body = html.unescape(match["body"])
    parts = _DELIMITERS.match(body)
    if not parts:
        return match.group(0)
    latex = parts["inline"] if parts["inline"] is not None else parts["block"]
    mathml = formulas.mathml(latex.strip(), "block" if parts["block"] is not None else "inline")
    if isinstance(mathml, BadFormula):
        bad.append(mathml)
        return f'<code class="il-bad-math">{html.escape(mathml.latex)}</code>'
    return mathml


def bad_formulas(markdown: str, formulas: Formulas | None = None) -> list[BadFormula]:
    """The formulas of a Markdown text (outside code) that cannot be rendered, before any build."""
    formulas = formulas or Formulas()
    bad: list[BadFormula] = []
    for match in _SOURCE_MATH.finditer(_CODE.sub("", markdown)):
        latex, display = (match["block"], "block") if match["block"] is not None else (match["inline"], "inline")
        mathml = formulas.mathml(latex.strip(), display)
        if isinstance(mathml, BadFormula):
            bad.append(mathml)
    return bad


def _reason(error: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(error).__name__).lower().removesuffix(" error")


def formula_problems(bad: list[BadFormula], file: str, lines: list[str], lab: str | None = None) -> list[Problem]:
    """Problems for formulas that could not be rendered, at the line of `file` that holds each."""
    return [Problem(file, f"the formula `{formula.latex}` cannot be rendered ({formula.reason}).",
                    "fix the LaTeX (every `^`, `_` and `{` needs its argument), or escape a literal "
                    "dollar sign as `\\$`.",
                    line=next((n for n, line in enumerate(lines, 1) if formula.latex in line), None), lab=lab)
            for formula in bad]
