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
- ``$ref`` caught in llguidance's "circular references with sibling keys": llguidance compiles a node holding an
  applicator (``$ref``, ``anyOf``, ``oneOf``, ``allOf``, ``enum``, ``const``) as the intersection of it with
  what is beside it, and an intersection that reaches a reference whose target is still being compiled (one on
  the same cycle of references) fails. First, keys it does not know (``x-taplo``, any word the draft's
  validator does not read), which it takes for sibling constraints, are removed: that changes nothing the
  schema means, so nothing is named. Where it still fails, the nodes on a cycle of references (as the engine
  follows them) whose intersection reaches into their own cycle keep one part that does (the ``$ref``, else
  the ``anyOf``/``oneOf``, else the first such ``allOf`` branch, else the sibling constraints), and the rest is
  dropped: sibling constraint keywords (each named), other applicators (named), other ``allOf`` branches
  (replaced by ``{}``, ``allOf`` named). Up to draft 7 a ``$ref`` makes its siblings ignored by validators, so
  there they are removed unnamed. The whole document is the probe here (a cycle fails only in its context): a
  named drop the document compiles without is put back, one at a time, up to ``MAX_RESTORES``. (A ``$ref``
  beside constraints whose own target is on its cycle is rewritten exactly by ``slot.local_refs`` first.)

A probe failing as "Unsatisfiable schema" is no limit of the engine but a schema that admits no value there: it is
left for the compile to refuse. ``format`` needs no rewrite: the lenient compile only warns on formats it lacks.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import unquote

from slot.graph import strongly_connected
from slot.leaves import escape_token, resolve_ref
from slot.schema import DEFAULT_DRAFT, DIALECTS, DRAFTS
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
_APPLICATORS = ("$ref", "anyOf", "oneOf", "allOf", "enum", "const")
"""llguidance's in-place applicators: each is intersected with what its node holds beside it."""
_ENGINE_SKIPS = frozenset({"$anchor", "$defs", "definitions", "$schema", "$id", "id", "$comment", "title",
                           "description", "default", "readOnly", "writeOnly", "examples", "contentMediaType",
                           "contentEncoding"})
"""Keys llguidance's JSON compiler passes over; any other key beside an applicator is intersected with it."""
_COMPILED = frozenset({"properties", "patternProperties", "additionalProperties", "items", "prefixItems",
                       "additionalItems", "anyOf", "oneOf", "allOf"})
"""Keywords whose subschemas llguidance compiles (with ``$ref``, the edges of its cycles of references)."""
MAX_RESTORES = 32
"""Drops on a cycle of references tried back one at a time (each a compile of the whole document)."""

Probe = Callable[[dict[str, Any]], bool]
"""Whether the engine fails on a small schema (or, for cycles of references, the whole document) for a limit of its
own (not because the schema admits nothing)."""


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
    draft = DRAFTS.get(str(result.document.get("$schema", "")).rstrip("#"), DEFAULT_DRAFT)
    known = frozenset(draft.VALIDATORS)
    protected = _referenced(result.document)

    def rewrite_nodes(names: set[str]) -> None:
        for node, path in _nodes(result.document):
            if names & COUNTS:
                _counts(node, result)
            if names & NUMERIC:
                _numbers(node, probes, result)
            if "pattern" in names:
                _pattern(node, probes, result)
            if "patternProperties" in names:
                _pattern_properties(node, probes, result)
            if "$ref" in names:
                _unknown_keys(node, path, known, protected, result)

    rewrite_nodes(keywords)
    if "$ref" in keywords:
        legacy = DIALECTS.get(draft) in ("draft7", "draft6", "draft4")
        _cycle_siblings(result, fails, known, protected, legacy,
                        lambda: rewrite_nodes(set(REWRITABLE - {"$ref"})))
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


@dataclass
class _Drop:
    """One part of a node left out of the grammar's document: keys (the sibling constraints together, or one
    applicator), or one ``allOf`` branch (``index``, replaced by ``{}`` so later branches keep their pointers)."""

    node: dict[str, Any]
    values: dict[str, Any]
    index: int | None = None
    named: tuple[str, ...] = ()
    """The keywords it names as dropped (none where no validator reads them)."""
    restored: bool = False

    def undo(self) -> None:
        for key, value in self.values.items():
            if self.index is None:
                self.node[key] = value
            else:
                self.node[key][self.index] = value

    def redo(self) -> None:
        for key in self.values:
            if self.index is None:
                self.node.pop(key, None)
            else:
                self.node[key][self.index] = {}


def _cycle_siblings(result: Rewrite, fails: Probe, known: frozenset[str], protected: set[str],
                    legacy: bool, rewrite_others: Callable[[], None]) -> None:
    """Where llguidance still fails on a cycle of references, drop at each node on a cycle whose intersection
    reaches into it all but one part (see the module); named drops the document compiles without go back. Where
    the document still fails after the drops, the other rewrites run on every node first (a regex the engine
    cannot take hides behind the cycle: web-types), so that the drops are judged on a document it compiles."""
    document = result.document
    graph = _Graph(document)
    drops: list[_Drop] = []
    for node_id, (node, path) in graph.nodes.items():
        component = graph.component.get(node_id)
        if component is not None:
            drops += _site(node, path, graph, component, known, protected, legacy)
    if not drops:
        return
    for drop in reversed(drops):  # the document as it was: does it still fail at all?
        drop.undo()
    if not fails(document):
        return  # removing unknown keys was enough
    for drop in drops:
        drop.redo()
    if fails(document):
        rewrite_others()
    if not fails(document):
        for drop in [drop for drop in drops if drop.named][:MAX_RESTORES]:
            drop.undo()
            drop.restored = not fails(document)
            if not drop.restored:
                drop.redo()
    kept = [drop for drop in drops if not drop.restored]
    for drop in kept:
        result.dropped.update(drop.named)
    result.changed = result.changed or bool(kept)


