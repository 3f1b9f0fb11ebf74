"""outlines_core backend: the schema becomes a regex, the regex a token-level index (DFA)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from outlines_core import Guide, Index, Vocabulary
from outlines_core.json_schema import build_regex_from_schema

from slot.grammar.base import CompiledGrammar, Matcher
from slot.grammar.refusals import refusal


class OutlinesCoreMatcher(Matcher):
    def __init__(self, guide: Guide, vocab_size: int, eos: int) -> None:
        self._g = guide
        self._vocab = vocab_size
        self._eos = eos

    def mask(self) -> np.ndarray:
        allowed = np.zeros(self._vocab, dtype=bool)
        allowed[[t for t in self._g.get_tokens() if t < self._vocab]] = True
        return allowed

    def consume(self, tokens: list[int]) -> bool:
        if self.validate(tokens) != len(tokens):
            return False
        for token in tokens:
            self._g.advance(token)
        return True

    def validate(self, tokens: list[int]) -> int:
        for n in range(len(tokens), 0, -1):
            if self._g.accepts_tokens(tokens[:n]):
                return n
        return 0

    def rollback(self, count: int) -> None:
        if count:
            self._g.rollback_state(count)

    def forced(self) -> list[int]:
        allowed = self._g.get_tokens()
        return list(allowed) if len(allowed) == 1 and allowed[0] != self._eos else []

    def is_stopped(self) -> bool:
        return self._g.is_finished() and list(self._g.get_tokens()) == [self._eos]

    def is_accepting(self) -> bool:
        return self._g.is_finished()


@dataclass
class OutlinesCoreGrammar(CompiledGrammar):
    index: Any = None
    vocab_size: int = 0
    eos: int = 0

    def matcher(self) -> Matcher:
        return OutlinesCoreMatcher(Guide(self.index, max_rollback=4096), self.vocab_size, self.eos)


class OutlinesCoreBackend:
    """Compiles JSON schemas (via a regex) for one Hugging Face tokenizer."""

    name = "outlines_core"
    enforces = frozenset({"type", "enum", "const", "minLength", "maxLength", "pattern", "items", "prefixItems",
                          "minItems", "maxItems", "properties", "minProperties", "maxProperties", "anyOf", "$ref"})
    """Keywords its regex was seen to enforce (a violating value refused); it names nothing it leaves out, so every
    other keyword is reported post-checked (``slot.enforcement``)."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int) -> None:
        eos = hf_tokenizer.eos_token_id
        formatted: dict[str, list[int]] = {}
        for token, token_id in hf_tokenizer.get_vocab().items():
            if token_id == eos or token_id >= vocab_size:
                continue
            formatted.setdefault(hf_tokenizer.convert_tokens_to_string([token]), []).append(token_id)
        self.vocabulary = Vocabulary(eos, formatted)
        self.vocab_size = vocab_size
        self.eos = eos

    def compile(self, schema: dict[str, Any] | bool, schema_hash: str) -> CompiledGrammar:
        started = time.perf_counter()
        try:
            regex = build_regex_from_schema(json.dumps(schema), r"")
            index = Index(regex, self.vocabulary)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise refusal(self.name, str(exc), schema) from None
        return OutlinesCoreGrammar(backend=self.name, schema_hash=schema_hash,
                                   compile_ms=(time.perf_counter() - started) * 1000, index=index,
                                   vocab_size=self.vocab_size, eos=self.eos)
