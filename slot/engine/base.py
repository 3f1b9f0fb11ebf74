"""The Engine interface: prompt tokens + compiled grammar + options -> text, finish reason, usage."""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from slot.grammar.base import CompiledGrammar
from slot.prompt import PromptTokens

FINISH_REASONS = ("stop", "length", "cancelled", "error")


@dataclass
class GenerationRequest:
    """What one generation needs; built by the Structurer, never by callers directly."""

    prompt: PromptTokens
    grammar: CompiledGrammar | None
    """None means unconstrained decoding (for evaluation baselines)."""
    max_tokens: int
    adapter: str | None = None
    """Adapter name, or None for the base model alone."""
    source_text: str = ""
    """The input text: the source of copy-speculation drafts."""
    temperature: float = 0.0
    seed: int | None = None
    speculation: bool | None = None
    """Override the engine's speculation setting for this request (None = engine default)."""
    on_delta: Callable[[str], None] | None = None
    """Called with each newly decoded piece of text (streaming)."""
    is_cancelled: Callable[[], bool] | None = None
    """Polled between forward passes; when it returns True decoding stops with finish_reason 'cancelled'."""
    json_schema: Any = None
    """The schema document the grammar was compiled from (engines that build the constraint themselves,
    such as vLLM, need it)."""
    written: list[int] = field(default_factory=list)
    """Output tokens already written (an answer resumed at a chosen point, ``slot.resumption``): fed to the
    model after the prompt and to the grammar before decoding; the generation's text, tokens and ``max_tokens``
    budget include them. Engines whose ``can_resume`` is False refuse such a request."""
    written_probs: list[float] = field(default_factory=list)
    """The probabilities reported for ``written`` in ``Generation.token_probs`` (NaN where not given)."""
    give_up: Callable[[], bool] | None = None
    """Polled between forward passes like ``is_cancelled``, for SLOT's own reasons (a resumption whose item or
    value is not new: ``slot.list_extension``, ``slot.key_filling``): True ends decoding with finish_reason
    'cancelled', not counted as a caller's cancellation."""
    keep_states: bool = False
    """Keep the answer's key/value states (prompt and output) when it finishes, so that a resumption of it
    (``written``) prefills only the tokens it does not share with it (``slot.engine.cpu.caches.answer_states``)."""


@dataclass
class Usage:
    """Token accounting of one generation."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    """Prompt tokens whose key/value states came from the prefix cache."""
    forced_tokens: int = 0
    """Output tokens forced by the grammar (fast-forward), accepted without the model choosing them."""
    copied_tokens: int = 0
    """Output tokens proposed by copying from the input and confirmed by the model in a batch."""
    remembered_tokens: int = 0
    """Output tokens proposed from earlier outputs of the same schema and confirmed by the model."""
    forward_passes: int = 0
    """Decoding forward passes (the prompt prefill not counted)."""
    tie_checks: int = 0
    """Near-ties of float16-weight logits decided by a float32 pass (``slot.engine.cpu.model.near_ties``)."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def plus(self, other: "Usage") -> "Usage":
        """Both generations' counts added (a request decoded twice, e.g. the extractive second pass)."""
        return Usage(**{name: value + getattr(other, name) for name, value in asdict(self).items()})


@dataclass
class Generation:
    """The raw outcome of a generation."""

    text: str
    token_ids: list[int]
    finish_reason: str
    usage: Usage = field(default_factory=Usage)
    prefill_ms: float = 0.0
    decode_ms: float = 0.0
    error: str = ""
    token_probs: list[float] = field(default_factory=list)
    """Per token of ``token_ids``: its probability under the grammar-masked, renormalised distribution of the
    model (``slot.engine.cpu.decoding.probability``; 1.0 for grammar-forced tokens, NaN where the engine had no
    logits for
    it). Empty when the engine reports none (vLLM)."""
    finish_spans: list[tuple[int, int]] = field(default_factory=list)
    """The ``[start, end)`` characters of ``text`` written by tokens finish mode chose instead of the model's
    (``slot.engine.cpu.guards.finish``: a max_tokens budget that ends in valid JSON); empty when the model chose
    every one."""


class Engine(abc.ABC):
    """A loaded model that can generate under a grammar."""

    name: str = "engine"
    tokenizer: Any
    vocab_size: int
    can_resume: bool = False
    """Whether ``generate`` takes ``GenerationRequest.written`` (an answer resumed at a chosen point)."""

    @abc.abstractmethod
    def generate(self, request: GenerationRequest) -> Generation:
        """Decode one request (thread-safe; implementations may serialise internally)."""

    @abc.abstractmethod
    def adapters(self) -> list[str]:
        """Names of the loaded LoRA adapters."""

    def describe(self) -> dict[str, Any]:
        """Facts for GetServerInfo and logs."""
        return {"engine": self.name, "adapters": self.adapters()}

    def warm_up(self, adapter: str | None) -> None:
        """Build now what the first requests for ``adapter`` would otherwise build on their way, so that no
        request pays for it (called before a server reports SERVING; nothing to build by default)."""

    def close(self) -> None:
        """Stop the engine's worker threads or processes (idempotent); generate() fails afterwards."""
