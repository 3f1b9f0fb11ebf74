"""GrammarCache: compiles schemas with a chosen backend, bounded in time and in memory (LRU).

A compile cannot be interrupted. Each one runs in its own daemon thread, so its timeout counts from
its start (never from a queue) and a compile abandoned at the timeout holds no shared worker; at most
``max_abandoned`` such compiles may still be running, beyond that new ones are refused
RESOURCE_EXHAUSTED until some finish. Daemon threads never delay the process's exit.

A schema the grammar can only approximate (``Enforcement.relaxed_keywords``) is served relaxed by default; a
strict request refuses it instead, naming the keywords. Strict and relaxed grammars are cached apart.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib
import json
import threading
from collections import OrderedDict
from typing import Any, Callable

from slot.closed_objects import closed_copy
from slot.enforcement import enforcement
from slot.errors import InvalidRequestError, OverloadedError, UnsupportedSchemaError
from slot.grammar.base import CompiledGrammar
from slot.grammar.refusals import quoted, refusal
from slot.schema import Schema

BACKENDS = {
    "llguidance": ("slot.grammar.llguidance", "LLGuidanceBackend"),
    "xgrammar": ("slot.grammar.xgrammar", "XGrammarBackend"),
    "outlines_core": ("slot.grammar.outlines_core", "OutlinesCoreBackend"),
}
MAX_ABANDONED = 4
"""Compiles past their timeout that may still be running before new compiles are refused."""


def grammar_key(schema: Schema) -> str:
    """The cache key of a schema's grammars: sha256 of its text with keys in the order given.

    ``Schema.hash`` is taken over key-sorted text, so two schemas equal up to key order share it. Their grammars
    differ: an object's keys are written in the order ``properties`` declares them, and a ``const``/``enum``
    object as the schema writes it. Keyed by the hash alone, the answer to one request would depend on which
    spelling of the schema the cache saw first."""
    text = json.dumps(schema.document, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class GrammarCache:
    """Compiled grammars keyed by (backend, schema text in its own key order) for one tokenizer; least recently
    used evicted."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int, *, capacity: int = 256,
                 compile_timeout_s: float = 10.0, max_abandoned: int = MAX_ABANDONED,
                 close_objects: bool = True) -> None:
        self._tokenizer = hf_tokenizer
        self.close_objects = close_objects
        """Compile open objects closed (``slot.closed_objects``); the cache holds one kind per instance."""
        self._vocab_size = vocab_size
        self._capacity = capacity
        self._timeout = compile_timeout_s
        self._entries: OrderedDict[tuple[str, str, bool], CompiledGrammar] = OrderedDict()
        """Keyed by (backend, ``grammar_key``, strict): the schema's hash ignores key order, the grammar does not."""
        self._backends: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._max_abandoned = max_abandoned
        self.abandoned = 0
        """Compiles abandoned at the timeout that are still running."""
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

    def document(self, schema: Schema) -> dict[str, Any]:
        """The schema document grammars are built from: ``true`` as ``{}``, open objects closed when
        close_objects is on. Raises for ``false``, which admits no value."""
        return self._closed(schema)[0]

    def _closed(self, schema: Schema) -> tuple[dict[str, Any], list[str]]:
        """The grammar's document (``document``) and the JSON Pointers of the objects closed in it."""
        document = schema.document
        if document is False:
            raise UnsupportedSchemaError("the schema `false` admits no value at all", keyword="false")
        if document is True:
            return {}, []  # `true` admits any JSON value
        return closed_copy(document) if self.close_objects else (document, [])

    def get(self, schema: Schema, backend: str, *, strict: bool = False) -> tuple[CompiledGrammar, bool]:
        """The compiled grammar and whether it came from the cache. ``strict`` refuses (UnsupportedSchemaError
        naming the keywords) a schema the grammar would relax; by default it is served relaxed."""
        key = (backend, grammar_key(schema), strict)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found, True
        compiler = self.backend(backend)
        document, closed = self._closed(schema)
        try:
            compiled = self.bounded(compiler.compile, document, schema.hash)
        except (ValueError, TypeError, RuntimeError, OverflowError) as exc:  # a backend's own parse error
            raise refusal(backend, str(exc), document) from None
        compiled.enforcement = enforcement(schema, enforces=compiler.enforces, relaxed=compiled.post_checked,
                                           unchecked=compiled.unchecked, closed_paths=closed)
        if strict and compiled.enforcement.relaxed:
            raise strict_refusal(backend, compiled.enforcement.relaxed_keywords)
        with self._lock:
            self.misses += 1
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return compiled, False

    def bounded(self, compile_fn: Callable[..., Any], *args: Any) -> Any:
        """``compile_fn(*args)`` in a thread of its own under this cache's compile timeout and abandoned-compile
        bound (``get`` compiles this way; benchmarks time other compilers under the same rules). Raises
        UnsupportedSchemaError (keyword ``limits``) past the timeout, OverloadedError when too many still run."""
        future = self._start(compile_fn, *args)
        try:
            return future.result(timeout=self._timeout)
        except concurrent.futures.TimeoutError:
            self._abandon(future)
            raise UnsupportedSchemaError(f"compiling the schema took longer than {self._timeout:g} s; "
                                         "simplify it (patterns, enums, nesting)", keyword="limits") from None

    def _start(self, compile_fn: Callable[..., CompiledGrammar], *args: Any) -> concurrent.futures.Future[Any]:
        """Run one compile in a daemon thread of its own; refuse when too many abandoned ones still run."""
        with self._lock:
            if self.abandoned >= self._max_abandoned:
                raise OverloadedError(f"grammar compile capacity exhausted: {self.abandoned} compiles that took "
                                      f"longer than {self._timeout:g} s are still running; retry later",
                                      field="grammar compilation")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(compile_fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)

        threading.Thread(target=run, name="grammar-compile", daemon=True).start()
        return future

    def _abandon(self, future: concurrent.futures.Future[Any]) -> None:
        """Count a compile given up on until its thread ends (its result is dropped)."""
        with self._lock:
            self.abandoned += 1

        def release(_: Any) -> None:
            with self._lock:
                self.abandoned -= 1

        future.add_done_callback(release)


def strict_refusal(backend: str, keywords: list[str]) -> UnsupportedSchemaError:
    """The refusal of a strict request whose schema the grammar would relax."""
    names = quoted(keywords)
    return UnsupportedSchemaError(f"strict: the {backend} grammar cannot enforce {names} in this schema exactly; "
                                  f"without strict the schema is served relaxed ({names} checked after decoding, "
                                  "an output breaking them decoded again)", keyword=",".join(keywords))
