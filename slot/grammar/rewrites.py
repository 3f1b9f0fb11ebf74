"""Rewriting a schema document for the grammar only, where not even llguidance's lenient compile takes it.

Real schemas hold values the engine cannot build a grammar for: integer bounds at the 64-bit limit (enonic-xp's
``minimum: -9223372036854775808``), float bounds near ``1.8e308``, regexes with look-arounds or backreferences,
``patternProperties`` whose regexes overlap. Each is dropped from a copy of the document **at the subschemas where
the engine fails on it alone** (a probe compiles that one piece), and named in ``Rewrite.dropped``: the backend
lists those keywords as post-checked (relaxed), so post-validation against the schema as given checks them and a
strict request refuses the schema. The rewritten grammar accepts more than the schema, never less:

- numeric bounds and ``multipleOf``: the most extreme value first, until the probe compiles;
- counts written as integral decimals (``"maxItems": 2.0``): written as integers, the same constraint (nothing named);
- ``pattern``: the whole keyword (any string is then allowed);
- ``patternProperties``: entries the engine cannot take (in order, each checked beside those kept) leave the map;
  their keys stay allowed, since ``additionalProperties`` (if given and not ``true``) becomes the union of itself
  and their value schemas (named too);
- ``$ref`` caught in llguidance's "circular references with sibling keys": llguidance takes a key it does not
  know (``x-taplo``, any word the draft's validator does not read) for a sibling constraint, to intersect with
  each branch of an ``anyOf`` beside it, which fails on a cycle of references. Such keys are removed; that changes
  nothing the schema means, so nothing is named. (A ``$ref`` beside real constraints on a cycle is
  ``slot.local_refs``' rewrite.)

A probe failing as "Unsatisfiable schema" is no limit of the engine but a schema that admits no value there: it is
left for the compile to refuse. ``format`` needs no rewrite: the lenient compile only warns on formats it lacks.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import unquote

from slot.leaves import escape_token, resolve_ref
from slot.schema import DEFAULT_DRAFT, DRAFTS
from slot.schema_tree import subschemas

BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
NUMERIC = frozenset({*BOUNDS, "multipleOf"})
COUNTS = frozenset({"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties",
                    "minContains", "maxContains"})
"""Counts JSON Schema lets a schema write as a decimal (``2.0``), which llguidance wants as integer literals."""
REWRITABLE = NUMERIC | COUNTS | {"pattern", "patternProperties", "$ref"}
"""Keywords a failed lenient compile may name for ``rewrite`` to act (any other keyword: refused as before)."""
_KEPT = frozenset({"$ref", "$schema", "$id", "id", "$defs", "definitions", "$anchor", "$dynamicAnchor",
                   "$recursiveAnchor", "$vocabulary"})
"""Identifiers and containers: never removed (references resolve through them)."""

Probe = Callable[[dict[str, Any]], bool]
"""Whether the engine fails on a small schema for a limit of its own (not because the schema admits nothing)."""


@dataclass
class Rewrite:
    """The document for the grammar and the keywords it no longer enforces somewhere (post-checked)."""

    document: Any
    dropped: set[str] = field(default_factory=set)
    changed: bool = False


def rewrite(document: Any, keywords: set[str], fails: Probe) -> Rewrite:
    """A copy of ``document`` without what the engine fails on among ``keywords`` (those its error named)."""
    result = Rewrite(copy.deepcopy(document))
    if not isinstance(result.document, dict):
        return result
    probes = _Memo(fails, result.document.get("$schema"))
    known = frozenset(DRAFTS.get(str(result.document.get("$schema", "")).rstrip("#"), DEFAULT_DRAFT).VALIDATORS)
    protected = _referenced(result.document)
    for node, path in _nodes(result.document):
        if keywords & COUNTS:
            _counts(node, result)
        if keywords & NUMERIC:
            _numbers(node, probes, result)
        if "pattern" in keywords:
            _pattern(node, probes, result)
        if "patternProperties" in keywords:
            _pattern_properties(node, probes, result)
        if "$ref" in keywords:
            _unknown_keys(node, path, known, protected, result)
    return result


class _Memo:
    """Probes cached by their text (real schemas repeat the same bound or regex many times)."""

    def __init__(self, fails: Probe, dialect: Any) -> None:
        self._fails, self._dialect = fails, dialect
        self._seen: dict[str, bool] = {}

    def fails(self, probe: dict[str, Any]) -> bool:
        if isinstance(self._dialect, str):
            probe = {"$schema": self._dialect, **probe}
        key = json.dumps(probe, sort_keys=True)
        if key not in self._seen:
            self._seen[key] = self._fails(probe)
        return self._seen[key]


def _counts(node: dict[str, Any], result: Rewrite) -> None:
    """Write counts given as integral decimals (``"maxItems": 2.0``) as integers: the same constraint, so nothing is
    named."""
    for key in COUNTS & node.keys():
        value = node[key]
        if isinstance(value, float) and value.is_integer():
            node[key] = int(value)
            result.changed = True


def _numbers(node: dict[str, Any], probes: _Memo, result: Rewrite) -> None:
    """Drop bounds (most extreme first), then ``multipleOf``, until this node's numeric part compiles alone."""
    probe = {key: node[key] for key in NUMERIC if key in node}
    if not any(_is_number(value) for value in probe.values()):
        return
    if "type" in node:
        probe["type"] = node["type"]
    while probes.fails(probe):
        candidates = sorted((key for key in BOUNDS if _is_number(probe.get(key))), key=lambda k: -abs(probe[k]))
        candidates += ["multipleOf"] if "multipleOf" in probe else []
        if not candidates:
            return
        key = candidates[0]
        dropped = [key] + [c for c in ("exclusiveMinimum", "exclusiveMaximum")  # draft 4's boolean companions
                           if isinstance(probe.get(c), bool) and key == c.replace("exclusiveM", "m")]
        for name in dropped:
            probe.pop(name, None)
            node.pop(name, None)
        result.dropped.update(dropped)
        result.changed = True


