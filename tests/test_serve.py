"""`mkdocs serve`: a starter edit and a new registry entry show up without a restart."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import mkdocs_env

from bench.localhost import fetch, free_port

POLL_SECONDS = 45  # a full rebuild on a busy 2-core machine can take a while; this is a timeout, not a measurement
LAB = "lab-01-forward-noise-process"


def wait_for(url: str, predicate, timeout: float = POLL_SECONDS) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        status, body = fetch(url, timeout=5)
        if status == 200 and predicate(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} did not show the change within {timeout} s")


@pytest.fixture
def server(project_copy: Path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--dirty", "-a", f"127.0.0.1:{port}"],  # as `make serve`
        cwd=project_copy, env=mkdocs_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/labs/{LAB}/", lambda body: "Lab 01" in body, timeout=60)
        yield project_copy, base
    finally:
        process.send_signal(signal.SIGINT)  # as Ctrl+C: serve shuts down and removes its temp site
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.serve
def test_starter_edit_and_new_lab_show_while_serving(server):
    project, base = server
    starter = project / "code" / LAB / "forward_noise.py"
    text = starter.read_text(encoding="utf-8")
    edited = text.replace("alphas = 1.0 - betas", "alphas = 1.0 - betas  # edited while serving", 1)
    assert edited != text
    starter.write_text(edited, encoding="utf-8")
    wait_for(f"{base}/labs/{LAB}/", lambda body: "edited while serving" in body)

    new_id = "lab-90-added-while-serving"
    shutil.copytree(project / "code" / LAB, project / "code" / new_id)
    registry = project / "labs.yaml"
    entry = registry.read_text(encoding="utf-8").split("labs:\n", 1)[1]
    registry.write_text(registry.read_text(encoding="utf-8") + entry
                        .replace(f"id: {LAB}", f"id: {new_id}", 1)
                        .replace("number: 1\n", "number: 90\n", 1)
                        .replace("title: Forward Noise Process", "title: Added While Serving", 1)
                        .replace(f"starter: code/{LAB}/", f"starter: code/{new_id}/", 1)
                        .split("\n  - id:", 1)[0] + "\n", encoding="utf-8")
    body = wait_for(f"{base}/labs/{new_id}/", lambda body: "Added While Serving" in body)
    assert "Lab 90" in body


@pytest.mark.serve
def test_a_broken_starter_shows_its_problem_and_recovers(server):
    project, base = server
    starter = project / "code" / LAB / "forward_noise.py"
    good = starter.read_text(encoding="utf-8")
    starter.write_text(good.replace("# lab:end chain\n", "", 1), encoding="utf-8")
    broken = wait_for(f"{base}/labs/{LAB}/", lambda body: "opened but never closed" in body)
    assert "cannot be built yet" in broken, "the lab page itself explains the problem"
    _, home = fetch(f"{base}/")
    assert "opened but never closed" in home, "every page carries the problem banner"

    starter.write_text(good, encoding="utf-8")
    restored = wait_for(f"{base}/labs/{LAB}/", lambda body: "Annotated code preview" in body)
    assert "opened but never closed" not in restored
