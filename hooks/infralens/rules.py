"""The registry rules a schema cannot say: unique ids and numbers, known chapters and
prerequisites, no prerequisite cycles, handbook pages that exist, starters inside code/."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import Position, Problems, suggest
from .model import Lab, Registry
from .yaml_positions import Path_

Positions = dict[Path_, Position]
# The entries' keys `check_rules` may point a problem at: a read of the registry from the cache
# keeps only their positions, not those of every value in the file.
RULE_KEYS = {"chapters": ("handbook",), "labs": ("id", "chapter", "handbook", "starter", "prerequisites")}


def rule_positions(positions: Positions) -> Positions:
    """The positions `check_rules` needs out of all of a registry's."""
    return {path: position for path, position in positions.items()
            if len(path) == 3 and path[2] in RULE_KEYS.get(str(path[0]), ())}


def check_duplicates(data: Any, positions: Positions, problems: Problems) -> None:
    """Ids and numbers used twice. Read from the raw data, so that they are reported together
    with schema errors elsewhere in the file."""
    if not isinstance(data, dict):
        return
    lab_ids = _entry_values(data, "labs", "id")
    for section, key, what in (("chapters", "id", "chapter id"), ("chapters", "number", "chapter number"),
                               ("labs", "id", "lab id"), ("labs", "number", "lab number")):
        first: dict[Any, int] = {}
        for index, value in _entry_values(data, section, key).items():
            position = positions.get((section, index, key))
            if value not in first:
                first[value] = index
                continue
            earlier = positions.get((section, first[value], key))
            problems.add(position, f"the {what} `{value}` is used twice"
                         + (f" (first at line {earlier[0]})." if earlier else "."),
                         f"give each entry its own {what}.",
                         lab=str(lab_ids[index]) if section == "labs" and index in lab_ids else None)


def _entry_values(data: dict, section: str, key: str) -> dict[int, Any]:
    entries = data.get(section)
    if not isinstance(entries, list):
        return {}
    return {index: entry[key] for index, entry in enumerate(entries)
            if isinstance(entry, dict) and isinstance(entry.get(key), (str, int))}


def check_rules(registry: Registry, root: Path, docs_dir: Path, positions: Positions,
                problems: Problems) -> dict[str, Path]:
    """Check what the schema cannot; return the starters that are safe to read."""
    def at(index: int, key: str) -> Position | None:
        return positions.get(("labs", index, key))

    chapter_ids = {chapter.id for chapter in registry.chapters}
    lab_ids = {lab.id for lab in registry.labs}
    docs = docs_dir.name
    code_dir = (root / "code").resolve()  # once: resolving walks every link on the way
    resolver = _Resolver(root)
    starter_files: dict[str, Path] = {}
    for index, chapter in enumerate(registry.chapters):
        if not resolver.is_file(docs_dir / chapter.handbook):
            problems.add(positions.get(("chapters", index, "handbook")),
                         f"chapter `{chapter.id}` points at {docs}/{chapter.handbook}, which does not exist.",
                         f"create that page or fix the path (it is relative to {docs}/).")
    for index, lab in enumerate(registry.labs):
        if lab.id in chapter_ids:
            problems.add(at(index, "id"), f"the lab id `{lab.id}` is also a chapter id; both name a page "
                         f"under labs/.", "rename the lab or the chapter.", lab.id)
        if lab.chapter not in chapter_ids:
            problems.add(at(index, "chapter"), f"the chapter `{lab.chapter}` is not defined.",
                         _did_you_mean(lab.chapter, chapter_ids, "chapters"), lab.id)
        if not resolver.is_file(docs_dir / lab.handbook_page):
            problems.add(at(index, "handbook"), f"the handbook page {docs}/{lab.handbook_page} does not exist.",
                         f"fix the path (relative to {docs}/) or create the page.", lab.id)
        if path := _check_starter_path(lab, resolver, code_dir, at(index, "starter"), problems):
            starter_files[lab.id] = path
        for prerequisite in lab.prerequisites:
            if prerequisite == lab.id:
                problems.add(at(index, "prerequisites"), "the lab lists itself as a prerequisite.",
                             "remove its own id from `prerequisites`.", lab.id)
            elif prerequisite not in lab_ids:
                problems.add(at(index, "prerequisites"), f"the prerequisite `{prerequisite}` is not a lab.",
                             _did_you_mean(prerequisite, lab_ids, "labs"), lab.id)
    index_of = {lab.id: index for index, lab in enumerate(registry.labs)}
    _check_cycles(registry, lambda lab_id: at(index_of[lab_id], "prerequisites"), problems)
    return starter_files


