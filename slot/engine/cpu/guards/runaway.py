"""Runaway guards: a string whose last words keep repeating is closed, and a number gets a bounded count of digits.

A small model under a grammar can loop inside a value until ``max_tokens`` cuts the JSON: one invented word
written again and again in a string, or an integer of hundreds of zeros. Two guards refine the greedy choice:

- **repeated words**: when the chosen token would begin the next copy of a unit of up to ``MAX_UNIT_TOKENS``
  tokens (one word or a phrase, containing a letter) that already ends the open string ``max_repeats`` times
  in a row, the best allowed token that closes the string (``"``, ``",`` ...) is taken instead; when the
  grammar does not let the string end there (``minLength``, a pattern), the best other allowed token. A unit
  without a letter (a digit, ``-``, ``.``) is a runaway only once it repeats ``max_digits`` times in a row
  (``"10000000000000000000..."``): a phone number or an ID with a few equal digits stays whole.
- **digits**: a digit run of a number (its integer part, its fraction, its exponent) gets at most
  ``max_digits`` digits: past that, tokens that begin with digits are masked. The schema's own bounds are the
  grammar's: ``minimum``/``maximum`` bound the integer part and ``multipleOf`` the fraction (llguidance
  compiles them into the number's pattern), so this cap only matters where the schema leaves a number open.

Both are functions of the output so far and the model's scores, applied wherever the greedy choice is made
(plain decoding and draft verification alike), so speculation stays exact. Cheap gates (the chosen token
recurs among the last tokens; the chosen token begins with a digit) keep the full-text checks rare.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from slot.engine.cpu.guards.json_state import in_string

MAX_UNIT_TOKENS = 16
"""Longest repeating unit the string guard looks for, in tokens (a phrase of a few words)."""


class RunawayGuard:
    """The two guards for one tokenizer (its digit and closing-quote tokens found once)."""

    def __init__(self, tokenizer: Any, vocab_size: int, *, max_repeats: int, max_digits: int) -> None:
        """``max_repeats``: copies of a unit a string may end with before it is closed (0: off); ``max_digits``:
        longest digit run of a number, and copies of a unit without a letter a string may end with (0: off)."""
        self.tokenizer = tokenizer
        self.max_repeats = max_repeats
        self.max_digits = max_digits
        count = min(vocab_size, len(tokenizer))
        pieces = tokenizer.convert_ids_to_tokens(list(range(count)))
        self.lead_digits = np.zeros(vocab_size, dtype=np.int32)
        """How many ASCII digits each token's text begins with."""
        closing = np.zeros(vocab_size, dtype=bool)
        for index, piece in enumerate(pieces):
            if not isinstance(piece, str) or not piece:
                continue
            digits = len(piece) - len(piece.lstrip("0123456789"))
            self.lead_digits[index] = digits
            closing[index] = piece[0] == '"'
        self.closing = closing
        """Tokens whose text begins with ``"``: inside a string, each of them ends it."""

    def check(self, token: int, scores: torch.Tensor, matcher: Any, context: list[int]) -> int:
        """The greedy choice ``token`` (given the model's ``scores``, the grammar state after ``context``), or
        what a guard takes instead."""
        if matcher is None:
            return token
        if self.max_repeats and token < len(self.closing) and not self.closing[token] \
                and token in context[-MAX_UNIT_TOKENS:]:
            token = self._unrepeat_words(token, scores, matcher, context)
        if self.max_digits and token < len(self.lead_digits) and self.lead_digits[token]:
            token = self._cap_digits(token, scores, matcher, context)
        return token

    def _unrepeat_words(self, token: int, scores: torch.Tensor, matcher: Any, context: list[int]) -> int:
        unit = repeated_unit(context, token, self.max_repeats)
        if unit is None:
            return token
        copies = self.max_repeats
        words = self.tokenizer.decode(context[-unit:], skip_special_tokens=True)
        if not any(char.isalpha() for char in words):  # digits or symbols: a long run before it is a runaway
            copies = max(self.max_digits, self.max_repeats) if self.max_digits else 0
            unit = repeated_unit(context, token, copies)
            if unit is None:
                return token
        repeated = self.tokenizer.decode(context[-unit * copies:], skip_special_tokens=True)
        if '"' in repeated or not in_string(self._text(context)):
            return token
        allowed = matcher.mask().copy()
        closers = allowed & self.closing[: len(allowed)]
        if closers.any():
            return _best(scores, closers)
        allowed[token] = False
        return _best(scores, allowed) if allowed.any() else token

    def _cap_digits(self, token: int, scores: torch.Tensor, matcher: Any, context: list[int]) -> int:
        tail = self.tokenizer.decode(context[-(self.max_digits + 1):], skip_special_tokens=True)
        run = digit_run(tail)
        if run + int(self.lead_digits[token]) <= self.max_digits or in_string(self._text(context)):
            return token
        allowed = matcher.mask().copy()
        allowed &= self.lead_digits[: len(allowed)] <= self.max_digits - run
        return _best(scores, allowed) if allowed.any() else token

    def _text(self, context: list[int]) -> str:
        return self.tokenizer.decode(context, skip_special_tokens=True)


def repeated_unit(context: list[int], token: int, copies: int) -> int | None:
    """The length of the shortest unit (at most ``MAX_UNIT_TOKENS`` tokens) that ends ``context`` ``copies``
    times in a row and begins with ``token``, so that ``token`` would begin one more copy; None if there is none."""
    if copies <= 0:
        return None
    for size in range(1, min(MAX_UNIT_TOKENS, len(context) // copies) + 1):
        unit = context[-size:]
        if unit[0] == token and context[-size * copies:] == unit * copies:
            return size
    return None


def digit_run(text: str) -> int:
    """How many ASCII digits ``text`` ends with."""
    return len(text) - len(text.rstrip("0123456789"))


def _best(scores: torch.Tensor, allowed: np.ndarray) -> int:
    """The highest-scoring token among ``allowed``."""
    masked = scores[: len(allowed)].masked_fill(torch.from_numpy(~allowed), float("-inf"))
    return int(torch.argmax(masked))
