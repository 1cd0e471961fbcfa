"""Everything one build needs, read from disk in one pass: registry, starters and their outputs.

Each build calls `load_project` afresh (under `mkdocs serve` the hook module lives on between
rebuilds, so nothing read from disk may be kept elsewhere). Problems are collected, not raised,
so that a build can report all of them and `mkdocs serve` can show them in the browser.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from markdown.extensions.toc import slugify as default_slugify

from .cache import DiskCache, project_cache
from .errors import AuthorError, Problem, suggest
from .explorations import exploration_problems
from .figure_data import check_recording, read_recording
from .figure_spec import Table
from .handbook import DocsPages, FigureReference, figure_references, first_sentence, headings, outside_fences
from .incremental import digest
from .lab_rules import (
    curriculum_problems,
    moved_references,
    placeholder_lines,
    registry_problems,
    site_page_problems,
    starter_problems,
)
from .mathml import Formulas, bad_formulas, formula_problems
from .model import Lab, Registry
from .paths import figure_data_path, lab_uri, output_path, planted_bugs_path, recorded_lines_path
from .planted_bugs import read_planted_bugs
from .predictions import prediction_problems
from .prose_numbers import KnownValues, known_values, number_problems, references_in, resolve_references
from .registry import REGISTRY_FILE, read_registry
from .starter import Starter, decode_starter, map_prose, output_line, parse_starter

EMPTY_REGISTRY = Registry(chapters=(), labs=())


@dataclass(frozen=True)
class Project:
    root: Path
    registry: Registry
    starters: dict[str, Starter]
    outputs: dict[str, str]
    problems: tuple[Problem, ...] = ()
    section_titles: dict[str, str] = field(default_factory=dict)  # lab id -> handbook section title
    # lab id -> figure name -> its recorded table, for labs whose recording has no problem
    figure_tables: dict[str, dict[str, Table]] = field(default_factory=dict)
    figures_made_from: dict[str, str] = field(default_factory=dict)  # lab id -> digest of what its figures show
    # docs-relative page -> the lab figures it places by reference
    figure_references: dict[str, list[FigureReference]] = field(default_factory=dict)
    docs_dir: Path = Path("docs")
    pages: DocsPages = field(default_factory=DocsPages)  # the author's pages, as this build read them

    @cached_property
    def minutes(self) -> dict[str, int]:
        """About how long each lab takes, from its length."""
        return {lab_id: starter.reading_minutes for lab_id, starter in self.starters.items()}

    @cached_property
    def chapter_summaries(self) -> dict[str, str]:
        """Each chapter's summary: the first sentence of its handbook page, as Markdown."""
        return {chapter.id: first_sentence(self.pages.texts.get(chapter.handbook, ""))
                for chapter in self.registry.chapters}

    @cached_property
    def labs_by_page(self) -> dict[str, list[Lab]]:
        pages: dict[str, list[Lab]] = {}
        for lab in self.registry.ordered_labs:
            pages.setdefault(lab.handbook_page, []).append(lab)
        return pages

    @cached_property
    def lab_pages(self) -> dict[str, Lab]:
        """Each lab by the address of its generated page."""
        return {lab_uri(lab): lab for lab in self.registry.labs}

    def is_complete(self, lab: Lab) -> bool:
        return lab.id in self.starters and lab.id in self.outputs

    def problems_of(self, lab: Lab) -> list[Problem]:
        return [problem for problem in self.problems if problem.lab == lab.id]


