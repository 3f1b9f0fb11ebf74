"""Loading, checking, limiting and hashing the JSON Schemas that requests carry.

A schema is accepted only if it parses, is valid against its meta-schema (Draft 2020-12 unless
``$schema`` names Draft 7, 2019-09, 6 or 4), uses local references only, and stays under the limits
(size, depth, number of subschemas, enum length). Every refusal is a :class:`SchemaError` naming the
keyword and the JSON Pointer at fault, so callers get an answer they can act on. Nothing is ever
fetched from the network: remote ``$ref`` and ``$dynamicRef`` are refused before any validator runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

import jsonschema
from jsonschema import validators

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import resolve_ref
from slot.patterns import PatternTimeout, bound_jsonschema, time_budget

bound_jsonschema()  # post-validation never runs Python's backtracking re on model output

DRAFTS: dict[str, type] = {
    "https://json-schema.org/draft/2020-12/schema": validators.Draft202012Validator,
    "https://json-schema.org/draft/2019-09/schema": validators.Draft201909Validator,
    "http://json-schema.org/draft-07/schema": validators.Draft7Validator,
    "http://json-schema.org/draft-06/schema": validators.Draft6Validator,
    "http://json-schema.org/draft-04/schema": validators.Draft4Validator,
}
DEFAULT_DRAFT = validators.Draft202012Validator
FORMAT_CHECKER = validators.Draft202012Validator.FORMAT_CHECKER
"""The format checker of post-validation, whatever the draft: SLOT asserts formats (the grammar enforces those
it knows), and older drafts' checkers miss formats newer ones check (draft 4 has no ``iri``, ``uuid`` or
``date``), so a value the grammar left unchecked would pass while ``format`` is reported checked."""

# Keywords whose value is a map of name -> subschema, a subschema, or a list of subschemas.
_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_ONE_KEYWORDS = ("items", "additionalProperties", "additionalItems", "contains", "not", "if", "then", "else",
                 "propertyNames", "unevaluatedItems", "unevaluatedProperties")
_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")


@dataclass(frozen=True)
class Limits:
    """Bounds on what a schema may cost to compile and hold."""

    max_bytes: int = 65_536
    max_depth: int = 24
    max_enum_values: int = 1_000
    max_nodes: int = 5_000


@dataclass(frozen=True)
class Schema:
    """A checked schema: the parsed document, its canonical text and hash, and its validator class."""

    document: dict[str, Any] | bool
    canonical: str
    """Compact JSON with sorted keys: the text used for hashing and in the prompt."""
    hash: str
    """sha256 of the canonical text: the cache key of everything derived from this schema."""
    validator_class: type

    def validator(self) -> Any:
        """A jsonschema validator for instances, with format checking on (``FORMAT_CHECKER``)."""
        return self.validator_class(self.document, format_checker=FORMAT_CHECKER)

    def errors(self, instance: Any) -> list[str]:
        """Validation errors of an instance, each as 'path: message', in a stable order.

        Pattern checks share one time budget (slot.patterns); past it validation stops with an error saying so.
        """
        found: list[Any] = []
        stopped = ""
        with time_budget():
            try:
                found.extend(self.validator().iter_errors(instance))
            except PatternTimeout as exc:
                stopped = f"/: validation stopped: {exc}"
        found.sort(key=lambda e: (list(map(str, e.absolute_path)), e.message))
        return [f"{_pointer(e.absolute_path) or '/'}: {e.message}" for e in found] + ([stopped] if stopped else [])


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON text: equal documents give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_schema(raw: str | bytes | dict[str, Any] | bool, limits: Limits | None = None) -> Schema:
    """Parse and check a schema given as JSON text, UTF-8 bytes or an already parsed object."""
    limits = limits or Limits()
    if isinstance(raw, bytes):
        if len(raw) > limits.max_bytes:
            raise SchemaError(f"schema is {len(raw)} bytes, over the limit of {limits.max_bytes}")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError(f"schema is not valid UTF-8 (byte {exc.start})") from None
    if isinstance(raw, str):
        if len(raw.encode("utf-8")) > limits.max_bytes:
            raise SchemaError(f"schema is over the limit of {limits.max_bytes} bytes")
        if not raw.strip():
            raise SchemaError("schema is empty")
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"schema is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        except RecursionError:
            raise SchemaError("schema nesting is too deep to parse", keyword="depth") from None
    else:
        document = raw
    if not isinstance(document, (dict, bool)):
        raise SchemaError(f"a schema must be a JSON object or boolean, got {type(document).__name__}")
    try:
        canonical = canonical_json(document)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SchemaError(f"schema is not serialisable as JSON: {exc}") from None
    if len(canonical.encode("utf-8")) > limits.max_bytes:
        raise SchemaError(f"schema is over the limit of {limits.max_bytes} bytes")
    _check_structure(document, limits)
    validator_class = _draft_of(document)
    _check_meta_schema(document, validator_class)
    if isinstance(document, dict):
        _check_refs(document)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Schema(document=document, canonical=canonical, hash=digest, validator_class=validator_class)


def _draft_of(document: dict[str, Any] | bool) -> type:
    if not isinstance(document, dict) or "$schema" not in document:
        return DEFAULT_DRAFT
    uri = document["$schema"]
    if not isinstance(uri, str):
        raise SchemaError("$schema must be a string", path="/$schema", keyword="$schema")
    key = uri.rstrip("#")
    if key not in DRAFTS:
        raise UnsupportedSchemaError(f"unsupported $schema {uri!r}; use one of: {', '.join(DRAFTS)}",
                                     path="/$schema", keyword="$schema")
    return DRAFTS[key]


def _check_meta_schema(document: dict[str, Any] | bool, validator_class: type) -> None:
    try:
        error = jsonschema.exceptions.best_match(validator_class(validator_class.META_SCHEMA).iter_errors(document))
    except RecursionError:
        raise SchemaError("schema nesting is too deep", keyword="depth") from None
    if error is not None:
        raise SchemaError(f"schema violates the meta-schema: {error.message}",
                          path=_pointer(error.absolute_path), keyword=str(error.validator))


def subschemas(node: dict[str, Any], path: str = "") -> Iterator[tuple[Any, str]]:
    """The direct subschemas of a schema node with their JSON Pointers (every keyword that holds schemas)."""
    for key in _MAP_KEYWORDS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield sub, f"{path}/{key}/{_escape(name)}"
    for key in _ONE_KEYWORDS:
        value = node.get(key)
        if isinstance(value, (dict, bool)):
            yield value, f"{path}/{key}"
    for key in _LIST_KEYWORDS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield sub, f"{path}/{key}/{i}"
    deps = node.get("dependencies")
    if isinstance(deps, dict):
        for name, sub in deps.items():
            if isinstance(sub, (dict, bool)):
                yield sub, f"{path}/dependencies/{_escape(name)}"


def _check_structure(document: Any, limits: Limits) -> None:
    """Depth, node count, enum sizes and reference locality, without recursion (hostile depth is fine)."""
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    nodes = 0
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        nodes += 1
        if nodes > limits.max_nodes:
            raise SchemaError(f"schema has more than {limits.max_nodes} subschemas", keyword="limits")
        if depth > limits.max_depth:
            raise SchemaError(f"schema nests deeper than {limits.max_depth} levels", path=path, keyword="depth")
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) > limits.max_enum_values:
            raise SchemaError(f"enum has {len(enum)} values, over the limit of {limits.max_enum_values}",
                              path=f"{path}/enum", keyword="enum")
        for keyword in ("$ref", "$dynamicRef", "$recursiveRef"):
            ref = node.get(keyword)
            if ref is None:
                continue
            if keyword != "$ref":
                raise UnsupportedSchemaError(f"{keyword} is not supported; use a local $ref", path=f"{path}/{keyword}",
                                             keyword=keyword)
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise UnsupportedSchemaError(f"only local references ('#/...') are allowed, got {ref!r}; "
                                             "SLOT never fetches remote schemas", path=f"{path}/$ref", keyword="$ref")
        _check_patterns(node, path)
        identifier = node.get("$id")
        if isinstance(identifier, str) and "#" not in identifier and path:
            raise UnsupportedSchemaError("$id in a subschema (a new base URI) is not supported",
                                         path=f"{path}/$id", keyword="$id")
        for sub, sub_path in subschemas(node, path):
            stack.append((sub, sub_path, depth + 1))


def _check_patterns(node: dict[str, Any], path: str) -> None:
    """Regexes must compile with Python's re (the syntax SLOT accepts) and with the regex module (which checks them)."""
    import re

    import regex

    patterns = [(node["pattern"], f"{path}/pattern", "pattern")] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        patterns += [(key, f"{path}/patternProperties/{_escape(key)}", "patternProperties")
                     for key in node["patternProperties"]]
    for pattern, where, keyword in patterns:
        try:
            re.compile(pattern)
            regex.compile(pattern)
        except (re.error, regex.error, RecursionError, OverflowError) as exc:
            raise UnsupportedSchemaError(f"{keyword} {pattern!r} uses regex syntax SLOT cannot check after decoding "
                                         f"({exc}); rewrite it without constructs such as \\p{{...}}",
                                         path=where, keyword=keyword) from None


