"""The registry's data model: chapters, labs and their reading, and the orders learners meet them in."""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Reading:
    title: str
    url: str
    kind: str
    note: str = ""
    numbers: tuple[str, ...] = ()  # figures the lab's prose takes from this source, as written there


@dataclass(frozen=True)
class Chapter:
    id: str
    number: int
    title: str
    handbook: str

    @property
    def labs_title(self) -> str:
        """The title of the chapter's list of labs, and its label in the navigation."""
        return f"Chapter {self.number} labs: {self.title}"


@dataclass(frozen=True)
class Lab:
    id: str
    number: int
    title: str
    chapter: str
    handbook_page: str
    handbook_anchor: str
    starter: str
    prerequisites: tuple[str, ...]
    tags: tuple[str, ...]
    reading: tuple[Reading, ...]
    line: int

    @property
    def label(self) -> str:
        return f"Lab {self.number:02d}"

    @property
    def page_title(self) -> str:
        """The title of the lab's page, and its label in the navigation."""
        return f"{self.label}: {self.title}"

    @cached_property
    def digest(self) -> str:
        """A digest of every field, for the cache keys of what the entry makes: taken once a build,
        however many keys hold it (spelling out a lab with its reading list is slow)."""
        return hashlib.sha256(repr(self).encode()).hexdigest()


@dataclass(frozen=True)
class Registry:
    chapters: tuple[Chapter, ...]
    labs: tuple[Lab, ...]
    # Lab id -> the starter's resolved path, for starters that are real files inside code/.
    starter_files: dict[str, Path] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def digest(self) -> str:
        """A digest of its chapters and labs, for cache keys and fingerprints."""
        return hashlib.sha256(repr((self.chapters, [lab.digest for lab in self.labs])).encode()).hexdigest()

    @cached_property
    def _chapters_by_id(self) -> dict[str, Chapter]:
        return {chapter.id: chapter for chapter in self.chapters}

    @cached_property
    def _labs_by_id(self) -> dict[str, Lab]:
        return {lab.id: lab for lab in self.labs}

    @cached_property
    def ordered_labs(self) -> tuple[Lab, ...]:
        """Labs in the order learners meet them: by number."""
        return tuple(sorted(self.labs, key=lambda lab: lab.number))

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {lab.id: index for index, lab in enumerate(self.ordered_labs)}

    def chapter(self, chapter_id: str) -> Chapter:
        return self._chapters_by_id[chapter_id]

    def lab(self, lab_id: str) -> Lab:
        return self._labs_by_id[lab_id]

    @cached_property
    def _labs_by_chapter(self) -> dict[str, tuple[Lab, ...]]:
        grouped: dict[str, list[Lab]] = {}
        for lab in self.ordered_labs:
            grouped.setdefault(lab.chapter, []).append(lab)
        return {chapter_id: tuple(labs) for chapter_id, labs in grouped.items()}

    def labs_in(self, chapter_id: str) -> tuple[Lab, ...]:
        """The chapter's labs by number (asked for once a lab: grouped once, not searched each time)."""
        return self._labs_by_chapter.get(chapter_id, ())

    def learning_path(self) -> tuple[Lab, ...]:
        """Every lab after its prerequisites, otherwise in chapter and number order."""
        chapter_number = {chapter.id: chapter.number for chapter in self.chapters}
        waiting = {lab.id: len(set(lab.prerequisites) - {lab.id}) for lab in self.labs}
        unlocks: dict[str, list[Lab]] = {}
        for lab in self.labs:
            for prerequisite in set(lab.prerequisites) - {lab.id}:
                unlocks.setdefault(prerequisite, []).append(lab)
        key = lambda lab: (chapter_number.get(lab.chapter, 0), lab.number, lab.id)  # noqa: E731
        ready = [(key(lab), lab) for lab in self.labs if waiting[lab.id] == 0]
        heapq.heapify(ready)
        path: list[Lab] = []
        while ready:
            _, lab = heapq.heappop(ready)
            path.append(lab)
            for follower in unlocks.get(lab.id, ()):
                waiting[follower.id] -= 1
                if waiting[follower.id] == 0:
                    heapq.heappush(ready, (key(follower), follower))
        return tuple(path)

    def neighbours(self, lab: Lab) -> tuple[Lab | None, Lab | None]:
        """The labs before and after `lab` in number order."""
        index = self._positions[lab.id]
        ordered = self.ordered_labs
        return (ordered[index - 1] if index > 0 else None,
                ordered[index + 1] if index + 1 < len(ordered) else None)
