"""Fuzzy support for strings that are not in the text as written: token overlap and ratings.

Both give at most ``inferred``: the words are there, but the value is a paraphrase, a reordering
or a rating whose scale the text leaves implicit.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from slot.grounding.numbers import NUMBER_WORDS

if TYPE_CHECKING:
    from slot.grounding.text_index import TextIndex

__all__ = ["stem", "StemIndex", "ground_overlap", "RATING", "ground_rating"]

STOPWORDS = frozenset({"the", "a", "an", "of", "in", "on", "at", "to", "and", "or", "for", "with",
                       "by", "is", "are", "it", "its", "this", "that", "from", "as", "be"})
_PREFIX = 6
_NUM_WORD = {str(v): w for w, v in NUMBER_WORDS.items()}
_ANY_NUMBER_WORD = "|".join(NUMBER_WORDS)
RATING = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?|[a-z]+)\s*(?:out of|/|of)\s*(?P<d>\d+|[a-z]+)"
                    r"(?:\s*(?:stars?|points?))?\s*$", re.IGNORECASE)
_RATING_WORDS = frozenset({"star", "stars", "rating", "ratings", "rated", "points", "score",
                           "scored"})


@lru_cache(maxsize=65536)
def stem(tok: str) -> str:
    """A light stem: number words to digits, -ly adverbs, plural -s/-ies, British -re -> -er."""
    if tok in NUMBER_WORDS:
        return str(NUMBER_WORDS[tok])
    if len(tok) >= 6 and tok.endswith("ly") and not tok.endswith("ily"):
        tok = tok[:-2]  # "highly" -> "high", "moderately" -> "moderate"
    if len(tok) > 4 and tok.endswith("ies"):
        tok = tok[:-3] + "y"
    elif len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
        tok = tok[:-1]
    if len(tok) > 4 and tok.endswith("re") and tok[-3] not in "aeiou":
        tok = tok[:-2] + "er"
    return tok


class StemIndex:
    """Stem -> token positions of a text, plus a prefix table for "moderate" ~ "moderately"."""

    def __init__(self, index: TextIndex) -> None:
        self.positions: dict[str, list[int]] = {}
        for tok, where in index.positions().items():
            s = stem(tok)
            if s in self.positions:
                self.positions[s] = sorted(self.positions[s] + where)
            else:
                self.positions[s] = where
        self._by_prefix: dict[str, list[str]] = {}
        for s in self.positions:
            if len(s) >= _PREFIX:
                self._by_prefix.setdefault(s[:_PREFIX], []).append(s)

    def lookup(self, s: str) -> list[int]:
        """Positions of tokens whose stem equals ``s`` or extends/is extended by it (>= 6 chars)."""
        exact = self.positions.get(s)
        if exact or len(s) < _PREFIX:
            return exact or []
        out: list[int] = []
        for other in self._by_prefix.get(s[:_PREFIX], ()):
            if other.startswith(s) or s.startswith(other):
                out += self.positions[other]
        return sorted(out)


def ground_overlap(index: TextIndex, stems: StemIndex, value_tokens: list[str]
                   ) -> list[tuple[int, int]] | None:
    """Spans of a tight cluster of the value's content words, or None when too few are present.

    All content words must be present for values of up to three words, 80% for longer ones, and
    the cluster must be compact (a few tokens per word) so that scattered common words do not count.
    """
    content = list(dict.fromkeys(stem(t) for t in value_tokens if t not in STOPWORDS))
    if not content:
        return None
    found = {s: p for s in content if (p := stems.lookup(s))}
    need = len(content) if len(content) <= 3 else math.ceil(0.8 * len(content))
    if len(found) < need:
        return None
    window = max(8, 3 * len(content))
    rarest = min(found.values(), key=len)
    best: list[int] | None = None
    for anchor in rarest[:16]:
        chosen = [min(p, key=lambda i: abs(i - anchor)) for p in found.values()]
        if best is None or max(chosen) - min(chosen) < max(best) - min(best):
            best = chosen
    assert best is not None
    if max(best) - min(best) > window:
        return None
    return [index.token_span(i, i) for i in sorted(set(best))]


def _number_alternatives(tok: str) -> str:
    digits = str(NUMBER_WORDS[tok]) if tok in NUMBER_WORDS else tok
    alts = [re.escape(digits)] + ([_NUM_WORD[digits]] if digits in _NUM_WORD else [])
    return "(?:" + "|".join(alts) + ")"


def ground_rating(index: TextIndex, value: str) -> tuple[str, list[tuple[int, int]]] | None:
    """"4 out of 5" / "4/5": grounded when written with its scale, inferred from "4 stars"."""
    m = RATING.match(value.lower())
    if m is None or not (m.group("n")[0].isdigit() or m.group("n") in NUMBER_WORDS):
        return None
    n, d = _number_alternatives(m.group("n")), _number_alternatives(m.group("d"))
    full = re.compile(rf"(?<![\w.]){n}\s*(?:out of|of|/)\s*{d}(?![\w])")
    spans = [index.orig_span(*x.span()) for x in full.finditer(index.norm)][:8]
    if spans:
        return "grounded", spans
    same_scale = re.compile(rf"(?<![\w.])(?:\d+(?:\.\d+)?|{_ANY_NUMBER_WORD})\s*(?:out of|of|/)\s*{d}(?![\w])")
    if same_scale.search(index.norm):
        return "ungrounded", []  # the text gives another rating on this scale
    bare = re.compile(rf"(?<![\w.]){n}(?![\w])(?!\s*(?:out of|of|/))")
    inferred = []
    for x in bare.finditer(index.norm):
        span = index.orig_span(*x.span())
        near = [t for t in _tokens_around(index, span, 3) if t in _RATING_WORDS]
        if near:
            inferred.append(span)
    return ("inferred", inferred[:8]) if inferred else ("ungrounded", [])


def _tokens_around(index: TextIndex, span: tuple[int, int], k: int) -> list[str]:
    """The k tokens before and after an original-text span."""
    before = re.findall(r"[^\W_]+", index.text[max(0, span[0] - 40):span[0]].lower())[-k:]
    after = re.findall(r"[^\W_]+", index.text[span[1]:span[1] + 40].lower())[:k]
    return before + after
