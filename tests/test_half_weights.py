"""float16 weights (``dtype=float16-weights``): merged adapters, float32-close logits, exact speculation.

The first tests use a tiny randomly initialised Llama with a random LoRA (built in memory, a second); the
last ones load the real embedded model with the shipped adapter.
"""

from __future__ import annotations

import pytest
import torch

VOCAB = 97


@pytest.fixture(scope="module")
def tiny_with_lora(tmp_path_factory):
    """A tiny Llama (float32) and a saved LoRA adapter with non-zero weights on every linear layer."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True)
    base = LlamaForCausalLM(config).eval()
    lora = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear",
                                                               init_lora_weights=False))
    out = tmp_path_factory.mktemp("lora")
    lora.save_pretrained(out)
    return base, out


def _logits(model, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0].float()


def test_models_match_float32_base_and_merged_adapter(tiny_with_lora):
    import copy

    from peft import PeftModel

    from slot.engine.cpu.model.half_weights import HalfWeightModels

    base, adapter_dir = tiny_with_lora
    ids = [5, 17, 3, 88, 41, 9, 60, 2]
    reference_base = _logits(base, ids)
    reference_lora = _logits(PeftModel.from_pretrained(copy.deepcopy(base), str(adapter_dir)).eval(), ids)
    assert (reference_lora - reference_base).abs().max() > 0.05  # the adapter changes the logits

    reloads = []
    models = HalfWeightModels(copy.deepcopy(base), {"a": adapter_dir},
                              reload=lambda: reloads.append(1) or copy.deepcopy(base))
    assert models.built() == ["a"] and reloads == []  # only the default adapter's model at start
    for name, reference in (("a", reference_lora), (None, reference_base)):
        logits = _logits(models.get(name), ids)
        assert torch.allclose(logits, reference, atol=2e-2), (name, (logits - reference).abs().max())
        assert torch.equal(logits.argmax(-1), reference.argmax(-1))
    assert reloads == [1] and models.built() == ["a", None]  # the base model was built on first use, once
    models.get(None)
    assert reloads == [1]
    assert models.get("a").get_input_embeddings() is models.get(None).get_input_embeddings()


def test_a_row_does_not_depend_on_its_batch_mates(tiny_with_lora):
    """Unlike per-tensor int8, float16 weights keep each row's logits (almost) independent of the others."""
    import copy

    from slot.engine.cpu.model.half_weights import HalfWeightModels

    model = HalfWeightModels(copy.deepcopy(tiny_with_lora[0]), {}, reload=lambda: None).get(None)
    row = [7, 8, 9, 10, 11]
    alone = _logits(model, row)
    with torch.inference_mode():
        batched = model(input_ids=torch.tensor([row, [90, 1, 2, 60, 33]])).logits[0].float()
    assert torch.allclose(alone, batched, atol=1e-4)


@pytest.fixture(scope="module")
def float32_structurer(settings):
    """The real model and shipped adapter in float32 (peft LoRA layers, nothing merged): the reference."""
    from slot.structurer import Structurer

    return Structurer.from_settings(settings.replace(dtype="float32"), progress=False)


@pytest.mark.model
def test_default_is_float16_weights_and_agrees_with_float32(structurer, float32_structurer, e2e_rows):
    assert structurer.engine.describe()["dtype"] == "float16-weights"
    assert structurer.engine.describe()["forward"] == "LeanLlama"  # SmolLM2 runs the lean forward
    assert float32_structurer.engine.describe()["forward"] != "LeanLlama"
    assert structurer.engine.adapters() == float32_structurer.engine.adapters() == ["default"]
    agree = 0
    rows = e2e_rows[::397][:6]
    for row in rows:
        fast = structurer.structure(row["input_text"], row["json_schema"])
        plain = structurer.structure(row["input_text"], row["json_schema"], speculation=False)
        assert fast.output == plain.output, row["id"]  # speculation stays exact with float16 weights
        assert fast.valid
        agree += fast.output == float32_structurer.structure(row["input_text"], row["json_schema"]).output
    assert agree >= len(rows) - 1


@pytest.mark.model
def test_base_variant_is_the_base_model(structurer, float32_structurer, e2e_rows):
    row = e2e_rows[3]
    half = structurer.structure(row["input_text"], row["json_schema"], adapter="base", max_tokens=96)
    full = float32_structurer.structure(row["input_text"], row["json_schema"], adapter="base", max_tokens=96)
    assert half.output == full.output
    assert half.output != structurer.structure(row["input_text"], row["json_schema"], max_tokens=96).output
