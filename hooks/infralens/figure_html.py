"""A figure as a page shows it: the drawing, its caption, the numbers as a table and, for an
exploration, the control and the other drawings it scrubs through."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2

from .drawing import accessible_svg, colour_key, exploration_specs, vega_lite
from .explorations import control_values, sentences
from .figure_spec import FigureSpec, Table, round_to
from .mathml import math_spans
from .model import Lab
from .paths import TEMPLATES


@dataclass(frozen=True)
class Drawing:
    """One figure of a lab: what its page shows, and for an exploration the file it fetches."""

    lab: Lab
    figure: FigureSpec
    html: str  # the <figure> element, with {variants_href} where the exploration's file is linked
    body: str  # its drawing and table, pasted into the finished page in place of its marker
    variants: str | None  # JSON of every control value's drawing and table, for explorations


def placed_figure(figure_html: str, variants_href: str) -> str:
    """A figure's HTML for a page that reaches the exploration's file at `variants_href`, with a
    marker in place of its drawing and table (see `fill_figure_bodies`)."""
    return figure_html.replace("{variants_href}", variants_href)


_BODY_MARKER = re.compile(r"<!--il-figure-body ([a-z0-9-]+)/([a-z0-9-]+)-->")


def fill_figure_bodies(html: str, body_of: Callable[[str, str], str]) -> str:
    """Paste each figure's drawing and table into a finished page. They reach the page only now,
    after Markdown and the search index have read it: parsing a page's inline SVGs twice was
    most of a warm build, and neither the index nor Markdown has any use for them."""
    if "<!--il-figure-body " not in html:  # most pages: a substring test is 5x quicker than the pattern
        return html
    return _BODY_MARKER.sub(lambda match: body_of(match[1], match[2]), html)


def html_environment() -> jinja2.Environment:
    """Templates of HTML fragments: everything is escaped unless marked safe."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["with_math"] = math_spans  # escaped HTML: the template marks it safe
    return env


def rows_of(table: Table) -> list[dict[str, Any]]:
    columns = list(table)
    return [dict(zip(columns, values, strict=True)) for values in zip(*table.values(), strict=True)]


def _shown(value: Any, number_format: str) -> str:
    return value if isinstance(value, str) else format(round_to(value, number_format), number_format)


def _selected(figure: FigureSpec, rows: list[dict[str, Any]], value: Any) -> list[dict[str, Any]]:
    control = figure.control
    return [row for row in rows if row[control.column] == value] if control else rows


def _table(env: jinja2.Environment, figure: FigureSpec, rows: list[dict[str, Any]]) -> str:
    shown = [encoding for channel, encoding in figure.encodings.items() if channel != "control"]
    columns = list(dict.fromkeys(encoding.column for encoding in shown))
    formats = {encoding.column: encoding.format for encoding in shown}
    labels = {encoding.column: encoding.label for encoding in reversed(shown)}
    return env.get_template("figure_table.html.j2").render(
        labels=[labels[column] for column in columns],
        rows=[[_shown(row[column], formats[column]) for column in columns] for row in rows])


@dataclass(frozen=True)
class FigurePlan:
    """One figure of a lab before it is drawn: its rows, its control's values (one `None` for a
    figure without a control), one Vega-Lite spec per value, and the <figure> element a page
    places, which needs no drawing (its drawing comes in at `fill_figure_bodies`)."""

    figure: FigureSpec
    rows: list[dict[str, Any]]
    values: list[Any]
    specs: list[dict[str, Any]]
    html: str
    says: list[str]  # an exploration's sentence at each value (none for other figures)


def plan_lab_figures(env: jinja2.Environment, lab: Lab, figures: tuple[FigureSpec, ...],
                     tables: dict[str, Table]) -> list[FigurePlan]:
    """Every figure of a lab, ready to draw (every control value of an exploration)."""
    plans = []
    for figure in figures:
        rows = rows_of(tables[figure.name])
        values = control_values(figure, tables[figure.name])
        selected = [_selected(figure, rows, value) for value in values]
        specs = exploration_specs(figure, rows, selected) if figure.control else [vega_lite(figure, selected[0])]
        says = sentences(figure, tables[figure.name])[0]
        html = _figure_html(env, lab, figure, rows, values, says)
        plans.append(FigurePlan(figure, rows, values, specs, html, says))
    return plans


