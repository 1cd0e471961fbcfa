"""The curriculum: every lab has each section filled to the minimum a learner needs, and each
chapter's handbook page teaches at a readable length."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT
from infralens.project import load_project

PROJECT = load_project(ROOT)
LABS = PROJECT.registry.ordered_labs


def test_the_curriculum_is_complete_and_builds():
    assert PROJECT.problems == ()
    assert [lab.number for lab in LABS] == list(range(1, len(LABS) + 1))
    assert len(PROJECT.registry.chapters) >= 7 and len(LABS) >= 30
    assert LABS[0].title == "Forward Noise Process"


def sentences(text: str) -> int:
    """Sentences end in . ! or ? before a space or the end; common abbreviations do not count."""
    text = re.sub(r"\b(?:e\.g|i\.e|vs|et al|approx|cf)\.", "", text)
    return len([part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part])


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_each_lab_has_every_section(lab):
    starter = PROJECT.starters[lab.id]
    assert starter.goal
    assert len(starter.mental_model) >= 3
    assert len(starter.checkpoints) >= 3
    assert len(starter.traps) >= 2
    assert 4 <= sentences(" ".join(starter.interview)) <= 8, starter.interview
    assert 40 <= len(starter.lines) <= 230
    assert starter.excerpts and all(10 <= len(e.lines) <= 40 for e in starter.excerpts)
    assert all(e.annotations for e in starter.excerpts), "each excerpt has annotated lines"
    assert starter.steps and {step.excerpt for step in starter.steps} == {e.name for e in starter.excerpts}
    assert len(lab.reading) >= 2 and any(r.kind in ("paper", "official") for r in lab.reading)
    imports = {m for line in starter.lines for m in re.findall(r"^\s*(?:import|from)\s+(\w+)", line)}
    assert imports <= {"numpy", "math", "itertools", "collections", "dataclasses", "functools", "heapq",
                       "fractions", "statistics", "random", "typing", "__future__"}, imports


def test_interviews_are_written_for_each_lab():
    texts = [" ".join(PROJECT.starters[lab.id].interview) for lab in LABS]
    assert len(set(texts)) == len(texts)
    first_sentences = [text.split(". ")[0] for text in texts]
    assert len(set(first_sentences)) == len(first_sentences)


@pytest.mark.parametrize("chapter", PROJECT.registry.chapters, ids=lambda c: c.id)
def test_each_chapter_page_teaches_at_length_with_math(chapter):
    text = (ROOT / "docs" / chapter.handbook).read_text(encoding="utf-8")
    prose = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$|```.*?```", " ", text, flags=re.S)
    words = len(re.findall(r"[A-Za-z][A-Za-z'-]*", prose))
    assert 600 <= words <= 1900, words
    assert "$" in text, "formulas are written as math"
    anchors = {lab.handbook_anchor for lab in PROJECT.registry.labs_in(chapter.id)}
    assert all(anchors), "every lab points at its own section of the chapter page"
