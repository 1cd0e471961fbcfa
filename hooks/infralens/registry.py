"""Load and validate `labs.yaml`, the registry of chapters and labs.

Validation has two layers: the JSON Schema in `labs.schema.json` (types, required and unknown
keys; editors use the same file for completion) and the cross-entry rules a schema cannot say
(unique ids, known chapters and prerequisites, no cycles, starters inside `code/`).
"""

from __future__ import annotations

import difflib
import hashlib
import heapq
import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml

from .cache import DiskCache, NoCache

if TYPE_CHECKING:
    import jsonschema
from .errors import AuthorError, Problem

REGISTRY_FILE = "labs.yaml"
SCHEMA_FILE = "labs.schema.json"
READING_KINDS = ("paper", "official", "practical")

Position = tuple[int, int]  # 1-based line and column


@dataclass(frozen=True)
class Reading:
    title: str
    url: str
    kind: str
    note: str = ""


@dataclass(frozen=True)
class Chapter:
    id: str
    number: int
    title: str
    handbook: str


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


@dataclass(frozen=True)
class Registry:
    chapters: tuple[Chapter, ...]
    labs: tuple[Lab, ...]
    intuition_notes: tuple[str, ...]
    # Lab id -> the starter's resolved path, for starters that are real files inside code/.
    starter_files: dict[str, Path] = field(default_factory=dict, repr=False, compare=False)

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

    def labs_in(self, chapter_id: str) -> tuple[Lab, ...]:
        return tuple(lab for lab in self.ordered_labs if lab.chapter == chapter_id)

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


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, position: Position | None, message: str, fix: str, lab: str | None = None) -> None:
        line, column = position if position else (None, None)
        self.problems.append(Problem(self.file, message, fix, line=line, column=column, lab=lab))


def load_registry(root: Path) -> Registry:
    """Read, validate and return the registry of the project at `root`; raise on any problem."""
    registry, problems = read_registry(root)
    if problems:
        raise AuthorError(problems)
    return registry


def read_registry(root: Path, cache: DiskCache | None = None) -> tuple[Registry, list[Problem]]:
    """Read the registry and check it. Raise AuthorError if it cannot be read at all; return
    the problems that still leave a usable registry (a bad prerequisite, a missing starter)."""
    cache = cache or NoCache()
    collector = _Collector(REGISTRY_FILE)
    path = root / REGISTRY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        collector.add(None, "the registry file is missing.", f"create {REGISTRY_FILE} at the project root.")
        raise AuthorError(collector.problems) from None
    except UnicodeDecodeError:
        collector.add(None, "the registry is not valid UTF-8.", "save labs.yaml as UTF-8.")
        raise AuthorError(collector.problems) from None
    schema_text = (root / SCHEMA_FILE).read_text(encoding="utf-8")
    key = "registry\0" + hashlib.sha256(f"{text}\0{schema_text}".encode()).hexdigest()
    valid = cache.get(key)
    if valid is None:
        data, positions = parse_yaml(text, collector)
        if collector.problems:
            raise AuthorError(collector.problems)
        _check_schema(data, json.loads(schema_text), positions, collector)
        if collector.problems:
            raise AuthorError(collector.problems)
        cache.put(key, (data, positions))
    else:
        data, positions = valid
    registry = _build(data, positions)
    starter_files = _check_rules(registry, root, positions, collector)
    return replace(registry, starter_files=starter_files), collector.problems


def parse_yaml(text: str, collector: _Collector) -> tuple[Any, dict[tuple, Position]]:
    """Parse YAML into plain data plus the position of every value, keyed by its path."""
    # libyaml when present: the pure-Python parser is ~10x slower on large registries.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = (mark.line + 1, mark.column + 1) if mark else None
        collector.add(position, f"YAML syntax error: {exc.problem or exc.context}.",
                      "fix the indentation or quoting at that spot (quote text that contains `: ` or `#`).")
        return None, {}
    finally:
        loader.dispose()
    if node is None:
        collector.add(None, "the registry is empty.", "add `chapters:` and `labs:` (see the authoring page).")
        return None, {}
    positions: dict[tuple, Position] = {}
    data = _construct(node, (), positions, set(), loader, collector)
    if not isinstance(data, dict):
        collector.add(positions.get(()), "the top level of the registry must be a mapping.",
                      "start the file with `chapters:` and `labs:` keys.")
    return data, positions


