"""BatchScheduler: continuous batching of concurrent generations on one model.

One thread owns the model. Callers queue requests and wait on a future; between forward passes the
thread admits queued requests into the running batch (prefilling each alone, with the prefix cache,
``slot.engine.cpu.decoding.prefill``), and every forward pass then advances all running sequences at once,
each with its own grammar state and draft (packed side by side where the model has a packed pass,
``slot.engine.cpu.caches.packed_batch``; padded rows of a ``BatchCache`` otherwise). A lone request waits a
few milliseconds for company before its first pass. A prompt with a part longer than ``chunk_tokens`` is
prefilled in pieces instead, one piece per turn of the loop, each followed by a decoding pass of the running
batch; such prefills take turns one at a time, the one with the fewest tokens left first, while a short prompt
admitted meanwhile is prefilled at once and decodes beside them. Sequences in one batch share the LoRA
adapter (peft switches adapters per model, not per row); requests are admitted in arrival order, so a request
for another adapter waits for the running batch (and the prefills) to drain and is never overtaken. A failing
pass fails the sequences in it, not the thread; a failing prefill fails its own request.

``close()`` stops the thread after its current pass. Every scheduler is closed at interpreter exit too:
the thread is a daemon, and one still inside a torch kernel while the C++ runtime tears down its thread
pools aborts the process ("terminate called without an active exception").
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING

import torch

from slot.engine.base import Generation, GenerationRequest
from slot.engine.cpu.caches.batch_cache import BatchCache
from slot.engine.cpu.caches.packed_batch import PackedBatch
from slot.engine.cpu.decoding.prefill import Prefill
from slot.engine.cpu.decoding.sequence import Sequence, cancelled_before_start
from slot.errors import UnavailableError

Batch = BatchCache | PackedBatch
"""The running sequences' key/value states: packed (one cache each) where the model has a packed pass."""

if TYPE_CHECKING:
    from slot.engine.cpu.engine import TransformersEngine

log = logging.getLogger(__name__)

_OPEN: "weakref.WeakSet[BatchScheduler]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for scheduler in list(_OPEN):
        scheduler.close()

BATCH_TOKEN_BUDGET = 64
"""Tokens fed per forward pass across the batch that drafts may fill: on a CPU a pass costs about its
token count once several rows share it, so drafts shrink as the batch grows. 64 rather than 24: with the
output memory and label drafts most drafts hold, and 8 callers on 24 mixed rows (2 threads) went from 0.65
to 0.80 requests/s (two runs each; 4 callers 0.55 -> 0.57; no limit at all: 0.57). With packed batches (no
padding) 32, 64, 128 and 256 were within the noise of each other (1.07-1.30 requests/s, two runs each)."""


