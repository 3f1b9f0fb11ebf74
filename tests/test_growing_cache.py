"""GrowingLayer holds exactly what transformers' DynamicLayer holds, through appends, crops and assignments.

The logits through a growing cache are checked bitwise against a DynamicCache in tests/test_lean_llama.py
(tiny and real model, single sequences and BatchCache batches).
"""

from __future__ import annotations

import copy
import random

import pytest
import torch
from transformers import DynamicLayer, LlamaConfig

from slot.engine.cpu.caches import growing_cache as growing
from slot.engine.cpu.caches.growing_cache import GrowingLayer, growing_cache


def _columns(rng: random.Random, count: int, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(batch, 3, count, 8), torch.randn(batch, 3, count, 8)


def _same(a, b) -> None:
    assert a.get_seq_length() == b.get_seq_length()
    assert torch.equal(a.keys, b.keys) and torch.equal(a.values, b.values)


@pytest.mark.parametrize("spare", [1, 7, growing.SPARE_COLUMNS])
def test_appends_crops_and_assignments_match_dynamic_layer(monkeypatch, spare):
    monkeypatch.setattr(growing, "SPARE_COLUMNS", spare)
    rng = random.Random(spare)
    torch.manual_seed(spare)
    mine, theirs = GrowingLayer(), DynamicLayer()
    for step in range(120):
        action = rng.random()
        if action < 0.6 or mine.get_seq_length() == 0:
            keys, values = _columns(rng, rng.randint(1, 30))
            returned = mine.update(keys, values)
            expected = theirs.update(keys, values)
            assert torch.equal(returned[0], expected[0]) and torch.equal(returned[1], expected[1])
        elif action < 0.85:
            drop = rng.randint(0, mine.get_seq_length())
            mine.crop(-drop)
            theirs.crop(-drop)
        elif action < 0.95:  # what BatchCache.remove does: keep some rows, drop leading columns
            first = rng.randint(0, mine.get_seq_length() // 2)
            for layer in (mine, theirs):
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]
        else:  # BatchCache._pad_left
            for layer in (mine, theirs):
                pad = torch.zeros(2, 3, 4, 8)
                layer.keys, layer.values = torch.cat([pad, layer.keys], dim=2), torch.cat([pad, layer.values], dim=2)
        _same(mine, theirs)
    assert mine.get_seq_length() > 0


def test_appending_writes_in_place_until_the_spare_columns_run_out():
    rng = random.Random(0)
    layer = GrowingLayer()
    layer.update(*_columns(rng, 10))
    buffer = layer.keys.untyped_storage().data_ptr()
    for _ in range(growing.SPARE_COLUMNS // 5):
        layer.update(*_columns(rng, 5))
        layer.crop(-2)
    assert layer.keys.untyped_storage().data_ptr() == buffer  # no copy of the cache per pass
    layer.update(*_columns(rng, growing.SPARE_COLUMNS))
    assert layer.keys.untyped_storage().data_ptr() != buffer  # grown into a new buffer


def test_positive_crop_keeps_that_many_columns_as_transformers_does():
    rng = random.Random(1)
    mine, theirs = GrowingLayer(), DynamicLayer()
    keys, values = _columns(rng, 12)
    mine.update(keys, values)
    theirs.update(keys, values)
    for keep in (20, 9, 9, 0):
        mine.crop(keep)
        theirs.crop(keep)
        _same(mine, theirs)


def test_a_deep_copy_holds_only_the_used_columns_and_is_independent():
    rng = random.Random(2)
    layer = GrowingLayer()
    layer.update(*_columns(rng, 40))
    layer.crop(-15)
    copied = copy.deepcopy(layer)
    _same(copied, layer)
    assert copied.keys.is_contiguous() and copied.keys.untyped_storage().nbytes() == copied.keys.nbytes
    before = copied.keys.clone()
    layer.update(*_columns(rng, 15))  # writes into the original's spare columns
    assert torch.equal(copied.keys, before)
    copied.update(*_columns(rng, 3))
    assert copied.get_seq_length() == 28 and layer.get_seq_length() == 40


def test_rows_that_do_not_match_raise_as_dynamic_layer_does():
    rng = random.Random(3)
    layer = GrowingLayer()
    layer.update(*_columns(rng, 4, batch=2))
    with pytest.raises(RuntimeError):
        layer.update(*_columns(rng, 4, batch=3))


def test_caches_are_made_of_growing_layers():
    config = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                         num_attention_heads=2, num_key_value_heads=2)
    assert [type(layer) for layer in growing_cache(config).layers] == [GrowingLayer] * 3
    lazy = growing_cache()
    lazy.update(*_columns(random.Random(4), 2), layer_idx=1)
    assert [type(layer) for layer in lazy.layers] == [GrowingLayer] * 2
