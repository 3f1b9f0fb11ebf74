"""The decoding loop on the real model: speculation is exact, caches are reused, limits and cancels hold."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.model


def _pick(rows, count, step):
    return rows[::step][:count]


def _nested(rows):
    return [r for r in rows if r["meta"]["complexity"] in ("nested", "arrays", "refs", "comprehensive")]


def test_speculation_gives_identical_output_to_plain_greedy(base_structurer, e2e_rows, synthetic_rows):
    rows = _pick(e2e_rows, 10, 397) + _pick(_nested(synthetic_rows), 5, 3)
    passes = tokens = 0
    for row in rows:
        plain = base_structurer.structure(row["input_text"], row["json_schema"], speculation=False, max_tokens=160)
        fast = base_structurer.structure(row["input_text"], row["json_schema"], speculation=True, max_tokens=160)
        assert fast.output == plain.output, row["id"]
        assert fast.finish_reason == plain.finish_reason
        # plain decoding: one pass per token (the last token needs none when the grammar or max_tokens ends it),
        # in each decoding of the request (copy repair may decode a second time: attempts)
        assert plain.usage.forward_passes >= plain.usage.completion_tokens - plain.attempts
        passes += fast.usage.forward_passes
        tokens += fast.usage.completion_tokens
    assert passes < 0.75 * tokens  # speculation must save passes overall


@pytest.mark.slow
def test_speculation_is_exact_on_many_rows(base_structurer, e2e_rows, synthetic_rows):
    rows = _pick(e2e_rows, 60, 71) + _pick(synthetic_rows, 40, 2)
    mismatches = [r["id"] for r in rows
                  if base_structurer.structure(r["input_text"], r["json_schema"], speculation=False).output
                  != base_structurer.structure(r["input_text"], r["json_schema"], speculation=True).output]
    assert mismatches == []


def test_prefix_cache_is_reused_and_changes_nothing(base_structurer, e2e_rows):
    row_a, row_b = e2e_rows[0], e2e_rows[1]  # same schema, different texts
    cache = base_structurer.engine.prefix_cache
    first = base_structurer.structure(row_a["input_text"], row_a["json_schema"])
    hits = cache.hits
    second = base_structurer.structure(row_b["input_text"], row_b["json_schema"])
    again = base_structurer.structure(row_a["input_text"], row_a["json_schema"])
    assert cache.hits == hits + 2 and second.usage.cached_prompt_tokens > 0
    assert again.output == first.output
    assert cache.nbytes <= cache.budget


def test_a_new_schema_reuses_the_cached_instructions_and_changes_nothing(base_structurer, e2e_rows, synthetic_rows):
    from slot.engine.cpu.caches.prefix_cache import PrefixCache
    from slot.prompt import head_ids

    engine = base_structurer.engine
    head = head_ids(engine.tokenizer)
    assert engine.tokenizer.decode(head).endswith("JSON Schema:\n") and len(head) > 40
    rows = [e2e_rows[0]] + _pick(_nested(synthetic_rows), 2, 5)
    saved, settings = engine.prefix_cache, base_structurer.settings
    try:
        # one decoding per request: a copy repair's second pass would find its whole prompt cached
        base_structurer.settings = settings.replace(repair_copies=False)
        engine.prefix_cache = PrefixCache(0)  # nothing is cached: every prompt is computed whole
        cold = [base_structurer.structure(r["input_text"], r["json_schema"], max_tokens=160) for r in rows]
        engine.prefix_cache = PrefixCache(saved.budget)
        warm = [base_structurer.structure(r["input_text"], r["json_schema"], max_tokens=160) for r in rows]
    finally:
        engine.prefix_cache, base_structurer.settings = saved, settings
    assert [r.output for r in warm] == [r.output for r in cold]  # the head's split does not depend on the cache
    assert [r.usage.cached_prompt_tokens for r in cold] == [0, 0, 0]
    assert [r.usage.cached_prompt_tokens for r in warm] == [0, len(head), len(head)]  # new schemas, cached head


@pytest.mark.parametrize("backend", ["llguidance", "xgrammar", "outlines_core"])
def test_allows_reads_the_mask(base_structurer, synthetic_rows, backend):
    """Greedy choice keeps the model's first choice when ``allows`` says the mask lets it through, instead of
    unpacking the mask: ``allows`` must be the mask's own bit for every token, in every state."""
    import random

    from slot.schema import load_schema

    engine, rng = base_structurer.engine, random.Random(7)
    row = _pick(_nested(synthetic_rows), 1, 4)[0]
    result = base_structurer.structure(row["input_text"], row["json_schema"], max_tokens=120)
    grammar, _ = base_structurer.compile(load_schema(row["json_schema"]), backend)
    matcher = grammar.matcher()
    checked = 0
    for token in engine.tokenizer.encode(result.output, add_special_tokens=False) + [None]:
        allowed = matcher.mask()
        candidates = sorted(engine.eos_ids) + [rng.randrange(engine.vocab_size) for _ in range(24)] \
            + ([token] if token is not None else []) + [int(i) for i in allowed.nonzero()[0][:24]] \
            + [-1, engine.vocab_size, engine.vocab_size + 7]
        for candidate in candidates:
            inside = 0 <= candidate < len(allowed)
            assert matcher.allows(candidate) == (inside and bool(allowed[candidate])), (backend, candidate)
            checked += 1
        if token is None or not matcher.consume([token]):
            break
    assert checked > 1000