def _site(node: dict[str, Any], path: str, graph: "_Graph", component: int, known: frozenset[str],
          protected: set[str], legacy: bool) -> list[_Drop]:
    """The drops at one node on a cycle: none unless it intersects two parts or more and one reaches its cycle."""
    siblings = [k for k in node if k not in _APPLICATORS and k not in _ENGINE_SKIPS]
    parts: list[tuple[str, int | None, list[Any]]] = []  # (key or "" for the siblings, allOf index, subschemas)
    if siblings:
        parts.append(("", None, [sub for key in siblings if key in _COMPILED
                                 for sub, _ in subschemas({key: node[key]})]))
    for key in _APPLICATORS:
        if key not in node:
            continue
        if key == "$ref":
            parts.append((key, None, [graph.target(node)]))
        elif key == "allOf" and isinstance(node[key], list):
            parts += [(key, i, [branch]) for i, branch in enumerate(node[key]) if not _is_any(branch)]
        elif key in ("anyOf", "oneOf") and isinstance(node[key], list):
            parts.append((key, None, list(node[key])))
        else:
            parts.append((key, None, []))
    if len(parts) < 2:
        return []
    cyclic = [part for part in parts if graph.reaches(part[2], component)]
    if not cyclic:
        return []
    ref = [part for part in parts if part[0] == "$ref"]
    if legacy and ref:
        keep, named = ref[0], False  # up to draft 7 the siblings of $ref are ignored: nothing to name
    else:
        order = {"$ref": 0, "anyOf": 1, "oneOf": 2, "allOf": 3, "": 4}
        keep, named = min(cyclic, key=lambda part: (order.get(part[0], 5), part[1] or 0)), True
    drops: list[_Drop] = []
    for key, index, _ in parts:
        if (key, index) == keep[:2]:
            continue
        if key == "":  # the sibling constraints go (and come back) together: additionalProperties needs properties
            values = {k: node[k] for k in siblings if k not in _KEPT and f"{path}/{escape_token(k)}" not in protected}
            if values:
                drops.append(_Drop(node, values, named=tuple(sorted(k for k in values if named and k in known))))
        elif index is not None:
            if f"{path}/{key}/{index}" not in protected:
                drops.append(_Drop(node, {key: node[key][index]}, index, (key,) if named else ()))
        elif f"{path}/{escape_token(key)}" not in protected:
            drops.append(_Drop(node, {key: node[key]}, named=(key,) if named else ()))
    for drop in drops:
        drop.redo()
    return drops


def _is_any(schema: Any) -> bool:
    """Whether llguidance compiles a subschema to "any value" (``true``, ``{}``, annotations only)."""
    return schema is True or isinstance(schema, dict) and all(key in _ENGINE_SKIPS for key in schema)


class _Graph:
    """The schema objects llguidance compiles from the root (through ``_COMPILED`` keywords and local references),
    by ``id``, and the strongly connected component of each that lies on a cycle (None for the others)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.nodes: dict[int, tuple[dict[str, Any], str]] = {}
        self.edges: dict[int, list[int]] = {}
        stack: list[tuple[Any, str]] = [(document, "")]
        while stack:
            node, path = stack.pop()
            if not isinstance(node, dict) or id(node) in self.nodes:
                continue
            self.nodes[id(node)] = (node, path)
            children = [(sub, sub_path) for sub, sub_path in subschemas(node, path)
                        if isinstance(sub, dict) and sub_path[len(path) + 1:].split("/", 1)[0] in _COMPILED]
            target = self.target(node)
            if target is not None:
                children.append((target, unquote(node["$ref"][1:])))
            self.edges[id(node)] = [id(sub) for sub, _ in children]
            stack.extend(reversed(children))
        self.component = _cyclic_components(self.edges)
        self._reaching: dict[int, set[int]] = {}

    def target(self, node: dict[str, Any]) -> Any:
        """The schema object a local ``$ref`` of the node points to (None for none)."""
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        try:
            target = resolve_ref(self.document, ref)
        except LookupError:
            return None
        return target if isinstance(target, dict) else None

    def reaches(self, starts: list[Any], component: int) -> bool:
        """Whether the engine, compiling any of these subschemas, comes to a node of the component."""
        if component not in self._reaching:
            reverse: dict[int, list[int]] = {}
            for source, targets in self.edges.items():
                for target in targets:
                    reverse.setdefault(target, []).append(source)
            seen = {n for n, c in self.component.items() if c == component}
            stack = list(seen)
            while stack:
                for source in reverse.get(stack.pop(), []):
                    if source not in seen:
                        seen.add(source)
                        stack.append(source)
            self._reaching[component] = seen
        return any(isinstance(s, dict) and id(s) in self._reaching[component] for s in starts)


def _cyclic_components(edges: dict[int, list[int]]) -> dict[int, int | None]:
    """Each node's strongly connected component (its first node's number) where it lies on a cycle, else None."""
    component = strongly_connected(edges)
    sizes = Counter(component.values())
    return {node: number if sizes[number] > 1 or node in edges.get(node, ()) else None
            for node, number in component.items()}


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
