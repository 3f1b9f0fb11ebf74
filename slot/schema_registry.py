"""A local schema registry: the documents that schemas reference by URI, served from a directory (issue 27).

SLOT never fetches anything remote. An operator who wants references to other documents served (SchemaStore
schemas reference each other: ``"$ref": "base.json#/definitions/path"`` inside a schema whose ``$id`` is
``https://json.schemastore.org/...``) names a directory of JSON Schema files with the setting
``schema_registry_dir`` (env ``SLOT_SCHEMA_REGISTRY_DIR``). The directory is read once per process, at start
(``Structurer.from_settings``; the ``slot schema`` and ``slot structure`` commands when they check a schema),
through :func:`registry_for`; each ``*.json`` file below it is indexed by

- its path relative to the directory (``base.json``, ``sub/x.json``): what a relative reference names from a
  document without a base URI (a schema with no ``$id``);
- its ``$id`` (``id`` in draft 4), fragment dropped, resolved against that path when relative.

A path names one file; when two files claim the same ``$id``, the first in path order keeps it (``conflicts``
lists the others). On the SchemaStore corpus this resolves 77 of the 112 schemas refused for a remote reference
(``$id`` alone: 67; file names under the ``https://json.schemastore.org/`` base URL add none).

:func:`bundle` makes the working document: the parts of the registry documents the schema reaches (what its
references point to, and what those parts reference, transitively, cycles included) embedded under the root's
``$defs``, each keyed and identified (``$id``) by its URI, with the tree around the parts it needs pruned away.
``slot.local_refs.localize`` then rewrites every reference into a ``#/...`` pointer, so the grammar, closed objects,
prompt, grounding and targets follow them as local ones. Post-validation checks the document as given with a
``referencing`` registry that retrieves these documents from this registry (:meth:`SchemaRegistry.referencing`):
nothing is ever fetched from the network, and an unknown URI stays unresolved.

The official meta-schemas of the drafts SLOT reads (draft 4, 6, 7, 2019-09 and 2020-12, with the 2019-09 and
2020-12 vocabulary documents) are always known: they ship inside the installed ``jsonschema_specifications``
package (a dependency of jsonschema), so serving them is offline and exact. :meth:`SchemaRegistry.builtin` holds
them alone: what :func:`registry_for` gives when ``schema_registry_dir`` is empty, and what ``load_schema`` uses
without a registry. :meth:`SchemaRegistry.load` adds them to an operator's directory; their URIs always name the
official text (post-validation resolves them from ``jsonschema_specifications`` whatever the directory holds, so
a file claiming one of them is listed in ``conflicts``, and the grammar and post-validation agree).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import escape_token, split_pointer
from slot.local_refs import (REGISTRY_HINT, External, RemoteReferenceError, Walker, identifier_keyword, identifier_of,
                             join_uri)
from slot.schema_drafts import DRAFTS, check_meta_schema, draft_of

log = logging.getLogger(__name__)

SETTING = "schema_registry_dir (env SLOT_SCHEMA_REGISTRY_DIR)"
"""The setting that names the registry directory, as refusals name it."""


@dataclass(frozen=True)
class RegistryDocument:
    """One file of the registry."""

    path: str
    """Its path relative to the registry directory (POSIX separators); a built-in meta-schema's is its URI."""
    uri: str
    """The URI it is embedded under: its ``$id`` when the index gives that ``$id`` to it, else ``path``."""
    raw: bytes
    sha256: str
    builtin: bool = False
    """An official meta-schema (``jsonschema_specifications``), not a file of the directory."""


@dataclass
class _Checked:
    """A parsed registry document and the outcome of its meta-schema check (done once)."""

    contents: Any = None
    checked: bool = False
    error: SchemaError | None = None


