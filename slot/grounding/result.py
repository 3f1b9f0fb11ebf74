"""Result types of grounding: per-leaf evidence, the summary, and the policy's error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Status", "FieldEvidence", "Grounding", "UngroundedValuesError"]

Status = Literal["grounded", "inferred", "ungrounded"]
"""``grounded``: the value is in the text verbatim or after a normalisation users expect (case,
whitespace, punctuation, unicode, number and date formats, yes/no, enum synonyms from the schema).
``inferred``: the text supports the value only through inference (a boolean implied by wording, a
fuzzy token overlap, a rating whose scale is implied). ``ungrounded``: no support was found."""


@dataclass(frozen=True, slots=True)
class FieldEvidence:
    """Evidence for one leaf: its JSON Pointer, value, status and ``[start, end)`` spans in the text."""

    path: str
    value: Any
    status: Status
    spans: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"path", "status", "spans": [[s, e], ...]}`` (the value is the caller's, not repeated)."""
        return {"path": self.path, "status": self.status, "spans": [[s, e] for s, e in self.spans]}


@dataclass(frozen=True, slots=True)
class Grounding:
    """Evidence for every non-null leaf of one result plus a summary.

    ``score`` is the share of reported leaves that are grounded or inferred (1.0 when none are
    reported). Null leaves, empty strings and empty containers carry no claim about the text, so
    they are not reported at all (neither in ``fields`` nor in ``score``).
    """

    fields: list[FieldEvidence]
    score: float
    ungrounded_paths: list[str]

    @classmethod
    def from_fields(cls, fields: list[FieldEvidence]) -> Grounding:
        """Build the summary (score, ungrounded paths) from per-leaf evidence."""
        ungrounded = [f.path for f in fields if f.status == "ungrounded"]
        score = 1.0 if not fields else (len(fields) - len(ungrounded)) / len(fields)
        return cls(fields=fields, score=score, ungrounded_paths=ungrounded)

    def without(self, paths: list[str]) -> Grounding:
        """This evidence less the leaves at or under ``paths`` (values SLOT wrote itself, not the model from the
        text: finish mode's filled values)."""
        if not paths:
            return self
        kept = [f for f in self.fields if not any(f.path == p or f.path.startswith(p + "/") for p in paths)]
        return Grounding.from_fields(kept)

    def by_path(self) -> dict[str, FieldEvidence]:
        """Evidence keyed by JSON Pointer."""
        return {f.path: f for f in self.fields}

    def to_dict(self) -> dict[str, Any]:
        """The wire form used by the CLI batch output, the SDK and the proto message."""
        return {
            "fields": [f.to_dict() for f in self.fields],
            "score": self.score,
            "ungrounded_paths": list(self.ungrounded_paths),
        }


class UngroundedValuesError(ValueError):
    """Raised by the ``fail`` policy: some values have no support in the input text."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = list(paths)
        shown = ", ".join(repr(p) for p in self.paths)
        super().__init__(f"{len(self.paths)} value(s) not grounded in the input text: {shown}")
