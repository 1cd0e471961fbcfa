"""The pages and files the build generates: a page per lab and per starter, the lab indexes,
the learning path, interview prep and practice, each registered with MkDocs with the inputs that
decide whether a rebuild writes it again (`GeneratedPages`); and what the build adds to the
Markdown of every page (`complete_markdown`).
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import jinja2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from . import interview, paths, render
from .annotations import annotate_page, keep_output_out_of_search, size_hints
from .cache import DiskCache, TemplateCache
from .drawer import Drawer
from .errors import Problem
from .figure_build import FigureBuild
from .handbook import insert_after_headings, place_figures
from .incremental import GeneratedPages, Stamps, digest, tree_state
from .lab_rules import RULES_REFERENCE, place_rules
from .mathml import BadFormula, Formulas, formula_problems, render_math
from .model import Lab
from .navigation import lists_labs
from .paths import SitePaths
from .project import Project, load_project


@dataclass
class Build:
    """What one build reads from disk and keeps until it ends."""

    paths: SitePaths
    project: Project
    templates: jinja2.Environment
    cache: DiskCache
    figures: FigureBuild
    formulas: Formulas = field(default_factory=Formulas)  # converted while the project loaded, used by pages
    stamps: Stamps | None = None
    generated: GeneratedPages | None = None  # from on_files on

    @classmethod
    def load(cls, site: SitePaths, cache: DiskCache, drawer: Drawer,
             slugify: Callable[[str, str], str] | None = None) -> Build:
        """The project read and checked afresh, and the environments its pages render with;
        `drawer` draws the figures."""
        FigureBuild.start_drawing_early(drawer, cache)
        formulas = Formulas()
        project = load_project(site.root, site.docs_dir, cache=cache, formulas=formulas,
                               **({"slugify": slugify} if slugify else {}))
        figures = FigureBuild(project, cache, drawer=drawer)
        templates = render.environment()  # read afresh too; compiled code comes from the cache
        templates.bytecode_cache = figures.templates.bytecode_cache = TemplateCache(cache)
        return cls(site, project, templates, cache, figures, formulas)


def register_pages(build: Build, files: Files, config: MkDocsConfig) -> GeneratedPages:
    """Every generated page and file of the site, added to `files`. The figures of the lab pages
    this build writes are sent to the drawing process while MkDocs reads the pages."""
    project, env = build.project, build.templates
    pages = build.generated = GeneratedPages(config, files, site_fingerprint(build, files, config),
                                             build.stamps, build.cache)
    build.figures.publish_explorations(pages)
    if build.stamps:
        build.figures.rebuild_pages_placing_changed_figures(pages, build.stamps)
    registry = project.registry
    docs = build.paths.docs_from_root()
    for lab in registry.labs:
        in_nav = lists_labs(registry, registry.chapter(lab.chapter))
        inclusion = InclusionLevel.UNDEFINED if in_nav else InclusionLevel.NOT_IN_NAV
        if project.is_complete(lab):
            _add_lab(pages, files, config, build, lab, inclusion, docs)
        else:  # only reachable under serve: the lab's page explains what to fix instead
            pages.add(paths.lab_uri(lab), (lab.id,), render.render_lab_problems, env, lab,
                      project.problems_of(lab), inclusion=inclusion)
    titles, minutes = project.section_titles, project.minutes
    pages.add(paths.LABS_INDEX, (minutes,), render.render_labs_index, env, registry, titles, minutes)
    for chapter in registry.chapters:
        pages.add(paths.chapter_uri(chapter), (minutes,), render.render_labs_index, env, registry, titles,
                  minutes, chapter)
    pages.add(paths.LEARNING_PATH, (minutes,), render.render_learning_path, env, registry, minutes)
    _add_interview_pages(pages, build, config)
    pages.finish()
    written = [lab.id for lab in registry.labs
               if (page := files.get_file_from_path(paths.lab_uri(lab))) is None or page.is_modified()]
    build.figures.draw_while_pages_render(written)
    return pages


def site_fingerprint(build: Build, files: Files, config: MkDocsConfig) -> str:
    """What every page depends on: registry, problems, handbook section titles, repository link,
    page list, templates."""
    project = build.project
    theme_dirs = [Path(config.theme.custom_dir)] if config.theme.custom_dir else []
    return digest(project.registry.digest, project.problems, sorted(project.section_titles.items()), config.repo_url,
                  sorted(f.src_uri for f in files.documentation_pages()),
                  tree_state([paths.TEMPLATES, Path(config.config_file_path), *theme_dirs]))


def _add_interview_pages(pages: GeneratedPages, build: Build, config: MkDocsConfig) -> None:
    project, env = build.project, build.templates
    registry, starters = project.registry, project.starters
    # What interview prep shows of each lab: saving a starter's code rebuilds neither page nor questions.
    shown = tuple((lab_id, starter.interview, [(trap.belief, trap.why) for trap in starter.traps],
                   [(checkpoint.question, checkpoint.answer) for checkpoint in starter.checkpoints])
                  for lab_id, starter in starters.items())
    pages.add(paths.INTERVIEW, shown, interview.render_interview, env, registry, starters)
    pages.add(paths.PRACTICE, (), interview.render_practice, env)
    # Practice also shows the lines or output each question is about, and links to lab pages.
    practiced = (registry.digest, config.use_directory_urls, *shown,
                 *(interview.question_evidence(starter, checkpoint, project.outputs.get(lab_id, ""))
                   for lab_id, starter in starters.items() for checkpoint in starter.checkpoints))
    questions = functools.partial(_practice_questions, build, practiced, config.use_directory_urls)
    pages.add_file(paths.PRACTICE_QUESTIONS, practiced, questions)  # made only if a rebuild writes it


def _practice_questions(build: Build, practiced: tuple[object, ...], directory_urls: bool) -> str:
    key = "questions\0" + digest(*practiced)
    questions = build.cache.get(key)
    if questions is None:
        project = build.project
        questions = interview.practice_questions(project.registry, project.starters, build.formulas,
                                                 directory_urls=directory_urls, outputs=project.outputs)
        build.cache.put(key, questions)
    return questions


def _add_lab(pages: GeneratedPages, files: Files, config: MkDocsConfig, build: Build, lab: Lab,
             inclusion: InclusionLevel, docs: str) -> None:
    """The lab's page, its starter's page and the starter file itself, for download; `docs` is
    the docs folder from the project root, which edit links start from."""
    project, env = build.project, build.templates
    starter, output = project.starters[lab.id], project.outputs[lab.id]
    source = "\n".join(starter.lines)
    made_from = build.figures.made_from.get(lab.id)  # determines its figures, and is quicker to compare
    lab_page = pages.add(paths.lab_uri(lab), (source, output, made_from), _render_lab, build, lab, inclusion=inclusion)
    starter_page = pages.add(paths.starter_page_uri(lab), (source,), render.render_starter_page, env, lab, starter,
                             config.repo_url, inclusion=InclusionLevel.NOT_IN_NAV)
    # The edit button of a lab page opens its starter, the file an author edits.
    lab_page.edit_uri = starter_page.edit_uri = posixpath.relpath(lab.starter, docs)
    files.append(File.generated(config, paths.starter_download_uri(lab), abs_src_path=str(project.root / lab.starter)))


def _render_lab(build: Build, lab: Lab) -> str:
    """The lab page's Markdown, its figures placed: called only when the page is written."""
    project = build.project
    context = render.LabContext(lab, project.starters[lab.id], project.outputs[lab.id], project.registry,
                                project.section_titles.get(lab.id, ""), build.figures.lab_page_figures(lab))
    return render.render_lab(build.templates, context)


