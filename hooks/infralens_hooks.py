"""MkDocs hooks that turn `labs.yaml` and the starters under `code/` into lab pages.

The events stay thin: loading, checking and rendering live in the `infralens` package beside
this file. Everything read from disk is read again on each build and kept on that build's
config, because `mkdocs serve` imports this module once and rebuilds many times.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from infralens import render
from infralens.cache import DiskCache
from infralens.errors import AuthorError
from infralens.handbook import insert_after_headings
from infralens.incremental import GeneratedPages, Stamps, digest, tree_state
from infralens.mathml import formula_problems, render_math
from infralens.navigation import expand_nav, lists_labs
from infralens.project import Project, load_project

PROJECT_KEY = "infralens_project"
STAMPS_KEY = "infralens_stamps"
TEMPLATES_KEY = "infralens_templates"
CACHE_KEY = "infralens_cache"
PROBLEMS_KEY = "infralens_problems"  # in config.extra, for the banner in overrides/main.html
_CODE_LINE_ID = re.compile(r'id="(__codelineno-[^"]+)"')  # no \b: a literal prefix is 25x faster
log = logging.getLogger("mkdocs.hooks.infralens")

# How MkDocs was started. It is fixed for the life of the process (set once, before the first
# build), so it is not build state: everything read from disk is still read per build.
_started_as: dict[str, str | bool] = {"command": "build", "dirty": False}


def on_startup(command: str, dirty: bool) -> None:
    _started_as.update(command=command, dirty=dirty)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    root = Path(config.config_file_path).parent
    slugify = config.mdx_configs.get("toc", {}).get("slugify")
    cache = config[CACHE_KEY] = DiskCache(root)
    project = load_project(root, Path(config.docs_dir), *([slugify] if slugify else []), cache=cache)
    if project.problems:
        report = AuthorError(list(project.problems)).report()
        if _started_as["command"] != "serve":
            raise PluginError(report)
        # Under serve, keep serving: show the problems on every page until they are fixed.
        log.error(report)
        config.extra[PROBLEMS_KEY] = [str(problem) for problem in project.problems]
    config[PROJECT_KEY] = project
    config[TEMPLATES_KEY] = render.environment()  # read afresh each build, so template edits show
    config.nav = expand_nav(config.nav, project.registry)
    if not config.repo_url:
        config.edit_uri = None  # no repository to edit in: no edit button
    return config


def _project(config: MkDocsConfig) -> Project:
    return config[PROJECT_KEY]


def _site_fingerprint(project: Project, files: Files, config: MkDocsConfig) -> str:
    """What every page depends on: registry, problems, handbook section titles, repository link,
    page list, templates."""
    theme_dirs = [Path(config.theme.custom_dir)] if config.theme.custom_dir else []
    return digest(repr(project.registry), project.problems, sorted(project.section_titles.items()), config.repo_url,
                  sorted(f.src_uri for f in files.documentation_pages()),
                  tree_state([render.TEMPLATES, Path(config.config_file_path), *theme_dirs]))


def on_files(files: Files, config: MkDocsConfig) -> Files:
    project, env = _project(config), config[TEMPLATES_KEY]
    stamps = config[STAMPS_KEY] = Stamps(Path(config.site_dir)) if _started_as["dirty"] else None
    pages = GeneratedPages(config, files, _site_fingerprint(project, files, config), stamps, config[CACHE_KEY])
    docs_from_root = posixpath.relpath(Path(config.docs_dir).as_posix(), project.root.as_posix())
    for lab in project.registry.labs:
        in_nav = lists_labs(project.registry, project.registry.chapter(lab.chapter))
        inclusion = InclusionLevel.UNDEFINED if in_nav else InclusionLevel.NOT_IN_NAV
        if not project.is_complete(lab):
            # Only reachable under serve: the lab's page explains what to fix instead.
            pages.add(render.lab_uri(lab), lambda: render.render_lab_problems(env, lab, project.problems_of(lab)),
                      lab.id, inclusion=inclusion)
            continue
        starter, output = project.starters[lab.id], project.outputs[lab.id]
        context = render.LabContext(lab, starter, output, project.registry, project.section_titles.get(lab.id, ""))
        source = "\n".join(starter.lines)
        lab_page = pages.add(render.lab_uri(lab), lambda: render.render_lab(env, context), source, output,
                             inclusion=inclusion)
        starter_page = pages.add(render.starter_page_uri(lab),
                                 lambda: render.render_starter_page(env, lab, starter, config.repo_url),
                                 source, inclusion=InclusionLevel.NOT_IN_NAV)
        # The edit button of a lab page opens its starter, the file an author edits.
        lab_page.edit_uri = starter_page.edit_uri = posixpath.relpath(lab.starter, docs_from_root)
        files.append(File.generated(config, render.starter_download_uri(lab),
                                    abs_src_path=str(project.root / lab.starter)))
    titles = project.section_titles
    pages.add("labs/index.md", lambda: render.render_labs_index(env, project.registry, titles))
    for chapter in project.registry.chapters:
        pages.add(render.chapter_uri(chapter), lambda: render.render_labs_index(env, project.registry, titles, chapter))
    pages.add("labs/path.md", lambda: render.render_learning_path(env, project.registry))
    pages.finish()
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    project, env = _project(config), config[TEMPLATES_KEY]
    if page.file.src_uri == "index.md":
        progress = render.render_progress(env, project.registry, page.file.src_uri)
        return insert_after_headings(markdown, {"your-progress": progress})
    if page.file.src_uri == "handbook/index.md":
        chapters = render.render_chapters(env, project.registry, page.file.src_uri)
        return insert_after_headings(markdown, {"chapters": chapters})
    labs = project.labs_by_page.get(page.file.src_uri)
    if not labs:
        return markdown
    by_anchor: dict[str, list] = {}
    for lab in labs:
        by_anchor.setdefault(lab.handbook_anchor, []).append(lab)
    blocks = {anchor: render.render_section_labs(env, group, page.file.src_uri)
              for anchor, group in by_anchor.items() if anchor}
    top = render.render_section_labs(env, by_anchor[""], page.file.src_uri) if "" in by_anchor else None
    return insert_after_headings(markdown, blocks, top)


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    html, bad_formulas = render_math(html, config[CACHE_KEY])
    if bad_formulas:
        _report_formulas(bad_formulas, page, config)
    # MkDocs collects anchor ids before code blocks are pasted in, so links to numbered code
    # lines would be reported as broken; register the line ids the finished HTML really has.
    if page.present_anchor_ids is not None and "__codelineno-" in html:
        page.present_anchor_ids.update(_CODE_LINE_ID.findall(html))
    return html


def _report_formulas(bad_formulas: list, page: Page, config: MkDocsConfig) -> None:
    """Name the file an author wrote each unreadable formula in: the starter, for a lab page."""
    project = _project(config)
    lab = next((lab for lab in project.registry.labs if render.lab_uri(lab) == page.file.src_uri), None)
    if lab is not None and lab.id in project.starters:
        file, lines = lab.starter, list(project.starters[lab.id].lines)
    else:
        file = posixpath.join(Path(config.docs_dir).name, page.file.src_uri)
        source = page.file.abs_src_path
        lines = Path(source).read_text(encoding="utf-8").split("\n") if source else []
    report = AuthorError(formula_problems(bad_formulas, file, lines, lab.id if lab else None)).report()
    if _started_as["command"] != "serve":
        raise PluginError(report)
    log.error(report)  # under serve the page shows the formula's source in red until it is fixed


def on_post_build(config: MkDocsConfig) -> None:
    stamps = config.get(STAMPS_KEY)
    if stamps:
        stamps.save()  # only after a successful build: a failed one is redone next time
    config[CACHE_KEY].prune()
