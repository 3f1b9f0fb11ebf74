"""LeanLlama: the forward pass of a float16-weight Llama model without transformers' per-call machinery.

Why: a decoding pass over a 1-24 token draft spends about a third of its time outside the matrix products:
module calls, hooks and output records, the attention-mask builder, and five small products per layer where
two would do. This pass calls the same packed float16 weights (``slot.engine.cpu.model.half_weights``), with q/k/v
fused into one product and gate/up into another (the columns of a product do not depend on their
neighbours, so the results are the same numbers), and otherwise the same operations in the same order:
its logits are bitwise those of the transformers forward (``tests/test_lean_llama.py`` checks prefill,
drafts, batches with holes and padding). A 1-token pass over a 700-token cache at 2 threads: 40 -> 32 ms.

It uses a transformers cache's ``update``/``crop`` (``DynamicCache``, or the engine's growing cache of
``slot.engine.cpu.caches.growing_cache``), so the prefix cache and ``BatchCache`` work unchanged. Models it cannot
run exactly (another architecture, biases, another activation or RoPE type)
stay on the transformers forward: ``lean(model)`` returns them as they are.

``packed`` runs several sequences in one pass, each on its own cache, without padding
(``slot.engine.cpu.caches.packed_batch``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import torch
import torch.nn.functional as F


@dataclass
class LeanOutput:
    """The part of a transformers ``CausalLMOutputWithPast`` the engine reads."""

    logits: torch.Tensor


def supported(model: Any) -> bool:
    """Whether ``model`` is a float16-weight Llama whose pass ``LeanLlama`` reproduces exactly."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", "") != "llama":
        return False
    rope = getattr(config, "rope_parameters", None) or {}
    layers = getattr(getattr(model, "model", None), "layers", [])
    return (not getattr(config, "attention_bias", False) and not getattr(config, "mlp_bias", False)
            and getattr(config, "hidden_act", "") == "silu" and rope.get("rope_type", "default") == "default"
            and getattr(config, "pretraining_tp", 1) == 1 and len(layers) > 0
            and all(_packed(layer.self_attn.q_proj) for layer in layers))


def lean(model: Any) -> Any:
    """``LeanLlama(model)`` where ``supported``, else ``model`` itself (a LeanLlama too)."""
    return LeanLlama(model) if not isinstance(model, LeanLlama) and supported(model) else model


def _packed(module: Any) -> bool:
    """A torch.ao dynamic float16 Linear (what ``half_weights`` makes of every ``nn.Linear``)."""
    return callable(getattr(module, "weight", None)) and hasattr(module, "_packed_params")


_LINEAR = torch.ops.quantized.linear_dynamic_fp16.default
"""fbgemm's float16-weight product, called as the op overload: the packed Linear module's call goes through
``nn.Module`` dispatch and torch's Python op-packet checks, ~30 us per product, 4 ms of a 1-token pass."""


def _weights(module: Any) -> Any:
    """The fbgemm packed float16 weights of a packed Linear (what ``_LINEAR`` takes)."""
    return module._packed_params._packed_params


def _fuse(modules: list[Any]) -> Any:
    """Packed float16 weights whose product is the given packed Linears' outputs side by side."""
    from slot.engine.cpu.model.half_weights import half_weights

    weight = torch.cat([module.weight().float() for module in modules], dim=0)
    linear = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    linear.weight.data = weight
    return _weights(half_weights(torch.nn.Sequential(linear))[0])


