"""The InfraLens hooks wrapped with timers, for the benchmark only (not a site hook).

It records the time spent in each hook event, and what a hook-free baseline needs to build
the same pages: each page's final Markdown with its front matter, the nav and the copied files.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time

import yaml

sys.path.insert(0, os.environ["INFRALENS_HOOKS_DIR"])
import infralens_hooks as hooks

_record: dict = {"events_ms": {}, "markdown": {}, "nav": None, "static": []}


def _timed(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            events = _record["events_ms"]
            events[function.__name__] = events.get(function.__name__, 0.0) + (time.perf_counter() - started) * 1000
    return wrapper


on_startup = _timed(hooks.on_startup)
_on_config = _timed(hooks.on_config)
_on_files = _timed(hooks.on_files)
_on_page_markdown = _timed(hooks.on_page_markdown)
on_page_content = _timed(hooks.on_page_content)
_on_post_build = _timed(hooks.on_post_build)


def on_config(config):
    config = _on_config(config)
    _record["nav"] = config.nav
    return config


def on_files(files, config):
    files = _on_files(files, config)
    _record["static"] = [f.src_uri for f in files if f.generated_by and not f.is_documentation_page()]
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = _on_page_markdown(markdown, page=page, config=config, files=files)
    front = f"---\n{yaml.safe_dump(page.meta, allow_unicode=True)}---\n\n" if page.meta else ""
    _record["markdown"][page.file.src_uri] = front + markdown
    return markdown


def on_post_build(config):
    _on_post_build(config)
    _record["total_ms"] = sum(_record["events_ms"].values())
    with open(os.environ["INFRALENS_BENCH_RECORD"], "w", encoding="utf-8") as out:
        json.dump(_record, out)
