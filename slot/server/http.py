"""The OpenAI-compatible HTTP API of ``slot serve``: Starlette routes served by uvicorn on the server's event loop.

It shares the gRPC server's ServerState: the same structurer, admission queue, limits and metrics, and it
takes the same bearer token and TLS settings. Routes: ``POST /v1/chat/completions`` (JSON or server-sent
events), ``GET /v1/models[/{id}]``, and the probes ``GET /healthz`` (the process answers) and ``GET /readyz``
(the model is loaded and the server is not draining). Errors come in OpenAI's shape
(``slot.server.openai_api.ApiError``). A request whose client goes away stops decoding at the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import time
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from slot.config import Settings
from slot.errors import SlotError
from slot.server import openai_api as oa
from slot.server.auth import REFUSAL, bearer_matches
from slot.server.state import ServerState, StructureCall
from slot.server.status import clip
from slot.structurer import StructureResult, Structurer

log = logging.getLogger("slot.server")

METHOD = "ChatCompletions"
"""The method label of HTTP chat completions in the request metrics (gRPC methods use their RPC names)."""
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
T = TypeVar("T")


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event carrying JSON (or the literal ``[DONE]``)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def error_response(error: oa.ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error as JSON with its status (a 401 names the scheme it wants)."""
    if error.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


class OpenAIRoutes:
    """The routes of the HTTP API over one ServerState."""

    def __init__(self, state: ServerState, token: str | None = None) -> None:
        self.state = state
        self.token = token.encode() if token else None
        self.created = int(time.time())

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.model, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
        ], exception_handlers={404: _routing_error, 405: _routing_error})

    # -- probes and models -------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if self.state.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "draining" if self.state.draining else "loading"}, status_code=503)

    async def models(self, request: Request) -> Response:
        return await self._answer(request, lambda: JSONResponse(oa.models_list(self._adapters(), self.created)))

    async def model(self, request: Request) -> Response:
        def card() -> Response:
            name = request.path_params["model"]
            oa.adapter_for(name, self._adapters())
            return JSONResponse(oa.model_card(name, self.created))

        return await self._answer(request, card)

    def _adapters(self) -> list[str]:
        return self.state.ready_structurer().engine.adapters()

    async def _answer(self, request: Request, make: Callable[[], Response]) -> Response:
        try:
            self._authorize(request)
            return make()
        except oa.ApiError as exc:
            return error_response(exc)
        except SlotError as exc:
            return error_response(oa.api_error(exc))

    # -- chat completions --------------------------------------------------------------------------

    async def chat_completions(self, request: Request) -> Response:
        started = time.perf_counter()
        code = "OK"
        try:
            self._authorize(request)
            body = await self._body(request)
            parsed = oa.parse_request(body)
            structurer = self.state.ready_structurer()
            call = self._call(structurer, parsed, request)
            if parsed.stream:
                response = await self._stream(request, structurer, call, parsed, started)
                code = "" if response.status_code == 200 else "CANCELLED"  # a stream accounts for itself
                return response
            result = await _unless_disconnected(request, self.state.structure(structurer, call))
            if result is None:
                code = "CANCELLED"
                return Response(status_code=499)
            return JSONResponse(oa.completion(result, model=parsed.model, request_id=call.request_id,
                                              created=int(time.time()), policy=call.grounding_policy),
                                headers={"x-request-id": call.request_id})
        except oa.ApiError as exc:
            code = "UNAUTHENTICATED" if exc.status == 401 else "INVALID_ARGUMENT"
            return error_response(exc)
        except SlotError as exc:
            code = exc.status
            return error_response(oa.api_error(exc))
        except Exception:  # noqa: BLE001 - the service must answer, not crash
            code = "INTERNAL"
            return error_response(self._internal())
        finally:
            if code:
                self.state.account(METHOD, code, started)

    def _authorize(self, request: Request) -> None:
        if self.token is not None and not bearer_matches(request.headers.get("authorization", ""), self.token):
            raise oa.ApiError(401, REFUSAL, code="invalid_api_key")

    async def _body(self, request: Request) -> Any:
        """The JSON body, refused with 413 past max_message_bytes (before reading it when Content-Length says so)."""
        limit = self.state.settings.max_message_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(int(declared), limit)
        data = bytearray()
        async for piece in request.stream():
            data += piece
            if len(data) > limit:
                raise self._too_large(len(data), limit)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            detail = clip(str(exc), 200) if isinstance(exc, ValueError) else "nested too deeply"
            raise oa.ApiError(400, f"the request body is not valid JSON ({detail})", code="invalid_json") from None

    @staticmethod
    def _too_large(size: int, limit: int) -> oa.ApiError:
        return oa.ApiError(413, f"request body of {size} bytes is over the limit of {limit} (max_message_bytes)",
                           code="request_too_large")

    def _call(self, structurer: Structurer, parsed: oa.ChatCompletionRequest, request: Request) -> StructureCall:
        options = parsed.slot or oa.SlotOptions()
        request_id = clip(request.headers.get("x-request-id", ""), 128) or uuid.uuid4().hex
        adapter = oa.adapter_for(parsed.model, structurer.engine.adapters())
        return self.state.prepare(
            structurer, parsed.text(), parsed.schema(), request_id=request_id, adapter=adapter,
            max_tokens=parsed.token_limit(), temperature=parsed.temperature or 0.0, seed=parsed.seed,
            grammar_backend=options.grammar_backend, grounding_policy=options.grounding_policy,
            parse_first=options.parse_first, strict=options.strict)

    async def _stream(self, request: Request, structurer: Structurer, call: StructureCall,
                      parsed: oa.ChatCompletionRequest, started: float) -> Response:
        """Server-sent chunks; errors before the first delta (queue full, ...) are answered as plain errors."""
        events = self.state.stream(structurer, call)
        try:
            first = await _unless_disconnected(request, anext(events))
        except BaseException:
            await events.aclose()
            raise
        if first is None:
            await events.aclose()
            return Response(status_code=499)
        return StreamingResponse(self._chunks(events, first, call, parsed, started), media_type="text/event-stream",
                                 headers={**SSE_HEADERS, "x-request-id": call.request_id})

    async def _chunks(self, events: AsyncIterator[str | StructureResult], first: str | StructureResult,
                      call: StructureCall, parsed: oa.ChatCompletionRequest, started: float) -> AsyncIterator[bytes]:
        include_usage = bool(parsed.stream_options and parsed.stream_options.include_usage)
        meta = {"model": parsed.model, "request_id": call.request_id, "created": int(time.time())}
        code = "CANCELLED"
        try:
            yield sse(oa.chunk(**meta, delta={"role": "assistant", "content": ""}, include_usage=include_usage))
            event = first
            while isinstance(event, str):
                yield sse(oa.chunk(**meta, delta={"content": event}, include_usage=include_usage))
                event = await anext(events)
            yield sse(oa.chunk(**meta, result=event, policy=call.grounding_policy, include_usage=include_usage))
            if include_usage:
                yield sse(oa.usage_chunk(event, **meta))
            yield sse("[DONE]")
            code = "OK"
        except SlotError as exc:
            code = exc.status
            yield sse(oa.api_error(exc).body())
        except Exception:  # noqa: BLE001
            code = "INTERNAL"
            yield sse(self._internal().body())
        finally:
            await events.aclose()
            self.state.account(METHOD, code, started)

    @staticmethod
    def _internal() -> oa.ApiError:
        incident = uuid.uuid4().hex[:12]
        log.exception("internal error in %s (incident %s)", METHOD, incident)
        return oa.ApiError(500, f"internal error (incident {incident})", code="internal_error")


