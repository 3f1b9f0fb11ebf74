"""Chunked prefill on the real model (``slot.engine.cpu.decoding.prefill``): a long prompt is fed in pieces
between decoding passes, decodes as it does unchunked, and does not hold up the short requests beside it;
cancelling, failing or closing during its prefill touches that request only."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.model

SHORT_TEXTS = ["Maria Lopez is 34 and lives in Lisbon.", "Tom Becker, 51, from Hamburg.",
               "The guest was Anna Kim (age 27), Seoul."]
SHORT_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                                 "city": {"type": "string"}}, "required": ["name", "age", "city"]}


@pytest.fixture(scope="module")
def long_row() -> dict[str, Any]:
    from data_synthesis.long_docs import long_doc_rows

    return long_doc_rows(1, 0)[0]  # ~730 prompt tokens: a deep schema and a report


@contextmanager
def chunks(structurer, size: int, *, fresh_cache: bool = False) -> Iterator[Any]:
    """The engine's scheduler with ``prefill_chunk_tokens`` = ``size`` (and an empty prefix cache) for a while."""
    from slot.engine.cpu.caches.prefix_cache import PrefixCache

    engine = structurer.engine
    saved_size, saved_cache = engine.scheduler.chunk_tokens, engine.prefix_cache
    engine.scheduler.chunk_tokens = size
    if fresh_cache:
        engine.prefix_cache = PrefixCache(saved_cache.budget)
    try:
        yield engine.scheduler
    finally:
        engine.scheduler.chunk_tokens, engine.prefix_cache = saved_size, saved_cache


def request(structurer, text: str, schema: dict[str, Any], max_tokens: int, **options: Any) -> Any:
    """The GenerationRequest the engine gets for ``text`` under ``schema`` (greedy, llguidance)."""
    from slot.engine.base import GenerationRequest
    from slot.prompt import encode, render

    loaded = structurer.load_schema(schema)
    grammar, _ = structurer.compile(loaded, "llguidance")
    tokenizer = structurer.engine.tokenizer
    return GenerationRequest(prompt=encode(tokenizer, render(tokenizer, loaded.canonical, text)), grammar=grammar,
                             max_tokens=max_tokens, source_text=text, **options)


def polled_after(count: int, then: Any = None) -> Any:
    """An ``is_cancelled`` that answers True from its ``count``-th poll on (never for ``count`` 0) and calls
    ``then`` at that poll (polled once when the request starts, then before every piece of its prefill)."""
    polls = []

    def poll() -> bool:
        polls.append(1)
        if len(polls) == count and then is not None:
            then()
            return False
        return count > 0 and len(polls) >= count and then is None

    return poll


def test_the_setting_reaches_the_scheduler(base_structurer, settings):
    assert base_structurer.engine.scheduler.chunk_tokens == settings.prefill_chunk_tokens


def test_split_cuts_even_pieces_of_at_most_the_size():
    from slot.engine.cpu.decoding.prefill import split

    assert split(list(range(10)), 0) == [list(range(10))]
    assert split(list(range(10)), 10) == [list(range(10))]
    assert [len(piece) for piece in split(list(range(10)), 4)] == [3, 3, 4]
    assert sum(split(list(range(100)), 7), []) == list(range(100))
    assert split([], 4) == [[]]


