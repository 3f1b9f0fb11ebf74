"""Fixtures of the hardening suite: real servers on 127.0.0.1 only (in-process or as a subprocess)."""

from __future__ import annotations

import http.server
import importlib.util
import threading
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest

from tests.server.conftest import RunningServer as InProcessServer  # one in-process server helper, shared
from tests.server.conftest import start_server

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"

RESTAURANT = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"},
                                               "near": {"type": "string"}},
              "required": ["name", "area", "near"], "additionalProperties": False}
TEXT = "Sure! Here is the info: The Punter is a pub in the city centre near Café Sicilia."


def load_bench() -> Any:
    """benchmarks/bench_load.py as a module (the load machinery lives there, once)."""
    import sys

    name = "slot_bench_load"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "bench_load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench() -> Any:
    return load_bench()


@pytest.fixture(scope="module")
def hserver(settings: Any, structurer: Any) -> Iterator[InProcessServer]:
    running = start_server(settings, structurer, max_concurrency=2, max_queue=8)
    yield running
    running.stop()


def health_status(target: str, *, credentials: Any = None, timeout: float = 5.0) -> str:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from slot.config import HEALTH_SERVICE_NAME

    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=HEALTH_SERVICE_NAME), timeout=timeout)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def assert_healthy(server: InProcessServer) -> None:
    """Health SERVING, the event-loop thread alive, GetServerInfo answers."""
    from slot.client import SlotClient

    assert server.thread.is_alive()
    assert health_status(server.target) == "SERVING"
    with SlotClient(server.target, timeout=10) as client:
        assert client.server_info().version


class CountingHTTPServer:
    """An HTTP server on 127.0.0.1 that counts every request it gets (and answers with a schema)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.hits.append(self.path)
                body = b'{"type": "string"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/schema+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def counting_http() -> Iterator[CountingHTTPServer]:
    server = CountingHTTPServer()
    yield server
    server.close()