class LeanLlama:
    """Callable like the transformers model for what the engine passes: ``input_ids``, ``past_key_values``
    (a transformers cache, or None for a pass without one), ``use_cache``, ``logits_to_keep``, and optionally
    ``attention_mask`` (batch x all columns, 0 where a column holds no token of the row) and
    ``position_ids``. Other attributes (``config``, ``generation_config``, ...) are the model's."""

    def __init__(self, model: Any) -> None:
        self._model = model
        inner = model.model
        config = model.config
        self.heads, self.kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.hidden = config.hidden_size
        self.eps = config.rms_norm_eps
        self.embed, self.rotary, self.norm = inner.embed_tokens, inner.rotary_emb, inner.norm
        self.head = _weights(model.lm_head)
        self.layers: list[tuple[Any, ...]] = []
        self.qk_width = (self.heads + self.kv_heads) * self.head_dim
        """Columns of the fused q/k/v product that hold q and k (v follows)."""
        for layer in inner.layers:
            attention, mlp = layer.self_attn, layer.mlp
            qkv = _fuse([attention.q_proj, attention.k_proj, attention.v_proj])
            gate_up = _fuse([mlp.gate_proj, mlp.up_proj])
            self.layers.append((layer.input_layernorm.weight, qkv, _weights(attention.o_proj), attention.scaling,
                                layer.post_attention_layernorm.weight, gate_up, _weights(mlp.down_proj),
                                mlp.intermediate_size))
            # the fused copies replace the originals (memory): this model now runs through LeanLlama only
            attention.q_proj = attention.k_proj = attention.v_proj = None
            mlp.gate_proj = mlp.up_proj = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, *, input_ids: torch.Tensor, past_key_values: Any = None, use_cache: bool = True,
                 logits_to_keep: int = 0, attention_mask: torch.Tensor | None = None,
                 position_ids: torch.Tensor | None = None) -> LeanOutput:
        batch, count = input_ids.shape
        cache = past_key_values if use_cache else None
        past = cache.get_seq_length() if cache is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past, past + count).unsqueeze(0).expand(batch, -1)
        mask = self._mask(attention_mask, batch, count, past)
        causal = mask is None and count > 1

        def attend(index: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scaling: float) -> torch.Tensor:
            if cache is not None:
                k, v = cache.update(k, v, index)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scaling,
                                                  enable_gqa=self.heads != self.kv_heads)

        x = self._layers(input_ids, position_ids, attend)
        return LeanOutput(_LINEAR(x[:, -logits_to_keep:, :] if logits_to_keep else x, self.head))

    def packed(self, feeds: list[list[int]], caches: list[Any]) -> list[torch.Tensor]:
        """One pass over several sequences, each with its own cache: their fed tokens side by side in one row
        (no padding), attention per sequence over its own cache (no masked columns). Returns each sequence's
        logits over its fed tokens. Why: a padded batch computes every row as wide as the longest draft and
        attends over every row's holes; on a CPU the pass costs what it computes."""
        counts = [len(feed) for feed in feeds]
        starts = [0, *accumulate(counts)][:-1]
        pasts = [cache.get_seq_length() for cache in caches]
        ids = torch.tensor([[token for feed in feeds for token in feed]])
        position_ids = torch.cat([torch.arange(past, past + count) for past, count in zip(pasts, counts)])[None]
        masks = [self._mask(None, 1, count, past) for count, past in zip(counts, pasts)]

        def attend(index: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scaling: float) -> torch.Tensor:
            parts = []
            for cache, start, count, mask in zip(caches, starts, counts, masks):
                keys, values = cache.update(k[:, :, start:start + count], v[:, :, start:start + count], index)
                parts.append(F.scaled_dot_product_attention(
                    q[:, :, start:start + count], keys, values, attn_mask=mask, is_causal=mask is None and count > 1,
                    scale=scaling, enable_gqa=self.heads != self.kv_heads))
            return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)

        logits = _LINEAR(self._layers(ids, position_ids, attend), self.head)[0]
        return [logits[start:start + count] for start, count in zip(starts, counts)]

    def _layers(self, input_ids: torch.Tensor, position_ids: torch.Tensor,
                attend: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]) -> torch.Tensor:
        """The decoder layers and final norm over ``input_ids``: the normalized hidden states. ``attend(layer, q,
        k, v, scaling)`` does the attention of each layer (with the cache), the one part ``__call__`` and
        ``packed`` do differently."""
        batch, count = input_ids.shape
        x = self.embed(input_ids)
        cos, sin = self.rotary(x, position_ids)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        heads, second = self.heads, self.qk_width
        for index, (norm1, qkv, out, scaling, norm2, gate_up, down, inner) in enumerate(self.layers):
            fused = _LINEAR(F.rms_norm(x, (self.hidden,), norm1, self.eps), qkv)
            # q and k rotate together (the same elementwise operations on each head)
            qk = _rotate(fused[..., :second].view(batch, count, heads + self.kv_heads, self.head_dim).transpose(1, 2),
                         cos, sin)
            v = fused[..., second:].view(batch, count, self.kv_heads, self.head_dim).transpose(1, 2)
            attended = attend(index, qk[:, :heads], qk[:, heads:], v, scaling)
            x = x + _LINEAR(attended.transpose(1, 2).reshape(batch, count, -1), out)
            both = _LINEAR(F.rms_norm(x, (self.hidden,), norm2, self.eps), gate_up)
            x = x + _LINEAR(F.silu(both[..., :inner]) * both[..., inner:], down)
        return F.rms_norm(x, (self.hidden,), self.norm.weight, self.eps)

    @staticmethod
    def _mask(attention_mask: torch.Tensor | None, batch: int, count: int, past: int) -> torch.Tensor | None:
        """transformers' SDPA mask: none where causality alone decides (no padding, and one new token or no
        past), else True where query j (column past + j) may see a column: causal and, with a mask, a token."""
        padded = attention_mask is not None and not bool(attention_mask.all())
        if not padded and (count == 1 or past == 0):
            return None
        columns = torch.arange(past + count)
        allowed = (columns[None, :] <= (past + torch.arange(count))[:, None])[None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, None, :].bool()
        return allowed.expand(batch, 1, count, past + count)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding, as transformers' ``apply_rotary_pos_emb`` computes it."""
    half = x.shape[-1] // 2
    return (x * cos) + (torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin)
