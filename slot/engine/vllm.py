"""VllmEngine: the same Engine interface on vLLM's async engine (optional extra, its own venv).

vLLM batches every request in flight (continuous batching), so concurrent gRPC calls share forward
passes. The engine runs one ``AsyncLLM`` on a private event loop in a background thread; ``generate``
(called from the server's worker threads, like the transformers engine) submits a request there and
waits, polling ``is_cancelled`` so a cancelled call or a passed deadline aborts the vLLM request by id.

What stays the Structurer's: the prompt (token ids from slot.prompt, passed as ids, never re-tokenized),
schema checks and the grammar compile (refusals), post-validation and grounding. What vLLM does: the
decoding, under structured outputs built from the same JSON Schema by the grammar backend chosen at start
(``grammar_backend``: llguidance -> vLLM "guidance", xgrammar -> "xgrammar", outlines_core -> "outlines"),
always compact (no whitespace between tokens). LoRA adapters are vLLM ``LoRARequest``s, picked per request.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from slot.engine.base import Engine, Generation, GenerationRequest, Usage
from slot.errors import InvalidRequestError, ModelError, UnknownAdapterError
from slot.prompt import stop_ids

log = logging.getLogger(__name__)

VLLM_BACKENDS = {"llguidance": "guidance", "xgrammar": "xgrammar", "outlines_core": "outlines"}
"""SLOT grammar backend -> vLLM structured-outputs backend. lm-format-enforcer is not offered: it lets
invalid JSON through without a word."""

LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The max_lora_rank values vLLM accepts."""

FINISH_REASONS = {"stop": "stop", "length": "length", "abort": "cancelled"}
"""vLLM finish reason -> SLOT's (anything else, e.g. "error", is "error")."""

_POLL_S = 0.05
"""How often a waiting generate() checks is_cancelled (the deadline) when no token arrives."""


