"""Figures: declarations parse or say what is wrong, recorded data is checked against them, and
a drawing keeps its text, title, description and unique ids."""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import textwrap
from collections import Counter
from typing import Any

import pytest
from conftest import ROOT
from infralens import drawer, drawing, svg_frames
from infralens.cache import DiskCache, NoCache
from infralens.drawer import Drawer, PendingSvgs, answer_drawings, draw_svgs
from infralens.drawing import (
    MAX_LABEL_LINES,
    PALETTE,
    POINTS_PER_LINE,
    accessible_svg,
    colour_key,
    exploration_specs,
    vega_lite,
)
from infralens.errors import AuthorError, Problems
from infralens.figure_data import check_recording, differences, recording
from infralens.figure_html import all_specs, finish_lab_figures, html_environment, plan_lab_figures, rows_of
from infralens.figure_spec import Encoding, FigureSpec, Table, parse_figure, round_to, same_when_shown
from infralens.mathml import render_math
from infralens.model import Lab
from infralens.starter import parse_starter

DRAWER = Drawer()  # the drawing process of this module's tests, as a build has one


@pytest.fixture(scope="module", autouse=True)
def _close_the_drawer():
    yield
    DRAWER.close()


def render_svgs(specs: list[dict[str, Any]], cache: DiskCache | None = None) -> list[str]:
    """Drawings of `specs`, made by a drawing process as a build makes them."""
    return PendingSvgs(specs, cache or NoCache(), DRAWER).result()


DECLARATION = """\
kind: line
title: The bubble shrinks as micro-batches grow
caption: Idle share of a step for p stages;
  more micro-batches amortise the warm-up.
x: m "micro-batches m" d
y: idle "idle fraction" .3f
color: schedule "schedule"
control: p "pipeline stages p" d
default: 4
y-scale: log
"""
LAB = Lab("lab-x", 1, "X", "ch", "handbook/x.md", "", "code/x/x.py", (), (), (), 1)


def figure_html_of(figure: FigureSpec, rows: list[dict[str, Any]]) -> str:
    """The figure's HTML as a page shows it (its caption, control and key), before its drawing."""
    table = {column: [row[column] for row in rows] for column in rows[0]}
    (plan,) = plan_lab_figures(html_environment(), LAB, (figure,), {figure.name: table})
    return plan.html


def declared(text: str = DECLARATION, name: str = "bubble") -> tuple[FigureSpec | None, list[str]]:
    problems = Problems("code/x/x.py", "lab-x")
    body = [(number, line) for number, line in enumerate(text.splitlines(), 2)]
    figure = parse_figure(name, 1, body, problems)
    return figure, [str(problem) for problem in problems]


def test_a_declaration_names_columns_labels_and_formats():
    figure, problems = declared()
    assert problems == [] and figure is not None
    assert figure.kind == "line" and figure.log_axes == ("y",) and figure.default == "4"
    assert figure.caption == "Idle share of a step for p stages; more micro-batches amortise the warm-up."
    assert figure.encodings["y"] == Encoding("idle", "idle fraction", ".3f")
    assert figure.control == Encoding("p", "pipeline stages p", "d")


@pytest.mark.parametrize("change, expected", [
    (("kind: line", "kind: pie"), "has kind `pie`"),
    (("kind: line", "knd: line"), "did you mean `kind:`?"),
    (("title: The bubble shrinks as micro-batches grow\n", ""), "has no `title:`"),
    (('y: idle "idle fraction" .3f', 'y: "idle fraction"'), "is not `column \"label\" [format]`"),
    (('y: idle "idle fraction" .3f', 'y: idle "idle" %.3f'), "is not a number format"),
    (("y-scale: log", "y-scale: squared"), "write `log` or `linear`"),
])
def test_malformed_declarations_are_explained(change, expected):
    old, new = change
    _, problems = declared(DECLARATION.replace(old, new))
    assert any(expected in problem and problem.startswith("code/x/x.py:") for problem in problems), problems