def load_project(root: Path, docs_dir: Path | None = None,
                 slugify: Callable[[str, str], str] = default_slugify, cache: DiskCache | None = None,
                 formulas: Formulas | None = None) -> Project:
    """Load and check the whole project, collecting every problem found. `formulas` keeps the
    formulas it converts while checking them, for the build that renders them next."""
    docs_dir = docs_dir or root / "docs"
    cache = cache or project_cache(root)
    formulas = formulas or Formulas()
    try:
        registry, problems = read_registry(root, docs_dir, cache)
    except AuthorError as error:
        return Project(root, EMPTY_REGISTRY, {}, {}, tuple(error.problems))
    problems.extend(_scaffold_text_in_registry(registry))
    pages = DocsPages.read(docs_dir)
    starters: dict[str, Starter] = {}
    outputs: dict[str, str] = {}
    figure_tables: dict[str, dict[str, Table]] = {}
    made_from: dict[str, str] = {}
    checked: dict[str, tuple[Starter, list[Problem]]] = {}  # lab id -> starter with values, problems
    for lab in registry.labs:
        path = registry.starter_files.get(lab.id)
        if path is None:
            continue  # already reported by the registry check
        loaded = _loaded_lab(root, lab, path.read_bytes(), cache, formulas)
        problems.extend(loaded.problems)
        if loaded.output is not None:
            outputs[lab.id] = loaded.output
        if loaded.starter is None:
            continue
        starters[lab.id] = loaded.starter
        if loaded.tables is not None:
            figure_tables[lab.id] = loaded.tables
        if loaded.figures_made_from is not None:
            made_from[lab.id] = loaded.figures_made_from
        checked[lab.id] = (loaded.checked or loaded.starter, loaded.check_problems)
    problems.extend(curriculum_problems(registry, starters, pages))
    problems.extend(site_page_problems(pages, slugify))
    for lab_id, (starter, found) in checked.items():
        starters[lab_id] = starter
        problems.extend(found)
    problems.extend(_handbook_number_problems(registry, starters, outputs, figure_tables, made_from, pages, cache))
    references: dict[str, list[FigureReference]] = {}
    problems.extend(_page_problems(pages, cache, formulas, registry, starters, references))
    section_titles, missing = _handbook_sections(registry, pages, slugify)
    problems.extend(missing)
    return Project(root, registry, starters, outputs, tuple(problems), section_titles, figure_tables, made_from,
                   references, docs_dir, pages)


class LoadedLab(NamedTuple):
    """A lab's files read and checked: what a build keeps of them."""

    starter: Starter | None  # None if it cannot be parsed
    output: str | None  # None if it is not recorded
    tables: dict[str, Table] | None  # its figures' recorded data, if recorded without a problem
    checked: Starter | None  # the starter with the values its prose cites; None if it cites none
    problems: list[Problem]  # of the starter, its entry, its output and its figures' recording
    check_problems: list[Problem]  # of the lab's files checked together (`_check_lab`)
    figures_made_from: str | None = None  # a digest of what its figures show, if they have data


def _loaded_lab(root: Path, lab: Lab, data: bytes, cache: DiskCache, formulas: Formulas) -> LoadedLab:
    """The lab read and checked, kept by its entry and the bytes of its files (`data` is the
    starter's): a build that changed none of them need not read or check them again. One entry
    per lab, as a warm build of hundreds of labs spends its time opening entries."""
    hasher = hashlib.sha256(lab.digest.encode() + b"\0" + data)
    for path in (output_path, figure_data_path, planted_bugs_path, recorded_lines_path):
        try:
            hasher.update(b"\0" + (root / path(lab.starter)).read_bytes())
        except OSError:
            hasher.update(b"\0missing")
    key = "lab\0" + hasher.hexdigest()
    loaded = cache.get(key)
    if loaded is None:
        loaded = _load_lab(root, lab, data, formulas)
        cache.put(key, loaded)
    return loaded


