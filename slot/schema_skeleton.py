"""The last compact level of the prompt's schema: its skeleton, cut to a depth (issue 27).

A schema whose compact rendering (``slot.prompt.compact_schema``) takes too much of the prompt even without
descriptions is written as its *skeleton*: every subschema above depth ``D`` as the compact rendering has it,
each subschema at depth ``D`` replaced by a *stub* that keeps only what is cheap and says what the value is
(``STUB_KEYWORDS``: its type and a scalar constant, its reference when the skeleton has the target), and nothing
below. The prompt then shows the top of the structure, the part an output starts with; the grammar always gets
the full schema, so outputs stay valid and only the model's view of the lower levels is lost.

Depth is counted as a reader follows the schema: the root is at 0, each subschema keyword (``properties``,
``items``, ``anyOf``, ...) adds one, and a reference adds nothing. The schemas a reference reaches in the root's
``$defs``/``definitions`` (or in another root keyword that only holds referenced schemas, as Vega's ``defs``)
are *entries*: an entry sits at the depth of the shallowest reference that reaches it (depth 0 when the root is
itself a reference, as many SchemaStore schemas are), and an entry that only stubs reach (at ``D``) is left out:
such a stub takes the type of the reference's target in place of the reference (``{"type": "boolean"}`` rather
than a reference plus an entry that says as much). A reference whose target the skeleton no longer has (a
pointer into a subtree that was cut) is dropped, so the skeleton is a self-consistent schema text.
"""

from __future__ import annotations

import heapq
from typing import Any, Callable, Iterator
from urllib.parse import unquote

from slot.leaves import escape_token, resolve_ref, split_pointer
from slot.schema_tree import LIST_KEYWORDS, MAP_KEYWORDS, ONE_KEYWORDS

__all__ = ["CONTAINERS", "STUB_KEYWORDS", "SchemaSkeleton", "skeleton_schema"]

CONTAINERS = ("$defs", "definitions")
"""The keywords whose schemas are placed by reference, not where they are written."""

STUB_KEYWORDS = ("type", "const")
"""What a stub keeps of a subschema at the cut: its type and a scalar constant (a discriminator such as
``kind``), else those of its reference's target; its ``$ref`` too when the target is in the skeleton (the entry's
name says what it is). A subschema with none of them becomes ``{}``."""

REFERENCE_HOPS = 8
"""How many references a stub follows to find a type (a chain of references, or a cycle, ends there)."""

VALUE_KEYWORDS = frozenset({"const", "enum", "default", "examples", "dependentRequired", "required"})
"""Keywords whose value is data, kept as it is in a subschema above the cut (``const`` may be an object)."""

_STRUCTURE = frozenset(MAP_KEYWORDS + ONE_KEYWORDS + LIST_KEYWORDS + ("dependencies",)) - frozenset(CONTAINERS)
"""The keywords whose subschemas the skeleton walks where they are written."""

Path = tuple[str, ...]
"""Where an entry is: the JSON Pointer tokens of its schema, from the root."""