class SchemaRegistry:
    """The documents of one registry directory, read once; immutable after loading (parsed documents are
    shared: nothing here or in the bundles built from them mutates them)."""

    def __init__(self, directory: str | Path, documents: Iterable[RegistryDocument] = (),
                 index: dict[str, int] | None = None, *, skipped: Iterable[str] = (),
                 conflicts: Iterable[str] = ()) -> None:
        self.directory = str(directory)
        """The operator's directory; empty for :meth:`builtin` (the meta-schemas alone)."""
        self.documents: tuple[RegistryDocument, ...] = tuple(documents)
        self._index: dict[str, int] = dict(index or {})
        self.skipped: tuple[str, ...] = tuple(skipped)
        """Files left out, each 'path: why' (not UTF-8 JSON)."""
        self.conflicts: tuple[str, ...] = tuple(conflicts)
        """Files whose ``$id`` another file (earlier in path order) already names, each 'path: $id'."""
        digest = hashlib.sha256()
        for key in sorted(self._index):
            digest.update(f"{key}\0{self.documents[self._index[key]].sha256}\n".encode("utf-8"))
        self.fingerprint = digest.hexdigest()
        """sha256 over every URI and the content it names: equal fingerprints serve equal bundles."""
        self._lock = threading.Lock()
        self._parsed: dict[int, _Checked] = {}
        self._referencing: dict[str, Any] = {}

    @classmethod
    def load(cls, directory: str | Path) -> "SchemaRegistry":
        """Read and index every ``*.json`` file below ``directory`` (ValueError when it is not a directory)."""
        root = Path(directory).expanduser()
        if not root.is_dir():
            raise ValueError(f"schema registry {str(directory)!r} is not a directory ({SETTING})")
        files = sorted(p for p in root.rglob("*.json") if p.is_file())
        documents: list[RegistryDocument] = []
        identifiers: list[str | None] = []
        skipped: list[str] = []
        for path in files:
            name = path.relative_to(root).as_posix()
            raw = path.read_bytes()
            try:
                document = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                skipped.append(f"{name}: not UTF-8 JSON ({type(exc).__name__})")
                continue
            documents.append(RegistryDocument(name, name, raw, hashlib.sha256(raw).hexdigest()))
            identifiers.append(_document_id(document, name))
        index = {doc.path: number for number, doc in enumerate(documents)}
        for meta in _meta_schemas():  # before the files' $ids: a file claiming a meta-schema's URI is a conflict
            index[meta.uri] = len(documents)
            documents.append(meta)
        conflicts: list[str] = []
        for number, identifier in enumerate(identifiers):
            if not identifier or index.get(identifier) == number:
                continue
            if identifier in index:
                conflicts.append(f"{documents[number].path}: {identifier}")
                continue
            index[identifier] = number
            documents[number] = RegistryDocument(documents[number].path, identifier, documents[number].raw,
                                                 documents[number].sha256)
        registry = cls(root, documents, index, skipped=skipped, conflicts=conflicts)
        log.info("schema registry %s: %d documents (and the %d meta-schemas), %d URIs, %d files skipped, "
                 "%d $id conflicts", root, len(identifiers), len(documents) - len(identifiers), len(index),
                 len(skipped), len(conflicts))
        for line in skipped:
            log.warning("schema registry: skipped %s", line)
        return registry

    @classmethod
    def builtin(cls) -> "SchemaRegistry":
        """The registry of the official meta-schemas alone (no directory), made once per process."""
        global _BUILTIN
        with _LOADING:
            if _BUILTIN is None:
                documents = _meta_schemas()
                _BUILTIN = cls("", documents, {doc.uri: number for number, doc in enumerate(documents)})
            return _BUILTIN

    def __len__(self) -> int:
        """The number of documents read from the directory (the built-in meta-schemas not counted)."""
        return sum(not document.builtin for document in self.documents)

    def uris(self) -> list[str]:
        """Every URI the registry answers, sorted."""
        return sorted(self._index)

    def lookup(self, uri: str) -> RegistryDocument | None:
        """The document a URI (no fragment) names, or None."""
        number = self._index.get(uri.partition("#")[0])
        return None if number is None else self.documents[number]

    def contents(self, document: RegistryDocument) -> Any:
        """The parsed document (shared: read it, never change it)."""
        return self._entry(document).contents

    def checked(self, document: RegistryDocument) -> Any:
        """The parsed document, valid against its meta-schema (its ``$schema``, Draft 2020-12 without one);
        SchemaError naming the document otherwise. Checked once."""
        entry = self._entry(document)
        if not entry.checked:
            try:
                if not isinstance(entry.contents, (dict, bool)):
                    raise SchemaError(f"a schema must be a JSON object or boolean, got {type(entry.contents).__name__}")
                check_meta_schema(entry.contents, draft_of(entry.contents))
            except SchemaError as exc:
                entry.error = type(exc)(f"registry document {document.path} ({document.uri}): {exc.message}",
                                        path=exc.path, keyword=exc.keyword)
            entry.checked = True
        if entry.error is not None:
            raise entry.error
        return entry.contents

    def _entry(self, document: RegistryDocument) -> _Checked:
        number = self._index[document.path]
        with self._lock:
            entry = self._parsed.get(number)
            if entry is None:
                entry = self._parsed[number] = _Checked(json.loads(document.raw.decode("utf-8-sig")))
            return entry

    def referencing(self, validator_class: type) -> Any:
        """A ``referencing`` registry for post-validation: the draft meta-schemas, and every document of this
        registry retrieved by its URIs (read from memory: nothing is fetched; an unknown URI raises
        ``NoSuchResource``). Documents without ``$schema`` are read as ``validator_class``'s draft."""
        import referencing
        import referencing.exceptions
        import referencing.jsonschema
        from jsonschema_specifications import REGISTRY as META_SCHEMAS

        dialect = validator_class.META_SCHEMA.get("$schema", "")
        with self._lock:
            found = self._referencing.get(dialect)
        if found is not None:
            return found
        default = referencing.jsonschema.specification_with(dialect)

        def retrieve(uri: str) -> Any:
            document = self.lookup(uri)
            if document is None:
                raise referencing.exceptions.NoSuchResource(ref=uri)
            contents = self.contents(document)
            if _document_id(contents, document.path) not in (None, document.uri):  # it lost its $id to another file
                contents = {**contents, "$id": document.uri} if "$id" in contents else {**contents, "id": document.uri}
            try:
                return referencing.Resource.from_contents(contents, default_specification=default)
            except (referencing.exceptions.CannotDetermineSpecification, AttributeError, TypeError):
                return default.create_resource(contents)  # a $schema referencing cannot read: the schema's draft

        found = referencing.Registry(retrieve=retrieve).combine(META_SCHEMAS)  # type: ignore[call-arg]
        with self._lock:
            self._referencing[dialect] = found
        return found


