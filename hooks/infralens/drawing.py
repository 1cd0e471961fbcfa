"""A declared figure as a Vega-Lite spec: its marks, scales, series styles, key and theme, built
from the declaration and its recorded table; and the finishing of a drawn SVG for the page.
(`drawer.py` draws the specs.)

The SVG keeps its text as text, draws axes and labels in `currentColor` (so the page's light and
dark schemes colour them), uses a colour-blind-safe palette that the site's stylesheet adapts to
the dark scheme, and carries a title and a description for screen readers.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from collections import Counter
from typing import Any, NamedTuple

from .figure_spec import FigureSpec

# Okabe and Ito's palette, distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999"]
# The palette's colours under 3:1 against white, which the light scheme shades darker (learning.css).
SHADED = frozenset({"#e69f00", "#56b4e9", "#f0e442", "#999999"})
# Drawn for a desktop column; the page lets a figure grow to fill the column and, on a phone,
# shrink only so far that its 13 px text still reads at 11 px, scrolling sideways beyond that.
WIDTH = 560
HEIGHT = 240
ROW_HEIGHT = 26
_THEME = {
    # No label on each mark: the drawing is one image to a screen reader (`accessible_svg` gives it
    # its title and description, and the table beside it has the numbers), so those labels were
    # never read, and they were a third of a drawing's bytes.
    "aria": False,
    "background": None,
    "font": "Roboto, Helvetica, Arial, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelColor": "currentColor", "titleColor": "currentColor", "domainColor": "currentColor",
             "tickColor": "currentColor", "gridColor": "currentColor", "gridOpacity": 0.15,
             "labelFontSize": 13, "titleFontSize": 13, "titleFontWeight": "normal", "labelOverlap": "greedy"},
    "legend": {"labelColor": "currentColor", "titleColor": "currentColor", "labelFontSize": 13,
               "titleFontSize": 13, "titleFontWeight": "normal", "orient": "bottom", "direction": "horizontal",
               "columns": 1, "labelLimit": 440},
    "axisX": {"tickCount": 6, "labelFlush": True},  # room for wide labels such as 8192
    "range": {"category": PALETTE},
    "text": {"fill": "currentColor"},
}
# Series of a line or point figure differ in more than colour: where two lines coincide (a
# measurement on top of the formula it checks), the first drawn is the widest and solid, each
# later one narrower with its own dashes and point shape, so every series shows through.
DASHES = [[1, 0], [8, 4], [2, 3], [12, 3, 3, 3], [5, 2], [1, 4], [8, 2, 2, 2, 2, 2], [3, 6]]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-right", "wedge"]
WIDEST_LINE, NARROWEST_LINE = 5.0, 2.0
POINT_SIZE = 60  # square px of a point; a marker (a series of one point) is four times that
# A line's points tell its series apart where lines coincide, and a few do that: a line of hundreds
# of points draws every this-many-th, or its points merge into a band and each is an element of
# the page (546 of them made one figure 149 KB).
POINTS_PER_LINE = 24
LABEL_FONT_SIZE = 13  # as the axes: at the smallest scale a phone shows, 11 px
# About how wide a character of 13 px label text is, erring wide: the reader's own sans-serif
# font draws the labels, and a label that is narrower than estimated only leaves more room.
CHAR_PX = 7.5
MAX_LABEL_LINES = 3  # a category label broken into more lines than this is turned on end instead
MARKS: dict[str, dict[str, Any]] = {
    # Opaque points: Vega's default (0.7) washed a colour out below 3:1 against the page.
    "line": {"type": "line", "point": {"filled": True, "size": 45, "opacity": 1}},
    "point": {"type": "point", "filled": True, "size": 70, "opacity": 1},
    "area": {"type": "area", "opacity": 0.8},
    "bar": {"type": "bar"},
    "heatmap": {"type": "rect"},
    "timeline": {"type": "bar", "cornerRadius": 2},
}
_ID = re.compile(r' id="([^"]+)"')  # Vega writes one space before each attribute; a literal start is 25x faster than \b


def _channel(figure: FigureSpec, channel: str, rows: list[dict[str, Any]], kind: str,
             every_row: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One channel's encoding. For an exploration, `every_row` is the whole table: its scales are
    fixed to all of it, so moving the control moves the marks, not the axes or colours."""
    encoding = figure.encodings[channel]
    values = [row[encoding.column] for row in every_row or rows]
    textual = any(isinstance(value, str) for value in values)
    spec: dict[str, Any] = {"field": encoding.column, "title": encoding.label, "scale": {}}
    if textual or kind == "ordinal":
        spec["type"] = "nominal" if textual else "ordinal"
        if textual or every_row or channel == "color":
            spec["scale"]["domain"] = list(dict.fromkeys(values))  # in the order the starter gave
        if channel == "x" and (axis := _category_axis(spec["scale"].get("domain") or list(dict.fromkeys(values)))):
            spec["axis"] = axis
    else:
        spec["type"] = "quantitative"
        spec["axis" if channel in ("x", "y", "x2") else "legend"] = {"format": _tick_format(encoding.format)}
        if channel in figure.log_axes:
            spec["scale"].update(type="log", nice=False)  # a nice log axis runs a decade past the data
            spec["axis"]["tickCount"] = 5
        if every_row:
            spec["scale"]["domain"] = _extent(figure, channel, every_row)
    if not spec["scale"]:
        del spec["scale"]
    return spec


