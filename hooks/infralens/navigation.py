"""Derive the Handbook and Labs sections of the site navigation from the registry."""

from __future__ import annotations

import html
from typing import Any

from .registry import Registry
from .render import lab_uri

HANDBOOK = "Handbook"
LABS = "Labs"


def registry_sections(registry: Registry) -> dict[str, list[Any]]:
    chapters = sorted(registry.chapters, key=lambda c: c.number)
    # Nav titles are emitted as HTML by the theme: escape author text.
    handbook: list[Any] = [{html.escape(f"{c.number}. {c.title}"): c.handbook} for c in chapters]
    labs: list[Any] = [{"All labs": "labs/index.md"}, {"Learning path": "labs/path.md"}]
    for chapter in chapters:
        labs.append({html.escape(chapter.title): [
            {html.escape(f"{lab.number:02d} {lab.title}"): lab_uri(lab)} for lab in registry.labs_in(chapter.id)
        ]})
    return {HANDBOOK: handbook, LABS: labs}


def expand_nav(nav: list[Any] | None, registry: Registry) -> list[Any]:
    """Fill the `Handbook` and `Labs` entries of mkdocs.yml's nav; add them if absent.

    A page already listed in such an entry (for example handbook/index.md) stays first.
    """
    sections = registry_sections(registry)
    result: list[Any] = []
    for entry in nav or []:
        title = next(iter(entry)) if isinstance(entry, dict) and len(entry) == 1 else None
        if title in sections:
            kept = entry[title] if isinstance(entry[title], list) else [entry[title]]
            generated = sections.pop(title)
            result.append({title: [item for item in kept if item not in generated and
                                   item != "labs/index.md"] + generated})
        else:
            result.append(entry)
    result.extend({title: items} for title, items in sections.items())
    return result