MINUTES_REFERENCE = "[[lab minutes]]"  # on a page: the range of the labs' reading times


def complete_markdown(build: Build, markdown: str, page: Page, files: Files) -> str:
    """An author's page (or a generated one) with what the build adds: figures a handbook page
    places, the rules of the authoring page, the labs' reading times, the lists of labs under
    the home, handbook and chapter headings."""
    project, env, uri = build.project, build.templates, page.file.src_uri
    if uri in project.figure_references:
        markdown = place_figures(markdown, lambda reference: build.figures.placed(reference, page.url))
    if RULES_REFERENCE in markdown:
        markdown = place_rules(markdown)
    if MINUTES_REFERENCE in markdown and project.minutes:  # the same range the home page gives
        shortest, longest = min(project.minutes.values()), max(project.minutes.values())
        markdown = markdown.replace(MINUTES_REFERENCE, f"{shortest} to {longest}")
    if uri == paths.HOME:  # the headings are in paths.GENERATED_SECTIONS, which the check requires
        registry, minutes, summaries = project.registry, project.minutes, project.chapter_summaries
        return insert_after_headings(markdown, {
            "start-here": render.render_start_here(env, registry, minutes, project.section_titles, uri),
            "chapters": render.render_chapter_cards(env, registry, minutes, summaries, uri),
            "your-progress": render.render_progress(env, registry, uri)})
    if uri == paths.HANDBOOK_INDEX:
        chapters = render.render_chapter_cards(env, project.registry, project.minutes, project.chapter_summaries, uri)
        return insert_after_headings(markdown, {"chapters": chapters})
    lab = project.lab_pages.get(uri)
    if lab is not None and (starter_page := files.get_file_from_path(paths.starter_page_uri(lab))):
        page.meta["starter_url"] = starter_page.url  # the "view source" button without a repository
    labs = project.labs_by_page.get(uri)
    return _with_section_labs(env, markdown, labs, uri) if labs else markdown


