"""The probability of an emitted token under the grammar: what per-field confidence is made of.

The model's logits at the token's position, masked to the tokens the grammar allows there and renormalised
(a softmax over the allowed tokens, at temperature 1 whatever the sampling temperature): the chance the
constrained model gives the token it emitted. It reads logits the decoding computed anyway (for a draft
token, the verifying pass's logits at its position), so it costs no forward pass: the grammar's mask and
one log-sum-exp over the vocabulary (``slot.confidence`` turns these into per-leaf confidences).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["FORCED_PROBABILITY", "chosen_probability"]

FORCED_PROBABILITY = 1.0
"""A token the grammar forces (the only one it allows, or text it forces drafted as the tokenizer writes it)."""


def chosen_probability(logits: torch.Tensor, matcher: Any, token: int, vocab_size: int) -> float:
    """P(``token``) under softmax(``logits``) restricted to what ``matcher`` allows now (all tokens without a
    matcher); 0.0 for a token the grammar refuses, 1.0 when it allows nothing else."""
    scores = logits[:vocab_size].float()
    if not 0 <= token < scores.shape[0]:
        return 0.0
    chosen = scores[token]
    if matcher is not None:
        allowed = matcher.mask()[: scores.shape[0]]
        if token >= len(allowed) or not allowed[token]:
            return 0.0
        if np.count_nonzero(allowed) == 1:
            return FORCED_PROBABILITY
        scores = scores[: len(allowed)].masked_fill(torch.from_numpy(~allowed), float("-inf"))  # indexing: 4x slower
    return float(torch.exp(chosen - torch.logsumexp(scores, dim=0)))
