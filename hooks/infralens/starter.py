"""Parse a starter file: plain Python whose `# lab:` comments carry the lab's teaching text.

The format is documented, with a complete example, on the site's authoring page
(docs/authoring.md). Every problem is collected, so an author sees all of them at once.
"""

from __future__ import annotations

import ast
import hashlib
import io
import math
import re
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

from .errors import AuthorError, Problems, suggest
from .figure_spec import FigureSpec, parse_figure

MAX_STARTER_BYTES = 512 * 1024

BLOCKS = ("goal", "mental-model", "checkpoints", "traps", "interview", "intuition", "figure", "notes", "explain")
DIRECTIVES = (*BLOCKS, "begin", "end")
REQUIRED_BLOCKS = ("goal", "mental-model", "checkpoints", "traps", "interview", "intuition")
# Indented `key: text` lines a list entry may carry, by block. An entry needs every key listed.
# A learner reads the notes slowly and code slower still, and stops to answer each checkpoint.
PROSE_WORDS_PER_MINUTE = 150
CODE_LINES_PER_MINUTE = 6
MINUTES_PER_CHECKPOINT = 1.5
MIN_FOLDED_LINES = 10  # fewer lines of notes than this are not worth a fold
ENTRY_FIELDS = {"checkpoints": ("answer", "see", "predict"), "traps": ("why",)}

_DIRECTIVE = re.compile(r"^\s*#\s?lab:(?P<name>[A-Za-z-]*)(?:\s+(?P<args>.*?))?\s*$")
_REGION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# A code line that ends in a comment whose last token is "(N)": Material's annotation marker.
_MARKER = re.compile(r"#[^\n]*?\((?P<number>\d+)\)\s*$")
_NOTE = re.compile(r"^\((?P<number>\d+)\)\s*(?P<text>.*)$")
_RANGE = re.compile(r"^(?P<start>\d+)(?:\s*-\s*(?P<end>\d+))?(?:\s+(?P<title>.*))?$")
_FIELD = re.compile(r"^(?P<key>answer|see|predict|why):\s*(?P<text>.*)$", re.IGNORECASE)
_SEE_LINES = re.compile(r"^lines?\s+(?P<start>\d+)(?:\s*-\s*(?P<end>\d+))?$")
_SEE_OUTPUT = re.compile(r'^output\s+"(?P<text>[^"]+)"$')
_PREDICT = re.compile(r"^number\s+(?P<number>\d+)\s*,\s*within\s+(?P<tolerance>\d+(?:\.\d+)?)\s*%$")
# "line 86", "Line 88:", "lines 84-87", "lines 88 and 89" written in a comment: a reference a
# learner follows into the starter (not "output line 3", which names a printed line).
_SPAN = r"\d+(?:\s*(?:-|–|to)\s*\d+)?"
_LINE_REFERENCE = re.compile(rf"(?<!output )\b[Ll]ines?\s+(?P<spans>{_SPAN}(?:\s*(?:,\s*and|,|and)\s*{_SPAN})*)"
                             r"(?!\s+of\s+the\s+output)")
_SPAN_PARTS = re.compile(r"(?P<start>\d+)(?:\s*(?:-|–|to)\s*(?P<end>\d+))?")


@dataclass(frozen=True)
class Evidence:
    """What settles a checkpoint: lines of an excerpt, or a line of the recorded output."""

    start: int = 0  # starter lines (inclusive); 0 when the evidence is output text
    end: int = 0
    output_text: str = ""

    @property
    def in_output(self) -> bool:
        return bool(self.output_text)


@dataclass(frozen=True)
class Prediction:
    """A checkpoint the learner answers with a number before seeing it: the `number`-th number of
    the output line its `see:` names, accepted within `tolerance` (a fraction of it)."""

    number: int
    tolerance: float


@dataclass(frozen=True)
class Checkpoint:
    """A question the learner answers from the excerpt or the output, with its answer."""

    question: str
    answer: str
    evidence: Evidence
    line: int  # where the checkpoint is written, for problems found later (stale output text)
    predict: Prediction | None = None


