"""Predict, then reveal: a checkpoint whose answer is a number the program prints asks the learner
for that number first. The answer is read from the recorded output at build time (the `see:`
line, its N-th number), so it cannot drift from what the program prints."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Problem
from .lab_rules import rule_fix
from .model import Lab
from .prose_numbers import ANY_NUMBER
from .starter import Checkpoint, Starter, output_line

# A number as programs print it (the prose check's), with its % sign: 50.0% is shown as printed.
_NUMBER = re.compile(ANY_NUMBER.pattern + "%?")


@dataclass(frozen=True)
class Answer:
    """The number a prediction is checked against: as printed, its value in the printed unit (a
    percentage stays a percentage), and how far off a prediction may be."""

    shown: str
    value: float
    tolerance: float  # a fraction of `value`; 0: equal at the printed precision
    precision: float  # half a unit of the last printed digit
    before: str = ""  # the output line up to the number, and after it: the blank a learner fills
    after: str = ""

    def as_data(self) -> dict[str, object]:
        return {"shown": self.shown, "value": self.value, "tolerance": self.tolerance, "precision": self.precision,
                "before": self.before, "after": self.after}


def answer_of(checkpoint: Checkpoint, output: str) -> tuple[Answer | None, str]:
    """The answer a prediction checkpoint is checked against, or why there is none."""
    prediction = checkpoint.predict
    if prediction is None:
        return None, ""
    line = output_line(output, checkpoint.evidence.output_text)
    if line is None:
        return None, f'the output has no line with "{checkpoint.evidence.output_text}".'
    text = output.split("\n")[line - 1]
    numbers = list(_NUMBER.finditer(text))
    if prediction.number > len(numbers):
        return None, f"output line {line} holds {len(numbers)} numbers, not {prediction.number}."
    found = numbers[prediction.number - 1]
    shown = found.group(0)
    digits = shown.rstrip("%").replace(",", "")
    mantissa = re.split(r"[eE]", digits)[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(re.split(r"[eE]", digits)[1]) if re.search(r"[eE]", digits) else 0
    return Answer(shown, float(digits), prediction.tolerance, 0.5 * 10.0 ** (exponent - decimals),
                  text[:found.start()], text[found.end():]), ""


def prediction_problems(lab: Lab, starter: Starter, output: str) -> list[Problem]:
    """A lab asks for at least one prediction, and each names a number its output prints."""
    problems = []
    for checkpoint in starter.checkpoints:
        _, error = answer_of(checkpoint, output)
        if error:
            problems.append(Problem(lab.starter, f"the prediction of `{checkpoint.question[:60]}`: {error}",
                                    rule_fix("count the numbers of the output line from 1, and run "
                                             f"`infralens outputs {lab.id}` after changing what it prints",
                                             "predictions"), line=checkpoint.line, lab=lab.id))
    if not any(checkpoint.predict for checkpoint in starter.checkpoints):
        problems.append(Problem(lab.starter, "no checkpoint asks the learner to predict a number.",
                                rule_fix("under a checkpoint whose answer the output prints (`see: output ...`), add "
                                         "`predict: number N, within T%`", "predictions"), lab=lab.id))
    return problems
