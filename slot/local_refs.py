"""Every local reference of a schema rewritten as a plain JSON Pointer of its root document (issue 27, point 3).

The grammar engine, closed objects, grounding, training targets and finish mode all follow ``$ref`` as a JSON
Pointer from the root (``slot.leaves.resolve_ref``). Real schemas also reference through an ``$id`` that changes
the base URI inside the document, through an ``$anchor`` (or a draft-7 ``"$id": "#name"``), and through
``$dynamicRef``/``$recursiveRef``. :func:`localize` resolves each of them *inside the document* the way the
draft says and hands back a copy in which every reference is ``#/...`` of the root; post-validation keeps the
document as given (``slot.schema.Schema.source``). Nothing is ever fetched: a reference to a URI that no
``$id`` of the document names is refused (:class:`RemoteReferenceError`). ``slot.schema_registry`` serves such
references from the operator's local schema registry: a :class:`Walker` collects them, the parts of the registry
documents they reach are embedded under ``$defs`` with their ``$id``, and ``localize`` (given the other URIs
they were named by as ``aliases``) rewrites them like any reference inside the document.

A ``$dynamicRef`` (``$recursiveRef``) is rewritten only where its target cannot depend on the dynamic scope:
when the initial target is no dynamic anchor at all, when one schema resource of the document defines that
dynamic anchor (recursive anchor), or when the root resource defines it and has an ``$id`` (the root is the
outermost scope of every evaluation; without an ``$id`` jsonschema leaves it out of the dynamic scope, so
post-validation would disagree). Otherwise the copy leaves it out (the grammar is relaxed there) and the
keyword is listed in ``Localized.relaxed``: post-validation checks it, and the enforcement says so.

A ``$ref`` with sibling constraint keywords inside a reference cycle is rewritten too (llguidance refuses
"circular references with sibling keys"): from draft 2019-09 on the reference becomes one more ``allOf`` branch
holding the target's own keywords, its subschemas referenced by pointer (the same constraint, without a
reference beside siblings); up to draft 7 the siblings are dropped, as the draft says they are ignored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping
from urllib.parse import quote, unquote, urljoin

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.graph import strongly_connected
from slot.leaves import escape_token, split_pointer
from slot.schema_tree import LIST_KEYWORDS, MAP_KEYWORDS, ONE_KEYWORDS, subschemas

DIALECTS = ("2020-12", "2019-09", "draft7", "draft6", "draft4")
"""The drafts :func:`localize` knows, by short name."""

INERT = frozenset({
    "title", "description", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly", "$schema",
    "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary", "$defs", "definitions",
    "markdownDescription", "markdownEnumDescriptions", "enumDescriptions", "deprecationMessage", "errorMessage",
    "defaultSnippets", "doNotSuggest",
})
"""Keywords beside a ``$ref`` that constrain nothing (they make no "sibling" for the cycle rewrite)."""

_IDENTIFIERS = ("$anchor", "$dynamicAnchor", "$recursiveAnchor")
_POINTER_SAFE = "/~!$&'()*+,;=:@-._"
REGISTRY_HINT = ("SLOT never fetches remote schemas: copy the schema under $defs, or put it in the local schema "
                 "registry (setting schema_registry_dir, env SLOT_SCHEMA_REGISTRY_DIR)")
"""How a refusal of a reference outside the document ends: the two ways to serve it."""


class RemoteReferenceError(UnsupportedSchemaError):
    """A reference to a URI no ``$id`` of the document names (``slot.schema_registry`` may hold it)."""


@dataclass(frozen=True)
class Localized:
    """The pointer-only copy of a schema and what it leaves to post-validation."""

    document: Any
    """Every reference a ``#/...`` pointer of this document (the given document itself when none needed it)."""
    relaxed: tuple[str, ...] = ()
    """Keywords the copy leaves out where their target depends on the dynamic scope (``$dynamicRef``)."""
    relaxed_paths: tuple[str, ...] = ()
    """JSON Pointers of the keywords left out."""