class SchemaSkeleton:
    """The skeletons of one schema document (a compact rendering; references all ``#/...`` pointers, as in
    ``Schema.document``). The references between the root and the entries are read once, so rendering several
    depths (``render``) walks only what each keeps. ``drop`` names the keywords no rendered subschema keeps
    (the prompt's noise: a region only references reach was not compacted)."""

    def __init__(self, document: Any, drop: Callable[[str], bool] = lambda key: False) -> None:
        self.document = document
        self._drop = drop
        self.containers = frozenset(
            key for key, value in (document.items() if isinstance(document, dict) else ())
            if isinstance(value, dict) and (key in CONTAINERS or (key not in _STRUCTURE and key not in VALUE_KEYWORDS
                                                                   and not drop(key))))
        """The root keywords holding entries: ``$defs``, ``definitions`` and any other that holds no data."""
        self._entries: dict[Path, Any] = {}
        self._edges: dict[Path, dict[Path, int]] = {}
        """For the root (``()``) and each entry: the entries its references reach, at their shallowest offset."""
        self._heights: dict[Path, int] = {}
        """For the root and each entry: the offset of its deepest subschema."""
        pending: list[tuple[Path, Any]] = [((), document)]
        while pending:
            path, tree = pending.pop()
            self._edges[path], self._heights[path] = self._walk(tree)
            for target in self._edges[path]:
                if target not in self._entries:
                    self._entries[target] = resolve_ref(document, _pointer(target))
                    pending.append((target, self._entries[target]))
        self._order = {path: at for at, path in enumerate(sorted(self._entries))}
        self.height = max(depth + self._heights[path] for path, depth in self.depths(None).items())
        """The deepest depth any subschema takes: cut at ``height + 1`` nothing is stubbed."""

    def depths(self, limit: int | None) -> dict[Path, int]:
        """The depth of the root (``()``: 0) and of each entry a reference above depth ``limit`` reaches (None: any
        depth): the shallowest such reference's depth (Dijkstra over the references)."""
        best: dict[Path, int] = {(): 0}
        queue: list[tuple[int, int, Path]] = [(0, -1, ())]
        while queue:
            depth, _, path = heapq.heappop(queue)
            if best[path] < depth:
                continue
            for target, offset in self._edges[path].items():
                reached = depth + offset
                if (limit is None or reached < limit) and reached < best.get(target, reached + 1):
                    best[target] = reached
                    heapq.heappush(queue, (reached, self._order[target], target))
        return best

    def render(self, depth: int) -> Any:
        """The skeleton cut at ``depth`` (at least 1: the root always keeps its own keywords)."""
        depth = max(1, depth)
        if not isinstance(self.document, dict):
            return self.document
        reached = self.depths(depth)
        out = self._cut(self.document, 0, depth, reached)
        placed = [out]
        for path in sorted((p for p in reached if p), key=lambda p: (len(p), p)):  # an entry before those inside it
            parent = out
            for token in path[:-1]:
                parent = parent.setdefault(token, {})
                if not isinstance(parent, dict):
                    break
            else:
                parent[path[-1]] = self._cut(self._entries[path], reached[path], depth, reached)
                placed.append(parent[path[-1]])
        for tree in placed:
            self._drop_dangling(out, tree)
        return out

    def _entry_of(self, ref: str) -> Path | None:
        """The entry a reference points to or into: its pointer down to the schema that holds the target (past
        containers and the groups that only hold schemas, up to the first keyword with subschemas), if it starts
        at a container of the root."""
        try:
            tokens = split_pointer(unquote(ref[1:])) if ref.startswith("#") else []
        except ValueError:
            return None
        if len(tokens) < 2 or tokens[0] not in self.containers:
            return None
        node: Any = self.document
        for at, token in enumerate(tokens):
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
            if at and at + 1 < len(tokens) and tokens[at + 1] in _STRUCTURE:
                break
        return tuple(tokens[:at + 1]) if isinstance(node, (dict, bool)) else None

    def _children(self, node: dict[str, Any]) -> Iterator[Any]:
        """The subschemas the skeleton writes where they are (those of containers are entries)."""
        for key, value in node.items():
            if key not in _STRUCTURE:
                continue
            if key in MAP_KEYWORDS or key == "dependencies":
                if isinstance(value, dict):
                    yield from value.values()
            elif isinstance(value, list) and key in LIST_KEYWORDS:
                yield from value
            elif isinstance(value, (dict, bool)) and key in ONE_KEYWORDS:
                yield value

    def _walk(self, tree: Any) -> tuple[dict[Path, int], int]:
        """The entries a tree's references reach at their shallowest offset, and its height."""
        edges: dict[Path, int] = {}
        height = 0
        stack: list[tuple[Any, int]] = [(tree, 0)]
        while stack:
            node, offset = stack.pop()
            if not isinstance(node, dict):
                continue
            height = max(height, offset)
            ref = node.get("$ref")
            target = self._entry_of(ref) if isinstance(ref, str) else None
            if target is not None and offset < edges.get(target, offset + 1):
                edges[target] = offset
            stack.extend((child, offset + 1) for child in self._children(node))
        return edges, height

    def _cut(self, node: Any, depth: int, limit: int, reached: dict[Path, int]) -> Any:
        """A copy of ``node`` (at ``depth``) with its subschemas at ``limit`` stubbed and nothing below; no
        container, no dropped keyword, no other keyword holding an object that is not data. ``reached``: the
        entries the skeleton has."""
        if not isinstance(node, dict):
            return node
        if depth >= limit:
            return self._stub(node, reached)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in CONTAINERS or self._drop(key):
                continue
            if key in _STRUCTURE and isinstance(value, dict) and (key in MAP_KEYWORDS or key == "dependencies"):
                out[key] = {name: self._cut(sub, depth + 1, limit, reached) for name, sub in value.items()}
            elif key in ONE_KEYWORDS and isinstance(value, (dict, bool)):
                out[key] = self._cut(value, depth + 1, limit, reached)
            elif key in LIST_KEYWORDS and isinstance(value, list):
                out[key] = [self._cut(sub, depth + 1, limit, reached) for sub in value]
            elif not isinstance(value, dict) or key in VALUE_KEYWORDS:
                out[key] = value
        return out

    def _stub(self, node: dict[str, Any], reached: dict[Path, int]) -> dict[str, Any]:
        """A subschema at the cut: its type and scalar constant, else its reference's target's (followed while
        the target is an entry the skeleton leaves out); the reference itself when the skeleton has its target."""
        out: dict[str, Any] = {}
        current: Any = node
        for _ in range(REFERENCE_HOPS):
            if not isinstance(current, dict):
                break
            out.update({k: current[k] for k in STUB_KEYWORDS if k in current and k not in out and _cheap(current[k])})
            ref = current.get("$ref")
            if not isinstance(ref, str) or "type" in out:
                break
            target = self._entry_of(ref)
            if target is None or target in reached:
                out["$ref"] = ref  # the skeleton has it (or it is no entry: the root, a pointer into the tree)
                break
            try:
                current = resolve_ref(self.document, ref)
            except LookupError:
                break
        return out

    def _drop_dangling(self, document: dict[str, Any], tree: Any) -> None:
        """Remove the references of one placed tree that point to nothing the skeleton has (into a cut subtree)."""
        stack: list[Any] = [tree]
        while stack:
            node = stack.pop()
            if not isinstance(node, dict):
                continue
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    resolve_ref(document, ref)
                except LookupError:
                    del node["$ref"]
            stack.extend(self._children(node))


def skeleton_schema(document: Any, depth: int) -> Any:
    """The skeleton of ``document`` cut at ``depth`` (see the module's docstring); ``document`` is left as is."""
    return SchemaSkeleton(document).render(depth)


def _cheap(value: Any) -> bool:
    """Whether a stub keeps a keyword's value: a scalar, or a list of them (a type list)."""
    return not isinstance(value, dict) and (not isinstance(value, list) or
                                            all(not isinstance(v, (dict, list)) for v in value))


def _pointer(path: Path) -> str:
    """The ``#/...`` reference of an entry's path."""
    return "#/" + "/".join(escape_token(token) for token in path)
