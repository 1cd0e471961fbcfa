"""Numbers in prose against the program: which numbers are checked, when they agree, references
to the figure data, and a wrong number planted in any lab's prose failing the check."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import ROOT, copy_project
from infralens.cli import main as infralens
from infralens.figure_spec import Encoding, FigureSpec
from infralens.project import load_project
from infralens.prose_numbers import known_values, prose_numbers, resolve_references


@pytest.mark.parametrize("text, checked", [
    ("a ridge of 295.2 FLOP/B and 59 sequences", ["295.2"]),
    ("8192 tokens, 8,192 tokens, 1024 and 2200 (round)", ["8192", "8,192", "1024"]),
    ("see line 118, lines 94, 98 and 103, Table 5.1, Section 3.2, Eq. 16", []),
    ("Korthikanti et al. (2022), arXiv 2205.05198", []),
    ("bf16 and fp32 and H100 and X86_V3", []),
    ("$2.478\\times10^4$ and 3.4e38 and 9.8 \\times 10^{-4}", ["2.478\\times10^4", "3.4e38", "9.8 \\times 10^{-4}"]),
    ("{{fit.sequences|context=8k}} sequences fit, 0.280 of them", ["0.280"]),
])
def test_which_numbers_are_values(text, checked):
    assert [number.text for number in prose_numbers(text, 1)] == checked


@pytest.mark.parametrize("prose, agrees", [
    ("0.280", True), ("0.28", True), ("0.281", False),  # the printed 0.2803, at the digits written
    ("3.35 TB/s", True), ("3.36 TB/s", False),  # HBM_BW = 3.35e12 in code
    ("28.0%", True),  # the printed 0.2803 as a percentage
    ("59.0", True), ("61.0", False),
    ("1.00 GiB", True),  # 2**30 bytes in code
    ("$7.50 \\times 10^9$", True), ("$7.51 \\times 10^9$", False),  # READ = 7_504_924_672, digits grouped
])
def test_a_number_agrees_at_the_digits_written(prose, agrees):
    values = known_values("corr 0.2803, fit 59", {}, ["HBM_BW = 3.35e12", "CACHE = 2**30", "GIB = 1073741824",
                                                      "READ = 7_504_924_672"], [])
    (number,) = prose_numbers(prose, 1)
    assert values.agree(number) is agrees


def test_a_reference_shows_the_value_in_its_columns_format():
    figure = FigureSpec("fit", "line", "t", "c", {"x": Encoding("context", "c"), "y": Encoding("gb", "g", ".2f")}, 1)
    table: dict[str, dict[str, list[object]]] = {"fit": {"context": ["4k", "8k"], "model": ["a", "a"],
                                                          "gb": [1.234, 5.678]}}
    text, errors = resolve_references("uses {{fit.gb|context=8k,model=a}} GB", {"fit": figure}, table)
    assert (text, errors) == ("uses 5.68 GB", [])
    _, errors = resolve_references("{{fit.gb}} {{fit.nope|context=8k}} {{fat.gb}}", {"fit": figure}, table)
    assert ["selects 2 rows" in errors[0], "names no column" in errors[1], "names no figure" in errors[2]] == [True] * 3


PROJECT = load_project(ROOT)


def planted_cases(count: int = 6) -> list[tuple[str, int, str, str]]:
    """(starter, line, number, wrong number): numbers the check accepts today in the labs'
    prose, each to be replaced by one 37% larger, written with the same digits."""
    found = []
    for lab in PROJECT.registry.ordered_labs:
        starter = PROJECT.starters[lab.id]
        for line, text in starter.prose_lines:
            for number in prose_numbers(text, line):
                if "e" in number.text.lower() or "\\" in number.text or text.count(number.text) != 1:
                    continue
                wrong = f"{number.value * 1.37:.{number.places}f}"
                found.append((lab.starter, line, number.text, wrong))
    return random.Random(0).sample(found, count)


@pytest.mark.slow
@pytest.mark.parametrize("starter, line, right, wrong", planted_cases())
def test_a_wrong_number_planted_in_a_labs_prose_fails_the_check(tmp_path: Path, capsys, starter, line, right, wrong):
    project = copy_project(tmp_path / "project")
    path = project / starter
    lines = path.read_text(encoding="utf-8").split("\n")
    assert right in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(right, wrong, 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    assert infralens(["--root", str(project), "check"]) == 1
    reported = capsys.readouterr().err
    assert f"{starter}:{line} " in reported and f"`{wrong}` is not a value the program prints" in reported
    assert "the nearest value it prints or draws is" in reported