def _width(figure: FigureSpec, rows: list[dict[str, Any]]) -> int:
    """A figure's plot width: WIDTH, or for a timeline whose shortest labelled bar could not hold
    its label (CHAR_PX a character), as wide as that needs, up to twice WIDTH.
    A phone then scrolls the timeline sideways, at a size where its labels read."""
    if figure.kind != "timeline" or "label" not in figure.encodings:
        return WIDTH
    start, end, label = (figure.encodings[channel].column for channel in ("x", "x2", "label"))
    labelled = [row for row in rows if str(row[label]).strip()]
    if not labelled:
        return WIDTH
    span = max(float(row[end]) for row in rows) - min(float(row[start]) for row in rows)
    needed = max((len(str(row[label])) * CHAR_PX + 4) * span / max(float(row[end]) - float(row[start]), 1e-9)
                 for row in labelled)
    return int(min(2 * WIDTH, max(WIDTH, needed)))


def _category_axis(labels: list[Any]) -> dict[str, Any]:
    """Category labels read across, not turned on end, when each fits under its band: on one line,
    or else broken between words into at most MAX_LABEL_LINES lines. Turned on end, a few long
    labels took more height than the bars and had to be read with the head tilted."""
    room = WIDTH / len(labels) - 6  # a label is centred on its band: keep a few px from the next
    lines = {str(label): _broken(str(label), room) for label in labels}
    if not all(lines.values()):
        return {}  # Vega-Lite's default: labels turned on end
    broken = {label: parts for label, parts in lines.items() if len(parts) > 1}
    axis: dict[str, Any] = {"labelAngle": 0}
    if broken:
        expression = "datum.label"
        for label, parts in broken.items():  # Vega draws a label that is a list as one line per item
            expression = f"datum.label === {json.dumps(label)} ? {json.dumps(parts)} : {expression}"
        axis.update(labelExpr=expression, labelLineHeight=LABEL_FONT_SIZE + 3)
    return axis


