"""ServerState: what every transport of one server shares (gRPC and the OpenAI-compatible HTTP API).

One structurer, one admission queue, one pool of worker threads and one set of metrics, so a request
takes the same path and the same limits whichever port it came in by. :meth:`ServerState.structure`
is that path after a transport has parsed its request: wait for a generation slot, run the generation
in a worker thread, stop it when the caller goes away, count it and log it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from slot.config import Settings
from slot.errors import InvalidRequestError, UnavailableError
from slot.schema import Schema
from slot.server.admission import Admission
from slot.server.metrics import Metrics
from slot.structurer import StructureResult, Structurer

log = logging.getLogger("slot.server")


@dataclass(frozen=True)
class StructureCall:
    """One structuring request, whatever transport brought it, after its cheap checks (see ``prepare``)."""

    text: str
    schema: Schema
    request_id: str
    adapter: str | None = None
    """The request's adapter option: None or '' for the server default, 'base', or a loaded name."""
    max_tokens: int | None = None
    temperature: float = 0.0
    seed: int | None = None
    grammar_backend: str | None = None
    grounding_policy: str = "keep"
    """The policy applied: the request's, or the server's setting ``grounding_policy`` (``prepare`` decides)."""
    constrained: bool = True
    parse_first: bool | None = None
    """The parse-first fast path: None for the server's setting."""
    strict: bool = False
    """Refuse a schema the grammar would relax instead of serving it relaxed (``Structurer.structure``)."""
    deadline: float | None = None
    """``time.monotonic()`` after which decoding stops (finish_reason 'cancelled'); None: no deadline."""
    on_delta: Callable[[str], None] | None = None


def json_text(result: StructureResult) -> str:
    """The result's value as compact JSON text (after the grounding policy); '' when the output did not parse."""
    if result.json is None and result.output.strip() != "null":
        return ""
    return json.dumps(result.json, ensure_ascii=False, separators=(",", ":"))


class ServerState:
    """What the transports share with the app: settings, the (lazily loaded) structurer, limits, metrics."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.structurer: Structurer | None = None
        self.admission = Admission(settings.max_concurrency, settings.max_queue)
        self.executor = ThreadPoolExecutor(max_workers=settings.max_concurrency + 2, thread_name_prefix="slot-gen")
        self.draining = False
        self.abort = threading.Event()
        """Set when the grace period of a shutdown is over: every in-flight generation stops at once."""
        self._work: set[asyncio.Future[Any]] = set()

    def run(self, call: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run a blocking call (generation, compile) on the worker threads, tracked until it ends."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, call)
        self._work.add(future)
        future.add_done_callback(self._work.discard)
        return future

    async def settle(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for the worker calls still running; return how many are left."""
        pending = [future for future in self._work if not future.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return sum(not future.done() for future in pending)

    @property
    def ready(self) -> bool:
        """The model is loaded and warm, and the server is not shutting down."""
        return self.structurer is not None and not self.draining

    def ready_structurer(self) -> Structurer:
        """The structurer, or UnavailableError while the model loads or the server drains."""
        if self.draining:
            raise UnavailableError("server is shutting down; retry on another replica")
        if self.structurer is None:
            raise UnavailableError("model is still loading; retry shortly")
        return self.structurer

    def account(self, method: str, code: str, started: float) -> None:
        """Count one finished request (by method and status name) and its latency."""
        seconds = time.perf_counter() - started
        self.metrics.requests.labels(method, code).inc()
        self.metrics.latency.labels(method).observe(seconds)
        if code == "RESOURCE_EXHAUSTED":
            self.metrics.rejected.inc()

    @staticmethod
    def prepare(structurer: Structurer, text: str, schema: str | bytes | dict[str, Any], *, request_id: str,
                adapter: str | None = None, max_tokens: int | None = None, temperature: float = 0.0,
                **options: Any) -> StructureCall:
        """The cheap checks (text, numbers, schema, adapter) before a request may queue; raise SlotError."""
        structurer.check_text(text)
        structurer.check_options(max_tokens, temperature)
        options["grounding_policy"] = structurer.resolve_policy(options.get("grounding_policy"))
        checked = structurer.load_schema(schema)
        structurer.resolve_adapter(adapter)
        return StructureCall(text=text, schema=checked, request_id=request_id, adapter=adapter,
                             max_tokens=max_tokens, temperature=temperature, **options)

    async def structure(self, structurer: Structurer, call: StructureCall) -> StructureResult:
        """Queue for a generation slot, generate in a worker thread, count and log; cancelling stops decoding.

        Raises OverloadedError when the queue is full, UnavailableError when a shutdown stopped the generation.
        """
        cancelled = threading.Event()

        def is_cancelled() -> bool:
            return (cancelled.is_set() or self.abort.is_set()
                    or (call.deadline is not None and time.monotonic() > call.deadline))

        metrics = self.metrics
        metrics.queue_depth.set(self.admission.waiting + 1)
        async with self.admission.slot() as waited:
            metrics.queue_depth.set(self.admission.waiting)
            metrics.inflight.inc()
            work = functools.partial(
                structurer.structure, call.text, call.schema, constrained=call.constrained, adapter=call.adapter,
                max_tokens=call.max_tokens or None, grammar_backend=call.grammar_backend,
                temperature=call.temperature, seed=call.seed, grounding_policy=call.grounding_policy,
                queue_ms=waited * 1000, on_delta=call.on_delta, is_cancelled=is_cancelled,
                parse_first=call.parse_first, strict=call.strict)
            future = self.run(work)
            try:
                result: StructureResult = await asyncio.shield(future)
            except asyncio.CancelledError:
                cancelled.set()
                await asyncio.wait([future])  # the worker stops at its next forward pass; then free the slot
                metrics.cancelled.inc()
                raise
            finally:
                metrics.inflight.dec()
        if result.finish_reason == "cancelled":
            metrics.cancelled.inc()
        self._count_tokens(result)
        log.info(json.dumps({"event": "structure", "request_id": call.request_id, "path": result.path,
                             "valid": result.valid, "attempts": result.attempts,
                             "finish_reason": result.finish_reason, "completion_tokens": result.usage.completion_tokens,
                             "forward_passes": result.usage.forward_passes, "total_ms": round(result.timings.total_ms, 1),
                             **({"text": call.text, "output": result.output} if self.settings.log_payloads else {})}))
        if result.finish_reason == "cancelled" and self.abort.is_set():
            raise UnavailableError("server shut down before the generation finished; retry on another replica")
        return result

    async def stream(self, structurer: Structurer, call: StructureCall) -> AsyncIterator[str | StructureResult]:
        """The output's text deltas as the model writes them, then the result (errors raised in between).

        Closing the iterator early (the caller went away) cancels the generation; use ``contextlib.aclosing``.
        """
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def on_delta(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, text)

        task = asyncio.ensure_future(self.structure(structurer, dataclasses.replace(call, on_delta=on_delta)))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (delta := await queue.get()) is not None:
                yield delta
            yield task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    def _count_tokens(self, result: StructureResult) -> None:
        m = self.metrics
        u = result.usage
        for kind, value in (("prompt", u.prompt_tokens), ("completion", u.completion_tokens), ("forced", u.forced_tokens),
                            ("copied", u.copied_tokens), ("remembered", u.remembered_tokens),
                            ("cached", u.cached_prompt_tokens)):
            m.tokens.labels(kind).inc(value)
        m.forward_passes.inc(u.forward_passes)
        if result.grammar_backend:
            m.grammar_cache.labels("hit" if result.grammar_cache_hit else "miss").inc()
