"""benchmarks/replay_drafts.py reproduces the engine's pass counts from recorded outputs, without the model."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def replay_drafts(benchmark_module):
    return benchmark_module("replay_drafts")


def test_replay_reproduces_the_recorded_passes(replay_drafts, benchmark_module, structurer, e2e_rows, tmp_path):
    from slot.grammar.cache import GrammarCache

    bench = benchmark_module("bench_decoding")
    schema = e2e_rows[0]["json_schema"]
    rows = [bench.Row(r["id"], "e2e", r["input_text"], r["json_schema"])
            for r in e2e_rows if r["json_schema"] == schema][:6]
    out = tmp_path / "outputs.jsonl"
    saved = structurer.engine.output_memory
    try:
        replay_drafts.record(structurer, rows, out)
    finally:
        structurer.engine.output_memory = saved
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == [r.id for r in rows] and all(r["ids"] for r in records)
    tokenizer = structurer.engine.tokenizer
    grammars = GrammarCache(tokenizer, structurer.engine.vocab_size)
    results = replay_drafts.replay(records, tokenizer, grammars, draft_tokens=structurer.settings.draft_tokens,
                                   output_memory=256)
    assert [r["passes"] for r in results] == [r["passes"] for r in records]
    without = replay_drafts.replay(records, tokenizer, grammars, draft_tokens=structurer.settings.draft_tokens,
                                   output_memory=0)
    assert sum(r["passes"] for r in without) > sum(r["passes"] for r in results)  # the memory saves passes
    assert "| e2e | 6 |" in replay_drafts.table(results)
    assert "generate" not in vars(structurer.engine)  # record() unwrapped the engine
