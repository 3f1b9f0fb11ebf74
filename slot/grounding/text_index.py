"""A normalised view of the input text with an offset map back to the original.

Built once per request. Normalisation is per character so every normalised character knows the
original character it came from: NFKC, case folding, accents stripped. Tokens are runs of letters
and digits plus a few symbols (currency, %, &); punctuation and whitespace only separate tokens, so
"city-centre", "City  Centre" and "city centre" all become the tokens ``city centre``. Token
sequences are found with ``str.find`` on the space-joined token string, never by rescanning the text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate
from functools import cache

__all__ = ["normalise", "tokenize", "TextIndex"]

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"[^\W_]+|[$£€¥₹%&#+]")
# Tokens that mean the same thing: symbols, currency words, British/American spellings.
_TOKEN_ALIASES = {
    "&": "and", "pounds": "£", "pound": "£", "gbp": "£", "dollars": "$", "dollar": "$", "usd": "$",
    "euros": "€", "euro": "€", "eur": "€", "centre": "center", "centres": "centers",
    "theatre": "theater", "metre": "meter", "metres": "meters", "litre": "liter", "litres": "liters",
    "colour": "color", "colours": "colors", "favourite": "favorite", "grey": "gray",
    "organisation": "organization", "programme": "program",
}


@cache
def _norm_char(ch: str) -> str:
    """NFKC + casefold + accents removed, for one non-ASCII character (may be 0..n chars)."""
    folded = unicodedata.normalize("NFKC", ch).casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Normalised text and, per normalised character, its index in ``text``.

    The map is ``None`` when it is the identity (ASCII text: only lower-casing happens).
    """
    if text.isascii():
        return text.lower(), None
    pieces: list[str] = []
    offsets: list[int] = []
    pos = 0
    for match in _NON_ASCII.finditer(text):
        start, end = match.span()
        if start > pos:
            pieces.append(text[pos:start].lower())
            offsets.extend(range(pos, start))
        for i in range(start, end):
            norm = _norm_char(text[i])
            pieces.append(norm)
            offsets.extend([i] * len(norm))
        pos = end
    if pos < len(text):
        pieces.append(text[pos:].lower())
        offsets.extend(range(pos, len(text)))
    return "".join(pieces), offsets


def tokenize(value: str) -> list[str]:
    """Normalised tokens of a value string (same rules as the text)."""
    norm, _ = normalise(value)
    return [_TOKEN_ALIASES.get(t, t) for t in _TOKEN.findall(norm)]


class TextIndex:
    """Normalised text, its tokens with original offsets, and token-sequence search."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm, self._offsets = normalise(text)
        matches = list(_TOKEN.finditer(self.norm))
        get = _TOKEN_ALIASES.get
        tokens = [get(t, t) for t in (m.group() for m in matches)]
        self.tokens = tokens
        self._norm_spans = [m.span() for m in matches]
        self.joined = " ".join(tokens)
        self._joined_starts = list(accumulate((len(t) + 1 for t in tokens[:-1]), initial=0)) if tokens else []
        self._positions: dict[str, list[int]] | None = None

    # ---- offsets -------------------------------------------------------------------------
    def orig_span(self, norm_start: int, norm_end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of the normalised text to the original text."""
        if self._offsets is None:
            return norm_start, norm_end
        if norm_end <= norm_start:
            at = self._offsets[norm_start] if norm_start < len(self._offsets) else len(self.text)
            return at, at
        return self._offsets[norm_start], self._offsets[norm_end - 1] + 1

    def token_span(self, first: int, last: int) -> tuple[int, int]:
        """Original span covering tokens ``first .. last`` (inclusive)."""
        return self.orig_span(self._norm_spans[first][0], self._norm_spans[last][1])

    def gap(self, left: int, right: int) -> str:
        """Original text between the end of token ``left`` and the start of token ``right``."""
        start = self.token_span(left, left)[1]
        end = self.token_span(right, right)[0]
        return self.text[start:end]

    # ---- search --------------------------------------------------------------------------
    def find_sequence(self, value_tokens: list[str], *, limit: int = 8) -> list[tuple[int, int]]:
        """Token index ranges ``(first, last)`` where ``value_tokens`` occur contiguously."""
        if not value_tokens:
            return []
        needle = " ".join(value_tokens)
        hay = self.joined
        found: list[tuple[int, int]] = []
        pos = hay.find(needle)
        while pos != -1 and len(found) < limit:
            end = pos + len(needle)
            if (pos == 0 or hay[pos - 1] == " ") and (end == len(hay) or hay[end] == " "):
                first = bisect_right(self._joined_starts, pos) - 1
                found.append((first, first + len(value_tokens) - 1))
            pos = hay.find(needle, pos + 1)
        return found

    def find_spans(self, value_tokens: list[str], *, limit: int = 8) -> list[tuple[int, int]]:
        """Original-text spans where ``value_tokens`` occur contiguously."""
        return [self.token_span(a, b) for a, b in self.find_sequence(value_tokens, limit=limit)]

    def positions(self) -> dict[str, list[int]]:
        """Token -> the indices where it occurs (built on first use)."""
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for i, tok in enumerate(self.tokens):
                positions.setdefault(tok, []).append(i)
            self._positions = positions
        return self._positions
