"""Say what a JSON Schema error means for an author, from the error's structured fields and the
schema's own descriptions (never by parsing the validator's English)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import suggest

if TYPE_CHECKING:
    import jsonschema

_KINDS = {"array": "a list", "object": "a mapping", "integer": "a whole number", "string": "text",
          "number": "a number", "boolean": "true or false"}
_TYPE_FIXES = {"array": "write a YAML list, e.g. `[a, b]` or one `- item` per line.",
               "integer": "write the number without quotes, e.g. `number: 4`.",
               "string": "write text (quote it if it looks like a number or contains `: `).",
               "object": "write `key: value` pairs indented under it."}
_PYTHON_KINDS = {"str": "text", "NoneType": "nothing", "int": "a whole number", "list": "a list",
                 "dict": "a mapping", "bool": "true or false", "float": "a number"}


def describe(path: tuple[str | int, ...]) -> str:
    """A path in the registry as an author would point at it: `labs[3].reading[1].url`."""
    if not path:
        return "the registry"
    text = str(path[0])
    for part in path[1:]:
        text += f"[{part + 1}]" if isinstance(part, int) else f".{part}"
    return f"`{text}`"


def unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    schema: Any = error.schema
    instance: Any = error.instance
    allowed = schema.get("properties", {})
    return [key for key in instance if key not in allowed]


def explain(error: jsonschema.ValidationError) -> tuple[str, str]:
    """The message and the fix for one schema error."""
    where = describe(tuple(error.absolute_path))
    # jsonschema types these fields loosely (they may be unset); here they are always set.
    kind: Any = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    if kind == "additionalProperties":
        return _unknown(where, error)
    if kind == "required":
        missing = [key for key in expected if key not in instance]
        keys = ", ".join(f"`{key}`" for key in missing)
        return (f"{where} is missing the required key{'s' if len(missing) > 1 else ''} {keys}.",
                " ".join(f"add `{key}:` to it." for key in missing))
    if kind == "type":
        got = _PYTHON_KINDS.get(type(instance).__name__, type(instance).__name__)
        return (f"{where} must be {_KINDS.get(expected, expected)}, not {got} ({instance!r:.60}).",
                _TYPE_FIXES.get(expected, "fix the value's type."))
    if kind == "pattern":
        return (f"{where} has the value {instance!r:.80}, which does not have the expected form.",
                _from_description(error.schema))
    if kind == "enum":
        return f"{where} is {instance!r:.60}.", f"use one of: {', '.join(map(str, expected))}."
    if kind in ("minItems", "minLength"):
        return f"{where} is empty.", "add at least one entry." if kind == "minItems" else "write some text."
    if kind == "minimum":
        return f"{where} is {instance!r:.20}, below {expected}.", f"use a number from {expected} up."
    if kind == "uniqueItems":
        return f"{where} lists the same value twice.", "remove the repeated value."
    return f"{where} does not match the schema ({kind}).", _from_description(error.schema)


def _unknown(where: str, error: jsonschema.ValidationError) -> tuple[str, str]:
    schema: Any = error.schema
    allowed = list(schema.get("properties", {}))
    extra = unknown_keys(error)
    fixes = []
    for key in extra:
        close = suggest(key, allowed)
        fixes.append(f"did you mean `{close}` instead of `{key}`?" if close else f"remove `{key}`.")
    names = ", ".join(f"`{key}`" for key in extra)
    return (f"{where} has unknown key{'s' if len(extra) > 1 else ''} {names}.",
            " ".join(fixes) + f" Allowed keys: {', '.join(allowed)}.")


def _from_description(schema: Any) -> str:
    description = schema.get("description") if isinstance(schema, dict) else None
    if not description:
        return "see labs.schema.json for the expected form."
    return f"expected: {description[0].lower()}{description[1:]}"
