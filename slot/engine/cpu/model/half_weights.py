"""Half-size weights for the CPU: one merged model with float16 weights per adapter.

A decoding pass of a 135M model on a CPU core is bound by reading its weights (540 MB in float32), and
the small matrix products of a pass (the 1-13 tokens of a draft) run far below the core's peak. torch's
dynamic float16 ``Linear`` (fbgemm's packed half-precision GEMM) stores the weights in float16, reads half
the bytes, and computes in float32: a pass over 1 token costs ~0.6x, over a 4-token draft ~0.5x that of
float32, and the logits differ from float32's by rounding only (the embedded weights come from a 4-bit
GGUF, so float16 holds them almost exactly). LoRA layers cannot be packed apart from their base, so each
adapter is merged into its own copy of the base weights; the copies share the float32 token embedding.
The base model without adapter is one more copy.

int8 (``torch.ao`` dynamic quantization, per-tensor activation scales) was measured too and rejected:
~2.5x faster passes, but content similarity on held-back synthetic rows fell from 81% to 73%, and a row's
logits depend on the other tokens in its pass, which breaks exact speculation and batching.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from slot.models import merged

log = logging.getLogger(__name__)


def half_weights(model: Any) -> Any:
    """The model with every ``nn.Linear`` replaced, in place, by fbgemm's float16-weight dynamic Linear."""
    from torch.ao.quantization import float16_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao deprecation notices; torch is pinned (2.13.0)
        return quantize_dynamic(model, {torch.nn.Linear: float16_dynamic_qconfig}, dtype=torch.float16,
                                inplace=True).eval()


class HalfWeightModels:
    """The float16-weight model of each adapter (``None``: the base model), built on first use.

    Each costs about as much memory as the float32 model (fbgemm pads the 576-wide inputs of SmolLM2 to its
    512-row blocks) and ~2-4 s to build, so only the default adapter's is built at start; a request for
    another adapter, or for the base model, builds that one when it first runs. The models share the float32
    token embedding. Only the thread that owns the engine's model calls ``get``.
    """

    def __init__(self, model: Any, adapters: dict[str, Path], reload: Callable[[], Any],
                 wrap: Callable[[Any], Any] | None = None) -> None:
        """``model`` (float32) becomes the first adapter's model (the base model's when there is none);
        ``reload`` gives a fresh float32 copy of the base model for the others; ``wrap`` (the engine passes
        ``slot.engine.cpu.model.lean_llama.lean``) is applied to each float16-weight model built."""
        self.adapters = dict(adapters)
        self._reload = reload
        self._wrap = wrap
        self._embeddings = model.get_input_embeddings()
        self._built: dict[str | None, Any] = {}
        self.first = next(iter(self.adapters), None)
        self._built[self.first] = self._build(model, self.first)

    def get(self, adapter: str | None) -> Any:
        """The model for ``adapter``, built now if it has not run yet."""
        if adapter not in self._built:
            started = time.perf_counter()
            self._built[adapter] = self._build(self._reload(), adapter)
            log.info("built the float16-weight model for %s in %.1f s", adapter or "the base model",
                     time.perf_counter() - started)
        return self._built[adapter]

    def built(self) -> list[str | None]:
        return list(self._built)

    def _build(self, model: Any, adapter: str | None) -> Any:
        if adapter is not None:
            model = merged(model, self.adapters[adapter])
        model.set_input_embeddings(self._embeddings)
        packed = half_weights(model)
        return self._wrap(packed) if self._wrap is not None else packed
