"""Half-size weights for the CPU: one merged model with float16 weights per adapter.

A decoding pass of a 135M model on a CPU core is bound by reading its weights (540 MB in float32), and
the small matrix products of a pass (the 1-13 tokens of a draft) run far below the core's peak. torch's
dynamic float16 ``Linear`` (fbgemm's packed half-precision GEMM) stores the weights in float16, reads half
the bytes, and computes in float32: a pass over 1 token costs ~0.6x, over a 4-token draft ~0.5x that of
float32, and the logits differ from float32's by rounding only (the embedded weights come from a 4-bit
GGUF, so float16 holds them almost exactly). LoRA layers cannot be packed apart from their base, so each
adapter is merged into its own copy of the base weights; the copies share the float32 token embedding.
The base model without adapter is one more variant.

int8 (``torch.ao`` dynamic quantization, per-tensor activation scales) was measured too and rejected:
~2.5x faster passes, but content similarity on held-back synthetic rows fell from 81% to 73%, and a row's
logits depend on the other tokens in its pass, which breaks exact speculation and batching.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import torch


def half_weights(model: Any) -> Any:
    """The model with every ``nn.Linear`` replaced, in place, by fbgemm's float16-weight dynamic Linear."""
    from torch.ao.quantization import float16_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao deprecation notices; torch is pinned (2.13.0)
        return quantize_dynamic(model, {torch.nn.Linear: float16_dynamic_qconfig}, dtype=torch.float16,
                                inplace=True).eval()


def half_weight_variants(model: Any, adapters: dict[str, Path]) -> dict[str | None, Any]:
    """One float16-weight model per adapter name (its LoRA merged in), plus ``None``: the base model alone.

    ``model`` (float32) is consumed: it becomes the base variant.
    """
    from peft import PeftModel

    embeddings = model.get_input_embeddings()
    variants: dict[str | None, Any] = {}
    for name, path in adapters.items():
        merged = PeftModel.from_pretrained(copy.deepcopy(model), str(path)).merge_and_unload()
        merged.set_input_embeddings(embeddings)
        variants[name] = half_weights(merged)
    variants[None] = half_weights(model)
    return variants