def draft_limit(longest: int, rows: int) -> int:
    """The draft length per row for a batch of ``rows`` (``longest`` when alone)."""
    if rows <= 1:
        return longest
    return max(2, min(longest, BATCH_TOKEN_BUDGET // rows - 1))


class BatchScheduler:
    """Runs the decoding loop of a TransformersEngine for every caller, batching those that overlap."""

    def __init__(self, engine: "TransformersEngine", *, max_batch: int, wait_s: float, chunk_tokens: int = 0) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.chunk_tokens = chunk_tokens
        """Prompt parts longer than this are prefilled in pieces between decoding passes (0: whole)."""
        self._queue: deque[tuple[GenerationRequest, Future[Generation]]] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.passes = 0
        """Forward passes run so far (for metrics and tests)."""
        self.batched_rows = 0
        """Sum over passes of the sequences in each pass (rows / passes = mean batch size)."""
        self.prefill_pieces = 0
        """Pieces of chunked prefills fed so far, each its own turn of the loop (for metrics and tests)."""
        self.chunked_prefills = 0
        """Prefills fed in pieces so far."""

    def submit(self, request: GenerationRequest) -> "Future[Generation]":
        """Queue a request; the future resolves to its Generation or raises what decoding raised."""
        future: Future[Generation] = Future()
        with self._ready:
            if self._closed:
                raise UnavailableError("the engine is closed")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="slot-decode", daemon=True)
                self._thread.start()
                _OPEN.add(self)
            self._queue.append((request, future))
            self._ready.notify()
        return future

    def close(self, timeout_s: float = 60.0) -> None:
        """Stop the decoding thread after its current pass; what is running or queued fails (idempotent)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
        _OPEN.discard(self)

    # -- the decoding thread ----------------------------------------------------------------------

    def _run(self) -> None:
        batch: Batch = BatchCache()
        running: list[tuple[Sequence, Future[Generation]]] = []
        prefilling: deque[tuple[Prefill, Future[Generation]]] = deque()
        """Chunked prefills in arrival order: the one with the fewest tokens left feeds a piece per turn."""
        with torch.inference_mode():
            while True:
                if self._closed:
                    self._stop(batch, running, prefilling)
                    return
                try:
                    admitted = self._admit(running, prefilling)
                    if admitted and not running and not prefilling:
                        batch = self._new_batch(admitted[0][0].adapter)
                    for request, future in admitted:
                        self._start(request, future, batch, running, prefilling)
                    if prefilling:
                        self._feed(batch, running, prefilling)
                    if running:
                        self._step(batch, running)
                except Exception as exc:  # noqa: BLE001 - never let the thread die with callers waiting
                    self._fail(batch, running, exc)
                    batch = BatchCache()  # packed again once nothing runs or prefills

    def _new_batch(self, adapter: str | None) -> Batch:
        """An empty batch for the model that runs ``adapter``: packed where it has a packed pass."""
        with self.engine.adapter_scope(adapter) as model:
            return PackedBatch() if callable(getattr(model, "packed", None)) else BatchCache()

    def _admit(self, running: list[tuple[Sequence, Future[Generation]]],
               prefilling: deque[tuple[Prefill, Future[Generation]]]
               ) -> list[tuple[GenerationRequest, Future[Generation]]]:
        """Queued requests that join now: in arrival order, same adapter as the batch, up to max_batch (the
        sequences running and the prefills under way count)."""
        with self._ready:
            if not running and not prefilling:
                while not self._queue and not self._closed:
                    self._ready.wait()
                deadline = time.monotonic() + self.wait_s
                while len(self._queue) < self.max_batch and not self._closed \
                        and (left := deadline - time.monotonic()) > 0:
                    self._ready.wait(left)
            if self._closed or not self._queue:
                return []
            adapter = running[0][0].request.adapter if running else \
                prefilling[0][0].request.adapter if prefilling else self._queue[0][0].adapter
            admitted = []
            while self._queue and len(running) + len(prefilling) + len(admitted) < self.max_batch \
                    and self._queue[0][0].adapter == adapter:
                admitted.append(self._queue.popleft())
            return admitted

    def _start(self, request: GenerationRequest, future: Future[Generation], batch: Batch,
               running: list[tuple[Sequence, Future[Generation]]],
               prefilling: deque[tuple[Prefill, Future[Generation]]]) -> None:
        """Prefill one request alone and add it to the running batch; a chunked prefill waits its turns."""
        if not future.set_running_or_notify_cancel():
            return
        if self._cancelled(request, future):
            return
        try:
            prefill = Prefill(self.engine, request, self.chunk_tokens)
            if prefill.chunked:
                self.chunked_prefills += 1
                prefilling.append((prefill, future))
                return
            with self.engine.adapter_scope(request.adapter) as model:
                prefill.run(model)
            batch.add(prefill.cache)
        except Exception as exc:  # noqa: BLE001 - reported to its caller, the thread goes on
            future.set_exception(exc)
            return
        running.append((prefill.sequence, future))

    def _feed(self, batch: Batch, running: list[tuple[Sequence, Future[Generation]]],
              prefilling: deque[tuple[Prefill, Future[Generation]]]) -> None:
        """One piece of the chunked prefill with the fewest tokens left (the first of those in arrival order), so a
        prompt just over the chunk size does not wait for a long one; once its prompt is in, its sequence joins the
        running batch."""
        index = min(range(len(prefilling)), key=lambda at: prefilling[at][0].left)
        prefill, future = prefilling[index]
        try:
            if self._cancelled(prefill.request, future):
                del prefilling[index]
                return
            with self.engine.adapter_scope(prefill.request.adapter) as model:
                done = prefill.advance(model)
            self.prefill_pieces += 1
            if not done:
                return
            del prefilling[index]
            batch.add(prefill.cache)
        except Exception as exc:  # noqa: BLE001 - this request's failure, not the batch's
            del prefilling[index]
            future.set_exception(exc)
            return
        running.append((prefill.sequence, future))

    def _cancelled(self, request: GenerationRequest, future: Future[Generation]) -> bool:
        """Whether the request was cancelled before its prefill ended; if so its future has its result."""
        if request.is_cancelled is None or not request.is_cancelled():
            return False
        self.engine.cancelled_generations += 1
        future.set_result(cancelled_before_start(request))
        return True

    def _step(self, batch: Batch, running: list[tuple[Sequence, Future[Generation]]]) -> None:
        """One forward pass for every running sequence; finished ones leave the batch.

        A sequence whose own work raises (its grammar matcher, its callbacks) fails alone; a failing forward
        pass fails every sequence in it.
        """
        limit = draft_limit(self.engine.draft_tokens, len(running))
        feeds: list[list[int]] = []
        leaving: list[int] = []
        for row, (sequence, future) in enumerate(running):
            try:
                feed = sequence.propose(limit)
                if feed is None:
                    self._keep_states(sequence, batch, row)
                    future.set_result(sequence.result())
            except Exception as exc:  # noqa: BLE001 - this request's failure, not its batch-mates'
                feed = None
                future.set_exception(exc)
            if feed is None:
                leaving.append(row)
            else:
                feeds.append(feed)
        self._leave(batch, running, leaving)
        if not running:
            return
        try:
            with self.engine.adapter_scope(running[0][0].request.adapter) as model:
                logits = batch.forward(model, feeds, self.engine.pad_id)
        except Exception as exc:  # noqa: BLE001
            self._fail(batch, running, exc)
            return
        self.passes += 1
        self.batched_rows += len(running)
        kept, leaving = [], []
        for row, (sequence, future) in enumerate(running):
            try:
                kept.append(sequence.verify(logits[row].float()))
            except Exception as exc:  # noqa: BLE001
                kept.append(1)
                leaving.append(row)
                future.set_exception(exc)
        batch.commit(kept, feeds)
        self._leave(batch, running, leaving)

    def _keep_states(self, sequence: Sequence, batch: Batch, row: int) -> None:
        """A finished answer that asked to keep its states (``keep_states``) hands its cache to the engine's
        ``answer_states`` (packed batches only: a padded batch holds its rows in shared tensors)."""
        if not sequence.states_key or sequence.finish != "stop" or not isinstance(batch, PackedBatch):
            return
        cache = batch.caches[row]
        prompt = sequence.request.prompt
        prompt_tokens = len(prompt.prefix) + len(prompt.suffix)
        covered = cache.get_seq_length() - prompt_tokens
        if 0 <= covered <= len(sequence.output):
            self.engine.answer_states.put(sequence.states_key, prompt_tokens, sequence.output[:covered], cache)

    @staticmethod
    def _leave(batch: Batch, running: list[tuple[Sequence, Future[Generation]]], rows: list[int]) -> None:
        if rows:
            batch.remove(rows)
            leaving = set(rows)
            running[:] = [entry for row, entry in enumerate(running) if row not in leaving]

    def _stop(self, batch: Batch, running: list[tuple[Sequence, Future[Generation]]],
              prefilling: deque[tuple[Prefill, Future[Generation]]]) -> None:
        """Fail what is running, prefilling or queued when the scheduler closes."""
        closed = UnavailableError("the engine was closed")
        with self._ready:
            queued = [future for _, future in self._queue]
            self._queue.clear()
        for _, future in prefilling:
            future.set_exception(closed)
        prefilling.clear()
        for future in queued:
            if future.set_running_or_notify_cancel():
                future.set_exception(closed)
        self._drop(batch, running, closed)

    @classmethod
    def _fail(cls, batch: Batch, running: list[tuple[Sequence, Future[Generation]]], exc: Exception) -> None:
        log.exception("decoding pass failed; failing its %d sequences", len(running))
        cls._drop(batch, running, exc)

    @staticmethod
    def _drop(batch: Batch, running: list[tuple[Sequence, Future[Generation]]], exc: Exception) -> None:
        """Fail every running sequence that has not finished with ``exc`` and empty the batch."""
        for _, future in running:
            if not future.done():
                future.set_exception(exc)
        running.clear()
        try:
            batch.remove(list(range(len(batch))))
        except Exception:  # noqa: BLE001 - the caller starts a fresh cache
            log.exception("could not reset the batch cache")
