"""Train/validation/test assignment by schema identity.

The split of an example is a pure function of its canonical schema (sha256 of sorted-key JSON), so
no schema ever appears in two splits, every shard agrees without coordination, and a merge keeps
the assignment. Exact-duplicate texts are removed globally before writing (filters.Deduper), so no
text is shared across splits either.
"""

from __future__ import annotations

import hashlib
from typing import Any

from data_synthesis.filters import canonical_json

SPLITS: tuple[str, ...] = ("train", "validation", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.9, 0.05, 0.05)


def schema_id(schema: dict[str, Any] | str) -> str:
    """A stable identity for a schema: sha256 of its canonical JSON (first 16 hex digits)."""
    text = schema if isinstance(schema, str) else canonical_json(schema)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def split_for(schema: dict[str, Any] | str, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> str:
    """The split of every example that uses this schema."""
    u = int(schema_id(schema)[:12], 16) / float(16**12)
    if u < fractions[0]:
        return "train"
    if u < fractions[0] + fractions[1]:
        return "validation"
    return "test"
