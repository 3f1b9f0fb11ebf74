"""SlotServer: the grpc.aio server with health, reflection, metrics, auth, TLS and graceful shutdown, and on
its own port the OpenAI-compatible HTTP API (``slot.server.http``) over the same state.

Start-up order: listen at once with health NOT_SERVING (so probes answer during the model load), load
the model in a thread, warm it up on a sample (and build what the engine would build at a first request:
``Engine.warm_up``), then report SERVING. On SIGTERM: NOT_SERVING, refuse new
calls with UNAVAILABLE, let in-flight calls finish within the grace period, then cancel the generations
still running and exit without waiting for worker threads that do not stop promptly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from slot.config import HEALTH_SERVICE_NAME, Settings
from slot.server.auth import REFUSAL, bearer_matches, read_secret
from slot.server.decode import DecodeErrorInterceptor
from slot.server.http import HttpServer
from slot.server.metrics import Metrics
from slot.server.servicer import SlotServicer
from slot.server.state import ServerState
from slot.structurer import Structurer
from slot.v1 import slot_pb2, slot_pb2_grpc

log = logging.getLogger("slot.server")

WARMUP_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": "string"}},
                 "required": ["name", "city"], "additionalProperties": False}
WARMUP_TEXT = "Ada Lovelace lived in London."
EXEMPT_FROM_AUTH = ("/grpc.health.v1.Health/", "/grpc.reflection.")
SETTLE_S = 5.0
"""After the grace period and the cancellation of every generation: the longest wait for worker threads."""


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Requires 'authorization: Bearer <token>' (constant-time compare); health and reflection exempt."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        if details.method.startswith(EXEMPT_FROM_AUTH):
            return await continuation(details)
        sent = dict(details.invocation_metadata or ()).get("authorization", "")
        if bearer_matches(sent, self._token):
            return await continuation(details)
        handler = await continuation(details)
        return _deny(handler)


def _deny(handler: Any) -> Any:
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)
        yield  # pragma: no cover

    if handler is not None and handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(stream, request_deserializer=handler.request_deserializer,
                                                    response_serializer=handler.response_serializer)
    return grpc.unary_unary_rpc_method_handler(unary, request_deserializer=getattr(handler, "request_deserializer", None),
                                               response_serializer=getattr(handler, "response_serializer", None))


class SlotServer:
    """One SLOT server process (or one in-process instance in tests)."""

    def __init__(self, settings: Settings, *, structurer: Structurer | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.state = ServerState(settings, self.metrics)
        self._preloaded = structurer
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.metrics_port = 0
        self.http: HttpServer | None = None
        self.http_port = 0
        """The bound port of the OpenAI-compatible HTTP API (0 when it is off)."""
        self.ready = asyncio.Event()
        self.started_at = time.perf_counter()
        self.serving_after_s: float | None = None
        self.unfinished = 0
        """Worker threads (generations, compiles) still running when stop() returned."""

    async def start(self) -> None:
        """Listen, then load and warm the model in the background; SERVING once ready."""
        s = self.settings
        interceptors: list[grpc.aio.ServerInterceptor] = []
        token = read_secret(s.auth_token_file) if s.auth_token_file else None
        if token is not None:  # first = outermost: an unauthenticated call is refused whatever its bytes
            interceptors.append(BearerTokenInterceptor(token))
        interceptors.append(DecodeErrorInterceptor(self.metrics))
        options = [("grpc.max_receive_message_length", s.max_message_bytes),
                   ("grpc.max_send_message_length", s.max_message_bytes),
                   ("grpc.so_reuseport", 0)]
        self.server = grpc.aio.server(interceptors=interceptors, options=options,
                                      maximum_concurrent_rpcs=s.max_concurrency + s.max_queue + 64)
        slot_pb2_grpc.add_SlotServicer_to_server(SlotServicer(self.state), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [slot_pb2.DESCRIPTOR.services_by_name["Slot"].full_name, health.SERVICE_NAME,
                 reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, self.server)
        for service in ("", HEALTH_SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        address = f"{_host(s.host)}:{s.port}"
        if s.tls_cert_file and s.tls_key_file:
            credentials = grpc.ssl_server_credentials(
                [(Path(s.tls_key_file).read_bytes(), Path(s.tls_cert_file).read_bytes())],
                root_certificates=Path(s.tls_client_ca_file).read_bytes() if s.tls_client_ca_file else None,
                require_client_auth=bool(s.tls_client_ca_file))
            self.port = self.server.add_secure_port(address, credentials)
        else:
            self.port = self.server.add_insecure_port(address)
        if not self.port:
            raise OSError(f"cannot bind {address}")
        await self.server.start()
        if s.http_port:
            self.http = HttpServer(self.state, token)
            try:
                self.http_port = await self.http.start(s.host, s.http_port)
            except OSError:
                await self.server.stop(0)
                raise
        if s.metrics_port:
            self.metrics.serve(s.metrics_port, s.host)
            self.metrics_port = s.metrics_port
        log.info(json.dumps({"event": "listening", "address": f"{s.host}:{self.port}", "tls": bool(s.tls_cert_file),
                             "auth": bool(s.auth_token_file), "http_port": self.http_port,
                             "metrics_port": self.metrics_port}))
        asyncio.get_running_loop().create_task(self._load())

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            structurer = self._preloaded or await loop.run_in_executor(
                None, lambda: Structurer.from_settings(self.settings, progress=False))
            await loop.run_in_executor(None, lambda: structurer.structure(WARMUP_TEXT, WARMUP_SCHEMA, max_tokens=32))
            await loop.run_in_executor(None, lambda: structurer.engine.warm_up(structurer.default_adapter))
        except Exception:  # noqa: BLE001 - stay up and NOT_SERVING so the orchestrator sees it and restarts
            log.exception("model load failed; health stays NOT_SERVING")
            return
        self.state.structurer = structurer
        for service in ("", HEALTH_SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        self.serving_after_s = time.perf_counter() - self.started_at
        self.ready.set()
        log.info(json.dumps({"event": "serving", "after_s": round(self.serving_after_s, 2),
                             "adapters": structurer.engine.adapters()}))

    async def stop(self, grace: float | None = None) -> None:
        """Drain: NOT_SERVING, refuse new calls, give in-flight calls the grace period, then stop.

        When the grace period is over every generation still running is cancelled (it stops at its next
        forward pass; one still waiting for the engine never starts), and stopping waits at most
        SETTLE_S more for the worker threads. What is still running then is left behind: ``unfinished``.
        """
        if self.server is None:
            return
        grace = self.settings.grace_period_s if grace is None else grace
        started = time.perf_counter()
        self.state.draining = True
        await self.health.enter_graceful_shutdown()
        timer = asyncio.get_running_loop().call_later(grace, self.state.abort.set)
        try:
            await asyncio.gather(self.server.stop(grace), self.http.stop(grace) if self.http else asyncio.sleep(0))
        finally:
            timer.cancel()
        self.state.abort.set()
        self.state.executor.shutdown(wait=False, cancel_futures=True)
        self.unfinished = await self.state.settle(SETTLE_S)
        if self.state.structurer is not None:
            self.unfinished += self.state.structurer.grammars.abandoned
        log.info(json.dumps({"event": "stopped", "drain_s": round(time.perf_counter() - started, 2),
                             "unfinished": self.unfinished}))

    async def wait(self) -> None:
        if self.server is not None:
            await self.server.wait_for_termination()


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class JsonFormatter(logging.Formatter):
    """One JSON object per line; messages that already are JSON objects are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name}
        message = record.getMessage()
        try:
            parsed = json.loads(message)
            entry.update(parsed if isinstance(parsed, dict) else {"message": message})
        except ValueError:
            entry["message"] = message
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


async def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT, then drain; return how many worker threads were left running."""
    server = SlotServer(settings)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    return server.unfinished


def exit_now(code: int = 0) -> None:
    """End the process without joining worker threads (an abandoned prefill or compile must not hold it)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
