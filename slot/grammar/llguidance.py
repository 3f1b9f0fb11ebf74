"""llguidance backend: Earley parser + derivative regexes; fast masks, fast-forward, rollback."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import llguidance
import llguidance.hf
import numpy as np

from slot.errors import UnsupportedSchemaError
from slot.grammar.base import CompiledGrammar, Matcher, bitmask_allows, unpack_bitmask

POST_CHECKED = {"uniqueItems", "dependentRequired", "contains", "minContains", "maxContains", "propertyNames", "format"}
"""Keywords llguidance cannot enforce that jsonschema checks after decoding (the result says valid=false)."""

_OPTIONS = {"whitespace_flexible": False}


class LLGuidanceMatcher(Matcher):
    def __init__(self, matcher: llguidance.LLMatcher, vocab_size: int) -> None:
        self._m = matcher
        self._vocab = vocab_size

    def mask(self) -> np.ndarray:
        return unpack_bitmask(self._m.compute_bitmask(), self._vocab)

    def allows(self, token: int) -> bool:
        return token < self._vocab and bitmask_allows(self._m.compute_bitmask(), token)

    def consume(self, tokens: list[int]) -> bool:
        if self._m.validate_tokens(tokens) != len(tokens):
            return False
        return self._m.consume_tokens(tokens)

    def validate(self, tokens: list[int]) -> int:
        return self._m.validate_tokens(tokens) if tokens else 0

    def rollback(self, count: int) -> None:
        if count:
            self._m.rollback(count)

    def forced(self) -> list[int]:
        return list(self._m.compute_ff_tokens())

    def forced_text(self) -> str:
        data = self._m.compute_ff_bytes()
        for end in range(len(data), max(-1, len(data) - 4), -1):  # drop a cut multi-byte character
            try:
                return bytes(data[:end]).decode("utf-8")
            except UnicodeDecodeError:
                continue
        return ""

    def is_stopped(self) -> bool:
        return self._m.is_stopped()

    def is_accepting(self) -> bool:
        return self._m.is_accepting()

    @property
    def error(self) -> str:
        return self._m.get_error()


@dataclass
class LLGuidanceGrammar(CompiledGrammar):
    grammar: str = ""
    tokenizer: Any = None
    vocab_size: int = 0

    _pristine: Any = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def matcher(self) -> Matcher:
        """A copy of one pristine matcher per grammar: deep_copy is cheaper than building the parser again."""
        with self._lock:
            if self._pristine is None:
                self._pristine = llguidance.LLMatcher(self.tokenizer, self.grammar, log_level=0)
            fresh = self._pristine.deep_copy()
        return LLGuidanceMatcher(fresh, self.vocab_size)


class LLGuidanceBackend:
    """Compiles JSON schemas for one Hugging Face tokenizer."""

    name = "llguidance"

    def __init__(self, hf_tokenizer: Any, vocab_size: int) -> None:
        self.tokenizer = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab_size)
        self.vocab_size = vocab_size

    def compile(self, schema: dict[str, Any] | bool, schema_hash: str) -> CompiledGrammar:
        started = time.perf_counter()
        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=dict(_OPTIONS))
        except (ValueError, TypeError, RuntimeError) as exc:
            raise UnsupportedSchemaError(f"the grammar engine cannot compile this schema: {exc}") from None
        is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, self.tokenizer)
        post_checked: list[str] = []
        if is_error:
            unimplemented = _unimplemented(messages)
            if not unimplemented or not unimplemented <= POST_CHECKED:
                raise UnsupportedSchemaError(f"the grammar engine cannot enforce this schema: {'; '.join(messages)}",
                                             keyword=",".join(sorted(unimplemented - POST_CHECKED)))
            grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=dict(_OPTIONS),
                                                                    overrides={"lenient": True})
            is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, self.tokenizer)
            if is_error:
                raise UnsupportedSchemaError(f"the grammar engine cannot enforce this schema: {'; '.join(messages)}")
            post_checked = sorted(unimplemented)
        return LLGuidanceGrammar(backend=self.name, schema_hash=schema_hash,
                                 compile_ms=(time.perf_counter() - started) * 1000, post_checked=post_checked,
                                 grammar=grammar, tokenizer=self.tokenizer, vocab_size=self.vocab_size)


def _unimplemented(messages: list[str]) -> set[str]:
    import json

    keys: set[str] = set()
    for message in messages:
        marker = "Unimplemented keys: "
        if marker in message:
            try:
                keys.update(json.loads(message.split(marker, 1)[1].strip()))
            except ValueError:
                return set()
        elif message.startswith("Unknown format: "):
            keys.add("format")  # an unknown format is an annotation: jsonschema checks known ones after decoding
        else:
            return set()
    return keys
