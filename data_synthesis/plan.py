"""The schema plan: a typed tree that carries what a bare JSON Schema lacks (labels, aliases, units,
value generators), shared by instance generation and text rendering.

A plan is built either by the synthetic schema generator or from an external schema (external.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class Node:
    """One schema position. kind is "object", "array" or "leaf"."""

    key: str
    words: str
    kind: str
    gen: str = ""
    aliases: tuple[str, ...] = ()
    unit: str = ""
    desc: str = ""
    required: bool = True
    nullable: bool = False
    children: list[Node] = field(default_factory=list)
    item: Node | None = None
    min_items: int = 1
    max_items: int = 3
    type_name: str = ""  # for objects: a reusable type name ($defs candidate)
    leaf_schema: dict[str, Any] = field(default_factory=dict)  # leaf: type/format/enum/range
    present_prob: float = 0.65  # chance an optional field is present in an instance
    null_prob: float = 0.35  # chance a nullable field is null

    def leaves(self) -> Iterator[Node]:
        """All leaf nodes below (and including) this node."""
        if self.kind == "leaf":
            yield self
        elif self.kind == "object":
            for c in self.children:
                yield from c.leaves()
        elif self.item is not None:
            yield from self.item.leaves()

    def depth(self) -> int:
        if self.kind == "object":
            return 1 + max((c.depth() for c in self.children), default=0)
        if self.kind == "array" and self.item is not None:
            return 1 + self.item.depth()
        return 0


def _esc(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def iter_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (JSON Pointer, value) for every scalar in a JSON value ("/items/0/price")."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from iter_leaves(v, f"{path}/{_esc(k)}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_leaves(v, f"{path}/{i}")
    else:
        yield path, value


def join_path(path: str, key: str | int) -> str:
    """JSON Pointer (RFC 6901) of child `key` under `path`; the same convention as slot.leaves."""
    return f"{path}/{_esc(key)}"
