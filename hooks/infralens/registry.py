"""Load and validate `labs.yaml`, the registry of chapters and labs.

Validation has two layers: the JSON Schema in `labs.schema.json` (types, required and unknown
keys; editors use the same file for completion) and the cross-entry rules a schema cannot say
(`rules.py`). Both run in one pass, so one run reports every problem of the file. A text already
read and found valid is taken from the cache, with only the positions the rules need; the rules
that look at other files (pages, starters) run on every read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import schema_messages
from .cache import DiskCache, NoCache
from .errors import AuthorError, Position, Problem, Problems
from .model import Chapter, Lab, Reading, Registry
from .rules import Positions, check_duplicates, check_rules, rule_positions
from .yaml_positions import Path_, parse_yaml

REGISTRY_FILE = "labs.yaml"
SCHEMA_FILE = "labs.schema.json"


def load_registry(root: Path, docs_dir: Path | None = None) -> Registry:
    """Read, validate and return the registry of the project at `root`; raise on any problem."""
    registry, problems = read_registry(root, docs_dir)
    if problems:
        raise AuthorError(problems)
    return registry


def read_registry(root: Path, docs_dir: Path | None = None,
                  cache: DiskCache | None = None) -> tuple[Registry, list[Problem]]:
    """Read the registry and check it. Raise AuthorError if it cannot be used at all; return
    the problems that still leave a usable registry (a bad prerequisite, a missing starter)."""
    cache = cache or NoCache()
    problems = Problems(REGISTRY_FILE)
    try:
        text = (root / REGISTRY_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(None, "the registry file is missing.", f"create {REGISTRY_FILE} at the project root.")
        raise AuthorError(problems) from None
    except UnicodeDecodeError:
        problems.add(None, "the registry is not valid UTF-8.", "save labs.yaml as UTF-8.")
        raise AuthorError(problems) from None
    schema_text = (root / SCHEMA_FILE).read_text(encoding="utf-8")
    key = "registry\0" + hashlib.sha256(f"{text}\0{schema_text}".encode()).hexdigest()
    valid = cache.get(key)
    if valid is None:
        data, positions = parse_yaml(text, problems)
        problems.raise_if_any()
        _check_schema(data, json.loads(schema_text), positions, problems)
        check_duplicates(data, positions, problems)
        problems.raise_if_any()
        registry, positions = _build(data, positions), rule_positions(positions)
        cache.put(key, (registry, positions))
    else:
        registry, positions = valid  # stored only once its schema and duplicates were checked
    starter_files = check_rules(registry, root, docs_dir or root / "docs", positions, problems)
    return replace(registry, starter_files=starter_files), list(problems)


def _lab_id_at(data: Any, path: Path_) -> str | None:
    if len(path) >= 2 and path[0] == "labs" and isinstance(path[1], int):
        entry = data["labs"][path[1]]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return entry["id"]
        return f"#{path[1] + 1}"
    return None


def _check_schema(data: Any, schema: dict, positions: Positions, problems: Problems) -> None:
    # Imported here: a build whose registry is already validated (in the cache) never needs it,
    # and importing it costs more than the rest of such a build's hook work.
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        message, fix = schema_messages.explain(error)
        problems.add(_position(positions, path, error), message, fix, lab=_lab_id_at(data, path))


def _position(positions: Positions, path: Path_, error: Any) -> Position | None:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = schema_messages.unknown_keys(error)
        if extra and (*path, extra[0]) in positions:
            return positions[(*path, extra[0])]
    while path not in positions and path:
        path = path[:-1]
    return positions.get(path)


def _build(data: dict, positions: Positions) -> Registry:
    chapters = tuple(Chapter(c["id"], c["number"], c["title"], c["handbook"]) for c in data["chapters"])
    labs = []
    for index, entry in enumerate(data["labs"]):
        page, _, anchor = entry["handbook"].partition("#")
        labs.append(Lab(
            id=entry["id"], number=entry["number"], title=entry["title"], chapter=entry["chapter"],
            handbook_page=page, handbook_anchor=anchor, starter=entry["starter"],
            prerequisites=tuple(entry.get("prerequisites", ())), tags=tuple(entry.get("tags", ())),
            reading=tuple(Reading(r["title"], r["url"], r["kind"], r.get("note", ""),
                                  tuple(str(n) for n in r.get("numbers", ()))) for r in entry["reading"]),
            line=positions[("labs", index)][0],
        ))
    return Registry(chapters, tuple(labs))
