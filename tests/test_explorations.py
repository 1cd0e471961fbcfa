"""An exploration's `says:` sentence: filled in from the rows drawn at each value of its control,
checked by `infralens check`, and shown (and rewritten) beside the control."""

from __future__ import annotations

import json

from infralens.explorations import exploration_problems, sentences
from infralens.figure_html import finish_lab_figures, html_environment, plan_lab_figures
from infralens.figure_spec import Table
from infralens.model import Lab
from test_figures import DECLARATION, declared

LAB = Lab("lab-x", 1, "X", "ch", "handbook/x.md", "", "code/x/x.py", (), (), (), 1)
TABLE: Table = {"p": [2, 2, 2, 2, 4, 4, 4, 4], "m": [1, 8, 1, 8] * 2,
                "schedule": ["GPipe", "GPipe", "1F1B, eager", "1F1B, eager"] * 2,
                "idle": [0.5, 0.111, 0.5, 0.111, 0.75, 0.273, 0.75, 0.273]}


def exploration(says: str):
    figure, problems = declared(DECLARATION + f"says: {says}\n")
    assert figure is not None and not problems, problems
    return figure


def test_a_sentence_cites_the_rows_drawn_at_each_value_in_the_columns_format():
    figure = exploration('With {{p}} stages and 8 micro-batches 1F1B idles {{idle|schedule="1F1B, eager", m=8}}.')
    said, errors = sentences(figure, TABLE)
    assert errors == []
    assert said == ["With 2 stages and 8 micro-batches 1F1B idles 0.111.",
                    "With 4 stages and 8 micro-batches 1F1B idles 0.273."]


def test_extremes_exclusions_sums_counts_and_rows():
    figure = exploration("{{m|idle=max, m=min}} {{m|schedule!=GPipe, idle=min}} {{sum:idle|m=1}} "
                         "{{count:schedule}} {{rows:idle|m=8}}")
    said, errors = sentences(figure, TABLE)
    assert errors == [] and said == ["1 8 1.000 2 2", "1 8 1.500 2 2"]


def test_a_citation_that_does_not_select_one_value_names_the_value_and_the_fix():
    figure = exploration("{{schedule|m=8}} and {{width}}")
    problems = exploration_problems(LAB, (figure,), {figure.name: TABLE})
    messages = [problem.message for problem in problems]
    assert any("`{{schedule|m=8}}` at p = 2 selects 2 rows" in message for message in messages), messages
    assert any("`{{width}}`" in message and "names no column" in message for message in messages), messages
    assert all(problem.line == figure.says_line and "rule `explorations`" in problem.fix for problem in problems)


def test_an_exploration_must_say_something_and_a_still_figure_must_not():
    silent, _ = declared(DECLARATION)
    still, _ = declared(DECLARATION.replace('control: p "pipeline stages p" d\ndefault: 4\n', "") + "says: no\n")
    assert silent is not None and still is not None
    problems = exploration_problems(LAB, (silent, still), {})
    assert [problem.message for problem in problems] == [
        "the exploration `bubble` has no `says:` sentence.", "the figure `bubble` has `says:` but no control."]


def test_the_page_shows_the_default_values_sentence_and_the_variants_carry_every_one():
    figure = exploration("At p = {{p}} GPipe idles {{idle|schedule=GPipe, m=1}}.")
    env = html_environment()
    (plan,) = plan_lab_figures(env, LAB, (figure,), {figure.name: TABLE})
    assert '<p class="il-figure-says" aria-live="polite">At p = 4 GPipe idles 0.750.</p>' in plan.html
    (drawing,) = finish_lab_figures(env, LAB, [plan], ["<svg width='10'></svg>"] * len(plan.specs))
    assert drawing.variants is not None
    assert json.loads(drawing.variants)["says"] == ["At p = 2 GPipe idles 0.500.", "At p = 4 GPipe idles 0.750."]

