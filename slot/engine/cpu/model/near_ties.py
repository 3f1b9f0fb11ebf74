"""NearTies: a float32 second opinion where the float16-weight model's greedy choice is a near-tie.

Why: float16 weights round the float32 ones (the merged LoRA adapter and ~40% of the base weights are not
float16 numbers), which moves a logit by ~0.02 (median per position) to ~0.08 (largest seen). Where the two best tokens
the grammar allows are closer than that, the float16 choice can differ from float32's, and the output
diverges from the float32 path (outlines + transformers, the OT baseline) from there on: 1 of the 100
synthetic rows of the packed-batches benchmark, at a position whose two best tokens were 0.009 apart.
Such positions are rare, so only there a float32 model computes the logits of the same context and its
masked argmax is taken: the output is float32's greedy choice at every near-tie, at the price of one float32
pass per doubtful position (over the tokens since the sequence's last check, on its own float32 key/value
cache; the first check of a sequence also covers the prompt, whose prefix comes from the prefix cache).

The float32 model of an adapter (the adapter merged into float32 weights, as OT loads it) is built on first
need (~2 s, ~540 MB), or before the server reports SERVING for its default adapter (``Engine.warm_up``
calls ``model``), and kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from slot.engine.cpu.caches.prefix_cache import PrefixCache
from slot.models import merged

log = logging.getLogger(__name__)


@dataclass
class ExactState:
    """One sequence's float32 key/value cache and how many of its tokens (prompt + output) it holds."""

    cache: Any = None
    fed: int = 0
    logits: torch.Tensor | None = None
    """float32 logits after the ``fed`` tokens (the last checked context: a second look costs no pass)."""


class NearTies:
    """Detects near-ties in float16-weight logits and chooses there by float32 logits."""

    def __init__(self, margin: float, model_dir: Path, adapters: dict[str, Path], prefix_cache: PrefixCache,
                 vocab_size: int, load: Callable[[Path], Any]) -> None:
        """``margin``: logit gap below which the two best allowed tokens count as tied; ``load(model_dir)`` gives
        a float32 model (``slot.models.load``'s first result)."""
        self.margin = margin
        self.model_dir = model_dir
        self.adapters = dict(adapters)
        self.prefix_cache = prefix_cache
        self.vocab_size = vocab_size
        self._load = load
        self._models: dict[str | None, Any] = {}

    def close(self, logits: torch.Tensor, matcher: Any) -> bool:
        """Whether the two best tokens the grammar allows are within ``margin`` of each other."""
        scores = logits[: self.vocab_size]
        values, indices = torch.topk(scores, 2)
        if float(values[0] - values[1]) >= self.margin and (matcher is None or matcher.allows(int(indices[0]))):
            return False  # the best token is allowed and leads every other token by the margin
        if matcher is not None:
            allowed = matcher.mask()
            if int(allowed.sum()) < 2:
                return False
            scores = scores.masked_fill(torch.from_numpy(~allowed), float("-inf"))
            values, _ = torch.topk(scores, 2)
        return float(values[0] - values[1]) < self.margin

    def logits(self, state: ExactState, adapter: str | None, prefix: list[int], rest: list[int]) -> torch.Tensor:
        """float32 logits of the next token after ``prefix + rest`` (the prompt's cached prefix, then its
        suffix and the output so far), on ``state``'s cache, extended over the tokens it lacks."""
        total = len(prefix) + len(rest)
        if state.logits is not None and state.fed == total:
            return state.logits
        model = self.model(adapter)
        with torch.inference_mode():
            if state.cache is None:
                state.cache, state.fed = self._prefix_cache(model, adapter, prefix), len(prefix)
            ids = (prefix + rest)[state.fed:]
            out = model(input_ids=torch.tensor([ids]), past_key_values=state.cache, use_cache=True, logits_to_keep=1)
        state.fed, state.logits = total, out.logits[0, -1].float()
        return state.logits

    def _prefix_cache(self, model: Any, adapter: str | None, prefix: list[int]) -> Any:
        """The float32 key/value states of the prompt prefix (from the prefix cache, under a float32 key)."""
        from slot.engine.cpu.caches.growing_cache import growing_cache

        key = PrefixCache.key(f"float32:{adapter}", prefix)
        cache = self.prefix_cache.get(key)
        if cache is None:
            cache = growing_cache(model.config)
            if prefix:
                model(input_ids=torch.tensor([prefix]), past_key_values=cache, use_cache=True, logits_to_keep=1)
                self.prefix_cache.put(key, cache)
        return cache

    def model(self, adapter: str | None) -> Any:
        """The float32 model of ``adapter`` (None: the base model), built on first use (or by ``Engine.warm_up``)."""
        if adapter not in self._models:
            started = time.perf_counter()
            model = self._load(self.model_dir)
            if adapter is not None:
                model = merged(model, self.adapters[adapter])
            self._models[adapter] = model.eval()
            log.info("built the float32 model for near-ties of %s in %.1f s", adapter or "the base model",
                     time.perf_counter() - started)
        return self._models[adapter]
