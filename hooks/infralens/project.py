"""Everything one build needs, read from disk in one pass: registry, starters and their outputs.

Each build calls `load_project` afresh (under `mkdocs serve` the hook module lives on between
rebuilds, so nothing read from disk may be kept elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from markdown.extensions.toc import slugify as default_slugify

from .errors import AuthorError, Problem
from .handbook import headings
from .registry import REGISTRY_FILE, Lab, Registry, load_registry
from .render import output_path
from .starter import Starter, decode_starter, parse_starter


@dataclass(frozen=True)
class Project:
    root: Path
    registry: Registry
    starters: dict[str, Starter]
    outputs: dict[str, str]

    def labs_by_page(self) -> dict[str, list[Lab]]:
        pages: dict[str, list[Lab]] = {}
        for lab in sorted(self.registry.labs, key=lambda item: item.number):
            pages.setdefault(lab.handbook_page, []).append(lab)
        return pages


def load_project(root: Path, docs_dir: Path | None = None,
                 slugify: Callable[[str, str], str] = default_slugify) -> Project:
    """Load and check the whole project; raise AuthorError listing every problem found."""
    docs_dir = docs_dir or root / "docs"
    registry = load_registry(root)
    problems: list[Problem] = []
    starters: dict[str, Starter] = {}
    outputs: dict[str, str] = {}
    for lab in registry.labs:
        try:
            data = (root / lab.starter).read_bytes()
            starters[lab.id] = parse_starter(decode_starter(data, lab.starter, lab.id), lab.starter, lab.id)
        except AuthorError as error:
            problems.extend(error.problems)
        output = _read_output(root, lab, problems)
        if output is not None:
            outputs[lab.id] = output
    problems.extend(_missing_anchors(registry, docs_dir, slugify))
    if problems:
        raise AuthorError(problems)
    return Project(root, registry, starters, outputs)


def _read_output(root: Path, lab: Lab, problems: list[Problem]) -> str | None:
    path = output_path(lab.starter)
    try:
        return (root / path).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        problems.append(Problem(path, "the starter's recorded output is missing.",
                                f"run `infralens outputs` to record what `python {lab.starter}` prints.",
                                lab=lab.id))
        return None


def _missing_anchors(registry: Registry, docs_dir: Path, slugify) -> list[Problem]:
    problems = []
    anchors: dict[str, set[str]] = {}
    for lab in registry.labs:
        if not lab.handbook_anchor:
            continue
        if lab.handbook_page not in anchors:
            text = (docs_dir / lab.handbook_page).read_text(encoding="utf-8")
            anchors[lab.handbook_page] = {h.anchor for h in headings(text, slugify)}
        if lab.handbook_anchor not in anchors[lab.handbook_page]:
            known = ", ".join(sorted(anchors[lab.handbook_page])) or "none"
            problems.append(Problem(REGISTRY_FILE, f"docs/{lab.handbook_page} has no heading "
                                    f"`#{lab.handbook_anchor}` (its headings: {known}).",
                                    "use one of those anchors, or add the heading to the page.",
                                    line=lab.line, lab=lab.id))
    return problems