class VllmEngine(Engine):
    """A causal LM served by vLLM's AsyncLLM, optional named LoRA adapters, greedy or sampled decoding."""

    name = "vllm"

    def __init__(self, model_dir: Path, *, adapters: dict[str, Path] | None = None, dtype: str = "float32",
                 grammar_backend: str = "llguidance", max_num_seqs: int = 16, kv_cache_bytes: int = 1 << 30,
                 max_model_len: int = 0, enforce_eager: bool = True, custom_ops: str = "-rotary_embedding",
                 seed: int = 0) -> None:
        if grammar_backend not in VLLM_BACKENDS:
            raise ModelError(f"the vllm engine supports the grammar backends {', '.join(VLLM_BACKENDS)}, "
                             f"not {grammar_backend!r}")
        os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")  # never phone home
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout is for results (slot structure)
        try:
            from vllm.engine.arg_utils import AsyncEngineArgs
            from vllm.lora.request import LoRARequest
        except ImportError as exc:
            raise ModelError(f"the vllm engine needs vLLM ({exc}); install it in its own venv with "
                             "`make install-vllm` (CPU) and run .venv-vllm/bin/slot") from None
        from transformers import AutoConfig, AutoTokenizer, GenerationConfig

        self.model_dir = Path(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        config = AutoConfig.from_pretrained(self.model_dir, local_files_only=True)
        self.vocab_size = int(getattr(config, "vocab_size", 0) or len(self.tokenizer))
        self.eos_ids = _eos_ids(self.model_dir, self.tokenizer, GenerationConfig)
        self.dtype = dtype
        self.grammar_backend = grammar_backend
        self.max_num_seqs = max_num_seqs
        self.enforce_eager = enforce_eager
        self.cancelled_generations = 0
        self.peak_in_flight = 0
        """Most generate() calls that were in vLLM at the same time (batching evidence for tests and logs)."""
        self._in_flight = 0
        self._count_lock = threading.Lock()

        self._loras: dict[str, Any] = {}
        for index, (name, path) in enumerate((adapters or {}).items(), start=1):
            if not (Path(path) / "adapter_config.json").is_file():
                raise ModelError(f"adapter {name!r}: no adapter_config.json in {path}")
            self._loras[name] = LoRARequest(lora_name=name, lora_int_id=index, lora_path=str(Path(path).resolve()))

        structured: dict[str, Any] = {"backend": VLLM_BACKENDS[grammar_backend]}
        if grammar_backend != "outlines_core":
            structured["disable_any_whitespace"] = True  # outlines gets a compact regex instead (see _constraint)
        compilation: dict[str, Any] = {}
        ops = [op.strip() for op in custom_ops.split(",") if op.strip()]
        if ops and ops != ["default"]:
            compilation["custom_ops"] = ops
        engine_args: dict[str, Any] = dict(
            model=str(self.model_dir), tokenizer=str(self.model_dir), dtype=dtype, seed=seed,
            max_num_seqs=max_num_seqs, kv_cache_memory_bytes=kv_cache_bytes, enforce_eager=enforce_eager,
            structured_outputs_config=structured, disable_log_stats=True, enable_log_requests=False)
        if max_model_len:
            engine_args["max_model_len"] = max_model_len
        if compilation:
            engine_args["compilation_config"] = compilation
        if self._loras:
            engine_args.update(enable_lora=True, max_loras=len(self._loras), max_cpu_loras=len(self._loras),
                               max_lora_rank=_lora_rank(adapters or {}))
        self.engine_args = engine_args

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="slot-vllm-loop", daemon=True)
        self._thread.start()
        started = time.perf_counter()
        try:
            self._llm = self._call(self._start(AsyncEngineArgs(**engine_args)))
        except Exception as exc:  # noqa: BLE001 - any start-up failure is a model error with vLLM's reason
            self._stop_loop()
            raise ModelError(f"vLLM could not start on {self.model_dir}: {exc}") from exc
        self.load_s = time.perf_counter() - started
        atexit.register(self.close)  # stop the engine-core process cleanly when the server exits
        self.max_model_len = int(self._llm.model_config.max_model_len)
        log.info(json.dumps({"event": "vllm_loaded", "load_s": round(self.load_s, 1), "dtype": dtype,
                             "backend": structured["backend"], "adapters": list(self._loras),
                             "max_num_seqs": max_num_seqs, "enforce_eager": enforce_eager}))

    @classmethod
    def from_settings(cls, model_dir: Path, adapters: dict[str, Path], settings: Any) -> "VllmEngine":
        """The engine a slot.config.Settings describes (the ``vllm_*`` fields, dtype and grammar backend)."""
        return cls(model_dir, adapters=adapters, dtype=settings.resolved_dtype, grammar_backend=settings.grammar_backend,
                   max_num_seqs=settings.vllm_max_num_seqs, kv_cache_bytes=settings.vllm_kv_cache_mb << 20,
                   max_model_len=settings.vllm_max_model_len, enforce_eager=settings.vllm_enforce_eager,
                   custom_ops=settings.vllm_custom_ops)

    async def _start(self, args: Any) -> Any:
        from vllm.v1.engine.async_llm import AsyncLLM

        llm = AsyncLLM.from_engine_args(args)  # created on the loop that will drive its output handler
        try:
            for lora in self._loras.values():  # load every adapter now: a broken one fails the start, not a request
                await llm.add_lora(lora)
        except BaseException:
            llm.shutdown()
            raise
        return llm

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def adapters(self) -> list[str]:
        return list(self._loras)

    def describe(self) -> dict[str, Any]:
        import vllm

        return {"engine": self.name, "model_dir": str(self.model_dir), "adapters": self.adapters(),
                "dtype": self.dtype, "vllm": vllm.__version__,
                "structured_outputs": VLLM_BACKENDS[self.grammar_backend],
                "max_num_seqs": self.max_num_seqs, "max_model_len": self.max_model_len,
                "enforce_eager": self.enforce_eager}

    def close(self) -> None:
        """Shut vLLM's engine-core process down and stop the loop thread (idempotent)."""
        llm = getattr(self, "_llm", None)
        if llm is not None:
            self._llm = None
            try:  # stop reading outputs first, or the handler logs the engine's exit as an error
                self._call(_cancel(getattr(llm, "output_handler", None)), timeout=10)
            finally:
                llm.shutdown()
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # -- decoding ---------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if request.adapter is not None and request.adapter not in self._loras:
            loaded = ", ".join(self._loras) or "none"
            raise UnknownAdapterError(f"unknown adapter {request.adapter!r}; loaded: {loaded}", field="options.adapter")
        if self._llm is None:
            raise ModelError("the vllm engine is closed")
        if request.written:
            raise ModelError("the vllm engine cannot resume an answer (GenerationRequest.written)")
        params = self._sampling_params(request)
        request_id = f"slot-{uuid.uuid4().hex}"
        progress = _Progress()
        usage = Usage(prompt_tokens=len(request.prompt.prefix) + len(request.prompt.suffix))
        started = time.perf_counter()
        future = asyncio.run_coroutine_threadsafe(
            self._run(request_id, request.prompt.ids, params, self._loras.get(request.adapter or ""), progress),
            self._loop)
        with self._count_lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        streamed = ""
        cancelled = False
        try:
            seen = 0
            while not progress.done and not future.done():
                seen = progress.wait(seen, _POLL_S)
                if request.is_cancelled is not None and request.is_cancelled() and not progress.done:
                    cancelled = True
                    self._abort(request_id, future)
                    break
                if request.on_delta is not None:
                    streamed = self._stream(progress.snapshot(), streamed, request.on_delta)
            if not cancelled:
                future.result(timeout=60)  # re-raises what vLLM raised
        except Exception as exc:  # noqa: BLE001 - a request vLLM refuses is a bad request; the rest stays INTERNAL
            error = _slot_error(exc)
            if error is exc:
                raise
            raise error from exc
        finally:
            with self._count_lock:
                self._in_flight -= 1
        ids = progress.snapshot()
        generated = len(ids)
        if ids and ids[-1] in self.eos_ids:
            ids = ids[:-1]
        if cancelled:
            finish = "cancelled"
            self.cancelled_generations += 1
        else:
            finish = FINISH_REASONS.get(progress.finish_reason or "", "error")
        if finish == "length" and request.grammar is not None and _grammar_done(request.grammar, ids):
            finish = "stop"  # the JSON ended exactly at max_tokens: as the transformers engine reports it
        first = progress.first_token_at or time.perf_counter()
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        if request.on_delta is not None and text.startswith(streamed) and len(text) > len(streamed):
            request.on_delta(text[len(streamed):])
        usage.completion_tokens = len(ids)
        usage.cached_prompt_tokens = progress.cached_tokens
        usage.forward_passes = max(0, generated - 1)  # the prefill gives the first token
        return Generation(text=text, token_ids=ids, finish_reason=finish, usage=usage,
                          prefill_ms=(first - started) * 1000, decode_ms=(time.perf_counter() - first) * 1000,
                          error="" if finish != "error" else f"vLLM finished with {progress.finish_reason!r}")

    def _sampling_params(self, request: GenerationRequest) -> Any:
        from vllm.sampling_params import RequestOutputKind, SamplingParams

        if request.grammar is not None and request.grammar.backend != self.grammar_backend:
            raise InvalidRequestError(f"the vllm engine decodes with the grammar backend chosen at start "
                                      f"({self.grammar_backend}); a request cannot ask for {request.grammar.backend}",
                                      field="options.grammar_backend")
        return SamplingParams(
            max_tokens=request.max_tokens, temperature=max(0.0, request.temperature), seed=request.seed,
            structured_outputs=self._constraint(request), output_kind=RequestOutputKind.DELTA,
            detokenize=False, skip_special_tokens=True)

    def _constraint(self, request: GenerationRequest) -> Any:
        """vLLM structured outputs from the JSON Schema, compact, with SLOT's grammar options."""
        if request.grammar is None:
            return None
        from vllm.sampling_params import StructuredOutputsParams

        schema = request.json_schema if request.grammar.document is None else request.grammar.document
        if schema is None:  # the document SLOT's backend rewrote for the grammar (slot.grammar.rewrites) comes first
            raise ModelError("the vllm engine needs the JSON Schema of a constrained request")
        if schema is True:
            schema = {}
        if self.grammar_backend == "outlines_core":  # vLLM's outlines takes no whitespace option: a compact regex
            from outlines_core.json_schema import build_regex_from_schema

            return StructuredOutputsParams(regex=build_regex_from_schema(json.dumps(schema), r""))
        if self.grammar_backend == "llguidance" and isinstance(schema, dict):
            # the same llguidance options as slot.grammar.llguidance: compact, and lenient where the Structurer
            # found keywords the grammar cannot hold (checked after decoding, or format annotations no one checks)
            options: dict[str, Any] = {"whitespace_flexible": False}
            if request.grammar.relaxed:
                options["lenient"] = True
            schema = {**schema, "x-guidance": options}
        return StructuredOutputsParams(json=schema, disable_any_whitespace=True)

    async def _run(self, request_id: str, prompt_ids: list[int], params: Any, lora: Any, progress: "_Progress") -> None:
        from vllm.inputs import TokensPrompt

        try:
            async for output in self._llm.generate(TokensPrompt(prompt_token_ids=prompt_ids), params, request_id,
                                                   lora_request=lora):
                completion = output.outputs[0]
                progress.add(list(completion.token_ids), completion.finish_reason, output.num_cached_tokens)
        finally:
            progress.finish()

    def _abort(self, request_id: str, future: Any) -> None:
        """Abort the vLLM request by id (frees its batch slot and KV blocks), then let the consumer end."""
        try:
            self._call(self._llm.abort(request_id), timeout=10)
            future.result(timeout=10)
        except Exception:  # noqa: BLE001 - the consumer task is cancelled instead, which aborts internally
            future.cancel()

    def _stream(self, output: list[int], streamed: str, on_delta: Any) -> str:
        text = self.tokenizer.decode([t for t in output if t not in self.eos_ids], skip_special_tokens=True)
        if text.endswith("\ufffd") or not text.startswith(streamed):
            return streamed
        if len(text) > len(streamed):
            on_delta(text[len(streamed):])
        return text


