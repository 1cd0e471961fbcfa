"""The InfraLens plugin's events wrapped with timers, run as hooks in the plugin's place, for the
benchmark only (bench/run.py writes the configuration that does so).

It records the time spent in each hook event and in the drawing of figures (the whole phase,
cache look-ups included; the time the build waited for drawings; and the time vl-convert drew in
the drawing process beside it), and, when INFRALENS_BENCH_PAGES is set,
what a hook-free baseline needs to build the same pages: each page's final Markdown with its
front matter, the nav and the generated files.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml

sys.path.insert(0, os.environ["INFRALENS_HOOKS_DIR"])
from infralens import drawer, figure_build
from infralens.plugin import InfralensPlugin

_pages = bool(os.environ.get("INFRALENS_BENCH_PAGES"))
_record: dict[str, Any] = {"events_ms": {}, "draw_ms": 0.0, "render_ms": 0.0, "wait_ms": 0.0, "drawn": 0,
                           "markdown": {}, "nav": None, "static": []}


_running: dict[str, int] = {}  # timers running per key: a call nested in another counts once


def _timed(function: Callable[..., Any], key: str | None = None) -> Callable[..., Any]:
    name = key or function.__name__

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        _running[name] = _running.get(name, 0) + 1
        try:
            return function(*args, **kwargs)
        finally:
            _running[name] -= 1
            if not _running[name]:
                elapsed = (time.perf_counter() - started) * 1000
                totals = _record if key else _record["events_ms"]
                totals[name] = totals.get(name, 0.0) + elapsed
    return wrapper


def _target(owner: Any, name: str) -> Any:
    """What the bench times: a renamed one stops the bench instead of being timed as 0 ms."""
    if not hasattr(owner, name):
        raise SystemExit(f"bench/timed_hooks.py times `{getattr(owner, '__name__', owner)}.{name}`, which no longer "
                         "exists: point the bench at its new name.")
    return getattr(owner, name)


# The drawing phase: every lab's figures noted, read from the cache or drawn; and the drawing itself.
for _owner, _method in ((figure_build.FigureBuild, "publish_explorations"),
                        (figure_build.FigureBuild, "rebuild_pages_placing_changed_figures"),
                        (figure_build.FigureBuild, "drawings_of")):
    setattr(_owner, _method, _timed(_target(_owner, _method), "draw_ms"))
_drawn: list[int] = []
_result = _target(drawer.PendingSvgs, "result")


def _counted_result(pending: drawer.PendingSvgs) -> list[str]:
    """The drawings a build waited for, counting those vl-convert made (not in the cache)."""
    _drawn.append(pending.missing)
    return _result(pending)


drawer.PendingSvgs.result = _timed(_counted_result, "wait_ms")  # type: ignore[method-assign]

# Every event the plugin has, timed; on_config, on_files, on_page_markdown and on_post_build
# also record what the baseline needs. The plugin runs with its default options.
_plugin = InfralensPlugin()
_errors, _warnings = _plugin.load_config({})
if _errors:
    raise SystemExit(f"bench/timed_hooks.py: the plugin's default options do not load: {_errors}")
for _name in dir(_plugin):
    if _name.startswith("on_") and callable(getattr(_plugin, _name)):
        globals()[_name] = _timed(getattr(_plugin, _name))
_on_config, _on_files = globals()["on_config"], globals()["on_files"]
_on_page_markdown, _on_post_build = globals()["on_page_markdown"], globals()["on_post_build"]


def on_config(config):
    config = _on_config(config)
    _record["nav"] = config.nav
    return config


def on_files(files, config):
    files = _on_files(files, config=config)
    _record["static"] = [f.src_uri for f in files if f.generated_by and not f.is_documentation_page()]
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = _on_page_markdown(markdown, page=page, config=config, files=files)
    if _pages:
        front = f"---\n{yaml.safe_dump(page.meta, allow_unicode=True)}---\n\n" if page.meta else ""
        _record["markdown"][page.file.src_uri] = front + markdown
    return markdown


def on_post_build(config):
    _on_post_build(config=config)
    _record["render_ms"] += _plugin.drawer.seconds * 1000  # drawn in the drawing process
    _plugin.drawer.seconds = 0.0
    _record["total_ms"] = sum(_record["events_ms"].values())
    _record["drawn"] = sum(_drawn)
    with open(os.environ["INFRALENS_BENCH_RECORD"], "w", encoding="utf-8") as out:
        json.dump(_record, out)
