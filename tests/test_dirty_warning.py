"""`make serve` (`mkdocs serve --dirty`) explains its incremental rebuilds instead of printing
MkDocs' "A 'dirty' build is being performed" warning, and every other warning still shows."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import mkdocs_env
from infralens.incremental import DIRTY_NOTE, DIRTY_WARNING, DirtyWarningFilter, quiet_dirty_warning

from bench.localhost import free_port

MKDOCS_WARNING = ("A 'dirty' build is being performed, this will likely lead to inaccurate navigation and other "
                  "links within your site. This option is designed for site development purposes only.")
BROKEN_LINK = "[a page that is not there](no-such-page.md)"


def record(message: str, level: int = logging.WARNING, name: str = "mkdocs.commands.build") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_the_filter_drops_exactly_the_dirty_build_warning():
    drop = DirtyWarningFilter()
    assert not drop.filter(record(MKDOCS_WARNING))
    assert drop.filter(record("Doc file 'x.md' contains a link 'y.md', but the target is not found."))
    assert drop.filter(record(MKDOCS_WARNING, level=logging.ERROR)), "only the warning, not an error quoting it"
    assert drop.filter(record(f"Something else. {DIRTY_WARNING}")), "only a message that starts with it"


@pytest.fixture
def build_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("mkdocs.commands.build")
    before = list(logger.filters)
    yield logger
    logger.filters[:] = before


def test_installed_once_on_the_logger_mkdocs_warns_on(build_logger: logging.Logger):
    quiet_dirty_warning()
    quiet_dirty_warning()  # `mkdocs serve` runs on_startup once, but a second call must not stack filters
    assert sum(isinstance(f, DirtyWarningFilter) for f in build_logger.filters) == 1
    assert not build_logger.filter(record(MKDOCS_WARNING))
    assert build_logger.filter(record("The target is not found."))


def serve_log(project: Path) -> str:
    """What `make serve` prints until it serves: the first build and the serve banner."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--dirty", "-a", f"127.0.0.1:{port}"],
                               cwd=project, env=mkdocs_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr is not None
    lines = []
    deadline = time.monotonic() + 300
    try:
        for line in process.stderr:
            lines.append(line)
            if "Serving on" in line or time.monotonic() > deadline:
                break
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return "".join(lines)


@pytest.mark.serve
def test_serve_dirty_explains_instead_of_warning_and_keeps_other_warnings(project_copy: Path, tmp_path: Path):
    page = project_copy / "docs" / "authoring.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{BROKEN_LINK}\n", encoding="utf-8")

    served = serve_log(project_copy)
    assert "Serving on" in served, served
    assert DIRTY_WARNING not in served
    assert DIRTY_NOTE in served, "the serve log says what an incremental rebuild does"
    warnings = [line for line in served.splitlines() if line.startswith("WARNING")]
    assert any("no-such-page.md" in line for line in warnings), served

    # `mkdocs build --dirty` is not `make serve`: MkDocs' warning stays there.
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--dirty", "-d", str(tmp_path / "site")],
                           cwd=project_copy, capture_output=True, check=False, text=True, env=mkdocs_env(),
                           timeout=600)
    assert built.returncode == 0, built.stderr
    assert DIRTY_WARNING in built.stderr
