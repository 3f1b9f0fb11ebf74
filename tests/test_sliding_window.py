"""Models with sliding-window attention (Gemma 3): the engine turns speculation and batching off instead of
crashing when a prompt outgrows the window.

The model is a tiny randomly initialised Gemma 3 text model with a 16-token window, saved next to the
embedded tokenizer (its outputs are nonsense; the point is that constrained decoding runs to the end).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.model

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "count": {"type": "integer"}},
          "required": ["name", "count"], "additionalProperties": False}


@pytest.fixture(scope="module")
def sliding_structurer(settings, tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    from slot.models import resolve_base_model
    from slot.structurer import Structurer

    embedded = resolve_base_model(settings.base_model, settings.home_path, progress=False)
    tokenizer = AutoTokenizer.from_pretrained(embedded, local_files_only=True)
    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=16,
                              layer_types=["sliding_attention", "full_attention"], max_position_embeddings=8192,
                              bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                              pad_token_id=tokenizer.eos_token_id)
    folder = tmp_path_factory.mktemp("tiny-gemma3")
    Gemma3ForCausalLM(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (embedded / name).is_file():
            shutil.copy(embedded / name, folder / name)
    return Structurer.from_settings(settings.replace(base_model=str(folder), adapter="none", threads=1),
                                    progress=False)


def test_speculation_and_batching_are_off(sliding_structurer):
    engine = sliding_structurer.engine
    assert engine.can_speculate is False and engine.speculation is False and engine.max_batch == 1


def test_prompts_longer_than_the_window_decode_to_the_end(sliding_structurer):
    text = "The widget is called Sprocket and there are 42 of them in the store room. " * 4
    results = [sliding_structurer.structure(text, SCHEMA, max_tokens=40, speculation=True)]
    with ThreadPoolExecutor(3) as pool:
        results += list(pool.map(lambda _: sliding_structurer.structure(text, SCHEMA, max_tokens=40), range(3)))
    for result in results:
        assert result.finish_reason in ("stop", "length")
        assert result.usage.forward_passes >= result.usage.completion_tokens - 1  # one token per pass
    assert len({r.output for r in results}) == 1  # greedy: the same output every time
