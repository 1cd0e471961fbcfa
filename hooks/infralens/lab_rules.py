"""The rules a lab must meet beyond the starter format: enough of each section for a learner,
code a learner can run with numpy alone, line references that point at code, planted bugs, and
sources. `infralens check`, strict builds and the tests all apply these same functions; the
authoring page lists `RULES` (placed where it writes `[[lab rules]]`), so the page and the check
cannot disagree.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .errors import Problem
from .handbook import DocsPages, figure_references, headings, outside_fences
from .model import Lab, Registry
from .paths import GENERATED_SECTIONS
from .registry import REGISTRY_FILE
from .starter import LineReference, Starter

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Rule:
    id: str
    text: str  # Markdown, as the authoring page states it


MIN_MENTAL_MODEL = 3
MIN_CHECKPOINTS = 3
MIN_TRAPS = 2
INTERVIEW_SENTENCES = (4, 8)
MAX_EXCERPT_LINES = 40
MIN_READING = 2
MIN_CHAPTER_WORDS = 600
# What a starter may import: numpy and Python's standard library, which every learner has.
THIRD_PARTY_ALLOWED = frozenset({"numpy"})

# Every piece of guidance text the scaffold writes starts like this, so none can be published.
PLACEHOLDER = re.compile(r"\bReplace (?:with|this)\b")

RULES = (
    Rule("finished", "No text the scaffold wrote (`Replace with ...`) is left in the starter, its planted bugs, "
                     "its registry entry or its handbook section."),
    Rule("mental-model", f"The `# lab:mental-model` block has at least {MIN_MENTAL_MODEL} items."),
    Rule("checkpoints", f"The `# lab:checkpoints` block has at least {MIN_CHECKPOINTS} questions."),
    Rule("traps", f"The `# lab:traps` block has at least {MIN_TRAPS} misunderstandings."),
    Rule("interview", f"The `# lab:interview` text is {INTERVIEW_SENTENCES[0]} to {INTERVIEW_SENTENCES[1]} "
                      "sentences, and neither it nor its first sentence repeats another lab's."),
    Rule("excerpts", f"Each excerpt is at most {MAX_EXCERPT_LINES} lines (it and its notes fit one screen), "
                     "has at least one annotated line and at least one `# lab:explain` range."),
    Rule("imports", "The starter imports only numpy and Python's standard library."),
    Rule("figures", "The starter declares at least one figure (`# lab:figure`), drawn from data it computes."),
    Rule("explorations", "Each figure with a `control:` (an exploration) has a `says:` sentence that answers what "
                         "the control asks at each of its values, citing the values drawn as `{{column}}` or "
                         "`{{column|key=value}}` (the rows shown at that value, in the column's format): the page "
                         "shows it beside the control and rewrites it as the reader moves it. A figure without a "
                         "control has no `says:`."),
    Rule("predictions", "At least one checkpoint asks for a number before showing it: under a checkpoint whose "
                        "answer the output prints (`see: output \"text\"`), `predict: number N, within T%` names the "
                        "N-th number of that output line (counting from 1; `1,270.3`, `7.86e-02` and `50.0%` are one "
                        "number each) and how far off a prediction may be (`within 0%`: equal as printed). The page "
                        "takes the answer from the recorded output, so it follows the program."),
    Rule("line-references", "Every `line N` or `lines N-M` written in a comment or a `see:` field points at "
                            "code: lines of the starter that are neither blank nor only a comment. When an edit "
                            "moves a referenced line, the check names the reference and the line it moved to "
                            "(it compares with the lines recorded by `infralens outputs`)."),
    Rule("prose-numbers", "Every decimal, and every whole number of three or more significant digits, written in "
                          "a starter's comments or on its chapter's handbook page is a value the lab prints, draws "
                          "(its figure data) or writes in its code, at the digits written (in the same unit, as a "
                          "percentage, or scaled by powers of 1000 or 1024 for a value written in code), or a "
                          "figure declared under its source in the registry entry (`numbers:`). Line, section, table "
                          "and equation numbers, years and arXiv ids are not values. `{{figure.column|key=value}}` "
                          "cites a value of the figure data, shown in the column's format."),
    Rule("planted-bugs", "The lab has a planted-bugs file beside its starter (`<name>.bugs.yaml`) with at least "
                         "one bug whose `replace` text occurs exactly once in the starter. `infralens mutate` "
                         "(and `make test`) runs each and expects an `AssertionError`."),
    Rule("reading", f"The registry entry lists at least {MIN_READING} readings, at least one of kind `paper` or "
                    "`official`."),
    Rule("handbook-section", "The registry entry's `handbook` names a section of its chapter's page "
                             "(`handbook/<page>.md#<heading-anchor>`): each lab is taught by its own section."),
    Rule("chapter-page", f"Each chapter's handbook page has at least {MIN_CHAPTER_WORDS} words of prose and shows "
                         "one of its labs' figures (`[[figure <lab-id>/<figure>]]` on a line of its own)."),
    Rule("site-pages", "The home page keeps its headings `Start here`, `Chapters` and `Your progress`, and the "
                       "handbook's index its `Chapters`: the site lists where to start, the chapters and the "
                       "learner's progress under them (a renamed heading must keep its anchor, e.g. "
                       "`## Where to begin {#start-here}`)."),
)


def placeholder_lines(lines: Iterable[str]) -> list[int]:
    """The (1-based) numbers of the lines that still hold the scaffold's guidance text."""
    return [number for number, line in enumerate(lines, 1) if PLACEHOLDER.search(line)]


