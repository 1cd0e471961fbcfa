"""MkDocs hooks that turn `labs.yaml` and the starters under `code/` into lab pages.

The events stay thin: loading, checking and rendering live in the `infralens` package beside
this file. The events are methods of one `LabHooks` object, shaped like a MkDocs plugin: it
knows how MkDocs was started (fixed for the life of the process) and holds the state of the
build in progress, made afresh in `on_config`, because `mkdocs serve` imports this module once
and rebuilds many times.
"""

from __future__ import annotations

import functools
import logging
import pickle
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from infralens import highlight_cache, interview, paths, render, search_cache
from infralens.annotations import annotate_page, keep_output_out_of_search, size_hints
from infralens.cache import DiskCache, TemplateCache, project_cache
from infralens.drawing import BackgroundDrawer, PendingSvgs
from infralens.errors import AuthorError, Problem
from infralens.figure_html import (
    Drawing,
    FigurePlan,
    all_specs,
    fill_figure_bodies,
    finish_lab_figures,
    html_environment,
    placed_figure,
    plan_lab_figures,
)
from infralens.handbook import FigureReference, insert_after_headings, place_figures
from infralens.incremental import (
    DIRTY_NOTE,
    GeneratedPages,
    Stamps,
    digest,
    force_rebuild,
    quiet_dirty_warning,
    tree_state,
)
from infralens.lab_rules import RULES_REFERENCE, place_rules
from infralens.mathml import BadFormula, Formulas, formula_problems, render_math
from infralens.model import Lab
from infralens.navigation import expand_nav, lists_labs
from infralens.paths import SitePaths
from infralens.project import Project, load_project
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

if TYPE_CHECKING:  # the file watcher and the server are for `mkdocs serve` only: a build does not import them
    from mkdocs.livereload import LiveReloadServer

MINUTES_REFERENCE = "[[lab minutes]]"  # on a page: the range of the labs' reading times
PROBLEMS_KEY = "infralens_problems"  # in config.extra, for the banner in overrides/main.html
_CODE_LINE_ID = re.compile(r'id="(__codelineno-[^"]+)"')  # no \b: a literal prefix is 25x faster
log = logging.getLogger("mkdocs.hooks.infralens")