def _load_lab(root: Path, lab: Lab, data: bytes, formulas: Formulas) -> LoadedLab:
    starter, problems = _parsed(data, lab, formulas)
    problems.extend(registry_problems(lab))
    output = _read_output(root, lab, problems)
    if starter is None:
        return LoadedLab(None, output, None, None, problems, [])
    recorded = read_recording(root, lab) if starter.figures else None
    figure_problems = check_recording(lab, starter, recorded)
    problems.extend(figure_problems)
    tables = recorded["figures"] if recorded and not figure_problems else None
    checked, check_problems = _check_lab(root, lab, starter, data, output, tables)
    _ = checked.reading_minutes  # counted now, so that the cache keeps the count with the starter
    # Made from the lab, its declarations and its data alone: saving a starter redraws only its own
    # figures, and only when their declaration or data changed.
    made_from = digest(lab.digest, repr(checked.figures), pickle.dumps(tables, pickle.HIGHEST_PROTOCOL)) \
        if tables else None
    return LoadedLab(starter, output, tables, None if checked is starter else checked, problems, check_problems,
                     made_from)


def _parsed(data: bytes, lab: Lab, formulas: Formulas) -> tuple[Starter | None, list[Problem]]:
    """The parsed starter (if it could be parsed) and its problems, including those of a starter
    that parses: scaffold text and formulas that cannot be rendered."""
    try:
        starter = parse_starter(decode_starter(data, lab.starter, lab.id), lab.starter, lab.id)
    except AuthorError as error:
        return None, list(error.problems)
    bad = bad_formulas("\n".join(starter.prose()), formulas)
    return starter, [*_scaffold_text_in_starter(lab, starter), *starter_problems(lab, starter),
                     *formula_problems(bad, lab.starter, list(starter.lines), lab.id)]


def _check_lab(root: Path, lab: Lab, starter: Starter, data: bytes, output: str | None,
               tables: dict[str, Table] | None) -> tuple[Starter, list[Problem]]:
    problems = list(read_planted_bugs(root, lab, data.decode("utf-8"))[1])
    recorded_code, recorded_references = read_recorded_lines(root, lab)
    problems.extend(_stale_output(lab, starter, recorded_code))
    problems.extend(moved_references(lab, starter, recorded_references))
    if output is not None:
        problems.extend(_stale_output_evidence(lab, starter, output))
        problems.extend(prediction_problems(lab, starter, output))
    if tables is not None:  # else its recording has a problem of its own, already reported
        starter, found = _with_values(lab, starter, tables)
        problems.extend(found)
        problems.extend(exploration_problems(lab, starter.figures, tables))
        if output is not None:
            problems.extend(_prose_number_problems(lab, starter, output, tables))
    return starter, problems