def test_a_timeline_needs_its_end_column():
    _, problems = declared("kind: timeline\ntitle: t\ncaption: c\nx: start \"s\"\ny: stage \"stage\"\n")
    assert any("has no `x2:`" in problem for problem in problems), problems


@pytest.mark.parametrize("value, number_format, shown", [
    (0.27654, ".3f", 0.277), (1234.5, "d", 1234), (0.123456, ".1%", 0.123), (3.14159e-9, ".2e", 3.14e-9),
    (123456.0, ".3g", 123000.0), ("gpipe", ".3f", "gpipe"),
])
def test_recorded_values_are_rounded_to_what_the_figure_shows(value, number_format, shown):
    assert round_to(value, number_format) == shown


def test_values_on_a_rounding_boundary_still_agree_at_the_precision_shown():
    assert same_when_shown(0.125, 0.12500000000001, ".2f")  # 0.13 vs a recorded 0.12 or 0.13
    assert same_when_shown(round_to(0.1249999999, ".2f"), 0.1250000001, ".2f")
    assert not same_when_shown(0.12, 0.15, ".2f")
    assert same_when_shown(3.14e-9, 3.1400000001e-9, ".2e")


STARTER = textwrap.dedent('''\
    """A lab with a figure."""
    # lab:goal g
    # lab:mental-model
    # - m
    # lab:checkpoints
    # - q?
    #   answer: a
    #   see: line 24
    # lab:traps
    # - t
    #   why: w
    # lab:interview
    # i
    # lab:intuition
    # - n
    # lab:figure growth
    # kind: bar
    # title: It grows
    # caption: Doubling.
    # x: n "n" d
    # y: value "value" .2f

    # lab:begin main
    x = 1  # (1)
    # lab:end main
    # lab:notes main
    # (1) one.
    # lab:explain 24-24 One
    # It is one.


    def figures():
        return {"growth": {"n": [1, 2, 3], "value": [2.0, 4.0, 8.0]}}
    ''')


def test_recorded_data_is_checked_against_the_declaration():
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    good = recording(starter, {"growth": {"n": [1, 2, 3], "value": [2.0, 4.0, 8.0]}})
    assert check_recording(LAB, starter, good) == []
    stale = {**good, "code": "0" * 16}
    unknown = {**good, "figures": {"growth": {"n": [1], "val": [2.0]}}}
    empty = {**good, "figures": {"growth": {"n": [], "value": []}}}
    cases = {"not recorded": None, "older version of the code": stale, "does not have": unknown,
             "data is empty": empty, "its data is not recorded": {**good, "figures": {}}}
    for expected, recorded in cases.items():
        problems = [str(p) for p in check_recording(LAB, starter, recorded)]
        assert any(expected in problem and problem.startswith("code/x/x.py:16 (lab lab-x)") for problem in problems), \
            (expected, problems)


def test_editing_a_comment_keeps_the_recording_fresh_but_editing_code_does_not():
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    noted = parse_starter(STARTER.replace("# (1) one.", "# (1) one, the first number."), "code/x/x.py", "lab-x")
    changed = parse_starter(STARTER.replace("x = 1  # (1)", "x = 2  # (1)"), "code/x/x.py", "lab-x")
    assert starter.code_digest == noted.code_digest != changed.code_digest


def test_differences_are_reported_at_the_precision_shown():
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    recorded = recording(starter, {"growth": {"n": [1, 2], "value": [2.0, 4.0]}})["figures"]["growth"]
    assert differences(figure, recorded, {"n": [1, 2], "value": [2.0000001, 3.9999999]}) == []
    found = differences(figure, recorded, {"n": [1, 2], "value": [2.0, 4.5]})
    assert found == ["growth.value[1]: recorded 4.0, now 4.5"]


