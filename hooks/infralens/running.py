"""Running a starter the way its lab page tells learners to: `python <starter>` from the root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN_TIMEOUT_SECONDS = 60


def run_starter(root: Path, starter: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `starter` (root-relative) from `root`; raises `subprocess.TimeoutExpired` past the limit."""
    return subprocess.run([sys.executable, starter], cwd=root, capture_output=True, check=False, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, encoding="utf-8", env=env)