def read_recorded_lines(root: Path, lab: Lab) -> tuple[str | None, dict[str, list[str]]]:
    """The code digest `infralens outputs` last recorded the lab from, and what each reference's
    lines read then (nothing if it never ran)."""
    try:
        data = json.loads((root / recorded_lines_path(lab.starter)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    if not isinstance(data, dict) or not isinstance(data.get("references"), dict):
        return None, {}
    references = {str(key): value for key, value in data["references"].items()
                  if isinstance(value, list) and all(isinstance(text, str) for text in value)}
    return (data["code"] if isinstance(data.get("code"), str) else None), references


def _stale_output(lab: Lab, starter: Starter, recorded_code: str | None) -> list[Problem]:
    """A lab without figures whose code changed since its output was recorded (a lab with figures
    is told so by its figure data, recorded at the same time)."""
    if starter.figures or recorded_code in (None, starter.code_digest):
        return []
    return [Problem(lab.starter, "the recorded output comes from an older version of the code.",
                    f"run `infralens outputs {lab.id}` to record it again, so the page shows what the code "
                    "prints now.", lab=lab.id)]


def _prose_number_problems(lab: Lab, starter: Starter, output: str,
                           tables: dict[str, Table]) -> list[Problem]:
    """Numbers in the starter's prose that the program never gives (`prose_numbers`)."""
    values = _lab_values([lab], {lab.id: starter}, {lab.id: output}, {lab.id: tables})
    return number_problems(lab, lab.starter, starter.prose_lines, values)


def _lab_values(labs: Iterable[Lab], starters: dict[str, Starter], outputs: dict[str, str],
                tables: dict[str, dict[str, Table]]) -> KnownValues:
    """The values the labs print, draw, write in code or declare with a source."""
    labs = [lab for lab in labs if lab.id in starters]
    code = [starters[lab.id].lines[n - 1].split("#", 1)[0] for lab in labs for n in sorted(starters[lab.id].code_lines)]
    declared = [" ".join(reading.numbers) for lab in labs for reading in lab.reading]
    drawn = {f"{lab.id}/{name}": table for lab in labs for name, table in tables.get(lab.id, {}).items()}
    return known_values("\n".join(outputs.get(lab.id, "") for lab in labs), drawn, code, declared)


def _handbook_number_problems(registry: Registry, starters: dict[str, Starter], outputs: dict[str, str],
                              tables: dict[str, dict[str, Table]], made_from: dict[str, str], pages: DocsPages,
                              cache: DiskCache) -> list[Problem]:
    """Numbers on a chapter's handbook page that none of the chapter's labs gives: kept by the
    page's text and the chapter's labs' code, output and figure data."""
    problems: list[Problem] = []
    for chapter in registry.chapters:
        if (text := pages.texts.get(chapter.handbook)) is None:
            continue
        labs = [lab for lab in registry.labs_in(chapter.id) if lab.id in starters]
        hasher = hashlib.sha256(f"{chapter.handbook}\0{text}".encode())
        for lab in labs:
            hasher.update(f"\0{lab.digest}\0{starters[lab.id].code_digest}\0{outputs.get(lab.id, '')}".encode())
            hasher.update(f"\0{made_from.get(lab.id, '')}".encode())  # covers the figures' data
        key = "handbook numbers\0" + hasher.hexdigest()
        found = cache.get(key)
        if found is None:
            values = _lab_values(labs, starters, outputs, tables)
            found = number_problems(None, pages.name(chapter.handbook), outside_fences(text), values)
            cache.put(key, found)
        problems.extend(found)
    return problems


def _with_values(lab: Lab, starter: Starter, tables: dict[str, Table]) -> tuple[Starter, list[Problem]]:
    """The starter with each `{{figure.column|key=value}}` in its prose replaced by the value."""
    if not any(references_in(text) for _, text in starter.prose_lines):
        return starter, []
    figures = {figure.name: figure for figure in starter.figures}
    problems = [Problem(lab.starter, error, "cite a column of a figure's recorded data, with `|column=value` "
                        "conditions that select one row (rule `prose-numbers` on the authoring page).",
                        line=line, lab=lab.id)
                for line, text in starter.prose_lines for error in resolve_references(text, figures, tables)[1]]
    return map_prose(starter, lambda text: resolve_references(text, figures, tables)[0]), problems


def _page_problems(pages: DocsPages, cache: DiskCache, formulas: Formulas, registry: Registry,
                   starters: dict[str, Starter], references: dict[str, list[FigureReference]]) -> list[Problem]:
    """Problems of the pages authors write: formulas that cannot be rendered, figure references
    to a lab or figure that does not exist. Collects the figure references of each page."""
    problems: list[Problem] = []
    for uri, text in pages.texts.items():
        key = "formulas\0" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        bad = cache.get(key)
        if bad is None:
            bad = bad_formulas(text, formulas)
            cache.put(key, bad)
        name = pages.name(uri)
        problems.extend(formula_problems(bad, name, text.split("\n")))
        if found := figure_references(text):
            references[uri] = found
            problems.extend(_unknown_figures(name, found, registry, starters))
    return problems


def _unknown_figures(page: str, references: list[FigureReference], registry: Registry,
                     starters: dict[str, Starter]) -> list[Problem]:
    problems = []
    labs = {lab.id for lab in registry.labs}
    for reference in references:
        if reference.lab not in labs:
            close = suggest(reference.lab, labs, cutoff=0.8)
            problems.append(Problem(page, f"`[[figure {reference.lab}/{reference.figure}]]` names no lab.",
                                    f"did you mean `{close}`?" if close else "use a lab id from labs.yaml.",
                                    line=reference.line))
        elif reference.lab in starters:
            names = [figure.name for figure in starters[reference.lab].figures]
            if reference.figure not in names:
                close = suggest(reference.figure, names)
                problems.append(Problem(page, f"lab `{reference.lab}` has no figure `{reference.figure}`.",
                                        f"did you mean `{close}`?" if close else
                                        f"use one of: {', '.join(names) or '(it declares none)'}.",
                                        line=reference.line))
    return problems


def _read_output(root: Path, lab: Lab, problems: list[Problem]) -> str | None:
    path = output_path(lab.starter)
    try:
        return (root / path).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        problems.append(Problem(path, "the starter's recorded output is missing.",
                                f"run `infralens outputs {lab.id}` to record what `python {lab.starter}` prints.",
                                lab=lab.id))
        return None


def _scaffold_text_in_starter(lab: Lab, starter: Starter) -> list[Problem]:
    lines = placeholder_lines(starter.lines)
    if not lines:
        return []
    shown = ", ".join(map(str, lines[:8])) + (", ..." if len(lines) > 8 else "")
    return [Problem(lab.starter, f"the starter still has the scaffold's guidance text on line"
                    f"{'s' if len(lines) > 1 else ''} {shown}.",
                    "replace each `Replace ...` text with the lab's own, then run "
                    f"`infralens outputs {lab.id}`.", line=lines[0], lab=lab.id)]


def _scaffold_text_in_registry(registry: Registry) -> list[Problem]:
    return [Problem(REGISTRY_FILE, f"the reading entry {reading.title!r:.70} is the scaffold's guidance text.",
                    "give the primary source for this lab: its title, address, kind and a note.",
                    line=lab.line, lab=lab.id)
            for lab in registry.labs for reading in lab.reading
            if placeholder_lines((reading.title, reading.note))]


def _stale_output_evidence(lab: Lab, starter: Starter, output: str) -> list[Problem]:
    """Checkpoints whose `see: output "..."` is no longer printed by the starter."""
    return [Problem(lab.starter, f'the checkpoint points at `output "{c.evidence.output_text}"`, which no '
                    f"line of {output_path(lab.starter)} contains.",
                    "quote text from one line of the recorded output exactly, or re-record it with "
                    f"`infralens outputs {lab.id}` if the starter changed.", line=c.line, lab=lab.id)
            for c in starter.checkpoints
            if c.evidence.in_output and output_line(output, c.evidence.output_text) is None]


def _handbook_sections(registry: Registry, pages: DocsPages, slugify) -> tuple[dict[str, str], list[Problem]]:
    """Each lab's handbook section title (its heading, or the page's first), and the labs
    whose anchor names no heading on the page."""
    titles: dict[str, str] = {}
    problems = []
    anchors: dict[str, dict[str, str]] = {}
    for lab in registry.labs:
        if (text := pages.texts.get(lab.handbook_page)) is None:
            continue  # already reported by the registry check
        if lab.handbook_page not in anchors:
            anchors[lab.handbook_page] = {h.anchor: h.title for h in headings(text, slugify)}
        sections = anchors[lab.handbook_page]
        if not lab.handbook_anchor:
            titles[lab.id] = next(iter(sections.values()), lab.handbook_page)
        elif lab.handbook_anchor in sections:
            titles[lab.id] = sections[lab.handbook_anchor]
        else:
            close = suggest(lab.handbook_anchor, sections)
            fix = (f"did you mean `#{close}`?" if close else
                   f"use one of its anchors ({', '.join(sorted(sections)) or 'none'}), "
                   "or add the heading to the page.")
            problems.append(Problem(REGISTRY_FILE, f"{pages.name(lab.handbook_page)} has no heading "
                                    f"`#{lab.handbook_anchor}`.", fix, line=lab.line, lab=lab.id))
    return titles, problems
