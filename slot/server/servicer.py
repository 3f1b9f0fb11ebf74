"""SlotServicer: the four RPCs of slot.v1.Slot on top of the Structurer.

Cheap checks (schema, text, options) run before a request takes a place in the queue, so bad input is
refused at once. Generation runs in a worker thread; cancellation and deadlines reach the decoding
loop through ``is_cancelled``, which it polls between forward passes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable

import grpc

from slot import __version__
from slot.config import Settings
from slot.errors import InvalidRequestError, SlotError, UnavailableError
from slot.server.admission import Admission
from slot.server.metrics import Metrics
from slot.server.status import internal_status, status_for
from slot.structurer import BASE, StructureResult, Structurer
from slot.v1 import slot_pb2, slot_pb2_grpc

log = logging.getLogger("slot.server")

BACKEND_NAMES = {slot_pb2.GRAMMAR_BACKEND_LLGUIDANCE: "llguidance", slot_pb2.GRAMMAR_BACKEND_XGRAMMAR: "xgrammar",
                 slot_pb2.GRAMMAR_BACKEND_OUTLINES_CORE: "outlines_core"}
BACKEND_ENUMS = {name: value for value, name in BACKEND_NAMES.items()}
FINISH = {"stop": slot_pb2.FINISH_REASON_STOP, "length": slot_pb2.FINISH_REASON_LENGTH,
          "cancelled": slot_pb2.FINISH_REASON_CANCELLED, "error": slot_pb2.FINISH_REASON_ERROR}
POLICIES = {slot_pb2.GROUNDING_POLICY_UNSPECIFIED: "keep", slot_pb2.GROUNDING_POLICY_KEEP: "keep",
            slot_pb2.GROUNDING_POLICY_NULL: "null", slot_pb2.GROUNDING_POLICY_FAIL: "fail"}
GROUNDING_STATUS = {"grounded": slot_pb2.GROUNDING_STATUS_GROUNDED, "inferred": slot_pb2.GROUNDING_STATUS_INFERRED,
                    "ungrounded": slot_pb2.GROUNDING_STATUS_UNGROUNDED}


class ServerState:
    """What the servicer shares with the app: settings, the (lazily loaded) structurer, limits, metrics."""

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


def _rpc(method: str) -> Callable[[Any], Any]:
    """Wrap a unary RPC: typed errors -> status with details, anything else -> INTERNAL; metrics and a log line."""

    def wrap(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        async def unary(self: "SlotServicer", request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                return await handler(self, request, context)
            except SlotError as exc:
                code = exc.status
                await context.abort_with_status(status_for(exc))
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except grpc.aio.AbortError:
                code = context.code().name if context.code() is not None else "ABORTED"
                raise
            except Exception:  # noqa: BLE001 - the service must answer, not crash
                status, incident = internal_status()
                code = "INTERNAL"
                log.exception("internal error in %s (incident %s)", method, incident)
                await context.abort_with_status(status)
            finally:
                self._account(method, code, started)

        return unary

    return wrap


class SlotServicer(slot_pb2_grpc.SlotServicer):
    """slot.v1.Slot."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def _account(self, method: str, code: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self.state.metrics.requests.labels(method, code).inc()
        self.state.metrics.latency.labels(method).observe(seconds)
        if code == "RESOURCE_EXHAUSTED":
            self.state.metrics.rejected.inc()

    def _structurer(self) -> Structurer:
        if self.state.draining:
            raise UnavailableError("server is shutting down; retry on another replica")
        if self.state.structurer is None:
            raise UnavailableError("model is still loading; retry shortly")
        return self.state.structurer

    # -- RPCs -------------------------------------------------------------------------------------

    @_rpc("Structure")
    async def Structure(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await self._structure(request, context, on_delta=None)

    async def StructureStream(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.perf_counter()
        code = "OK"
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def on_delta(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, text)

        task = asyncio.ensure_future(self._structure(request, context, on_delta=on_delta))
        task.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, None))
        try:
            while True:
                delta = await queue.get()
                if delta is None:
                    break
                yield slot_pb2.StructureStreamResponse(delta=delta)
            yield slot_pb2.StructureStreamResponse(result=task.result())
        except SlotError as exc:
            code = exc.status
            await context.abort_with_status(status_for(exc))
        except asyncio.CancelledError:
            code = "CANCELLED"
            task.cancel()
            raise
        except grpc.aio.AbortError:
            raise
        except Exception:  # noqa: BLE001
            status, incident = internal_status()
            code = "INTERNAL"
            log.exception("internal error in StructureStream (incident %s)", incident)
            await context.abort_with_status(status)
        finally:
            self._account("StructureStream", code, started)

    @_rpc("ValidateSchema")
    async def ValidateSchema(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        structurer = self._structurer()
        schema = structurer.load_schema(request.json_schema)
        backend = self._backend(request.grammar_backend)
        compiled, hit = await self.state.run(functools.partial(structurer.compile, schema, backend))
        self.state.metrics.grammar_cache.labels("hit" if hit else "miss").inc()
        return slot_pb2.ValidateSchemaResponse(schema_hash=schema.hash, post_checked_keywords=compiled.post_checked,
                                               compile_ms=0.0 if hit else compiled.compile_ms, cache_hit=hit,
                                               grammar_backend=BACKEND_ENUMS[backend])

    @_rpc("GetServerInfo")
    async def GetServerInfo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        s = self.state.settings
        structurer = self.state.structurer
        adapters = structurer.engine.adapters() if structurer else []
        default = (structurer.default_adapter if structurer else None) or BASE
        limits = slot_pb2.Limits(max_text_chars=s.max_text_chars, max_schema_bytes=s.max_schema_bytes,
                                 max_schema_depth=s.max_schema_depth, max_enum_values=s.max_enum_values,
                                 default_max_tokens=s.max_tokens, max_tokens_limit=s.max_tokens_limit,
                                 max_concurrency=s.max_concurrency, max_queue=s.max_queue,
                                 max_message_bytes=s.max_message_bytes, max_prompt_tokens=s.max_prompt_tokens,
                                 max_batch=s.max_batch)
        return slot_pb2.ServerInfo(version=__version__, base_model=s.base_model, adapters=adapters,
                                   default_adapter=default, grammar_backend=BACKEND_ENUMS[s.grammar_backend],
                                   grammar_backends=list(BACKEND_NAMES), engine=s.engine, limits=limits, dtype=s.resolved_dtype)

    # -- the shared structuring path --------------------------------------------------------------

    def _backend(self, value: int) -> str:
        if value == slot_pb2.GRAMMAR_BACKEND_UNSPECIFIED:
            return self.state.settings.grammar_backend
        if value not in BACKEND_NAMES:
            raise InvalidRequestError(f"unknown grammar backend {value}", field="options.grammar_backend")
        return BACKEND_NAMES[value]

    async def _structure(self, request: Any, context: grpc.aio.ServicerContext,
                         on_delta: Callable[[str], None] | None) -> Any:
        structurer = self._structurer()
        options = request.options
        request_id = options.request_id or uuid.uuid4().hex
        structurer.check_text(request.text)
        structurer.check_options(options.max_tokens, options.temperature)
        schema = structurer.load_schema(request.json_schema)
        backend = self._backend(options.grammar_backend)
        if options.grounding_policy not in POLICIES:
            raise InvalidRequestError(f"unknown grounding policy {options.grounding_policy}",
                                      field="options.grounding_policy")
        structurer.resolve_adapter(options.adapter)
        cancelled = threading.Event()
        remaining = context.time_remaining()
        deadline = time.monotonic() + remaining if remaining is not None else None

        def is_cancelled() -> bool:
            return (cancelled.is_set() or self.state.abort.is_set()
                    or (deadline is not None and time.monotonic() > deadline))

        metrics = self.state.metrics
        metrics.queue_depth.set(self.state.admission.waiting + 1)
        async with self.state.admission.slot() as waited:
            metrics.queue_depth.set(self.state.admission.waiting)
            metrics.inflight.inc()
            call = functools.partial(
                structurer.structure, request.text, schema, constrained=not options.unconstrained,
                adapter=options.adapter, max_tokens=options.max_tokens or None, grammar_backend=backend,
                temperature=options.temperature, seed=options.seed if options.HasField("seed") else None,
                grounding_policy=POLICIES[options.grounding_policy], queue_ms=waited * 1000, on_delta=on_delta,
                is_cancelled=is_cancelled)
            future = self.state.run(call)
            try:
                result = await asyncio.shield(future)
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
        log.info(json.dumps({"event": "structure", "request_id": request_id, "valid": result.valid,
                             "finish_reason": result.finish_reason, "completion_tokens": result.usage.completion_tokens,
                             "forward_passes": result.usage.forward_passes, "total_ms": round(result.timings.total_ms, 1),
                             **({"text": request.text, "output": result.output}
                                if self.state.settings.log_payloads else {})}))
        if result.finish_reason == "cancelled" and deadline is not None and time.monotonic() > deadline:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded; decoding stopped")
        if result.finish_reason == "cancelled" and self.state.abort.is_set():
            raise UnavailableError("server shut down before the generation finished; retry on another replica")
        return to_proto(result, request_id)

    def _count_tokens(self, result: StructureResult) -> None:
        m = self.state.metrics
        u = result.usage
        for kind, value in (("prompt", u.prompt_tokens), ("completion", u.completion_tokens), ("forced", u.forced_tokens),
                            ("copied", u.copied_tokens), ("remembered", u.remembered_tokens),
                            ("cached", u.cached_prompt_tokens)):
            m.tokens.labels(kind).inc(value)
        m.forward_passes.inc(u.forward_passes)
        if result.grammar_backend:
            m.grammar_cache.labels("hit" if result.grammar_cache_hit else "miss").inc()


def to_proto(result: StructureResult, request_id: str) -> Any:
    """StructureResult -> StructureResponse."""
    u, t = result.usage, result.timings
    grounding = None
    if result.grounding is not None:
        grounding = slot_pb2.Grounding(
            score=result.grounding.get("score", 0.0), ungrounded_paths=result.grounding.get("ungrounded_paths", []),
            fields=[slot_pb2.FieldGrounding(path=f["path"], status=GROUNDING_STATUS.get(f["status"], 0),
                                            spans=[slot_pb2.Span(start=s, end=e) for s, e in f.get("spans", [])])
                    for f in result.grounding.get("fields", [])])
    return slot_pb2.StructureResponse(
        json=json.dumps(result.json, ensure_ascii=False, separators=(",", ":")) if result.json is not None
        or result.output.strip() == "null" else "",
        valid=result.valid, errors=result.errors, finish_reason=FINISH.get(result.finish_reason, 0),
        usage=slot_pb2.Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                             cached_prompt_tokens=u.cached_prompt_tokens, forced_tokens=u.forced_tokens,
                             copied_tokens=u.copied_tokens, forward_passes=u.forward_passes,
                             remembered_tokens=u.remembered_tokens),
        timings=slot_pb2.Timings(queue_ms=t.queue_ms, compile_ms=t.compile_ms, generate_ms=t.generate_ms,
                                 total_ms=t.total_ms, grounding_ms=t.grounding_ms),
        request_id=request_id, schema_hash=result.schema_hash, adapter=result.adapter, grounding=grounding,
        output=result.output)
