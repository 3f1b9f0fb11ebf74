"""AnswerStates: the key/value states of finished answers (prompt and output), kept so that resuming one is cheap.

List extension and key filling (``slot.resumption``) resume a finished answer at a chosen point: the answer up to
there is written again (``GenerationRequest.written``). The states of those tokens are the answer's own, so a request
with ``keep_states`` leaves its sequence's cache here when it finishes (handed over, not copied: the batch drops it), and
a resumption of the same prompt takes a copy cropped to the prompt and the longest common prefix of its written
tokens and the answer's, and prefills only the rest: a few tokens instead of the whole document and answer.
Bounded by bytes, least recently used first out, like the prefix cache.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

from slot.engine.cpu.caches.prefix_cache import cache_nbytes


class AnswerStates:
    """LRU of prompt key -> (the output tokens the states cover, key/value cache of prompt + those tokens)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[str, tuple[list[int], int, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether states are kept under ``key`` now (no copy, no use for the LRU order)."""
        with self._lock:
            return key in self._entries

    def put(self, key: str, prompt_tokens: int, output: list[int], cache: Any) -> None:
        """Keep ``cache`` (the states of ``prompt_tokens`` prompt tokens, then ``output``) under ``key``; the cache is
        taken as it is, so the caller must not use it again. One too big for the budget is not kept."""
        size = cache_nbytes(cache)
        if size > self.budget:
            return
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[3]
            self._entries[key] = (list(output), prompt_tokens, cache, size)
            self._bytes += size
            while self._bytes > self.budget and self._entries:
                _, (_, _, _, freed) = self._entries.popitem(last=False)
                self._bytes -= freed

    def resume(self, key: str, written: list[int]) -> tuple[Any, int] | None:
        """A private copy of the states kept under ``key``, cropped to the prompt and the longest common prefix of
        ``written`` and the kept output (leaving at least one written token to feed), and that prefix's length;
        None when nothing is kept under ``key``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            output, prompt_tokens, cache, _ = entry
            same, limit = 0, min(len(output), len(written) - 1)
            while same < limit and output[same] == written[same]:
                same += 1
            states = copy.deepcopy(cache)
        states.crop(prompt_tokens + same)
        return states, same
