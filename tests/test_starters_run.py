"""Every starter runs, and the output its page shows is what it prints today."""

from __future__ import annotations

import pytest

from conftest import ROOT
from infralens.cli import run_starter
from infralens.registry import load_registry
from infralens.render import output_path
from pages import section, soup

LABS = load_registry(ROOT).labs


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_starter_runs_and_matches_its_page(lab, site):
    result = run_starter(ROOT, lab.starter)
    assert result.returncode == 0, result.stderr
    recorded = (ROOT / output_path(lab.starter)).read_text(encoding="utf-8")
    assert result.stdout == recorded, f"run `infralens outputs {lab.id}` and review the change"
    run_it = section(soup(site, f"/labs/{lab.id}/"), "run-it")
    printed = next(block for block in run_it if "language-text" in block.get("class", []))
    assert printed.find("code").get_text() == result.stdout
