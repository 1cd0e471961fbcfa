"""Render generated pages (lab, starter, labs index) from templates in `templates/`.

Templates produce Markdown. Every `{{ value }}` is escaped as literal text unless it is a
`Markdown` value built here, so author text can never inject HTML or links.
"""

from __future__ import annotations

import html
import json
import posixpath
import textwrap
from dataclasses import dataclass
from typing import Any

import jinja2

from .markdown_text import Markdown, code_span, escape_text, fence_for, inline, link_url
from .model import Chapter, Lab, Registry
from .paths import (
    HOW_TO_READ,
    INTERVIEW,
    LABS_INDEX,
    LEARNING_PATH,
    OUTPUT_BLOCK,
    PRACTICE,
    TEMPLATES,
    chapter_uri,
    excerpt_id,
    lab_uri,
    line_anchor,
    relative,
    starter_download_uri,
    starter_page_uri,
)
from .predictions import answer_of
from .starter import Checkpoint, Starter, constants_used, output_line

READING_HEADINGS = {"paper": "Papers", "official": "Official documentation", "practical": "Practical guides"}


def handbook_href(lab: Lab, source: str) -> Markdown:
    anchor = f"#{lab.handbook_anchor}" if lab.handbook_anchor else ""
    return Markdown(relative(lab.handbook_page, source) + anchor)


@dataclass(frozen=True)
class LabContext:
    """Everything one lab page needs, gathered from the registry and the starter."""

    lab: Lab
    starter: Starter
    output: str
    registry: Registry
    section_title: str
    figures: tuple[str, ...] = ()  # the HTML of the lab's figures


def _finalize(value: Any) -> str:
    if isinstance(value, Markdown):
        return value
    return escape_text(str(value))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["inline"] = inline
    env.filters["code"] = code_span
    # For values inside HTML attributes (raw HTML or attr_list), where Markdown escapes do not apply.
    env.filters["attr"] = lambda value: Markdown(html.escape(str(value), quote=True))
    return env


def front_matter(title: str, description: str | None = None, **meta: Any) -> Markdown:
    """YAML front matter. Text is HTML-escaped: MkDocs and Material print titles as HTML.
    Values are written as JSON, which YAML reads as it is (and which is much faster to write)."""
    fields = {"title": html.escape(title), **({"description": html.escape(description)} if description else {}), **meta}
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    return Markdown("---\n" + "\n".join(lines) + "\n---")


def code_block(lines: tuple[str, ...], first_line: int, block_id: str, title: str) -> Markdown:
    fence = fence_for(lines)
    title = title.replace('"', "'")
    head = f'{fence} {{ .python #{block_id} linenums="{first_line}" title="{title}" }}'
    return Markdown("\n".join([head, *lines, fence]))


def text_block(text: str, block_id: str) -> Markdown:
    lines = text.rstrip("\n").split("\n")
    fence = fence_for(lines)
    return Markdown("\n".join([f"{fence} {{ .text #{block_id} }}", *lines, fence]))


MAX_PEEK_LINES = 6  # a checkpoint's answer repeats up to this many of the lines it is about


def _evidence_link(checkpoint: Checkpoint, starter: Starter, output: str, index: int) -> dict[str, Any]:
    """Where a checkpoint's answer points: the lines of its excerpt, or its line of the output;
    and a peek at them to show with the answer (`peek`), so that reading it needs no jump."""
    evidence = checkpoint.evidence
    if evidence.in_output:
        line = output_line(output, evidence.output_text) or 1
        block, start, end = OUTPUT_BLOCK, line, line
        label = "Show the output line"
        printed = output.split("\n")[line - 1].strip()
        peek = Markdown("    The program prints " + code_span(printed) + ".") if printed else None
    else:
        home = next(e for e in starter.excerpts if e.contains(evidence.start))
        block, start, end = excerpt_id(home.name), evidence.start, evidence.end
        label = f"Show line {start}" if start == end else f"Show lines {start}–{end}"
        lines = starter.lines[start - 1:end]
        peek = Markdown(textwrap.indent(code_block(lines, start, f"peek-{index}", label.removeprefix("Show ")),
                                        "    ")) if len(lines) <= MAX_PEEK_LINES else None
    return {"label": label, "block": block, "start": start, "end": end, "peek": peek,
            "href": Markdown("#" + line_anchor(block, start) if block != OUTPUT_BLOCK else "#run-it")}


