"""Near-copy repair: an ungrounded free-text value that is a misspelt copy of a span of the text becomes it.

Why: a small model copying a word it rarely saw slips towards a word it knows ("diner" -> "dinner",
"cafeteria" -> "cafetera", "canal side" -> "cabin side"). Grounding flags such a value as ungrounded, and
the text holds the span the model meant, a few characters away. Replacing the value by that span fixes the
slip without a second decoding pass. The rule is narrow on purpose, so values a schema normalises
("no" for "not family-friendly", "more than £30") stay as the model wrote them: only free-text string leaves
(no enum, const, format or pattern), only values of at least :data:`MIN_LETTERS` letters without digits,
only spans with about as many words, and only at a character similarity of :data:`MIN_RATIO` or more.
The repaired paths are reported, and the repaired value must keep the output valid.

A second slip needs the model once more: a value that *began* as a copy of a word of the text and then
drifted into another word ("artistic" for the text's "arts district", "cantina" for "canal side", "café" for
"cafeteria"). :func:`drifted_copies` finds them (the value shares its first :data:`MIN_PREFIX` letters with a
word of the text but does not start with that whole word, so "riverside" for "by the river" or "city centre"
for "the city" stay as written); the structurer then decodes once more with only those leaves constrained to
the text's word spans (``slot.extractive``) and takes their new values.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

from slot.extractive import EDGE_PUNCTUATION, is_free_text, word_spans
from slot.grounding.result import Grounding
from slot.grounding.schema_paths import subschemas_at
from slot.leaves import iter_leaves, set_at

__all__ = ["MIN_RATIO", "MIN_LETTERS", "MIN_PREFIX", "nearest_span", "repair_near_copies", "drifted_copies"]

MIN_RATIO = 0.8
"""Least character similarity (difflib ratio, case-insensitive) between the value and the span."""

MIN_LETTERS = 4
"""Shorter values ("no", "yes", "high") are too easy to confuse with a neighbouring word."""

MIN_PREFIX = 3
"""Letters a drifted value shares with the start of a word of the text ("art" in "artistic" / "arts")."""

_FLAGS = frozenset({"yes", "no", "true", "false", "none", "null", "n/a"})


def nearest_span(value: str, spans: list[str], min_ratio: float = MIN_RATIO) -> str | None:
    """The span of ``spans`` most similar to ``value`` (one word more or less at most), if similar enough."""
    target = value.casefold()
    words = len(value.split())
    best_ratio, best = 0.0, None
    for span in spans:
        if abs(len(span.split()) - words) > 1:
            continue
        matcher = difflib.SequenceMatcher(None, target, span.casefold(), autojunk=False)
        if matcher.real_quick_ratio() < min_ratio or matcher.quick_ratio() < min_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best_ratio, best = ratio, span
    return best if best_ratio >= min_ratio and best is not None and best.casefold() != target else None


def _repairable(value: Any, schema: Any, pointer: str) -> bool:
    if not isinstance(value, str) or value.strip().casefold() in _FLAGS or re.search(r"\d", value):
        return False
    if sum(ch.isalpha() for ch in value) < MIN_LETTERS:
        return False
    subschemas = subschemas_at(schema if isinstance(schema, dict) else None, pointer)
    return bool(subschemas) and all(is_free_text(sub) for sub in subschemas)


def repair_near_copies(data: Any, grounding: Grounding, schema: Any, text: str) -> tuple[Any, list[str]]:
    """``data`` with each repairable ungrounded value replaced by its nearest span of ``text`` (a copy;
    ``data`` is never modified), and the pointers repaired. Re-ground the result to report the new values."""
    if not grounding.ungrounded_paths:
        return data, []
    values = dict(iter_leaves(data))
    candidates = [p for p in grounding.ungrounded_paths if _repairable(values.get(p), schema, p)]
    if not candidates:
        return data, []
    spans = word_spans(text)
    out, repaired = copy.deepcopy(data), []
    for pointer in candidates:
        span = nearest_span(str(values[pointer]), spans)
        if span is not None:
            set_at(out, pointer, span)
            repaired.append(pointer)
    return (out, repaired) if repaired else (data, [])


def _drifted_from(value: str, words: set[str]) -> bool:
    """Whether ``value`` starts like a word of the text (its first MIN_PREFIX letters) without starting with
    that whole word: a copy that slipped after its first letters."""
    folded = value.strip().casefold()
    head = folded[:MIN_PREFIX]
    if len(head) < MIN_PREFIX or not head.isalpha():
        return False
    return any(word.startswith(head) and not folded.startswith(word) for word in words)


def drifted_copies(data: Any, grounding: Grounding, schema: Any, text: str) -> list[str]:
    """The pointers of ungrounded free-text values that began as a copy of a word of ``text`` and drifted
    (module docstring); the same leaves as near-copy repair considers (at least 4 letters, no digits). A value
    that is a property name of the schema ("timeRange" for a request that says "times") is the model echoing the
    schema, an invention to leave to the grounding policy, not a slip to finish as a span."""
    if not grounding.ungrounded_paths:
        return []
    values = dict(iter_leaves(data))
    words = {w.strip(EDGE_PUNCTUATION).casefold() for w in text.split()}
    words.discard("")
    drifted = [p for p in grounding.ungrounded_paths
               if _repairable(values.get(p), schema, p) and _drifted_from(str(values[p]), words)]
    if not drifted:
        return []  # the common case: no walk over the schema's property names
    names = _property_names(schema)
    return [p for p in drifted if _plain(str(values[p])) not in names]


def _plain(name: str) -> str:
    """Lower-case letters and digits only: "timeRange", "time_range" and "Time range" read alike."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _property_names(schema: Any) -> set[str]:
    """Every property name the schema declares, anywhere in it, as :func:`_plain` writes it."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(_plain(str(key)) for key in properties)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names
