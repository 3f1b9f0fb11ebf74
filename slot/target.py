"""A value's JSON text exactly as the grammar writes it: the training target, and what tests feed the grammar.

llguidance's JSON grammar fixes more than the value. An object's keys come in the order the schema declares them,
the declarations merged as llguidance merges them: in the order of the node's own keys, a ``$ref`` target's
``properties``, the node's own, its ``allOf`` parts' and the ``anyOf``/``oneOf`` branch the value takes; keys nothing declares
(``patternProperties``, ``additionalProperties``) come after, and their values are ordered by the subschema
that applies to them. A ``const``/``enum`` value is written as the schema writes it (its own key order), and a
number with an integral value as an integer: ``2``, never ``2.0``, which ``integer``, ``const`` and ``enum``
grammars refuse. Training targets written otherwise teach the model text the grammar then forbids.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import validators

from slot.leaves import resolve_ref
from slot.patterns import PatternTimeout, search

MAX_REFS = 32
"""Longest chain of ``$ref``/``allOf``/branch expansions followed for one value (a loop stops there)."""


def target_text(value: Any, schema: Any) -> str:
    """Compact JSON of a value valid against ``schema``, as the grammar compiled from ``schema`` writes it."""
    root = schema if isinstance(schema, dict) else {}
    validator = validators.validator_for(root, default=validators.Draft202012Validator)(root)
    return json.dumps(_arrange(value, [schema], root, validator), ensure_ascii=False, separators=(",", ":"))


def _arrange(value: Any, nodes: list[Any], root: Any, validator: Any) -> Any:
    """The value with keys in grammar order and numbers in grammar form, given every subschema applying to it."""
    flat = [part for node in nodes for part in _parts(node, value, root, validator, 0)]
    for part in flat:
        if "const" in part and _equal(part["const"], value):
            return _plain_numbers(part["const"])
        members = part.get("enum")
        if isinstance(members, list):
            for member in members:
                if _equal(member, value):
                    return _plain_numbers(member)
    if isinstance(value, dict):
        declared: list[str] = []
        for part in flat:
            properties = part.get("properties")
            if isinstance(properties, dict):
                declared += [name for name in properties if name not in declared]
        keys = [k for k in declared if k in value] + [k for k in value if k not in declared]
        return {k: _arrange(value[k], [s for part in flat for s in _member_schemas(part, k)], root, validator)
                for k in keys}
    if isinstance(value, list):
        return [_arrange(item, [s for part in flat for s in _item_schemas(part, i)], root, validator)
                for i, item in enumerate(value)]
    return _plain_numbers(value)


def _parts(node: Any, value: Any, root: Any, validator: Any, depth: int) -> list[dict[str, Any]]:
    """The schema objects a node stands for, in llguidance's merge order: the order of the node's own keys, where
    ``$ref`` stands for its target, ``properties`` for the node itself, ``allOf`` for its parts and
    ``anyOf``/``oneOf`` for the first branch the value is valid against."""
    if not isinstance(node, dict) or depth > MAX_REFS:
        return []
    parts: list[dict[str, Any]] = []
    for keyword, held in node.items():
        if keyword == "properties":
            parts.append(node)
        elif keyword == "$ref" and isinstance(held, str) and held.startswith("#"):
            try:
                parts += _parts(resolve_ref(root, held), value, root, validator, depth + 1)
            except LookupError:
                continue
        elif keyword == "allOf" and isinstance(held, list):
            for part in held:
                parts += _parts(part, value, root, validator, depth + 1)
        elif keyword in ("anyOf", "oneOf") and isinstance(held, list) and held:
            branch = next((b for b in held if _valid(value, b, validator)), None)
            for option in [branch] if branch is not None else held:  # an invalid value: every branch's keys
                parts += _parts(option, value, root, validator, depth + 1)
    return parts if "properties" in node else [node] + parts


def _valid(value: Any, schema: Any, validator: Any) -> bool:
    """Whether a value is valid against a subschema (its ``$ref`` resolved in the root document)."""
    try:
        return bool(validator.evolve(schema=schema).is_valid(value))
    except (PatternTimeout, RecursionError):
        return False


def _member_schemas(part: dict[str, Any], key: str) -> list[Any]:
    """The subschemas of one schema object that apply to the value under ``key``."""
    properties = part.get("properties")
    if isinstance(properties, dict) and key in properties:
        return [properties[key]]
    matched = []
    patterns = part.get("patternProperties")
    for pattern, schema in patterns.items() if isinstance(patterns, dict) else []:
        try:
            if search(pattern, key):
                matched.append(schema)
        except PatternTimeout:
            continue
    additional = part.get("additionalProperties")
    return matched or ([additional] if isinstance(additional, dict) else [])


def _item_schemas(part: dict[str, Any], index: int) -> list[Any]:
    """The subschemas of one schema object that apply to the array item at ``index`` (2020-12 and draft-7 forms)."""
    prefix, items = part.get("prefixItems"), part.get("items")
    if isinstance(items, list):  # draft 7: items as a list, then additionalItems
        prefix, items = items, part.get("additionalItems")
    if isinstance(prefix, list) and index < len(prefix):
        return [prefix[index]]
    return [items] if isinstance(items, dict) else []


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 equals 1.0, booleans equal only booleans, objects ignore key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


def _plain_numbers(value: Any) -> Any:
    """Integral floats as integers, all the way down (``2.0`` -> ``2``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value
