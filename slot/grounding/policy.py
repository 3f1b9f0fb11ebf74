"""What to do with ungrounded values: keep them, leave optional ones out, null them where the schema allows,
or fail."""

from __future__ import annotations

import copy
from typing import Any, Literal

from slot.grounding.result import Grounding, UngroundedValuesError
from slot.grounding.schema_paths import allows_null, subschemas_at
from slot.leaves import remove_at, set_at, split_pointer

__all__ = ["GROUNDING_POLICIES", "Policy", "is_optional", "apply_policy"]

Policy = Literal["keep", "omit", "null", "fail"]
GROUNDING_POLICIES = ("keep", "omit", "null", "fail", "extract")
"""Every policy a request may name: keep, omit (optional keys), null or fail ungrounded values (``Policy``,
applied here), or ``extract``: the structurer decodes once more with the ungrounded free-text leaves constrained
to word spans of the text (slot.extractive), then keeps."""


def is_optional(schema: dict[str, Any] | None, pointer: str) -> bool:
    """Whether the leaf at ``pointer`` is an object property no subschema of its parent requires (so the key
    may be left out); False for array items, the root and paths the schema does not describe."""
    if not pointer:
        return False
    parent, _, _ = pointer.rpartition("/")
    key = split_pointer(pointer)[-1]
    parents = subschemas_at(schema, parent)
    return bool(parents) and any(key in (p.get("properties") or {}) for p in parents) and \
        all(key not in (p.get("required") or []) for p in parents)


def apply_policy(data: Any, grounding: Grounding, schema: dict[str, Any] | None,
                 policy: Policy = "keep") -> Any:
    """Apply ``policy`` to ``data`` (never modified in place).

    ``keep`` returns ``data`` unchanged; ``omit`` returns a copy without each ungrounded value whose key
    the schema does not require (a request rarely states every optional argument, and a small model fills
    the gaps with values it learnt: leaving them out is what the text supports); ``null`` returns a copy where each ungrounded value is
    replaced by ``None`` if the schema accepts null at its path (values elsewhere are kept, so the
    result stays schema-valid); ``fail`` raises :class:`UngroundedValuesError` listing the paths.
    """
    if policy == "keep":
        return data
    if policy == "fail":
        if grounding.ungrounded_paths:
            raise UngroundedValuesError(grounding.ungrounded_paths)
        return data
    if policy == "omit":
        optional = [p for p in grounding.ungrounded_paths if is_optional(schema, p)]
        if not optional:
            return data
        out = copy.deepcopy(data)
        for pointer in sorted(optional, key=lambda p: len(split_pointer(p)), reverse=True):
            remove_at(out, pointer)
        return out
    if policy != "null":
        raise ValueError(f"unknown grounding policy {policy!r}; expected keep, omit, null or fail")
    nullable = [p for p in grounding.ungrounded_paths if p and allows_null(schema, p)]
    if not nullable:
        return data
    out = copy.deepcopy(data)
    for pointer in nullable:
        set_at(out, pointer, None)
    return out
