"""Booleans (and yes/no strings) from the text: explicit answers and implied polarity.

``"family friendly: yes"`` grounds ``true`` (an explicit answer right after the field's name);
``"is not family-friendly"`` or ``"a non-smoking room"`` only imply ``false`` -> ``inferred``;
wording with the opposite polarity makes the value ``ungrounded``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from slot.grounding.fuzzy import StemIndex, stem

if TYPE_CHECKING:
    from slot.grounding.text_index import TextIndex

__all__ = ["TRUE_WORDS", "FALSE_WORDS", "key_tokens", "bool_of_string", "ground_boolean"]

TRUE_WORDS = frozenset({"yes", "true", "y"})
FALSE_WORDS = frozenset({"no", "false", "n"})
_NEGATORS = frozenset({"not", "no", "non", "never", "without", "nor", "neither", "none", "t",
                       "isn", "aren", "wasn", "weren", "doesn", "don", "didn", "cannot", "lacks",
                       "lack", "lacking", "un"})
_CLAUSE_WORDS = frozenset({"but", "and", "while", "although", "though", "however", "whereas", "yet"})
_KEY_STOPWORDS = frozenset({"is", "has", "have", "can", "does", "allow", "allows", "the", "a", "of",
                            "flag", "bool", "enabled"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-\s.]+")
_BOUNDARY = re.compile(r"[.;:!?,()\[\]\n|•—–*]|->|\s-\s")
_SENTENCE = re.compile(r"[.;!?,()\[\]\n]")
_LABEL_SEPARATOR = re.compile(r"[:=|—–>]|\s-\s|^\s*-")
_LOOKBACK = 4


def key_tokens(key: str) -> list[str]:
    """Content words of a field name: ``isFamilyFriendly`` -> ``["family", "friendly"]``."""
    words = [w.lower() for w in _CAMEL.split(key) if w]
    return [w for w in words if w not in _KEY_STOPWORDS]


def bool_of_string(value: str) -> bool | None:
    """True/False for yes/no/true/false/y/n strings, else None."""
    v = value.strip().lower()
    return True if v in TRUE_WORDS else False if v in FALSE_WORDS else None


def _mentions(index: TextIndex, stems: StemIndex, key: list[str]) -> tuple[list[tuple[int, int]], bool]:
    """Token ranges where the field's name is mentioned, and whether the mention is the whole name.

    Whole name first; else one of its words (last word first), plural- and suffix-insensitive
    ("families" and "wrapping" mention ``familyFriendly`` and ``giftWrap``): a weaker mention.
    """
    found = index.find_sequence(key) if key else []
    if found:
        return found, True
    for word in reversed(key):
        if len(word) < 4 or word in _KEY_STOPWORDS:
            continue
        hits = stems.positions.get(stem(word), [])
        if not hits:
            hits = sorted(i for tok, where in index.positions().items()
                          if tok.startswith(word) and len(tok) - len(word) <= 4 for i in where)
        if hits:
            return [(i, i) for i in hits], False
    return [], False


def _negated(index: TextIndex, first: int) -> bool:
    """Whether a negator precedes token ``first`` within its clause."""
    i = first - 1
    while i >= 0 and first - i <= _LOOKBACK:
        if _BOUNDARY.search(index.gap(i, i + 1)):
            return False
        tok = index.tokens[i]
        if tok in _NEGATORS:
            return True
        if tok in _CLAUSE_WORDS:
            return False
        i -= 1
    return False


def _explicit_answer(index: TextIndex, last: int) -> int | None:
    """Token index of a yes/no answer right after a mention: "key: yes", "key is no",
    "Refundable fare — no", "| Accident free | false |" (same line, at most two words between)."""
    tokens = index.tokens
    for j in range(last + 1, min(last + 4, len(tokens))):
        gap = index.gap(j - 1, j)
        if _SENTENCE.search(gap):
            return None
        if tokens[j] in TRUE_WORDS or tokens[j] in FALSE_WORDS:
            if j == last + 1 or _LABEL_SEPARATOR.search(gap) or tokens[j - 1] in {"is", "was", "are"}:
                return j
            return None
    return None


def ground_boolean(index: TextIndex, stems: StemIndex, key: list[str], value: bool
                   ) -> tuple[str, list[tuple[int, int]]]:
    """Status and spans for a boolean claim about field ``key`` (see the module docstring)."""
    tokens = index.tokens
    implied: list[tuple[bool, tuple[int, int]]] = []
    mentions, whole_name = _mentions(index, stems, key)
    for first, last in mentions:
        answer_at = _explicit_answer(index, last)
        if answer_at is not None:
            answer = tokens[answer_at] in TRUE_WORDS
            span = index.token_span(first, answer_at)
            if answer == value:
                return "grounded", [span]
            implied.append((answer, span))
        else:
            implied.append((not _negated(index, first), index.token_span(first, last)))
    matching = [span for polarity, span in implied if polarity == value]
    if matching:
        return "inferred", matching[:8]
    words = TRUE_WORDS if value else FALSE_WORDS
    loose = [index.token_span(i, i) for w in words if len(w) > 1 for i in index.positions().get(w, [])]
    if implied and whole_name or not loose:
        return "ungrounded", []  # the field is named with the other polarity, or nothing supports it
    return "inferred", sorted(loose)[:8]  # a bare yes/no, or a partial name with the other polarity
