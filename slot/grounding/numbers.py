"""Numbers in text: every way a value may be written, indexed by its exact decimal value.

"1,200", "1200", "1 200", "1.2k", "1.2 thousand", "12.50" (= 12.5), "15%" (= 15 and 0.15),
"-3", "1.200,50" (European), and small number words ("three", "twenty-one", "two hundred").
Ambiguous forms get every reading ("1,200" is 1200 and 1.2), so a value never fails to match
a number that is really there; a hallucinated number still has to equal one of the readings.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slot.grounding.text_index import TextIndex

__all__ = ["NUMBER_WORDS", "to_decimal", "parse_number_string", "NumberIndex"]

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)} | _TENS | {"dozen": 12}
_SCALE_WORDS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_MULTIPLIERS = {"k": 1000, "thousand": 1000, "m": 10**6, "mn": 10**6, "million": 10**6,
                "b": 10**9, "bn": 10**9, "billion": 10**9}

# Digits with optional grouping/decimal separators; a sign only when not glued to a word/number.
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<sign>(?<![\w])[-−+])?(?P<body>\d+(?:[.,]\d+)*)"
    r"(?:\s?(?P<mult>k|mn|m|bn|b|thousand|million|billion)(?![a-z]))?"
    r"(?P<pct>\s?(?:%|percent|per cent))?"
)
_SPACE_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d])")
_CURRENCY = re.compile(r"^[$£€¥₹]\s?|\s?(?:usd|eur|gbp|dollars?|euros?|pounds?)$")


def to_decimal(value: int | float) -> Decimal | None:
    """Exact decimal of a JSON number (floats through ``repr``, so 12.5 -> Decimal('12.5'))."""
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return None


def _readings(body: str) -> set[Decimal]:
    """All plausible values of a digit string with separators (see module docstring)."""
    seps = [c for c in body if c in ".,"]
    if not seps:
        return {Decimal(body)}
    groups = re.split(r"[.,]", body)
    out: set[Decimal] = set()
    if len(set(seps)) == 1:
        sep = seps[0]
        if all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
            out.add(Decimal("".join(groups)))  # thousands grouping
        if len(seps) == 1:
            out.add(Decimal(body.replace(sep, ".")))  # decimal point (or comma)
        return out
    last = max(body.rfind("."), body.rfind(","))
    int_part, frac = body[:last], body[last + 1:]
    int_groups = re.split(r"[.,]", int_part)
    int_seps = {c for c in int_part if c in ".,"}
    if len(int_seps) == 1 and body[last] not in int_seps and all(len(g) == 3 for g in int_groups[1:]):
        out.add(Decimal("".join(int_groups) + "." + frac))
    return out


def parse_number_string(value: str) -> set[Decimal]:
    """Readings of a whole string that is a number ("1,200", "$12.50", "1.2k", "three"), else {}."""
    s = _CURRENCY.sub("", value.strip().lower()).strip()
    if s in NUMBER_WORDS:
        return {Decimal(NUMBER_WORDS[s])}
    m = _NUMBER.fullmatch(s)
    if m is None:
        if _SPACE_GROUPED.fullmatch(s):
            return {Decimal(s.replace(" ", ""))}
        return set()
    return _match_values(m)


def _match_values(m: re.Match[str]) -> set[Decimal]:
    values = _readings(m.group("body"))
    if m.group("sign") in ("-", "−"):
        values = {-v for v in values}
    if m.group("mult"):
        values |= {v * _MULTIPLIERS[m.group("mult")] for v in values}
    if m.group("pct"):
        values |= {v / 100 for v in values}
    return values


class NumberIndex:
    """Every number reading in a text -> original spans where it is written."""

    def __init__(self, index: TextIndex) -> None:
        self._spans: dict[Decimal, list[tuple[int, int]]] = {}
        norm = index.norm
        for m in _NUMBER.finditer(norm):
            span = index.orig_span(*m.span())
            for v in _match_values(m):
                self._add(v, span)
        for m in _SPACE_GROUPED.finditer(norm):
            self._add(Decimal(m.group().replace(" ", "")), index.orig_span(*m.span()))
        self._index_words(index)

    def _add(self, value: Decimal, span: tuple[int, int]) -> None:
        spans = self._spans.setdefault(value, [])
        if span not in spans and len(spans) < 8:
            spans.append(span)

    def _index_words(self, index: TextIndex) -> None:
        """Number words: units/teens, tens with an optional unit, then an optional scale word."""
        tokens = index.tokens
        words = index.positions()
        starts = sorted(i for w in (NUMBER_WORDS.keys() | _SCALE_WORDS.keys()) for i in words.get(w, ()))
        n = len(tokens)
        done = -1
        for i in starts:
            if i <= done:
                continue
            tok = tokens[i]
            start = i
            value = NUMBER_WORDS.get(tok, 1)
            if tok in _SCALE_WORDS:  # "hundred" alone, "a hundred"
                value = _SCALE_WORDS[tok]
            elif tok in _TENS and i + 1 < n and tokens[i + 1] in _UNITS[1:10]:
                i += 1
                value += NUMBER_WORDS[tokens[i]]
            if tok not in _SCALE_WORDS and i + 1 < n and tokens[i + 1] in _SCALE_WORDS:
                i += 1
                value *= _SCALE_WORDS[tokens[i]]
            self._add(Decimal(value), index.token_span(start, i))
            if i > start:  # the first word alone is a number too ("twenty" in "twenty one")
                self._add(Decimal(NUMBER_WORDS.get(tok, 0)), index.token_span(start, start))
            done = i

    def find(self, values: set[Decimal]) -> list[tuple[int, int]]:
        """Spans of any of ``values`` (sorted, deduplicated)."""
        spans: set[tuple[int, int]] = set()
        for v in values:
            spans.update(self._spans.get(v, ()))
        return sorted(spans)
