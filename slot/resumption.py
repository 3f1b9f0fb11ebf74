"""Resuming a finished answer: the tokens that write it again up to a cut, then what SLOT opens for the model.

List extension (``slot.list_extension``) and key filling (``slot.key_filling``) both resume a finished greedy answer
from a point inside it, with a few characters SLOT chose written after that point (``GenerationRequest.written``);
the engine feeds only what the answer's kept key/value states do not already hold."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from slot.confidence import token_spans

__all__ = ["Piece", "Watch", "normal", "piece_tokens", "spliced_tokens", "written_tokens"]


def normal(value: str | int | float) -> str:
    """A value as the resumption rules compare it with the text and the answer: spacing collapsed, case folded."""
    return " ".join(str(value).split()).casefold()


def written_tokens(tokenizer: Any, text: str, token_ids: Sequence[int], token_probs: Sequence[float],
                   cut: int, opener: str) -> tuple[list[int], list[float]]:
    """The tokens that resume ``text`` after its first ``cut`` characters with ``opener`` (each tokenized as one
    piece) and their probabilities: the answer's own where its tokens are kept, 1.0 for the opener (SLOT chose it),
    NaN where the tokenization differs."""
    kept = tokenizer.encode(text[:cut], add_special_tokens=False)
    ids = kept + tokenizer.encode(opener, add_special_tokens=False)
    same = 0
    while same < min(len(kept), len(token_ids)) and kept[same] == token_ids[same]:
        same += 1
    probs = [*token_probs[:same], *[math.nan] * (len(kept) - same), *[1.0] * (len(ids) - len(kept))]
    return ids, probs


def piece_tokens(tokenizer: Any, piece: str, start: int, text: str, token_ids: Sequence[int],
                 token_probs: Sequence[float], spans: Sequence[tuple[int, int]] | None = None
                 ) -> tuple[list[int], list[float]]:
    """Tokens that write ``piece`` (``text[start:start + len(piece)]`` of a decoded ``text``) and their probabilities:
    the decoding's own tokens that lie wholly inside it, with their probabilities, and the characters at its edges
    tokenized again (NaN: no probability known for those). ``spans``: ``token_spans`` of the decoding, if known."""
    stop = start + len(piece)
    spans = token_spans(tokenizer, token_ids, text) if spans is None else spans
    inside = [n for n, (a, b) in enumerate(spans) if a >= start and b <= stop and b > a]
    if not inside or inside != list(range(inside[0], inside[-1] + 1)):
        ids = tokenizer.encode(piece, add_special_tokens=False)
        return ids, [math.nan] * len(ids)
    left = tokenizer.encode(text[start:spans[inside[0]][0]], add_special_tokens=False)
    right = tokenizer.encode(text[spans[inside[-1]][1]:stop], add_special_tokens=False)
    ids = [*left, *(token_ids[n] for n in inside), *right]
    if tokenizer.decode(ids) != piece:  # a character split over tokens at an edge
        ids = tokenizer.encode(piece, add_special_tokens=False)
        return ids, [math.nan] * len(ids)
    return ids, [*[math.nan] * len(left), *(token_probs[n] for n in inside), *[math.nan] * len(right)]


@dataclass(frozen=True)
class Piece:
    """A run of characters of a spliced answer, and where they come from: ``source`` 0 the answer, ``n`` > 0 the
    text of probe ``n``, -1 SLOT's own (a key and its separators); ``start`` is where they lie in their source."""

    text: str
    source: int
    start: int


def spliced_tokens(tokenizer: Any, pieces: Sequence[Piece], sources: Sequence[tuple[str, list[int], list[float]]]
                   ) -> tuple[list[int], list[float]]:
    """The tokens of a spliced answer and their probabilities (:func:`piece_tokens` per piece): the decodings' own
    (``sources``: text, token ids and probabilities of each) where a piece is their text, 1.0 for SLOT's own
    characters (keys and separators it chose)."""
    spans = {n: token_spans(tokenizer, ids, text) for n, (text, ids, _) in enumerate(sources)}
    ids: list[int] = []
    probs: list[float] = []
    for piece in pieces:
        if piece.source < 0:
            own = tokenizer.encode(piece.text, add_special_tokens=False)
            ids, probs = ids + own, probs + [1.0] * len(own)
            continue
        text, source_ids, source_probs = sources[piece.source]
        more, more_probs = piece_tokens(tokenizer, piece.text, piece.start, text, source_ids, source_probs,
                                        spans[piece.source])
        ids, probs = ids + more, probs + more_probs
    return ids, probs


class Watch:
    """Watches a resumed answer as it is decoded (``on_delta``, the engine's ``give_up``) and gives it up once what it
    was resumed for is judged (:meth:`judge`): when refused, or, ``screening``, either way (a probe needs no more)."""

    def __init__(self, written_text: str, *, screening: bool = False) -> None:
        self.text = written_text
        self.screening = screening
        self.verdict: bool | None = None
        """None until judged; then whether what was resumed for may stay."""

    def on_delta(self, piece: str) -> None:
        self.text += piece

    def give_up(self) -> bool:
        if self.verdict is None:
            self.verdict = self.judge()
        return self.verdict is not None if self.screening else self.verdict is False

    def judge(self) -> bool | None:
        """None while the text written so far cannot tell; else whether what was resumed for may stay."""
        raise NotImplementedError
