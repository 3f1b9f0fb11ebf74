"""Which keywords of a JSON Schema hold subschemas: the one walk of a schema's tree (checks, references, grammar
copies, enforcement), kept apart so the modules that rewrite a schema need not import its loader."""

from __future__ import annotations

from typing import Any, Iterator

from slot.leaves import escape_token

MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
"""Keywords whose value maps names to subschemas."""
ONE_KEYWORDS = ("items", "additionalProperties", "additionalItems", "contains", "not", "if", "then", "else",
                "propertyNames", "unevaluatedItems", "unevaluatedProperties")
"""Keywords whose value is one subschema."""
LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
"""Keywords whose value is a list of subschemas (``items`` too, before 2020-12)."""


def subschemas(node: dict[str, Any], path: str = "") -> Iterator[tuple[Any, str]]:
    """The direct subschemas of a schema node with their JSON Pointers (every keyword that holds schemas)."""
    for key in MAP_KEYWORDS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield sub, f"{path}/{key}/{escape_token(name)}"
    for key in ONE_KEYWORDS:
        value = node.get(key)
        if isinstance(value, (dict, bool)):
            yield value, f"{path}/{key}"
    for key in LIST_KEYWORDS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield sub, f"{path}/{key}/{i}"
    deps = node.get("dependencies")
    if isinstance(deps, dict):
        for name, sub in deps.items():
            if isinstance(sub, (dict, bool)):
                yield sub, f"{path}/dependencies/{escape_token(name)}"