def _construct(node: yaml.Node, path: tuple, positions: dict[tuple, Position], seen: set[int],
               loader: Any, collector: _Collector) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_object(node)
    if id(node) in seen:
        # A YAML alias: refusing it also defuses "billion laughs" documents.
        collector.add(positions[path], "YAML anchors and aliases (`&name`, `*name`) are not supported.",
                      "write the value out in full.")
        return None
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), positions, seen, loader, collector)
                for i, item in enumerate(node.value)]
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            collector.add((key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                          "a mapping key must be plain text.", "use a name such as `title:`.")
            continue
        if key in mapping:
            collector.add((key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                          f"the key `{key}` appears twice in one entry.", "keep one of them.",
                          lab=_entry_id(node, loader) if path[:1] == ("labs",) else None)
        mapping[key] = _construct(value_node, path + (key,), positions, seen, loader, collector)
        # Point problems about an entry at its key, where an author looks for them.
        positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return mapping


def _entry_id(node: yaml.MappingNode, loader: Any) -> str | None:
    """The `id` written in a mapping node, for naming the lab while it is still being read."""
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "id" and isinstance(value_node, yaml.ScalarNode):
            return str(value_node.value)
    return None


def _lab_id_at(data: Any, path: tuple) -> str | None:
    if len(path) >= 2 and path[0] == "labs" and isinstance(path[1], int):
        entry = data["labs"][path[1]]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return entry["id"]
        return f"#{path[1] + 1}"
    return None


def _check_schema(data: Any, schema: dict, positions: dict[tuple, Position], collector: _Collector) -> None:
    # Imported here: a build whose registry is already validated (in the cache) never needs it,
    # and importing it costs more than the rest of such a build's hook work.
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        message, fix = _explain_schema_error(error, path)
        collector.add(_position(positions, path, error), message, fix, lab=_lab_id_at(data, path))


def _position(positions: dict[tuple, Position], path: tuple, error: jsonschema.ValidationError) -> Position | None:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = _unknown_keys(error)
        if extra and path + (extra[0],) in positions:
            return positions[path + (extra[0],)]
    while path not in positions and path:
        path = path[:-1]
    return positions.get(path)


def _unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    allowed = error.schema.get("properties", {})
    return [key for key in error.instance if key not in allowed]


def _explain_schema_error(error: jsonschema.ValidationError, path: tuple) -> tuple[str, str]:
    where = _describe(path)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        parts = []
        for key in _unknown_keys(error):
            close = difflib.get_close_matches(key, allowed, n=1)
            parts.append(f"did you mean `{close[0]}` instead of `{key}`?" if close else f"remove `{key}`.")
        return (f"{where} has unknown key{'s' if len(parts) > 1 else ''} "
                f"{', '.join(f'`{k}`' for k in _unknown_keys(error))}.",
                " ".join(parts) + f" Allowed keys: {', '.join(allowed)}.")
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return f"{where} is missing the required key `{missing}`.", f"add `{missing}:` to it."
    if error.validator == "type":
        expected = error.validator_value
        got = type(error.instance).__name__.replace("str", "text").replace("NoneType", "nothing")
        return (f"{where} must be {_article(expected)}, not {got} ({error.instance!r:.60}).",
                _type_fix(expected))
    if error.validator == "pattern":
        return (f"{where} has the value {error.instance!r:.80}, which does not have the expected form.",
                _pattern_fix(path))
    if error.validator == "enum":
        return (f"{where} is {error.instance!r:.60}.",
                f"use one of: {', '.join(map(str, error.validator_value))}.")
    if error.validator == "minItems":
        return f"{where} is empty.", "add at least one entry."
    if error.validator == "uniqueItems":
        return f"{where} lists the same value twice.", "remove the repeated value."
    return f"{where}: {error.message}.", "see labs.schema.json for the expected form."


def _describe(path: tuple) -> str:
    if not path:
        return "the registry"
    text = str(path[0])
    for part in path[1:]:
        text += f"[{part + 1}]" if isinstance(part, int) else f".{part}"
    return f"`{text}`"


def _article(expected: str) -> str:
    return {"array": "a list", "object": "a mapping", "integer": "a whole number",
            "string": "text"}.get(expected, expected)


def _type_fix(expected: str) -> str:
    return {"array": "write a YAML list, e.g. `[a, b]` or one `- item` per line.",
            "integer": "write the number without quotes, e.g. `number: 4`.",
            "string": "write text (quote it if it looks like a number or contains `: `).",
            "object": "write `key: value` pairs indented under it."}.get(expected, "fix the value's type.")


def _pattern_fix(path: tuple) -> str:
    key = path[-1] if path else ""
    if isinstance(key, int):
        key = path[-2]
    return {
        "id": "use a URL slug: lowercase letters and digits joined by single hyphens, e.g. `lab-04-samplers`.",
        "chapter": "use a chapter id: a URL slug such as `diffusion`.",
        "prerequisites": "list lab ids (URL slugs).",
        "url": "use an http:// or https:// address.",
        "starter": "give a path under code/ ending in .py, e.g. `code/lab-04-samplers/samplers.py`.",
        "handbook": "give a page under docs/, e.g. `handbook/diffusion.md#samplers`.",
        "tags": "use lowercase words, digits, spaces, `.`, `+` or `-`.",
    }.get(str(key), "see labs.schema.json for the expected form.")


def _build(data: dict, positions: dict[tuple, Position]) -> Registry:
    chapters = tuple(Chapter(c["id"], c["number"], c["title"], c["handbook"]) for c in data["chapters"])
    labs = []
    for index, entry in enumerate(data["labs"]):
        page, _, anchor = entry["handbook"].partition("#")
        labs.append(Lab(
            id=entry["id"], number=entry["number"], title=entry["title"], chapter=entry["chapter"],
            handbook_page=page, handbook_anchor=anchor, starter=entry["starter"],
            prerequisites=tuple(entry.get("prerequisites", ())), tags=tuple(entry.get("tags", ())),
            reading=tuple(Reading(r["title"], r["url"], r["kind"], r.get("note", "")) for r in entry["reading"]),
            line=positions[("labs", index)][0],
        ))
    return Registry(chapters, tuple(labs), tuple(data.get("intuition_notes", ())))


def _check_rules(registry: Registry, root: Path, positions: dict[tuple, Position],
                 collector: _Collector) -> dict[str, Path]:
    """Check what the schema cannot; return the starters that are safe to read."""
    def at(index: int, key: str) -> Position | None:
        return positions.get(("labs", index, key))

    chapter_ids = _unique([c.id for c in registry.chapters], "chapter id",
                          lambda i: positions.get(("chapters", i, "id")), collector)
    _unique([c.number for c in registry.chapters], "chapter number",
            lambda i: positions.get(("chapters", i, "number")), collector)
    labs = [lab.id for lab in registry.labs]
    lab_ids = _unique(labs, "lab id", lambda i: at(i, "id"), collector, labs)
    _unique([lab.number for lab in registry.labs], "lab number", lambda i: at(i, "number"), collector, labs)
    starter_files: dict[str, Path] = {}
    for index, lab in enumerate(registry.labs):
        if lab.id in chapter_ids:
            collector.add(at(index, "id"), f"the lab id `{lab.id}` is also a chapter id; both name a page "
                          f"under labs/.", "rename the lab or the chapter.", lab.id)
    for index, chapter in enumerate(registry.chapters):
        if not (root / "docs" / chapter.handbook).is_file():
            collector.add(positions.get(("chapters", index, "handbook")),
                          f"chapter `{chapter.id}` points at docs/{chapter.handbook}, which does not exist.",
                          "create that page or fix the path (it is relative to docs/).")
    for index, lab in enumerate(registry.labs):
        if lab.chapter not in chapter_ids:
            collector.add(at(index, "chapter"), f"the chapter `{lab.chapter}` is not defined.",
                          _did_you_mean(lab.chapter, chapter_ids, "chapters"), lab.id)
        if not (root / "docs" / lab.handbook_page).is_file():
            collector.add(at(index, "handbook"), f"the handbook page docs/{lab.handbook_page} does not exist.",
                          "fix the path (relative to docs/) or create the page.", lab.id)
        if path := _check_starter_path(lab, root, at(index, "starter"), collector):
            starter_files[lab.id] = path
        for prerequisite in lab.prerequisites:
            if prerequisite == lab.id:
                collector.add(at(index, "prerequisites"), "the lab lists itself as a prerequisite.",
                              "remove its own id from `prerequisites`.", lab.id)
            elif prerequisite not in lab_ids:
                collector.add(at(index, "prerequisites"), f"the prerequisite `{prerequisite}` is not a lab.",
                              _did_you_mean(prerequisite, lab_ids, "labs"), lab.id)
    index_of = {lab.id: index for index, lab in enumerate(registry.labs)}
    _check_cycles(registry, lambda lab_id: at(index_of[lab_id], "prerequisites"), collector)
    return starter_files


def _unique(values: list, what: str, position, collector: _Collector, labs: list[str] | None = None) -> set:
    first: dict[Any, int] = {}
    for index, value in enumerate(values):
        if value in first:
            collector.add(position(index), f"the {what} `{value}` is used twice "
                          f"(first at line {position(first[value])[0]}).", f"give each entry its own {what}.",
                          labs[index] if labs else None)
        else:
            first[value] = index
    return set(first)


def _did_you_mean(value: str, known: set[str], section: str) -> str:
    # A high cutoff: ids share prefixes like `lab-`, which make loose matches misleading.
    close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.8)
    hint = f"did you mean `{close[0]}`? Otherwise, " if close else ""
    return f"{hint}use an id defined under `{section}:`."


def _check_starter_path(lab: Lab, root: Path, position: Position | None, collector: _Collector) -> Path | None:
    """The starter's real path if it is a file inside code/; otherwise report why not."""
    relative = PurePosixPath(lab.starter)
    if relative.is_absolute() or ".." in relative.parts or "\\" in lab.starter:
        collector.add(position, f"the starter path `{lab.starter}` must be a plain relative path under code/.",
                      "write it like `code/<lab-id>/<file>.py`, without `..` or a leading `/`.", lab.id)
        return None
    resolved = (root / relative).resolve()
    if relative.parts[0] != "code" or not resolved.is_relative_to((root / "code").resolve()):
        collector.add(position, f"the starter `{lab.starter}` leads outside code/.",
                      "keep starters as real files inside code/, not links to elsewhere.", lab.id)
        return None
    if not resolved.is_file():
        collector.add(position, f"the starter file `{lab.starter}` does not exist.",
                      "create it (the authoring page has a complete example) or fix the path.", lab.id)
        return None
    return resolved


def _check_cycles(registry: Registry, position, collector: _Collector) -> None:
    requires = {lab.id: [p for p in lab.prerequisites if p != lab.id] for lab in registry.labs}
    state: dict[str, str] = {}
    for start in requires:
        if state.get(start):
            continue
        stack = [(start, iter(requires[start]))]
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
                cycle = trail[trail.index(child):] + [child]
                collector.add(position(node), f"the prerequisites form a cycle: {' -> '.join(cycle)}.",
                              "remove one prerequisite from that loop.", node)
            else:
                state[child] = "open"
                stack.append((child, iter(requires[child])))
                trail.append(child)
