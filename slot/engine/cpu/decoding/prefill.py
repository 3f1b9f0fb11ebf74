"""Prefill: one request's prompt fed to the model, whole or a chunk at a time, and its first draft verified.

A prompt is fed in parts: the instructions every prompt begins with (``slot.prompt.head_ids``, cached on
their own), the rest of the prefix (instructions + schema, cached per adapter and prefix), then the suffix
(the text) with the first draft riding on its last piece. A resumed answer (``GenerationRequest.written``)
adds its written tokens after the text; where the engine kept the states of an answer of the same prompt
(``slot.engine.cpu.caches.answer_states``), it starts from those, cropped to what its written tokens share with
that answer, and feeds only the rest. With ``chunk_tokens`` > 0 a part longer than that
is cut into pieces of at most ``chunk_tokens`` tokens (as even as possible), and a prefill that has such a
part is *chunked*: the scheduler feeds one piece per turn (of the chunked prefill with the fewest tokens left)
and runs a decoding pass of the running batch in between, so a 3k-token document does not stall the short
requests decoded beside it. Each part is cut from its own start, so a prompt's states depend on the prompt and
``chunk_tokens`` only, never on what the prefix cache held; a prompt with no part longer than ``chunk_tokens``
is fed exactly as with chunking off.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

import torch

from slot.engine.base import GenerationRequest, Usage
from slot.engine.cpu.caches.growing_cache import growing_cache
from slot.engine.cpu.caches.prefix_cache import PrefixCache
from slot.engine.cpu.decoding.sequence import Sequence

if TYPE_CHECKING:
    from slot.engine.cpu.engine import TransformersEngine


def forward(model: Any, ids: list[int], cache: Any, *, keep: int) -> torch.Tensor:
    """One pass over ``ids`` on top of ``cache`` (which it extends): the logits of the last ``keep`` ids."""
    out = model(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True, logits_to_keep=keep)
    return out.logits[0].float()


def split(ids: list[int], size: int) -> list[list[int]]:
    """``ids`` in the fewest pieces of at most ``size`` tokens, as even as possible (``size`` 0: one piece)."""
    if size <= 0 or len(ids) <= size:
        return [ids]
    count = -(-len(ids) // size)
    bounds = [len(ids) * index // count for index in range(count + 1)]
    return [ids[start:end] for start, end in zip(bounds, bounds[1:])]


class Prefill:
    """The prompt of one request on its way into a key/value cache; ``sequence`` decodes once it is ``done``."""

    def __init__(self, engine: "TransformersEngine", request: GenerationRequest, chunk_tokens: int = 0) -> None:
        self.engine = engine
        self.request = request
        self.chunk_tokens = chunk_tokens
        prefix, suffix = request.prompt.prefix, request.prompt.suffix
        self.key = PrefixCache.key(request.adapter, prefix)
        """The prefix cache's key of the prompt's prefix, which is also the output memory's."""
        usage = Usage(prompt_tokens=len(prefix) + len(suffix) + len(request.written))
        remembered = bool(engine.output_memory.schemas) and request.grammar is not None
        self.sequence = Sequence(engine, request, usage, self.key if remembered else "")
        self.draft = self.sequence.first_draft(engine.draft_tokens)
        """The opening draft (what the grammar forces, what earlier outputs began with), fed with the last piece."""
        self.cache: Any = None
        self.pieces = 0
        """Forward passes this prefill has run so far."""
        self._todo: deque[tuple[list[int], str]] | None = None
        """The pieces not fed yet, each with the prefix cache key to store the states under after it ('' none);
        planned at the first piece, so that a prefix another prefill stored meanwhile is found."""
        self._started = time.perf_counter()
        head = engine.prompt_head
        self._head = len(head) if head and len(prefix) > len(head) and prefix[:len(head)] == head else 0
        """How many of the prefix's first ids are the shared instructions (0: the prefix does not begin with them)."""
        written = request.written
        self.prompt_key = PrefixCache.key(request.adapter, prefix + suffix) \
            if request.keep_states or written else ""
        """The whole prompt's key, under which answers' states are kept (``engine.answer_states``; '' none)."""
        self.sequence.states_key = self.prompt_key if request.keep_states else ""
        self._resumed = bool(written) and self.prompt_key in engine.answer_states
        """Whether an answer of this prompt has its states kept: only written tokens are fed."""
        uncached = len(prefix) - self._head if prefix and self.key not in engine.prefix_cache else 0
        self._expected = len(written) if self._resumed else len(suffix) + uncached + len(written)
        """The prompt tokens to feed as the prefix cache stands at admission (``left`` before the first piece)."""
        self.chunked = chunk_tokens > 0 and (len(written) > chunk_tokens or not self._resumed
                                             and (len(suffix) > chunk_tokens or uncached > chunk_tokens))
        """Whether a part of the prompt the cache does not hold is longer than ``chunk_tokens``: the scheduler then
        feeds one piece per turn; otherwise ``run`` feeds the whole prompt at once, as with chunking off."""

    @property
    def left(self) -> int:
        """Prompt tokens not fed yet (the scheduler feeds the chunked prefill with the fewest first)."""
        if self._todo is None:
            return self._expected
        return sum(len(ids) for ids, _ in self._todo)

    @property
    def done(self) -> bool:
        return self._todo is not None and not self._todo

    def run(self, model: Any) -> None:
        """Feed every piece left and verify the first draft."""
        while not self.advance(model):
            pass

    def advance(self, model: Any) -> bool:
        """Feed the next piece (every piece when not ``chunked``); True once the prompt and the first draft are in
        and ``sequence`` can decode."""
        if self._todo is None:
            self._todo = self._plan()
        while self._todo:
            ids, store = self._todo.popleft()
            self.pieces += 1
            if not self._todo:
                self._last(model, ids)
                return True
            forward(model, ids, self.cache, keep=1)
            if store:
                self.engine.prefix_cache.put(store, self.cache)
            if self.chunked:
                return False
        return True

    def _plan(self) -> deque[tuple[list[int], str]]:
        """Look the prefix up (the whole prefix, else the shared instructions) and cut what is left into pieces."""
        prefix, suffix = self.request.prompt.prefix, self.request.prompt.suffix
        engine, usage, size = self.engine, self.sequence.usage, self.chunk_tokens
        todo: deque[tuple[list[int], str]] = deque()
        written = self.request.written
        if written:
            kept = engine.answer_states.resume(self.prompt_key, written)
            if kept is not None:
                self.cache, shared = kept
                usage.cached_prompt_tokens = len(prefix) + len(suffix) + shared
                todo.extend((piece, "") for piece in split(written[shared:], size))
                return todo
        self.cache = engine.prefix_cache.get(self.key) if prefix else None
        if self.cache is not None:
            usage.cached_prompt_tokens = len(prefix)
        elif prefix:
            # the instructions are a pass of their own whether cached or not: a prompt's states never depend on
            # what the cache holds (a split changes the last bits of the states)
            head_key = PrefixCache.key(self.request.adapter, prefix[:self._head]) if self._head else ""
            self.cache = engine.prefix_cache.get(head_key) if head_key else None
            if self.cache is not None:
                usage.cached_prompt_tokens = self._head
            else:
                self.cache = growing_cache(engine.model.config)
                if head_key:
                    todo.append((prefix[:self._head], head_key))
            pieces = split(prefix[self._head:], size)
            todo.extend((piece, self.key if index == len(pieces) - 1 else "") for index, piece in enumerate(pieces))
        else:
            self.cache = growing_cache(engine.model.config)
        todo.extend((piece, "") for piece in split(suffix, size))
        if written:
            todo.extend((piece, "") for piece in split(written, size))
        return todo

    def _last(self, model: Any, ids: list[int]) -> None:
        """The prompt's last piece with the first draft after it: the draft prefix the model agrees with stays.
        ``prefill_ms`` runs from admission, so a chunked prefill's includes the decoding passes between its pieces."""
        draft = self.draft
        logits = forward(model, ids + draft, self.cache, keep=len(draft) + 1)
        kept = self.sequence.verify(logits, prefill=True)
        if kept < len(draft):
            self.cache.crop(-(len(draft) - kept))
        self.sequence.prefill_ms = (time.perf_counter() - self._started) * 1000