def _document_id(document: Any, path: str) -> str | None:
    """The URI a document's ``$id`` (``id`` when it has no ``$id``) names, fragment dropped, or None."""
    if not isinstance(document, dict):
        return None
    value = document.get("$id", document.get("id"))
    if not isinstance(value, str) or not value.partition("#")[0]:
        return None
    return join_uri(path, value).partition("#")[0] or None


def _meta_schemas() -> list[RegistryDocument]:
    """The official meta-schemas of the drafts SLOT reads, from the installed ``jsonschema_specifications`` (never
    fetched), each under its URI; draft 3's is left out (no draft SLOT accepts)."""
    from jsonschema_specifications import REGISTRY as META_SCHEMAS

    documents: list[RegistryDocument] = []
    for uri in sorted(META_SCHEMAS):
        contents = META_SCHEMAS.contents(uri)
        if not isinstance(contents, dict) or str(contents.get("$schema", "")).rstrip("#") not in DRAFTS:
            continue
        raw = json.dumps(contents, ensure_ascii=False).encode("utf-8")
        documents.append(RegistryDocument(uri, uri, raw, hashlib.sha256(raw).hexdigest(), builtin=True))
    return documents


_LOADED: dict[str, SchemaRegistry] = {}
_LOADING = threading.Lock()
_BUILTIN: SchemaRegistry | None = None


def registry_for(settings: Any) -> SchemaRegistry:
    """The registry a server with these settings serves: ``schema_registry_dir`` with the meta-schemas, read once
    per directory and process; the meta-schemas alone (:meth:`SchemaRegistry.builtin`) when the setting is empty."""
    directory = getattr(settings, "schema_registry_dir", "") or ""
    if not directory:
        return SchemaRegistry.builtin()
    key = os.path.abspath(os.path.expanduser(directory))
    with _LOADING:
        found = _LOADED.get(key)
        if found is None:
            found = _LOADED[key] = SchemaRegistry.load(key)
        return found


# ----------------------------------------------------------------------------------------------------------
# bundling
# ----------------------------------------------------------------------------------------------------------

@dataclass
class Bundle:
    """A schema with the registry documents it reaches embedded."""

    document: dict[str, Any]
    """The given document (shared, not copied) with the parts of the registry documents it reaches under
    ``$defs``, keyed and identified by their URIs."""
    aliases: dict[str, str] = field(default_factory=dict)
    """URIs references used -> the URI of the embedded document they name (``localize``)."""
    roots: tuple[str, ...] = ()
    """JSON Pointers of the embedded documents (``localize``)."""
    uris: tuple[str, ...] = ()
    """The URIs of the embedded documents, in embedding order."""