def test_max_tokens_gives_length_and_invalid(base_structurer, e2e_rows):
    row = e2e_rows[10]
    result = base_structurer.structure(row["input_text"], row["json_schema"], max_tokens=5)
    assert result.finish_reason == "length" and result.usage.completion_tokens <= 5
    assert result.valid is False and result.errors


def test_cancellation_stops_between_passes(base_structurer, e2e_rows):
    row = e2e_rows[20]
    # an answer of hundreds of tokens: it cannot be over within a few passes, however good the drafts
    long = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}, "minItems": 200}},
            "required": ["items"]}
    calls = []

    def cancel_after_four() -> bool:  # polled once before the prefill, then before each pass
        calls.append(1)
        return len(calls) > 4

    result = base_structurer.structure(row["input_text"], long, is_cancelled=cancel_after_four)
    assert result.finish_reason == "cancelled" and not result.valid
    assert result.usage.forward_passes == 3 and len(calls) == 5


@pytest.mark.parametrize("backend", ["xgrammar", "outlines_core"])
def test_other_grammar_backends_agree_with_llguidance(base_structurer, e2e_rows, backend):
    for row in e2e_rows[100:103]:
        reference = base_structurer.structure(row["input_text"], row["json_schema"])
        other = base_structurer.structure(row["input_text"], row["json_schema"], grammar_backend=backend)
        assert other.valid and other.grammar_backend == backend
        assert other.output == reference.output


def test_unconstrained_decoding_still_post_validates(base_structurer, e2e_rows):
    row = e2e_rows[30]
    result = base_structurer.structure(row["input_text"], row["json_schema"], constrained=False, max_tokens=80)
    assert result.grammar_backend == ""
    assert result.valid == (not result.errors)


def test_sampling_is_seeded(base_structurer, e2e_rows):
    row = e2e_rows[40]
    one = base_structurer.structure(row["input_text"], row["json_schema"], temperature=0.9, seed=7)
    two = base_structurer.structure(row["input_text"], row["json_schema"], temperature=0.9, seed=7)
    assert one.output == two.output and one.valid


LOOP_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["tags"],
               "properties": {"tags": {"type": "array", "items": {"type": "string"}, "minItems": 2}}}


@pytest.mark.parametrize("limit", [2, 3])  # >= minItems, so the grammar lets the array close
def test_repetition_guard_closes_the_array(structurer, limit):
    """No array item occurs more than max_repeated_items times; the JSON is finished, not cut at max_tokens;
    plain and speculative decoding still agree with the guard on."""
    import json

    engine = structurer.engine
    saved = engine.max_repeated_items
    try:
        engine.max_repeated_items = limit
        fast = structurer.structure("Tags: red, red, red, red, red.", LOOP_SCHEMA, max_tokens=64)
        plain = structurer.structure("Tags: red, red, red, red, red.", LOOP_SCHEMA, max_tokens=64, speculation=False)
    finally:
        engine.max_repeated_items = saved
    assert fast.output == plain.output
    assert fast.finish_reason == "stop" and fast.valid, fast.output
    tags = json.loads(fast.output)["tags"]
    assert max(tags.count(tag) for tag in tags) <= limit