def test_a_drawing_is_accessible_svg_with_text_and_unique_ids():
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    spec = vega_lite(figure, rows_of({"n": [1, 2, 3], "value": [2.0, 4.0, 8.0]}))
    (svg,) = render_svgs([spec])
    svg = accessible_svg(svg, "fig-a", figure.title, figure.caption)
    assert svg.startswith('<svg role="img" aria-labelledby="fig-a-title fig-a-desc"')
    assert '<title id="fig-a-title">It grows</title>' in svg and "<text" in svg
    assert all(identifier.startswith("fig-a-") for identifier in re.findall(r'\bid="([^"]+)"', svg))
    assert 'fill="white"' not in svg, "no background: the page's scheme shows through"


def test_a_broken_starter_is_not_a_figure_problem():
    with pytest.raises(AuthorError):
        parse_starter(STARTER.replace("# kind: bar", "# kind: pie"), "code/x/x.py", "lab-x")


def test_the_authoring_page_figure_example_parses():
    page = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    example = page[page.index("# lab:figure bubble"):page.index("def figures():")]
    body = [(number, line.removeprefix("#").removeprefix(" ")) for number, line in
            enumerate(example.strip().splitlines()[1:], 2)]
    figure, problems = declared("\n".join(text for _, text in body))
    assert problems == [] and figure is not None and figure.control is not None


def test_categories_get_a_key_on_the_page_in_the_colours_the_drawing_uses():
    figure, problems = declared()
    assert figure is not None and not problems
    rows = rows_of({"m": [1, 2, 1, 2], "idle": [0.5, 0.3, 0.4, 0.2], "schedule": ["GPipe", "GPipe", "1F1B", "1F1B"],
                    "p": [4, 4, 4, 4]})
    key = colour_key(figure, rows)
    assert [(entry.label, entry.colour) for entry in key] == [("GPipe", PALETTE[0]), ("1F1B", PALETTE[1])], \
        "in the starter's order, the palette's first colours"
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    assert "role-legend" not in svg, "the page's key replaces the drawing's legend"
    drawn = set(re.findall(r'(?:fill|stroke)="(#[0-9a-f]{6})"', svg))
    assert {PALETTE[0], PALETTE[1]} <= drawn and not drawn & set(PALETTE[2:])
    numbers = rows_of({"m": [1, 2], "idle": [0.5, 0.3], "schedule": [1, 2], "p": [4, 4]})
    assert colour_key(figure, numbers) == [], "numbers are coloured along a scale, with Vega's legend"


def test_a_cold_build_draws_in_a_process_of_its_own_with_the_same_result(tmp_path):
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    specs = [vega_lite(figure, rows_of({"n": [1, 2, 3], "value": [2.0, 4.0, value]})) for value in (8.0, 9.0)]
    cache = DiskCache(tmp_path)
    drawer = Drawer()
    pending = PendingSvgs(specs, cache, drawer)
    try:
        pending.start()
        assert pending.result() == render_svgs(specs)
        (broken,) = drawer.submit([{"mark": "pie-chart", "data": {"values": []}}])
        with pytest.raises(ValueError, match="conversion failed"):
            broken.result(timeout=60)  # the process reports the problem and keeps drawing
        again, other = drawer.submit([specs[0], {**specs[0], "width": 100}])
        assert again is drawer.submit(specs[:1])[0], "a spec asked for twice is drawn once"
        assert [again.result(timeout=60)] == render_svgs(specs[:1]) and other.result(timeout=60) != again.result()
    finally:
        drawer.close()
    assert PendingSvgs(specs, cache, drawer).missing == 0, "what was drawn in the background is in the cache"