@dataclass(frozen=True)
class LineReference:
    """Starter lines that a comment or a `see:` field points the learner at."""

    written_at: int  # the line of the comment (or checkpoint) that names them
    start: int
    end: int
    text: str  # as written, e.g. "lines 84-87"


@dataclass(frozen=True)
class Trap:
    """A misunderstanding as a learner would hold it, and why it is wrong."""

    belief: str
    why: str


@dataclass(frozen=True)
class Annotation:
    number: int
    line: int
    text: str


@dataclass(frozen=True)
class Excerpt:
    """A contiguous region of the starter shown on the lab page, with its annotations."""

    name: str
    start: int
    lines: tuple[str, ...]
    annotations: tuple[Annotation, ...] = ()

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1

    def contains(self, line: int) -> bool:
        return self.start <= line <= self.end


@dataclass(frozen=True)
class Step:
    """One block of the line-by-line explanation: a range of starter lines and what they do."""

    start: int
    end: int
    title: str
    text: str
    excerpt: str


@dataclass(frozen=True)
class Starter:
    path: str
    lines: tuple[str, ...]
    goal: str
    mental_model: tuple[str, ...]
    checkpoints: tuple[Checkpoint, ...]
    traps: tuple[Trap, ...]
    interview: tuple[str, ...]
    intuition: tuple[str, ...]
    excerpts: tuple[Excerpt, ...]
    steps: tuple[Step, ...]
    figures: tuple[FigureSpec, ...] = ()
    code_digest: str = ""  # of the code without its comments (`code_digest`)
    code_lines: frozenset[int] = frozenset()  # lines that are neither blank nor only a comment
    references: tuple[LineReference, ...] = ()  # every line a comment or a checkpoint points at
    prose_lines: tuple[tuple[int, str], ...] = ()  # (line, text) of every comment a learner reads as prose

    def notes_span(self) -> tuple[int, int] | None:
        """The first run of `# lab:` comment lines before any code (goal, questions, figures: what
        the lab page shows), as (first, last) line, or None when it is shorter than 10 lines.
        The starter page folds it, so that the file opens on code."""
        first = next((number for number, line in enumerate(self.lines, 1) if line.startswith("# lab:")), None)
        if first is None:
            return None
        last = min((number for number in self.code_lines if number > first), default=len(self.lines) + 1) - 1
        return (first, last) if last - first + 1 >= MIN_FOLDED_LINES else None

    @cached_property  # kept with the parsed starter in the cache: a warm build does not count again
    def reading_minutes(self) -> int:
        """About how long the lab takes to work through, from its length, to the next 5 minutes."""
        words = sum(len(text.split()) for text in self.prose())
        code = sum(len(excerpt.lines) for excerpt in self.excerpts)
        minutes = words / PROSE_WORDS_PER_MINUTE + code / CODE_LINES_PER_MINUTE + MINUTES_PER_CHECKPOINT * len(
            self.checkpoints)
        return max(5, 5 * math.ceil(minutes / 5))

    def prose(self) -> list[str]:
        """Every text the lab page shows besides code, in the order of the page."""
        return [self.goal, *self.mental_model,
                *(annotation.text for excerpt in self.excerpts for annotation in excerpt.annotations),
                *(f"{step.title} {step.text}" for step in self.steps),
                *(f"{c.question} {c.answer}" for c in self.checkpoints),
                *(f"{trap.belief} {trap.why}" for trap in self.traps), *self.interview, *self.intuition]


@dataclass
class _Block:
    kind: str
    args: str
    line: int
    body: list[tuple[int, str]] = field(default_factory=list)


def map_prose(starter: Starter, change: Callable[[str], str]) -> Starter:
    """The starter with `change` applied to every text its page shows besides code."""
    return replace(
        starter, goal=change(starter.goal), mental_model=tuple(map(change, starter.mental_model)),
        checkpoints=tuple(replace(checkpoint, question=change(checkpoint.question), answer=change(checkpoint.answer))
                          for checkpoint in starter.checkpoints),
        traps=tuple(Trap(change(t.belief), change(t.why)) for t in starter.traps),
        interview=tuple(map(change, starter.interview)), intuition=tuple(map(change, starter.intuition)),
        excerpts=tuple(replace(e, annotations=tuple(replace(a, text=change(a.text)) for a in e.annotations))
                       for e in starter.excerpts),
        steps=tuple(replace(step, title=change(step.title), text=change(step.text)) for step in starter.steps),
        figures=tuple(replace(f, title=change(f.title), caption=change(f.caption)) for f in starter.figures))


