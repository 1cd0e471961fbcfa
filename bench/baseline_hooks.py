"""The baseline's only hook: formulas to MathML, which any site with offline math needs, cached as
the site's hooks cache it (INFRALENS_CACHE_DIR, or .cache/infralens beside mkdocs.yml)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hooks"))
from infralens.cache import DiskCache, project_cache
from infralens.mathml import render_math


@functools.cache
def _cache(project_root: str) -> DiskCache:
    return project_cache(Path(project_root))


def on_page_content(html, page, config, files):
    return render_math(html, _cache(os.path.dirname(config.config_file_path)))[0]
