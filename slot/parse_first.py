"""The parse-first fast path: answer with a JSON value the text already holds, without running the model.

Many texts that reach SLOT are LLM replies that already contain the answer as JSON, a little broken (code
fences, trailing commas, single quotes, comments, Python literals, a missing brace). :func:`parse_first`
takes the candidates in order (fenced blocks, then the text from its first ``{`` or ``[``), repairs each
with ``json_repair``, renames keys that differ from a schema property only in case or naming style
(``firstName`` ~ ``first_name`` ~ ``First name``, only where exactly one property matches), and answers
when the value validates against the schema as the grammar holds it (open objects closed, so no key the
schema does not list) and every leaf that makes a claim is grounded verbatim in the text
(``slot.grounding``). Otherwise it returns None and the model decodes as usual: a value that needs any
judgement (other key names, reformatted values, missing required fields) is the model's job.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

import json_repair

from slot.grounding import ground
from slot.grounding.result import Grounding
from slot.leaves import resolve_ref
from slot.patterns import time_budget
from slot.schema import Schema

MAX_CANDIDATES = 4
"""Most candidate values repaired per text (fenced blocks first)."""
MAX_CANDIDATE_CHARS = 20_000
"""Longest candidate given to the repairer (a pure-Python parser): longer ones are left to the model."""
FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
JSON_FENCES = {"", "json", "json5", "jsonc", "js", "javascript"}
_STYLE = re.compile(r"[\s_\-.]+")
_STRING_OR_COMMENT = re.compile(r"""("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|#[^\n]*|//[^\n]*|/\*.*?\*/""", re.S)


@dataclass(frozen=True)
class ParsedAnswer:
    """A value found in the text: what the fast path answers with."""

    value: Any
    output: str
    """The value as compact JSON text (objects in the schema's property order)."""
    grounding: Grounding


def parse_first(text: str, schema: Schema, grammar_document: Any) -> ParsedAnswer | None:
    """The first repaired candidate that fits ``grammar_document`` and is grounded in ``text``, else None.

    ``grammar_document`` is the schema the grammar is built from (``Structurer.grammar_document``): the
    value must be one the model could have written.
    """
    closed = dataclasses.replace(schema, document=grammar_document, source=None)  # validate the closed copy
    root = schema.document if isinstance(schema.document, dict) else {}
    for candidate in candidates(text):
        for value in repaired(candidate):
            value = conform(value, root, root)
            if closed.errors(value) or schema.errors(value):
                continue
            with time_budget():
                report = ground(value, text, root or None)
            if report.fields and all(field.status == "grounded" for field in report.fields):
                return ParsedAnswer(value=value, grounding=report,
                                    output=json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return None


def candidates(text: str) -> Iterator[str]:
    """Texts that may hold the JSON value: each JSON(-ish) fenced block, then the text from its first brace."""
    found = 0
    for match in FENCE.finditer(text):
        if match.group(1).lower() in JSON_FENCES and len(match.group(2)) <= MAX_CANDIDATE_CHARS:
            found += 1
            yield match.group(2)
            if found == MAX_CANDIDATES:
                return
    starts = [index for index in (text.find("{"), text.find("[")) if index >= 0]
    if starts and len(text) - min(starts) <= MAX_CANDIDATE_CHARS:
        yield text[min(starts):]


def repaired(candidate: str) -> list[Any]:
    """The values json_repair reads from a candidate (several when it holds several top-level values)."""
    if "#" in candidate or "/" in candidate:
        candidate = without_comments(candidate)
    try:
        value = json_repair.loads(candidate)
    except (ValueError, RecursionError):  # the repairer gives up on some inputs
        return []
    if value == "" or not isinstance(value, (dict, list)):
        return []
    return [value] + ([item for item in value if isinstance(item, dict)] if isinstance(value, list) else [])


def without_comments(candidate: str) -> str:
    """``#``, ``//`` and ``/* */`` comments outside strings removed (json_repair reads ``"a"  # note`` after an
    unquoted key as part of the string); a comma that ends a line comment (``"a"  // note,``) is kept."""

    def keep(match: re.Match[str]) -> str:
        return match.group(1) or ("," if match.group(0).rstrip().endswith(",") else "")

    return _STRING_OR_COMMENT.sub(keep, candidate)


def style_key(name: str) -> str:
    """A key with case and word separators dropped: firstName, first_name and 'First name' all give 'firstname'."""
    return _STYLE.sub("", name).lower()


def conform(value: Any, node: Any, root: dict[str, Any]) -> Any:
    """``value`` with object keys renamed to the schema's property of the same style key (where exactly one
    property has it and no other key takes it) and put in the schema's property order; recursive."""
    node = _resolved(node, root)
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [conform(item, node["items"], root) for item in value]
    properties = node.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, dict):
        return value
    by_style: dict[str, list[str]] = {}
    for name in properties:
        by_style.setdefault(style_key(name), []).append(name)
    renamed: dict[str, Any] = {}
    for key, item in value.items():
        matches = by_style.get(style_key(key), [])
        target = key if key in properties or len(matches) != 1 else matches[0]
        if target in renamed or (target != key and target in value):
            target = key
        renamed[target] = conform(item, properties.get(target, {}), root)
    ordered = {name: renamed.pop(name) for name in properties if name in renamed}
    return ordered | renamed


def _resolved(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    for _ in range(32):  # a $ref chain; cycles stop here
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#")):
            break
        try:
            node = resolve_ref(root, node["$ref"])
        except LookupError:
            return {}
    return node if isinstance(node, dict) else {}
