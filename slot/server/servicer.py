"""SlotServicer: the four RPCs of slot.v1.Slot on top of the Structurer.

Cheap checks (schema, text, options) run before a request takes a place in the queue, so bad input is
refused at once. Generation runs in a worker thread; cancellation and deadlines reach the decoding
loop through ``is_cancelled``, which it polls between forward passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
import uuid
from typing import Any, AsyncIterator, Callable

import grpc

from slot import __version__
from slot.enforcement import Enforcement
from slot.errors import InvalidRequestError, SlotError
from slot.server.state import ServerState, StructureCall, json_text
from slot.server.status import internal_status, status_for
from slot.structurer import BASE, StructureResult, Structurer
from slot.v1 import slot_pb2, slot_pb2_grpc

log = logging.getLogger("slot.server")

BACKEND_NAMES = {slot_pb2.GRAMMAR_BACKEND_LLGUIDANCE: "llguidance", slot_pb2.GRAMMAR_BACKEND_XGRAMMAR: "xgrammar",
                 slot_pb2.GRAMMAR_BACKEND_OUTLINES_CORE: "outlines_core"}
BACKEND_ENUMS = {name: value for value, name in BACKEND_NAMES.items()}
FINISH = {"stop": slot_pb2.FINISH_REASON_STOP, "length": slot_pb2.FINISH_REASON_LENGTH,
          "cancelled": slot_pb2.FINISH_REASON_CANCELLED, "error": slot_pb2.FINISH_REASON_ERROR}
POLICIES = {slot_pb2.GROUNDING_POLICY_UNSPECIFIED: "", slot_pb2.GROUNDING_POLICY_KEEP: "keep",
            slot_pb2.GROUNDING_POLICY_NULL: "null", slot_pb2.GROUNDING_POLICY_FAIL: "fail",
            slot_pb2.GROUNDING_POLICY_EXTRACT: "extract", slot_pb2.GROUNDING_POLICY_OMIT: "omit"}
GROUNDING_STATUS = {"grounded": slot_pb2.GROUNDING_STATUS_GROUNDED, "inferred": slot_pb2.GROUNDING_STATUS_INFERRED,
                    "ungrounded": slot_pb2.GROUNDING_STATUS_UNGROUNDED}


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
                self.state.account(method, code, started)

        return unary

    return wrap


class SlotServicer(slot_pb2_grpc.SlotServicer):
    """slot.v1.Slot."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    # -- RPCs -------------------------------------------------------------------------------------

    @_rpc("Structure")
    async def Structure(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        structurer, call = self._call(request, context)
        return await self._finish(await self.state.structure(structurer, call), call, context)

    async def StructureStream(self, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.perf_counter()
        code = "OK"
        try:
            structurer, call = self._call(request, context)
            async with contextlib.aclosing(self.state.stream(structurer, call)) as events:
                async for event in events:
                    if isinstance(event, str):
                        yield slot_pb2.StructureStreamResponse(delta=event)
                    else:
                        yield slot_pb2.StructureStreamResponse(result=await self._finish(event, call, context))
        except SlotError as exc:
            code = exc.status
            await context.abort_with_status(status_for(exc))
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except grpc.aio.AbortError:
            raise
        except Exception:  # noqa: BLE001
            status, incident = internal_status()
            code = "INTERNAL"
            log.exception("internal error in StructureStream (incident %s)", incident)
            await context.abort_with_status(status)
        finally:
            self.state.account("StructureStream", code, started)

    @_rpc("ValidateSchema")
    async def ValidateSchema(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        structurer = self.state.ready_structurer()
        schema = structurer.load_schema(request.json_schema)
        backend = self._backend(request.grammar_backend)
        # issue 27: the prompt tokens of the rendering Structure uses (compact or a skeleton for a big schema);
        # refused here only when even the smallest rendering leaves no room for a text, as Structure refuses it
        prompt_tokens = (await self.state.run(functools.partial(structurer.rendering, schema))).tokens
        compiled, hit = await self.state.run(functools.partial(structurer.compile, schema, backend,
                                                               strict=request.strict))
        self.state.metrics.grammar_cache.labels("hit" if hit else "miss").inc()
        enforced = compiled.enforcement or structurer.enforcement(schema, backend, strict=request.strict)
        return slot_pb2.ValidateSchemaResponse(schema_hash=schema.hash,
                                               post_checked_keywords=enforced.post_checked_keywords,
                                               enforcement=wire_enforcement(enforced), prompt_tokens=prompt_tokens,
                                               compile_ms=0.0 if hit else compiled.compile_ms, cache_hit=hit,
                                               grammar_backend=BACKEND_ENUMS[backend], relaxed=enforced.relaxed)

    @_rpc("GetServerInfo")
    async def GetServerInfo(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        s = self.state.settings
        structurer = self.state.structurer
        adapters = structurer.engine.adapters() if structurer else []
        default = (structurer.default_adapter if structurer else None) or BASE
        limits = slot_pb2.Limits(max_text_chars=s.max_text_chars, max_schema_bytes=s.max_schema_bytes,
                                 max_bundled_schema_bytes=s.max_bundled_schema_bytes,
                                 max_schema_depth=s.max_schema_depth, max_enum_values=s.max_enum_values,
                                 default_max_tokens=s.max_tokens, max_tokens_limit=s.max_tokens_limit,
                                 max_concurrency=s.max_concurrency, max_queue=s.max_queue,
                                 max_message_bytes=s.max_message_bytes, max_prompt_tokens=s.max_prompt_tokens,
                                 max_batch=s.max_batch)
        return slot_pb2.ServerInfo(version=__version__, base_model=s.base_model, adapters=adapters,
                                   default_adapter=default, grammar_backend=BACKEND_ENUMS[s.grammar_backend],
                                   grammar_backends=list(BACKEND_NAMES), engine=s.engine, limits=limits, dtype=s.resolved_dtype)

    # -- requests into the shared structuring path --------------------------------------------------------------

    def _backend(self, value: int) -> str:
        if value == slot_pb2.GRAMMAR_BACKEND_UNSPECIFIED:
            return self.state.settings.grammar_backend
        if value not in BACKEND_NAMES:
            raise InvalidRequestError(f"unknown grammar backend {value}", field="options.grammar_backend")
        return BACKEND_NAMES[value]

    def _call(self, request: Any, context: grpc.aio.ServicerContext) -> tuple[Structurer, StructureCall]:
        """A StructureRequest checked and turned into the shared call (raises SlotError)."""
        structurer = self.state.ready_structurer()
        options = request.options
        backend = self._backend(options.grammar_backend)
        if options.grounding_policy not in POLICIES:
            raise InvalidRequestError(f"unknown grounding policy {options.grounding_policy}",
                                      field="options.grounding_policy")
        remaining = context.time_remaining()
        call = self.state.prepare(
            structurer, request.text, request.json_schema, request_id=options.request_id or uuid.uuid4().hex,
            adapter=options.adapter, max_tokens=options.max_tokens, temperature=options.temperature,
            seed=options.seed if options.HasField("seed") else None, grammar_backend=backend,
            grounding_policy=POLICIES[options.grounding_policy], constrained=not options.unconstrained,
            parse_first=options.parse_first if options.HasField("parse_first") else None, strict=options.strict,
            deadline=time.monotonic() + remaining if remaining is not None else None)
        return structurer, call

    async def _finish(self, result: StructureResult, call: StructureCall, context: grpc.aio.ServicerContext) -> Any:
        if result.finish_reason == "cancelled" and call.deadline is not None and time.monotonic() > call.deadline:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded; decoding stopped")
        return to_proto(result, call.request_id)


def wire_confidence(value: float | None) -> float:
    """A field's confidence on the wire: NaN when unknown (0.0, proto's default, would claim a sure mistake)."""
    return math.nan if value is None else float(value)


def wire_enforcement(enforced: Enforcement) -> Any:
    """Enforcement -> its proto message."""
    return slot_pb2.Enforcement(**enforced.to_dict())


def to_proto(result: StructureResult, request_id: str) -> Any:
    """StructureResult -> StructureResponse."""
    u, t = result.usage, result.timings
    grounding = None
    if result.grounding is not None:
        grounding = slot_pb2.Grounding(
            score=result.grounding.get("score", 0.0), ungrounded_paths=result.grounding.get("ungrounded_paths", []),
            extracted_paths=result.grounding.get("extracted_paths", []),
            repaired_paths=result.grounding.get("repaired_paths", []),
            fields=[slot_pb2.FieldGrounding(path=f["path"], status=GROUNDING_STATUS.get(f["status"], 0),
                                            spans=[slot_pb2.Span(start=s, end=e) for s, e in f.get("spans", [])],
                                            confidence=wire_confidence(f.get("confidence")))
                    for f in result.grounding.get("fields", [])])
    return slot_pb2.StructureResponse(
        json=json_text(result),
        valid=result.valid, errors=result.errors, finish_reason=FINISH.get(result.finish_reason, 0),
        usage=slot_pb2.Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                             cached_prompt_tokens=u.cached_prompt_tokens, forced_tokens=u.forced_tokens,
                             copied_tokens=u.copied_tokens, forward_passes=u.forward_passes,
                             remembered_tokens=u.remembered_tokens),
        timings=slot_pb2.Timings(queue_ms=t.queue_ms, compile_ms=t.compile_ms, generate_ms=t.generate_ms,
                                 total_ms=t.total_ms, grounding_ms=t.grounding_ms),
        request_id=request_id, schema_hash=result.schema_hash, adapter=result.adapter, grounding=grounding,
        output=result.output, path=result.path, cut_paths=result.cut_paths, filled_paths=result.filled_paths,
        enforcement=wire_enforcement(result.enforcement), attempts=result.attempts)
