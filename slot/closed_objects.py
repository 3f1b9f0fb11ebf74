"""Closing open objects for the grammar: no keys beyond those a schema lists, unless it asks for them.

JSON Schema leaves an object open when ``additionalProperties`` is not given, and a small model uses that
freedom to invent keys (``"autopay_message": {...}``) and to loop on them until ``max_tokens`` cuts the
JSON. SLOT's job is the listed fields, so the *grammar* is compiled from a copy of the schema in which such
objects are closed. Every instance of the closed copy is an instance of the original (closing only removes
choices), so post-validation still uses the schema as given and the output stays valid against it.

Closing is skipped wherever it could remove every instance or change a composition: objects that use
``patternProperties``, ``unevaluatedProperties``, ``propertyNames``, ``allOf``/``oneOf``/``$ref``/``if`` or
``dependentSchemas`` beside ``properties``, ``required`` keys that are not listed, or more
``minProperties`` than listed keys; the ``anyOf`` branches of an object that shapes keys itself
(``properties``, ``required``...: the instance must fit the branch and the object at once, so a closed branch
would refuse the object's own keys); and the whole schema when it uses ``allOf``, ``oneOf``, ``not``,
``if``, ``unevaluatedProperties`` or ``$dynamicRef`` anywhere (a closed branch there can exclude what a
sibling adds, or flip a negation).
"""

from __future__ import annotations

import copy
from typing import Any

from slot.leaves import escape_token
from slot.schema import subschemas

WHOLE_SCHEMA_BLOCKERS = frozenset({"allOf", "oneOf", "not", "if", "unevaluatedProperties", "$dynamicRef"})
"""Keywords that make closing anything in the schema unsafe."""
NODE_BLOCKERS = frozenset({"additionalProperties", "patternProperties", "unevaluatedProperties", "propertyNames",
                           "allOf", "oneOf", "anyOf", "$ref", "if", "dependentSchemas", "dependencies"})
"""Keywords beside ``properties`` that leave that object as it is."""
_MAPS = ("properties", "$defs", "definitions")
_ONES = ("items", "additionalProperties", "contains", "additionalItems")
_LISTS = ("anyOf", "prefixItems", "items")
KEY_SHAPERS = frozenset({"properties", "patternProperties", "additionalProperties", "required", "minProperties",
                         "maxProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
                         "$ref"})
"""Keywords that say which keys an object has: beside them, an ``anyOf`` branch is a constraint on the same object,
not an object of its own, and stays open."""


def close_objects(document: Any) -> Any:
    """A copy of the schema with open objects closed where that is safe; the document itself when nothing is."""
    return closed_copy(document)[0]


def closed_paths(document: Any) -> list[str]:
    """JSON Pointers (in the schema) of the objects ``close_objects`` closes, in document order."""
    return closed_copy(document)[1]


def closed_copy(document: Any) -> tuple[Any, list[str]]:
    """The closed copy (``close_objects``) and the JSON Pointers of the objects it closed."""
    if not isinstance(document, dict) or _uses_any(document, WHOLE_SCHEMA_BLOCKERS):
        return document, []
    closed = copy.deepcopy(document)
    paths: list[str] = []
    _close(closed, "", paths, depth=0)
    return (closed if paths else document), paths


def _close(node: Any, path: str, closed: list[str], depth: int, *, closable: bool = True) -> None:
    """Close ``node`` (unless ``closable`` is off: a branch that composes with its parent) and what it holds."""
    if not isinstance(node, dict) or depth > 64:
        return
    properties = node.get("properties")
    if closable and isinstance(properties, dict) and not NODE_BLOCKERS & node.keys():
        required = node.get("required", [])
        fits = all(key in properties for key in required) if isinstance(required, list) else False
        minimum = node.get("minProperties", 0)
        if fits and (not isinstance(minimum, int) or minimum <= len(properties)):
            node["additionalProperties"] = False
            closed.append(path or "/")
    for keyword in _MAPS:
        children = node.get(keyword)
        if isinstance(children, dict):
            for name, child in children.items():
                _close(child, f"{path}/{keyword}/{escape_token(name)}", closed, depth + 1)
    for keyword in _ONES:
        _close(node.get(keyword), f"{path}/{keyword}", closed, depth + 1)
    composed = bool(KEY_SHAPERS & node.keys())
    for keyword in _LISTS:
        children = node.get(keyword)
        if isinstance(children, list):
            for i, child in enumerate(children):
                _close(child, f"{path}/{keyword}/{i}", closed, depth + 1,
                       closable=not (composed and keyword == "anyOf"))


def _uses_any(node: Any, keywords: frozenset[str], depth: int = 0) -> bool:
    """True when a keyword occurs in any subschema (property names and enum values are not keywords)."""
    if not isinstance(node, dict):
        return False
    if depth > 64 or keywords & node.keys():
        return True
    return any(_uses_any(child, keywords, depth + 1) for child, _ in subschemas(node))
