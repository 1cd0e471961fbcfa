"""Formulas become MathML at build time; a build converts each formula once, though it checks
every formula when the project loads and renders them again into its pages."""

from __future__ import annotations

import latex2mathml.converter
import pytest
from infralens.mathml import BadFormula, Formulas, bad_formulas, render_math

MARKDOWN = ("The schedule $\\bar\\alpha_t$ falls.\n\n$$\n\\bar\\alpha_t = \\prod_{s=1}^{t} (1 - \\beta_s)\n$$\n\n"
            "Broken: $x^$.")
# What pymdownx.arithmatex (generic mode) makes of the same formulas.
HTML = ('<p>The schedule <span class="arithmatex">\\(\\bar\\alpha_t\\)</span> falls.</p>\n'
        '<div class="arithmatex">\\[\n\\bar\\alpha_t = \\prod_{s=1}^{t} (1 - \\beta_s)\n\\]</div>\n'
        '<p>Broken: <span class="arithmatex">\\(x^\\)</span>.</p>')


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    converted: list[str] = []
    convert = latex2mathml.converter.convert

    def counted(latex: str, *args: object, **kwargs: object) -> str:
        converted.append(latex)
        return convert(latex, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(latex2mathml.converter, "convert", counted)
    return converted


def test_checking_then_rendering_converts_each_formula_once(conversions: list[str]):
    formulas = Formulas()
    checked = bad_formulas(MARKDOWN, formulas)
    shared, bad = render_math(HTML, formulas=formulas)
    assert checked == bad == [BadFormula("x^", "missing super script or subscript")]
    assert len(conversions) == 3, conversions
    alone, _ = render_math(HTML)
    assert shared == alone, "the page is the same as with formulas converted afresh"
    assert 'display="block"' in shared and "<munderover>" in shared, "the product's limits sit above and below"
    assert '<code class="il-bad-math">x^</code>' in shared


def test_a_formula_shown_inline_and_as_a_block_is_converted_for_each(conversions: list[str]):
    formulas = Formulas()
    inline, block = formulas.mathml("\\sum_i x_i", "inline"), formulas.mathml("\\sum_i x_i", "block")
    assert isinstance(inline, str) and isinstance(block, str)
    assert inline != block and len(conversions) == 2