def rule_fix(text: str, rule: str) -> str:
    return f"{text} (rule `{rule}` on the authoring page)."


def starter_problems(lab: Lab, starter: Starter) -> list[Problem]:
    """The rules one starter must meet on its own; they depend on its text alone."""
    problems: list[Problem] = []

    def add(message: str, fix: str, rule: str, line: int | None = None) -> None:
        problems.append(Problem(lab.starter, message, rule_fix(fix, rule), line=line, lab=lab.id))

    counts = (("mental-model", "the mental model", len(starter.mental_model), MIN_MENTAL_MODEL, "items"),
              ("checkpoints", "the checkpoints block", len(starter.checkpoints), MIN_CHECKPOINTS, "questions"),
              ("traps", "the traps block", len(starter.traps), MIN_TRAPS, "misunderstandings"))
    for rule, what, count, minimum, unit in counts:
        if count < minimum:
            add(f"{what} has {count} {unit}; a lab needs at least {minimum}.", f"add {minimum - count} more", rule)
    low, high = INTERVIEW_SENTENCES
    if not low <= (count := sentences(" ".join(starter.interview))) <= high:
        add(f"the interview text is {count} sentence{'s' * (count != 1)} long.",
            f"say it in {low} to {high} sentences", "interview")
    for excerpt in starter.excerpts:
        at = excerpt.start - 1  # its `# lab:begin` line
        if len(excerpt.lines) > MAX_EXCERPT_LINES:
            add(f"the excerpt `{excerpt.name}` is {len(excerpt.lines)} lines long.",
                f"split it into excerpts of at most {MAX_EXCERPT_LINES} lines", "excerpts", at)
        if not excerpt.annotations:
            add(f"the excerpt `{excerpt.name}` has no annotated line.",
                "end a key line with `# (1)` and explain it in `# lab:notes`", "excerpts", at)
        if not any(step.excerpt == excerpt.name for step in starter.steps):
            add(f"no `# lab:explain` range explains the excerpt `{excerpt.name}`.",
                f"add `# lab:explain {excerpt.start}-{excerpt.end} <title>` with a paragraph", "excerpts", at)
    if not starter.figures:
        add("the starter declares no figure.", "draw what the program computes: declare a `# lab:figure` and "
            "return its table from `figures()` (see Figures on the authoring page)", "figures")
    problems.extend(_import_problems(lab, starter))
    problems.extend(_reference_problems(lab, starter))
    return problems


def sentences(text: str) -> int:
    """Sentences end in . ! or ? before a space or the end; common abbreviations do not count."""
    text = re.sub(r"\b(?:e\.g|i\.e|vs|et al|approx|cf)\.", "", text)
    return len([part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part])


_IMPORT = re.compile(r"^\s*(?:import|from)\s+(\w+)")