def render_lab(env: jinja2.Environment, context: LabContext) -> str:
    lab, starter, registry = context.lab, context.starter, context.registry
    source = lab_uri(lab)
    previous, following = registry.neighbours(lab)
    neighbours = {"previous": previous, "next": following}
    file_name = posixpath.basename(lab.starter)
    constants = constants_used(starter)
    excerpts = [
        {
            "excerpt": excerpt,
            "code": code_block(excerpt.lines, excerpt.start, excerpt_id(excerpt.name),
                               f"{file_name} · lines {excerpt.start}–{excerpt.end}"),
            "starter_lines": Markdown(relative(starter_page_uri(lab), source)
                                      + "#" + line_anchor("starter", excerpt.start)),
            "constants": [(constant, Markdown(relative(starter_page_uri(lab), source) + "#"
                                              + line_anchor("starter", constant.line)))
                          for constant in constants[excerpt.name]],
        }
        for excerpt in starter.excerpts
    ]
    steps = [
        {"step": step, "block": excerpt_id(step.excerpt),
         "href": Markdown("#" + line_anchor(excerpt_id(step.excerpt), step.start))}
        for step in starter.steps
    ]
    checkpoints = [(checkpoint, _evidence_link(checkpoint, starter, context.output, index),
                    answer_of(checkpoint, context.output)[0])
                   for index, checkpoint in enumerate(starter.checkpoints, 1)]
    return env.get_template("lab.md.j2").render(
        front_matter=front_matter(title=lab.page_title, description=starter.goal),
        lab=lab,
        chapter=registry.chapter(lab.chapter),
        starter=starter,
        excerpts=excerpts,
        steps=steps,
        checkpoints=checkpoints,
        figures=[Markdown(figure) for figure in context.figures],
        minutes=starter.reading_minutes,
        output=text_block(context.output, OUTPUT_BLOCK),
        run_command=Markdown(f"python {lab.starter}"),
        handbook_href=handbook_href(lab, source),
        section_title=context.section_title,
        starter_page_href=Markdown(relative(starter_page_uri(lab), source)),
        prerequisites=[(registry.lab(p), Markdown(relative(lab_uri(registry.lab(p)), source)))
                       for p in lab.prerequisites],
        neighbours={key: (other, Markdown(relative(lab_uri(other), source))) if other else None
                    for key, other in neighbours.items()},
        reading=[(READING_HEADINGS[kind], [(r, Markdown(link_url(r.url))) for r in lab.reading if r.kind == kind])
                 for kind in READING_HEADINGS if any(r.kind == kind for r in lab.reading)],
        how_to_read_href=Markdown(relative(HOW_TO_READ, source)),
    )


def render_starter_page(env: jinja2.Environment, lab: Lab, starter: Starter, repo_url: str | None) -> str:
    source = starter_page_uri(lab)
    file_name = posixpath.basename(lab.starter)
    return env.get_template("starter.md.j2").render(
        # The lab page already indexes the excerpts; indexing the whole file again would only
        # double the search index and the search plugin's work.
        front_matter=front_matter(title=f"{lab.label} starter: {lab.title}", search={"exclude": True}),
        lab=lab,
        code=code_block(starter.lines, 1, "starter", lab.starter),
        notes=starter.notes_span(),
        lab_href=Markdown(relative(lab_uri(lab), source)),
        download_href=Markdown(relative(starter_download_uri(lab), source)),
        file_name=file_name,
        repo_href=Markdown(f"{repo_url.rstrip('/')}/blob/main/{lab.starter}") if repo_url else None,
        run_command=Markdown(f"python {lab.starter}"),
    )