def test_a_long_prompt_is_fed_in_pieces_and_decodes_as_unchunked(base_structurer, long_row):
    from slot.prompt import encode, render

    engine = base_structurer.engine

    def call() -> Any:
        return base_structurer.structure(long_row["input_text"], long_row["json_schema"], max_tokens=48)

    with chunks(base_structurer, 0, fresh_cache=True) as scheduler:
        pieces = scheduler.prefill_pieces
        whole = call()
        assert scheduler.prefill_pieces == pieces  # off: no piece of its own
    with chunks(base_structurer, 64, fresh_cache=True) as scheduler:
        pieces, chunked = scheduler.prefill_pieces, scheduler.chunked_prefills
        cold = call()  # the head, the schema in pieces, the text in pieces
        cold_pieces = scheduler.prefill_pieces - pieces
        warm = call()  # the prefix from the cache: the text in pieces only
        warm_pieces = scheduler.prefill_pieces - pieces - cold_pieces
        assert scheduler.chunked_prefills == chunked + 2
    schema = base_structurer.load_schema(long_row["json_schema"]).canonical
    tokens = encode(engine.tokenizer, render(engine.tokenizer, schema, long_row["input_text"]))
    head = len(engine.prompt_head)
    assert tokens.prefix[:head] == engine.prompt_head
    assert cold_pieces == 1 + -(-(len(tokens.prefix) - head) // 64) + -(-len(tokens.suffix) // 64)
    assert warm_pieces == -(-len(tokens.suffix) // 64) > 1
    assert warm.usage.cached_prompt_tokens == len(tokens.prefix) and cold.usage.cached_prompt_tokens == 0
    assert cold.output == whole.output and warm.output == whole.output
    assert cold.finish_reason == whole.finish_reason


def test_short_prompts_are_fed_whole(base_structurer, e2e_rows):
    with chunks(base_structurer, 512) as scheduler:
        pieces = scheduler.prefill_pieces
        base_structurer.structure(e2e_rows[0]["input_text"], e2e_rows[0]["json_schema"], max_tokens=16)
        assert scheduler.prefill_pieces == pieces


def test_short_requests_submitted_during_a_long_prefill_finish_before_it(base_structurer, long_row):
    from slot.engine.cpu.decoding.prefill import Prefill

    shorts = [request(base_structurer, text, SHORT_SCHEMA, 16) for text in SHORT_TEXTS]
    with chunks(base_structurer, 32, fresh_cache=True) as scheduler:
        solo = [scheduler.submit(r).result().text for r in shorts]  # also caches their prefix
        assert not any(Prefill(base_structurer.engine, r, 32).chunked for r in shorts)
        finished: list[str] = []
        futures: list[Future] = []

        def submit_shorts() -> None:  # in the decoding thread, between two pieces of the long prefill
            at_submit.append(scheduler.prefill_pieces)
            for index, short in enumerate(shorts):
                futures.append(scheduler.submit(short))
                futures[-1].add_done_callback(lambda _, name=f"short{index}": finished.append(name))

        at_submit: list[int] = []
        long = request(base_structurer, long_row["input_text"], long_row["json_schema"], 8,
                       is_cancelled=polled_after(2, submit_shorts))
        long_future = scheduler.submit(long)
        long_future.add_done_callback(lambda _: finished.append("long"))
        long_text = long_future.result().text
        together = [future.result().text for future in futures]
        pieces_left = scheduler.prefill_pieces - at_submit[0]
    assert finished[-1] == "long" and len(finished) == 4
    assert pieces_left > 16  # more pieces than a short request's 16 tokens can take passes
    assert together == solo
    assert long_text


def test_cancelling_a_chunked_prefill_stops_it_between_pieces(base_structurer, long_row, e2e_rows):
    engine = base_structurer.engine
    with chunks(base_structurer, 64, fresh_cache=True) as scheduler:
        short = request(base_structurer, SHORT_TEXTS[0], SHORT_SCHEMA, 16)
        solo = scheduler.submit(short).result().text
        pieces, cancelled = scheduler.prefill_pieces, engine.cancelled_generations
        long_future = scheduler.submit(request(base_structurer, long_row["input_text"], long_row["json_schema"], 32,
                                               is_cancelled=polled_after(4)))
        short_future = scheduler.submit(short)
        result = long_future.result()
        assert short_future.result().text == solo
        assert result.finish_reason == "cancelled" and result.text == ""
        assert scheduler.prefill_pieces - pieces == 2  # polled at the start and before pieces 1, 2 and 3
        assert engine.cancelled_generations == cancelled + 1
    row = e2e_rows[0]
    assert base_structurer.structure(row["input_text"], row["json_schema"], max_tokens=32).valid  # serving still


def test_an_error_in_a_chunked_prefill_fails_that_request_only(base_structurer, long_row):
    from dataclasses import replace

    engine = base_structurer.engine
    shorts = [request(base_structurer, text, SHORT_SCHEMA, 16) for text in SHORT_TEXTS]
    with chunks(base_structurer, 64, fresh_cache=True) as scheduler:
        solo = [scheduler.submit(r).result().text for r in shorts]
        long = request(base_structurer, long_row["input_text"], long_row["json_schema"], 16)
        suffix = list(long.prompt.suffix)
        suffix[150] = engine.vocab_size + 7  # no such token: the embedding lookup of a middle piece fails
        broken = replace(long, prompt=replace(long.prompt, suffix=suffix))
        pieces = scheduler.prefill_pieces
        broken_future = scheduler.submit(broken)
        futures = [scheduler.submit(r) for r in shorts]
        with pytest.raises(Exception):
            broken_future.result()
        assert [future.result().text for future in futures] == solo
        assert scheduler.prefill_pieces > pieces  # it failed mid-prefill, not before it
        assert scheduler.submit(long).result().finish_reason in ("stop", "length")  # the engine goes on


def test_closing_fails_a_chunked_prefill_in_flight(base_structurer, long_row):
    from slot.engine.cpu.decoding.scheduler import BatchScheduler
    from slot.errors import UnavailableError

    scheduler = BatchScheduler(base_structurer.engine, max_batch=4, wait_s=0.0, chunk_tokens=64)  # its own thread
    started = threading.Event()
    future = scheduler.submit(request(base_structurer, long_row["input_text"], long_row["json_schema"], 16,
                                      is_cancelled=polled_after(3, started.set)))
    assert started.wait(120)
    scheduler.close()
    with pytest.raises(UnavailableError, match="closed"):
        future.result(timeout=5)
    assert not scheduler._thread.is_alive()
