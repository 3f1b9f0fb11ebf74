"""The subschema(s) that govern a data path, and what they say: enum, synonyms, format, null.

Only local ``$ref`` ("#", "#/$defs/x", "#/definitions/x") is resolved; a path the schema does not
describe gives no subschemas, and every caller treats that as "unknown, keep the value".
"""

from __future__ import annotations

import re
from typing import Any

from slot import patterns
from slot.leaves import resolve_ref, split_pointer

__all__ = ["subschemas_at", "allows_null", "enum_synonyms", "schema_hint"]

_MAX_REF_DEPTH = 32


def _resolve_ref(root: dict[str, Any], ref: str) -> Any:
    try:
        return resolve_ref(root, ref)
    except LookupError:
        return None


def _expand(root: dict[str, Any], schema: Any, depth: int = 0) -> list[dict[str, Any]]:
    """``schema`` itself plus the members of its $ref / allOf / anyOf / oneOf, flattened."""
    if not isinstance(schema, dict) or depth > _MAX_REF_DEPTH:
        return []
    out = [schema]
    if isinstance(schema.get("$ref"), str):
        out += _expand(root, _resolve_ref(root, schema["$ref"]), depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for member in schema.get(key, []) or []:
            out += _expand(root, member, depth + 1)
    return out


def _children(schema: dict[str, Any], token: str) -> list[Any]:
    found: list[Any] = []
    props = schema.get("properties")
    if isinstance(props, dict) and token in props:
        found.append(props[token])
    for pattern, sub in (schema.get("patternProperties") or {}).items():
        try:
            if patterns.search(pattern, token):
                found.append(sub)
        except patterns.PatternTimeout:
            pass  # too costly to tell: this subschema stays unknown
    if not found and isinstance(schema.get("additionalProperties"), dict):
        found.append(schema["additionalProperties"])
    if token.isdigit():
        i = int(token)
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(prefix, list) and i < len(prefix):
            found.append(prefix[i])
        elif isinstance(items, list):  # draft 7 tuple form
            if i < len(items):
                found.append(items[i])
            elif isinstance(schema.get("additionalItems"), dict):
                found.append(schema["additionalItems"])
        elif isinstance(items, dict):
            found.append(items)
    return found


def subschemas_at(root: dict[str, Any] | None, pointer: str) -> list[dict[str, Any]]:
    """Every subschema that applies at data path ``pointer`` (empty when unknown)."""
    if not isinstance(root, dict):
        return []
    current = _expand(root, root)
    for token in split_pointer(pointer):
        nxt: list[dict[str, Any]] = []
        for schema in current:
            for child in _children(schema, token):
                nxt += _expand(root, child)
        current = nxt
        if not current:
            return []
    return current


def _accepts_null(root: dict[str, Any], schema: Any, depth: int = 0) -> bool:
    """Whether ``null`` is valid against ``schema`` (type/enum/const, $ref, allOf/anyOf/oneOf)."""
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict) or depth > _MAX_REF_DEPTH:
        return False
    t = schema.get("type")
    if t is not None and "null" not in (t if isinstance(t, list) else [t]):
        return False
    if "enum" in schema and None not in schema["enum"]:
        return False
    if "const" in schema and schema["const"] is not None:
        return False
    if "not" in schema and _accepts_null(root, schema["not"], depth + 1):
        return False
    if isinstance(schema.get("$ref"), str) and not _accepts_null(
            root, _resolve_ref(root, schema["$ref"]), depth + 1):
        return False
    if not all(_accepts_null(root, s, depth + 1) for s in schema.get("allOf", [])):
        return False
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if members and sum(_accepts_null(root, s, depth + 1) for s in members) == 0:
            return False
        if key == "oneOf" and members and sum(_accepts_null(root, s, depth + 1) for s in members) > 1:
            return False
    return True


def allows_null(root: dict[str, Any] | None, pointer: str) -> bool:
    """Whether the schema accepts ``null`` at data path ``pointer`` (False when unknown)."""
    if not isinstance(root, dict) or not pointer:
        return False
    tokens = split_pointer(pointer)
    parent = "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens[:-1])
    holders = subschemas_at(root, parent)
    children = [c for h in holders for c in _children(h, tokens[-1])]
    return bool(children) and all(_accepts_null(root, c) for c in children)


_SYNONYM_LIST = r"(?P<list>[^.;\n)]+)"


def enum_synonyms(schemas: list[dict[str, Any]], value: str) -> list[str]:
    """Synonyms of enum member ``value`` that the field's description gives.

    Recognised forms: ``value (also: a, b)``, ``value = a, b``, ``value: a / b``,
    ``value means a``, ``value, also written a or b``, with or without quotes.
    """
    out: list[str] = []
    q = r"[\"'`“”‘’]?"
    pattern = re.compile(
        q + re.escape(value) + q
        + r"\s*(?:\(\s*(?:also|aka|a\.k\.a\.|or|e\.g\.|i\.e\.|synonyms?)?:?\s*|=|:|->|→|means|,?\s*also(?: written| called| known as)?:?|also)\s*"
        + _SYNONYM_LIST,
        re.IGNORECASE,
    )
    for schema in schemas:
        desc = schema.get("description")
        if not isinstance(desc, str) or value.lower() not in desc.lower():
            continue
        for m in pattern.finditer(desc):
            for item in re.split(r",|/|\bor\b|\|", m.group("list")):
                item = item.strip().strip("\"'`“”‘’ ")
                if item and item.lower() != value.lower():
                    out.append(item)
    return out


def schema_hint(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """The keywords of the applicable subschemas that grounding uses: enum, format, type."""
    hint: dict[str, Any] = {}
    for schema in schemas:
        for key in ("enum", "format", "type", "title"):
            if key in schema and key not in hint:
                hint[key] = schema[key]
    return hint
