"""Key filling: the optional keys a finished answer left out, each opened for the model once, and the values it
writes kept only when they are values of the text the answer does not have yet (issue 25).

A small model leaves optional keys out where the text states them: on SNIPS requests of functions it never saw it
wrote 140 of the gold's values right and left out 200 more that the request words as written ("rate this album four
out of 6 stars" -> only the rating and its unit). Asked for the key, it often writes the text's value. So after a
finished greedy answer, the optional keys of its plain objects that it left out (:func:`gaps`) are each opened for
the model where the grammar takes them (after the last key written before it in the schema's order, or first in its
object), all at once, and each probe is given up as soon as its value is judged (:class:`ValueWatch`). A value is
kept when it is a string of the text or a number, new to the answer, written with confidence of at least
``MIN_CONFIDENCE`` and grounded in the text as written (the structurer checks those two); the kept keys are written
into the answer (:func:`splice`), nothing else changed. The setting ``fill_keys`` bounds the probes per answer.

Only leaves of type string, integer or number (a boolean or an enum the text words otherwise would be a guess); only
objects whose subschema is one plain ``properties`` map (keys in a fixed order: llguidance writes them in the
schema's order)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slot.grounding.schema_paths import subschemas_at
from slot.json_spans import Span, value_spans
from slot.leaves import iter_leaves, join_pointer
from slot.resumption import Piece, Watch, normal

__all__ = ["Fill", "Gap", "ValueWatch", "answer_values", "gaps", "fillable", "may_have_optional_keys", "splice"]

_LEAF_TYPES = {"string", "integer", "number"}


@dataclass(frozen=True)
class Gap:
    """An optional key an object of a finished output left out, and where the grammar takes it."""

    pointer: str
    """The object's pointer."""
    key: str
    cut: int
    """Characters of the output kept when it is resumed: up to the end of the value written before the key, or
    just past the object's ``{``."""
    opener: str
    """What is written after the cut: the key, with a separator before it unless it comes first."""
    place: int = 0
    """The key's place among its object's properties (keys meeting at one cut are written in that order)."""

    @property
    def value_pointer(self) -> str:
        return join_pointer(self.pointer, self.key)


@dataclass(frozen=True)
class Fill:
    """A gap's value as a probe wrote it: the ``[start, end)`` characters of the value in the probe's text."""

    gap: Gap
    source: int
    """Which probe wrote it (an index into the texts :func:`splice`'s pieces name, the answer being 0)."""
    start: int
    end: int


def splice(text: str, fills: list[Fill], values: list[str]) -> list[Piece]:
    """The answer ``text`` with each fill's key and value (``values``: the fills' JSON texts) written in at its gap,
    nothing else changed, as pieces in order (keys meeting at one cut in the schema's order)."""
    pieces: list[Piece] = []
    at = 0
    order = sorted(range(len(fills)), key=lambda n: (fills[n].gap.cut, fills[n].gap.place))
    groups: dict[int, list[int]] = {}
    for n in order:
        groups.setdefault(fills[n].gap.cut, []).append(n)
    for cut, members in groups.items():
        pieces.append(Piece(text[at:cut], 0, at))
        leading = not fills[members[0]].gap.opener.startswith(",")  # first in its object
        for position, n in enumerate(members):
            separator = "," if position or not leading else ""
            pieces.append(Piece(separator + json.dumps(fills[n].gap.key, ensure_ascii=False) + ":", -1, -1))
            pieces.append(Piece(values[n], fills[n].source, fills[n].start))
        if leading and text[cut:].lstrip()[:1] != "}":
            pieces.append(Piece(",", -1, -1))
        at = cut
    pieces.append(Piece(text[at:], 0, at))
    return [piece for piece in pieces if piece.text]


def fillable(schema: Any) -> bool:
    """Whether a property's subschema is a leaf key filling may open: type string, integer or number (null allowed
    beside it), no const, no enum (a value the text words otherwise would be a guess), no combinators."""
    if not isinstance(schema, dict) or any(k in schema for k in ("const", "enum", "$ref", "anyOf", "oneOf", "allOf")):
        return False
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds:
        return False
    return set(kinds) - {"null"} <= _LEAF_TYPES and bool(set(kinds) & _LEAF_TYPES)


