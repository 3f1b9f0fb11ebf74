"""llguidance backend: Earley parser + derivative regexes; fast masks, fast-forward, rollback."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import llguidance
import llguidance.hf
import numpy as np

from slot.enforcement import GRAMMAR_KEYWORDS
from slot.grammar.base import CompiledGrammar, Matcher, bitmask_allows, unpack_bitmask
from slot.grammar.refusals import keywords_of, refusal
from slot.grammar.rewrites import REWRITABLE, rewrite
from slot.schema import FORMAT_CHECKER

_OPTIONS = {"whitespace_flexible": False}
MAX_REWRITES = 4
"""Rounds of ``slot.grammar.rewrites`` one compile may take (each acts on the keywords the last error named)."""
_UNKNOWN_FORMAT = re.compile(r"Unknown format: (.+)")


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
        """The first line of llguidance's error (the rest dumps the parser state, output included)."""
        return self._m.get_error().split("\n", 1)[0].strip() if self._m.is_error() else ""


@dataclass
class LLGuidanceGrammar(CompiledGrammar):
    grammar: str = ""
    tokenizer: Any = None
    vocab_size: int = 0

    _spare: Any = field(default=None, repr=False, compare=False)
    """The matcher the compile built (to check that one can be built); the first request gets it."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def matcher(self) -> Matcher:
        """A matcher with a parser and lexer of its own. Copies (``deep_copy``) would be cheaper (3 us instead of
        ~1-10 ms) but share the lexer: one request whose string exhausts the lexer's fuel ("too many expressions
        constructed") would break every other matcher of the grammar, running or later."""
        with self._lock:
            spare, self._spare = self._spare, None
        return LLGuidanceMatcher(spare or llguidance.LLMatcher(self.tokenizer, self.grammar, log_level=0),
                                 self.vocab_size)


class LLGuidanceBackend:
    """Compiles JSON schemas for one Hugging Face tokenizer."""

    name = "llguidance"
    enforces = GRAMMAR_KEYWORDS
    """Keywords its grammar enforces unless a compile reports them relaxed (``slot.enforcement``)."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int) -> None:
        self.tokenizer = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab_size)
        self.vocab_size = vocab_size

    def compile(self, schema: dict[str, Any] | bool, schema_hash: str) -> CompiledGrammar:
        """The exact grammar when llguidance can build one; otherwise the closest one (its ``lenient`` compile:
        ``oneOf`` as ``anyOf``, ``not``, ``if``/``then``/``else``, ``dependent*``... left out), every keyword it
        relaxed listed in ``post_checked``. A relaxation no rule in ``slot.grammar.refusals`` names is refused.
        Where even the lenient compile fails on bounds, regexes or ``$ref`` siblings, the document is rewritten for
        the grammar (``slot.grammar.rewrites``) and the keywords dropped are listed as relaxed too."""
        started = time.perf_counter()
        document, dropped = schema, set()
        for _ in range(MAX_REWRITES + 1):
            grammar, is_error, messages = self._grammar(document, lenient=False)
            if is_error:
                grammar, is_error, messages = self._grammar(document, lenient=True)
            if not is_error:
                break
            error = refusal(self.name, "; ".join(messages), document)
            named = set(error.keyword.split(",")) if error.keyword else set()
            rewritten = rewrite(document, named, self._fails) if named and named <= REWRITABLE else None
            if rewritten is None or not rewritten.changed:
                raise error
            document, dropped = rewritten.document, dropped | rewritten.dropped
        else:
            raise error
        relaxed = Relaxation.of(messages, document)  # the warnings of the compile that served: all it left out
        if relaxed.unknown:  # a relaxation no rule names: refused rather than left unsaid
            raise refusal(self.name, "; ".join(relaxed.unknown), document)
        spare = llguidance.LLMatcher(self.tokenizer, grammar, log_level=0)
        if spare.is_error():
            raise refusal(self.name, spare.get_error().split("\n", 1)[0], document)
        checked, unchecked = relaxed.formats()
        post_checked = sorted((relaxed.keywords - {"format"}) | ({"format"} if checked else set()) | dropped)
        return LLGuidanceGrammar(backend=self.name, schema_hash=schema_hash,
                                 compile_ms=(time.perf_counter() - started) * 1000, post_checked=post_checked,
                                 unchecked=[f"format:{name}" for name in unchecked],
                                 document=None if document is schema else document, grammar=grammar,
                                 tokenizer=self.tokenizer, vocab_size=self.vocab_size, _spare=spare)

    def _grammar(self, schema: dict[str, Any] | bool, *, lenient: bool) -> tuple[str, bool, list[str]]:
        """The grammar of a schema, whether building or validating it failed, and the error or warnings."""
        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(
                schema, defaults=dict(_OPTIONS), overrides={"lenient": True} if lenient else None)
        except (ValueError, TypeError, RuntimeError) as exc:  # e.g. "Value is not JSON serializable" (2**64)
            return "", True, [str(exc)]
        is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, self.tokenizer)
        return grammar, is_error, list(messages)

    def _fails(self, probe: dict[str, Any]) -> bool:
        """Whether llguidance cannot compile a small schema for a limit of its own (``slot.grammar.rewrites``'
        probe): not when the schema admits no value ("Unsatisfiable schema"), which stays a refusal."""
        _, is_error, messages = self._grammar(probe, lenient=True)
        return is_error and not all(message.startswith("Unsatisfiable schema") for message in messages)


@dataclass
class Relaxation:
    """What llguidance's messages say the grammar leaves out: keywords, format names, and messages no rule knows."""

    keywords: set[str] = field(default_factory=set)
    format_names: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, messages: list[str], schema: Any) -> "Relaxation":
        relaxation = cls()
        for message in messages:
            named = keywords_of(message, schema)
            if not named:
                relaxation.unknown.append(message)
            relaxation.keywords.update(named)
            found = _UNKNOWN_FORMAT.search(message)
            if found:
                relaxation.format_names.add(found.group(1).strip())
        return relaxation

    def formats(self) -> tuple[list[str], list[str]]:
        """The formats the grammar leaves out, split into those post-validation checks (jsonschema knows them)
        and the rest: names no checker knows are annotations, neither enforced nor checked."""
        known = set(FORMAT_CHECKER.checkers)
        return sorted(self.format_names & known), sorted(self.format_names - known)