@dataclass
class Build:
    """What one build reads from disk and keeps until it ends."""

    paths: SitePaths
    project: Project
    templates: jinja2.Environment
    cache: DiskCache
    stamps: Stamps | None = None
    figures_made_from: dict[str, str] = field(default_factory=dict)  # lab id -> digest of what its figures show
    drawings: dict[str, dict[str, Drawing]] = field(default_factory=dict)  # lab id -> figure name -> drawing
    undrawn: dict[str, tuple[list[FigurePlan], PendingSvgs]] = field(default_factory=dict)  # lab id -> its plan
    drawer: BackgroundDrawer = field(default_factory=BackgroundDrawer)
    formulas: Formulas = field(default_factory=Formulas)  # converted while the project loaded, used by pages
    generated: GeneratedPages | None = None  # from on_files on
    figure_templates: jinja2.Environment = field(default_factory=html_environment)  # HTML fragments of figures

    def plan_figures(self) -> None:
        """Note what each lab's figures are made from, and plan those the cache has no drawings of
        (drawings in the cache are read later, only if a page or file that shows them is written,
        so a rebuild after a save reads its own lab's). When that leaves many to draw (a cold
        build), the drawing process starts now, to be ready when MkDocs has listed the pages."""
        project = self.project
        for lab in project.registry.labs:
            tables = project.figure_tables.get(lab.id)
            if not tables or lab.id not in project.starters:
                continue
            # Made from the lab, its declarations and its data alone: saving a starter redraws only
            # its own figures, and only when their declaration or data changed.
            made_from = digest(repr(lab), repr(project.starters[lab.id].figures),
                               pickle.dumps(tables, pickle.HIGHEST_PROTOCOL))
            self.figures_made_from[lab.id] = made_from
            if not self.cache.has("drawings\0" + made_from):
                self.undrawn[lab.id] = self._plan(lab)
        if sum(svgs.missing for _, svgs in self.undrawn.values()) >= BackgroundDrawer.WORTH:
            self.drawer.start()

    def _plan(self, lab: Lab) -> tuple[list[FigurePlan], PendingSvgs]:
        tables = self.project.figure_tables[lab.id]
        plans = plan_lab_figures(self.figure_templates, lab, self.project.starters[lab.id].figures, tables)
        return plans, PendingSvgs(all_specs(plans), self.cache)

    def figure_html_of(self, lab: Lab) -> dict[str, str]:
        """The <figure> element of each of the lab's figures, by name, with a marker for its drawing:
        what Markdown needs, which does not wait for the drawings."""
        if lab.id in self.undrawn:
            return {plan.figure.name: plan.html for plan in self.undrawn[lab.id][0]}
        return {name: drawing.html for name, drawing in self.drawings_of(lab).items()}

    def drawings_of(self, lab: Lab) -> dict[str, Drawing]:
        """The lab's figures with their drawings, by name: from the cache, or drawn (an unreadable
        cache entry is drawn again)."""
        if lab.id not in self.drawings:
            made_from = self.figures_made_from.get(lab.id)
            drawn: list[Drawing] | None = []
            if made_from:
                drawn = None if lab.id in self.undrawn else self.cache.get("drawings\0" + made_from)
                if drawn is None:
                    plans, svgs = self.undrawn.pop(lab.id) if lab.id in self.undrawn else self._plan(lab)
                    drawn = finish_lab_figures(self.figure_templates, lab, plans, svgs.result())
                    self.cache.put(f"drawings\0{made_from}", drawn)
            self.drawings[lab.id] = {drawing.figure.name: drawing for drawing in drawn or []}
        return self.drawings[lab.id]

    def finish(self) -> None:
        self.drawer.close()