async def _routing_error(request: Request, exc: Exception) -> Response:
    """An unknown path (404) or method (405), in OpenAI's error shape like every other error."""
    status = getattr(exc, "status_code", 404)
    what = "path" if status == 404 else "method"
    message = f"no route for {request.method} {clip(request.url.path, 200)} (unknown {what})"
    return error_response(oa.ApiError(status, message, code="not_found" if status == 404 else "method_not_allowed"),
                          getattr(exc, "headers", None))


async def _unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """The result of ``work``, or None (``work`` cancelled: decoding stops) when the client disconnects first."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
    return None if task.cancelled() else task.result()


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone away (the body must have been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class HttpServer:
    """uvicorn serving the routes on the running event loop (no signal handlers of its own: the app drains)."""

    def __init__(self, state: ServerState, token: str | None = None) -> None:
        self.state = state
        self.routes = OpenAIRoutes(state, token)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> int:
        """Bind host:port (raises OSError naming the address) and serve; returns the bound port."""
        s = self.state.settings
        sock = _bind(host, port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.routes.app(), lifespan="off", log_config=None, access_log=False,
                                server_header=False, limit_concurrency=s.max_concurrency + s.max_queue + 64, **tls_options(s))
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._server = server
        self._ticker = asyncio.get_running_loop().create_task(server.main_loop())
        return self.port

    async def stop(self, grace: float) -> None:
        """Stop listening, close idle connections, give requests in flight ``grace`` seconds, then cancel them."""
        server = self._server
        if server is None:
            return
        server.config.timeout_graceful_shutdown = grace
        server.should_exit = True
        if self._ticker is not None:
            await self._ticker
        await server.shutdown()


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS arguments from SLOT's settings (the gRPC server's certificate, key and client CA)."""
    if not (settings.tls_cert_file and settings.tls_key_file):
        return {}
    options: dict[str, Any] = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}
    if settings.tls_client_ca_file:
        options |= {"ssl_ca_certs": settings.tls_client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot bind HTTP {host}:{port}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock
