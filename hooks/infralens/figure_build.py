"""The figures of one build, from plan to page: what each lab's figures are made from, which of
them the cache has no drawings of, the drawings pages show and the explorations' other drawings.
Every drawing is made by the drawing process (`drawer.Drawer`), which the build's owner keeps;
when to start it is decided here (`start_drawing_early`).
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

import jinja2

from . import paths
from .cache import DiskCache
from .drawer import Drawer, PendingSvgs
from .figure_html import (
    Drawing,
    FigurePlan,
    all_specs,
    fill_figure_bodies,
    finish_lab_figures,
    html_environment,
    placed_figure,
    plan_lab_figures,
)
from .handbook import FigureReference
from .incremental import GeneratedPages, Stamps, digest, force_rebuild
from .model import Lab
from .project import Project


@dataclass
class FigureBuild:
    """The figures of the build in progress; made afresh for each build."""

    project: Project
    cache: DiskCache
    templates: jinja2.Environment = field(default_factory=html_environment)  # HTML fragments of figures
    drawer: Drawer = field(default_factory=Drawer)
    made_from: dict[str, str] = field(default_factory=dict)  # lab id -> digest of what its figures show
    drawings: dict[str, dict[str, Drawing]] = field(default_factory=dict)  # lab id -> figure name -> drawing
    undrawn: dict[str, tuple[list[FigurePlan], PendingSvgs]] = field(default_factory=dict)  # lab id -> its plan

    @staticmethod
    def start_drawing_early(drawer: Drawer, cache: DiskCache) -> None:
        """With an empty cache (a fresh clone, CI, new code) every figure will be drawn: the
        drawing process starts before the project loads, its engine warming up meanwhile. Otherwise
        `plan` starts it once it knows of a drawing to make."""
        if cache.is_new():
            drawer.start()

    def plan(self, every_page_written: bool) -> None:
        """Note what each lab's figures are made from, and plan those the cache has no drawings of
        (drawings in the cache are read later, only if a page or file that shows them is written,
        so a rebuild after a save reads its own lab's). If `every_page_written` (a build that is
        not dirty), they are sent to the drawing process at once: a cold build's pages then wait
        less for them than if they were sent once MkDocs has listed the pages."""
        project = self.project
        for lab in project.registry.labs:
            made_from = project.figures_made_from.get(lab.id)
            if made_from is None or lab.id not in project.starters:
                continue
            self.made_from[lab.id] = made_from
            if not self.cache.has("drawings\0" + made_from):
                self.undrawn[lab.id] = self._plan(lab)
        if any(svgs.missing for _, svgs in self.undrawn.values()):
            self.drawer.start()  # ready by the time MkDocs has listed the pages
        if every_page_written:
            self.draw_while_pages_render(self.undrawn)

    def _plan(self, lab: Lab) -> tuple[list[FigurePlan], PendingSvgs]:
        tables = self.project.figure_tables[lab.id]
        plans = plan_lab_figures(self.templates, lab, self.project.starters[lab.id].figures, tables)
        return plans, PendingSvgs(all_specs(plans), self.cache, self.drawer)

    def draw_while_pages_render(self, written: Iterable[str]) -> None:
        """Send the figures of the labs whose pages this build writes (`written`: their ids) to
        the drawing process, which draws them while MkDocs renders the pages."""
        labs = set(written)
        for lab_id, (_, svgs) in self.undrawn.items():
            if lab_id in labs:
                svgs.start()

    def publish_explorations(self, pages: GeneratedPages) -> None:
        """Each exploration's other drawings, as a file its page fetches: written again only when
        they change. Those still to be drawn are written after the pages, which show one drawing
        each, so the pages need not wait for them; drawings already in the cache are written with
        the other files, as MkDocs writes any file."""
        for lab_id, made_from in self.made_from.items():
            lab = self.project.registry.lab(lab_id)
            for figure in self.project.starters[lab_id].figures:
                if figure.control:
                    pages.add_file(paths.figure_variants_uri(lab, figure.name), (made_from,),
                                   functools.partial(self.variants, lab, figure.name),
                                   after_pages=lab_id in self.undrawn)

    def rebuild_pages_placing_changed_figures(self, pages: GeneratedPages, stamps: Stamps) -> None:
        """In a dirty build, rebuild the handbook pages that place a figure that changed (a new
        title redraws the page too)."""
        for uri, references in self.project.figure_references.items():
            placed = [(ref.lab, ref.figure, self.made_from.get(ref.lab)) for ref in references]
            stamps.record(f"figures:{uri}", digest(placed))
            if stamps.changed(f"figures:{uri}") and (file := pages.files.get_file_from_path(uri)):
                force_rebuild([file])

    def html_of(self, lab: Lab) -> dict[str, str]:
        """The <figure> element of each of the lab's figures, by name, with a marker for its drawing:
        what Markdown needs, which does not wait for the drawings."""
        if lab.id in self.undrawn:
            return {plan.figure.name: plan.html for plan in self.undrawn[lab.id][0]}
        return {name: drawing.html for name, drawing in self.drawings_of(lab).items()}

    def drawings_of(self, lab: Lab) -> dict[str, Drawing]:
        """The lab's figures with their drawings, by name: from the cache, or drawn (an unreadable
        cache entry is drawn again)."""
        if lab.id not in self.drawings:
            made_from = self.made_from.get(lab.id)
            drawn: list[Drawing] | None = []
            if made_from:
                drawn = None if lab.id in self.undrawn else self.cache.get("drawings\0" + made_from)
                if drawn is None:
                    plans, svgs = self.undrawn.pop(lab.id) if lab.id in self.undrawn else self._plan(lab)
                    drawn = finish_lab_figures(self.templates, lab, plans, svgs.result())
                    self.cache.put(f"drawings\0{made_from}", drawn)
            self.drawings[lab.id] = {drawing.figure.name: drawing for drawing in drawn or []}
        return self.drawings[lab.id]

    def lab_page_figures(self, lab: Lab) -> tuple[str, ...]:
        """The lab page's figures, in the starter's order, each linked to its other drawings."""
        figure_html = self.html_of(lab)
        here = posixpath.dirname(paths.lab_uri(lab))
        return tuple(placed_figure(figure_html[figure.name],
                                   posixpath.relpath(paths.figure_variants_uri(lab, figure.name), here))
                     for figure in self.project.starters[lab.id].figures if figure.name in figure_html)

    def placed(self, reference: FigureReference, page_url: str) -> str:
        """A figure a handbook page places (`[[figure lab/name]]`), for the page at `page_url`."""
        registry = self.project.registry
        known = reference.lab in {lab.id for lab in registry.labs}
        figure_html = self.html_of(registry.lab(reference.lab)).get(reference.figure) if known else None
        if figure_html is None:  # only under serve, with the problem in the banner
            return f"*Figure `{reference.lab}/{reference.figure}` is not drawn: see the problems above.*"
        here = page_url if page_url.endswith("/") or not page_url else posixpath.dirname(page_url) + "/"
        variants = posixpath.relpath(paths.figure_variants_uri(registry.lab(reference.lab), reference.figure),
                                     here or ".")
        return placed_figure(figure_html, variants)

    def fill(self, page_html: str) -> str:
        """A written page with each figure's drawing in place of its marker."""
        registry = self.project.registry
        return fill_figure_bodies(page_html, lambda lab, figure: self.drawings_of(registry.lab(lab))[figure].body)

    def variants(self, lab: Lab, figure: str) -> str:
        """An exploration's drawings for every value of its control, as its page fetches them."""
        return self.drawings_of(lab)[figure].variants or ""

    def finish(self) -> None:
        self.drawer.forget_drawn()
