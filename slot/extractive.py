"""Extractive decoding: free-text values constrained to contiguous word spans of the input text.

A model that learnt its training data's values writes them even where the text says otherwise; grounding
sees that (the value is not in the text) but cannot say what the text does say. Constraining such a leaf
to the text's own word spans leaves the model one choice: *which* span. The constraint is an ``enum`` of
spans put in place of the leaf's subschema, so every grammar backend supports it and the rest of the
schema compiles as before. Only free-text string leaves (no enum, const, format or pattern) are
rewritten, and only on paths reached through ``properties`` (and ``anyOf``/``oneOf`` string branches):
values the schema normalises stay with the model.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from slot.leaves import split_pointer

__all__ = ["EDGE_PUNCTUATION", "MAX_SPAN_WORDS", "MAX_SPANS", "word_spans", "is_free_text", "span_schema"]

MAX_SPAN_WORDS = 6
"""Longest span offered, in words (names, places, kinds and cuisines are short)."""

MAX_SPANS = 3000
"""Most spans offered for one leaf (long texts keep their shorter spans)."""

EDGE_PUNCTUATION = "\"'“”‘’()[]{}<>*,.;:!?"
"""Stripped from the ends of a word or span of the text (quotes, brackets, sentence punctuation)."""
_PINNED = ("enum", "const", "format", "pattern", "$ref")


def word_spans(text: str, max_words: int = MAX_SPAN_WORDS, limit: int = MAX_SPANS) -> list[str]:
    """Distinct runs of 1..max_words consecutive words of ``text``, as written, without edge punctuation.

    Shorter spans come first, so a limit drops the longest ones.
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    seen: dict[str, None] = {}
    for width in range(1, max_words + 1):
        for i in range(len(words) - width + 1):
            span = text[words[i][0]:words[i + width - 1][1]].strip(EDGE_PUNCTUATION).strip()
            if span.endswith("'s") and width == 1:
                seen.setdefault(span[:-2], None)
            if span and "\n" not in span:
                seen.setdefault(" ".join(span.split()), None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)


def is_free_text(schema: Any) -> bool:
    """A string subschema whose value the text states as written: no enum, const, format or pattern."""
    if not isinstance(schema, dict) or any(k in schema for k in _PINNED):
        return False
    kind = schema.get("type")
    return kind == "string" or (isinstance(kind, list) and "string" in kind and "object" not in kind)


def _constrain(schema: dict[str, Any], spans: list[str]) -> bool:
    """Replace free-text string parts of ``schema`` in place by the spans; True if anything changed."""
    if is_free_text(schema):
        kinds = schema.get("type")
        nullable = isinstance(kinds, list) and "null" in kinds
        schema.clear()
        schema["enum"] = list(spans) + ([None] if nullable else [])
        return True
    changed = False
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            if isinstance(branch, dict) and is_free_text(branch):
                changed |= _constrain(branch, spans)
    return changed


def span_schema(document: Any, pointers: list[str], spans: list[str]) -> tuple[Any, list[str]]:
    """A copy of ``document`` whose free-text leaves at the data ``pointers`` accept only ``spans``.

    Returns the new document and the pointers actually constrained (paths through arrays, ``$ref`` or
    combinators other than a string branch of ``anyOf``/``oneOf`` are left alone).
    """
    out = copy.deepcopy(document)
    done: list[str] = []
    if not isinstance(out, dict) or not spans:
        return out, done
    for pointer in pointers:
        node: Any = out
        for token in split_pointer(pointer):
            props = node.get("properties") if isinstance(node, dict) else None
            node = props.get(token) if isinstance(props, dict) else None
            if not isinstance(node, dict) or "$ref" in node:
                node = None
                break
        if isinstance(node, dict) and _constrain(node, spans):
            done.append(pointer)
    return out, done
