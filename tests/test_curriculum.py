"""The curriculum meets every rule of the rulebook (`infralens.lab_rules`), which is the check an
author runs, and the authoring page lists every rule. No test here knows which labs exist."""

from __future__ import annotations

import re

from conftest import ROOT
from infralens.lab_rules import RULES
from infralens.project import load_project
from pages import soup

PROJECT = load_project(ROOT)


def test_the_curriculum_has_no_problems():
    assert [str(problem) for problem in PROJECT.problems] == []


def test_the_authoring_page_lists_every_rule(site):
    """Each rule of the check is on the authoring page, word for word."""
    heading = soup(site, "/authoring/").find(id="rules-a-lab-must-meet")
    assert heading is not None, "the authoring page has a heading `Rules a lab must meet`"
    items = {re.sub(r"\s+", " ", item.get_text("")) for item in heading.find_next("ul").find_all("li")}
    for rule in RULES:
        assert f"{rule.id}: {rule.text.replace('`', '')}" in items, rule.id
