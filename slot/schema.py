"""Loading, checking, limiting and hashing the JSON Schemas that requests carry.

A schema is accepted only if it parses, is valid against its meta-schema (Draft 2020-12 unless
``$schema`` names Draft 7, 2019-09, 6 or 4), uses local references only, and stays under the limits
(size, depth, number of subschemas, enum length). Every refusal is a :class:`SchemaError` naming the
keyword and the JSON Pointer at fault, so callers get an answer they can act on. Nothing is ever
fetched from the network: a reference to anything outside the document is refused before any validator
runs. References inside it (through an ``$id`` base, an ``$anchor``, ``$dynamicRef``) are served: the
document SLOT works from has every one as a plain ``#/...`` pointer (``slot.local_refs``), and
post-validation uses the document as given, with a registry of that document alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

import jsonschema
from jsonschema import validators
from jsonschema_specifications import REGISTRY as META_SCHEMAS

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import resolve_ref
from slot.local_refs import localize
from slot.patterns import PatternTimeout, bound_jsonschema, time_budget
from slot.schema_tree import subschemas

bound_jsonschema()  # post-validation never runs Python's backtracking re on model output

DRAFTS: dict[str, type] = {
    "https://json-schema.org/draft/2020-12/schema": validators.Draft202012Validator,
    "https://json-schema.org/draft/2019-09/schema": validators.Draft201909Validator,
    "http://json-schema.org/draft-07/schema": validators.Draft7Validator,
    "http://json-schema.org/draft-06/schema": validators.Draft6Validator,
    "http://json-schema.org/draft-04/schema": validators.Draft4Validator,
}
DEFAULT_DRAFT = validators.Draft202012Validator
DIALECTS: dict[type, str] = {
    validators.Draft202012Validator: "2020-12", validators.Draft201909Validator: "2019-09",
    validators.Draft7Validator: "draft7", validators.Draft6Validator: "draft6", validators.Draft4Validator: "draft4",
}
"""Each draft's short name in ``slot.local_refs``."""
FORMAT_CHECKER = validators.Draft202012Validator.FORMAT_CHECKER
"""The format checker of post-validation, whatever the draft: SLOT asserts formats (the grammar enforces those
it knows), and older drafts' checkers miss formats newer ones check (draft 4 has no ``iri``, ``uuid`` or
``date``), so a value the grammar left unchecked would pass while ``format`` is reported checked."""

@dataclass(frozen=True)
class Limits:
    """Bounds on what a schema may cost to compile and hold (benchmarks/results/big_schemas_2026-12-07.md
    measured the compile time and memory of real schemas up to the byte limit)."""

    max_bytes: int = 131_072
    max_depth: int = 24
    max_enum_values: int = 1_000
    max_nodes: int = 5_000


@dataclass(frozen=True)
class Schema:
    """A checked schema: the document SLOT works from, the document as given, its canonical text and hash, and its
    validator class."""

    document: dict[str, Any] | bool
    """The schema with every reference a ``#/...`` pointer of its root (``slot.local_refs``): what the grammar,
    closed objects, grounding and targets follow. The given document itself when it needed no rewrite."""
    canonical: str
    """Compact JSON with sorted keys of the document as given: the text used for hashing and in the prompt."""
    hash: str
    """sha256 of the canonical text: the cache key of everything derived from this schema."""
    validator_class: type
    source: dict[str, Any] | bool | None = None
    """The document as given (None: ``document``): what post-validation checks against."""
    relaxed: tuple[str, ...] = ()
    """Keywords ``document`` leaves to post-validation (a ``$dynamicRef`` whose target depends on the dynamic
    scope); the enforcement lists them post-checked."""

    @property
    def given(self) -> dict[str, Any] | bool:
        """The document as the caller gave it."""
        return self.document if self.source is None else self.source

    def validator(self) -> Any:
        """A jsonschema validator for instances, with format checking on (``FORMAT_CHECKER``), over the document
        as given; its registry holds the draft meta-schemas and this document alone, so no reference is fetched."""
        return self.validator_class(self.given, format_checker=FORMAT_CHECKER, registry=META_SCHEMAS)

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
    localized = localize(document, DIALECTS[validator_class])
    if isinstance(localized.document, dict):
        _check_refs(localized.document)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Schema(document=localized.document, canonical=canonical, hash=digest, validator_class=validator_class,
                  source=None if localized.document is document else document, relaxed=localized.relaxed)


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


def _check_structure(document: Any, limits: Limits) -> None:
    """Depth, node count, enum sizes and patterns, without recursion (hostile depth is fine); references are
    resolved (local ones) or refused (remote ones) by ``slot.local_refs``."""
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
        _check_patterns(node, path)
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
    """Resolve a pointer reference '#/a/b' in a document (``slot.leaves.resolve_ref``; ``Schema.document`` has
    only those); SchemaError if it points nowhere."""
    try:
        return resolve_ref(document, ref)
    except LookupError:
        raise SchemaError(f"$ref {ref!r} does not resolve inside the schema", path=at, keyword="$ref") from None


def _escape(name: str) -> str:
    return str(name).replace("~", "~0").replace("/", "~1")


def _pointer(parts: Any) -> str:
    return "".join(f"/{_escape(str(p))}" for p in parts)
