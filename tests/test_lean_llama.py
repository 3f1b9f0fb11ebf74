"""LeanLlama gives bitwise the logits and key/value states of the transformers forward it replaces.

Each check runs the same calls on two copies of one float16-weight model: one through transformers, one through
``slot.engine.cpu.model.lean_llama``. A tiny random Llama covers the shapes fast; the real embedded model (marked
``model``) covers the shipped one. Batches go through the engine's own ``BatchCache`` (left padding, holes), and
through ``PackedBatch`` (one cache per row, tokens side by side), which matches each row's own pass to ~1e-5.
The lean side runs once on transformers' ``DynamicCache`` and once on the engine's growing cache
(``slot.engine.cpu.caches.growing_cache``, with few spare columns on the tiny model so that it re-grows often).
"""

from __future__ import annotations

import copy

import pytest
import torch

from slot.engine.cpu.caches.batch_cache import BatchCache


@pytest.fixture(scope="module")
def tiny():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=211, hidden_size=96, intermediate_size=160, num_hidden_layers=3,
                         num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True)
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def real():
    from slot.config import Settings
    from slot.models import load, resolve_base_model

    settings = Settings.from_env()
    return load(resolve_base_model(settings.base_model, settings.home_path, progress=False))[0]


def _pair(model):
    from slot.engine.cpu.model.half_weights import half_weights
    from slot.engine.cpu.model.lean_llama import LeanLlama, lean

    reference = half_weights(copy.deepcopy(model))
    fast = lean(half_weights(copy.deepcopy(model)))
    assert isinstance(fast, LeanLlama)
    return reference, fast


def _cache():
    from transformers import DynamicCache

    return DynamicCache()


def _growing():
    from slot.engine.cpu.caches.growing_cache import growing_cache

    return growing_cache()


CACHES = {"dynamic": _cache, "growing": _growing}


def _same_caches(a, b) -> bool:
    return all(torch.equal(x.keys, y.keys) and torch.equal(x.values, y.values) for x, y in zip(a.layers, b.layers))


def _single_sequence(model, fast_cache=_cache) -> None:
    """Prefill without and with a cached prefix, 1-token and draft passes, crops, a pass without cache."""
    reference, fast = _pair(model)
    vocab = model.config.vocab_size
    torch.manual_seed(1)
    prompt = torch.randint(3, vocab, (1, 37))
    caches = (_cache(), fast_cache())
    with torch.inference_mode():
        for ids, keep in ((prompt[:, :20], 1), (prompt[:, 20:], 1), (torch.tensor([[5]]), 1),
                          (torch.randint(3, vocab, (1, 7)), 7), (torch.randint(3, vocab, (1, 24)), 24)):
            outs = [m(input_ids=ids, past_key_values=c, use_cache=True, logits_to_keep=keep).logits
                    for m, c in zip((reference, fast), caches)]
            assert outs[0].shape == outs[1].shape == (1, keep, vocab)
            assert torch.equal(outs[0], outs[1]), (ids.shape, (outs[0] - outs[1]).abs().max())
            assert _same_caches(*caches)
            for cache in caches:
                cache.crop(-2)  # a rejected draft tail
        whole = [m(input_ids=prompt, past_key_values=None, use_cache=False, logits_to_keep=0).logits
                 for m in (reference, fast)]
        assert torch.equal(whole[0], whole[1])


def _batch(model, fast_cache=_cache) -> None:
    """Rows of different lengths joined in a BatchCache, fed drafts of different lengths, keeping different counts."""
    reference, fast = _pair(model)
    vocab = model.config.vocab_size
    torch.manual_seed(2)
    prompts = [torch.randint(3, vocab, (1, n)) for n in (23, 9, 15)]
    feeds_per_step = [[[4, 5, 6], [7], [8, 9]], [[10], [11, 12, 13, 14], [15]], [[16, 17], [18], [19, 20, 21]]]
    kept_per_step = [[3, 1, 1], [1, 2, 1], [2, 1, 3]]
    batches = (BatchCache(), BatchCache())
    with torch.inference_mode():
        for prompt in prompts:
            for m, batch, make in zip((reference, fast), batches, (_cache, fast_cache)):
                cache = make()
                m(input_ids=prompt, past_key_values=cache, use_cache=True, logits_to_keep=1)
                batch.add(cache)
        for feeds, kept in zip(feeds_per_step, kept_per_step):
            outs = []
            for m, batch in zip((reference, fast), batches):
                inputs = batch.inputs(feeds, pad_id=0)
                assert "attention_mask" in inputs and "position_ids" in inputs
                outs.append(m(**inputs).logits)
                batch.commit(kept, feeds)
            for row, feed in enumerate(feeds):  # the logits of each row's real (not padding) tokens
                assert torch.equal(outs[0][row, :len(feed)], outs[1][row, :len(feed)]), row
            assert _same_caches(batches[0].cache, batches[1].cache)


