"""TransformersEngine: the CPU default. Owns its decoding loop, KV cache and grammar matcher.

One forward pass verifies a whole draft (grammar-forced tokens and text copied from the input), so a
SLOT output costs far fewer passes than it has tokens, while staying identical to plain greedy
constrained decoding: a draft token is kept only if it is the masked argmax the model would have chosen.
The key/value states of the prompt prefix (instructions + schema) are cached across requests, and
concurrent requests share forward passes (continuous batching, ``slot.engine.cpu.decoding.scheduler``); a long
prompt is prefilled in chunks between them (``slot.engine.cpu.decoding.prefill``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from slot.engine.base import Engine, Generation, GenerationRequest
from slot.engine.cpu.caches.answer_states import AnswerStates
from slot.engine.cpu.caches.prefix_cache import PrefixCache
from slot.engine.cpu.decoding.scheduler import BatchScheduler
from slot.engine.cpu.drafts.output_memory import OutputMemory
from slot.engine.cpu.guards.finish import Finisher
from slot.engine.cpu.guards.repetition import comma_tokens, opens_repeated_item
from slot.engine.cpu.guards.runaway import RunawayGuard
from slot.engine.cpu.model.near_ties import NearTies
from slot.errors import ModelError, UnknownAdapterError
from slot.prompt import head_ids, stop_ids

log = logging.getLogger(__name__)


class TransformersEngine(Engine):
    """A causal LM from a local directory, optional named LoRA adapters, greedy or sampled decoding."""

    name = "transformers"
    can_resume = True

    def __init__(self, model_dir: Path, *, adapters: dict[str, Path] | None = None, dtype: str = "float32",
                 threads: int = 0, speculation: bool = True, draft_tokens: int = 24,
                 prefix_cache_bytes: int = 256 << 20, output_memory: int = 256, max_repeated_items: int = 3,
                 max_batch: int = 8, batch_wait_ms: float = 5.0, tie_margin: float = 0.0,
                 max_string_repeats: int = 4, max_number_digits: int = 20, finish_window: int = 64,
                 prefill_chunk_tokens: int = 0) -> None:
        from slot.models import load

        torch.set_num_threads(threads or available_cpus())
        self.model_dir = model_dir
        model, self.tokenizer = load(model_dir, dtype=dtype)
        self.eos_ids = _eos_ids(model, self.tokenizer)
        self.vocab_size = int(model.get_output_embeddings().weight.shape[0])
        self._adapters: list[str] = []
        self._half: Any = None
        """float16-weights only: the merged model of each adapter
        (slot.engine.cpu.model.half_weights.HalfWeightModels)."""
        if adapters:
            self._check_adapters(adapters)
        if dtype == "float16-weights":
            from slot.engine.cpu.model.half_weights import HalfWeightModels
            from slot.engine.cpu.model.lean_llama import lean

            self._half = HalfWeightModels(model, adapters or {}, lambda: load(model_dir, dtype="float32")[0],
                                          wrap=lean)
            self._adapters = list(adapters or {})
            model = self._half.get(self._half.first)
        elif adapters:
            model = self._attach_adapters(model, adapters)
        self.model = model
        self.dtype = dtype
        self.speculation = speculation
        self.draft_tokens = draft_tokens
        self.prefix_cache = PrefixCache(prefix_cache_bytes)
        self.answer_states = AnswerStates(prefix_cache_bytes)
        """The states of finished answers whose requests asked to keep them, for resuming them
        (``slot.resumption``); bounded like the prefix cache."""
        self.output_memory = OutputMemory(output_memory)
        """Earlier outputs per (adapter, prompt prefix): drafts the input cannot give (schemas kept; 0 = off)."""
        self.ties: NearTies | None = None
        """float16 weights only: float32 decides greedy near-ties closer than ``tie_margin`` (0: never)."""
        if dtype == "float16-weights" and tie_margin > 0:
            self.ties = NearTies(tie_margin, model_dir, adapters or {}, self.prefix_cache, self.vocab_size,
                                 lambda path: load(path, dtype="float32")[0])
        self.prompt_head = head_ids(self.tokenizer)
        """The token ids every prompt begins with (the instructions before the schema), cached on their own
        (``slot.engine.cpu.decoding.prefill``)."""
        self.max_repeated_items = max_repeated_items
        self._commas = set(comma_tokens(self.tokenizer, self.vocab_size))
        self.runaway = RunawayGuard(self.tokenizer, self.vocab_size, max_repeats=max_string_repeats,
                                    max_digits=max_number_digits)
        """Greedy: strings whose last words keep repeating are closed, numbers get at most so many digits."""
        self.finisher = Finisher(self.tokenizer, self.vocab_size, self.eos_ids, finish_window)
        """Finish mode: near the end of max_tokens, choices that leave no room for a valid completion are steered."""
        self.pad_id = next(iter(sorted(self.eos_ids)), 0) if self.tokenizer.pad_token_id is None \
            else int(self.tokenizer.pad_token_id)
        """Token fed in the padding columns of a batch (masked out, any id works)."""
        self.can_speculate = not _has_sliding_window(model.config)
        """False for models with sliding-window layers (Gemma 3): they drop old key/value states, so rejected
        draft tokens cannot be cropped and batch rows cannot be re-aligned; one request at a time, one token
        per pass."""
        if not self.can_speculate and (speculation or max_batch > 1):
            log.warning("%s has sliding-window attention: speculation and batching are off", model_dir.name)
            self.speculation, max_batch = False, 1
        self.max_batch = max_batch
        self.scheduler = BatchScheduler(self, max_batch=max_batch, wait_s=batch_wait_ms / 1000,
                                        chunk_tokens=prefill_chunk_tokens)
        self.cancelled_generations = 0

    @staticmethod
    def _check_adapters(adapters: dict[str, Path]) -> None:
        for name, path in adapters.items():
            if not (Path(path) / "adapter_config.json").is_file():
                raise ModelError(f"adapter {name!r}: no adapter_config.json in {path}")

    def _attach_adapters(self, model: Any, adapters: dict[str, Path]) -> Any:
        from peft import PeftModel

        peft_model = None
        for name, path in adapters.items():
            if peft_model is None:
                peft_model = PeftModel.from_pretrained(model, str(path), adapter_name=name)
            else:
                peft_model.load_adapter(str(path), adapter_name=name)
            self._adapters.append(name)
        peft_model.eval()
        return peft_model

    def adapters(self) -> list[str]:
        return list(self._adapters)

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "model_dir": str(self.model_dir), "adapters": self.adapters(),
                "dtype": self.dtype, "speculation": self.speculation, "threads": torch.get_num_threads(),
                "max_batch": self.max_batch, "forward": type(self.model).__name__,
                "tie_margin": self.ties.margin if self.ties is not None else 0.0}

    def warm_up(self, adapter: str | None) -> None:
        """The float32 model that decides near-ties (~2 s, ~540 MB), built now rather than at the first tie."""
        if self.ties is not None:
            self.ties.model(adapter)

    def close(self) -> None:
        """Stop the decoding thread after its current pass (also done at interpreter exit)."""
        self.scheduler.close()

    # -- decoding ---------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if request.adapter is not None and request.adapter not in self._adapters:
            raise UnknownAdapterError(f"unknown adapter {request.adapter!r}; loaded: {', '.join(self._adapters) or 'none'}",
                                      field="options.adapter")
        return self.scheduler.submit(request).result()

    @contextlib.contextmanager
    def adapter_scope(self, adapter: str | None) -> Iterator[Any]:
        """Within the scope, forward passes run ``adapter`` (``None``: the base model); yields the model to call."""
        if self._half is not None:
            yield self._half.get(adapter)
        elif not self._adapters:
            yield self.model
        elif adapter is None:
            with self.model.disable_adapter():
                yield self.model
        else:
            self.model.set_adapter(adapter)
            yield self.model

    def choose(self, logits: torch.Tensor, matcher: Any, *, greedy: bool, temperature: float = 0.0,
               generator: torch.Generator | None = None, context: list[int] | None = None) -> int | None:
        """The next token: masked argmax (or a masked sample when temperature > 0).

        Greedy, the model's own first choice is kept when the mask allows it: that is the masked argmax, read
        from the grammar's bitmask without unpacking it and filling the 49,152 scores (0.3 -> 0.1 ms a token).
        (``validate([token])`` is no substitute: llguidance validates tokens its mask refuses.)
        """
        scores = logits[: self.vocab_size]
        if greedy and matcher is not None:
            top = int(torch.argmax(scores))
            if matcher.allows(top):
                return self._guard(top, scores, matcher, context)
        if matcher is not None:
            allowed = matcher.mask()
            if not allowed.any():
                return None
            scores = scores.masked_fill(torch.from_numpy(~allowed), float("-inf"))
        if greedy:
            return self._guard(int(torch.argmax(scores)), scores, matcher, context)
        probs = torch.softmax(scores / temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=generator))

    def _guard(self, token: int, scores: torch.Tensor, matcher: Any, context: list[int] | None) -> int:
        """The greedy choice after the guards against runaway output: repeated array items
        (``slot.engine.cpu.guards.repetition``), then repeated words in a string and overlong numbers
        (``slot.engine.cpu.guards.runaway``)."""
        token = self._unrepeat(token, scores, matcher, context)
        return token if context is None else self.runaway.check(token, scores, matcher, context)

    def _unrepeat(self, token: int, scores: torch.Tensor, matcher: Any, context: list[int] | None) -> int:
        """The repetition guard: no separator comma after an item that fills its array max_repeated_items times.

        The replacement closes the array: the text before the comma followed by ``]`` (e.g. ``"]`` for
        ``","``), or that text alone so the next step closes it; the best other allowed token otherwise.
        """
        if not self.max_repeated_items or matcher is None or context is None or token not in self._commas:
            return token
        piece = self.tokenizer.decode([token])
        if not opens_repeated_item(self.tokenizer.decode(context, skip_special_tokens=True), piece,
                                   self.max_repeated_items):
            return token
        allowed = matcher.mask()
        before = piece[: piece.find(",")]
        for closing in (before + "]", before):
            candidate = self.tokenizer.convert_tokens_to_ids(closing) if closing else None
            if isinstance(candidate, int) and 0 <= candidate < len(allowed) and allowed[candidate] \
                    and candidate != self.tokenizer.unk_token_id:
                return candidate
        banned = ~allowed
        banned[list(self._commas)] = True
        if banned.all():
            return token
        return int(torch.argmax(scores.masked_fill(torch.from_numpy(banned), float("-inf"))))

    def stream(self, output: list[int], streamed: str, on_delta: Any) -> str:
        """Hand ``on_delta`` the text decoded since ``streamed`` (held back while it ends mid-character);
        returns the text streamed so far."""
        text = self.tokenizer.decode(output, skip_special_tokens=True)
        if text.endswith("\ufffd") or not text.startswith(streamed):
            return streamed
        if len(text) > len(streamed):
            on_delta(text[len(streamed):])
        return text


def available_cpus() -> int:
    """CPUs this process may use: the cgroup CPU quota (a Kubernetes limit) if set, else the affinity mask."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def _has_sliding_window(config: Any) -> bool:
    """True when some attention layers of the model only keep a window of recent tokens."""
    config = getattr(config, "text_config", config)
    return "sliding_attention" in (getattr(config, "layer_types", None) or []) \
        or bool(getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True))


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    return stop_ids(tokenizer, getattr(model.generation_config, "eos_token_id", None))

