"""What to do with ungrounded values: keep them, null them where the schema allows, or fail."""

from __future__ import annotations

import copy
from typing import Any, Literal

from slot.grounding.result import Grounding, UngroundedValuesError
from slot.grounding.schema_paths import allows_null
from slot.leaves import split_pointer

__all__ = ["Policy", "apply_policy"]

Policy = Literal["keep", "null", "fail"]


def _set_at(doc: Any, pointer: str, value: Any) -> None:
    tokens = split_pointer(pointer)
    node = doc
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    last = tokens[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def apply_policy(data: Any, grounding: Grounding, schema: dict[str, Any] | None,
                 policy: Policy = "keep") -> Any:
    """Apply ``policy`` to ``data`` (never modified in place).

    ``keep`` returns ``data`` unchanged; ``null`` returns a copy where each ungrounded value is
    replaced by ``None`` if the schema accepts null at its path (values elsewhere are kept, so the
    result stays schema-valid); ``fail`` raises :class:`UngroundedValuesError` listing the paths.
    """
    if policy == "keep":
        return data
    if policy == "fail":
        if grounding.ungrounded_paths:
            raise UngroundedValuesError(grounding.ungrounded_paths)
        return data
    if policy != "null":
        raise ValueError(f"unknown grounding policy {policy!r}; expected keep, null or fail")
    nullable = [p for p in grounding.ungrounded_paths if p and allows_null(schema, p)]
    if not nullable:
        return data
    out = copy.deepcopy(data)
    for pointer in nullable:
        _set_at(out, pointer, None)
    return out