def _with_section_labs(env: jinja2.Environment, markdown: str, labs: list[Lab], uri: str) -> str:
    """A handbook page with each section's labs under its heading (or at the top, for labs of the
    whole page)."""
    by_anchor: dict[str, list[Lab]] = defaultdict(list)
    for lab in labs:
        by_anchor[lab.handbook_anchor].append(lab)
    blocks = {anchor: render.render_section_labs(env, group, uri) for anchor, group in by_anchor.items() if anchor}
    top = render.render_section_labs(env, by_anchor[""], uri) if "" in by_anchor else None
    return insert_after_headings(markdown, blocks, top)


class FinishedPage(NamedTuple):
    html: str
    code_line_ids: tuple[str, ...]  # the ids of its numbered code lines, which links may target
    bad_formulas: list[BadFormula]


_CODE_LINE_ID = re.compile(r'id="(__codelineno-[^"]+)"')  # no \b: a literal prefix is 25x faster


def finished_html(html: str, cache: DiskCache, formulas: Formulas) -> FinishedPage:
    """A page's HTML as the site shows it: formulas as MathML, excerpt markers and notes linked
    both ways, the recorded output out of search, code blocks sized; and the formulas that could
    not be read. Kept by the HTML it was made from: a warm build converts the same HTML again."""
    key = "page html\0" + hashlib.sha256(html.encode("utf-8")).hexdigest()
    if (finished := cache.get(key)) is not None:
        kept_html, kept_ids = finished
        return FinishedPage(kept_html, kept_ids, [])
    html, bad = render_math(html, formulas=formulas)
    html = size_hints(keep_output_out_of_search(annotate_page(html)))
    ids = tuple(_CODE_LINE_ID.findall(html)) if "__codelineno-" in html else ()
    if not bad:
        cache.put(key, (html, ids))
    return FinishedPage(html, ids, bad)


def formula_problems_of(build: Build, bad: list[BadFormula], page: Page) -> list[Problem]:
    """Name the file an author wrote each unreadable formula in: the starter, for a lab page."""
    project = build.project
    lab = project.lab_pages.get(page.file.src_uri)
    if lab is not None and lab.id in project.starters:
        return formula_problems(bad, lab.starter, list(project.starters[lab.id].lines), lab.id)
    source = page.file.abs_src_path
    lines = Path(source).read_text(encoding="utf-8").split("\n") if source else []
    return formula_problems(bad, build.paths.page_source(page.file.src_uri), lines)