def test_one_drawing_process_serves_every_build_and_replaces_itself_when_it_stops(tmp_path):
    """As under `mkdocs serve`: a second build draws with the same process, and a process that
    stopped is replaced on the next drawing asked for."""
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    first, second, third = (vega_lite(figure, rows_of({"n": [1, 2], "value": [2.0, value]})) for value in (3, 5, 7))
    drawer = Drawer()
    try:
        PendingSvgs([first], NoCache(), drawer).result()
        process = drawer._process
        drawer.forget_drawn()  # the end of a build
        PendingSvgs([second], NoCache(), drawer).result()
        assert drawer._process is process, "the next build draws with the same process"
        assert process is not None
        process.kill()
        process.wait()
        (svg,) = PendingSvgs([third], NoCache(), drawer).result()
        assert svg.startswith("<svg") and drawer._process is not process
    finally:
        drawer.close()


def marks_of(svg: str, mark: str) -> list[dict[str, str]]:
    """The attributes of each element Vega drew for a mark of type `mark` ("line", "symbol", ...)."""
    groups = re.findall(rf'<g class="mark-{mark} role-mark[^"]*"[^>]*>(.*?)</g>', svg)
    return [dict(re.findall(r' ([\w-]+)="([^"]*)"', element)) for group in groups
            for element in re.findall(r"<\w+ [^>]*>", group)]


def test_a_drawing_is_light_one_image_with_short_coordinates():
    """A screen reader reads a drawing as one image with its title and description, so its marks
    carry no labels of their own (they were a third of its bytes); coordinates keep two decimals."""
    figure, problems = declared()
    assert figure is not None and not problems
    table: Table = {"m": [1, 2, 3] * 2, "idle": [1 / 3, 2 / 7, 0.1] * 2, "schedule": ["a"] * 3 + ["b"] * 3,
                    "p": [4] * 6}
    rows = rows_of(table)
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    assert marks_of(svg, "line") and marks_of(svg, "symbol"), "the drawing has its lines and points"
    assert "aria-label=" not in svg and " role=" not in svg, "no label or role inside the image"
    geometry = re.findall(r' (?:d|transform|x|y|x2|y2)="([^"]*)"', svg)
    assert geometry and not [value for value in geometry if re.search(r"\d\.\d{3}|e-\d", value)], "two decimals"
    env = html_environment()
    (drawing,) = finish_lab_figures(env, LAB, plan_lab_figures(env, LAB, (figure,), {figure.name: table}), [svg])
    assert re.search(r'<svg role="img" aria-labelledby="[^"]+-title [^"]+-desc"', drawing.body), "one image, named"


def whole(spec: dict) -> str:
    """A spec drawn by vl-convert in one piece, as it would be without `draw_svgs`' shortcuts."""
    return drawer.compact_svg(drawer._engine().vegalite_to_svg(spec))


def frame_header(svg: str) -> re.Match[str]:
    header = svg_frames._HEADER.match(svg)
    assert header, "Vega's SVG starts with its size and the plot's offset"
    return header


def inside_the_frame(svg: str) -> str:
    return svg[frame_header(svg).end():]


def frame_box(svg: str) -> tuple[float, ...]:
    frame_header(svg)
    return svg_frames._box(svg)


def assert_drawn_as_whole_but_framed_alike(specs: list[dict], drawn: list[str]) -> None:
    wholes = [whole(spec) for spec in specs]
    assert [inside_the_frame(svg) for svg in drawn] == [inside_the_frame(svg) for svg in wholes]
    assert len({frame_header(svg).group(0) for svg in drawn}) == 1, "one frame for every value"
    frame = frame_box(drawn[0])
    assert all(frame[0] <= box[0] and frame[1] <= box[1] and frame[2] >= box[2] and frame[3] >= box[3]
               for box in map(frame_box, wholes)), "the frame holds every value's drawing"


def test_an_exploration_is_drawn_from_each_values_rows_in_one_frame():
    """Its drawings share one compiled spec and one drawing of the axes; each still shows its own
    rows, exactly as if drawn whole, and all keep one size: drawn whole, a value whose points
    reach the plot's edge would be larger than one whose points stay inside."""
    figure, _ = declared()
    assert figure
    every = rows_of({"m": [1, 2, 4, 1, 2], "idle": [0.5, 0.3, 0.1, 0.2, 0.06],
                     "schedule": ["gpipe", "gpipe", "gpipe", "1f1b", "1f1b"], "p": [4, 4, 4, 8, 8]})
    specs = exploration_specs(figure, every, [every[:3], every[3:]])
    together = draw_svgs(specs)
    assert together[0] != together[1]
    assert_drawn_as_whole_but_framed_alike(specs, together)
    assert frame_box(whole(specs[0])) != frame_box(whole(specs[1])), "drawn whole, the two differ in size"