def _broken(label: str, room: float) -> list[str]:
    """`label` in as few lines as fit in `room` px, broken between words; empty if that needs more
    than MAX_LABEL_LINES lines or a word is wider than the room."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(f"{lines[-1]} {word}") * CHAR_PX <= room:
            lines[-1] = f"{lines[-1]} {word}"
        elif len(word) * CHAR_PX <= room:
            lines.append(word)
        else:
            return []
    return lines if len(lines) <= MAX_LABEL_LINES else []


def _extent(figure: FigureSpec, channel: str, rows: list[dict[str, Any]]) -> list[float]:
    """The smallest and largest value a channel takes anywhere in the table (stacked bars: the
    tallest stack)."""
    columns = [figure.encodings[channel].column]
    if channel == "x" and "x2" in figure.encodings:
        columns.append(figure.encodings["x2"].column)
    values = [float(row[column]) for row in rows for column in columns]
    if channel == "y" and figure.kind in ("bar", "area") and "color" in figure.encodings:
        stacks: dict[tuple[Any, ...], float] = {}
        control = figure.control.column if figure.control else None
        for row in rows:
            key = (row[control] if control else None, row[figure.encodings["x"].column])
            stacks[key] = stacks.get(key, 0.0) + float(row[columns[0]])
        values = [0.0, *stacks.values()]
    elif figure.kind in ("bar", "area") and channel == "y" and channel not in figure.log_axes:
        values.append(0.0)
    return [min(values), max(values)]


def _label_colour(color: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Text on a coloured cell in black or white, whichever reads better on that cell's colour."""
    field = color["field"]
    if color["type"] == "quantitative":  # viridis runs from dark purple to light yellow
        values = [float(row[field]) for row in rows]
        middle = min(values) + 0.55 * (max(values) - min(values))
        return {"condition": {"test": f"datum['{field}'] > {middle!r}", "value": "#000000"}, "value": "#ffffff"}
    domain = color["scale"]["domain"]
    return {"field": field, "type": "nominal", "legend": None,
            "scale": {"domain": domain, "range": [_ink(PALETTE[i % len(PALETTE)]) for i in range(len(domain))]}}


