"""Drawing figures: Vega-Lite specs to SVG with vl-convert, in one process beside the build.

A build never draws in its own process. vl-convert holds the interpreter lock while it draws, so
a thread could not overlap it with Markdown; a process can, and a cold build has a core to spare.
The process is also where the font setting lives (`Drawer.start`), never in the build's process,
which under `mkdocs serve` runs threads, and under tests starts Chromium. The process is started
when a drawing is first needed (or early, when many will be: `FigureBuild`) and lives as long as
whoever owns the `Drawer`: the plugin keeps one for all the rebuilds of `mkdocs serve`.

The process is a plain `python` reading one JSON list of specs per line and answering with one
line of SVGs (`serve_drawings`); unlike multiprocessing, it never runs the program that started
the build again. Drawings are cached by the digest of their spec (`PendingSvgs`).
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from .cache import DiskCache
from .svg_frames import compose_frames

_HOOKS = Path(__file__).resolve().parent.parent  # where the package `infralens` is imported from
# Vega writes coordinates to 17 digits (248.99999999999997): two decimals are a hundredth of a px,
# and the rest was a sixth of a timeline's bytes. Only geometry is rounded, never a label's text.
# Its roles for the groups inside are dropped: a drawing is one image to a screen reader (see
# drawing._THEME), and a group with a role of its own but no name is an accessibility error.
_INNER_ROLES = re.compile(r' (?:role="graphics-[a-z]+"|aria-roledescription="[^"]*"|aria-hidden="true")')
_GEOMETRY = re.compile(r'( (?:d|transform|x|y|x1|x2|y1|y2|width|height)=")([^"]*)"')
_LONG_NUMBER = re.compile(r"-?\d+(?:\.\d+)?e[-+]?\d+|-?\d+\.\d{3,}")


def _svg_key(spec: dict[str, Any]) -> str:
    return "svg\0" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def draw_svgs(specs: list[dict[str, Any]]) -> list[str]:
    """Draw Vega-Lite specs to SVG with vl-convert, in the process that calls it (the drawing
    process, or a test). Specs that differ only in their rows, as an exploration's drawings do,
    are compiled to Vega once: compiling was a fifth of a drawing, and it reads the spec, never
    the rows. An exploration's axes are drawn once (`_draw_exploration`)."""
    engine = _engine()
    svgs: dict[int, str] = {}
    alike: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        if spec.get("data", {}).get("values") is None:
            svgs[index] = engine.vegalite_to_svg(spec)
        else:
            alike.setdefault(json.dumps({k: v for k, v in spec.items() if k != "data"}, sort_keys=True),
                             []).append(index)
    for indexes in alike.values():
        group = [specs[index] for index in indexes]
        drawn = _draw_exploration(engine, group) if _exploration(group[0]) else None
        svgs.update(zip(indexes, drawn or _draw_alike(engine, group), strict=True))
    return [compact_svg(svgs[index]) for index in range(len(specs))]


def compact_svg(svg: str) -> str:
    """`svg` with its coordinates rounded to two decimals and without roles inside it."""
    def rounded(number: re.Match[str]) -> str:
        text = f"{float(number[0]):.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text

    svg = _INNER_ROLES.sub("", svg)
    return _GEOMETRY.sub(lambda attribute: f'{attribute[1]}{_LONG_NUMBER.sub(rounded, attribute[2])}"', svg)


def _draw_alike(engine: Any, specs: list[dict[str, Any]]) -> list[str]:
    """Specs that differ only in their rows, compiled once."""
    vega = engine.vegalite_to_vega(specs[0])
    return [engine.vega_to_svg(_with_rows(vega, spec["data"]["values"])) for spec in specs]


