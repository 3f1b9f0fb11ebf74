"""PackedBatch: sequences decoded together without padding, each on its own key/value cache.

``BatchCache`` lays the running sequences out as rows of one padded tensor: every row is computed as wide as
the longest draft of the pass, and attends over the holes other rows' drafts left in it. A model with a
packed pass (``LeanLlama.packed``, the float16-weights default) instead takes the fed tokens of all sequences
side by side in one row and attends per sequence over its own cache, so a pass computes exactly the tokens
fed. 8 sequences of 130-900 cached tokens feeding 1-8 tokens each (43 in all): 250 -> 186 ms a pass on 2 cores.
A sequence's logits differ from its solo pass only as a wider product's do (~1e-5; ``tests/test_batching.py``
checks that concurrent outputs equal solo ones).
"""

from __future__ import annotations

from typing import Any

import torch


class PackedBatch:
    """The caches of the running sequences, in row order, for a model's ``packed`` pass."""

    def __init__(self) -> None:
        self.caches: list[Any] = []

    def __len__(self) -> int:
        return len(self.caches)

    def add(self, cache: Any) -> None:
        """Append a freshly prefilled sequence's cache (it is used as it is, not copied)."""
        self.caches.append(cache)

    def remove(self, rows: list[int]) -> None:
        """Drop the caches of finished rows."""
        leaving = set(rows)
        self.caches = [cache for row, cache in enumerate(self.caches) if row not in leaving]

    def forward(self, model: Any, feeds: list[list[int]], pad_id: int) -> list[torch.Tensor]:
        """One pass over each row's fed tokens: each row's logits over them (``pad_id`` is not needed)."""
        return model.packed(feeds, self.caches)

    def commit(self, kept: list[int], feeds: list[list[int]]) -> None:
        """After a pass: row i keeps its first ``kept[i]`` fed tokens."""
        for cache, count, feed in zip(self.caches, kept, feeds):
            if count < len(feed):
                cache.crop(-(len(feed) - count))
