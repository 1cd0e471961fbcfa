"""The MkDocs plugin that turns `labs.yaml` and the starters under `code/` into lab pages.

Its events stay thin: loading, checking and rendering live in the modules beside this one. The
plugin knows how MkDocs was started (fixed for the life of the process) and holds the state of
the build in progress, made afresh in `on_config`, because `mkdocs serve` keeps one plugin and
rebuilds many times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import jinja2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from . import speedups
from .cache import NoCache, TemplateCache, project_cache
from .drawer import Drawer
from .errors import AuthorError, Problem
from .incremental import DIRTY_NOTE, Stamps, quiet_dirty_warning
from .navigation import expand_nav
from .paths import SitePaths
from .plugin_config import InfralensConfig
from .site_pages import Build, complete_markdown, finished_html, formula_problems_of, register_pages

if TYPE_CHECKING:  # the file watcher and the server are for `mkdocs serve` only: a build does not import them
    from mkdocs.livereload import LiveReloadServer

PROBLEMS_KEY = "infralens_problems"  # in config.extra, for the banner in overrides/main.html
log = logging.getLogger("mkdocs.plugins.infralens")


class InfralensPlugin(BasePlugin[InfralensConfig]):
    def __init__(self) -> None:
        self.command, self.dirty = "build", False
        self.current: Build | None = None  # the build in progress, from on_config on
        self.installed: list[speedups.Patch] = []
        self.told: set[str] = set()  # replacements left out, already said once in this process
        self.drawer = Drawer()  # one drawing process for every build of this MkDocs process

    @property
    def build(self) -> Build:
        assert self.current is not None, "MkDocs runs on_config before any other build event"
        return self.current

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.command, self.dirty = command, dirty
        if command == "serve" and dirty and self.config.enabled:  # `make serve`: say what --dirty means here
            quiet_dirty_warning()
            log.info(DIRTY_NOTE)

    def on_serve(self, server: LiveReloadServer, *, config: MkDocsConfig,
                 builder: Callable[..., None]) -> LiveReloadServer:
        from .watching import watch_sooner

        if self.config.enabled and (watching := watch_sooner(server, [config.docs_dir, *config.watch])):
            log.info(f"Watching for changes: {watching}")
        return server

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if not self.config.enabled:
            return config
        site = SitePaths.from_config(config)
        cache = project_cache(site.root, self.config.cache_dir) if self.config.cache else NoCache()
        self.current = build = Build.load(site, cache, self.drawer, config.mdx_configs.get("toc", {}).get("slugify"))
        project, figures = build.project, build.figures
        self.installed = speedups.install_replacements(self.config, cache, self.told)
        if project.problems:
            self._report(list(project.problems))
            config.extra[PROBLEMS_KEY] = [str(problem) for problem in project.problems]
        figures.plan(every_page_written=not self.dirty)  # after the problems: a build they stop draws nothing
        config.nav = expand_nav(config.nav, project.registry)
        if not config.repo_url:
            config.edit_uri = None  # no repository to edit in: no edit button
        return config

    def _report(self, problems: list[Problem]) -> None:
        report = AuthorError(problems).report()
        if self.command != "serve":
            raise PluginError(report)
        log.error(report)  # under serve, keep serving: every page shows the problems until fixed

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        if self.config.enabled:
            self.build.stamps = Stamps(self.build.paths.site_dir) if self.dirty else None
            register_pages(self.build, files, config)
        return files

    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        return complete_markdown(self.build, markdown, page, files) if self.config.enabled else markdown

    def on_env(self, env: jinja2.Environment, *, config: MkDocsConfig, files: Files) -> jinja2.Environment:
        if self.config.enabled:
            env.bytecode_cache = TemplateCache(self.build.cache)  # the theme compiles once, not on every rebuild
        return env

    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
        if not self.config.enabled:
            return html
        finished = finished_html(html, self.build.cache, self.build.formulas)
        if finished.bad_formulas:
            self._report(formula_problems_of(self.build, finished.bad_formulas, page))
        # MkDocs collects anchor ids before code blocks are pasted in, so links to numbered code
        # lines would be reported as broken; register the line ids the finished HTML really has.
        if page.present_anchor_ids is not None:
            page.present_anchor_ids.update(finished.code_line_ids)
        return finished.html

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        return self.build.figures.fill(output) if self.config.enabled else output

    def on_build_error(self, *, error: Exception) -> None:
        self._put_internals_back()
        if self.current is not None:
            self.current.figures.finish()
            self.current.cache.flush()  # what was made before the error is still right

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if not self.config.enabled:
            return
        self._put_internals_back()
        build = self.build
        if build.generated:
            build.generated.write_postponed()
        build.figures.finish()
        if build.stamps:
            build.stamps.save()  # only after a successful build: a failed one is redone next time
        build.cache.prune()  # writes this build's new entries first

    def on_shutdown(self) -> None:
        self.drawer.close()

    def _put_internals_back(self) -> None:
        speedups.uninstall(self.installed)
        self.installed = []
