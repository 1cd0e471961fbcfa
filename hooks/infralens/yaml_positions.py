"""Parse YAML into plain data and remember where each value was written, for precise problems."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import Position, Problems

Path_ = tuple[str | int, ...]  # keys and list indexes from the document's root to a value


def parse_yaml(text: str, problems: Problems, registry: bool = True) -> tuple[Any, dict[Path_, Position]]:
    """Parse YAML into plain data plus the position of every value, keyed by its path. For the
    registry (the default), an empty document or one that is not a mapping is a problem too."""
    # libyaml when present: the pure-Python parser is ~10x slower on large registries.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = (mark.line + 1, mark.column + 1) if mark else None
        problems.add(position, f"YAML syntax error: {exc.problem or exc.context}.",
                      "fix the indentation or quoting at that spot (quote text that contains `: ` or `#`).")
        return None, {}
    finally:
        loader.dispose()
    if node is None:
        if not registry:
            return None, {}
        problems.add(None, "the registry is empty.", "add `chapters:` and `labs:` (see the authoring page).")
        return None, {}
    positions: dict[Path_, Position] = {}
    data = _construct(node, (), positions, set(), loader, problems)
    if registry and not isinstance(data, dict):
        problems.add(positions.get(()), "the top level of the registry must be a mapping.",
                      "start the file with `chapters:` and `labs:` keys.")
    return data, positions


def _construct(node: yaml.Node, path: Path_, positions: dict[Path_, Position], seen: set[int],
               loader: Any, problems: Problems) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_object(node)
    if id(node) in seen:
        # A YAML alias: refusing it also defuses "billion laughs" documents.
        problems.add(positions[path], "YAML anchors and aliases (`&name`, `*name`) are not supported.",
                      "write the value out in full.")
        return None
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), positions, seen, loader, problems)
                for i, item in enumerate(node.value)]
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            problems.add((key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                          "a mapping key must be plain text.", "use a name such as `title:`.")
            continue
        if key in mapping:
            problems.add((key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                          f"the key `{key}` appears twice in one entry.", "keep one of them.",
                          lab=_entry_id(node, loader) if path[:1] == ("labs",) else None)
        mapping[key] = _construct(value_node, (*path, key), positions, seen, loader, problems)
        # Point problems about an entry at its key, where an author looks for them.
        positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return mapping


def _entry_id(node: yaml.Node, loader: Any) -> str | None:
    """The `id` written in a mapping node, for naming the lab while it is still being read."""
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "id" and isinstance(value_node, yaml.ScalarNode):
            return str(value_node.value)
    return None
