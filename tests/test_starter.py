"""Parsing starters: the documented format, exact line numbers, and the problems it reports."""

from __future__ import annotations

import textwrap

import pytest
from conftest import authoring_example
from infralens.errors import AuthorError
from infralens.starter import Evidence, Trap, parse_starter, split_lines

GOOD = textwrap.dedent('''\
    """Example."""
    # lab:goal Learn one thing.
    #
    # lab:mental-model
    # - First idea with `code`.
    # - Second idea
    #   that continues.
    #
    # lab:checkpoints
    # - What does line 34 compute?
    #   answer: Twice y.
    #   see: line 34
    # - What does the program print?
    #   answer: The value of z,
    #   on a line of its own.
    #   see: output "4"
    #
    # lab:traps
    # - A trap.
    #   why: Because
    #   of the code.
    #
    # lab:interview
    # First paragraph.
    #
    # Second paragraph.
    #
    # lab:intuition
    # - A picture.

    # lab:begin main
    x = 1  # (1)
    y = x + 1
    z = y * 2  # twice (2)
    # lab:end main
    # lab:notes main
    # (1) Starts at one.
    # (2) Doubles,
    #     as promised.
    #
    # lab:explain 32-34 All three lines
    # They compute z.
    print(z)
    ''')


def problems_of(text: str) -> list[str]:
    with pytest.raises(AuthorError) as caught:
        parse_starter(text, "code/x/x.py", "lab-x")
    return [str(problem) for problem in caught.value.problems]


def test_blocks_are_parsed_into_their_sections():
    starter = parse_starter(GOOD, "code/x/x.py")
    assert starter.goal == "Learn one thing."
    assert starter.mental_model == ("First idea with `code`.", "Second idea that continues.")
    assert [(c.question, c.answer, c.evidence) for c in starter.checkpoints] == [
        ("What does line 34 compute?", "Twice y.", Evidence(34, 34)),
        ("What does the program print?", "The value of z, on a line of its own.", Evidence(output_text="4"))]
    assert starter.traps == (Trap("A trap.", "Because of the code."),)
    assert starter.interview == ("First paragraph.", "Second paragraph.")
    assert starter.intuition == ("A picture.",)


def test_excerpt_keeps_real_line_numbers_and_annotations():
    starter = parse_starter(GOOD, "code/x/x.py")
    (excerpt,) = starter.excerpts
    lines = GOOD.splitlines()
    assert excerpt.start == 32 and excerpt.end == 34
    assert list(excerpt.lines) == lines[31:34]
    assert [(a.number, a.line, a.text) for a in excerpt.annotations] == [
        (1, 32, "Starts at one."), (2, 34, "Doubles, as promised.")]
    (step,) = starter.steps
    assert (step.start, step.end, step.title, step.text) == (32, 34, "All three lines", "They compute z.")


def test_crlf_tabs_and_non_ascii_keep_line_numbers():
    text = GOOD.replace("y = x + 1", "y = x + 1\t# größer → ok").replace("\n", "\r\n")
    starter = parse_starter(text, "code/x/x.py")
    assert starter.excerpts[0].lines[1] == "y = x + 1\t# größer → ok"
    assert starter.excerpts[0].start == 32


def test_form_feed_is_not_a_line_break():
    assert split_lines("a\fb\nc\r\nd\re\n") == ("a\fb", "c", "d", "e")


def test_the_authoring_page_example_parses():
    starter = parse_starter(authoring_example("python"), "code/lab-99/example.py")
    (excerpt,) = starter.excerpts
    assert [a.number for a in excerpt.annotations] == [1, 2]
    assert all(excerpt.contains(step.start) and excerpt.contains(step.end) for step in starter.steps)
    assert starter.checkpoints[0].answer


@pytest.mark.parametrize("change, expected", [
    (("# lab:goal Learn one thing.", "# lab:goal"), "the `# lab:goal` block is empty"),
    (("# lab:goal Learn one thing.", ""), "no `# lab:goal` block"),
    (("# lab:end main", ""), "opened but never closed"),
    (("# lab:begin main", ""), "never opened"),
    (("# (2) Doubles,", "# (3) Doubles,"), "has no note text"),
    (("x = 1  # (1)", "x = 1"), "markers of excerpt `main` are (2) on line 34"),
    (("# lab:traps", "# lab:trap"), "did you mean `# lab:traps`?"),
    (("# lab:explain 32-34", "# lab:explain 20-34"), "not inside one excerpt"),
    (("# - What does line 34 compute?", "# - Line 33 doubles y."), "is a statement, not a question"),
    (("#   answer: Twice y.", "#   note: Twice y."), "has no answer"),
    (("#   see: line 34", "#   see: line 3"), "`see: line 3` is not inside one excerpt"),
    (("#   see: line 34", "#   see: the output"), "names neither lines nor output"),
    (("#   see: line 34\n", ""), "does not say what settles it"),
    (("#   why: Because", "#   answer: Because"), "`answer:` does not belong in `# lab:traps`"),
    (("#   why: Because\n#   of the code.", ""), "is not refuted"),
    (("# lab:intuition\n# - A picture.", ""), "no `# lab:intuition` block"),
    (("print(z)", "print(z"), "not valid Python"),
    (("# lab:notes main", "# lab:notes mian"), "did you mean `main`?"),
])
def test_problems_name_the_file_line_and_fix(change, expected):
    old, new = change
    assert old in GOOD
    found = problems_of(GOOD.replace(old, new, 1))
    assert any(expected in problem for problem in found), found
    assert all(problem.startswith("code/x/x.py") and "(lab lab-x)" in problem and "Fix:" in problem
               for problem in found), found


def test_three_backticks_inside_an_excerpt_are_code():
    text = GOOD.replace("y = x + 1", 'y = "```"')
    assert parse_starter(text, "code/x/x.py").excerpts[0].lines[1] == 'y = "```"'


def test_directives_and_markers_inside_strings_are_text():
    """Python decides what is a comment: `# lab:` in a string literal is not a directive."""
    text = GOOD.replace("y = x + 1", 'y = x + 1\nhelp = """\n# lab:traps\n# - not a trap\n"""\nnote = "# (3)"')
    text = text.replace("# lab:explain 32-34", "# lab:explain 32-38")
    starter = parse_starter(text, "code/x/x.py")
    assert [trap.belief for trap in starter.traps] == ["A trap."]
    assert [a.number for a in starter.excerpts[0].annotations] == [1, 2]
    assert '# lab:traps' in starter.excerpts[0].lines


def test_an_excerpt_lists_the_constants_it_uses_that_are_set_outside_it():
    from infralens.starter import constants_used
    from test_figures import STARTER

    # The blank line before the excerpt becomes the constants' line, so no line moves.
    text = STARTER.replace("\n\n# lab:begin main\nx = 1  # (1)",
                           "\nK, N = 3, 4  # sizes\n# lab:begin main\nx = K * 2  # (1)")
    starter = parse_starter(text, "code/x/x.py", "lab-x")
    (excerpt,) = starter.excerpts
    line = starter.lines.index("K, N = 3, 4  # sizes") + 1
    assert [(c.line, c.code) for c in constants_used(starter)[excerpt.name]] == [(line, "K, N = 3, 4")]
    unused = parse_starter(text.replace("x = K * 2", "x = 2 * 2"), "code/x/x.py", "lab-x")
    assert constants_used(unused)[unused.excerpts[0].name] == [], "an excerpt that reads no constant lists none"