def test_every_exploration_of_the_site_is_drawn_as_its_values_drawn_whole():
    """Putting axes and marks together relies on how Vega lays out its SVG: checked on every
    exploration the site has, against vl-convert's own drawing of each value."""
    from infralens.figure_html import html_environment, plan_lab_figures
    from infralens.project import load_project

    project = load_project(ROOT)
    explorations = [plan for lab in project.registry.labs if lab.id in project.figure_tables
                    for plan in plan_lab_figures(html_environment(), lab, project.starters[lab.id].figures,
                                                 project.figure_tables[lab.id]) if plan.figure.control]
    assert len(explorations) >= 8
    for plan in explorations:
        by_size: dict[tuple, list[dict]] = {}  # a timeline's height follows its rows: one frame per height
        for spec in plan.specs:
            by_size.setdefault((spec["width"], spec["height"]), []).append(spec)
        for specs in by_size.values():
            assert_drawn_as_whole_but_framed_alike(specs, draw_svgs(specs))


def test_drawings_not_laid_out_as_expected_are_not_put_together():
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    every = rows_of({"n": [1, 2, 3], "value": [2.0, 4.0, 8.0]})
    spec = vega_lite(figure, every, every)
    axes, marks = whole({**spec, "data": {"values": []}}), whole(spec)
    assert svg_frames.compose_frames(axes, [marks]) is not None
    assert svg_frames.compose_frames('<svg xmlns="http://www.w3.org/2000/svg"></svg>', [marks]) is None
    layered = whole({**{k: v for k, v in spec.items() if k not in ("mark", "encoding")},
                     "layer": [{"mark": spec["mark"], "encoding": spec["encoding"]},
                               {"mark": "rule", "encoding": {"y": spec["encoding"]["y"]}}]})
    assert svg_frames.compose_frames(axes, [layered]) is None, "marks that do not line up with the axes' drawing"


def test_one_missing_drawing_of_an_exploration_draws_them_all(tmp_path):
    """They share a frame that depends on every value's marks."""
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    every = rows_of({"n": [1, 2, 3, 1, 2, 3], "value": [2.0, 4.0, 8.0, 3.0, 9.0, 27.0]})
    specs = exploration_specs(figure, every, [every[:3], every[3:]])
    static = vega_lite(figure, every[:3])
    first = render_svgs([*specs, static], DiskCache(tmp_path / "all"))
    cache = DiskCache(tmp_path / "one missing")  # holds the first drawing and the static one, not the second
    render_svgs([specs[0], static], cache)
    assert PendingSvgs([*specs, static], cache, DRAWER).missing == 2
    assert render_svgs([*specs, static], cache) == first


OTHER_FONTS = sorted(pathlib.Path("/usr/share/fonts").glob("**/DejaVuSans.ttf"))


@pytest.mark.skipif(not OTHER_FONTS, reason="this machine has no DejaVu Sans to stand in for another machine's fonts")
def test_a_drawing_is_the_same_whatever_fonts_the_machine_has():
    """Labels are measured with the Liberation Sans vl-convert carries. A figure asking first for a
    family this machine has (DejaVu Sans, as a Mac has Helvetica) is laid out as one asking for
    Liberation Sans: same label positions and ticks, only the family named in the SVG differs."""
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    spec = vega_lite(figure, rows_of({"n": [1, 20, 300], "value": [2.5, 40.0, 123456.0]}))

    def drawn_in(family: str) -> str:
        (svg,) = render_svgs([{**spec, "config": {**spec["config"], "font": f"{family}, sans-serif"}}])
        return svg.replace(family, "FAMILY")

    before = os.environ.get("FONTCONFIG_FILE")
    assert drawn_in("DejaVu Sans") == drawn_in("Liberation Sans")
    assert os.environ.get("FONTCONFIG_FILE") == before, "Chromium, started by tests, needs the machine's fonts"


