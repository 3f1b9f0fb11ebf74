"""GrammarCache: compiles schemas with a chosen backend, bounded in time and in memory (LRU)."""

from __future__ import annotations

import concurrent.futures
import importlib
import threading
from collections import OrderedDict
from typing import Any

from slot.errors import InvalidRequestError, UnsupportedSchemaError
from slot.grammar.base import CompiledGrammar
from slot.schema import Schema

BACKENDS = {
    "llguidance": ("slot.grammar.llguidance", "LLGuidanceBackend"),
    "xgrammar": ("slot.grammar.xgrammar", "XGrammarBackend"),
    "outlines_core": ("slot.grammar.outlines_core", "OutlinesCoreBackend"),
}


class GrammarCache:
    """Compiled grammars keyed by (backend, schema hash) for one tokenizer; least recently used evicted."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int, *, capacity: int = 256,
                 compile_timeout_s: float = 10.0) -> None:
        self._tokenizer = hf_tokenizer
        self._vocab_size = vocab_size
        self._capacity = capacity
        self._timeout = compile_timeout_s
        self._entries: OrderedDict[tuple[str, str], CompiledGrammar] = OrderedDict()
        self._backends: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="grammar-compile")
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def backend(self, name: str) -> Any:
        """The backend object for a name, created on first use (its tokenizer setup takes ~0.5 s)."""
        if name not in BACKENDS:
            raise InvalidRequestError(f"unknown grammar backend {name!r}; use one of {', '.join(BACKENDS)}",
                                      field="options.grammar_backend")
        with self._lock:
            if name not in self._backends:
                module, cls = BACKENDS[name]
                self._backends[name] = getattr(importlib.import_module(module), cls)(self._tokenizer, self._vocab_size)
            return self._backends[name]

    def get(self, schema: Schema, backend: str) -> tuple[CompiledGrammar, bool]:
        """The compiled grammar and whether it came from the cache."""
        key = (backend, schema.hash)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found, True
        compiler = self.backend(backend)
        document = schema.document
        if document is False:
            raise UnsupportedSchemaError("the schema `false` admits no value at all", keyword="false")
        if document is True:
            document = {}  # `true` admits any JSON value
        future = self._pool.submit(compiler.compile, document, schema.hash)
        try:
            compiled = future.result(timeout=self._timeout)
        except (ValueError, TypeError, RuntimeError, OverflowError) as exc:  # a backend's own parse error
            raise UnsupportedSchemaError(f"the {backend} grammar engine cannot compile this schema: {exc}") from None
        except concurrent.futures.TimeoutError:
            raise UnsupportedSchemaError(f"compiling the schema took longer than {self._timeout:g} s; "
                                         "simplify it (patterns, enums, nesting)", keyword="limits") from None
        with self._lock:
            self.misses += 1
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return compiled, False
