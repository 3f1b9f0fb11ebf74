"""``ground()``: find the evidence for every leaf value of a result in its source text.

Order of checks per leaf (first hit wins): booleans and yes/no strings by polarity; numbers by
value; strings verbatim after normalisation, then enum synonyms from the schema description, then
as a date / date-time, then as a number, then as a rating, then by fuzzy token overlap
(``inferred``). Everything derived from the text (normalised text, tokens, numbers, dates) is
built at most once per call.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from slot.grounding.booleans import bool_of_string, ground_boolean, key_tokens
from slot.grounding.dates import DateIndex, parse_date_value
from slot.grounding.fuzzy import StemIndex, ground_overlap, ground_rating
from slot.grounding.numbers import NumberIndex, parse_number_string, to_decimal
from slot.grounding.result import FieldEvidence, Grounding, Status
from slot.grounding.schema_paths import enum_synonyms, schema_hint, subschemas_at
from slot.grounding.text_index import TextIndex, tokenize
from slot.leaves import iter_leaves, split_pointer

__all__ = ["ground", "has_claim"]

_MAX_SPANS = 8


def has_claim(value: Any) -> bool:
    """Whether a leaf claims something about the text (null, "" and empty containers do not)."""
    return not (value is None or value == "" or value == [] or value == {})


class _Grounder:
    """Per-request state: the text index and the lazily built number / date / stem indices."""

    def __init__(self, text: str, schema: dict[str, Any] | None) -> None:
        self.index = TextIndex(text)
        self.schema = schema if isinstance(schema, dict) else None

    @cached_property
    def numbers(self) -> NumberIndex:
        return NumberIndex(self.index)

    @cached_property
    def dates(self) -> DateIndex:
        return DateIndex(self.index)

    @cached_property
    def stems(self) -> StemIndex:
        return StemIndex(self.index)

    def leaf(self, path: str, value: Any) -> FieldEvidence:
        status, spans = self._status(path, value)
        return FieldEvidence(path=path, value=value, status=status, spans=spans[:_MAX_SPANS])

    def _status(self, path: str, value: Any) -> tuple[Status, list[tuple[int, int]]]:
        if isinstance(value, bool):
            return ground_boolean(self.index, self.stems, _key_of(path), value)  # type: ignore[return-value]
        if isinstance(value, (int, float)):
            d = to_decimal(value)
            spans = self.numbers.find({d}) if d is not None else []
            return ("grounded", spans) if spans else ("ungrounded", [])
        if isinstance(value, str):
            return self._string(path, value)
        return "ungrounded", []  # not a JSON leaf

    def _string(self, path: str, value: str) -> tuple[Status, list[tuple[int, int]]]:
        as_bool = bool_of_string(value)
        if as_bool is not None:
            return ground_boolean(self.index, self.stems, _key_of(path), as_bool)  # type: ignore[return-value]
        tokens = tokenize(value)
        if not tokens:  # only punctuation: a literal, case-insensitive search
            pos = self.index.text.lower().find(value.lower())
            return ("grounded", [(pos, pos + len(value))]) if pos >= 0 else ("ungrounded", [])
        spans = self.index.find_spans(tokens, limit=_MAX_SPANS)
        if spans:
            return "grounded", spans
        if self.schema is not None:
            schemas = subschemas_at(self.schema, path)
            hint = schema_hint(schemas)
            if value in (hint.get("enum") or []):
                for synonym in enum_synonyms(schemas, value):
                    spans += self.index.find_spans(tokenize(synonym), limit=_MAX_SPANS)
                if spans:
                    return "grounded", sorted(set(spans))
        if any(c.isdigit() for c in value) or value.lower() in {"noon", "midnight"}:
            parsed = parse_date_value(value)
            if parsed is not None:
                dates, clock = parsed
                spans, complete = self.dates.find(dates, clock)
                if complete:
                    return "grounded", spans
                midnight = clock is not None and (clock.hour, clock.minute, clock.second) == (0, 0, 0)
                return ("inferred", spans) if spans and midnight else ("ungrounded", [])
        numbers = parse_number_string(value)
        if numbers:
            spans = self.numbers.find(numbers)
            return ("grounded", spans) if spans else ("ungrounded", [])
        rating = ground_rating(self.index, value)
        if rating is not None:  # a rating is decided by its own rules, not by word overlap
            return rating  # type: ignore[return-value]
        overlap = ground_overlap(self.index, self.stems, tokens)
        if overlap:
            return "inferred", overlap
        return "ungrounded", []


def _key_of(path: str) -> list[str]:
    """Content words of the nearest named (non-index) segment of a path."""
    for token in reversed(split_pointer(path)):
        if not token.isdigit():
            return key_tokens(token)
    return []


def ground(data: Any, text: str, schema: dict[str, Any] | None = None) -> Grounding:
    """Evidence in ``text`` for every leaf of ``data`` that makes a claim (see ``has_claim``).

    Spans are ``[start, end)`` character offsets into the original ``text``. ``schema`` is
    optional; it lends enum synonyms (from each field's description) and nothing else.
    """
    grounder = _Grounder(text, schema)
    fields = [grounder.leaf(path, value) for path, value in iter_leaves(data) if has_claim(value)]
    return Grounding.from_fields(fields)
