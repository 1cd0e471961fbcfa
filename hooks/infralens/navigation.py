"""Derive the Handbook and Labs sections of the site navigation from the registry."""

from __future__ import annotations

import html
from typing import Any

from .model import Chapter, Registry
from .paths import LABS_INDEX, LEARNING_PATH, chapter_uri, lab_uri

HANDBOOK = "Handbook"
LABS = "Labs"
# A chapter lists its labs in the navigation up to this many. Beyond it the chapter's own page
# lists them, so that a page's navigation (and the site) does not grow with every lab added.
NAV_LABS_PER_CHAPTER = 40


def lists_labs(registry: Registry, chapter: Chapter) -> bool:
    return len(registry.labs_in(chapter.id)) <= NAV_LABS_PER_CHAPTER


def registry_sections(registry: Registry) -> dict[str, list[Any]]:
    chapters = sorted(registry.chapters, key=lambda c: c.number)
    # Nav labels are the pages' own titles (a chapter's handbook page is titled like the chapter).
    # The theme emits them as HTML: escape author text.
    handbook: list[Any] = [{html.escape(c.title): c.handbook} for c in chapters]
    labs: list[Any] = [{"All labs": LABS_INDEX}, {"Learning path": LEARNING_PATH}]
    for chapter in chapters:
        entries: list[Any] = [{html.escape(chapter.labs_title): chapter_uri(chapter)}]
        if lists_labs(registry, chapter):
            entries += [{html.escape(lab.page_title): lab_uri(lab)}
                        for lab in registry.labs_in(chapter.id)]
        labs.append({html.escape(chapter.title): entries})
    return {HANDBOOK: handbook, LABS: labs}


def _pages(items: list[Any]) -> set[str]:
    pages: set[str] = set()
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages |= _pages(value) if isinstance(value, list) else {value}
    return pages


def expand_nav(nav: list[Any] | None, registry: Registry) -> list[Any]:
    """Fill the `Handbook` and `Labs` entries of mkdocs.yml's nav; add them if absent.

    Pages mkdocs.yml already lists there (for example handbook/index.md) stay first, unless
    the generated section has them too.
    """
    sections = registry_sections(registry)
    result: list[Any] = []
    for entry in nav or []:
        title = next(iter(entry)) if isinstance(entry, dict) and len(entry) == 1 else None
        if title in sections:
            kept = entry[title] if isinstance(entry[title], list) else [entry[title]]
            generated = sections.pop(title)
            result.append({title: [item for item in kept if not _pages([item]) & _pages(generated)] + generated})
        else:
            result.append(entry)
    result.extend({title: items} for title, items in sections.items())
    return result
