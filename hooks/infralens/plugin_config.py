"""The plugin's options in `mkdocs.yml`, with their defaults:

    plugins:
      - search
      - infralens:
          enabled: true          # false: the site without its labs
          cache: true            # false: every build is cold (drawings, code, formulas, search)
          cache_dir: .cache/infralens   # relative to mkdocs.yml; INFRALENS_CACHE_DIR wins
          highlight_cache: true  # speed-ups over another package's internals (speedups.py):
          search_cache: true     # switched off, the site is the same, built more slowly
"""

from __future__ import annotations

from mkdocs.config import config_options as c
from mkdocs.config.base import Config

from .cache import CACHE_DIR


class InfralensConfig(Config):
    enabled = c.Type(bool, default=True)
    cache = c.Type(bool, default=True)
    cache_dir = c.Type(str, default=str(CACHE_DIR))
    highlight_cache = c.Type(bool, default=True)
    search_cache = c.Type(bool, default=True)
