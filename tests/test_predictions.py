"""Predict, then reveal: `predict: number N, within T%` under a checkpoint takes its answer from
the recorded output, and `infralens check` reports a prediction that names no printed number."""

from __future__ import annotations

import pytest
from infralens.errors import AuthorError
from infralens.predictions import answer_of, prediction_problems
from infralens.starter import parse_starter
from test_figures import LAB, STARTER

OUTPUT = "header\n  8 KiB       1,270.3     72.3   50.0%   7.86e-02\nlast line\n"


def starter_with(fields: str):
    """The test starter with a checkpoint's `see:` line replaced by two field lines, less a blank
    line before the code, so that no code line moves."""
    assert fields.count("\n") == 2
    text = STARTER.replace("#   see: line 24\n", fields).replace("\n\n# lab:begin main", "\n# lab:begin main")
    return parse_starter(text, "code/x/x.py", "lab-x")


@pytest.mark.parametrize(("number", "shown", "value", "precision"), [
    (1, "8", 8.0, 0.5), (2, "1,270.3", 1270.3, 0.05), (4, "50.0%", 50.0, 0.05), (5, "7.86e-02", 0.0786, 0.00005)])
def test_the_answer_is_the_nth_number_of_the_output_line_as_printed(number, shown, value, precision):
    starter = starter_with(f'#   see: output "8 KiB"\n#   predict: number {number}, within 10%\n')
    answer, error = answer_of(starter.checkpoints[0], OUTPUT)
    assert error == "" and answer is not None
    assert (answer.shown, answer.tolerance) == (shown, 0.1)
    assert answer.value == pytest.approx(value) and answer.precision == pytest.approx(precision)
    assert answer.before + shown + answer.after == OUTPUT.split("\n")[1], "the line, with the answer blanked"


def test_a_changed_output_changes_the_answer_without_touching_the_starter():
    starter = starter_with('#   see: output "8 KiB"\n#   predict: number 2, within 10%\n')
    answer, _ = answer_of(starter.checkpoints[0], OUTPUT.replace("1,270.3", "1,301.9"))
    assert answer is not None and answer.shown == "1,301.9"


def test_check_names_a_prediction_past_the_numbers_printed_and_a_lab_without_one():
    starter = starter_with('#   see: output "8 KiB"\n#   predict: number 9, within 10%\n')
    (problem,) = prediction_problems(LAB, starter, OUTPUT)
    assert problem.line == starter.checkpoints[0].line and problem.lab == "lab-x"
    assert "output line 2 holds 5 numbers, not 9" in problem.message and "rule `predictions`" in problem.fix
    gone = prediction_problems(LAB, starter_with('#   see: output "8 KiB"\n#   predict: number 1, within 0%\n'),
                               OUTPUT.replace("8 KiB", "16 KiB"))
    assert 'the output has no line with "8 KiB"' in gone[0].message
    (none,) = prediction_problems(LAB, starter_with('#   see: output "8 KiB"\n#   answer: a\n'), OUTPUT)
    assert none.message == "no checkpoint asks the learner to predict a number."


@pytest.mark.parametrize(("fields", "expected"), [
    ('#   see: output "8 KiB"\n#   predict: the third one\n', "is not `predict: number N, within T%`"),
    ("#   see: line 24\n#   predict: number 1, within 5%\n", "predicts a number but names no output line"),
])
def test_a_malformed_prediction_is_an_author_error_at_its_checkpoint(fields, expected):
    with pytest.raises(AuthorError) as raised:
        starter_with(fields)
    assert any(expected in problem.message and problem.line == 6 for problem in raised.value.problems), \
        [str(p) for p in raised.value.problems]