def output_line(output: str, text: str) -> int | None:
    """The number of the first line of a recorded output that contains `text`."""
    return next((number for number, line in enumerate(output.split("\n"), 1) if text in line), None)


def decode_starter(data: bytes, path: str, lab: str | None = None) -> str:
    """Check that raw starter bytes are a reasonable UTF-8 text file and return the text."""
    problems = Problems(path, lab)
    if len(data) > MAX_STARTER_BYTES:
        problems.add(
            None,
            f"the starter is {len(data):,} bytes; starters are limited to {MAX_STARTER_BYTES:,}.",
            "keep a starter a short, readable program; move data into code it generates.",
        )
    elif b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        problems.add(line, "the starter looks like a binary file (it has a NUL byte).",
                       "point `starter` at a Python source file.")
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            problems.add(line, f"the starter is not valid UTF-8 (byte {data[exc.start]:#04x}).",
                           "save the file as UTF-8 in your editor.")
    raise AuthorError(problems)


def split_lines(text: str) -> tuple[str, ...]:
    """Split like an editor numbers lines: on \\n, \\r\\n and \\r only (not on \\f or \\u2028)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)


def parse_starter(text: str, path: str, lab: str | None = None) -> Starter:
    """Parse starter source text; raise AuthorError listing every problem found."""
    problems = Problems(path, lab)
    lines = split_lines(text)
    if not any(line.strip() for line in lines):
        problems.add(None, "the starter is empty.",
                       "write the lab's program with its `# lab:` blocks (see the authoring page).")
        raise AuthorError(problems)
    _check_python(text, problems)
    comments = find_comments(lines)
    blocks, regions = _scan(lines, comments, problems)
    starter = _assemble(path, lines, blocks, regions, comments, problems)
    problems.raise_if_any()
    return starter


def _check_python(text: str, problems: Problems) -> None:
    try:
        compile(text, problems.file, "exec", dont_inherit=True)
    except SyntaxError as exc:
        problems.add(exc.lineno, f"the starter is not valid Python: {exc.msg}.",
                       "fix the syntax so that `python <starter>` runs.")
    except ValueError as exc:
        problems.add(None, f"the starter is not valid Python: {exc}.", "remove the stray bytes.")


def code_digest(lines: tuple[str, ...], comments: Comments) -> str:
    """A digest of a starter's code without its comments: editing a note or a declaration does
    not make recorded data stale, editing what computes it does. (Made while parsing, from the
    comments the parser found: tokenizing a starter is most of parsing it.)"""
    code = []
    for number, line in enumerate(lines, 1):
        if number in comments.whole_lines or not line.strip():
            continue
        trailing = comments.trailing.get(number)
        code.append(line[: line.rindex(trailing)].rstrip() if trailing else line.rstrip())
    return hashlib.sha256("\n".join(code).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Comments:
    """Where a starter has comments, as Python reads it: whole-line comments (which may be
    directives or block text) and the comment that ends a code line (which may be a marker)."""

    whole_lines: frozenset[int]
    trailing: dict[int, str]


def find_comments(lines: tuple[str, ...]) -> Comments:
    """Comments found with `tokenize`, so `# lab:` inside a string is text, not a directive.
    A file Python cannot read falls back to lines that look like comments, so that its other
    problems are still reported."""
    whole: set[int] = set()
    trailing: dict[int, str] = {}
    source = io.StringIO("\n".join(lines) + "\n")
    try:
        for token in tokenize.generate_tokens(source.readline):
            if token.type == tokenize.COMMENT:
                row, column = token.start
                if token.line[:column].strip():
                    trailing[row] = token.string
                else:
                    whole.add(row)
    except (tokenize.TokenError, SyntaxError):
        whole = {n for n, line in enumerate(lines, 1) if line.lstrip().startswith("#")}
        trailing = {n: line[line.index("#"):] for n, line in enumerate(lines, 1)
                    if n not in whole and "#" in line}
    return Comments(frozenset(whole), trailing)


def _comment_text(line: str) -> str | None:
    """The text of a full-line comment (one '#' and one space removed), else None."""
    stripped = line.lstrip()
    if not stripped.startswith("#"):
        return None
    body = stripped[1:]
    return body[1:] if body.startswith(" ") else body


def _scan(lines: tuple[str, ...], comments: Comments,
          problems: Problems) -> tuple[list[_Block], list[tuple[str, int, int]]]:
    """Split the file into directive blocks and excerpt regions (name, first line, last line)."""
    blocks: list[_Block] = []
    regions: list[tuple[str, int, int]] = []
    current: _Block | None = None
    region: tuple[str, int] | None = None
    for number, line in enumerate(lines, start=1):
        is_comment = number in comments.whole_lines
        match = _DIRECTIVE.match(line) if is_comment else None
        if match:
            current = None
            name, args = match["name"], (match["args"] or "")
            if name == "begin":
                region = _begin(region, args, number, problems)
            elif name == "end":
                region = _end(region, args, number, regions, problems)
            elif name in BLOCKS:
                if region is not None:
                    problems.add(number, f"`# lab:{name}` is inside the excerpt `{region[0]}`.",
                                   f"move it above `# lab:begin {region[0]}` or below its `# lab:end`.")
                current = _Block(name, args, number)
                blocks.append(current)
            else:
                problems.add(number, f"unknown directive `# lab:{name}`.", _directive_fix(name))
            continue
        text = _comment_text(line) if is_comment else None
        if current is not None and text is not None:
            current.body.append((number, text))
        else:
            current = None
    if region is not None:
        problems.add(region[1] - 1, f"the excerpt `{region[0]}` is opened but never closed.",
                       f"add `# lab:end {region[0]}` after its last line.")
    return blocks, regions


def _begin(region: tuple[str, int] | None, name: str, number: int,
           problems: Problems) -> tuple[str, int] | None:
    if region is not None:
        problems.add(number, f"the excerpt `{name}` starts inside the excerpt `{region[0]}`; "
                       "excerpts cannot nest.", f"close `{region[0]}` with `# lab:end {region[0]}` first.")
        return region
    if not _REGION_NAME.match(name):
        problems.add(number, f"`# lab:begin` needs an excerpt name like `main`, got `{name}`.",
                       "write `# lab:begin <name>` with lowercase letters, digits, `-` or `_`.")
    return (name, number + 1)


def _end(region: tuple[str, int] | None, name: str, number: int,
         regions: list[tuple[str, int, int]], problems: Problems) -> tuple[str, int] | None:
    if region is None:
        problems.add(number, f"`# lab:end {name}` closes an excerpt that was never opened.",
                       f"add `# lab:begin {name}` above the excerpt's first line, or remove this line.")
        return None
    if name != region[0]:
        problems.add(number, f"`# lab:end {name}` does not match the open excerpt `{region[0]}`.",
                       f"write `# lab:end {region[0]}`.")
    if any(existing[0] == region[0] for existing in regions):
        problems.add(region[1] - 1, f"the excerpt name `{region[0]}` is used twice.",
                       "give each excerpt its own name.")
    regions.append((region[0], region[1], number - 1))
    return None


def _directive_fix(word: str) -> str:
    close = suggest(word, DIRECTIVES)
    known = ", ".join(f"`{c}`" for c in DIRECTIVES)
    return f"did you mean `# lab:{close}`?" if close else f"use one of {known}."


def _assemble(path: str, lines: tuple[str, ...], blocks: list[_Block],
              regions: list[tuple[str, int, int]], comments: Comments, problems: Problems) -> Starter:
    single: dict[str, _Block] = {}
    notes: dict[str, _Block] = {}
    explains: list[_Block] = []
    figures: dict[str, FigureSpec] = {}
    for block in blocks:
        if block.kind == "figure":
            if block.args in figures:
                problems.add(block.line, f"a second `# lab:figure {block.args}` block.",
                             "give each figure its own name.")
            elif figure := parse_figure(block.args, block.line, block.body, problems):
                figures[figure.name] = figure
        elif block.kind == "notes":
            if block.args in notes:
                problems.add(block.line, f"a second `# lab:notes {block.args}` block.",
                               "merge the notes of one excerpt into one block.")
            notes[block.args] = block
        elif block.kind == "explain":
            explains.append(block)
        elif block.kind in single:
            problems.add(block.line, f"a second `# lab:{block.kind}` block "
                           f"(the first is on line {single[block.kind].line}).", "keep one and merge them.")
        else:
            single[block.kind] = block
    for kind in REQUIRED_BLOCKS:
        if kind not in single:
            problems.add(None, f"the starter has no `# lab:{kind}` block.",
                           f"add a `# lab:{kind}` block near the top (see the authoring page).")
    if not regions and not any(p.message.startswith("the excerpt") for p in problems):
        problems.add(None, "the starter has no excerpt.",
                       "wrap the lines to show in `# lab:begin <name>` ... `# lab:end <name>`.")

    excerpts = tuple(_excerpt(name, start, end, lines, comments, notes.pop(name, None), problems)
                     for name, start, end in regions)
    for name, block in notes.items():
        problems.add(block.line, f"`# lab:notes {name}` names no excerpt.",
                       _name_fix(name, [e.name for e in excerpts]))
    return Starter(
        path=path,
        lines=lines,
        goal=_paragraph(single.get("goal"), problems),
        mental_model=_items(single.get("mental-model"), problems),
        checkpoints=_checkpoints(single.get("checkpoints"), excerpts, problems),
        traps=_traps(single.get("traps"), problems),
        interview=_paragraphs(single.get("interview"), problems),
        intuition=_items(single.get("intuition"), problems),
        excerpts=excerpts,
        steps=tuple(step for block in explains if (step := _step(block, excerpts, problems))),
        figures=tuple(figures.values()),
        code_digest=code_digest(lines, comments),
        code_lines=frozenset(n for n, line in enumerate(lines, 1) if line.strip() and n not in comments.whole_lines),
        references=line_references(lines, comments, blocks),
        prose_lines=prose_lines(lines, comments),
    )


_NOT_PROSE = re.compile(r"^\s*#\s?(?:lab:(?:begin|end)\b.*|lab:explain\s+\d+(?:\s*-\s*\d+)?|\s*(?:see|predict):.*"
                        r"|(?:kind|x|y|x2|color|label|control|default|x-scale|y-scale):.*)")


def prose_lines(lines: tuple[str, ...], comments: Comments) -> tuple[tuple[int, str], ...]:
    """Every comment, whole-line or trailing, less excerpt bounds, explanation ranges, `see:`
    fields (line numbers and quoted output) and a figure's settings other than its title and
    caption: the text whose numbers a learner takes as values."""
    found = ((number, _NOT_PROSE.sub("", text)) for number, text in _comment_texts(lines, comments))
    return tuple((number, text) for number, text in found if text.strip())


def _comment_texts(lines: tuple[str, ...], comments: Comments) -> Iterator[tuple[int, str]]:
    """Each comment with its line number: a whole line, or the trailing part of a code line."""
    for number in sorted(comments.whole_lines | comments.trailing.keys()):
        yield number, comments.trailing.get(number) or lines[number - 1]


def line_references(lines: tuple[str, ...], comments: Comments, blocks: list[_Block]) -> tuple[LineReference, ...]:
    """Every `line N`, `lines N-M` or `lines N, M and K` written in a comment, and every
    `see: line(s)` of a checkpoint.
    The ranges of `# lab:explain` headers are checked where they are parsed."""
    found = []
    explain_headers = {block.line for block in blocks if block.kind == "explain"}
    for number, text in _comment_texts(lines, comments):
        if number in explain_headers:
            continue
        for match in _LINE_REFERENCE.finditer(text):
            for span in _SPAN_PARTS.finditer(match["spans"]):
                start = int(span["start"])
                shown = match.group(0) if span.start() == 0 and span.end() == len(match["spans"]) else \
                    f"line {span.group(0)}"
                found.append(LineReference(number, start, int(span["end"] or start), shown))
    return tuple(found)


def _name_fix(name: str, names: list[str]) -> str:
    if close := suggest(name, names):
        return f"did you mean `{close}`?"
    return f"use the name of an excerpt: {', '.join(names) or '(none defined)'}."


def _texts(block: _Block) -> list[tuple[int, str]]:
    head = [(block.line, block.args)] if block.args and block.kind not in ("notes", "explain") else []
    return head + block.body


def _paragraphs(block: _Block | None, problems: Problems) -> tuple[str, ...]:
    if block is None:
        return ()
    paragraphs: list[list[str]] = [[]]
    for _, text in _texts(block):
        if text.strip():
            paragraphs[-1].append(text.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    result = tuple(" ".join(p) for p in paragraphs if p)
    if not result:
        problems.add(block.line, f"the `# lab:{block.kind}` block is empty.",
                       f"write its text on the comment lines below `# lab:{block.kind}`.")
    return result


def _paragraph(block: _Block | None, problems: Problems) -> str:
    return " ".join(_paragraphs(block, problems))


def _list_entries(block: _Block, start: re.Pattern[str], problems: Problems,
                  example: str) -> list[tuple[int, re.Match[str], list[str]]]:
    """Group a block's lines into entries: a line matching `start`, then indented continuations."""
    entries: list[tuple[int, re.Match[str], list[str]]] = []
    for number, text in _texts(block):
        if not text.strip():
            continue
        match = start.match(text)
        if match:
            entries.append((number, match, []))
        elif text.startswith(" ") and entries:
            entries[-1][2].append(text.strip())
        else:
            problems.add(number, f"`{text.strip()[:60]}` in `# lab:{block.kind}` is not an entry.",
                           f"start each entry with `{example}` and indent its continuation lines.")
    if not entries:
        problems.add(block.line, f"the `# lab:{block.kind}` block has no entries.",
                       f"add at least one `# {example}` line below it.")
    return entries


