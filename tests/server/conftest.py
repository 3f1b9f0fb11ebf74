"""A real SLOT server on 127.0.0.1 (ephemeral ports; HTTP off unless asked), run in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, Iterator

import pytest


class RunningServer:
    """A SlotServer running on its own event loop thread."""

    def __init__(self, settings: Any, structurer: Any, *, wait_ready: bool = True) -> None:
        from slot.server.app import SlotServer

        self.loop = asyncio.new_event_loop()
        self.server = SlotServer(settings, structurer=structurer)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.server.start())
        if wait_ready:
            self.call(asyncio.wait_for(self.server.ready.wait(), 180))

    def call(self, coro: Any, timeout: float = 180) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    @property
    def http_base(self) -> str:
        """Base URL of the OpenAI-compatible HTTP API (started with http_port=free_port())."""
        return f"http://127.0.0.1:{self.server.http_port}/v1"

    def stop(self) -> None:
        self.call(self.server.stop(grace=5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound, read, released): for the HTTP API, whose port 0 means off."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(settings: Any, structurer: Any, *, wait_ready: bool = True, **changes: Any) -> RunningServer:
    return RunningServer(_settings(settings, **changes), structurer, wait_ready=wait_ready)


def _settings(settings: Any, **changes: Any) -> Any:
    import dataclasses

    values = {"host": "127.0.0.1", "port": 0, "metrics_port": 0, "http_port": 0, **changes}
    return dataclasses.replace(settings, **values)


@pytest.fixture(scope="module")
def server(settings: Any, structurer: Any) -> Iterator[RunningServer]:
    running = RunningServer(_settings(settings, max_concurrency=2, max_queue=8), structurer)
    yield running
    running.stop()
