"""An exploration's drawings put together from parts: its axes drawn once, and for each value of
its control only the marks.

An exploration fixes its scales to the whole table, so its axes, grid and legends are the same
in every drawing; only the marks move. Drawing the axes is most of what a drawing costs (each
label is measured), so each value's marks are drawn without them, and put in place of the marks
of one drawing of the axes. Vega's SVG is regular: a header giving the size and the offset of the
plot, then the plot's top-level groups (axes, marks, legends), each tagged with its role.

Every drawing of an exploration gets the same frame: the smallest that holds the axes and every
value's marks, so the figure keeps its size while the learner moves the control.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_HEADER = re.compile(r'^<svg (?P<before>[^>]*?)width="(?P<width>[\d.]+)" height="(?P<height>[\d.]+)" '
                     r'viewBox="0 0 [\d.]+ [\d.]+"><g (?P<group>[^>]*?)transform="translate\('
                     r'(?P<x>-?[\d.]+),(?P<y>-?[\d.]+)\)">')
_PLOT_START = re.compile(r'<g class="mark-group role-frame root"[^>]*><g[^>]*><path class="background"[^>]*/><g>')
_GROUP_TAG = re.compile(r"<(/?)g\b[^>]*?(/?)>")
_ROLE = re.compile(r'class="[^"]*\brole-([\w-]+)')
_CLASS = re.compile(r'class="[^"]*"')
# Top-level groups that every drawing of an exploration shares: taken from the axes' drawing.
_SHARED_ROLES = ("axis", "legend", "title")

Box = tuple[float, float, float, float]  # left, top, right, bottom, from the plot's top-left corner


def compose_frames(axes_svg: str, marks_svgs: list[str]) -> list[str] | None:
    """Each of `marks_svgs` (drawn without axes or legends) with the axes, grid and legends of
    `axes_svg` (drawn with no rows), all in one frame. None if a drawing is not laid out as
    expected, or its marks do not line up with the axes' drawing: then draw them whole."""
    axes_children = _children(axes_svg)
    if axes_children is None:
        return None
    mark_slots = [index for index, child in enumerate(axes_children) if not _shared(child)]
    parts = []
    for svg in marks_svgs:
        children = _children(svg)
        if children is None:
            return None
        marks = [child for child in children if not _shared(child)]
        if [_class(child) for child in marks] != [_class(axes_children[index]) for index in mark_slots]:
            return None  # (the rest of a group's opening tag may differ: its role depends on its rows)
        parts.append(marks)
    frame = _union([_box(svg) for svg in [axes_svg, *marks_svgs]])
    head, tail = _split(axes_svg)
    framed_head = _reframed(head, frame)
    frames = []
    for marks in parts:
        children = list(axes_children)
        for index, child in zip(mark_slots, marks, strict=True):
            children[index] = child
        frames.append(framed_head + "".join(children) + tail)
    return frames


def _shared(child: str) -> bool:
    role = _ROLE.search(_opening(child))
    return role is not None and role.group(1).startswith(_SHARED_ROLES)


def _class(child: str) -> str | None:
    found = _CLASS.search(_opening(child))
    return found.group(0) if found else None


def _opening(child: str) -> str:
    return child[:child.index(">") + 1]


def _split(svg: str) -> tuple[str, str]:
    """The SVG up to its plot's first top-level group, and from after the last one."""
    start = _PLOT_START.search(svg)
    assert start is not None  # _children found it
    end = _plot_end(svg, start.end())
    assert end is not None
    return svg[:start.end()], svg[end:]


def _children(svg: str) -> list[str] | None:
    """The plot's top-level groups, in order, or None if the SVG is not laid out as expected."""
    start = _PLOT_START.search(svg)
    if start is None or not _HEADER.match(svg):
        return None
    children = list(_top_level_groups(svg, start.end()))
    end = _plot_end(svg, start.end())
    if end is None or "".join(children) != svg[start.end():end]:
        return None  # something other than groups at the top level: not a layout we know
    return children


def _top_level_groups(svg: str, start: int) -> Iterator[str]:
    depth, opened = 0, start
    for tag in _GROUP_TAG.finditer(svg, start):
        closing, self_closing = tag.group(1), tag.group(2)
        if self_closing:
            if depth == 0:
                yield tag.group(0)
        elif closing:
            if depth == 0:
                return
            depth -= 1
            if depth == 0:
                yield svg[opened:tag.end()]
        else:
            if depth == 0:
                opened = tag.start()
            depth += 1


def _plot_end(svg: str, start: int) -> int | None:
    """Where the group holding the plot's top-level groups closes."""
    depth = 0
    for tag in _GROUP_TAG.finditer(svg, start):
        if tag.group(2):
            continue
        if tag.group(1):
            if depth == 0:
                return tag.start()
            depth -= 1
        else:
            depth += 1
    return None


def _box(svg: str) -> Box:
    header = _HEADER.match(svg)
    assert header is not None  # _children found it
    x, y = float(header["x"]), float(header["y"])
    return (-x, -y, float(header["width"]) - x, float(header["height"]) - y)


def _union(boxes: list[Box]) -> Box:
    return (min(box[0] for box in boxes), min(box[1] for box in boxes),
            max(box[2] for box in boxes), max(box[3] for box in boxes))


def _reframed(head: str, box: Box) -> str:
    """`head` with the size and plot offset of a drawing that spans `box`."""
    def number(value: float) -> str:
        return str(int(value)) if value == int(value) else repr(value)

    width, height = number(box[2] - box[0]), number(box[3] - box[1])
    header = _HEADER.match(head)
    assert header is not None
    return (f'<svg {header["before"]}width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<g {header["group"]}transform="translate({number(-box[0])},{number(-box[1])})">'
            + head[header.end():])