_ITEM = re.compile(r"^- (?P<text>.*)$")


@dataclass
class _Entry:
    """One `- item` of a list block, with the `key: text` fields indented below it."""

    line: int
    text: str
    fields: dict[str, str]


def _entries(block: _Block | None, problems: Problems) -> list[_Entry]:
    if block is None:
        return []
    allowed = ENTRY_FIELDS.get(block.kind, ())
    entries = []
    for number, match, more in _list_entries(block, _ITEM, problems, "- text"):
        parts: dict[str, list[str]] = {"": [match["text"].strip()]}
        current = ""
        for extra in more:
            field_match = _FIELD.match(extra)
            if field_match and field_match["key"].lower() in allowed:
                current = field_match["key"].lower()
                parts[current] = [field_match["text"].strip()]
            elif field_match:
                key = field_match["key"].lower()
                problems.add(number, f"`{key}:` does not belong in `# lab:{block.kind}`.", _field_fix(key))
            else:
                parts[current].append(extra)
        text = " ".join(parts.pop("")).strip()
        if not text:
            problems.add(number, f"an empty item in `# lab:{block.kind}`.", "write its text after `- `.")
        entries.append(_Entry(number, text, {key: " ".join(words).strip() for key, words in parts.items()}))
    return entries


def _field_fix(key: str) -> str:
    owners = [kind for kind, keys in ENTRY_FIELDS.items() if key in keys]
    return f"move the item to `# lab:{owners[0]}`, or remove the `{key}:` line."