@dataclass
class _Index:
    """Schema resources (by base URI), anchors and the base URI of every node of one document."""

    resources: dict[str, str] = field(default_factory=dict)
    anchors: dict[tuple[str, str], str] = field(default_factory=dict)
    dynamic: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """$dynamicAnchor name -> (resource URI, pointer) of each node defining it."""
    recursive: list[str] = field(default_factory=list)
    """Pointers of the resource roots with ``$recursiveAnchor: true``."""
    bases: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Any] = field(default_factory=dict)
    """Pointer -> node, for every node of the subschema tree."""
    nested_ids: list[str] = field(default_factory=list)
    """Pointers of the subschemas whose ``$id`` starts a new base URI or names an anchor."""


def localize(document: Any, dialect: str = "2020-12", *, aliases: Mapping[str, str] | None = None,
             roots: Collection[str] = ()) -> Localized:
    """The document with every local reference a root JSON Pointer (see the module docstring).

    For documents a registry embedded (``slot.schema_registry``): ``aliases`` maps more URIs (no fragment) to the
    URI of a schema resource of the document (a reference to an alias means that resource), and the ``$id`` of
    each node at a pointer of ``roots`` always sets the base URI, even beside a draft-7 ``$ref`` (it stands for
    the URI the document was retrieved by). Raises UnsupportedSchemaError for a reference outside the document
    and SchemaError for one that points nowhere inside it, both naming the keyword and its JSON Pointer."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    if not isinstance(document, dict):
        return Localized(document)
    index = _index(document, dialect, roots)
    rewriter = _Rewriter(document, dialect, index, aliases=aliases, roots=roots)
    rewriter.run()
    rewriter.break_sibling_cycles()
    if not rewriter.edits and not index.nested_ids and not rewriter.strip_all:
        return Localized(document)
    return Localized(rewriter.apply(), tuple(sorted(set(rewriter.relaxed))), tuple(rewriter.relaxed_paths))


@dataclass(frozen=True)
class External:
    """A reference, reachable from where a walk started, to a document outside this one."""

    resource: str
    """The URI of the document referenced (resolved against the base URI there, no fragment)."""
    fragment: str
    """The reference's fragment as written (%-encoded), '' for none."""
    keyword: str
    reference: str
    """The reference as written."""
    pointer: str
    """JSON Pointer of the node holding the reference."""

    @property
    def uri(self) -> str:
        """The absolute reference: resource and fragment."""
        return f"{self.resource}#{self.fragment}" if self.fragment else self.resource


class Walker:
    """The walk of :func:`localize` over one document from chosen nodes, collecting the references to other
    documents instead of refusing them (``slot.schema_registry`` bundles what they name). ``roots`` as for
    ``localize``."""

    def __init__(self, document: Any, dialect: str = "2020-12", *, roots: Collection[str] = ()) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}")
        self.document = document
        self._rewriter = (_Rewriter(document, dialect, _index(document, dialect, roots), roots=roots, collect=True)
                          if isinstance(document, dict) else None)

    @property
    def resources(self) -> set[str]:
        """The URIs of the schema resources the document holds (the root's base URI, ``""`` without ``$id``,
        and each ``$id``): references to these stay inside it."""
        return set(self._rewriter.index.resources) if self._rewriter else {""}

    @property
    def seen(self) -> set[str]:
        """JSON Pointers of every node the walks reached (subschemas of the starts and reference targets)."""
        return set(self._rewriter.seen) if self._rewriter else {""}

    def walk(self, starts: Collection[str] = ("",)) -> list[External]:
        """Walk from these JSON Pointers; the references outside the document met for the first time. Raises as
        ``localize`` does for a reference that points nowhere inside the document."""
        if self._rewriter is None:
            return []
        before = len(self._rewriter.external)
        self._rewriter.run(starts)
        return self._rewriter.external[before:]

    def target(self, reference: str, *, keyword: str = "$ref", at: str = "") -> str:
        """The JSON Pointer an absolute reference into this document points to (SchemaError naming ``at`` and
        ``keyword`` when it points nowhere here)."""
        if self._rewriter is None:
            if reference.partition("#")[2] in ("", "/"):
                return ""
            raise SchemaError(f"{keyword} {reference!r} does not resolve: the document is a boolean schema",
                              path=f"{at}/{keyword}", keyword=keyword)
        try:
            return self._rewriter.resolve(reference, "", keyword, at)
        except _Outside:
            self._rewriter.external.pop()
            raise SchemaError(f"{keyword} {reference!r} does not resolve inside the document",
                              path=f"{at}/{keyword}", keyword=keyword) from None


