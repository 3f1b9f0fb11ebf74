"""BatchCache on a tiny randomly initialised Llama: a row decoded in a batch sees exactly what it would alone.

The tiny model is built from a config in memory (no weights to load), so this runs in a second; the real
model's batched outputs are checked in tests/test_batching.py.
"""

from __future__ import annotations

import random

import pytest
import torch

from slot.engine.cpu.caches.batch_cache import BatchCache

VOCAB = 97


@pytest.fixture(scope="module")
def tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)
    return LlamaForCausalLM(config).eval()


class Alone:
    """Reference: one sequence, its own cache, rejected tokens cropped away."""

    def __init__(self, model, prompt: list[int]) -> None:
        from transformers import DynamicCache

        self.model, self.cache = model, DynamicCache(config=model.config)
        self.logits = model(input_ids=torch.tensor([prompt]), past_key_values=self.cache, use_cache=True).logits[0]

    def step(self, feed: list[int], keep: int) -> torch.Tensor:
        logits = self.model(input_ids=torch.tensor([feed]), past_key_values=self.cache, use_cache=True).logits[0]
        if keep < len(feed):
            self.cache.crop(-(len(feed) - keep))
        return logits[:keep]


def _prefilled(model, prompt: list[int]):
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([prompt]), past_key_values=cache, use_cache=True)
    return cache


def test_batched_rows_match_their_solo_decoding(tiny_model):
    rng = random.Random(5)
    prompts = {name: [rng.randrange(VOCAB) for _ in range(length)] for name, length in
               (("a", 7), ("b", 19), ("c", 3), ("late", 11))}
    solo = {name: Alone(tiny_model, prompt) for name, prompt in prompts.items()}
    batch, rows = BatchCache(), []
    with torch.inference_mode():
        for name in ("a", "b", "c"):
            batch.add(_prefilled(tiny_model, prompts[name]))
            rows.append(name)
        for step in range(12):
            if step == 4:  # a row finishes mid-way
                batch.remove([rows.index("b")])
                rows.remove("b")
            if step == 6:  # a row joins a running batch
                batch.add(_prefilled(tiny_model, prompts["late"]))
                rows.append("late")
            if step == 9:
                batch.compact()
            feeds = [[rng.randrange(VOCAB) for _ in range(rng.randint(1, 6))] for _ in rows]
            keeps = [rng.randint(1, len(feed)) for feed in feeds]
            logits = batch.forward(tiny_model, feeds, pad_id=0)
            batch.commit(keeps, feeds)
            for row, name in enumerate(rows):
                expected = solo[name].step(feeds[row], keeps[row])
                got = logits[row][:keeps[row]]
                assert torch.allclose(got, expected, atol=1e-4), (name, step)
        assert batch.positions == [solo[name].cache.get_seq_length() for name in rows]


def test_one_row_without_holes_passes_no_mask(tiny_model):
    batch = BatchCache()
    with torch.inference_mode():
        batch.add(_prefilled(tiny_model, [1, 2, 3, 4]))
        inputs = batch.inputs([[5, 6]], pad_id=0)
        assert "attention_mask" not in inputs and "position_ids" not in inputs
        tiny_model(**inputs)
        batch.commit([1], [[5, 6]])  # one rejected draft token: cropped, not masked, for a lone row
        assert batch.width == 5 and bool(batch.valid.all())


def test_compaction_squeezes_holes(tiny_model):
    batch = BatchCache()
    with torch.inference_mode():
        batch.add(_prefilled(tiny_model, [1, 2, 3]))
        batch.add(_prefilled(tiny_model, [4, 5, 6, 7, 8]))
        for _ in range(5):
            inputs = batch.inputs([[9, 9, 9, 9], [9]], pad_id=0)
            tiny_model(**inputs)
            batch.commit([4, 1], [[9, 9, 9, 9], [9]])
        holes = batch.valid.numel() - int(batch.valid.sum())
        assert holes > 0
        batch.compact()
        assert batch.width == max(batch.positions) == 23
        assert int(batch.valid.sum()) == sum(batch.positions) == 23 + 10