@dataclass
class LabHooks:
    command: str = "build"
    dirty: bool = False
    current: Build | None = None  # the build in progress, from on_config on

    @property
    def build(self) -> Build:
        assert self.current is not None, "MkDocs runs on_config before any other build event"
        return self.current

    def on_startup(self, command: str, dirty: bool) -> None:
        self.command, self.dirty = command, dirty
        if command == "serve" and dirty:  # `make serve`: say what --dirty means here, instead of MkDocs' alarm
            quiet_dirty_warning()
            log.info(DIRTY_NOTE)

    def on_serve(self, server: LiveReloadServer, config: MkDocsConfig,
                 builder: Callable[..., None]) -> LiveReloadServer:
        from infralens.watching import watch_sooner

        watching = watch_sooner(server, [config.docs_dir, *config.watch])
        if watching is not None:
            log.info(f"Watching for changes: {watching}")
        return server

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        site = SitePaths.from_config(config)
        slugify = config.mdx_configs.get("toc", {}).get("slugify")
        cache = project_cache(site.root)
        drawer = BackgroundDrawer()
        if cache.is_new():  # every figure will be drawn: the engine warms up while the project loads
            drawer.start()
        formulas = Formulas()
        project = load_project(site.root, site.docs_dir, cache=cache, formulas=formulas,
                               **({"slugify": slugify} if slugify else {}))
        templates = render.environment()  # read afresh too; compiled code comes from the cache
        templates.bytecode_cache = TemplateCache(cache)
        figure_templates = html_environment()
        figure_templates.bytecode_cache = TemplateCache(cache)
        self.current = Build(site, project, templates, cache, drawer=drawer, formulas=formulas,
                             figure_templates=figure_templates)
        highlight_cache.install(cache)
        search_cache.install(cache)
        if project.problems:
            self._report(list(project.problems))
            config.extra[PROBLEMS_KEY] = [str(problem) for problem in project.problems]
        self.current.plan_figures()  # after the problems: a build they stop starts no drawing
        config.nav = expand_nav(config.nav, project.registry)
        if not config.repo_url:
            config.edit_uri = None  # no repository to edit in: no edit button
        return config

    def _report(self, problems: list[Problem]) -> None:
        report = AuthorError(problems).report()
        if self.command != "serve":
            raise PluginError(report)
        log.error(report)  # under serve, keep serving: every page shows the problems until fixed

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        build = self.build
        project, env = build.project, build.templates
        build.stamps = Stamps(build.paths.site_dir) if self.dirty else None
        pages = build.generated = GeneratedPages(config, files, _site_fingerprint(build, files, config),
                                                 build.stamps, build.cache)
        self._draw_figures(pages)
        for lab in project.registry.labs:
            in_nav = lists_labs(project.registry, project.registry.chapter(lab.chapter))
            inclusion = InclusionLevel.UNDEFINED if in_nav else InclusionLevel.NOT_IN_NAV
            if project.is_complete(lab):
                _add_lab(pages, files, config, build, lab, inclusion)
            else:  # only reachable under serve: the lab's page explains what to fix instead
                pages.add(paths.lab_uri(lab), (lab.id,), render.render_lab_problems, env, lab,
                          project.problems_of(lab), inclusion=inclusion)
        registry, titles = project.registry, project.section_titles
        minutes = project.minutes
        pages.add(paths.LABS_INDEX, (minutes,), render.render_labs_index, env, registry, titles, minutes)
        for chapter in registry.chapters:
            pages.add(paths.chapter_uri(chapter), (minutes,), render.render_labs_index, env, registry, titles,
                      minutes, chapter)
        pages.add(paths.LEARNING_PATH, (minutes,), render.render_learning_path, env, registry, minutes)
        starters = project.starters
        # What interview prep shows of each lab: saving a starter's code rebuilds neither page nor questions.
        shown = tuple((lab_id, starter.interview, [(trap.belief, trap.why) for trap in starter.traps],
                       [(checkpoint.question, checkpoint.answer) for checkpoint in starter.checkpoints])
                      for lab_id, starter in starters.items())
        pages.add(paths.INTERVIEW, shown, interview.render_interview, env, registry, starters)
        pages.add(paths.PRACTICE, (), interview.render_practice, env)
        # Practice also shows the lines or output each question is about, and links to lab pages.
        practiced = (repr(registry), config.use_directory_urls, *shown,
                     *(interview.question_evidence(starter, checkpoint, project.outputs.get(lab_id, ""))
                       for lab_id, starter in starters.items() for checkpoint in starter.checkpoints))
        questions = functools.partial(self._practice_questions, practiced, config.use_directory_urls)
        pages.add_file(paths.PRACTICE_QUESTIONS, practiced, questions)  # made only if a rebuild writes it
        pages.finish()
        self._start_drawing(files)
        return files

    def _start_drawing(self, files: Files) -> None:
        """Draw the figures of the lab pages this build writes in a process beside it while MkDocs
        reads the pages, when there are many to draw (a cold build); else each is drawn when needed."""
        build = self.build
        registry = build.project.registry
        written = [svgs for lab_id, (_, svgs) in build.undrawn.items()
                   if (page := files.get_file_from_path(paths.lab_uri(registry.lab(lab_id)))) is None
                   or page.is_modified()]
        if sum(svgs.missing for svgs in written) >= BackgroundDrawer.WORTH:
            for svgs in written:
                svgs.start(build.drawer)

    def _draw_figures(self, pages: GeneratedPages) -> None:
        """Publish each exploration's drawings, and rebuild, in a dirty build, the pages that place
        a figure that changed. Figures are drawn (or read from the cache) only for what is
        written: see `Build.drawings_of`."""
        build = self.build
        project = build.project
        for lab_id, made_from in build.figures_made_from.items():
            lab = project.registry.lab(lab_id)
            for figure in project.starters[lab_id].figures:
                # An exploration: its other drawings, written again only when they change, and
                # after the pages, which show only one drawing each (a cold build draws meanwhile).
                if figure.control:
                    pages.add_file(paths.figure_variants_uri(lab, figure.name), (made_from,),
                                   functools.partial(_variants, build, lab, figure.name), after_pages=True)
        if build.stamps:
            for uri, references in project.figure_references.items():
                placed = [(ref.lab, ref.figure, build.figures_made_from.get(ref.lab)) for ref in references]
                build.stamps.record(f"figures:{uri}", digest(placed))  # a new title redraws the page too
                if build.stamps.changed(f"figures:{uri}") and (file := pages.files.get_file_from_path(uri)):
                    force_rebuild([file])

    def _placed(self, reference: FigureReference, page: Page) -> str:
        registry = self.build.project.registry
        labs = {lab.id for lab in registry.labs}
        figure_html = self.build.figure_html_of(registry.lab(reference.lab)).get(reference.figure) \
            if reference.lab in labs else None
        if figure_html is None:  # only under serve, with the problem in the banner
            return f"*Figure `{reference.lab}/{reference.figure}` is not drawn: see the problems above.*"
        lab = registry.lab(reference.lab)
        here = page.url if page.url.endswith("/") or not page.url else posixpath.dirname(page.url) + "/"
        variants = posixpath.relpath(paths.figure_variants_uri(lab, reference.figure), here or ".")
        return placed_figure(figure_html, variants)

    def _practice_questions(self, practiced: tuple[object, ...], directory_urls: bool) -> str:
        build = self.build
        key = "questions\0" + digest(*practiced)
        questions = build.cache.get(key)
        if questions is None:
            questions = interview.practice_questions(build.project.registry, build.project.starters, build.formulas,
                                                     directory_urls=directory_urls, outputs=build.project.outputs)
            build.cache.put(key, questions)
        return questions

    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        project, env, uri = self.build.project, self.build.templates, page.file.src_uri
        if uri in project.figure_references:
            markdown = place_figures(markdown, lambda reference: self._placed(reference, page))
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
            chapters = render.render_chapter_cards(env, project.registry, project.minutes,
                                                   project.chapter_summaries, uri)
            return insert_after_headings(markdown, {"chapters": chapters})
        lab = next((lab for lab in project.registry.labs if paths.lab_uri(lab) == uri), None)
        if lab is not None and (starter_page := files.get_file_from_path(paths.starter_page_uri(lab))):
            page.meta["starter_url"] = starter_page.url  # the "view source" button without a repository
        labs = project.labs_by_page.get(uri)
        if not labs:
            return markdown
        by_anchor: dict[str, list[Lab]] = defaultdict(list)
        for lab in labs:
            by_anchor[lab.handbook_anchor].append(lab)
        blocks = {anchor: render.render_section_labs(env, group, uri) for anchor, group in by_anchor.items() if anchor}
        top = render.render_section_labs(env, by_anchor[""], uri) if "" in by_anchor else None
        return insert_after_headings(markdown, blocks, top)

    def on_env(self, env: jinja2.Environment, config: MkDocsConfig, files: Files) -> jinja2.Environment:
        env.bytecode_cache = TemplateCache(self.build.cache)  # the theme compiles once, not on every rebuild
        return env

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        html, bad_formulas = render_math(html, self.build.cache, self.build.formulas)
        if bad_formulas:
            self._report(self._formula_problems(bad_formulas, page))
        html = size_hints(keep_output_out_of_search(annotate_page(html)))  # markers link to their notes and back
        # MkDocs collects anchor ids before code blocks are pasted in, so links to numbered code
        # lines would be reported as broken; register the line ids the finished HTML really has.
        if page.present_anchor_ids is not None and "__codelineno-" in html:
            page.present_anchor_ids.update(_CODE_LINE_ID.findall(html))
        return html

    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        registry = self.build.project.registry
        return fill_figure_bodies(output, lambda lab, figure: self.build.drawings_of(registry.lab(lab))[figure].body)

    def _formula_problems(self, bad: list[BadFormula], page: Page) -> list[Problem]:
        """Name the file an author wrote each unreadable formula in: the starter, for a lab page."""
        project = self.build.project
        lab = next((lab for lab in project.registry.labs if paths.lab_uri(lab) == page.file.src_uri), None)
        if lab is not None and lab.id in project.starters:
            return formula_problems(bad, lab.starter, list(project.starters[lab.id].lines), lab.id)
        source = page.file.abs_src_path
        lines = Path(source).read_text(encoding="utf-8").split("\n") if source else []
        return formula_problems(bad, self.build.paths.page_source(page.file.src_uri), lines)

    def on_build_error(self, error: Exception) -> None:
        highlight_cache.uninstall()
        search_cache.uninstall()
        if self.current is not None:
            self.current.finish()

    def on_post_build(self, config: MkDocsConfig) -> None:
        highlight_cache.uninstall()
        search_cache.uninstall()
        build = self.build
        if build.generated:
            build.generated.write_postponed()
        build.finish()
        if build.stamps:
            build.stamps.save()  # only after a successful build: a failed one is redone next time
        build.cache.prune()