class _Progress:
    """Token ids of one request as vLLM streams them (written on the loop thread, read by the caller)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ids: list[int] = []
        self.version = 0
        self.finish_reason: str | None = None
        self.cached_tokens = 0
        self.first_token_at: float | None = None
        self.done = False

    def add(self, ids: list[int], finish_reason: str | None, cached: int | None) -> None:
        with self._cond:
            if ids and self.first_token_at is None:
                self.first_token_at = time.perf_counter()
            self._ids += ids
            self.finish_reason = finish_reason or self.finish_reason
            self.cached_tokens = cached or self.cached_tokens
            self.version += 1
            self._cond.notify_all()

    def finish(self) -> None:
        with self._cond:
            self.done = True
            self.version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def snapshot(self) -> list[int]:
        with self._cond:
            return list(self._ids)


async def _cancel(task: Any) -> None:
    if task is not None and not task.done():
        task.cancel()
        await asyncio.wait([task])


def _grammar_done(grammar: Any, ids: list[int]) -> bool:
    """True when the output is a complete sentence the grammar lets end (replayed on SLOT's own matcher)."""
    try:
        matcher = grammar.matcher()
        return bool(matcher.consume(ids)) and matcher.is_stopped()
    except Exception:  # noqa: BLE001 - a replay problem must not turn a result into an error
        return False


def _slot_error(exc: Exception) -> Exception:
    """A request vLLM refuses (VLLMClientError) -> INVALID_ARGUMENT; anything else is returned unchanged."""
    from vllm.exceptions import VLLMClientError

    if isinstance(exc, VLLMClientError):
        return InvalidRequestError(f"vLLM refused the request: {exc}", field="text")
    return exc


def _lora_rank(adapters: dict[str, Path]) -> int:
    """The smallest rank vLLM accepts that holds every adapter's r."""
    ranks = [1]
    for path in adapters.values():
        config = json.loads((Path(path) / "adapter_config.json").read_text())
        ranks.append(max([int(config.get("r", 8))] + [int(r) for r in (config.get("rank_pattern") or {}).values()]))
    needed = max(ranks)
    for rank in LORA_RANKS:
        if rank >= needed:
            return rank
    raise ModelError(f"LoRA rank {needed} is over vLLM's maximum of {LORA_RANKS[-1]}")


def _eos_ids(model_dir: Path, tokenizer: Any, generation_config: Any) -> set[int]:
    try:
        eos = generation_config.from_pretrained(model_dir, local_files_only=True).eos_token_id
    except (OSError, ValueError):
        eos = None
    return stop_ids(tokenizer, eos)
