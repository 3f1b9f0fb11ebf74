"""xgrammar backend: pushdown automaton with precomputed token masks; compact JSON separators."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgrammar as xgr

from slot.grammar.base import CompiledGrammar, Matcher, unpack_bitmask
from slot.grammar.refusals import refusal


class XGrammarMatcher(Matcher):
    def __init__(self, matcher: xgr.GrammarMatcher, tokenizer: Any, vocab_size: int) -> None:
        self._m = matcher
        self._tokenizer = tokenizer
        self._vocab = vocab_size
        self._bitmask = xgr.allocate_token_bitmask(1, vocab_size)

    def mask(self) -> np.ndarray:
        self._m.fill_next_token_bitmask(self._bitmask)
        return unpack_bitmask(self._bitmask[0].numpy(), self._vocab)

    def consume(self, tokens: list[int]) -> bool:
        accepted = 0
        for token in tokens:
            if not self._m.accept_token(token):
                self._m.rollback(accepted) if accepted else None
                return False
            accepted += 1
        return True

    def validate(self, tokens: list[int]) -> int:
        accepted = 0
        for token in tokens:
            if not self._m.accept_token(token):
                break
            accepted += 1
        if accepted:
            self._m.rollback(accepted)
        return accepted

    def rollback(self, count: int) -> None:
        if count:
            self._m.rollback(count)

    def forced(self) -> list[int]:
        text = self._m.find_jump_forward_string()
        return self._tokenizer.encode(text, add_special_tokens=False) if text else []

    def is_stopped(self) -> bool:
        return self._m.is_terminated() or (self._m.is_completed() and not self.mask().sum() > 1)

    def is_accepting(self) -> bool:
        return self._m.is_completed()


@dataclass
class XGrammarGrammar(CompiledGrammar):
    compiled: Any = None
    tokenizer: Any = None
    vocab_size: int = 0

    def matcher(self) -> Matcher:
        return XGrammarMatcher(xgr.GrammarMatcher(self.compiled), self.tokenizer, self.vocab_size)


class XGrammarBackend:
    """Compiles JSON schemas for one Hugging Face tokenizer."""

    name = "xgrammar"
    enforces = frozenset({"type", "enum", "const", "multipleOf", "minimum", "maximum", "exclusiveMinimum",
                          "exclusiveMaximum", "minLength", "maxLength", "pattern", "items", "prefixItems", "minItems",
                          "maxItems", "properties", "required", "additionalProperties", "minProperties",
                          "maxProperties", "anyOf", "$ref"})
    """Keywords its grammar was seen to enforce (a violating value refused); it compiles non-strictly and names
    nothing it leaves out, so every other keyword is reported post-checked (``slot.enforcement``)."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int) -> None:
        info = xgr.TokenizerInfo.from_huggingface(hf_tokenizer, vocab_size=vocab_size)
        self.compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self.tokenizer = hf_tokenizer
        self.vocab_size = vocab_size

    def compile(self, schema: dict[str, Any] | bool, schema_hash: str) -> CompiledGrammar:
        started = time.perf_counter()
        try:
            compiled = self.compiler.compile_json_schema(json.dumps(schema), any_whitespace=False,
                                                         separators=(",", ":"), strict_mode=False)
        except (RuntimeError, ValueError) as exc:
            raise refusal(self.name, str(exc), schema) from None
        return XGrammarGrammar(backend=self.name, schema_hash=schema_hash,
                               compile_ms=(time.perf_counter() - started) * 1000, compiled=compiled,
                               tokenizer=self.tokenizer, vocab_size=self.vocab_size)

