"""Finish mode: a ``max_tokens`` budget that ends in valid JSON, and the paths it cut or filled.

Within the last ``window`` tokens of the budget, each choice is checked against the budget: the model's token
is kept when a completion after it still fits in what is left; otherwise the first token of that completion
is taken instead. The completion is found on the grammar itself (``Finisher.path``), token by token: a forced
token; else the first allowed of a fixed preference (inside a string: what closes it, ``"]}`` before ``"}``
before ``"``, a key's ``":``, then ``","``; outside: ``]``/``}`` closers, ``""``, what ends a number and opens
the next key, ``,"``, then the shortest literals ``0``, ``false``, ``null``, ``[]``, ``{}``); else the longest
allowed token (a key name, an enum value, what a pattern or ``minLength`` needs). So it closes the open string,
array and object, and writes each required key not yet written with the shortest value its schema allows. It
is a greedy heuristic, not a proven shortest completion; it depends on the grammar state, the output so far
and the budget alone, so plain decoding and draft verification make the same choices.

``cut_and_filled`` reads the finished text back (``slot.json_spans``): which values were open where finish mode
overrode the model (cut: a string, number or array), and which values it wrote itself (filled).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from slot.engine.cpu.guards.json_state import StringState
from slot.json_spans import value_spans

LITERALS = ("0", "false", "null", "true", "[]", "{}", '"', "[", "{")
"""Outside strings, when nothing closes or separates: the shortest values, then what opens one."""
_STRUCTURAL = re.compile(r'"?[\]},:]*"?')
"""Closing and separating tokens: ``"}``, ``]]``, ``":``, ``","``... (a quote only first or last: one in the
middle would open a string whose text the rest is)."""


def _preference(pieces: list[str]) -> list[str]:
    """Tokens that close (``"}]`` before ``"}``: the longer, the more it closes; a key's ``":`` with them) before
    those with a comma, which open one more key or item (``","``, ``,"``)."""
    return sorted(pieces, key=lambda p: ("," in p, -len(p), p))


class Finisher:
    """Finish-mode choices for one tokenizer (its preferred tokens found once)."""

    def __init__(self, tokenizer: Any, vocab_size: int, eos_ids: set[int], window: int) -> None:
        """``window``: tokens before the end of the budget from which choices are checked (0: off)."""
        self.tokenizer = tokenizer
        self.window = window
        self.eos_ids = set(eos_ids)
        vocab = {piece: index for piece, index in tokenizer.get_vocab().items() if index < vocab_size}
        structural = [piece for piece in vocab if _STRUCTURAL.fullmatch(piece) and piece.strip('"')]
        inside = _preference([piece for piece in structural if piece.startswith('"')]) + ['"']
        outside = _preference([piece for piece in structural if not piece.startswith('"')])
        closing = [piece for piece in outside if "," not in piece]
        outside = closing + ['""'] + outside[len(closing):] + list(LITERALS)
        self.inside = list(dict.fromkeys(vocab[text] for text in inside if text in vocab))
        """Token ids finish mode tries first inside a string, in order."""
        self.outside = list(dict.fromkeys(vocab[text] for text in outside if text in vocab))
        """Token ids finish mode tries first outside strings, in order."""
        self.pieces = [""] * vocab_size
        self.lengths = np.zeros(vocab_size, dtype=np.int32)
        for piece, index in vocab.items():
            self.pieces[index] = piece
            if index not in self.eos_ids:
                self.lengths[index] = len(piece)

    def steer(self, matcher: Any, choice: int | None, context: list[int], remaining: int) -> tuple[int | None, bool]:
        """The token to take after ``context`` given the model's ``choice`` and the tokens ``remaining`` in the
        budget (this one included), and whether finish mode overrode the model."""
        if not self.window or matcher is None or choice is None or remaining > self.window or choice in self.eos_ids:
            return choice, False
        state = StringState.of(self.tokenizer.decode(context, skip_special_tokens=True))
        if self._fits(matcher, choice, state, remaining - 1):
            return choice, False
        path = self.path(matcher, state, 4 * self.window)
        if not path or path[0] == choice:
            return choice, False
        return path[0], True

    def _fits(self, matcher: Any, choice: int, state: StringState, budget: int) -> bool:
        """Whether a completion after ``choice`` takes at most ``budget`` tokens."""
        if not matcher.consume([choice]):
            return True  # not the grammar's to judge here; the caller's checks will say
        try:
            return self.path(matcher, state.after(self.pieces[choice]), budget) is not None
        finally:
            matcher.rollback(1)

    def path(self, matcher: Any, state: StringState, limit: int) -> list[int] | None:
        """The tokens of a completion from the matcher's state (empty when the text is already complete; ``state``:
        where the text so far stands), or None when it takes more than ``limit`` tokens or the grammar allows
        nothing; the matcher is restored."""
        taken: list[int] = []
        try:
            while not matcher.is_accepting():
                if len(taken) >= limit or matcher.error:
                    return None
                token = self._next(matcher, state)
                if token is None or not matcher.consume([token]):
                    return None
                taken.append(token)
                state = state.after(self.pieces[token])
            return taken
        finally:
            if taken:
                matcher.rollback(len(taken))

    def _next(self, matcher: Any, state: StringState) -> int | None:
        forced = matcher.forced()
        if forced:
            return forced[0]
        allowed = matcher.mask()
        for token in self.inside if state.inside and not state.escaped else self.outside:
            if token < len(allowed) and allowed[token]:
                return token
        lengths = np.where(allowed, self.lengths[: len(allowed)], -1)
        best = int(np.argmax(lengths))
        return best if lengths[best] > 0 else None


def cut_and_filled(text: str, steered: list[tuple[int, int]]) -> tuple[list[str], list[str]]:
    """The JSON Pointers of the values finish mode cut and of those it filled, given the ``[start, end)``
    characters of ``text`` it wrote (``steered``, in order).

    Cut: a string, number or array that was open where finish mode first wrote something (it was closed
    early). Filled: a value that begins at or after that point and holds a character finish mode wrote (a
    required key's value written for the budget); only the outermost such value is listed.
    """
    if not steered:
        return [], []
    spans = value_spans(text)
    cut: list[str] = []
    for start, _ in steered:
        for span in spans:
            open_there = span.start < start and (span.end > start or (span.kind == "number" and span.end == start))
            if open_there and span.kind in ("string", "number", "array") and span.pointer not in cut:
                cut.append(span.pointer)
    first = steered[0][0]
    filled: list[str] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < first or any(_within(span.pointer, outer) for outer in filled):
            continue
        if any(start < span.end and span.start < end for start, end in steered):
            filled.append(span.pointer)
    cut = [pointer for pointer in cut if not any(_within(pointer, outer) for outer in filled)]
    return sorted(cut, key=lambda p: (p.count("/"), p)), filled


def _within(pointer: str, outer: str) -> bool:
    return pointer == outer or pointer.startswith(outer + "/")
