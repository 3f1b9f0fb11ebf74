"""Admission control: a bounded number of generations at once and a bounded queue behind them.

Past the queue bound a request is refused at once with RESOURCE_EXHAUSTED instead of waiting without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import AsyncIterator

from slot.errors import OverloadedError


class Admission:
    """Slots for running generations plus a waiting room of fixed size (asyncio, one event loop)."""

    def __init__(self, max_concurrency: int, max_queue: int) -> None:
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self._slots = asyncio.Semaphore(max_concurrency)
        self.running = 0
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold a generation slot; yields the seconds spent waiting. Raises OverloadedError when full."""
        if self._slots.locked() and self.waiting >= self.max_queue:
            raise OverloadedError(f"server is busy: {self.running} generations running and {self.waiting} queued "
                                  f"(max_queue={self.max_queue}); retry later")
        started = time.perf_counter()
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield time.perf_counter() - started
        finally:
            self.running -= 1
            self._slots.release()