def bundle(document: Any, dialect: str, registry: SchemaRegistry | None) -> Bundle | None:
    """The document with the registry documents its references to other documents name embedded; None when it
    references none. Raises UnsupportedSchemaError for a reference neither the document nor the registry
    resolves (naming the setting), SchemaError for one that points nowhere in a registry document."""
    walker = Walker(document, dialect)
    todo = deque((ref, "") for ref in walker.walk())
    if not todo:
        return None
    local = walker.resources
    embedded: dict[str, tuple[RegistryDocument, Walker]] = {}
    aliases: dict[str, str] = {}
    while todo:
        ref, owner = todo.popleft()
        if ref.resource in local:  # a registry document referencing the schema itself (by its $id)
            continue
        found = registry.lookup(ref.resource) if registry is not None else None
        if found is None or registry is None:
            raise _missing(ref, owner, registry)
        if found.uri != ref.resource:
            aliases[ref.resource] = found.uri
        if found.uri not in embedded:
            prepared = _prepared(registry.checked(found), found.uri, dialect)
            embedded[found.uri] = (found, Walker(prepared, dialect, roots=("",)))
        inside = embedded[found.uri][1]
        try:
            pointer = inside.target(f"{found.uri}#{ref.fragment}", keyword=ref.keyword, at=ref.pointer)
        except SchemaError:
            where = f" in registry document {owner!r}" if owner else ""
            raise SchemaError(f"{ref.keyword} {ref.reference!r}{where} points to {ref.uri!r}, which does not "
                              f"resolve in registry document {found.path}", path=f"{ref.pointer}/{ref.keyword}",
                              keyword=ref.keyword) from None
        todo.extend((new, found.uri) for new in inside.walk([pointer]))
    container = _container(document)
    defs = dict(document.get(container) or {})
    root_base = _root_base(document, dialect)
    roots: list[str] = []
    for uri, (found, inside) in embedded.items():
        if join_uri(root_base, uri).partition("#")[0] != uri:
            raise UnsupportedSchemaError(
                f"registry document {found.path} is named by the relative URI {uri!r}, which cannot be embedded in "
                f"a schema whose base URI is {root_base!r}; give it an absolute $id", keyword="$ref")
        key, number = uri, 1
        while key in defs:
            number += 1
            key = f"{uri} ({number})"
        defs[key] = _pruned(inside.document, inside.seen, dialect)
        roots.append(f"/{container}/{escape_token(key)}")
    return Bundle({**document, container: defs}, aliases, tuple(roots), tuple(embedded))


def _missing(ref: External, owner: str, registry: SchemaRegistry | None) -> RemoteReferenceError:
    where = f" in registry document {owner!r}" if owner else ""
    held = (f"the local schema registry ({registry.directory}) does not hold" if registry is not None and
            registry.directory else "no schema registry is configured")
    return RemoteReferenceError(
        f"only local references are allowed: {ref.keyword} {ref.reference!r}{where} points to {ref.resource!r}, "
        f"which no $id of this schema names and {held}; {REGISTRY_HINT}",
        path=f"{ref.pointer}/{ref.keyword}", keyword=ref.keyword)


def _container(document: dict[str, Any]) -> str:
    """Where the embedded documents go: ``$defs`` (``definitions`` when the root's ``$defs`` is no object)."""
    for name in ("$defs", "definitions"):
        if isinstance(document.get(name, {}), dict):
            return name
    raise SchemaError("$defs and definitions are not objects: no place to embed the registry documents the "
                      "schema references", path="/$defs", keyword="$defs")


def _root_base(document: dict[str, Any], dialect: str) -> str:
    identifier = identifier_of(document, dialect)
    return join_uri("", identifier).partition("#")[0] if identifier else ""


def _prepared(contents: Any, uri: str, dialect: str) -> Any:
    """A registry document as embedded: its identifier (the keyword of the schema's draft) the URI it is
    embedded under, ``$schema`` dropped (the schema's draft reads it; post-validation reads the original)."""
    if not isinstance(contents, dict):
        return contents
    kept = {k: v for k, v in contents.items() if k not in ("$id", "id", "$schema")}
    return {identifier_keyword(dialect): uri, **kept}


def _pruned(document: Any, seen: set[str], dialect: str) -> Any:
    """The parts of ``document`` at the pointers of ``seen`` (each with everything below it) and the path to
    each: objects on the way keep only the members on a path (and their own base URI), lists ``{}`` for the
    other items. Nothing is copied: the parts are the registry's own objects."""
    if not isinstance(document, dict) or "" in seen:
        return document
    kept: set[str] = set()
    for pointer in sorted(seen, key=lambda p: (p.count("/"), p)):
        tokens = pointer.split("/")
        if not any("/".join(tokens[:end]) in kept for end in range(2, len(tokens))):
            kept.add(pointer)
    id_keyword = identifier_keyword(dialect)
    out: dict[str, Any] = {id_keyword: document[id_keyword]}
    made = {id(out)}
    for pointer in sorted(kept):
        tokens = split_pointer(pointer)
        source: Any = document
        target: Any = out
        for token in tokens[:-1]:
            key: Any = int(token) if isinstance(source, list) else token
            child = source[key]
            existing = target[key] if isinstance(target, list) else target.get(key)
            if existing is None or id(existing) not in made:
                existing = _skeleton(child, dialect, id_keyword)
                made.add(id(existing))
                target[key] = existing
            source, target = child, existing
        key = int(tokens[-1]) if isinstance(source, list) else tokens[-1]
        target[key] = source[key]
    return out


def _skeleton(node: Any, dialect: str, id_keyword: str) -> Any:
    """An empty stand-in for a container on the way to a kept part (an object keeps its own base URI)."""
    if isinstance(node, list):
        return [{} for _ in node]
    identifier = identifier_of(node, dialect) if isinstance(node, dict) else None
    return {id_keyword: identifier} if identifier is not None else {}
