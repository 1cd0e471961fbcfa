"""Numbers in prose that must agree with the program: every decimal, and every whole number of
three or more significant digits, written in a starter's comments (notes, checkpoints, traps,
interview, captions) must be a value the lab knows: one its starter prints (the recorded
output), draws (the figure data) or writes in its code, or a figure from a source, declared
under that source in the registry entry (`numbers:`).

A prose number matches a known value when the value, rounded to the digits the prose writes,
is that number, in the value's own unit or scaled by a power of 1000, 1024 or 100 (`3.35 TB/s`
is `3.35e12`, `2.7%` is `0.027`, `80 GiB` is `80 * 2**30`). Section, table, equation and line
numbers, years and arXiv ids are not values. Prose can also cite a value of the figure data by
reference, `{{figure.column|key=value}}`, which the page shows as that value in the column's
format: it cannot drift from the program.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import Problem
from .figure_spec import FigureSpec, round_to
from .model import Lab

# A number as prose writes it: 8,192, 0.280, 3.4e38, or with LaTeX's or a plain power of ten,
# 2.478\times10^4, 9.8 \times 10^{-4}, 3 x 10^8.
_NUMBER = re.compile(r"(?<![\w.§\\^_/-])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?"
                     r"(?:[eE](?P<exp>[+-]?\d+)|\s*(?:\\times|\\cdot|x|×)\s*10\^\{?(?P<power>[+-]?\d+)\}?)?"
                     r"(?![\w]|\.\d)")
# What makes the number after it a name, not a value.
_NAMING = re.compile(r"(?:\b[Ll]ines?\s+(?:\d+\s*(?:,|and|-|–|to|&)\s*)+|\blines?|\bLines?|\bTables?"
                     r"|\bEqs?\.?|\bEquations?|\bFigures?|\bFig\.|\bSections?|\bSec\.|§"
                     r"|\bApp\.|\bAppendix|\bAlgorithm|\bAlg\.|\bversion|\bv|\bLabs?|\bChapter|\bnotes?|\bstep"
                     r"|\bpage|\bpp\.|\barXiv:?|\bRFC|\bCUDA|\bPython|\bnumpy)\s*$")
_YEAR = re.compile(r"(?:19|20)\d\d")
_ARXIV = re.compile(r"\d{4}\.\d{4,5}")
# A number as written or printed: 1,270.3  -0.5  7.86e-02 (a percentage is the number before its %).
ANY_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DIGIT_GROUP = re.compile(r"(?<=\d)_(?=\d)")
_REFERENCE = re.compile(r"\{\{\s*(?P<figure>[a-z0-9][a-z0-9-]*)\.(?P<column>[A-Za-z_][\w-]*)"
                        r"(?:\s*\|\s*(?P<where>[^}]*))?\s*\}\}")
_CONDITION = re.compile(r'\s*(?P<key>[A-Za-z_][\w-]*)\s*(?P<op>!=|=)\s*'
                        r'(?:"(?P<quoted>[^"]*)"|(?P<plain>[^,]*))\s*(?:,|$)')
# A value the program prints or draws is in the unit the page shows (or a fraction shown as a
# percentage); a value written in code or a declaration may be in base units (3.35e12 for 3.35 TB/s).
_SHOWN_SCALES = (1.0, 100.0, 0.01)
_SCALES = (*(1000.0 ** k for k in range(-4, 5)), *(1024.0 ** k for k in range(1, 5)), 100.0, 0.01)


@dataclass(frozen=True)
class ProseNumber:
    text: str  # as written
    value: float
    places: int  # digits after the decimal point as written
    line: int
    exponent: int = 0  # as written: 3.4e38 is 3.4 at one decimal, times 10**38

    @property
    def tolerance(self) -> float:
        """Half a unit of the last digit written."""
        return 0.5 * 10.0 ** (self.exponent - self.places)


def prose_numbers(text: str, line: int) -> list[ProseNumber]:
    """The values written in `text` that the rule checks (see the module's docstring)."""
    text = _REFERENCE.sub(" ", text)
    found = []
    for match in _NUMBER.finditer(text):
        whole, frac, exp = match["int"], match["frac"], match["exp"] or match["power"]
        # Significant digits: 8192 has four, 0.0064 two, 2200 two (a round number, not a measurement).
        digits = (whole.replace(",", "") + (frac or "")[1:]).lstrip("0")
        digits = digits if frac else digits.rstrip("0")
        if (not frac and len(digits) < 3) or _NAMING.search(text[max(0, match.start() - 40):match.start()]):
            continue
        if (not frac and not exp and _YEAR.fullmatch(whole)) or _ARXIV.fullmatch(match.group(0)):
            continue
        value = float(whole.replace(",", "") + (frac or "")) * (10.0 ** int(exp) if exp else 1.0)
        found.append(ProseNumber(match.group(0), value, len(frac) - 1 if frac else 0, line, int(exp or 0)))
    return found


def numbers_in(text: str) -> list[float]:
    """Every number written in a text (output, code, a declaration), signs and exponents read."""
    values = []
    for token in ANY_NUMBER.findall(text):
        try:
            values.append(float(token.replace(",", "")))
        except ValueError:
            continue
    return values


@dataclass(frozen=True)
class KnownValues:
    """What a lab's prose may cite: values it prints or draws, and values written in its code or
    declared with a source (each sorted, for a search by bisection)."""

    shown: tuple[float, ...]
    written: tuple[float, ...]

    def agree(self, number: ProseNumber) -> bool:
        # A number written with a power of ten (7.50e9) may be a shown value in other units (7.50 GB).
        shown_scales = _SCALES if number.exponent else _SHOWN_SCALES
        return _any_within(self.shown, number, shown_scales) or _any_within(self.written, number, _SCALES)


def _any_within(values: tuple[float, ...], number: ProseNumber, scales: Iterable[float]) -> bool:
    """Whether a value, divided by one of `scales`, rounds to `number` at the digits it is written with."""
    tolerance = number.tolerance * (1 + 1e-9)
    for scale in scales:
        low, high = sorted(((number.value - tolerance) * scale, (number.value + tolerance) * scale))
        index = bisect.bisect_left(values, low)
        if index < len(values) and values[index] <= high:
            return True
    return False


def known_values(output: str, tables: dict[str, dict[str, list[Any]]], code: Iterable[str],
                 declared: Iterable[str]) -> KnownValues:
    shown = set(numbers_in(output))
    for table in tables.values():
        for column in table.values():
            shown.update(float(v) for v in column if isinstance(v, (int, float)) and not isinstance(v, bool))
    # Code may group digits as Python allows (7_504_924_672): read as one number.
    written = {value for line in (*code, *declared) for value in numbers_in(_DIGIT_GROUP.sub("", line))}
    return KnownValues(*(tuple(sorted(abs(v) for v in values if math.isfinite(v))) for values in (shown, written)))


def nearest(number: ProseNumber, values: Sequence[float]) -> float | None:
    """The value the program shows that is closest to the number, by ratio, for the message."""
    candidates = [v * scale for v in values if v > 0 for scale in (1.0, 0.01, 100.0)]
    if not candidates or number.value <= 0:
        return min(values, key=lambda v: abs(v - number.value), default=None)
    return min(candidates, key=lambda v: abs(math.log(v / number.value)))


def number_problems(lab: Lab | None, file: str, texts: Iterable[tuple[int, str]],
                    values: KnownValues) -> list[Problem]:
    """A problem for each prose number that agrees with none of `values`; the message names the
    nearest value the program printed or drew."""
    problems = []
    for line, text in texts:
        for number in prose_numbers(text, line):
            if values.agree(number):
                continue
            close = nearest(number, values.shown)
            hint = f" (the nearest value it prints or draws is {close:g})" if close is not None else ""
            problems.append(Problem(
                file, f"`{number.text}` is not a value the program prints, draws or writes in its code{hint}.",
                "write the value the program gives, cite it from the figure data as `{{figure.column|key=value}}`, "
                "or declare a source's figure under that source in labs.yaml (`numbers: [...]`) "
                "(rule `prose-numbers` on the authoring page).", line=line, lab=lab.id if lab else None))
    return problems


def references_in(text: str) -> list[re.Match[str]]:
    return list(_REFERENCE.finditer(text))


def resolve_references(text: str, figures: dict[str, FigureSpec],
                       tables: dict[str, dict[str, list[Any]]]) -> tuple[str, list[str]]:
    """`text` with each `{{figure.column|key=value}}` replaced by the value, in the column's
    format; and what is wrong with each reference that cannot be resolved."""
    errors: list[str] = []

    def value(match: re.Match[str]) -> str:
        found, error = _lookup(match, figures, tables)
        if error:
            errors.append(f"`{match.group(0)}` {error}")
            return match.group(0)
        return found

    return _REFERENCE.sub(value, text), errors


def _lookup(match: re.Match[str], figures: dict[str, FigureSpec],
            tables: dict[str, dict[str, list[Any]]]) -> tuple[str, str]:
    name, column = match["figure"], match["column"]
    if name not in figures or name not in tables:
        return "", f"names no figure with recorded data (figures: {', '.join(sorted(figures)) or 'none'})."
    return cell(figures[name], tables[name], column, match["where"])


def cell(figure: FigureSpec, table: dict[str, list[Any]], column: str, where: str | None) -> tuple[str, str]:
    """The value of `column` in the rows of `table` that `where` selects (`selected_rows`), in the
    column's format; or what is wrong. The rows may be many if they agree on the value."""
    if column not in table:
        return "", f"names no column of `{figure.name}` (columns: {', '.join(sorted(table))})."
    rows, error = selected_rows(figure, table, where)
    if error or len({repr(table[column][row]) for row in rows}) != 1:
        return "", error or (f"selects {len(rows)} rows of `{figure.name}`; "
                             "add `|column=value` conditions that select one.")
    return shown(figure, column, table[column][rows[0]]), ""


def shown(figure: FigureSpec, column: str, value: Any) -> str:
    """A value of a figure's column as the page shows it: in the column's format."""
    format_ = next((e.format for e in figure.encodings.values() if e.column == column), "")
    return format(round_to(value, format_), format_) if format_ and isinstance(value, (int, float)) else str(value)


def selected_rows(figure: FigureSpec, table: dict[str, list[Any]], where: str | None) -> tuple[list[int], str]:
    """The rows `where` selects: `key=value, ...`, applied in turn. `key!=value` keeps the other
    rows, `key=min` or `key=max` those where `key` is smallest or largest, and a value with a
    comma is quoted (`series="matmul, memory-bound"`)."""
    rows = list(range(len(next(iter(table.values()), []))))
    for condition in _CONDITION.finditer(where or ""):
        key, wanted = condition["key"], condition["quoted"] if condition["quoted"] is not None else condition["plain"]
        if key not in table:
            return [], f"selects by `{key}`, which `{figure.name}` has no column of."
        if condition["op"] == "=" and wanted.strip() in ("min", "max") and rows:
            extreme = (min if wanted.strip() == "min" else max)(table[key][row] for row in rows)
            rows = [row for row in rows if table[key][row] == extreme]
        else:
            rows = [row for row in rows if _same(table[key][row], wanted.strip()) == (condition["op"] == "=")]
    return rows, ""


def _same(value: Any, wanted: str) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return math.isclose(float(value), float(wanted), rel_tol=1e-9)
        except ValueError:
            return False
    return str(value) == wanted
