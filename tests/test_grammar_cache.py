"""GrammarCache: compiles that pass their timeout are abandoned without starving the next ones, boundedly."""

from __future__ import annotations

import time

import pytest

from slot.errors import OverloadedError, UnsupportedSchemaError
from slot.grammar.cache import GrammarCache
from slot.schema import load_schema

pytestmark = pytest.mark.model


def _hostile(name: str, n: int = 12) -> object:
    """outlines_core builds a DFA with ~2^n states for this pattern: n=10 compiles in ~3 s on an idle core, so
    n=12 (~12 s) is still running when the next 1 s timeout passes, on an idle or a busy machine."""
    return load_schema({"type": "object", "properties": {name: {"type": "string",
                                                                "pattern": f"^(a|b)*a(a|b){{{n}}}$"}},
                        "required": [name]})


def _trivial(name: str) -> object:
    return load_schema({"type": "object", "properties": {name: {"type": "integer"}}})


def _wait_until(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_abandoned_compiles_neither_starve_new_ones_nor_grow_without_bound(structurer):
    engine = structurer.engine
    cache = GrammarCache(engine.tokenizer, engine.vocab_size, compile_timeout_s=1.0, max_abandoned=3)
    cache.backend("outlines_core"), cache.backend("llguidance")  # tokenizer set-up is not compile time
    for name in ("h1", "h2"):
        started = time.perf_counter()
        with pytest.raises(UnsupportedSchemaError, match="took longer than 1 s"):
            cache.get(_hostile(name), "outlines_core")
        assert time.perf_counter() - started < 1.0 + 1.0  # the timeout counts from the compile's start
    assert cache.abandoned == 2
    compiled, hit = cache.get(_trivial("fresh"), "llguidance")  # a 2-thread pool would be full here
    assert compiled and not hit
    with pytest.raises(UnsupportedSchemaError):
        cache.get(_hostile("h3"), "outlines_core")
    assert cache.abandoned == 3
    with pytest.raises(OverloadedError, match="compile capacity exhausted") as caught:
        cache.get(_trivial("refused"), "llguidance")
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert cache.get(_trivial("fresh"), "llguidance")[1]  # cache hits need no compile capacity
    assert _wait_until(lambda: cache.abandoned == 0, 120)  # each abandoned thread gives its place back
    assert not cache.get(_trivial("refused"), "llguidance")[1]


# A pattern under maxLength: llguidance's lexer runs out of fuel ("too many expressions constructed") once a string
# starts with 'a' (a request the model may or may not write), while strings starting with 'b' are cheap.
FUEL_HUNGRY = {"type": "string", "pattern": "^(b[a-z ]*|a.*a.{12})$", "maxLength": 400}


def _feed(matcher, ids: list[int]) -> bool:
    """Feed tokens one at a time, computing the mask before each as decoding does; False once the grammar refuses."""
    for token in ids:
        if not matcher.allows(token) or not matcher.consume([token]):
            return False
    return matcher.is_accepting()


def test_a_matcher_that_breaks_leaves_the_other_matchers_of_its_grammar_working(structurer):
    """llguidance's deep_copy shares the lexer between copies: one copy's lexer error used to break every other
    matcher of the cached grammar, those already running and all later ones (issue 27)."""
    engine = structurer.engine
    cache = GrammarCache(engine.tokenizer, engine.vocab_size)
    grammar, _ = cache.get(load_schema(FUEL_HUNGRY), "llguidance")
    encode = lambda text: engine.tokenizer.encode(text, add_special_tokens=False)  # noqa: E731
    benign, hostile = encode('"bcd def"'), encode('"' + "a" * 40 + '"')
    running = grammar.matcher()
    assert running.consume(benign[:1])
    broken = grammar.matcher()
    assert not _feed(broken, hostile)
    assert "too many expressions constructed" in broken.error
    assert _feed(running, benign[1:]) and not running.error  # a request already running is unaffected
    later, hit = cache.get(load_schema(FUEL_HUNGRY), "llguidance")
    assert hit and later is grammar
    assert _feed(later.matcher(), benign)  # and so is every later one


def test_a_matcher_error_fails_its_own_request_with_the_engines_message(structurer):
    """A matcher that broke mid-output ends its request with finish_reason 'error' and the engine's message (it
    used to read as 'stop', the grammar's stopped state), and the schema keeps serving other requests."""
    always_breaks = {"type": "string", "pattern": "^.*a.{30}$", "maxLength": 400}  # fails right after the quote
    result = structurer.structure("Ada Lovelace", always_breaks, max_tokens=8)
    assert result.finish_reason == "error" and not result.valid
    assert "too many expressions constructed" in result.errors[0]
    assert structurer.structure("Ada Lovelace", {"type": "string", "maxLength": 20}, max_tokens=12).valid
