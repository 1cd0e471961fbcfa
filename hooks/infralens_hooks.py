"""MkDocs hooks that turn `labs.yaml` and the starters under `code/` into lab pages.

The events stay thin: loading, checking and rendering live in the `infralens` package beside
this file. The events are methods of one `LabHooks` object, shaped like a MkDocs plugin: it
knows how MkDocs was started (fixed for the life of the process) and holds the state of the
build in progress, made afresh in `on_config`, because `mkdocs serve` imports this module once
and rebuilds many times.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from infralens import highlight_cache, paths, render, search_cache
from infralens.annotations import annotate_page, keep_output_out_of_search, size_hints
from infralens.cache import TemplateCache, project_cache
from infralens.errors import AuthorError, Problem
from infralens.figure_build import FigureBuild
from infralens.handbook import insert_after_headings, place_figures
from infralens.incremental import DIRTY_NOTE, Stamps, quiet_dirty_warning
from infralens.lab_rules import RULES_REFERENCE, place_rules
from infralens.mathml import BadFormula, Formulas, formula_problems, render_math
from infralens.model import Lab
from infralens.navigation import expand_nav
from infralens.paths import SitePaths
from infralens.project import load_project
from infralens.site_pages import Build, register_pages
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

if TYPE_CHECKING:  # the file watcher and the server are for `mkdocs serve` only: a build does not import them
    from mkdocs.livereload import LiveReloadServer

MINUTES_REFERENCE = "[[lab minutes]]"  # on a page: the range of the labs' reading times
PROBLEMS_KEY = "infralens_problems"  # in config.extra, for the banner in overrides/main.html
_CODE_LINE_ID = re.compile(r'id="(__codelineno-[^"]+)"')  # no \b: a literal prefix is 25x faster
log = logging.getLogger("mkdocs.hooks.infralens")


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
        drawer = FigureBuild.drawer_for(cache)
        formulas = Formulas()
        project = load_project(site.root, site.docs_dir, cache=cache, formulas=formulas,
                               **({"slugify": slugify} if slugify else {}))
        figures = FigureBuild(project, cache, drawer=drawer)
        templates = render.environment()  # read afresh too; compiled code comes from the cache
        templates.bytecode_cache = TemplateCache(cache)
        figures.templates.bytecode_cache = TemplateCache(cache)
        self.current = Build(site, project, templates, cache, figures, formulas)
        highlight_cache.install(cache)
        search_cache.install(cache)
        if project.problems:
            self._report(list(project.problems))
            config.extra[PROBLEMS_KEY] = [str(problem) for problem in project.problems]
        figures.plan()  # after the problems: a build they stop starts no drawing
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
        self.build.stamps = Stamps(self.build.paths.site_dir) if self.dirty else None
        register_pages(self.build, files, config)
        return files

    def on_page_markdown(self, markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        project, env, uri = self.build.project, self.build.templates, page.file.src_uri
        if uri in project.figure_references:
            markdown = place_figures(markdown, lambda reference: self.build.figures.placed(reference, page.url))
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
        return self.build.figures.fill(output)

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
            self.current.figures.finish()

    def on_post_build(self, config: MkDocsConfig) -> None:
        highlight_cache.uninstall()
        search_cache.uninstall()
        build = self.build
        if build.generated:
            build.generated.write_postponed()
        build.figures.finish()
        if build.stamps:
            build.stamps.save()  # only after a successful build: a failed one is redone next time
        build.cache.prune()


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