def _items(block: _Block | None, problems: Problems) -> tuple[str, ...]:
    return tuple(entry.text for entry in _entries(block, problems))


def _traps(block: _Block | None, problems: Problems) -> tuple[Trap, ...]:
    traps = []
    for entry in _entries(block, problems):
        if not entry.fields.get("why"):
            problems.add(entry.line, f"the misunderstanding `{entry.text[:60]}` is not refuted.",
                           "add an indented `why:` line that says why it is wrong, pointing at a line "
                           "or a printed number where you can.")
        traps.append(Trap(entry.text, entry.fields.get("why", "")))
    return tuple(traps)


def _checkpoints(block: _Block | None, excerpts: tuple[Excerpt, ...], problems: Problems) -> tuple[Checkpoint, ...]:
    checkpoints = []
    for entry in _entries(block, problems):
        if entry.text and not entry.text.endswith("?"):
            problems.add(entry.line, f"the checkpoint `{entry.text[:60]}` is a statement, not a question.",
                           "ask what the learner should predict or find (a number, a shape, which line "
                           "does what), end it with `?`, and put the answer on an `answer:` line.")
        if not entry.fields.get("answer"):
            problems.add(entry.line, f"the checkpoint `{entry.text[:60]}` has no answer.",
                           "add an indented `answer: ...` line below the question.")
        evidence = _evidence(entry, excerpts, problems)
        checkpoints.append(Checkpoint(entry.text, entry.fields.get("answer", ""), evidence, entry.line,
                                      _prediction(entry, evidence, problems)))
    return tuple(checkpoints)


