"""Figure declarations in a starter: `# lab:figure NAME` blocks of `key: value` lines.

A declaration says what to draw (kind, title, caption) and which column of the starter's figure
data goes on which channel, with the label and number format the page shows. The data itself
comes from the starter's `figures()` function (see `figure_data.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import Problems, suggest

KINDS = ("line", "point", "area", "bar", "heatmap", "timeline")
CHANNELS = ("x", "x2", "y", "color", "label", "control")
KEYS = ("kind", "title", "caption", *CHANNELS, "x-scale", "y-scale", "default", "says")
REQUIRED_CHANNELS = {"timeline": ("x", "x2", "y"), "heatmap": ("x", "y", "color")}
DEFAULT_FORMAT = ".4g"
FIGURE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_KEY_VALUE = re.compile(r"^(?P<key>[a-z][a-z0-9-]*):\s*(?P<value>.*)$")
_ENCODING = re.compile(r'^(?P<column>[A-Za-z_][A-Za-z0-9_]*)(?:\s+"(?P<label>[^"]*)")?(?:\s+(?P<format>\S+))?$')
# The subset of Python's format mini-language that a figure's numbers use: .3f .2e .4g .0% ,d d
FORMAT = re.compile(r"^(?P<comma>,)?(?:\.(?P<digits>\d+))?(?P<type>[efg%d])$")
Table = dict[str, list[Any]]  # a figure's data: column name -> values, one per row


@dataclass(frozen=True)
class Encoding:
    column: str
    label: str
    format: str = DEFAULT_FORMAT


@dataclass(frozen=True)
class FigureSpec:
    name: str
    kind: str
    title: str
    caption: str
    encodings: dict[str, Encoding]
    line: int
    log_axes: tuple[str, ...] = ()
    default: str = ""  # the control's first value, as written; empty: the first value in the data
    says: str = ""  # an exploration's sentence for the value shown, citing its data as {{column|key=value}}
    says_line: int = 0

    @property
    def control(self) -> Encoding | None:
        return self.encodings.get("control")

    def columns(self) -> list[str]:
        return [encoding.column for encoding in self.encodings.values()]


def parse_figure(name: str, line: int, body: list[tuple[int, str]], problems: Problems) -> FigureSpec | None:
    """Read one `# lab:figure NAME` block; report every malformed line and missing key."""
    if not FIGURE_NAME.match(name):
        problems.add(line, f"`# lab:figure` needs a name like `bubble`, got `{name}`.",
                     "write `# lab:figure <name>` with lowercase letters, digits or `-`.")
        return None
    values: dict[str, tuple[int, str]] = {}
    last = ""
    for number, text in body:
        if not text.strip():
            continue
        match = _KEY_VALUE.match(text.strip())
        if text.startswith("  ") and last:  # an indented line continues the previous value
            values[last] = (values[last][0], f"{values[last][1]} {text.strip()}")
        elif not match or match["key"] not in KEYS:
            key = match["key"] if match else text.strip()[:30]
            close = suggest(key, KEYS)
            problems.add(number, f"`{key}` is not a figure key in `# lab:figure {name}`.",
                         f"did you mean `{close}:`?" if close else f"use `key: value` with one of {', '.join(KEYS)}.")
        else:
            last = match["key"]
            values[last] = (number, match["value"].strip())
    return _spec(name, line, values, problems)


def _spec(name: str, line: int, values: dict[str, tuple[int, str]], problems: Problems) -> FigureSpec | None:
    kind = values.get("kind", (line, ""))[1]
    if kind not in KINDS:
        problems.add(values.get("kind", (line, ""))[0], f"the figure `{name}` has kind `{kind or '(none)'}`.",
                     f"write `kind:` with one of {', '.join(KINDS)}.")
    for key in ("title", "caption", "x", "y", *REQUIRED_CHANNELS.get(kind, ())):
        if not values.get(key, (0, ""))[1]:
            problems.add(line, f"the figure `{name}` has no `{key}:`.", _missing_fix(key))
    encodings: dict[str, Encoding] = {}
    for channel in CHANNELS:
        if channel in values and (encoding := _encoding(name, channel, *values[channel], problems)):
            encodings[channel] = encoding
    log_axes = tuple(axis for axis in ("x", "y") if _log_scale(name, axis, values, problems))
    if kind not in KINDS or len(encodings) < len([c for c in CHANNELS if c in values]):
        return None
    if any(not values.get(key, (0, ""))[1] for key in ("title", "caption", "x", "y")):
        return None
    says_line, says = values.get("says", (0, ""))
    return FigureSpec(name, kind, values["title"][1], values["caption"][1], encodings, line, log_axes,
                      values.get("default", (0, ""))[1], says, says_line)


def _missing_fix(key: str) -> str:
    if key in CHANNELS:
        return f'add `{key}: <column> "<label>" [format]`, naming a column of the figure\'s data.'
    if key == "title":
        return "add `title: ...`, a sentence that says what to see."
    return "add `caption: ...`, one or two sentences on what to notice."


def _encoding(name: str, channel: str, line: int, text: str, problems: Problems) -> Encoding | None:
    match = _ENCODING.match(text)
    if not match:
        problems.add(line, f"`{channel}: {text[:50]}` in figure `{name}` is not `column \"label\" [format]`.",
                     f'write e.g. `{channel}: latency_ms "latency (ms)" .2f`.')
        return None
    number_format = match["format"] or DEFAULT_FORMAT
    if not FORMAT.match(number_format):
        problems.add(line, f"`{number_format}` in figure `{name}` is not a number format.",
                     "use one like `.3f`, `.2e`, `.4g`, `.1%`, `,d` or `d`.")
        return None
    return Encoding(match["column"], match["label"] or match["column"], number_format)


def _log_scale(name: str, axis: str, values: dict[str, tuple[int, str]], problems: Problems) -> bool:
    line, scale = values.get(f"{axis}-scale", (0, "linear"))
    if scale not in ("linear", "log"):
        problems.add(line, f"`{axis}-scale: {scale}` in figure `{name}`.", "write `log` or `linear`.")
    return scale == "log"


def round_to(value: float | int | str, number_format: str) -> float | int | str:
    """A number as the figure shows it: rounded to its format's precision (text stays text)."""
    if isinstance(value, (str, bool)):
        return value
    match = FORMAT.match(number_format)
    assert match, number_format
    digits = int(match["digits"]) if match["digits"] is not None else 6
    kind = match["type"]
    if kind == "d":
        return round(value)
    if kind == "f":
        return round(float(value), digits)
    if kind == "%":
        return round(float(value), digits + 2)
    return float(f"{float(value):.{digits}{kind}}")


def same_when_shown(recorded: float | int | str, value: float | int | str, number_format: str) -> bool:
    """Whether two values agree at the precision the figure shows, allowing one unit of the
    last digit for values that sit on a rounding boundary."""
    if isinstance(recorded, str) or isinstance(value, str):
        return recorded == value
    shown = round_to(value, number_format)
    if shown == recorded:
        return True
    match = FORMAT.match(number_format)
    assert match
    digits = int(match["digits"]) if match["digits"] is not None else 6
    if match["type"] in "e" or match["type"] == "g":
        unit = abs(float(recorded)) * 10.0 ** (-(digits if match["type"] == "e" else digits - 1))
    else:
        unit = 10.0 ** -(digits + (2 if match["type"] == "%" else 0)) if match["type"] != "d" else 1.0
    return abs(float(shown) - float(recorded)) <= unit * 1.0001
