"""Sequence: one request being decoded, the grammar state, the output so far and its accounting.

The decoding step is split in two around the forward pass so that one pass can serve several sequences:
``propose`` picks the next token from the current logits and drafts the tokens after it (grammar-forced
and copied from the input); ``verify`` reads the model's logits over those tokens and keeps the longest
draft prefix that greedy constrained decoding would have produced itself. The output is the same as
decoding one token per pass.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch

from slot.engine.base import Generation, GenerationRequest, Usage
from slot.engine.drafts import build_draft

if TYPE_CHECKING:
    from slot.engine.transformers import TransformersEngine


class Sequence:
    """Decoding state of one request between forward passes."""

    def __init__(self, engine: "TransformersEngine", request: GenerationRequest, usage: Usage, logits: torch.Tensor,
                 prefill_ms: float) -> None:
        self.engine = engine
        self.request = request
        self.usage = usage
        self.logits = logits
        """The model's logits for the next token."""
        self.prefill_ms = prefill_ms
        self.matcher = request.grammar.matcher() if request.grammar is not None else None
        self.generator = torch.Generator().manual_seed(request.seed) if request.seed is not None else None
        self.greedy = request.temperature <= 0
        wanted = engine.speculation if request.speculation is None else request.speculation
        self.speculate = wanted and self.greedy and engine.can_speculate
        self.output: list[int] = []
        self.streamed = ""
        self.finish: str | None = None
        self.error = ""
        self._draft: list[int] = []
        self._forced_flags: list[bool] = []
        self._started = time.perf_counter()

    @property
    def done(self) -> bool:
        return self.finish is not None

    def propose(self, draft_limit: int) -> list[int] | None:
        """The tokens to feed in the next forward pass (the chosen token, then a draft); None once finished."""
        request, matcher, output = self.request, self.matcher, self.output
        if len(output) >= request.max_tokens:
            return self._stop("length")
        if request.is_cancelled is not None and request.is_cancelled():
            self.engine.cancelled_generations += 1
            return self._stop("cancelled")
        if matcher is not None and matcher.is_stopped():
            return self._stop("stop")
        token = self.engine._choose(self.logits, matcher, greedy=self.greedy, temperature=request.temperature,
                                    generator=self.generator, context=output)
        if token is None:
            return self._stop("error", "the grammar allows no token here")
        if token in self.engine.eos_ids:
            return self._stop("stop")
        if matcher is not None and not matcher.consume([token]):
            return self._stop("error", "the grammar rejected the chosen token")
        output.append(token)
        if len(output) >= request.max_tokens or (matcher is not None and matcher.is_stopped()):
            return self._stop("stop" if matcher is not None and matcher.is_stopped() else "length")
        self._draft, self._forced_flags = [], []
        if self.speculate:
            limit = min(draft_limit, request.max_tokens - len(output))
            self._draft, self._forced_flags = build_draft(matcher, self.engine.tokenizer, output,
                                                          request.source_text, limit)
        return [token] + self._draft

    def verify(self, logits: torch.Tensor) -> int:
        """Accept the draft prefix the model agrees with, given its logits over the fed tokens; returns how many
        of the fed tokens stay in the key/value cache."""
        self.usage.forward_passes += 1
        draft, matcher, output = self._draft, self.matcher, self.output
        accepted = 0
        for position, proposed in enumerate(draft):
            choice = self.engine._choose(logits[position], matcher, greedy=True, context=output + draft[:position])
            if choice != proposed or (matcher is not None and not matcher.consume([proposed])):
                break
            accepted += 1
            if self._forced_flags[position]:
                self.usage.forced_tokens += 1
            else:
                self.usage.copied_tokens += 1
        output += draft[:accepted]
        self.logits = logits[accepted]
        if self.request.on_delta is not None:
            self.streamed = self.engine._stream(output, self.streamed, self.request.on_delta)
        return accepted + 1

    def result(self) -> Generation:
        """The finished generation (text, finish reason, usage, timings)."""
        finish = self.finish or "length"
        if finish == "length" and self.matcher is not None and self.matcher.is_stopped():
            finish = "stop"
        text = self.engine.tokenizer.decode(self.output, skip_special_tokens=True)
        on_delta = self.request.on_delta
        if on_delta is not None and text.startswith(self.streamed) and len(text) > len(self.streamed):
            on_delta(text[len(self.streamed):])
        self.usage.completion_tokens = len(self.output)
        return Generation(text=text, token_ids=list(self.output), finish_reason=finish, usage=self.usage,
                          prefill_ms=self.prefill_ms, decode_ms=(time.perf_counter() - self._started) * 1000,
                          error=self.error)

    def _stop(self, finish: str, error: str = "") -> None:
        self.finish, self.error = finish, error
        return None


def cancelled_before_start(request: GenerationRequest) -> Generation:
    """The generation of a request cancelled while it waited for the model."""
    return Generation(text="", token_ids=[], finish_reason="cancelled",
                      usage=Usage(prompt_tokens=len(request.prompt.prefix) + len(request.prompt.suffix)))