def render_labs_index(env: jinja2.Environment, registry: Registry, section_titles: dict[str, str],
                      minutes: dict[str, int], chapter: Chapter | None = None) -> str:
    """All labs by chapter, or with `chapter` the labs of that chapter only."""
    source = chapter_uri(chapter) if chapter else LABS_INDEX
    chapters = sorted([chapter] if chapter else registry.chapters, key=lambda c: c.number)
    rows = [(each, [(lab, Markdown(relative(lab_uri(lab), source)), handbook_href(lab, source))
                    for lab in registry.labs_in(each.id)]) for each in chapters]
    labs = [lab for _, entries in rows for lab, _, _ in entries]
    title = chapter.labs_title if chapter else "All labs"
    return env.get_template("labs_index.md.j2").render(
        # Lists of labs would crowd out the labs themselves in search results.
        front_matter=front_matter(title=title, search={"exclude": True}), title=title, chapters=rows,
        total=len(labs), section_titles=section_titles, minutes=minutes,
        all_ids=" ".join(lab.id for lab in labs), path_href=Markdown(relative(LEARNING_PATH, source)),
        handbook=Markdown(relative(chapter.handbook, source)) if chapter else None)


def render_section_labs(env: jinja2.Environment, labs: list[Lab], page: str) -> str:
    links = [(lab, Markdown(relative(lab_uri(lab), page))) for lab in labs]
    return env.get_template("section_labs.md.j2").render(links=links)


def render_lab_problems(env: jinja2.Environment, lab: Lab, problems: list) -> str:
    return env.get_template("lab_problems.md.j2").render(
        front_matter=front_matter(title=lab.page_title), lab=lab,
        problems=[str(problem) for problem in problems])


def render_learning_path(env: jinja2.Environment, registry: Registry, minutes: dict[str, int]) -> str:
    source = LEARNING_PATH
    steps = []
    for lab in registry.learning_path():
        prerequisites = [(registry.lab(p), Markdown(relative(lab_uri(registry.lab(p)), source)))
                         for p in lab.prerequisites]
        steps.append((registry.chapter(lab.chapter), lab, Markdown(relative(lab_uri(lab), source)), prerequisites))
    return env.get_template("learning_path.md.j2").render(
        front_matter=front_matter(title="Learning path", search={"exclude": True}), steps=steps, minutes=minutes,
        all_ids=" ".join(lab.id for lab in registry.labs))


def _chapter_links(registry: Registry, page: str) -> list:
    return [(chapter, registry.labs_in(chapter.id), Markdown(relative(chapter.handbook, page)))
            for chapter in sorted(registry.chapters, key=lambda c: c.number)]


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if hours and rest else f"{hours} h" if hours else f"{rest} min"


def render_start_here(env: jinja2.Environment, registry: Registry, minutes: dict[str, int],
                      section_titles: dict[str, str], page: str) -> str:
    first = registry.learning_path()[0]
    return env.get_template("start_here.md.j2").render(
        total=len(registry.labs), total_hours=_duration(sum(minutes.values())), first=first,
        shortest=min(minutes.values(), default=0), longest=max(minutes.values(), default=0),
        first_href=Markdown(relative(lab_uri(first), page)), first_minutes=minutes.get(first.id, 0),
        first_section=section_titles.get(first.id, first.handbook_page),
        first_section_href=handbook_href(first, page), how_to_read_href=Markdown(relative(HOW_TO_READ, page)),
        path_href=Markdown(relative(LEARNING_PATH, page)), interview_href=Markdown(relative(INTERVIEW, page)),
        practice_href=Markdown(relative(PRACTICE, page)))


def render_chapter_cards(env: jinja2.Environment, registry: Registry, minutes: dict[str, int],
                         summaries: dict[str, str], page: str) -> str:
    chapters = [(chapter, Markdown(summaries.get(chapter.id, "")), labs,
                 _duration(sum(minutes.get(lab.id, 0) for lab in labs)), href,
                 Markdown(relative(chapter_uri(chapter), page)))
                for chapter, labs, href in _chapter_links(registry, page)]
    return env.get_template("chapter_cards.md.j2").render(chapters=chapters)


def render_progress(env: jinja2.Environment, registry: Registry, page: str) -> str:
    return env.get_template("progress.md.j2").render(
        all_ids=" ".join(lab.id for lab in registry.ordered_labs),
        total=len(registry.labs), index_href=Markdown(relative(LABS_INDEX, page)),
        path_href=Markdown(relative(LEARNING_PATH, page)))