def external_references(document: Any, dialect: str = "2020-12") -> list[External]:
    """Every reference :func:`localize` would refuse as outside the document, in the order it meets them
    (the same walk: the root's subschemas and every reference target, transitively)."""
    return Walker(document, dialect).walk()


class _Outside(Exception):
    """A reference outside the document while a :class:`Walker` collects them."""


def join_uri(base: str, reference: str) -> str:
    """``reference`` resolved against ``base`` (a fragment alone keeps the base, whatever its scheme): how every
    ``$id`` and reference is resolved, here and in ``slot.schema_registry``."""
    return base.partition("#")[0] + reference if reference.startswith("#") else urljoin(base, reference)


def identifier_keyword(dialect: str) -> str:
    """The keyword that names a schema resource in this draft: ``id`` in draft 4, ``$id`` after."""
    return "id" if dialect == "draft4" else "$id"


def _legacy(dialect: str) -> bool:
    return dialect in ("draft7", "draft6", "draft4")


def identifier_of(node: dict[str, Any], dialect: str, root: bool = False) -> str | None:
    """The node's ``$id`` (``id`` in draft 4), or None; up to draft 7 an ``$id`` beside ``$ref`` is ignored
    (unless the node is the ``root`` of an embedded document, see ``localize``)."""
    value = node.get(identifier_keyword(dialect))
    if not isinstance(value, str) or (_legacy(dialect) and "$ref" in node and not root):
        return None
    return value


def _index(document: dict[str, Any], dialect: str, roots: Collection[str] = ()) -> _Index:
    """Walk the subschema tree once: resources, anchors and each node's base URI."""
    index = _Index()
    stack: list[tuple[Any, str, str]] = [(document, "", "")]
    while stack:
        node, pointer, base = stack.pop()
        index.nodes[pointer] = node
        if not isinstance(node, dict):
            index.bases[pointer] = base
            continue
        identifier = identifier_of(node, dialect, pointer in roots)
        if identifier is not None:
            resource, _, fragment = join_uri(base, identifier).partition("#")
            if not identifier.startswith("#"):
                base = resource
                index.resources.setdefault(resource, pointer)
            if _legacy(dialect) and fragment:  # draft 4-7: "$id": "#name" names a plain anchor
                index.anchors.setdefault((base, unquote(fragment)), pointer)
            if pointer and (not identifier.startswith("#") or _legacy(dialect) and fragment):
                index.nested_ids.append(pointer)
        if pointer == "":
            index.resources.setdefault(base, "")
        if not _legacy(dialect):
            anchor = node.get("$anchor")
            if isinstance(anchor, str):
                index.anchors.setdefault((base, anchor), pointer)
            dynamic = node.get("$dynamicAnchor")
            if dialect == "2020-12" and isinstance(dynamic, str):
                index.anchors.setdefault((base, dynamic), pointer)
                index.dynamic.setdefault(dynamic, []).append((base, pointer))
            if dialect == "2019-09" and node.get("$recursiveAnchor") is True and index.resources.get(base) == pointer:
                index.recursive.append(pointer)
        index.bases[pointer] = base
        for sub, sub_path in subschemas(node, pointer):
            stack.append((sub, sub_path, base))
    return index


