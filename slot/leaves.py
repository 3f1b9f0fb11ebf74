"""Leaf values of a JSON document keyed by their JSON Pointer (RFC 6901).

One source of truth for leaf paths: the evaluation metrics (content similarity, exact match) and
grounding both flatten documents with :func:`iter_leaves`, so a path means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["escape_token", "unescape_token", "join_pointer", "split_pointer", "field_path", "set_at", "remove_at",
           "resolve_ref", "iter_leaves", "leaf_map"]


def escape_token(token: str | int) -> str:
    """Escape one reference token: ``~`` -> ``~0`` then ``/`` -> ``~1`` (the order matters)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    """Undo :func:`escape_token`: ``~1`` -> ``/`` then ``~0`` -> ``~``."""
    return token.replace("~1", "/").replace("~0", "~")


def join_pointer(parent: str, token: str | int) -> str:
    """The pointer of child ``token`` under pointer ``parent`` (``""`` is the root)."""
    return f"{parent}/{escape_token(token)}"


def split_pointer(pointer: str) -> list[str]:
    """Reference tokens of a pointer, unescaped; ``""`` (the root) gives ``[]``."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON Pointer must be empty or start with '/': {pointer!r}")
    return [unescape_token(t) for t in pointer[1:].split("/")]


def field_path(pointer: str) -> str:
    """The pointer with every list index written ``*``, so all items of a list report as one field."""
    return "/".join("*" if token.isdigit() else token for token in pointer.split("/"))


def _parent(document: Any, pointer: str) -> tuple[Any, str]:
    """The container holding the value at ``pointer`` (which must exist, not the root) and its last token."""
    tokens = split_pointer(pointer)
    node = document
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, tokens[-1]


def set_at(document: Any, pointer: str, value: Any) -> None:
    """Replace the value at ``pointer`` (which must exist, not the root) inside ``document``, in place."""
    node, last = _parent(document, pointer)
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def remove_at(document: Any, pointer: str) -> None:
    """Remove the object member at ``pointer`` inside ``document``, in place (list items stay: removing one
    would shift the pointers of the others)."""
    node, last = _parent(document, pointer)
    if isinstance(node, dict):
        node.pop(last, None)


def resolve_ref(document: Any, ref: str) -> Any:
    """The node a local ``$ref`` (``#`` or ``#/a/b``, %-encoded or not) points to inside ``document``.

    The one resolver of schema references (schema checks, the prompt's key order, grounding); raises
    LookupError when the reference is not a local JSON Pointer or points nowhere.
    """
    from urllib.parse import unquote

    if not ref.startswith("#"):
        raise LookupError(f"not a local reference: {ref!r}")
    try:
        tokens = split_pointer(unquote(ref[1:]))
    except ValueError as exc:
        raise LookupError(f"not a JSON Pointer reference: {ref!r}") from exc
    node = document
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise LookupError(f"{ref!r} points nowhere")
    return node


def iter_leaves(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(pointer, value)`` for every leaf of ``obj`` in document order.

    Leaves are scalars (str, int, float, bool, None) and empty containers (``[]``, ``{}``), so an
    empty list or object is still visible to metrics. A scalar root has the pointer ``""``.
    """
    if isinstance(obj, dict):
        if not obj:
            yield prefix, obj
            return
        for key, value in obj.items():
            yield from iter_leaves(value, join_pointer(prefix, key))
    elif isinstance(obj, (list, tuple)):
        if not obj:
            yield prefix, obj
            return
        for index, value in enumerate(obj):
            yield from iter_leaves(value, join_pointer(prefix, index))
    else:
        yield prefix, obj


def leaf_map(obj: Any) -> dict[str, Any]:
    """``{pointer: value}`` for every leaf of ``obj`` (see :func:`iter_leaves`)."""
    return dict(iter_leaves(obj))