def _did_you_mean(value: str, known: set[str], section: str) -> str:
    # A high cutoff: ids share prefixes like `lab-`, which make loose matches misleading.
    close = suggest(value, known, cutoff=0.8)
    hint = f"did you mean `{close}`? Otherwise, " if close else ""
    return f"{hint}use an id defined under `{section}:`."


class _Resolver:
    """Real paths under a project, checked with one `lstat` a file and one a folder: resolving each
    starter in full costs a call for every folder from the file system's root down, for hundreds of
    labs on every build."""

    def __init__(self, root: Path) -> None:
        self.root, self.real_root = root, root.resolve()
        self.plain: set[str] = set()  # folders under the root that are not links
        self.files: dict[Path, bool] = {}

    def resolve(self, relative: PurePosixPath) -> Path:
        """(root / relative).resolve(), short when no part of it under the root is a link."""
        folder = ""
        for part in relative.parts:
            folder = f"{folder}/{part}" if folder else part
            if folder not in self.plain:
                if os.path.islink(self.root / folder):
                    return (self.root / relative).resolve()
                self.plain.add(folder)
        return self.real_root / relative

    def is_file(self, path: Path) -> bool:
        if path not in self.files:
            self.files[path] = path.is_file()
        return self.files[path]


def _check_starter_path(lab: Lab, resolver: _Resolver, code_dir: Path, position: Position | None,
                        problems: Problems) -> Path | None:
    """The starter's real path if it is a file inside code/; otherwise report why not."""
    relative = PurePosixPath(lab.starter)
    if relative.is_absolute() or ".." in relative.parts or "\\" in lab.starter:
        problems.add(position, f"the starter path `{lab.starter}` must be a plain relative path under code/.",
                      "write it like `code/<lab-id>/<file>.py`, without `..` or a leading `/`.", lab.id)
        return None
    resolved = resolver.resolve(relative)
    if relative.parts[0] != "code" or not resolved.is_relative_to(code_dir):
        problems.add(position, f"the starter `{lab.starter}` leads outside code/.",
                      "keep starters as real files inside code/, not links to elsewhere.", lab.id)
        return None
    if not resolver.is_file(resolved):
        problems.add(position, f"the starter file `{lab.starter}` does not exist.",
                      "create it (the authoring page has a complete example) or fix the path.", lab.id)
        return None
    return resolved


def _check_cycles(registry: Registry, position: Callable[[str], Position | None], problems: Problems) -> None:
    requires = {lab.id: [p for p in lab.prerequisites if p != lab.id] for lab in registry.labs}
    state: dict[str, str] = {}
    for start, first_children in requires.items():
        if state.get(start):
            continue
        stack = [(start, iter(first_children))]
        trail = [start]
        state[start] = "open"
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
                trail.pop()
            elif child not in requires or state.get(child) == "done":
                continue
            elif state.get(child) == "open":
                cycle = [*trail[trail.index(child):], child]
                problems.add(position(node), f"the prerequisites form a cycle: {' -> '.join(cycle)}.",
                              "remove one prerequisite from that loop.", node)
            else:
                state[child] = "open"
                stack.append((child, iter(requires[child])))
                trail.append(child)