def _ink(background: str) -> str:
    """Black or white text for a background colour: the one with more contrast (WCAG luminance)."""
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(background[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def _tick_format(number_format: str) -> str:
    """The d3 format of an axis's or key's numbers. Python's and d3's languages agree on the subset
    figures use, but a tick stands at a round value: it drops trailing zeros (d3's `~`), so an axis
    reads 3.6 and 80, not 3.6000 and 80.00, while the table keeps the precision the author chose."""
    if number_format[-1:] in ("e", "f", "g", "%") and "~" not in number_format:
        return f"{number_format[:-1]}~{number_format[-1]}"
    return number_format


def vega_lite(figure: FigureSpec, rows: list[dict[str, Any]],
              every_row: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Vega-Lite spec of one figure over the given rows (of the whole table, for an exploration)."""
    kind = figure.kind
    categorical_x = kind in ("bar", "heatmap")
    encoding: dict[str, Any] = {
        "x": _channel(figure, "x", rows, "ordinal" if categorical_x else "quantitative", every_row),
        "y": _channel(figure, "y", rows, "ordinal" if kind in ("heatmap", "timeline") else "quantitative", every_row),
    }
    if "x2" in figure.encodings:
        encoding["x2"] = {"field": figure.encodings["x2"].column}
    if "color" in figure.encodings:
        color = _channel(figure, "color", rows, "nominal", every_row)
        if color["type"] == "quantitative":
            color["scale"] = {**color.get("scale", {}), "scheme": "viridis"}
        elif color["type"] == "ordinal":
            color["type"] = "nominal"
        if colour_key(figure, every_row or rows):
            color["legend"] = None  # the page shows the key (see colour_key)
        encoding["color"] = color
    mark = MARKS[kind]
    rows_drawn = len({row[figure.encodings["y"].column] for row in rows}) if kind in ("heatmap", "timeline") else 0
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": figure.title,
        "width": _width(figure, every_row or rows),
        "height": max(80, min(420, rows_drawn * ROW_HEIGHT)) if rows_drawn else HEIGHT,
        "config": _THEME,
        "data": {"values": rows},
    }
    layers = _series_layers(kind, encoding, _markers(figure, every_row or rows), _point_step(figure, every_row or rows))
    layers = layers or [{"mark": mark, "encoding": encoding}]
    if len(layers) > 1 or "shape" in layers[0]["encoding"]:
        # Points are drawn in the order of their rows: series by series, so that later ones are on top.
        column, domain = encoding["color"]["field"], encoding["color"]["scale"]["domain"]
        spec["data"]["values"] = sorted(rows, key=lambda row: domain.index(row[column]))
    if "label" in figure.encodings:
        label = figure.encodings["label"].column
        text_x = {"field": "il_middle", "type": "quantitative"} if kind == "timeline" else encoding["x"]
        text: dict[str, Any] = {"mark": {"type": "text", "fontSize": LABEL_FONT_SIZE},
                                "encoding": {"x": text_x, "y": encoding["y"], "text": {"field": label}}}
        if kind in ("timeline", "heatmap") and "color" in encoding:
            text["encoding"]["color"] = _label_colour(encoding["color"], every_row or rows)
            spec["resolve"] = {"scale": {"color": "independent"}}
        else:
            text["mark"]["fill"] = "currentColor"
        if kind == "timeline":
            x, x2 = figure.encodings["x"].column, figure.encodings["x2"].column
            text["transform"] = [{"calculate": f"(datum['{x}'] + datum['{x2}']) / 2", "as": "il_middle"}]
        layers.append(text)
    if len(layers) > 1:
        spec["layer"] = layers
    else:
        spec.update(layers[0])
    return spec


def series_style(kind: str, index: int, count: int) -> tuple[float, list[int]]:
    """The line width and dashes of a figure's `index`-th series of `count` (one width for non-lines)."""
    if kind != "line":
        return 0.0, [1, 0]
    step = (WIDEST_LINE - NARROWEST_LINE) / max(1, count - 1)
    return round(WIDEST_LINE - index * step if count > 1 else 3.0, 2), DASHES[index % len(DASHES)]


def _series_points(figure: FigureSpec, rows: list[dict[str, Any]]) -> Counter[tuple[Any, Any]]:
    """How many points each series has in each drawing: by (series, value of the control)."""
    column, control = figure.encodings["color"].column, figure.control.column if figure.control else None
    return Counter((row[column], row[control] if control else None) for row in rows)


def _markers(figure: FigureSpec, rows: list[dict[str, Any]]) -> set[Any]:
    """The series that are a single point in every drawing of a figure (a marker on a curve)."""
    if "color" not in figure.encodings:
        return set()
    points = _series_points(figure, rows)
    return {series for series, _ in points} - {series for (series, _), count in points.items() if count > 1}


def _point_step(figure: FigureSpec, rows: list[dict[str, Any]]) -> int:
    """For a line figure, draw every this-many-th point of each line (`POINTS_PER_LINE`)."""
    if figure.kind != "line" or "color" not in figure.encodings:
        return 1
    longest = max(_series_points(figure, rows).values(), default=0)
    return max(1, math.ceil(longest / POINTS_PER_LINE))


def _series_layers(kind: str, encoding: dict[str, Any], markers: set[Any], step: int = 1) -> list[dict[str, Any]]:
    """The layers of a line or point figure whose series are named categories, each series set
    apart beyond its colour: lines by width and dashes, points by shape (and a marker, a series of
    one point, by its size), a line's points every `step`-th of its own. None for other figures."""
    color = encoding.get("color", {})
    domain = color.get("scale", {}).get("domain") if color.get("legend", {}) is None else None
    if kind not in ("line", "point") or not domain:
        return []

    def by_series(values: list[Any]) -> dict[str, Any]:
        return {"field": color["field"], "type": "nominal", "title": color["title"], "legend": None,
                "scale": {"type": "ordinal", "domain": domain, "range": values}}  # each value as given

    count = len(domain)
    points = {**encoding, "shape": by_series([SHAPES[index % len(SHAPES)] for index in range(count)])}
    point_layers: list[dict[str, Any]] = [
        {"mark": {"type": "point", "filled": True, "opacity": 1, "size": POINT_SIZE}, "encoding": points}]
    if markers:  # drawn last, and larger
        marker = f"indexof({json.dumps(sorted(markers))}, datum[{json.dumps(color['field'])}])"
        point_layers = [
            {**point_layers[0], "transform": [{"filter": f"{marker} < 0"}]},
            {"mark": {"type": "point", "filled": True, "opacity": 1, "size": 4 * POINT_SIZE}, "encoding": points,
             "transform": [{"filter": f"{marker} >= 0"}]}]
    if kind == "point":
        return point_layers
    if step > 1:
        every = [{"window": [{"op": "row_number", "as": "il_point"}], "groupby": [color["field"]]},
                 {"filter": f"datum.il_point % {step} == 1"}]
        point_layers[0] = {**point_layers[0], "transform": [*every, *point_layers[0].get("transform", [])]}
    styles = [series_style(kind, index, count) for index in range(count)]
    lines = {**encoding, "strokeWidth": by_series([width for width, _ in styles]),
             "strokeDash": by_series([dashes for _, dashes in styles])}
    return [{"mark": {"type": "line"}, "encoding": lines}, *point_layers]


def exploration_specs(figure: FigureSpec, every_row: list[dict[str, Any]],
                      rows_per_value: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The specs of an exploration's drawings, one per value of its control. They are drawn
    together and framed alike (`draw_svgs`), and each names a digest of the whole table, so a
    change to any row draws them all again."""
    table = hashlib.sha256(json.dumps(every_row, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return [{**vega_lite(figure, rows, every_row), "usermeta": {"exploration": table}} for rows in rows_per_value]


class KeyEntry(NamedTuple):
    """One series in a figure's key: its label, colour and, for a line, its width and dashes; for a
    line or point figure, the shape of its points (a marker shows its point alone)."""

    label: str
    colour: str
    line_width: float = 0.0
    dashes: str = ""
    shape: str = ""

    @property
    def shaded(self) -> bool:
        return self.colour in SHADED


def colour_key(figure: FigureSpec, rows: list[dict[str, Any]]) -> list[KeyEntry]:
    """Each category's label and look, for a figure coloured by named categories: a key the
    page shows as text above the drawing. Vega's own legend was 40% of the CPU time of drawing
    a figure, and its text shrank with the drawing on a phone. Categories are coloured in the
    order the starter gave them, which is the order Vega takes the palette in."""
    if "color" not in figure.encodings:
        return []
    values = [row[figure.encodings["color"].column] for row in rows]
    if not any(isinstance(value, str) for value in values):
        return []  # numbers are coloured along a scale, which Vega's legend draws
    series = list(dict.fromkeys(values))
    markers = _markers(figure, rows)
    entries = []
    for index, value in enumerate(series):
        width, dashes = (0.0, [1, 0]) if value in markers else series_style(figure.kind, index, len(series))
        shape = SHAPES[index % len(SHAPES)] if figure.kind in ("line", "point") else ""
        entries.append(KeyEntry(str(value), PALETTE[index % len(PALETTE)], width,
                                ",".join(map(str, dashes)) if width else "", shape))
    return entries


_TAG = re.compile(r"<[a-z]+ [^>]*>")
_PAINT = re.compile(r' (fill|stroke)="(#[0-9a-f]{6})"')


def themed_paint(svg: str) -> str:
    """Paint each mark in a colour of SHADED through a CSS variable (`--il-<hex>`, falling back to
    the colour itself), so that a colour scheme can shade it. One inline style per mark: the
    browser matches no selector against the thousands of marks of a page's drawings."""
    def tag(match: re.Match[str]) -> str:
        text = match.group(0)
        paints = [(prop, colour) for prop, colour in _PAINT.findall(text) if colour in SHADED]
        if not paints or " style=" in text:
            return text
        style = "; ".join(f"{prop}: var(--il-{colour[1:]}, {colour})" for prop, colour in paints)
        end = -2 if text.endswith("/>") else -1
        return f'{text[:end]} style="{style}"{text[end:]}'

    return _TAG.sub(tag, svg)


def accessible_svg(svg: str, id_prefix: str, title: str, description: str) -> str:
    """Give an SVG a title and description for screen readers, ids unique on the page, and colours
    a scheme can shade (`themed_paint`)."""
    svg = themed_paint(_ID.sub(lambda m: f' id="{id_prefix}-{m[1]}"', svg))
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{id_prefix}-{m[1]})", svg)
    head_end = svg.index(">") + 1
    head = svg[:head_end].replace("<svg ", f'<svg role="img" aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
                                  'focusable="false" ', 1)
    return (head + f'<title id="{id_prefix}-title">{html.escape(title)}</title>'
            f'<desc id="{id_prefix}-desc">{html.escape(description)}</desc>' + svg[head_end:])
