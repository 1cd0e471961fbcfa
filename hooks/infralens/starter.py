"""Parse a starter file: plain Python whose `# lab:` comments carry the lab's teaching text.

The format is documented, with a complete example, on the site's authoring page
(docs/authoring.md). Every problem is collected, so an author sees all of them at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from .errors import AuthorError, Problem

MAX_STARTER_BYTES = 512 * 1024

BLOCKS = ("goal", "mental-model", "checkpoints", "traps", "interview", "notes", "explain")
DIRECTIVES = (*BLOCKS, "begin", "end")
REQUIRED_BLOCKS = ("goal", "mental-model", "checkpoints", "traps", "interview")

_DIRECTIVE = re.compile(r"^\s*#\s?lab:(?P<name>[A-Za-z-]*)(?:\s+(?P<args>.*?))?\s*$")
_REGION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# A code line that ends in a comment whose last token is "(N)": Material's annotation marker.
_MARKER = re.compile(r"#[^\n]*?\((?P<number>\d+)\)\s*$")
_NOTE = re.compile(r"^\((?P<number>\d+)\)\s*(?P<text>.*)$")
_RANGE = re.compile(r"^(?P<start>\d+)(?:\s*-\s*(?P<end>\d+))?(?:\s+(?P<title>.*))?$")
_ANSWER = re.compile(r"^answer:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Checkpoint:
    text: str
    answer: str = ""


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
    traps: tuple[str, ...]
    interview: tuple[str, ...]
    excerpts: tuple[Excerpt, ...]
    steps: tuple[Step, ...]


@dataclass
class _Block:
    kind: str
    args: str
    line: int
    body: list[tuple[int, str]] = field(default_factory=list)


class _Parser:
    def __init__(self, path: str, lab: str | None) -> None:
        self.path = path
        self.lab = lab
        self.problems: list[Problem] = []

    def problem(self, line: int | None, message: str, fix: str) -> None:
        self.problems.append(Problem(self.path, message, fix, line=line, lab=self.lab))


def decode_starter(data: bytes, path: str, lab: str | None = None) -> str:
    """Check that raw starter bytes are a reasonable UTF-8 text file and return the text."""
    parser = _Parser(path, lab)
    if len(data) > MAX_STARTER_BYTES:
        parser.problem(
            None,
            f"the starter is {len(data):,} bytes; starters are limited to {MAX_STARTER_BYTES:,}.",
            "keep a starter a short, readable program; move data into code it generates.",
        )
    elif b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        parser.problem(line, "the starter looks like a binary file (it has a NUL byte).",
                       "point `starter` at a Python source file.")
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            parser.problem(line, f"the starter is not valid UTF-8 (byte {data[exc.start]:#04x}).",
                           "save the file as UTF-8 in your editor.")
    raise AuthorError(parser.problems)


def split_lines(text: str) -> tuple[str, ...]:
    """Split like an editor numbers lines: on \\n, \\r\\n and \\r only (not on \\f or \\u2028)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)


def parse_starter(text: str, path: str, lab: str | None = None) -> Starter:
    """Parse starter source text; raise AuthorError listing every problem found."""
    parser = _Parser(path, lab)
    lines = split_lines(text)
    if not any(line.strip() for line in lines):
        parser.problem(None, "the starter is empty.",
                       "write the lab's program with its `# lab:` blocks (see the authoring page).")
        raise AuthorError(parser.problems)
    _check_python(text, parser)
    blocks, regions = _scan(lines, parser)
    starter = _assemble(path, lines, blocks, regions, parser)
    if parser.problems:
        raise AuthorError(parser.problems)
    return starter


