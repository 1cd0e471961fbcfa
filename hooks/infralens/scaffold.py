"""`infralens new`: start a lab from a title and a chapter, ready to build and run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml
from markdown.extensions.toc import slugify as heading_anchor

from .errors import AuthorError, Problem
from .model import Registry
from .paths import TEMPLATES, planted_bugs_path
from .registry import REGISTRY_FILE, load_registry


@dataclass(frozen=True)
class NewLab:
    id: str
    number: int
    starter: str
    entry: str
    handbook_page: str
    heading: str  # the section the scaffold adds to the chapter's page, with guidance text


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "lab"


def plan_lab(registry: Registry, title: str, chapter: str, number: int | None = None,
             lab_id: str | None = None) -> NewLab:
    """Decide id, number and paths for a new lab, refusing clashes with the registry."""
    problems = []
    chapters = {c.id: c for c in registry.chapters}
    if chapter not in chapters:
        problems.append(Problem(REGISTRY_FILE, f"there is no chapter `{chapter}`.",
                                f"use one of: {', '.join(chapters) or '(none)'}."))
    number = number or max((lab.number for lab in registry.labs), default=0) + 1
    lab_id = lab_id or f"lab-{number:02d}-{slugify(title)}"
    same_title = next((lab for lab in registry.labs if lab.title.casefold() == title.casefold()), None)
    if same_title:
        problems.append(Problem(REGISTRY_FILE, f"`{same_title.id}` already has the title {title!r}.",
                                "give the new lab its own title.", line=same_title.line, lab=same_title.id))
    if any(lab.id == lab_id for lab in registry.labs):
        problems.append(Problem(REGISTRY_FILE, f"a lab with the id `{lab_id}` already exists.",
                                "choose another title or pass --id.", lab=lab_id))
    if any(lab.number == number for lab in registry.labs):
        problems.append(Problem(REGISTRY_FILE, f"lab number {number} is already taken.",
                                "leave out --number to take the next free one.", lab=lab_id))
    if problems:
        raise AuthorError(problems)
    module = slugify(title).replace("-", "_")
    starter = f"code/{lab_id}/{module}.py"
    page = chapters[chapter].handbook
    entry = yaml.safe_dump([{
        "id": lab_id, "number": number, "title": title, "chapter": chapter,
        "handbook": f"{page}#{heading_anchor(title, '-')}", "starter": starter, "prerequisites": [], "tags": [],
        "reading": [{"title": "Replace with the primary source for this lab (paper), by section",
                     "url": "https://arxiv.org/", "kind": "paper"},
                    {"title": "Replace with a second source (official docs or a practical guide)",
                     "url": "https://docs.python.org/3/", "kind": "official"}],
    }], sort_keys=False, allow_unicode=True, width=100)
    return NewLab(lab_id, number, starter, "\n".join("  " + line if line else line
                                                     for line in entry.splitlines()) + "\n", page,
                  _template("new_section.md.j2", title=title))


def _template(name: str, **context: object) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True)
    return env.get_template(name).render(**context)


def starter_text(title: str, number: int) -> str:
    return _template("new_starter.py.j2", title=title, number=number)


def create_lab(root: Path, docs_dir: Path, title: str, chapter: str, number: int | None = None,
               lab_id: str | None = None) -> NewLab:
    """Write the starter and append the registry entry; the caller records the output."""
    lab = plan_lab(load_registry(root, docs_dir), title, chapter, number, lab_id)
    path = root / lab.starter
    path.parent.mkdir(parents=True, exist_ok=False)
    path.write_text(starter_text(title, lab.number), encoding="utf-8")
    (root / planted_bugs_path(lab.starter)).write_text(_template("new_bugs.yaml.j2", lab_id=lab.id), encoding="utf-8")
    registry = root / REGISTRY_FILE
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text.rstrip("\n") + "\n" + lab.entry, encoding="utf-8")
    handbook = docs_dir / lab.handbook_page
    page = handbook.read_text(encoding="utf-8")
    handbook.write_text(page.rstrip("\n") + "\n\n" + lab.heading, encoding="utf-8")
    return lab
