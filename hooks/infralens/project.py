"""Everything one build needs, read from disk in one pass: registry, starters and their outputs.

Each build calls `load_project` afresh (under `mkdocs serve` the hook module lives on between
rebuilds, so nothing read from disk may be kept elsewhere). Problems are collected, not raised,
so that a build can report all of them and `mkdocs serve` can show them in the browser.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from markdown.extensions.toc import slugify as default_slugify

from .cache import DiskCache
from .errors import AuthorError, Problem
from .handbook import headings
from .registry import REGISTRY_FILE, Lab, Registry, read_registry
from .render import output_path
from .starter import Starter, decode_starter, parse_starter

EMPTY_REGISTRY = Registry(chapters=(), labs=(), intuition_notes=())


@dataclass(frozen=True)
class Project:
    root: Path
    registry: Registry
    starters: dict[str, Starter]
    outputs: dict[str, str]
    problems: tuple[Problem, ...] = ()
    section_titles: dict[str, str] = field(default_factory=dict)  # lab id -> handbook section title

    @cached_property
    def labs_by_page(self) -> dict[str, list[Lab]]:
        pages: dict[str, list[Lab]] = {}
        for lab in self.registry.ordered_labs:
            pages.setdefault(lab.handbook_page, []).append(lab)
        return pages

    def is_complete(self, lab: Lab) -> bool:
        return lab.id in self.starters and lab.id in self.outputs

    def problems_of(self, lab: Lab) -> list[Problem]:
        return [problem for problem in self.problems if problem.lab == lab.id]


def load_project(root: Path, docs_dir: Path | None = None,
                 slugify: Callable[[str, str], str] = default_slugify, cache: DiskCache | None = None) -> Project:
    """Load and check the whole project, collecting every problem found."""
    docs_dir = docs_dir or root / "docs"
    cache = cache or DiskCache(root)
    try:
        registry, problems = read_registry(root, cache)
    except AuthorError as error:
        return Project(root, EMPTY_REGISTRY, {}, {}, tuple(error.problems))
    starters: dict[str, Starter] = {}
    outputs: dict[str, str] = {}
    for lab in registry.labs:
        path = registry.starter_files.get(lab.id)
        if path is None:
            continue  # already reported by the registry check
        parsed = _parse_cached(path.read_bytes(), lab, cache)
        if isinstance(parsed, Starter):
            starters[lab.id] = parsed
        else:
            problems.extend(parsed)
        output = _read_output(root, lab, problems)
        if output is not None:
            outputs[lab.id] = output
    section_titles, missing = _handbook_sections(registry, docs_dir, slugify)
    problems.extend(missing)
    return Project(root, registry, starters, outputs, tuple(problems), section_titles)


def _parse_cached(data: bytes, lab: Lab, cache: DiskCache) -> Starter | list[Problem]:
    """The parsed starter, or its problems; both depend only on the bytes, path and lab id."""
    key = f"starter\0{lab.id}\0{lab.starter}\0{hashlib.sha256(data).hexdigest()}"
    parsed = cache.get(key)
    if parsed is None:
        try:
            parsed = parse_starter(decode_starter(data, lab.starter, lab.id), lab.starter, lab.id)
        except AuthorError as error:
            parsed = error.problems
        cache.put(key, parsed)
    return parsed


def _read_output(root: Path, lab: Lab, problems: list[Problem]) -> str | None:
    path = output_path(lab.starter)
    try:
        return (root / path).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        problems.append(Problem(path, "the starter's recorded output is missing.",
                                f"run `infralens outputs {lab.id}` to record what `python {lab.starter}` prints.",
                                lab=lab.id))
        return None


def _handbook_sections(registry: Registry, docs_dir: Path, slugify) -> tuple[dict[str, str], list[Problem]]:
    """Each lab's handbook section title (its heading, or the page's first), and the labs
    whose anchor names no heading on the page."""
    titles: dict[str, str] = {}
    problems = []
    pages: dict[str, dict[str, str]] = {}
    for lab in registry.labs:
        if not (docs_dir / lab.handbook_page).is_file():
            continue  # already reported by the registry check
        if lab.handbook_page not in pages:
            text = (docs_dir / lab.handbook_page).read_text(encoding="utf-8")
            pages[lab.handbook_page] = {h.anchor: h.title for h in headings(text, slugify)}
        sections = pages[lab.handbook_page]
        if not lab.handbook_anchor:
            titles[lab.id] = next(iter(sections.values()), lab.handbook_page)
        elif lab.handbook_anchor in sections:
            titles[lab.id] = sections[lab.handbook_anchor]
        else:
            close = difflib.get_close_matches(lab.handbook_anchor, sorted(sections), n=1)
            fix = (f"did you mean `#{close[0]}`?" if close else
                   f"use one of its anchors ({', '.join(sorted(sections)) or 'none'}), "
                   "or add the heading to the page.")
            problems.append(Problem(REGISTRY_FILE, f"docs/{lab.handbook_page} has no heading "
                                    f"`#{lab.handbook_anchor}`.", fix, line=lab.line, lab=lab.id))
    return titles, problems