def _import_problems(lab: Lab, starter: Starter) -> list[Problem]:
    allowed = THIRD_PARTY_ALLOWED | sys.stdlib_module_names
    return [Problem(lab.starter, f"the starter imports `{module}`, which a learner with numpy alone does not have.",
                    rule_fix("compute it with numpy or the standard library", "imports"), line=number, lab=lab.id)
            for number in sorted(starter.code_lines)
            if (match := _IMPORT.match(starter.lines[number - 1])) and (module := match[1]) not in allowed]


def _reference_problems(lab: Lab, starter: Starter) -> list[Problem]:
    problems = []
    last = len(starter.lines)
    for reference in starter.references:
        wrong = [n for n in {reference.start, reference.end} if n not in starter.code_lines]
        if reference.end < reference.start or reference.end > last:
            message = f"`{reference.text}` is outside the starter, which has {last} lines."
        elif wrong:
            kind = ", ".join(f"{n} is {'blank' if not starter.lines[n - 1].strip() else 'a comment'}"
                             for n in sorted(wrong))
            message = f"`{reference.text}` points at no code: line {kind}."
        else:
            continue
        problems.append(Problem(lab.starter, message, rule_fix(
            f"point at the code line{'s' * (reference.end > reference.start)} meant"
            + (f" (nearest code: line {_nearest_code(starter, wrong[0])})" if wrong and reference.end <= last else "")
            + "; line numbers shift when you edit above them", "line-references"),
            line=reference.written_at, lab=lab.id))
    return problems


def _nearest_code(starter: Starter, line: int) -> int:
    return _nearest(starter.code_lines, line)


def _nearest(lines: Iterable[int], line: int) -> int:
    return min(lines, key=lambda n: (abs(n - line), n), default=line)


def _keyed_references(starter: Starter) -> list[tuple[str, LineReference]]:
    """Each reference with a key that survives a fix of its numbers: the comment it is written
    in with every number masked, and which such reference it is."""
    seen: Counter[str] = Counter()
    keyed = []
    for reference in starter.references:
        context = _NUMBER.sub("N", starter.lines[reference.written_at - 1].strip())
        seen[context] += 1
        keyed.append((context if seen[context] == 1 else f"{context} ({seen[context]})", reference))
    return keyed


def _span(reference: LineReference) -> list[int]:
    return sorted({reference.start, reference.end})


def recorded_lines(starter: Starter) -> dict[str, list[str]]:
    """What the lines each reference points at read now, for `moved_references` to compare with."""
    return {key: [starter.lines[n - 1].strip() for n in _span(reference)]
            for key, reference in _keyed_references(starter)
            if all(1 <= n <= len(starter.lines) for n in _span(reference))}


def moved_references(lab: Lab, starter: Starter, recorded: dict[str, list[str]]) -> list[Problem]:
    """References whose recorded line now sits elsewhere: an edit above moved it. `recorded`
    holds what each reference's lines read when `infralens outputs` last ran."""
    problems = []
    where: dict[str, list[int]] = {}
    for number, line in enumerate(starter.lines, 1):
        where.setdefault(line.strip(), []).append(number)
    for key, reference in _keyed_references(starter):
        was = recorded.get(key)
        if not was or len(was) != len(_span(reference)):
            continue  # a new reference, or one rewritten since: nothing to compare with
        for number, text in zip(_span(reference), was, strict=True):
            now = starter.lines[number - 1].strip() if number <= len(starter.lines) else ""
            if now == text or not where.get(text):
                continue  # unchanged, or the line itself was edited: the reference may still hold
            to = _nearest(where[text], number)
            problems.append(Problem(
                lab.starter, f"`{reference.text}` pointed at `{text[:60]}`, which is now line {to} "
                f"(line {number} reads `{now[:60]}`).",
                rule_fix(f"write line {to}, then run `infralens outputs {lab.id}` to record the lines again",
                         "line-references"), line=reference.written_at, lab=lab.id))
    return problems