def _with_rows(vega: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A compiled spec whose inline data (the one data set Vega-Lite compiles `values` to) is `rows`."""
    return {**vega, "data": [{**data, "values": rows} if "values" in data else data for data in vega["data"]]}


def _draw_exploration(engine: Any, specs: list[dict[str, Any]]) -> list[str] | None:
    """An exploration's drawings: its axes and legends once (with no rows), and each value's
    marks alone, put together by `compose_frames`. Axes were two thirds of a drawing's time:
    vl-convert measures every label. A mark's label for screen readers is part of the mark, so
    it keeps the axes' number format. None if the drawings cannot be put together."""
    vega = engine.vegalite_to_vega(specs[0])
    axes = engine.vega_to_svg(_with_rows(vega, []))
    marks = {key: value for key, value in vega.items() if key not in ("axes", "legends")}
    return compose_frames(axes, [engine.vega_to_svg(_with_rows(marks, spec["data"]["values"])) for spec in specs])


@functools.cache
def _engine() -> Any:
    """vl-convert, started and warmed up: it lists the fonts when it first measures a label."""
    import vl_convert  # deferred: a build whose drawings are all cached never starts its engine

    vl_convert.vegalite_to_svg({"data": {"values": [{"x": 1}]}, "mark": "point",
                                "encoding": {"x": {"field": "x", "type": "quantitative"}}})
    return vl_convert


def _exploration(spec: dict[str, Any]) -> str | None:
    return spec.get("usermeta", {}).get("exploration")


class Drawer:
    """The drawing process, started on first use, and the drawings asked of it. Starting the
    process and its engine costs about half a second, so it is started as soon as a build knows
    of a drawing to make (`FigureBuild`), to be ready when the first are asked for. (Two
    processes were slower: the engine keeps more than one core busy, and the pages need the other.)"""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._fonts: str | None = None  # the folder of the process's font setting
        self._sender: ThreadPoolExecutor | None = None
        self._asked: dict[str, Future[str]] = {}  # by spec key
        self.seconds = 0.0  # spent drawing in the process, as it reports

    def start(self) -> None:
        """Start the process and its engine, if not yet started.

        vl-convert measures text with the Liberation Sans it carries in memory only if the font
        list it makes (from the folders fontconfig names, on Linux) has no other: with the
        system's own Liberation Sans listed, it opened and mapped that file for every label it
        measured, about 560 times a drawing (46% of the drawing time), and a machine with
        Helvetica or Arial drew its labels with those. So the process's environment names an
        empty font folder. (On macOS and Windows the font library reads the system's folders.)"""
        if self._process is not None and self._process.poll() is None:
            return
        self.close()  # a process that stopped (its error was reported) is replaced
        self._fonts = tempfile.mkdtemp(prefix="infralens-fonts-")
        config = Path(self._fonts) / "fonts.conf"
        config.write_text(f"<?xml version='1.0'?><fontconfig><dir>{html.escape(self._fonts)}</dir></fontconfig>",
                          encoding="utf-8")
        start = (f"import sys; sys.path.insert(0, {str(_HOOKS)!r}); "
                 "from infralens.drawer import serve_drawings; serve_drawings()")
        self._process = subprocess.Popen([sys.executable, "-c", start], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, encoding="utf-8",
                                         env={**os.environ, "FONTCONFIG_FILE": str(config)})
        self._sender = ThreadPoolExecutor(max_workers=1)  # waits on the pipe, holding no lock

    def submit(self, specs: list[dict[str, Any]], keys: list[str] | None = None) -> list[Future[str]]:
        """Each spec's SVG, to come. A spec asked for before (the same key) is drawn only once: copies
        of a lab share their drawings."""
        keys = keys or [_svg_key(spec) for spec in specs]
        new = {key: spec for key, spec in zip(keys, specs, strict=True) if key not in self._asked}
        if new:
            self.start()
            assert self._sender is not None
            futures: dict[str, Future[str]] = {key: Future() for key in new}
            self._asked.update(futures)
            batch = self._sender.submit(self._draw, list(new.values()))
            batch.add_done_callback(functools.partial(_settle, list(futures.values())))
        return [self._asked[key] for key in keys]

    def _draw(self, specs: list[dict[str, Any]]) -> list[str]:
        assert self._process is not None and self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(specs) + "\n")
        self._process.stdin.flush()
        reply = self._process.stdout.readline()
        if not reply:
            raise RuntimeError(f"the drawing process stopped (exit code {self._process.poll()}): see its message above")
        answer = json.loads(reply)
        if "error" in answer:
            raise ValueError(answer["error"])
        self.seconds += answer["seconds"]
        return list(answer["svgs"])

    def forget_drawn(self) -> None:
        """Drop the drawings made so far (they are in the cache): a build's end, under `mkdocs
        serve`, keeps the process and nothing else."""
        self._asked = {key: future for key, future in self._asked.items() if not future.done()}

    def close(self) -> None:
        if self._sender is not None:
            self._sender.shutdown(wait=True, cancel_futures=True)
            self._sender = None
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()  # the process ends when its input does
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
        if self._fonts is not None:
            shutil.rmtree(self._fonts, ignore_errors=True)
            self._fonts = None
        self._asked.clear()


def _settle(futures: list[Future[str]], batch: Future[list[str]]) -> None:
    """Hand each drawing of a finished batch to its own future (or the batch's error, or its cancelling)."""
    try:
        svgs = batch.result()
    except BaseException as error:  # whoever waits on a drawing gets it, cancelling included
        for future in futures:
            future.set_exception(error)
    else:
        for future, svg in zip(futures, svgs, strict=True):
            future.set_result(svg)


def serve_drawings() -> None:
    """The drawing process: a JSON list of specs per line in, a JSON object per line out."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else written to standard output (the engine's messages) goes to standard error
    _engine()  # ready before the first drawing is asked for
    answer_drawings(sys.stdin, replies)


def answer_drawings(requests: TextIO, replies: TextIO) -> None:
    for line in requests:
        started = time.perf_counter()
        try:
            svgs = draw_svgs(json.loads(line))
            answer: dict[str, Any] = {"svgs": svgs, "seconds": time.perf_counter() - started}
        except Exception as error:  # the build that asked reports it
            answer = {"error": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(answer) + "\n")
        replies.flush()


class PendingSvgs:
    """The SVGs of some specs: those in the cache at once, the others drawn by `drawer` from
    `start()` on, or when `result()` is asked for."""

    def __init__(self, specs: list[dict[str, Any]], cache: DiskCache, drawer: Drawer) -> None:
        self._cache, self._drawer = cache, drawer
        self._keys = [_svg_key(spec) for spec in specs]
        self._svgs = [self._cache.get(key) for key in self._keys]
        # An exploration's drawings share their frame (`_draw_exploration`): one missing draws them all.
        redrawn = {_exploration(specs[index]) for index, svg in enumerate(self._svgs) if svg is None} - {None}
        self._missing = [index for index, svg in enumerate(self._svgs)
                         if svg is None or _exploration(specs[index]) in redrawn]
        self._specs = [specs[index] for index in self._missing]
        self._drawing: list[Future[str]] | None = None

    @property
    def missing(self) -> int:
        """How many of the specs were not in the cache."""
        return len(self._missing)

    def start(self) -> None:
        if self._missing and self._drawing is None:
            self._drawing = self._drawer.submit(self._specs, [self._keys[index] for index in self._missing])

    def result(self) -> list[str]:
        if self._missing:
            self.start()
            assert self._drawing is not None
            for index, future in zip(self._missing, self._drawing, strict=True):
                self._svgs[index] = svg = future.result()
                self._cache.put(self._keys[index], svg)
            self._missing, self._specs, self._drawing = [], [], None
        return [svg for svg in self._svgs if svg is not None]