def _prediction(entry: _Entry, evidence: Evidence, problems: Problems) -> Prediction | None:
    """`predict: number N, within T%`: the answer is the N-th number of the output line `see:` names."""
    written = entry.fields.get("predict")
    if written is None:
        return None
    match = _PREDICT.match(written)
    if not match or int(match["number"]) < 1:
        problems.add(entry.line, f"`predict: {written[:60]}` is not `predict: number N, within T%`.",
                     "write which number of the output line holds the answer (counting from 1) and how far "
                     "off a prediction may be, e.g. `predict: number 3, within 10%`.")
        return None
    if not evidence.in_output:
        problems.add(entry.line, f"the checkpoint `{entry.text[:60]}` predicts a number but names no output line.",
                     'write `see: output "text"` with a piece of the output line that prints the answer.')
        return None
    return Prediction(int(match["number"]), float(match["tolerance"]) / 100)


def _evidence(entry: _Entry, excerpts: tuple[Excerpt, ...], problems: Problems) -> Evidence:
    """Where the page points the learner to check an answer: `see: line 12`, `see: lines 12-14`
    or `see: output "text"` (a piece of one line of the recorded output)."""
    see = entry.fields.get("see", "")
    example = '`see: line 12`, `see: lines 12-14` or `see: output "text printed by the starter"`'
    if not see:
        problems.add(entry.line, f"the checkpoint `{entry.text[:60]}` does not say what settles it.",
                       f"add an indented {example} line below its answer.")
        return Evidence()
    if output := _SEE_OUTPUT.match(see):
        return Evidence(output_text=output["text"])
    lines = _SEE_LINES.match(see)
    if not lines:
        problems.add(entry.line, f"`see: {see[:60]}` names neither lines nor output.", f"write {example}.")
        return Evidence()
    start, end = int(lines["start"]), int(lines["end"] or lines["start"])
    if end < start or not any(e.contains(start) and e.contains(end) for e in excerpts):
        problems.add(entry.line, f"`see: {see}` is not inside one excerpt ({_spans(excerpts)}).",
                       "point at lines the page shows; line numbers shift when you edit above them.")
    return Evidence(start, end)


