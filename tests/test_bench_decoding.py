"""Keeps benchmarks/bench_decoding.py from rotting: its core functions on two rows (one E2E, one synthetic).

Not a timing test: only that every path runs and the records and summaries have the reported fields.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def bench(benchmark_module):
    return benchmark_module("bench_decoding")


def test_rows(bench, tmp_path, synthetic_rows, e2e_file):
    e2e = bench.e2e_rows(3, step=23, path=e2e_file)
    assert [r.id for r in e2e] == ["e2e_dev_0", "e2e_dev_23", "e2e_dev_46"]
    folder = tmp_path / "synth"
    folder.mkdir()
    # the conftest set stands in for a generated folder (so no second generation run)
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows))
    (folder / "validation.jsonl").write_text("")
    (folder / "test.jsonl").write_text("")
    picked = bench.synthetic_rows(2, folder)
    assert len(picked) == 2 and all(r.set == "synthetic" for r in picked)
    nested = {r["id"] for r in synthetic_rows if r["meta"]["complexity"] in bench.NESTED}
    assert {r.id for r in picked} <= nested


def test_core_on_two_rows(bench, settings, synthetic_rows, base_structurer, e2e_file):
    synth = next(r for r in synthetic_rows if r["meta"]["complexity"] in bench.NESTED
                 and bench.close_objects(r["json_schema"]) != r["json_schema"])  # one that has open objects
    rows = bench.e2e_rows(1, path=e2e_file) + [bench.Row(synth["id"], "synthetic", synth["input_text"], synth["json_schema"])]
    # cold (no prefix cache) and warm engines; bf16 left out to keep the test short
    cold = bench.load_structurers(settings.home, which=("cold",))["cold"]
    structurers = {"cold": cold, "warm": base_structurer, "warm_nospec": base_structurer}
    ot = bench.OutlinesRunner(base_structurer.engine.model_dir)
    configs = [bench.OT, bench.OT_CLOSED, bench.PLAIN, bench.PREFIX, bench.SPEC, bench.ALL]
    records = bench.run_rows(rows, structurers, ot, configs=configs, max_tokens=24)
    assert len(records) == 2
    for record in records:
        assert set(record["runs"]) == set(configs)
        assert record["floor_ms"]["float32"] > 0 and record["floor_tokens"] > record["prompt_tokens"]
        plain = record["runs"][bench.PLAIN]
        assert plain["tokens"] > 0 and plain["passes"] == plain["tokens"] - 1  # the first token comes from prefill
        # speculation is exact: the same text as plain greedy decoding
        assert record["runs"][bench.ALL]["output"] == plain["output"]
        assert record["runs"][bench.SPEC]["passes"] <= plain["passes"]
        assert record["runs"][bench.OT]["tokens"] > 0
    # OT on the closed schema reruns outlines only where closing changes the schema (not the closed E2E one)
    assert records[0]["runs"][bench.OT_CLOSED].get("reused") is True
    assert records[1]["runs"][bench.OT_CLOSED].get("reused") is None
    summary = bench.summarize(records, configs)
    assert set(summary) == {"e2e", "synthetic", "all"}
    s = summary["all"][bench.ALL]
    for key in ("p50_ms", "p95_ms", "output_tokens_per_s", "passes_per_token", "forced_share", "copied_share",
                "json_equal_ot", "json_equal_ot_closed", "text_equal_ot", "text_equal_plain", "speedup_p50_vs_ot", "p50_over_floor"):
        assert key in s, key
    assert s["text_equal_plain"] == 1.0
    conc = bench.concurrency(base_structurer, rows[:1], [1, 2], max_tokens=20)
    assert [c["workers"] for c in conc] == [1, 2] and all(c["requests_per_s"] > 0 for c in conc)
    # the compute ceiling: one timed cached-prefix pass per request, the same for every level
    assert 0 < conc[0]["ceiling_requests_per_s"] < float("inf")
    assert conc[0]["ceiling_requests_per_s"] == conc[1]["ceiling_requests_per_s"]
    checks = bench.verdicts(summary, conc)
    table = bench.markdown(summary, conc, checks)
    assert "| e2e (1) | all on |" in table and "floor" in table and "target (issue 6)" in table
    assert "compute ceiling" in table and "JSON = OT closed" in table


def test_long_rows_and_content_similarity(bench):
    """The long deep rows (issue 26) come with their gold; each run is scored against it, and the summary
    reports prompt tokens and content similarity per set."""
    from data_synthesis.long_docs import schema_depth

    rows = bench.long_rows(2)
    assert [r.set for r in rows] == ["long", "long"] and all(r.gold for r in rows)
    assert [schema_depth(r.schema) for r in rows] == [4, 5] and all(len(r.text) >= 1000 for r in rows)
    run = {"ms": 10.0, "tokens": 5, "passes": 2, "forced": 0, "copied": 0, "prompt_tokens": 900,
           "cached_prompt_tokens": 0, "finish": "stop"}
    records = [{"id": row.id, "set": "long", "prompt_tokens": 900 + i, "floor_ms": {"float32": 5.0},
                "runs": {bench.ALL: {**run, "output": output}}}
               for i, (row, output) in enumerate(zip(rows, [json.dumps(rows[0].gold), "{not json"]))]
    exact = lambda pairs: [float(a == b) for a, b in pairs]  # noqa: E731 - stands in for the embeddings
    bench.add_content_similarity(records, rows, exact)
    assert [r["runs"][bench.ALL]["content_similarity"] for r in records] == [1.0, 0.0]
    s = bench.summarize(records, [bench.ALL])["long"][bench.ALL]
    assert s["content_similarity"] == 0.5 and s["prompt_tokens_p50"] == 900.5 and s["prompt_tokens_max"] == 901
    checks = bench.verdicts({"long": {bench.ALL: s}}, [])
    assert [c["target"] for c in checks] == [bench.TARGETS["long_p50"], bench.TARGETS["floor"]] and checks[0]["ok"]
    assert "| long (2) | all on |" in bench.markdown({"long": {bench.ALL: s}}, [], checks)


def test_compact_schema_text(bench):
    text = bench.compact_schema_text({"type": "object", "properties": {"a": {"type": "string"}}})
    assert json.loads(text)["x-guidance"] == {"whitespace_flexible": False}
    assert list(json.loads(text)) == ["type", "properties", "x-guidance"]


def test_percentile(bench):
    assert bench.percentile([1, 2, 3, 4], 50) == 2.5
    assert bench.percentile([5], 95) == 5


def test_ot_runs_the_adapter_merged(bench, structurer, e2e_rows):
    """``--adapter default``: OT decodes with the adapter merged into its weights, so its JSON is the service's."""
    from slot.structurer import adapter_paths

    row = e2e_rows[5]
    ot = bench.OutlinesRunner(structurer.engine.model_dir, adapter_paths(structurer.settings)["default"])
    prompt, _ = bench.prompt_of(structurer, bench.Row(row["id"], "e2e", row["input_text"], row["json_schema"]))
    run = ot.run(prompt.full, row["json_schema"], max_tokens=96)
    assert json.loads(run["output"]) == structurer.structure(row["input_text"], row["json_schema"], max_tokens=96).json