def _plain_properties(document: Any, pointer: str) -> tuple[list[str], set[str], dict[str, Any]] | None:
    """(keys in order, required keys, property subschemas) of the object at ``pointer`` when exactly one subschema
    applies there and it is a plain ``properties`` map; None otherwise."""
    schemas = subschemas_at(document, pointer)
    if len(schemas) != 1:
        return None
    properties = schemas[0].get("properties")
    if not isinstance(properties, dict) or any(k in schemas[0] for k in ("allOf", "anyOf", "oneOf", "$ref")):
        return None
    required = schemas[0].get("required")
    return list(properties), set(required) if isinstance(required, list) else set(), properties


def gaps(text: str, document: Any) -> list[Gap]:
    """The optional leaf keys (:func:`fillable`) each object of the JSON ``text`` left out, in output order."""
    spans = value_spans(text)
    by_pointer = {span.pointer: span for span in spans}
    found: list[Gap] = []
    for span in sorted(spans, key=lambda span: span.start):
        if span.kind != "object" or span.end > len(text) or not text[span.start:span.end].endswith("}"):
            continue
        shape = _plain_properties(document, span.pointer)
        if shape is None:
            continue
        keys, required, properties = shape
        present = [key for key in keys if join_pointer(span.pointer, key) in by_pointer]
        for index, key in enumerate(keys):
            if key in required or key in present or not fillable(properties[key]):
                continue
            before = [k for k in keys[:index] if k in present]
            quoted = json.dumps(key, ensure_ascii=False) + ":"
            if before:
                cut = by_pointer[join_pointer(span.pointer, before[-1])].end
                found.append(Gap(span.pointer, key, cut, "," + quoted, index))
            else:
                found.append(Gap(span.pointer, key, span.start + 1, quoted, index))
    return sorted(found, key=lambda gap: gap.cut)


def may_have_optional_keys(document: Any) -> bool:
    """Whether a schema document has an object with an optional leaf key (so an answer may have a gap to fill):
    decides whether the first decoding keeps its key/value states for resumptions."""
    if isinstance(document, dict):
        properties = document.get("properties")
        if isinstance(properties, dict):
            required = document.get("required")
            required = set(required) if isinstance(required, list) else set()
            if any(key not in required and fillable(sub) for key, sub in properties.items()):
                return True
        return any(may_have_optional_keys(child) for child in document.values())
    if isinstance(document, list):
        return any(may_have_optional_keys(child) for child in document)
    return False


def answer_values(value: Any) -> set[str]:
    """Every string and number of a parsed answer (``slot.resumption.normal``): a filled key must bring a value not
    among them (a rating's top written as the rating itself, a title written again as the work's kind)."""
    return {normal(leaf) for _, leaf in iter_leaves(value)
            if isinstance(leaf, (str, int, float)) and not isinstance(leaf, bool)}


class ValueWatch(Watch):
    """Watches a resumed answer as it is decoded (``on_delta``) and gives it up (``give_up``) as soon as the filled
    key's value cannot stay: a string whose written part already occurs nowhere in the text, or a value, written to
    its end, that the answer already has, or null (the final judgement, grounding and confidence, comes when the
    answer is finished)."""

    def __init__(self, written_text: str, gap: Gap, known: set[str], source_text: str, *,
                 screening: bool = False) -> None:
        super().__init__(written_text, screening=screening)
        self.gap = gap
        self.known = known
        """The answer's strings and numbers (:func:`answer_values`)."""
        self.haystack = normal(source_text)
        self.span: Span | None = None
        """Where the value lies in the text written (the resumed answer's own text, which goes on from it), once
        found."""

    def judge(self) -> bool | None:
        span: Span | None = next((span for span in value_spans(self.text)
                                  if span.pointer == self.gap.value_pointer), None)
        self.span = span
        if span is None:
            return None
        if span.end >= len(self.text):  # not written to its end yet (a number ends at what follows)
            return False if span.kind == "string" and self._partial_invented(span) else None
        try:
            value = json.loads(self.text[span.start:span.end])
        except ValueError:
            return False
        if value is None:
            return False
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return False
        written = normal(value)
        if isinstance(value, str) and (len(written) < 2 or written not in self.haystack):
            return False
        return written not in self.known

    def _partial_invented(self, span: Span) -> bool:
        """Whether the string written so far (at least two characters) already occurs nowhere in the text."""
        try:
            partial = json.loads(self.text[span.start:] + '"')
        except ValueError:  # cut inside an escape
            return False
        written = normal(partial)
        return len(written) >= 2 and written not in self.haystack