def _pattern(node: dict[str, Any], probes: _Memo, result: Rewrite) -> None:
    """Drop a ``pattern`` the engine cannot compile alone (look-arounds, backreferences, ``\\b``)."""
    pattern = node.get("pattern")
    if isinstance(pattern, str) and probes.fails({"type": "string", "pattern": pattern}):
        del node["pattern"]
        result.dropped.add("pattern")
        result.changed = True


def _pattern_properties(node: dict[str, Any], probes: _Memo, result: Rewrite) -> None:
    """Keep the entries the engine takes together (in order); fold the others' value schemas into
    ``additionalProperties`` so their keys stay allowed."""
    entries = node.get("patternProperties")
    if not isinstance(entries, dict) or not entries:
        return
    kept: dict[str, Any] = {}
    left: list[Any] = []
    for regex, schema in entries.items():
        if probes.fails({"type": "object", "patternProperties": {**{r: {} for r in kept}, regex: {}}}):
            left.append(schema)
        else:
            kept[regex] = schema
    if not left:
        return
    if kept:
        node["patternProperties"] = kept
    else:
        del node["patternProperties"]
    result.dropped.add("patternProperties")
    result.changed = True
    additional = node.get("additionalProperties", True)
    if additional is True or additional == {}:
        return  # any other key is allowed already
    options = ([] if additional is False else [additional]) + left
    node["additionalProperties"] = options[0] if len(options) == 1 else {"anyOf": options}
    result.dropped.add("additionalProperties")


def _unknown_keys(node: dict[str, Any], path: str, known: frozenset[str], protected: set[str],
                  result: Rewrite) -> None:
    """Remove keys no validator reads, which llguidance takes for sibling constraints (annotations are ignored by
    both already; a key a local reference passes through stays)."""
    for key in list(node):
        if key not in known and key not in _KEPT and f"{path}/{escape_token(key)}" not in protected:
            del node[key]
            result.changed = True


def _nodes(document: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Every schema object of a document with its JSON Pointer, parents before children, once each, without
    recursion: those under keywords that hold subschemas and those local references reach (real schemas keep
    definitions under words of their own, ``#/definitions/03ea7/local/name``)."""
    stack: list[tuple[Any, str]] = [(document, "")]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node, path
        children = list(subschemas(node, path))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            try:
                children.append((resolve_ref(document, ref), unquote(ref[1:])))
            except LookupError:
                pass  # the compile says what is wrong with it
        stack.extend(reversed(children))


def _referenced(document: Any) -> set[str]:
    """Every JSON Pointer a local ``$ref`` passes through (its own and each prefix): keys there stay."""
    paths: set[str] = set()
    for node, _ in _nodes(document):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            parts = unquote(ref[1:]).split("/")
            paths.update("/".join(parts[:i]) for i in range(2, len(parts) + 1))
    return paths


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