def test_the_drawing_process_answers_each_line_with_svgs_or_the_error():
    starter = parse_starter(STARTER, "code/x/x.py", "lab-x")
    (figure,) = starter.figures
    spec = vega_lite(figure, rows_of({"n": [1, 2], "value": [2.0, 4.0]}))
    replies = io.StringIO()
    answer_drawings(io.StringIO(json.dumps([spec]) + "\n" + "not json\n"), replies)
    good, bad = (json.loads(line) for line in replies.getvalue().splitlines())
    assert good["svgs"] == draw_svgs([spec]) and good["seconds"] > 0
    assert bad["error"].startswith("JSONDecodeError")


def test_each_line_series_has_its_own_width_dashes_and_points_and_the_key_shows_them():
    """Where two lines coincide, the first drawn (widest, solid) shows round the later ones."""
    figure, problems = declared()
    assert figure is not None and not problems and figure.kind == "line"
    rows = rows_of({"m": [1, 2] * 3, "idle": [0.5, 0.3] * 3, "schedule": ["a", "a", "b", "b", "c", "c"],
                    "p": [4] * 6})
    key = colour_key(figure, rows)
    widths = [entry.line_width for entry in key]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 3, widths
    assert key[0].dashes == "1,0" and len({entry.dashes for entry in key}) == 3
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    lines = marks_of(svg, "line")
    assert {(line["stroke"], float(line["stroke-width"])) for line in lines} == {(e.colour, e.line_width) for e in key}
    shapes = {re.sub(r"[\d.-]+", "", point["d"]) for point in marks_of(svg, "symbol")}
    assert len(shapes) == 3, "each series' points have their own shape"
    page = figure_html_of(figure, rows)
    assert page.count('class="il-figure-swatch il-figure-swatch-line"') == 3
    assert 'stroke-dasharray="8,4"' in page, "the key draws each line as the figure does"


def test_axis_numbers_drop_trailing_zeros_while_the_table_keeps_the_authors_precision():
    """An axis ticks round values: `.3f` would label them 0.300, 0.350; the table's 0.500 stays."""
    figure, problems = declared(DECLARATION.replace("y-scale: log\n", ""))
    assert figure is not None and not problems and figure.encodings["y"].format == ".3f"
    table: Table = {"m": [1, 2, 3] * 2, "idle": [0.5, 0.42, 0.31, 0.45, 0.37, 0.3],
                    "schedule": ["a"] * 3 + ["b"] * 3, "p": [4] * 6}
    env = html_environment()
    plans = plan_lab_figures(env, LAB, (figure,), {figure.name: table})
    (drawing,) = finish_lab_figures(env, LAB, plans, render_svgs(all_specs(plans)))
    decimals = [text for text in re.findall(r"<text[^>]*>([^<]*)</text>", drawing.body)
                if re.fullmatch(r"\d+\.\d+", text)]
    assert decimals, "the y axis labels its ticks"
    assert not [text for text in decimals if text.endswith("0")], decimals
    assert ">0.500<" in drawing.body, "the table of numbers shows them as the author formats them"


