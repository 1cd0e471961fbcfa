"""Where a rebuild under `mkdocs serve --dirty` spends its time (a helper of bench/run.py).

Usage: python rebuild_split.py PROJECT SITE KINDS EDITS

Builds PROJECT into SITE in one process the way `mkdocs serve --dirty` does (MkDocs' own build
function, the config read again for every rebuild, `on_startup` once), then, for each of the
comma-separated KINDS of edit (bench/author_edits.py), makes EDITS edits, rebuilding after each,
and prints one JSON object: per kind and rebuild, the seconds spent in each phase (exclusive: a
phase nested in another counts only in the inner one), the total, the CPU seconds, the pages
rebuilt and the drawings made.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(PROJECT / "hooks"))  # the project's package, as its hook module imports it
sys.path.append(str(Path(__file__).resolve().parent.parent))  # for bench.author_edits

import jinja2  # noqa: E402
from infralens import drawer, interview, project, render  # noqa: E402
from mkdocs.commands import build as mkdocs_build  # noqa: E402
from mkdocs.config import load_config  # noqa: E402
from mkdocs.structure.files import Files  # noqa: E402

from bench.author_edits import edit  # noqa: E402

SERVE_URL = "http://127.0.0.1:8000/"
_stack: list[list[float]] = []  # per running phase: time spent in phases nested in it
_spent: defaultdict[str, float] = defaultdict(float)
_counts: Counter[str] = Counter()
_rebuilt: list[str] = []


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _stack.append([0.0])
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            nested = _stack.pop()[0]
            _spent[label] += elapsed - nested
            if _stack:
                _stack[-1][0] += elapsed
    return wrapper


def _patch(owner: Any, name: str, label: str) -> None:
    setattr(owner, name, _timed(label, getattr(owner, name)))


# Before the hook module is loaded, so that the names it imports are the timed ones.
_patch(project, "load_project", "hooks: load labs.yaml, starters, recordings (on_config)")
_patch(interview, "practice_questions", "hooks: practice questions JSON")
for _name in ("render_lab", "render_starter_page", "render_labs_index", "render_learning_path"):
    _patch(render, _name, "hooks: render lab and index pages (Markdown)")
_patch(interview, "render_interview", "hooks: render interview page (Markdown)")
_patch(Files, "add_files_from_theme", "MkDocs: list the theme's files")
_patch(Files, "copy_static_files", "MkDocs: copy files")
_patch(jinja2.Environment, "compile", "Jinja: compile templates")
_patch(mkdocs_build, "get_files", "MkDocs: list docs files")
_result = drawer.PendingSvgs.result


def _counted_result(pending: drawer.PendingSvgs) -> list[str]:
    _counts["drawings drawn"] += pending.missing  # those not in the cache
    return _result(pending)


drawer.PendingSvgs.result = _timed("hooks: draw figures not in the cache", _counted_result)  # type: ignore[method-assign]


def _page_phase(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """MkDocs' per-page step, timed only for the pages a dirty build really rebuilds."""
    timed = _timed(label, function)

    @functools.wraps(function)
    def wrapper(page: Any, *args: Any, **kwargs: Any) -> Any:
        if not page.file.is_modified():
            return function(page, *args, **kwargs)  # returns at once in a dirty build
        if label.endswith("Markdown to HTML"):
            _rebuilt.append(page.file.src_uri)
        return timed(page, *args, **kwargs)
    return wrapper


mkdocs_build._populate_page = _page_phase("MkDocs: Markdown to HTML", mkdocs_build._populate_page)
mkdocs_build._build_page = _page_phase("MkDocs: page templates", mkdocs_build._build_page)


def _time_events(config: Any) -> None:
    """Time each plugin's event handlers, ours apart from the others'."""
    for event, methods in config.plugins.events.items():
        for index, method in enumerate(methods):
            owner = type(getattr(method, "__self__", None)).__name__
            who = "hooks" if owner == "InfralensPlugin" else "MkDocs' search plugin" if "Search" in owner else owner
            label = f"{who}: on_{event}"
            if who == "hooks" and event in ("page_markdown", "page_content", "env", "post_build"):
                label = "hooks: page events (math, notes, anchors), cache upkeep"
            methods[index] = _timed(label, method)


def rebuild(site: str, first: bool = False) -> dict[str, Any]:
    _spent.clear()
    _counts.clear()
    _rebuilt.clear()
    cpu, started = time.process_time(), time.perf_counter()
    config = _timed("MkDocs: read mkdocs.yml again", load_config)(str(PROJECT / "mkdocs.yml"), site_dir=site)
    _time_events(config)
    if first:
        config.plugins.on_startup(command="serve", dirty=True)
    config.site_url = SERVE_URL
    mkdocs_build.build(config, serve_url=SERVE_URL, dirty=True)
    total = time.perf_counter() - started
    phases = dict(_spent)
    phases["MkDocs: the rest of the build"] = total - sum(phases.values())
    return {"total": total, "cpu": time.process_time() - cpu, "phases": phases, "pages": list(_rebuilt),
            **_counts}


def main() -> None:
    site, kinds, edits = sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
    os.chdir(PROJECT)
    rebuild(site, first=True)
    rebuild(site)  # settled: what a first save after starting `make serve` finds
    result = {}
    for kind in kinds:
        change = edit(PROJECT, kind)
        runs = []
        for number in range(edits):
            change.apply(f"bench-split-{kind}-{number}")
            runs.append(rebuild(site))
        result[kind] = {"kind": kind, "lab": change.lab.id, "figure": change.figure, "runs": runs}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
