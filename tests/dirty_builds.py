"""Run MkDocs builds in one process the way `mkdocs serve --dirty` does (a helper for tests).

Usage: python dirty_builds.py PROJECT SITE STEP...  where each STEP is `build` or
`edit|PATH|OLD|NEW` (paths relative to PROJECT). Prints one line per build: its seconds.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config

SERVE_URL = "http://127.0.0.1:8000/"


def main(project: Path, site: str, steps: list[str]) -> None:
    os.chdir(project)
    started = False
    for step in steps:
        if step.startswith("edit|"):
            _, path, old, new = step.split("|", 3)
            file = project / path
            text = file.read_text(encoding="utf-8")
            assert old in text, (path, old)
            file.write_text(text.replace(old, new, 1), encoding="utf-8")
            continue
        config = load_config(str(project / "mkdocs.yml"), site_dir=site)
        if not started:
            config.plugins.on_startup(command="serve", dirty=True)
            started = True
        config.site_url = SERVE_URL
        begin = time.perf_counter()
        build(config, serve_url=SERVE_URL, dirty=True)
        print(f"{time.perf_counter() - begin:.3f}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