def _check_refs(document: dict[str, Any]) -> None:
    """Every $ref must resolve inside the document, and no subschema may apply itself to the same instance.

    A loop through $ref/allOf/anyOf/oneOf/not/if/then/else never reaches a deeper part of the instance, so
    validating (or compiling) it would recurse forever; recursion through properties or items is fine.
    """
    same_location: dict[str, list[str]] = {}
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict):
            continue
        edges: list[str] = []
        if isinstance(node.get("$ref"), str):
            resolve_pointer(document, node["$ref"], at=f"{path}/$ref")
            edges.append(_normal_pointer(node["$ref"]))
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                edges.extend(f"{path}/{key}/{i}" for i in range(len(node[key])))
        edges.extend(f"{path}/{key}" for key in ("not", "if", "then", "else") if isinstance(node.get(key), dict))
        same_location[path] = edges
        for sub, sub_path in subschemas(node, path):
            stack.append((sub, sub_path))
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in same_location:
        if state.get(start):
            continue
        walk: list[tuple[str, Iterator[str]]] = [(start, iter(same_location[start]))]
        state[start] = 1
        while walk:
            current, children = walk[-1]
            child = next(children, None)
            if child is None:
                state[current] = 2
                walk.pop()
            elif state.get(child) == 1:
                raise SchemaError(f"reference cycle: {child or '#'} applies itself to the same value without end",
                                  path=current, keyword="$ref")
            elif not state.get(child):
                state[child] = 1
                walk.append((child, iter(same_location.get(child, []))))


def _normal_pointer(ref: str) -> str:
    from urllib.parse import unquote

    return unquote(ref[1:])


def resolve_pointer(document: Any, ref: str, *, at: str = "") -> Any:
    """Resolve a local reference '#/a/b' in a document (``slot.leaves.resolve_ref``); SchemaError if it points
    nowhere, UnsupportedSchemaError for an anchor ('#name')."""
    pointer = _normal_pointer(ref)
    if pointer and not pointer.startswith("/"):
        raise UnsupportedSchemaError(f"anchor references ({ref!r}) are not supported; use '#/$defs/...'",
                                     path=at, keyword="$ref")
    try:
        return resolve_ref(document, ref)
    except LookupError:
        raise SchemaError(f"$ref {ref!r} does not resolve inside the schema", path=at, keyword="$ref") from None


def _escape(name: str) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")


def _pointer(parts: Any) -> str:
    return "".join(f"/{_escape(str(p))}" for p in parts)