def _spans(excerpts: tuple[Excerpt, ...]) -> str:
    return "excerpts: " + (", ".join(f"{e.name} {e.start}-{e.end}" for e in excerpts) or "none")


def _excerpt(name: str, start: int, end: int, lines: tuple[str, ...], comments: Comments,
             notes: _Block | None, problems: Problems) -> Excerpt:
    body = lines[start - 1:end]
    if not any(line.strip() for line in body):
        problems.add(start - 1, f"the excerpt `{name}` is empty.",
                       f"put code between `# lab:begin {name}` and `# lab:end {name}`.")
    markers = []
    for number in range(start, end + 1):
        if (match := _MARKER.search(comments.trailing.get(number, ""))):
            markers.append((int(match["number"]), number))
    texts = _note_texts(notes, problems) if notes else {}
    expected = list(range(1, len(markers) + 1))
    if [number for number, _ in markers] != expected:
        # One slip (a skipped or repeated number) is one problem, not one per unmatched note.
        found = ", ".join(f"({n}) on line {ln}" for n, ln in markers)
        notes_written = ", ".join(f"({n})" for n in sorted(texts)) or "none"
        problems.add(markers[0][1], f"the annotation markers of excerpt `{name}` are {found}; its notes are "
                     f"{notes_written}.", "number the markers (1), (2), ... in order from the top of the "
                     "excerpt, with one note for each.")
        return Excerpt(name, start, body, tuple(Annotation(n, ln, texts[n][1]) for n, ln in markers if n in texts))
    annotations = []
    for number, line in markers:
        if number not in texts:
            problems.add(line, f"the marker ({number}) in excerpt `{name}` has no note text.",
                           f"add `# ({number}) <text>` to a `# lab:notes {name}` block below the excerpt.")
        else:
            annotations.append(Annotation(number, line, texts.pop(number)[1]))
    for number, (line, _) in texts.items():
        problems.add(line, f"the note ({number}) has no marker in excerpt `{name}`.",
                       f"end the annotated code line with `# ({number})`, or remove the note.")
    return Excerpt(name, start, body, tuple(annotations))