def _site_fingerprint(build: Build, files: Files, config: MkDocsConfig) -> str:
    """What every page depends on: registry, problems, handbook section titles, repository link,
    page list, templates."""
    project = build.project
    theme_dirs = [Path(config.theme.custom_dir)] if config.theme.custom_dir else []
    return digest(repr(project.registry), project.problems, sorted(project.section_titles.items()), config.repo_url,
                  sorted(f.src_uri for f in files.documentation_pages()),
                  tree_state([paths.TEMPLATES, Path(config.config_file_path), *theme_dirs]))


def _add_lab(pages: GeneratedPages, files: Files, config: MkDocsConfig, build: Build, lab: Lab,
             inclusion: InclusionLevel) -> None:
    """The lab's page, its starter's page and the starter file itself, for download."""
    project, env = build.project, build.templates
    starter, output = project.starters[lab.id], project.outputs[lab.id]
    source = "\n".join(starter.lines)
    made_from = build.figures_made_from.get(lab.id)  # determines its figures, and is quicker to compare
    lab_page = pages.add(paths.lab_uri(lab), (source, output, made_from), _render_lab, build, lab, inclusion=inclusion)
    starter_page = pages.add(paths.starter_page_uri(lab), (source,), render.render_starter_page, env, lab, starter,
                             config.repo_url, inclusion=InclusionLevel.NOT_IN_NAV)
    # The edit button of a lab page opens its starter, the file an author edits.
    lab_page.edit_uri = starter_page.edit_uri = posixpath.relpath(lab.starter, build.paths.docs_from_root())
    files.append(File.generated(config, paths.starter_download_uri(lab), abs_src_path=str(project.root / lab.starter)))