def all_specs(plans: list[FigurePlan]) -> list[dict[str, Any]]:
    return [spec for plan in plans for spec in plan.specs]


def finish_lab_figures(env: jinja2.Environment, lab: Lab, plans: list[FigurePlan], svgs: list[str]) -> list[Drawing]:
    """A lab's figures with their drawings, given the SVGs of `all_specs(plans)` in that order."""
    drawn = iter(svgs)
    drawings = []
    for plan in plans:
        figure = plan.figure
        prefix = f"figure-{lab.id}-{figure.name}"
        per_value = []
        for index, value in enumerate(plan.values):
            description = f"{figure.caption} {_summary(figure, value)}"
            svg = accessible_svg(next(drawn), f"{prefix}-{index}", figure.title, description)
            per_value.append((svg, _table(env, figure, _selected(figure, plan.rows, value))))
        drawings.append(_drawing(env, lab, plan, per_value))
    return drawings


_SVG_SIZE = re.compile(r'\swidth="([\d.]+)" height="([\d.]+)"')


def _summary(figure: FigureSpec, value: Any) -> str:
    what = {"line": "Line chart", "point": "Scatter chart", "area": "Area chart", "bar": "Bar chart",
            "heatmap": "Grid", "timeline": "Timeline"}[figure.kind]
    summary = f"{what} of {figure.encodings['y'].label} against {figure.encodings['x'].label}"
    if "color" in figure.encodings:
        summary += f", coloured by {figure.encodings['color'].label}"
    control = figure.control
    if control and value is not None:
        summary += f", for {control.label} = {_shown(value, control.format)}"
    return summary + ". The numbers are in the table below."


def _control(lab: Lab, figure: FigureSpec, values: list[Any], says: list[str]) -> dict[str, Any] | None:
    if not figure.control:
        return None
    shown = [_shown(value, figure.control.format) for value in values]
    written = [str(value) for value in values]
    index = written.index(figure.default) if figure.default in written else 0
    return {"id": f"control-{lab.id}-{figure.name}", "label": figure.control.label, "choices": shown,
            "index": index, "shown": shown[index], "numeric": not any(isinstance(v, str) for v in values),
            "says": says[index] if says else ""}


def _figure_html(env: jinja2.Environment, lab: Lab, figure: FigureSpec, rows: list[dict[str, Any]],
                 values: list[Any], says: list[str]) -> str:
    html = env.get_template("figure.html.j2").render(
        figure=figure, control=_control(lab, figure, values, says), key=colour_key(figure, rows),
        body=f"<!--il-figure-body {lab.id}/{figure.name}-->", variants_href="{variants_href}")
    return html.strip()


def drawn_size(svg: str) -> tuple[float, float]:
    """The width and height, in CSS px, an SVG is drawn at: the page scales the drawing around
    it, and sizes its box from them until it lays the drawing out."""
    match = _SVG_SIZE.search(svg, 0, svg.index(">"))
    return (float(match[1]), float(match[2])) if match else (0.0, 0.0)


def _drawing(env: jinja2.Environment, lab: Lab, plan: FigurePlan, per_value: list[tuple[str, str]]) -> Drawing:
    control = _control(lab, plan.figure, plan.values, plan.says)
    svg, table = per_value[control["index"] if control else 0]
    width, height = drawn_size(svg)
    body = env.get_template("figure_body.html.j2").render(svg=svg, table=table, width=width, height=height)
    variants = None
    if control:
        variants = json.dumps({"values": control["choices"], "says": plan.says,
                               "drawings": [{"svg": svg, "table": table} for svg, table in per_value]})
    return Drawing(lab, plan.figure, plan.html, body.strip(), variants)