def lookup(document: Any, pointer: str) -> Any:
    """The value at a JSON Pointer (unescaped tokens); LookupError when it points nowhere."""
    node = document
    for token in split_pointer(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise LookupError(pointer)
    return node


def pointer_ref(pointer: str) -> str:
    """A ``$ref`` to a root JSON Pointer, %-encoded where a URI fragment needs it."""
    return "#" + quote(pointer, safe=_POINTER_SAFE)


class _Rewriter:
    """Resolves every reference of one document and collects the edits that make the pointer-only copy."""

    def __init__(self, document: dict[str, Any], dialect: str, index: _Index, *,
                 aliases: Mapping[str, str] | None = None, roots: Collection[str] = (), collect: bool = False) -> None:
        self.document = document
        self.dialect = dialect
        self.index = index
        self.aliases = dict(aliases or {})
        self.roots = frozenset(roots)
        self.seen: set[str] = set()
        self.collect = collect
        """Record references outside the document in ``external`` (and walk on) instead of refusing them."""
        self.external: list[External] = []
        self.edits: list[tuple[int, str, str, Any]] = []
        """(order, pointer, what, value): applied to a copy in order."""
        self.targets: dict[str, str] = {}
        """Pointer of each node with a reference -> pointer of its (static) target."""
        self.walked: list[str] = []
        self.children: dict[str, list[str]] = {}
        self.relaxed: list[str] = []
        self.relaxed_paths: list[str] = []
        self.strip_all = False

    # -- resolving -----------------------------------------------------------------------------------------

    def base_of(self, pointer: str) -> str:
        """The base URI at a node (nodes outside the subschema tree: every ``$id`` on the way applies)."""
        if pointer in self.index.bases:
            return self.index.bases[pointer]
        base, node, at = self.index.bases.get("", ""), self.document, ""
        for token in split_pointer(pointer):
            at += "/" + escape_token(token)
            node = node.get(token) if isinstance(node, dict) else (
                node[int(token)] if isinstance(node, list) and token.isdigit() and int(token) < len(node) else None)
            if isinstance(node, dict):
                identifier = identifier_of(node, self.dialect, at in self.roots)
                if identifier is not None and not identifier.startswith("#"):
                    base = join_uri(base, identifier).partition("#")[0]
        return base

    def resolve(self, reference: str, base: str, keyword: str, at: str) -> str:
        """The root JSON Pointer a reference points to."""
        resource, _, fragment = join_uri(base, reference).partition("#")
        resource = self.aliases.get(resource, resource)
        if resource not in self.index.resources:
            if self.collect:
                self.external.append(External(resource, fragment, keyword, reference, at))
                raise _Outside(resource)
            raise RemoteReferenceError(
                f"only local references are allowed: {keyword} {reference!r} points to {resource!r}, which no $id of "
                f"this schema names; {REGISTRY_HINT}", path=f"{at}/{keyword}", keyword=keyword)
        start = self.index.resources[resource]
        fragment = unquote(fragment)
        if fragment and not fragment.startswith("/"):
            found = self.index.anchors.get((resource, fragment))
            if found is None:
                raise SchemaError(f"{keyword} {reference!r} does not resolve inside the schema (no anchor "
                                  f"{fragment!r} in {resource or 'the document'})", path=f"{at}/{keyword}",
                                  keyword=keyword)
            return found
        pointer = start + fragment
        try:
            lookup(self.document, pointer)
        except (LookupError, ValueError):
            raise SchemaError(f"{keyword} {reference!r} does not resolve inside the schema", path=f"{at}/{keyword}",
                              keyword=keyword) from None
        return pointer

    def run(self, starts: Collection[str] = ("",)) -> None:
        """Resolve the references of every node reachable from the root (or ``starts``): subschemas and
        reference targets."""
        todo, seen = list(starts)[::-1], self.seen
        while todo:
            pointer = todo.pop()
            if pointer in seen:
                continue
            seen.add(pointer)
            node = self.index.nodes[pointer] if pointer in self.index.nodes else lookup(self.document, pointer)
            if not isinstance(node, dict):
                continue
            self.walked.append(pointer)
            base = self.base_of(pointer)
            reference = node.get("$ref")
            target: str | None = None
            if isinstance(reference, str):
                try:
                    target = self.resolve(reference, base, "$ref", pointer)
                except _Outside:
                    pass  # collected (external_references)
            if isinstance(reference, str) and target is not None:
                self.targets[pointer] = target
                root_relative = self.index.resources.get(base.partition("#")[0]) == ""
                if not (root_relative and (reference == "#" or reference.startswith("#/"))):
                    self.edits.append((0, pointer, "$ref", pointer_ref(target)))
                todo.append(target)
            for keyword in ("$dynamicRef", "$recursiveRef"):
                if keyword in node:
                    try:
                        target = self.dynamic(node, keyword, base, pointer)
                    except _Outside:
                        target = None  # collected (external_references)
                    if target is not None:
                        todo.append(target)
            if any(key in node for key in _IDENTIFIERS[1:]):
                self.strip_all = True  # llguidance knows no dynamic or recursive anchors
            kids = [sub_path for _, sub_path in subschemas(node, pointer)]
            self.children[pointer] = kids
            todo.extend(kids)

    def dynamic(self, node: dict[str, Any], keyword: str, base: str, pointer: str) -> str | None:
        """Resolve a ``$dynamicRef``/``$recursiveRef`` statically where that is sound; the target, or None."""
        value = node[keyword]
        wanted = "2020-12" if keyword == "$dynamicRef" else "2019-09"
        if self.dialect != wanted:
            raise UnsupportedSchemaError(f"{keyword} belongs to JSON Schema {wanted}; this schema's $schema is "
                                         f"{self.dialect}", path=f"{pointer}/{keyword}", keyword=keyword)
        if not isinstance(value, str):
            raise SchemaError(f"{keyword} must be a string", path=f"{pointer}/{keyword}", keyword=keyword)
        if keyword == "$recursiveRef":
            target = self.resolve("#", base, keyword, pointer)
            start = lookup(self.document, target)
            dynamic = isinstance(start, dict) and start.get("$recursiveAnchor") is True
            sound = not dynamic or len(self.index.recursive) == 1
        else:
            target = self.resolve(value, base, keyword, pointer)
            name = unquote(join_uri(base, value).partition("#")[2])
            definers = self.index.dynamic.get(name, [])
            dynamic = bool(name) and not name.startswith("/") and any(at == target for _, at in definers)
            sound = not dynamic or len(definers) == 1
            outermost = [at for uri, at in definers if uri and self.index.resources.get(uri) == ""]
            if dynamic and outermost:  # the root resource is the outermost scope of every evaluation
                target, sound = outermost[0], True
        self.strip_all = True
        if sound:
            self.targets.setdefault(pointer, target)
            self.edits.append((1, pointer, keyword, pointer_ref(target)))
            return target
        self.relaxed.append(keyword)
        self.relaxed_paths.append(f"{pointer}/{keyword}")
        self.edits.append((1, pointer, keyword, None))
        return None

    # -- reference cycles with sibling keywords ------------------------------------------------------------

    def break_sibling_cycles(self) -> None:
        """Rewrite each reference with sibling constraints that lies on a cycle of references (see the module)."""
        candidates = [p for p in self.targets if self._siblings(lookup(self.document, p))]
        if not candidates:
            return
        component = _components(self.walked, self.children, self.targets)
        circular = [p for p in candidates if component.get(p) is not None
                    and component.get(p) == component.get(self.targets[p])]
        for pointer in circular:
            node = lookup(self.document, pointer)
            if _legacy(self.dialect):
                siblings = self._siblings(node)
                prefixes = [f"{pointer}/{escape_token(k)}" for k in siblings]
                inside = [t for t in self.targets.values() if any(t == p or t.startswith(f"{p}/") for p in prefixes)]
                if not inside:  # a reference into a dropped sibling would dangle: leave the node as it is
                    self.edits.append((2, pointer, "drop", siblings))
            else:
                self.edits.append((2, pointer, "inline", self._shallow(self.targets[pointer], set())))

    def _siblings(self, node: Any) -> list[str]:
        if not isinstance(node, dict):
            return []
        return [k for k in node if k not in INERT and not k.startswith("x-")
                and k not in ("$ref", "$dynamicRef", "$recursiveRef")]

    def _shallow(self, pointer: str, seen: set[str]) -> Any:
        """The keywords of the node at ``pointer``, its subschemas as references to where they are."""
        node = lookup(self.document, pointer)
        if not isinstance(node, dict):
            return node

        def child(sub: Any, path: str) -> Any:
            return sub if isinstance(sub, bool) else {"$ref": pointer_ref(path)}

        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in INERT or key.startswith("x-") or key in ("$ref", "$dynamicRef", "$recursiveRef"):
                continue
            if key in MAP_KEYWORDS and isinstance(value, dict) or key == "dependencies" and isinstance(value, dict):
                out[key] = {name: child(sub, f"{pointer}/{key}/{escape_token(name)}")
                            if isinstance(sub, (dict, bool)) else copy.deepcopy(sub) for name, sub in value.items()}
            elif key in LIST_KEYWORDS and isinstance(value, list):
                out[key] = [child(sub, f"{pointer}/{key}/{i}") for i, sub in enumerate(value)]
            elif key in ONE_KEYWORDS and isinstance(value, (dict, bool)):
                out[key] = child(value, f"{pointer}/{key}")
            else:
                out[key] = copy.deepcopy(value)
        target = self.targets.get(pointer)
        if target is not None and pointer not in seen:
            out["allOf"] = [*out.get("allOf", []), self._shallow(target, seen | {pointer})]
        return out

    # -- the copy --------------------------------------------------------------------------------------------

    def apply(self) -> dict[str, Any]:
        """The pointer-only copy: the edits applied to a deep copy, then identifiers that could mislead removed."""
        out = copy.deepcopy(self.document)
        for _, pointer, what, value in sorted(self.edits, key=lambda e: e[0]):
            node = lookup(out, pointer)
            if what == "$ref":
                node["$ref"] = value
            elif what in ("$dynamicRef", "$recursiveRef"):
                del node[what]
                if value is not None and "$ref" in node:
                    node["allOf"] = [*node.get("allOf", []), {"$ref": value}]
                elif value is not None:
                    node["$ref"] = value
            elif what == "drop":
                for key in value:
                    node.pop(key, None)
            elif what == "inline":
                node.pop("$ref", None)
                node["allOf"] = [*node.get("allOf", []), value]
        id_keyword = identifier_keyword(self.dialect)
        for pointer in self.walked:
            try:
                node = lookup(out, pointer)
            except LookupError:
                continue  # inside siblings dropped beside a $ref (draft 7 and older)
            if not isinstance(node, dict):
                continue
            if pointer and isinstance(node.get(id_keyword), str):
                del node[id_keyword]
            for key in _IDENTIFIERS:
                node.pop(key, None)
        return out


def _components(nodes: list[str], children: dict[str, list[str]], targets: dict[str, str]) -> dict[str, int]:
    """Strongly connected components of the graph of subschemas and references (``slot.graph``)."""
    return strongly_connected({n: children.get(n, []) + ([targets[n]] if n in targets else []) for n in nodes})
