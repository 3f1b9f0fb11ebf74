"""GrowingLayer: a key/value cache layer that appends in place instead of copying itself every pass.

transformers' ``DynamicLayer`` concatenates the cached keys and values with the new ones on every pass, so a
decoding pass copies the whole cache of every layer: ~1.2 MB per layer at 700 tokens, about 5 ms of a 30-50 ms
pass on 2 CPU cores. Here ``keys``/``values`` are views of the first ``length`` columns of buffers with spare
columns: a pass writes only its new columns, and a crop (a rejected draft tail) only shortens the view. The
numbers are the same as ``DynamicLayer``'s (copies are exact, and attention reads the same values through a
strided view; ``tests/test_lean_llama.py`` checks the logits bitwise, ``tests/test_growing_cache.py`` the states).

Everything that assigns ``keys``/``values`` (``BatchCache`` joining, removing, padding and compacting rows)
keeps working: an assigned tensor becomes the buffer as it is, and the next append re-grows it. A deep copy
(the prefix cache's) holds only the used columns.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from transformers import DynamicCache, DynamicLayer

SPARE_COLUMNS = 256
"""Columns added beyond the need when a buffer grows (at least; a quarter of the length for long caches):
256 columns of SmolLM2's 30 layers hold 12 MB per batch row, and cover ~35 decoding passes of 7 tokens."""


def _grow(buffer: torch.Tensor | None, length: int, new: torch.Tensor) -> tuple[torch.Tensor, int]:
    """``buffer``'s first ``length`` columns followed by ``new``: (the buffer holding them, the new length)."""
    need = length + new.shape[-2]
    fits = buffer is not None and buffer.dim() == 4 and buffer.shape[-2] >= need \
        and buffer.shape[:2] == new.shape[:2] and buffer.shape[-1] == new.shape[-1] and buffer.dtype == new.dtype
    if not fits:
        if buffer is not None and buffer.dim() == 4 and length and buffer.shape[:2] != new.shape[:2]:
            torch.cat([buffer[..., :length, :], new], dim=-2)  # raises what DynamicLayer would raise
        batch, heads, _, width = new.shape
        grown = new.new_empty((batch, heads, need + max(SPARE_COLUMNS, need // 4), width))
        if buffer is not None and buffer.dim() == 4 and length:
            grown[..., :length, :] = buffer[..., :length, :]
        buffer = grown
    buffer[..., length:need, :] = new
    return buffer, need


class GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` whose states grow into spare columns; ``keys``/``values`` are views of the used ones."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor | None] = {"keys": None, "values": None}
        self._lengths: dict[str, int] = {"keys": 0, "values": 0}
        super().__init__()

    def _get(self, name: str) -> torch.Tensor | None:
        buffer = self._buffers[name]
        if buffer is None or buffer.dim() != 4 or buffer.shape[-2] == self._lengths[name]:
            return buffer
        return buffer[..., :self._lengths[name], :]

    def _set(self, name: str, tensor: torch.Tensor | None) -> None:
        self._buffers[name] = tensor
        self._lengths[name] = tensor.shape[-2] if tensor is not None and tensor.dim() == 4 else 0

    keys = property(lambda self: self._get("keys"), lambda self, tensor: self._set("keys", tensor))
    values = property(lambda self: self._get("values"), lambda self, tensor: self._set("values", tensor))

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        for name, new in (("keys", key_states), ("values", value_states)):
            self._buffers[name], self._lengths[name] = _grow(self._buffers[name], self._lengths[name], new)
        return self.keys, self.values  # type: ignore[return-value] - both set just above

    def crop(self, tokens_to_remove: int) -> None:
        """Forget the last ``-tokens_to_remove`` columns (a positive value: keep that many, as transformers)."""
        length = self.get_seq_length()
        keep = tokens_to_remove if tokens_to_remove > 0 else length + tokens_to_remove
        if 0 <= keep < length:
            self._lengths["keys"] = self._lengths["values"] = keep

    def __deepcopy__(self, memo: dict[int, Any]) -> "GrowingLayer":
        copied = GrowingLayer()
        for name, value in self.__dict__.items():
            if name not in ("_buffers", "_lengths"):
                setattr(copied, name, copy.deepcopy(value, memo))
        for name in ("keys", "values"):
            tensor = self._get(name)
            copied._set(name, None if tensor is None else tensor.clone(memory_format=torch.contiguous_format))
        return copied


def growing_cache(config: Any = None) -> DynamicCache:
    """A ``DynamicCache`` for ``config`` whose full-attention layers are GrowingLayers (sliding-window layers,
    which drop old columns, stay as transformers makes them); without a config, layers are made on first use."""
    cache = DynamicCache(config=config) if config is not None else DynamicCache()
    if cache.layer_class_to_replicate is DynamicLayer:
        cache.layer_class_to_replicate = GrowingLayer
    cache.layers = [GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache
