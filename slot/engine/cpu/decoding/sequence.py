"""Sequence: one request being decoded, the grammar state, the output so far and its accounting.

The decoding step is split in two around the forward pass so that one pass can serve several sequences:
``propose`` picks the next token from the current logits and drafts the tokens after it (grammar-forced
and copied from the input); ``verify`` reads the model's logits over those tokens and keeps the longest
draft prefix that greedy constrained decoding would have produced itself. The output is the same as
decoding one token per pass.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import torch

from slot.engine.base import Generation, GenerationRequest, Usage
from slot.engine.cpu.decoding.probability import FORCED_PROBABILITY, chosen_probability
from slot.engine.cpu.drafts.proposals import FORCED, REMEMBERED, build_draft
from slot.engine.cpu.model.near_ties import ExactState
from slot.errors import InvalidRequestError

if TYPE_CHECKING:
    from slot.engine.cpu.engine import TransformersEngine


class Sequence:
    """Decoding state of one request between forward passes."""

    def __init__(self, engine: "TransformersEngine", request: GenerationRequest, usage: Usage,
                 memory_key: str = "") -> None:
        self.engine = engine
        self.request = request
        self.usage = usage
        self.logits: torch.Tensor | None = None
        """The model's logits for the next token (set by the prefill)."""
        self.prefill_ms = 0.0
        self.states_key = ""
        """Where the finished answer's key/value states are kept for resumptions (``engine.answer_states``; set by
        the prefill for a request with ``keep_states``); empty: nowhere."""
        self.memory_key = memory_key
        """Where the output is remembered for later drafts (``slot.engine.cpu.drafts.output_memory``); empty:
        nowhere."""
        self.memory = engine.output_memory.get(memory_key) if memory_key else None
        self.matcher = request.grammar.matcher() if request.grammar is not None else None
        self.generator = torch.Generator().manual_seed(request.seed) if request.seed is not None else None
        self.greedy = request.temperature <= 0
        wanted = engine.speculation if request.speculation is None else request.speculation
        self.speculate = wanted and self.greedy and engine.can_speculate
        written = list(request.written)
        if written and self.matcher is not None and not self.matcher.consume(written):
            raise InvalidRequestError("the grammar rejects the written tokens of a resumed answer")
        self.output: list[int] = written
        """The output so far, beginning with the tokens a resumed answer had written (``request.written``)."""
        self.probs: list[float] = [*request.written_probs[:len(written)],
                                   *[math.nan] * (len(written) - len(request.written_probs))]
        """Per output token, its probability under the grammar-masked distribution
        (``slot.engine.cpu.decoding.probability``)."""
        self.streamed = engine.tokenizer.decode(request.written, skip_special_tokens=True) if request.written else ""
        """The output text ``on_delta`` was given (a resumed answer's written text counts as given)."""
        self.finish: str | None = None
        self.error = ""
        self._draft: list[int] = []
        self._kinds: list[str] = []
        self.exact = ExactState() if engine.ties is not None and self.greedy else None
        """float32 key/value states for near-ties (``slot.engine.cpu.model.near_ties``), filled on the first one."""
        self._decided: int | None = None
        """The next token, when float32 chose it at a near-tie that ended the last draft."""
        self.steered: list[int] = []
        """Indices of the output tokens finish mode chose instead of the model (``slot.engine.cpu.guards.finish``)."""
        self._overrode = False
        """Whether finish mode made the last choice (``_steer``), read where that choice is accepted."""
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
        if request.give_up is not None and request.give_up():
            return self._stop("cancelled")
        if matcher is not None and matcher.error:
            return self._broken()
        if matcher is not None and matcher.is_stopped():
            return self._stop("stop")
        if self._decided is not None:
            token, self._decided = self._decided, None
        elif self.greedy:
            token, _ = self._greedy(self.logits, output)
        else:
            token = self._steer(self.engine.choose(self.logits, matcher, greedy=False, generator=self.generator,
                                                    temperature=request.temperature, context=output), output)
        if matcher is not None and matcher.error:  # it broke while computing the mask: its choice means nothing
            return self._broken()
        if token is None:
            return self._stop("error", "the grammar allows no token here")
        if token in self.engine.eos_ids:
            return self._stop("stop")
        probability = chosen_probability(self.logits, matcher, token, self.engine.vocab_size)
        if matcher is not None and not matcher.consume([token]):
            return self._broken() if matcher.error else self._stop("error", "the grammar rejected the chosen token")
        output.append(token)
        self.probs.append(probability)
        if self._overrode:
            self.steered.append(len(output) - 1)
        if matcher is not None and matcher.error:
            return self._broken()
        if len(output) >= request.max_tokens or (matcher is not None and matcher.is_stopped()):
            return self._stop("stop" if matcher is not None and matcher.is_stopped() else "length")
        self._make_draft(draft_limit)
        return [token] + self._draft

    def first_draft(self, draft_limit: int) -> list[int]:
        """A draft of the output's first tokens, fed with the prompt so that the prefill verifies it too
        (the opening ``{"key":"`` the grammar forces, and what earlier outputs of the schema began with)."""
        self._make_draft(draft_limit)
        return list(self._draft)

    def _make_draft(self, draft_limit: int) -> None:
        self._draft, self._kinds = [], []
        if self.speculate:
            limit = min(draft_limit, self.request.max_tokens - len(self.output))
            self._draft, self._kinds = build_draft(self.matcher, self.engine.tokenizer, self.output,
                                                   self.request.source_text, limit, self.memory)

    def verify(self, logits: torch.Tensor, *, prefill: bool = False) -> int:
        """Accept the draft prefix the model agrees with, given its logits over the fed tokens; returns how many
        of the fed tokens stay in the key/value cache (after a prefill: how many of the draft tokens)."""
        if not prefill:
            self.usage.forward_passes += 1
        draft, matcher, output = self._draft, self.matcher, self.output
        accepted = 0
        for position, proposed in enumerate(draft):
            choice, exact = self._greedy(logits[position], output + draft[:position])
            kind = self._kinds[position]
            probability = FORCED_PROBABILITY if kind == FORCED or choice != proposed \
                else chosen_probability(logits[position], matcher, proposed, self.engine.vocab_size)
            if choice != proposed or (matcher is not None and not matcher.consume([proposed])):
                if exact and choice != proposed:
                    self._decided = choice  # float32's choice here, not the float16 argmax of logits[position]
                break
            accepted += 1
            self.probs.append(probability)
            if self._overrode:
                self.steered.append(len(output) + position)
            if kind == FORCED:
                self.usage.forced_tokens += 1
            elif kind == REMEMBERED:
                self.usage.remembered_tokens += 1
            else:
                self.usage.copied_tokens += 1
        output += draft[:accepted]
        self.logits = logits[accepted]
        if self.request.on_delta is not None and (accepted or not prefill):
            self.streamed = self.engine.stream(output, self.streamed, self.request.on_delta)
        return accepted if prefill else accepted + 1

    def _greedy(self, logits: torch.Tensor, context: list[int]) -> tuple[int | None, bool]:
        """The greedy choice after ``context`` (the output so far) given the model's ``logits`` there, and whether
        float32 made it: where the two best allowed tokens are a near-tie, float32 logits decide."""
        engine, matcher = self.engine, self.matcher
        choice = engine.choose(logits, matcher, greedy=True, context=context)
        if self.exact is None or choice is None or not engine.ties.close(logits, matcher):
            return self._steer(choice, context), False
        prompt = self.request.prompt
        exact = engine.ties.logits(self.exact, self.request.adapter, prompt.prefix, prompt.suffix + context)
        self.usage.tie_checks += 1
        return self._steer(engine.choose(exact, matcher, greedy=True, context=context), context), True

    def _steer(self, choice: int | None, context: list[int]) -> int | None:
        """Finish mode (``slot.engine.cpu.guards.finish``): ``choice``, or the next token of a completion that fits
        in what is
        left of max_tokens after ``context``; sets ``_overrode``."""
        token, self._overrode = self.engine.finisher.steer(self.matcher, choice, context,
                                                           self.request.max_tokens - len(context))
        return token

    def result(self) -> Generation:
        """The finished generation (text, finish reason, usage, timings)."""
        finish = self.finish or "length"
        if finish == "length" and self.matcher is not None and self.matcher.is_stopped() and not self.matcher.error:
            finish = "stop"
        if finish == "stop" and self.steered:
            finish = "length"  # the budget ended it: finish mode closed what the model had open
        text = self.engine.tokenizer.decode(self.output, skip_special_tokens=True)
        on_delta = self.request.on_delta
        if on_delta is not None and text.startswith(self.streamed) and len(text) > len(self.streamed):
            on_delta(text[len(self.streamed):])
        self.usage.completion_tokens = len(self.output) - len(self.request.written)
        if finish == "stop" and self.matcher is not None and self.memory_key:
            self.engine.output_memory.add(self.memory_key, text, self.request.source_text)
        probs = self.probs[:len(self.output)] + [math.nan] * (len(self.output) - len(self.probs))
        return Generation(text=text, token_ids=list(self.output), finish_reason=finish, usage=self.usage,
                          prefill_ms=self.prefill_ms, decode_ms=(time.perf_counter() - self._started) * 1000,
                          error=self.error, token_probs=probs, finish_spans=self._finish_spans())

    def _finish_spans(self) -> list[tuple[int, int]]:
        """The ``[start, end)`` characters of the text written by the tokens finish mode chose."""
        decode = self.engine.tokenizer.decode
        spans: list[tuple[int, int]] = []
        for index in self.steered:
            start = len(decode(self.output[:index], skip_special_tokens=True))
            spans.append((start, len(decode(self.output[:index + 1], skip_special_tokens=True))))
        return spans

    def _stop(self, finish: str, error: str = "") -> None:
        self.finish, self.error = finish, error
        return None

    def _broken(self) -> None:
        """End the request whose matcher broke (an engine limit hit mid-output): an error of this request only,
        since every request has a matcher of its own (``slot.grammar.base.CompiledGrammar.matcher``)."""
        assert self.matcher is not None
        return self._stop("error", f"the grammar engine failed on this output: {self.matcher.error}")


def cancelled_before_start(request: GenerationRequest) -> Generation:
    """The generation of a request cancelled while it waited for the model or between pieces of its prefill."""
    return Generation(text="", token_ids=[], finish_reason="cancelled",
                      usage=Usage(prompt_tokens=len(request.prompt.prefix) + len(request.prompt.suffix)))