def registry_problems(lab: Lab) -> list[Problem]:
    problems = []
    primary = any(reading.kind in ("paper", "official") for reading in lab.reading)
    if len(lab.reading) < MIN_READING or not primary:
        count = f"{len(lab.reading)} reading{'s' * (len(lab.reading) != 1)}"
        kinds = "" if primary else ", none a paper or official"
        problems.append(Problem(REGISTRY_FILE, f"the lab lists {count}{kinds}.",
                                rule_fix(f"cite at least {MIN_READING} sources by section, one of them the paper or "
                                         "official documentation the numbers come from", "reading"),
                                line=lab.line, lab=lab.id))
    if not lab.handbook_anchor:
        problems.append(Problem(REGISTRY_FILE, f"`handbook: {lab.handbook_page}` names a page, not a section.",
                                rule_fix("add a heading for this lab to the page and point at it: "
                                         f"`{lab.handbook_page}#<anchor>`", "handbook-section"),
                                line=lab.line, lab=lab.id))
    return problems


def curriculum_problems(registry: Registry, starters: dict[str, Starter], pages: DocsPages) -> list[Problem]:
    """Rules across labs and chapters."""
    problems = []
    seen_text: dict[str, str] = {}
    seen_first: dict[str, str] = {}
    for lab in registry.ordered_labs:
        if lab.id not in starters or not starters[lab.id].interview:
            continue
        text = " ".join(starters[lab.id].interview)
        first = text.split(". ")[0]
        for seen, key, what in ((seen_text, text, "interview text"), (seen_first, first, "interview's first sentence")):
            if key in seen:
                problems.append(Problem(lab.starter, f"the {what} is the same as lab `{seen[key]}`'s.",
                                        rule_fix("write this lab's own explanation", "interview"), lab=lab.id))
            seen.setdefault(key, lab.id)
    for chapter in registry.chapters:
        if (page := pages.texts.get(chapter.handbook)) is not None:
            problems.extend(_chapter_page_problems(pages.name(chapter.handbook), chapter.id, page))
    return problems


def site_page_problems(pages: DocsPages, slugify: Callable[[str, str], str]) -> list[Problem]:
    """Headings the site inserts generated lists under, missing from their page."""
    problems: list[Problem] = []
    for uri, anchors in GENERATED_SECTIONS.items():
        if (text := pages.texts.get(uri)) is None:
            continue  # MkDocs itself reports a missing page the navigation names
        found = {heading.anchor for heading in headings(text, slugify)}
        problems.extend(Problem(pages.name(uri), f"the page has no heading with the anchor `{anchor}`, "
                                "under which the site inserts a generated list.",
                                rule_fix(f"restore the heading, or give the new one the anchor: `{{#{anchor}}}`",
                                         "site-pages"))
                        for anchor in anchors if anchor not in found)
    return problems


def _chapter_page_problems(name: str, chapter: str, text: str) -> list[Problem]:
    problems = []
    if (words := prose_words(text)) < MIN_CHAPTER_WORDS:
        problems.append(Problem(name, f"the page of chapter `{chapter}` has {words} words of prose.",
                                rule_fix(f"teach the chapter in at least {MIN_CHAPTER_WORDS} words", "chapter-page")))
    if not figure_references(text):
        problems.append(Problem(name, f"the page of chapter `{chapter}` shows none of its labs' figures.",
                                rule_fix("place one where the text needs it, on a line of its own: "
                                         "`[[figure <lab-id>/<figure>]]`", "chapter-page")))
    if lines := placeholder_lines(text.split("\n")):
        problems.append(Problem(name, f"the page still has the scaffold's guidance text on line {lines[0]}.",
                                rule_fix("write the section that teaches the new lab in its place", "finished"),
                                line=lines[0]))
    return problems


def prose_words(markdown: str) -> int:
    text = "\n".join(line for _, line in outside_fences(markdown))
    prose = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text, flags=re.S)
    return len(re.findall(r"[A-Za-z][A-Za-z'-]*", prose))


def rules_markdown(rules: Iterable[Rule] = RULES) -> str:
    """The rules as the authoring page lists them."""
    return "\n".join(f"- **`{rule.id}`**: {rule.text}" for rule in rules)


RULES_REFERENCE = "[[lab rules]]"


def place_rules(markdown: str) -> str:
    """Replace a `[[lab rules]]` line with the list of rules."""
    return "\n".join(rules_markdown() if line.strip() == RULES_REFERENCE else line for line in markdown.split("\n"))
