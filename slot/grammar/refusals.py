"""What a grammar engine's message is about: the schema keywords it names, for refusals and relaxations.

Engines speak in their own words (``Unimplemented keys: ["not"]``, ``oneOf constraints are not supported``,
``Expected positive integer for 'maxItems'``). SLOT's refusals must name the keyword at fault, and a lenient
compile must list every keyword it relaxed, so each known message is mapped to the keywords it is about;
where none is known, the refusal says that the engine named no keyword and quotes its message.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

from slot.errors import UnsupportedSchemaError

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _listed(found: re.Match[str], schema: Any) -> list[str]:
    try:
        return sorted(str(k) for k in json.loads(found.group(1)))
    except ValueError:
        return []


def _named(found: re.Match[str], schema: Any) -> list[str]:
    return [found.group(1)]


def _fixed(*keywords: str) -> Callable[[re.Match[str], Any], list[str]]:
    return lambda found, schema: list(keywords)


def _present(*keywords: str) -> Callable[[re.Match[str], Any], list[str]]:
    """The keywords among ``keywords`` the schema uses (all of them when it uses none)."""
    return lambda found, schema: sorted(set(keywords) & set(keywords_used(schema))) or list(keywords)


def _holding_number(found: re.Match[str], schema: Any) -> list[str]:
    """The keywords whose value is the number the message quotes (an integer beyond 64 bits)."""
    number = int(found.group(1))
    return sorted({key for key, value in _items(schema)
                   if (type(value) is int and value == number) or (isinstance(value, list) and number in value)})


_REGEX = ("pattern", "patternProperties")

RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str], Any], list[str]]]] = [
    (re.compile(r"Unimplemented keys: (\[.*?\])"), _listed),
    (re.compile(r"Unknown format: "), _fixed("format")),
    (re.compile(r"oneOf constraints are not supported|oneOf not fully supported"), _fixed("oneOf")),
    (re.compile(r"min/maxProperties only supported"), _present("minProperties", "maxProperties")),
    (re.compile(r"Expected positive integer for '(\w+)'"), _named),
    (re.compile(r"Value for '(\w+)'"), _named),
    (re.compile(r"patternProperty regexes"), _fixed("patternProperties")),
    (re.compile(r"regex parse error|[Rr]egex is empty|lookarounds not supported|backreferences are not supported|"
                r" in regex /"), _present(*_REGEX)),
    (re.compile(r"Failed to generate regex for (?:float|integer) range|Invalid range: left"), _present(*_BOUNDS)),
    (re.compile(r"Value is not JSON serializable: (-?\d+)"), _holding_number),
    (re.compile(r"circular references with sibling keys|\$ref must be a string|Invalid URI"), _fixed("$ref")),
    (re.compile(r"Unsatisfiable schema: schema is false"), _fixed("false")),
    (re.compile(r"required property '.*' is unsatisfiable"), _fixed("required")),
    (re.compile(r"is unsatisfiable but minItems is"), _present("items", "prefixItems", "minItems")),
    (re.compile(r"anyOf is empty|No options in anyOf|All options in anyOf are unsatisfiable"),
     _present("anyOf", "oneOf", "enum")),
    (re.compile(r"Invalid type: |incompatible types|type must be a string or array"), _fixed("type")),
    (re.compile(r"incompatible boolean values"), _present("const", "enum")),
    (re.compile(r"minProperties > maxProperties|required > maxProperties"),
     _present("minProperties", "maxProperties", "required")),
    (re.compile(r"schema too large"), _fixed("limits")),  # llguidance's own bound on the grammar it builds
]
"""(pattern on an engine message, the keywords it names); the first rule that matches decides."""


def keywords_of(message: str, schema: Any = None) -> list[str]:
    """The schema keywords an engine message is about, sorted; empty when no rule knows the message."""
    for pattern, keywords in RULES:
        found = pattern.search(message)
        if found:
            return keywords(found, schema)
    return []


def refusal(engine: str, message: str, schema: Any = None) -> UnsupportedSchemaError:
    """The refusal of a schema an engine cannot compile or enforce, naming the keyword (or saying it names none)."""
    text = " ".join(message.split()) or "no message"
    keywords = keywords_of(text, schema)
    if not keywords:
        return UnsupportedSchemaError(f"the {engine} grammar engine cannot enforce this schema and named no keyword; "
                                      f"its message: {text}")
    return UnsupportedSchemaError(f"the {engine} grammar engine cannot enforce {quoted(keywords)} in this schema: "
                                  f"{text}", keyword=",".join(keywords))


def quoted(keywords: list[str]) -> str:
    """`a`, `b` and `c`."""
    names = [f"`{k}`" for k in keywords]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def keywords_used(schema: Any) -> set[str]:
    """Every object key of a schema document (property names included: callers only intersect with keywords)."""
    return {key for key, _ in _items(schema)}


def _items(document: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every object inside a document, without recursion."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key), value
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
