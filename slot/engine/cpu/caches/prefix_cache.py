"""PrefixCache: key/value states of prompt prefixes (instructions + schema), reused across requests.

Bounded by bytes, least recently used first out. Entries are never handed out directly: callers get a
copy, because decoding appends to the cache it is given.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from typing import Any


def cache_nbytes(cache: Any) -> int:
    """Bytes held by a transformers Cache's key and value tensors."""
    total = 0
    for layer in getattr(cache, "layers", []):
        for name in ("keys", "values"):
            tensor = getattr(layer, name, None)
            if tensor is not None:
                total += tensor.numel() * tensor.element_size()
    return total


class PrefixCache:
    """LRU of (adapter, prefix token ids) -> key/value cache, within a byte budget."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(adapter: str | None, prefix_ids: list[int]) -> str:
        digest = hashlib.sha256(repr((adapter, prefix_ids)).encode()).hexdigest()
        return digest

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is cached now (no copy, and neither a hit nor a use for the LRU order)."""
        with self._lock:
            return key in self._entries

    def get(self, key: str) -> Any | None:
        """A private copy of the cached states, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            cache = entry[0]
        return copy.deepcopy(cache)

    def put(self, key: str, cache: Any) -> None:
        """Store a copy of the states unless it alone exceeds the budget."""
        size = cache_nbytes(cache)
        if size > self.budget:
            return
        stored = copy.deepcopy(cache)
        with self._lock:
            if key in self._entries:
                self._bytes -= self._entries.pop(key)[1]
            self._entries[key] = (stored, size)
            self._bytes += size
            while self._bytes > self.budget and self._entries:
                _, (_, freed) = self._entries.popitem(last=False)
                self._bytes -= freed
