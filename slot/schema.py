"""Loading, checking, limiting and hashing the JSON Schemas that requests carry.

A schema is accepted only if it parses, is valid against its meta-schema (Draft 2020-12 unless
``$schema`` names Draft 7, 2019-09, 6 or 4), uses local references only, and stays under the limits
(size, depth, number of subschemas, enum length; the drafts and the meta-schema check are
``slot.schema_drafts``). Every refusal is a :class:`SchemaError` naming the
keyword and the JSON Pointer at fault, so callers get an answer they can act on. Nothing is ever
fetched from the network: a reference to anything outside the document is refused before any validator
runs, unless the operator's local schema registry holds the document it names (``slot.schema_registry``,
setting ``schema_registry_dir``): then the parts of it the schema reaches are embedded into the document SLOT
works from. References inside it (through an ``$id`` base, an ``$anchor``, ``$dynamicRef``) are served: the
document SLOT works from has every one as a plain ``#/...`` pointer (``slot.local_refs``), and
post-validation uses the document as given, with a ``referencing`` registry of the draft meta-schemas (and of
the local schema registry's documents, read from memory) that never fetches anything.

A server checks the same schema text again and again (every request carries it): :class:`SchemaCache` keeps
the checked :class:`Schema` objects, keyed by the sha256 of the text, the limits and the registry's
fingerprint (``Structurer.load_schema`` uses the process-wide ``SCHEMAS``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterator

from jsonschema import validators
from jsonschema_specifications import REGISTRY as META_SCHEMAS
from referencing.exceptions import Unresolvable

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import escape_token, resolve_ref
from slot.local_refs import RemoteReferenceError, localize
from slot.patterns import PatternTimeout, bound_jsonschema, time_budget
from slot.schema_drafts import DEFAULT_DRAFT, DIALECTS, DRAFTS, check_meta_schema, draft_of  # noqa: F401 (re-exported)
from slot.schema_registry import SchemaRegistry, bundle
from slot.schema_tree import subschemas

log = logging.getLogger(__name__)

bound_jsonschema()  # post-validation never runs Python's backtracking re on model output

FORMAT_CHECKER = validators.Draft202012Validator.FORMAT_CHECKER
"""The format checker of post-validation, whatever the draft: SLOT asserts formats (the grammar enforces those
it knows), and older drafts' checkers miss formats newer ones check (draft 4 has no ``iri``, ``uuid`` or
``date``), so a value the grammar left unchecked would pass while ``format`` is reported checked."""

@dataclass(frozen=True)
class Limits:
    """Bounds on what a schema may cost to compile and hold (benchmarks/results/big_schemas_2026-12-07.md
    measured the compile time and memory of real schemas up to the byte limit)."""

    max_bytes: int = 131_072
    max_bundled_bytes: int = 524_288
    """Bound on a schema with the local registry's documents it references embedded: those come from the operator
    (read at start), not the caller, whose own bytes stay under ``max_bytes``."""
    max_depth: int = 24
    max_enum_values: int = 4_096
    max_nodes: int = 5_000


@dataclass(frozen=True)
class Schema:
    """A checked schema: the document SLOT works from, the document as given, its canonical text and hash, and its
    validator class."""

    document: dict[str, Any] | bool
    """The schema with every reference a ``#/...`` pointer of its root (``slot.local_refs``): what the grammar,
    closed objects, grounding and targets follow. The given document itself when it needed no rewrite."""
    canonical: str
    """Compact JSON with sorted keys of the document as given (with the parts of the registry documents it
    references embedded under ``$defs``, when it references any): the text used for hashing and in the prompt."""
    hash: str
    """sha256 of the canonical text: the cache key of everything derived from this schema."""
    validator_class: type
    source: dict[str, Any] | bool | None = None
    """The document as given (None: ``document``): what post-validation checks against."""
    relaxed: tuple[str, ...] = ()
    """Keywords ``document`` leaves to post-validation (a ``$dynamicRef`` whose target depends on the dynamic
    scope); the enforcement lists them post-checked."""
    registry: Any = None
    """The ``referencing`` registry post-validation resolves references with (None: the draft meta-schemas alone);
    a schema that references local schema registry documents gets ``SchemaRegistry.referencing``."""
    embedded: tuple[str, ...] = ()
    """The URIs of the local schema registry documents embedded in ``document`` (``slot.schema_registry``)."""

    @property
    def given(self) -> dict[str, Any] | bool:
        """The document as the caller gave it."""
        return self.document if self.source is None else self.source

    def validator(self) -> Any:
        """A jsonschema validator for instances, with format checking on (``FORMAT_CHECKER``), over the document
        as given; its registry holds the draft meta-schemas, this document and the local schema registry's
        documents it references (``registry``), so no reference is fetched."""
        return self.validator_class(self.given, format_checker=FORMAT_CHECKER,
                                    registry=META_SCHEMAS if self.registry is None else self.registry)

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
            except Unresolvable as exc:  # a URI neither the document nor the local schema registry holds
                stopped = f"/: validation stopped: a reference does not resolve without fetching: {exc}"
        found.sort(key=lambda e: (list(map(str, e.absolute_path)), e.message))
        return [f"{_pointer(e.absolute_path) or '/'}: {e.message}" for e in found] + ([stopped] if stopped else [])


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON text: equal documents give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_schema(raw: str | bytes | dict[str, Any] | bool, limits: Limits | None = None,
                registry: SchemaRegistry | None = None) -> Schema:
    """Parse and check a schema given as JSON text, UTF-8 bytes or an already parsed object; references to other
    documents are served from ``registry`` (``slot.schema_registry``; None: the official meta-schemas alone) when it
    holds them, refused otherwise."""
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
    validator_class = draft_of(document)
    check_meta_schema(document, validator_class)
    dialect = DIALECTS[validator_class]
    bundled = None
    try:
        localized = localize(document, dialect)
    except RemoteReferenceError:
        if registry is None:  # no operator registry: the official meta-schemas are still served
            registry = SchemaRegistry.builtin()
        bundled = bundle(document, dialect, registry)
        if bundled is None:  # pragma: no cover - localize found a reference outside the document
            raise
        canonical = _check_bundle(bundled.document, bundled.uris, limits)
        localized = localize(bundled.document, dialect, aliases=bundled.aliases, roots=bundled.roots)
    if isinstance(localized.document, dict):
        _check_refs(localized.document)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Schema(document=localized.document, canonical=canonical, hash=digest, validator_class=validator_class,
                  source=None if localized.document is document else document, relaxed=localized.relaxed,
                  registry=None if bundled is None else registry.referencing(validator_class),  # type: ignore[union-attr]
                  embedded=() if bundled is None else bundled.uris)


def _check_bundle(document: dict[str, Any], uris: tuple[str, ...], limits: Limits) -> str:
    """The limits on a schema with registry documents embedded; its canonical text."""
    named = ", ".join(uris[:3]) + (f" and {len(uris) - 3} more" if len(uris) > 3 else "")
    what = f"the schema with the {len(uris)} registry document{'s' if len(uris) > 1 else ''} it references ({named})"
    canonical = canonical_json(document)
    size = len(canonical.encode("utf-8"))
    if size > limits.max_bundled_bytes:
        raise SchemaError(f"{what} embedded is {size} bytes, over the limit of {limits.max_bundled_bytes}"
                          " (max_bundled_schema_bytes)", keyword="limits")
    try:
        _check_structure(document, limits)
    except SchemaError as exc:
        raise type(exc)(f"{what} embedded: {exc.message}", path=exc.path, keyword=exc.keyword) from None
    return canonical


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
        patterns += [(key, f"{path}/patternProperties/{escape_token(key)}", "patternProperties")
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


def _pointer(parts: Any) -> str:
    return "".join(f"/{escape_token(p)}" for p in parts)


class SchemaCache:
    """Checked schemas by the sha256 of their text, the limits and the local schema registry's fingerprint; least
    recently used evicted past ``capacity`` entries or ``max_bytes`` of canonical text.

    A hit is the same :class:`Schema` object as the miss that stored it: nothing in SLOT changes a schema's
    documents (the grammar, closed objects, prompt and targets copy what they rewrite), and a hit checks that
    (the digest of ``document`` and ``source`` taken when stored): a changed entry is dropped, logged and
    checked afresh. Refusals are not kept. A parsed object is keyed by its JSON text in its own key order and
    checked from that text, so the cached schema shares nothing with the caller's object."""

    def __init__(self, capacity: int = 128, max_bytes: int = 32 << 20) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, Limits, str], tuple[Schema, int, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def load(self, raw: str | bytes | dict[str, Any] | bool, limits: Limits | None = None,
             registry: SchemaRegistry | None = None) -> Schema:
        """``load_schema(raw, limits, registry)``, from the cache when the same text was checked before."""
        limits = limits or Limits()
        if isinstance(raw, bytes):
            text: str | bytes = raw
        elif isinstance(raw, str):
            text = raw
        else:
            try:
                text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                return load_schema(raw, limits, registry)  # refused there, with the reason
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        key = (hashlib.sha256(data).hexdigest(), limits, registry.fingerprint if registry is not None else "")
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
        if found is not None:
            schema, _, digest = found
            if _state(schema) == digest:
                with self._lock:
                    self.hits += 1
                return schema
            log.warning("a cached schema (hash %s) was changed after it was checked; checking it afresh",
                        schema.hash[:12])
            with self._lock:
                if self._entries.get(key) is found:
                    del self._entries[key]
                    self._bytes -= found[1]
        schema = load_schema(text, limits, registry)
        size = len(schema.canonical)
        with self._lock:
            self.misses += 1
            if size <= self.max_bytes and key not in self._entries:
                self._entries[key] = (schema, size, _state(schema))
                self._bytes += size
                while len(self._entries) > self.capacity or self._bytes > self.max_bytes:
                    _, (_, dropped, _) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return schema


def _state(schema: Schema) -> str:
    """A digest of the documents a schema holds (``SchemaCache`` checks they did not change)."""
    text = json.dumps([schema.document, schema.source], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


SCHEMAS = SchemaCache()
"""The process's schema cache (``Structurer.load_schema``)."""


def cached_load_schema(raw: str | bytes | dict[str, Any] | bool, limits: Limits | None = None,
                       registry: SchemaRegistry | None = None) -> Schema:
    """``load_schema`` through the process's :data:`SCHEMAS` cache."""
    return SCHEMAS.load(raw, limits, registry)