def _render_lab(build: Build, lab: Lab) -> str:
    """The lab page's Markdown, its figures placed: called only when the page is written."""
    project, starter, figure_html = build.project, build.project.starters[lab.id], build.figure_html_of(lab)
    here = posixpath.dirname(paths.lab_uri(lab))
    figures = tuple(placed_figure(figure_html[figure.name],
                                  posixpath.relpath(paths.figure_variants_uri(lab, figure.name), here))
                    for figure in starter.figures if figure.name in figure_html)
    context = render.LabContext(lab, starter, project.outputs[lab.id], project.registry,
                                project.section_titles.get(lab.id, ""), figures)
    return render.render_lab(build.templates, context)


def _variants(build: Build, lab: Lab, figure: str) -> str:
    """An exploration's drawings for every value of its control, as its page fetches them."""
    return build.drawings_of(lab)[figure].variants or ""


_hooks = LabHooks()
on_startup = _hooks.on_startup
on_serve = _hooks.on_serve
on_config = _hooks.on_config
on_files = _hooks.on_files
on_page_markdown = _hooks.on_page_markdown
on_env = _hooks.on_env
on_page_content = _hooks.on_page_content
on_post_page = _hooks.on_post_page
on_post_build = _hooks.on_post_build
on_build_error = _hooks.on_build_error