def _note_texts(block: _Block, problems: Problems) -> dict[int, tuple[int, str]]:
    texts: dict[int, tuple[int, str]] = {}
    for number, match, more in _list_entries(block, _NOTE, problems, "(1) text"):
        text = " ".join([match["text"].strip(), *more]).strip()
        if not text:
            problems.add(number, f"the note ({match['number']}) is empty.",
                           "write what the marked line does after the number.")
        texts[int(match["number"])] = (number, text)
    return texts


def _step(block: _Block, excerpts: tuple[Excerpt, ...], problems: Problems) -> Step | None:
    match = _RANGE.match(block.args)
    if not match:
        problems.add(block.line, f"`# lab:explain {block.args}` does not name a line range.",
                       "write `# lab:explain 12-18 Short title` with the starter's own line numbers.")
        return None
    start = int(match["start"])
    end = int(match["end"] or start)
    title = (match["title"] or "").strip()
    home = next((e for e in excerpts if e.contains(start)), None)
    if end < start or home is None or not home.contains(end):
        problems.add(block.line, f"lines {start}-{end} are not inside one excerpt ({_spans(excerpts)}).",
                       "name lines of a single excerpt; line numbers shift when you edit above them.")
        return None
    text = " ".join(text.strip() for _, text in block.body if text.strip())
    if not title or not text:
        problems.add(block.line, f"the explanation of lines {start}-{end} needs a title and a text.",
                       "write the title after the range and the explanation on the comment lines below.")
        return None
    return Step(start, end, title, text, home.name)


_CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NAME = re.compile(r"\b[A-Z][A-Z0-9_]*\b")


@dataclass(frozen=True)
class Constant:
    """A module-level constant an excerpt uses but does not define: its names, line and code."""

    line: int
    code: str


def constants_used(starter: Starter) -> dict[str, list[Constant]]:
    """For each excerpt (by name), the starter's top-level constants (ALL_CAPS names assigned at
    module level) that its code reads but that are assigned outside it, in the order of the file:
    the values a reader needs beside the excerpt. The file is parsed once for all its excerpts."""
    try:
        module = ast.parse("\n".join(starter.lines))
    except SyntaxError:  # the starter's own check reports it
        return {excerpt.name: [] for excerpt in starter.excerpts}
    assigned = []  # (first line, last line, names) of each top-level assignment of constants only
    for node in module.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {each.id for target in targets for each in ast.walk(target) if isinstance(each, ast.Name)}
            if names and all(_CONSTANT.match(name) for name in names):
                assigned.append((node.lineno, node.end_lineno or node.lineno, names))
    found: dict[str, list[Constant]] = {}
    for excerpt in starter.excerpts:
        inside = range(excerpt.start, excerpt.end + 1)
        used = {name for number in inside if number in starter.code_lines
                for name in _NAME.findall(_code_part(starter.lines[number - 1]))}
        found[excerpt.name] = []
        for first, last, names in assigned:
            if first not in inside and used & names:
                text = _code_part(starter.lines[first - 1]).rstrip()
                found[excerpt.name].append(Constant(first, text if last == first else text + " …"))
    return found


def _code_part(line: str) -> str:
    """A line without its trailing comment (a `#` outside a string)."""
    if "#" not in line:
        return line  # most lines: no need to tokenize
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError):
        return line
    comment = next((token for token in tokens if token.type == tokenize.COMMENT), None)
    return line[:comment.start[1]] if comment else line