@pytest.mark.parametrize("labels, turned", [
    (["one ring", "8 rail rings", "hierarchical, in sequence", "hierarchical, pipelined"], False),
    ([f"{length}, {layout}" for length in (300, 1200, 750, 1800) for layout in ("reserved", "paged")], False),
    ([f"averyveryverylongcategory{number}" for number in range(6)], True),  # a word wider than its band
])
def test_category_labels_read_across_broken_between_words_where_they_fit(labels, turned):
    """Turned on end, long labels took more height than the bars and were read with the head tilted."""
    figure, problems = declared('kind: bar\ntitle: T\ncaption: C.\nx: algorithm "algorithm"\ny: ms "time (ms)" .2f\n')
    assert figure is not None and not problems
    rows = rows_of({"algorithm": labels, "ms": [float(number + 1) for number in range(len(labels))]})
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    label_texts = re.findall(r'<text([^>]*)>(.*?)</text>', svg)
    drawn = [(attributes, re.sub(r"<[^>]+>", " ", text).split()) for attributes, text in label_texts]
    first_words = {label.split()[0] for label in labels}
    mine = [(attributes, words) for attributes, words in drawn if words and words[0] in first_words]
    assert len(mine) == len(labels), "every category is labelled"
    assert all(("rotate(" in attributes) == turned for attributes, _ in mine)
    if not turned:
        lines = [text.count("<tspan") for _, text in label_texts if "," in text]
        assert lines == [2] * len(lines) and len(lines) >= 2, "a label too wide for its band is broken into lines"
        assert [" ".join(words) for _, words in mine] == labels
    authoring = " ".join((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8").split())
    assert f"broken between words into at most {MAX_LABEL_LINES} lines" in authoring, "the authoring page says so"


def test_a_series_of_one_point_is_drawn_last_and_larger():
    figure, problems = declared()
    assert figure is not None and not problems
    rows = rows_of({"m": [1, 2, 3, 2], "idle": [0.5, 0.3, 0.2, 0.3], "schedule": ["curve", "marker", "curve", "curve"],
                    "p": [4] * 4})
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    series = {entry.colour: entry.label for entry in colour_key(figure, rows)}
    points = [(series[point["fill"]], point["d"][1:].split(",")[0]) for point in marks_of(svg, "symbol")]
    assert points[-1][0] == "marker", "drawn on top"
    sizes = {name: abs(float(x)) for name, x in points}
    assert sizes["marker"] >= 1.8 * sizes["curve"], sizes


def test_the_key_shows_each_series_with_its_points_shape_and_a_marker_as_its_point_alone():
    """A learner matches the key to the drawing by shape as well as colour: a line's key carries its
    points' shape, and a marker (drawn as a point only) shows no line."""
    figure, problems = declared()
    assert figure is not None and not problems and figure.kind == "line"
    rows = rows_of({"m": [1, 2, 3, 2], "idle": [0.5, 0.3, 0.2, 0.3], "schedule": ["curve", "marker", "curve", "curve"],
                    "p": [4] * 4})
    key = colour_key(figure, rows)
    assert [(entry.label, entry.line_width > 0, entry.shape) for entry in key] == [
        ("curve", True, "circle"), ("marker", False, "square")]
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    series = {entry.colour: entry.label for entry in key}
    drawn = {series[point["fill"]]: point["d"] for point in marks_of(svg, "symbol")}
    assert "A" in drawn["curve"] and "A" not in drawn["marker"], "round points (arcs) on the curve, a square marker"
    page = figure_html_of(figure, rows)
    items = re.findall(r'<span class="il-figure-key-item">(.*?)</span>', page)
    assert "<line" in items[0] and "<circle" in items[0], "the curve: its line with a round point on it"
    assert "<line" not in items[1] and "<rect" in items[1], "the marker: a square point alone"


def test_a_long_line_draws_a_few_of_its_points_and_all_of_its_line():
    """Hundreds of points on a line merge into a band and weigh on the page: a line draws at most
    POINTS_PER_LINE of them, spread along it, while the line itself passes through every row."""
    figure, problems = declared()
    assert figure is not None and not problems and figure.kind == "line"
    count = 100
    rows = rows_of({"m": [*range(count)] * 2, "idle": [n / count for n in range(count)] * 2,
                    "schedule": ["a"] * count + ["b"] * count, "p": [4] * (2 * count)})
    (svg,) = render_svgs([vega_lite(figure, rows, rows)])
    series = {entry.colour: entry.label for entry in colour_key(figure, rows)}
    points = Counter(series[point["fill"]] for point in marks_of(svg, "symbol"))
    assert POINTS_PER_LINE // 2 <= points["a"] <= POINTS_PER_LINE and points["a"] == points["b"], points
    lines = [line["d"] for line in marks_of(svg, "line")]
    assert len(lines) == 2 and all(len(re.findall(r"[ML]", d)) == count for d in lines)
    short = rows_of({"m": [1, 2, 3], "idle": [0.1, 0.2, 0.3], "schedule": ["a"] * 3, "p": [4] * 3})
    (svg,) = render_svgs([vega_lite(figure, short, short)])
    assert len(marks_of(svg, "symbol")) == 3, "a short line keeps every point"
    authoring = " ".join((ROOT / "docs" / "authoring.md").read_text(encoding="utf-8").split())
    assert f"draws at most {POINTS_PER_LINE} of them" in authoring, "the authoring page gives the number"


def test_a_formula_in_a_caption_is_rendered_as_math():
    figure, problems = declared(DECLARATION.replace("caption: ", "caption: where $\\bar\\alpha_t < 0.5$ & "))
    assert figure is not None and not problems
    page = figure_html_of(figure, rows_of({"m": [1], "idle": [0.5], "schedule": ["a"], "p": [4]}))
    caption = page[page.index("<figcaption>"):page.index("</figcaption>")]
    assert '<span class="arithmatex">\\(\\bar\\alpha_t &lt; 0.5\\)</span> &amp; ' in caption
    html, bad = render_math(caption)
    assert not bad and "<math" in html and "$" not in html


def test_a_timeline_too_narrow_for_its_labels_is_drawn_wider_up_to_twice_the_width():
    text = 'kind: timeline\ntitle: t\ncaption: c\nx: start "time"\nx2: end "end"\ny: row "row" d\nlabel: name "name"\n'
    figure, problems = declared(text, "steps")
    assert figure is not None and not problems
    wide = rows_of({"start": [0.0, 10.0], "end": [10.0, 20.0], "row": [0, 0], "name": ["0a", "1a"]})
    assert vega_lite(figure, wide)["width"] == drawing.WIDTH, "labels that fit keep the usual width"
    tight = rows_of({"start": [0.0, 0.5, 1.0], "end": [0.5, 1.0, 33.0], "row": [0, 0, 1], "name": ["0a", "1a", ""]})
    # '0a' needs about 19 px; a half-unit bar of a 33-unit timeline gets that at 1254 px: capped.
    assert vega_lite(figure, tight)["width"] == 2 * drawing.WIDTH
    roomy = rows_of({"start": [0.0, 2.0], "end": [2.0, 33.0], "row": [0, 1], "name": ["0a", ""]})
    assert drawing.WIDTH <= vega_lite(figure, roomy)["width"] < 2 * drawing.WIDTH


def test_light_palette_colours_are_painted_through_a_variable_a_scheme_can_shade():
    svg = ('<svg width="10"><path d="M0,0" stroke="#e69f00" fill="#e69f00"/>'
           '<rect fill="#0072b2" width="1"/><text fill="#000000">x</text></svg>')
    themed = drawing.themed_paint(svg)
    assert '<path d="M0,0" stroke="#e69f00" fill="#e69f00" style="stroke: var(--il-e69f00, #e69f00); ' \
           'fill: var(--il-e69f00, #e69f00)"/>' in themed, "one style, both paints, the colour as fallback"
    assert '<rect fill="#0072b2" width="1"/>' in themed, "a colour with 3:1 in both schemes is left as drawn"
    css = (ROOT / "docs" / "stylesheets" / "learning.css").read_text(encoding="utf-8")
    assert all(f"--il-{colour[1:]}:" in css for colour in drawing.SHADED), "the stylesheet shades each of them"
