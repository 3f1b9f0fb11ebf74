"""What to do with ungrounded values: keep them, null them where the schema allows, or fail."""

from __future__ import annotations

import copy
from typing import Any, Literal

from slot.grounding.result import Grounding, UngroundedValuesError
from slot.grounding.schema_paths import allows_null
from slot.leaves import set_at

__all__ = ["Policy", "apply_policy"]

Policy = Literal["keep", "null", "fail"]


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
        set_at(out, pointer, None)
    return out
