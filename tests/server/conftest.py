"""A real SLOT gRPC server on 127.0.0.1 (ephemeral port), run in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Iterator

import pytest


class RunningServer:
    """A SlotServer running on its own event loop thread."""

    def __init__(self, settings: Any, structurer: Any) -> None:
        from slot.server.app import SlotServer

        self.loop = asyncio.new_event_loop()
        self.server = SlotServer(settings, structurer=structurer)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.server.start())
        self.call(asyncio.wait_for(self.server.ready.wait(), 180))

    def call(self, coro: Any, timeout: float = 180) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        self.call(self.server.stop(grace=5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_server(settings: Any, structurer: Any, **changes: Any) -> RunningServer:
    return RunningServer(_settings(settings, **changes), structurer)


def _settings(settings: Any, **changes: Any) -> Any:
    import dataclasses

    values = {"host": "127.0.0.1", "port": 0, "metrics_port": 0, **changes}
    return dataclasses.replace(settings, **values)


@pytest.fixture(scope="module")
def server(settings: Any, structurer: Any) -> Iterator[RunningServer]:
    running = RunningServer(_settings(settings, max_concurrency=2, max_queue=8), structurer)
    yield running
    running.stop()
