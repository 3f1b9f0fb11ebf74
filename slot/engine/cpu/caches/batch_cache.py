"""BatchCache: the key/value states of sequences decoded together, one batch row each.

Used for models without a packed pass (float32 and bfloat16 run the transformers forward); the float16-weights
default decodes concurrent sequences with ``slot.engine.cpu.caches.packed_batch`` instead, which has no padding or
holes.

Rows join with prompts of different lengths and keep different numbers of tokens per step (each keeps
the draft prefix the model agreed with), so a row's columns are not all tokens: left padding when it
joined shorter than the others, and holes where another row kept more tokens in the same step. Those
columns are masked out of attention and each row's position ids count only its real tokens, so a row
decodes as it would alone. With one row and no holes no mask is passed at all, which keeps a lone
request bit-identical to the unbatched loop. Holes are squeezed out when they outweigh the tokens.
"""

from __future__ import annotations

from typing import Any

import torch

COMPACT_MIN_COLUMNS = 256
"""Never compact a cache narrower than this (the copy costs more than the masked columns)."""


class BatchCache:
    """A batched transformers DynamicCache plus which columns of each row hold tokens."""

    def __init__(self) -> None:
        self.cache: Any = None
        self.valid = torch.zeros((0, 0), dtype=torch.bool)
        """rows x columns: True where the column holds one of the row's tokens."""
        self.positions: list[int] = []
        """Per row: how many tokens it holds (the position id of its next token)."""

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def width(self) -> int:
        return int(self.valid.shape[1])

    def add(self, cache: Any) -> None:
        """Append a one-row cache whose columns are all tokens (a freshly prefilled request)."""
        length = cache.get_seq_length()
        if self.cache is None or not self.positions:
            self.cache, self.valid, self.positions = cache, torch.ones((1, length), dtype=torch.bool), [length]
            return
        width = max(self.width, length)
        self._pad_left(self.cache, width - self.width)
        self._pad_left(cache, width - length)
        for mine, theirs in zip(self.cache.layers, cache.layers):
            mine.keys = torch.cat([mine.keys, theirs.keys], dim=0)
            mine.values = torch.cat([mine.values, theirs.values], dim=0)
        row = torch.zeros((1, width), dtype=torch.bool)
        row[0, width - length:] = True
        self.valid = torch.cat([_pad_mask_left(self.valid, width), row], dim=0)
        self.positions.append(length)

    def remove(self, rows: list[int]) -> None:
        """Drop finished rows, then the leading columns no remaining row uses."""
        if not rows:
            return
        leaving = set(rows)
        keep = [i for i in range(len(self.positions)) if i not in leaving]
        if not keep:
            self.cache, self.valid, self.positions = None, torch.zeros((0, 0), dtype=torch.bool), []
            return
        index = torch.tensor(keep)
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[index], layer.values[index]
        self.valid = self.valid[index]
        self.positions = [self.positions[i] for i in keep]
        used = self.valid.any(dim=0).nonzero()
        first = int(used[0]) if len(used) else self.width
        if first:
            for layer in self.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]
            self.valid = self.valid[:, first:]

    def inputs(self, feeds: list[list[int]], pad_id: int) -> dict[str, Any]:
        """Model inputs for one forward pass over each row's fed tokens (right-padded to the longest)."""
        longest = max(len(feed) for feed in feeds)
        ids = torch.full((len(feeds), longest), pad_id, dtype=torch.long)
        fed = torch.zeros((len(feeds), longest), dtype=torch.bool)
        positions = torch.zeros((len(feeds), longest), dtype=torch.long)
        for row, feed in enumerate(feeds):
            ids[row, :len(feed)] = torch.tensor(feed)
            fed[row, :len(feed)] = True
            positions[row] = torch.arange(self.positions[row], self.positions[row] + longest)
        inputs: dict[str, Any] = {"input_ids": ids, "past_key_values": self.cache, "use_cache": True,
                                  "logits_to_keep": longest}
        mask = torch.cat([self.valid, fed], dim=1)
        if not bool(mask.all()):
            inputs["attention_mask"] = mask.long()
        if not bool(mask.all()) or any(position != self.width for position in self.positions):
            inputs["position_ids"] = positions
        return inputs

    def forward(self, model: Any, feeds: list[list[int]], pad_id: int) -> list[torch.Tensor]:
        """One pass over each row's fed tokens (padded with ``pad_id``): each row's logits over them."""
        logits = model(**self.inputs(feeds, pad_id)).logits
        return [logits[row, :len(feed)] for row, feed in enumerate(feeds)]

    def commit(self, kept: list[int], feeds: list[list[int]]) -> None:
        """After a forward pass over ``feeds``: row i keeps its first ``kept[i]`` tokens."""
        fed = max(len(feed) for feed in feeds)
        widest = max(kept)
        if widest < fed:
            self.cache.crop(-(fed - widest))
        new = torch.zeros((len(kept), widest), dtype=torch.bool)
        for row, count in enumerate(kept):
            new[row, :count] = True
            self.positions[row] += count
        self.valid = torch.cat([self.valid, new], dim=1)
        holes = self.valid.numel() - sum(self.positions)
        if self.width >= COMPACT_MIN_COLUMNS and holes > sum(self.positions):
            self.compact()

    def compact(self) -> None:
        """Squeeze out masked columns: each row's tokens move right-aligned into the narrowest width."""
        width = max(self.positions)
        for layer in self.cache.layers:
            for name in ("keys", "values"):
                old = getattr(layer, name)
                new = old.new_zeros((old.shape[0], old.shape[1], width, old.shape[3]))
                for row, count in enumerate(self.positions):
                    columns = self.valid[row].nonzero().squeeze(1)
                    new[row, :, width - count:] = old[row, :, columns]
                setattr(layer, name, new)
        valid = torch.zeros((len(self.positions), width), dtype=torch.bool)
        for row, count in enumerate(self.positions):
            valid[row, width - count:] = True
        self.valid = valid

    @staticmethod
    def _pad_left(cache: Any, columns: int) -> None:
        if columns <= 0:
            return
        for layer in cache.layers:
            for name in ("keys", "values"):
                old = getattr(layer, name)
                pad = old.new_zeros((old.shape[0], old.shape[1], columns, old.shape[3]))
                setattr(layer, name, torch.cat([pad, old], dim=2))


def _pad_mask_left(valid: torch.Tensor, width: int) -> torch.Tensor:
    if valid.shape[1] >= width:
        return valid
    return torch.cat([torch.zeros((valid.shape[0], width - valid.shape[1]), dtype=torch.bool), valid], dim=1)