def _check_python(text: str, parser: _Parser) -> None:
    try:
        compile(text, parser.path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        parser.problem(exc.lineno, f"the starter is not valid Python: {exc.msg}.",
                       "fix the syntax so that `python <starter>` runs.")
    except ValueError as exc:
        parser.problem(None, f"the starter is not valid Python: {exc}.", "remove the stray bytes.")


def _comment_text(line: str) -> str | None:
    """The text of a full-line comment (one '#' and one space removed), else None."""
    stripped = line.lstrip()
    if not stripped.startswith("#"):
        return None
    body = stripped[1:]
    return body[1:] if body.startswith(" ") else body


def _scan(lines: tuple[str, ...], parser: _Parser) -> tuple[list[_Block], list[tuple[str, int, int]]]:
    """Split the file into directive blocks and excerpt regions (name, first line, last line)."""
    blocks: list[_Block] = []
    regions: list[tuple[str, int, int]] = []
    current: _Block | None = None
    region: tuple[str, int] | None = None
    for number, line in enumerate(lines, start=1):
        match = _DIRECTIVE.match(line)
        if match:
            current = None
            name, args = match["name"], (match["args"] or "")
            if name == "begin":
                region = _begin(region, args, number, parser)
            elif name == "end":
                region = _end(region, args, number, regions, parser)
            elif name in BLOCKS:
                if region is not None:
                    parser.problem(number, f"`# lab:{name}` is inside the excerpt `{region[0]}`.",
                                   f"move it above `# lab:begin {region[0]}` or below its `# lab:end`.")
                current = _Block(name, args, number)
                blocks.append(current)
            else:
                parser.problem(number, f"unknown directive `# lab:{name}`.", _suggest(name, DIRECTIVES))
            continue
        text = _comment_text(line) if current is not None else None
        if text is None:
            current = None
        else:
            current.body.append((number, text))
    if region is not None:
        parser.problem(region[1] - 1, f"the excerpt `{region[0]}` is opened but never closed.",
                       f"add `# lab:end {region[0]}` after its last line.")
    return blocks, regions


def _begin(region: tuple[str, int] | None, name: str, number: int,
           parser: _Parser) -> tuple[str, int] | None:
    if region is not None:
        parser.problem(number, f"the excerpt `{name}` starts inside the excerpt `{region[0]}`; "
                       "excerpts cannot nest.", f"close `{region[0]}` with `# lab:end {region[0]}` first.")
        return region
    if not _REGION_NAME.match(name):
        parser.problem(number, f"`# lab:begin` needs an excerpt name like `main`, got `{name}`.",
                       "write `# lab:begin <name>` with lowercase letters, digits, `-` or `_`.")
    return (name, number + 1)


def _end(region: tuple[str, int] | None, name: str, number: int,
         regions: list[tuple[str, int, int]], parser: _Parser) -> tuple[str, int] | None:
    if region is None:
        parser.problem(number, f"`# lab:end {name}` closes an excerpt that was never opened.",
                       f"add `# lab:begin {name}` above the excerpt's first line, or remove this line.")
        return None
    if name != region[0]:
        parser.problem(number, f"`# lab:end {name}` does not match the open excerpt `{region[0]}`.",
                       f"write `# lab:end {region[0]}`.")
    if any(existing[0] == region[0] for existing in regions):
        parser.problem(region[1] - 1, f"the excerpt name `{region[0]}` is used twice.",
                       "give each excerpt its own name.")
    regions.append((region[0], region[1], number - 1))
    return None


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    known = ", ".join(f"`{c}`" for c in choices)
    return f"did you mean `# lab:{close[0]}`?" if close else f"use one of {known}."


def _assemble(path: str, lines: tuple[str, ...], blocks: list[_Block],
              regions: list[tuple[str, int, int]], parser: _Parser) -> Starter:
    single: dict[str, _Block] = {}
    notes: dict[str, _Block] = {}
    explains: list[_Block] = []
    for block in blocks:
        if block.kind == "notes":
            if block.args in notes:
                parser.problem(block.line, f"a second `# lab:notes {block.args}` block.",
                               "merge the notes of one excerpt into one block.")
            notes[block.args] = block
        elif block.kind == "explain":
            explains.append(block)
        elif block.kind in single:
            parser.problem(block.line, f"a second `# lab:{block.kind}` block "
                           f"(the first is on line {single[block.kind].line}).", "keep one and merge them.")
        else:
            single[block.kind] = block
    for kind in REQUIRED_BLOCKS:
        if kind not in single:
            parser.problem(None, f"the starter has no `# lab:{kind}` block.",
                           f"add a `# lab:{kind}` block near the top (see the authoring page).")
    if not regions and not any(p.message.startswith("the excerpt") for p in parser.problems):
        parser.problem(None, "the starter has no excerpt.",
                       "wrap the lines to show in `# lab:begin <name>` ... `# lab:end <name>`.")

    excerpts = tuple(_excerpt(name, start, end, lines, notes.pop(name, None), parser)
                     for name, start, end in regions)
    for name, block in notes.items():
        parser.problem(block.line, f"`# lab:notes {name}` names no excerpt.",
                       _name_fix(name, [e.name for e in excerpts]))
    return Starter(
        path=path,
        lines=lines,
        goal=_paragraph(single.get("goal"), parser),
        mental_model=_items(single.get("mental-model"), parser),
        checkpoints=tuple(Checkpoint(text, answer) for text, answer in
                          _items_with_answers(single.get("checkpoints"), parser)),
        traps=_items(single.get("traps"), parser),
        interview=_paragraphs(single.get("interview"), parser),
        excerpts=excerpts,
        steps=tuple(step for block in explains if (step := _step(block, excerpts, parser))),
    )


def _name_fix(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"did you mean `{close[0]}`?"
    return f"use the name of an excerpt: {', '.join(names) or '(none defined)'}."


def _texts(block: _Block) -> list[tuple[int, str]]:
    head = [(block.line, block.args)] if block.args and block.kind not in ("notes", "explain") else []
    return head + block.body


def _paragraphs(block: _Block | None, parser: _Parser) -> tuple[str, ...]:
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
        parser.problem(block.line, f"the `# lab:{block.kind}` block is empty.",
                       f"write its text on the comment lines below `# lab:{block.kind}`.")
    return result


def _paragraph(block: _Block | None, parser: _Parser) -> str:
    return " ".join(_paragraphs(block, parser))


def _list_entries(block: _Block, start: re.Pattern[str], parser: _Parser,
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
            parser.problem(number, f"`{text.strip()[:60]}` in `# lab:{block.kind}` is not an entry.",
                           f"start each entry with `{example}` and indent its continuation lines.")
    if not entries:
        parser.problem(block.line, f"the `# lab:{block.kind}` block has no entries.",
                       f"add at least one `# {example}` line below it.")
    return entries


_ITEM = re.compile(r"^- (?P<text>.*)$")


def _items_with_answers(block: _Block | None, parser: _Parser) -> list[tuple[str, str]]:
    if block is None:
        return []
    items = []
    for number, match, more in _list_entries(block, _ITEM, parser, "- text"):
        text, answer = [match["text"].strip()], []
        for extra in more:
            if answer or _ANSWER.match(extra):
                answer.append(_ANSWER.sub("", extra))
            else:
                text.append(extra)
        if not " ".join(text).strip():
            parser.problem(number, f"an empty item in `# lab:{block.kind}`.", "write its text after `- `.")
        items.append((" ".join(text), " ".join(answer)))
    return items


def _items(block: _Block | None, parser: _Parser) -> tuple[str, ...]:
    items = _items_with_answers(block, parser)
    if block is not None:
        for text, answer in items:
            if answer:
                parser.problem(block.line, f"`answer:` is only for checkpoints, not `# lab:{block.kind}`.",
                               "remove the answer or move the item to `# lab:checkpoints`.")
    return tuple(text for text, _ in items)


def _excerpt(name: str, start: int, end: int, lines: tuple[str, ...],
             notes: _Block | None, parser: _Parser) -> Excerpt:
    body = lines[start - 1:end]
    if not any(line.strip() for line in body):
        parser.problem(start - 1, f"the excerpt `{name}` is empty.",
                       f"put code between `# lab:begin {name}` and `# lab:end {name}`.")
    markers = []
    for offset, line in enumerate(body):
        if (match := _MARKER.search(line)) and not _DIRECTIVE.match(line):
            markers.append((int(match["number"]), start + offset))
    texts = _note_texts(notes, parser) if notes else {}
    expected = list(range(1, len(markers) + 1))
    if [number for number, _ in markers] != expected:
        found = ", ".join(f"({n}) on line {ln}" for n, ln in markers)
        parser.problem(markers[0][1], f"the annotation markers of excerpt `{name}` are {found}.",
                       "number the markers (1), (2), ... in order from the top of the excerpt.")
    annotations = []
    for number, line in markers:
        if number not in texts:
            parser.problem(line, f"the marker ({number}) in excerpt `{name}` has no note text.",
                           f"add `# ({number}) <text>` to a `# lab:notes {name}` block below the excerpt.")
        else:
            annotations.append(Annotation(number, line, texts.pop(number)[1]))
    for number, (line, _) in texts.items():
        parser.problem(line, f"the note ({number}) has no marker in excerpt `{name}`.",
                       f"end the annotated code line with `# ({number})`, or remove the note.")
    return Excerpt(name, start, body, tuple(annotations))


def _note_texts(block: _Block, parser: _Parser) -> dict[int, tuple[int, str]]:
    texts: dict[int, tuple[int, str]] = {}
    for number, match, more in _list_entries(block, _NOTE, parser, "(1) text"):
        text = " ".join([match["text"].strip(), *more]).strip()
        if not text:
            parser.problem(number, f"the note ({match['number']}) is empty.",
                           "write what the marked line does after the number.")
        texts[int(match["number"])] = (number, text)
    return texts


def _step(block: _Block, excerpts: tuple[Excerpt, ...], parser: _Parser) -> Step | None:
    match = _RANGE.match(block.args)
    if not match:
        parser.problem(block.line, f"`# lab:explain {block.args}` does not name a line range.",
                       "write `# lab:explain 12-18 Short title` with the starter's own line numbers.")
        return None
    start = int(match["start"])
    end = int(match["end"] or start)
    title = (match["title"] or "").strip()
    home = next((e for e in excerpts if e.contains(start)), None)
    if end < start or home is None or not home.contains(end):
        spans = ", ".join(f"{e.name} {e.start}-{e.end}" for e in excerpts) or "none"
        parser.problem(block.line, f"lines {start}-{end} are not inside one excerpt (excerpts: {spans}).",
                       "name lines of a single excerpt; line numbers shift when you edit above them.")
        return None
    text = " ".join(text.strip() for _, text in block.body if text.strip())
    if not title or not text:
        parser.problem(block.line, f"the explanation of lines {start}-{end} needs a title and a text.",
                       "write the title after the range and the explanation on the comment lines below.")
        return None
    return Step(start, end, title, text, home.name)