def _packed(model, fast_cache=_cache) -> None:
    """``LeanLlama.packed`` through a ``PackedBatch``: each row's logits and states as its own pass gives them (to
    the last bits of a wider product), with rows leaving and joining; one row alone: bitwise its own pass."""
    from slot.engine.cpu.caches.packed_batch import PackedBatch

    _, fast = _pair(model)
    vocab = model.config.vocab_size
    torch.manual_seed(3)
    prompts = {name: torch.randint(3, vocab, (1, n)) for name, n in (("a", 23), ("b", 9), ("c", 15), ("late", 6))}
    batch, solo, rows = PackedBatch(), {}, []

    def join(name):
        caches = (fast_cache(), fast_cache())
        for cache in caches:
            fast(input_ids=prompts[name], past_key_values=cache, use_cache=True, logits_to_keep=1)
        batch.add(caches[0])
        solo[name] = caches[1]
        rows.append(name)

    steps = [([[4, 5, 6], [7], [8, 9]], [3, 1, 1]), ([[10], [11, 12, 13, 14], [15]], [1, 2, 1]),
             ([[16, 17], [18, 19, 20]], [2, 1]), ([[21], [22, 23], [24, 25, 26, 27]], [1, 2, 3]),
             ([[28, 29, 30]], [2])]
    with torch.inference_mode():
        for name in ("a", "b", "c"):
            join(name)
        for step, (feeds, kept) in enumerate(steps):
            if step == 2:  # a row finishes
                batch.remove([rows.index("b")])
                rows.remove("b")
            if step == 3:  # a row joins
                join("late")
            if step == 4:  # one row left: the ordinary pass, bitwise
                batch.remove([0, 1])
                del rows[:2]
            mirror = copy.deepcopy(batch.caches[0]) if len(rows) == 1 else None
            logits = batch.forward(fast, feeds, pad_id=0)
            batch.commit(kept, feeds)
            if mirror is not None:  # alone, the packed pass is the ordinary one on the same states
                own = fast(input_ids=torch.tensor(feeds), past_key_values=mirror, use_cache=True,
                           logits_to_keep=len(feeds[0])).logits[0]
                mirror.crop(-(len(feeds[0]) - kept[0]))
                assert torch.equal(logits[0], own) and _same_caches(batch.caches[0], mirror)
            for row, (name, feed) in enumerate(zip(rows, feeds)):
                alone = fast(input_ids=torch.tensor([feed]), past_key_values=solo[name], use_cache=True,
                             logits_to_keep=len(feed)).logits[0]
                solo[name].crop(-(len(feed) - kept[row]))
                assert logits[row].shape == alone.shape
                assert torch.allclose(logits[row], alone, atol=1e-4), (step, name)
                assert torch.equal(logits[row].argmax(-1), alone.argmax(-1))
                assert batch.caches[row].get_seq_length() == solo[name].get_seq_length()
                for mine, theirs in zip(batch.caches[row].layers, solo[name].layers):
                    assert torch.allclose(mine.keys, theirs.keys, atol=1e-4)
                    assert torch.allclose(mine.values, theirs.values, atol=1e-4)


@pytest.fixture(params=list(CACHES))
def fast_cache(request, monkeypatch):
    from slot.engine.cpu.caches import growing_cache

    monkeypatch.setattr(growing_cache, "SPARE_COLUMNS", 3)
    return CACHES[request.param]


def test_tiny_single_sequence_is_bitwise(tiny, fast_cache):
    _single_sequence(tiny, fast_cache)


def test_tiny_batch_with_padding_and_holes_is_bitwise(tiny, fast_cache):
    _batch(tiny, fast_cache)


@pytest.mark.model
@pytest.mark.parametrize("cache", list(CACHES))
def test_real_model_single_sequence_is_bitwise(real, cache):
    _single_sequence(real, CACHES[cache])


@pytest.mark.model
@pytest.mark.parametrize("cache", list(CACHES))
def test_real_model_batch_is_bitwise(real, cache):
    _batch(real, CACHES[cache])


def test_tiny_packed_rows_match_their_own_passes(tiny, fast_cache):
    _packed(tiny, fast_cache)


@pytest.mark.model
def test_real_model_packed_rows_match_their_own_passes(real):
    _packed(real, _growing)


def test_models_it_cannot_run_exactly_stay_as_they_are(tiny):
    from transformers import LlamaConfig, LlamaForCausalLM

    from slot.engine.cpu.model.half_weights import half_weights
    from slot.engine.cpu.model.lean_llama import lean

    assert lean(tiny) is tiny  # float32 nn.Linear weights: not packed
    config = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, mlp_bias=True)
    biased = half_weights(LlamaForCausalLM(config).eval())
    assert lean(biased) is biased
    assert lean(object) is object
    fast = lean(half_weights(copy.deepcopy(tiny)))
    assert lean(fast) is fast
