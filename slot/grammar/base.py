"""The grammar interface: a backend compiles a schema once; each request gets its own matcher.

Backends (one module each): llguidance (default), xgrammar, outlines_core. The decoding loop in
``slot.engine`` only talks to :class:`Matcher`, so every backend gets fast-forward and speculation.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slot.enforcement import Enforcement


class Matcher(abc.ABC):
    """Per-request grammar state: which tokens may come next, and what was consumed."""

    @abc.abstractmethod
    def mask(self) -> np.ndarray:
        """Boolean array over the vocabulary: True where the token is allowed next."""

    @abc.abstractmethod
    def consume(self, tokens: list[int]) -> bool:
        """Advance over tokens; False (and no change) if any is not allowed."""

    def allows(self, token: int) -> bool:
        """Whether the mask allows ``token`` next (backends override it to skip unpacking the whole mask)."""
        allowed = self.mask()
        return 0 <= token < len(allowed) and bool(allowed[token])

    @abc.abstractmethod
    def validate(self, tokens: list[int]) -> int:
        """How many leading tokens of a draft the grammar would accept, without consuming them."""

    @abc.abstractmethod
    def rollback(self, count: int) -> None:
        """Undo the last ``count`` consumed tokens."""

    @abc.abstractmethod
    def forced(self) -> list[int]:
        """Tokens the grammar forces next (fast-forward); empty when there is a choice."""

    def forced_text(self) -> str:
        """Text the grammar forces next, including bytes whose tokenization is still open (e.g. ``":"``
        after a key); empty when unknown or when there is a choice."""
        return ""

    @abc.abstractmethod
    def is_stopped(self) -> bool:
        """True when nothing but end-of-sequence may follow."""

    @abc.abstractmethod
    def is_accepting(self) -> bool:
        """True when the text so far is a complete sentence of the grammar."""

    @property
    def error(self) -> str:
        """Why the matcher broke (e.g. a resource limit of the engine hit mid-output); empty while it works. A broken
        matcher allows nothing but the end, so decoding must end its request with this error, not as a stop."""
        return ""


@dataclass
class CompiledGrammar(abc.ABC):
    """A schema compiled for one tokenizer by one backend; cheap to instantiate matchers from."""

    backend: str
    schema_hash: str
    compile_ms: float
    post_checked: list[str] = field(default_factory=list)
    """Schema keywords the grammar does not enforce; they are checked after decoding instead."""
    unchecked: list[str] = field(default_factory=list)
    """What neither the grammar nor post-validation enforces: ``format:NAME`` for format names no checker knows
    (annotations, as JSON Schema treats unknown formats)."""
    document: Any = field(default=None, repr=False, compare=False)
    """The document the grammar was built from where the backend rewrote the one given (``slot.grammar.rewrites``);
    None when it is the one given. Engines that compile the schema themselves (vLLM) must use it."""

    enforcement: Enforcement | None = field(default=None, repr=False, compare=False)
    """What enforces each keyword of the schema (``slot.enforcement``); set by the GrammarCache that compiled it."""

    @property
    def relaxed(self) -> bool:
        """Whether the grammar leaves keywords out (post-checked or unchecked): engines that compile the schema
        themselves (vLLM) must then compile it leniently too."""
        return bool(self.post_checked or self.unchecked)

    @abc.abstractmethod
    def matcher(self) -> Matcher:
        """A fresh matcher at the start of the grammar."""


def _bitmask_bytes(bits: Any) -> np.ndarray:
    """The bytes of little-endian 32-bit bitmask words (bytes or int32 array): token t is bit t % 8 of byte t // 8."""
    return np.frombuffer(bits, dtype=np.uint8) if isinstance(bits, (bytes, bytearray)) else np.asarray(bits).view(np.uint8)


def bitmask_allows(bits: Any, token: int) -> bool:
    """One token's bit of a bitmask, as ``unpack_bitmask`` reads it."""
    raw = _bitmask_bytes(bits)
    return 0 <= token < 8 * len(raw) and bool(raw[token >> 3] >> (token & 7) & 1)


def unpack_bitmask(bits: Any, vocab_size: int) -> np.ndarray:
    """Little-endian 32-bit bitmask words (bytes or int32 array) -> boolean array of vocab_size."""
    raw = _bitmask_bytes(bits)
    return np.unpackbits(raw, bitorder="little")[:vocab_size].astype(bool)
