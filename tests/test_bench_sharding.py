"""Sharded runs of benchmarks/bench_decoding.py: merging shard files, and the core-pair launcher's checks.

No model: the shard files are written here in the shape ``bench_decoding.py --out`` writes them.
"""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_module):
    return benchmark_module("bench_decoding")


@pytest.fixture(scope="module")
def sharded(benchmark_module):
    return benchmark_module("bench_decoding_sharded")


def _record(bench, index: int, set_name: str, ms: float, output: str) -> dict:
    run = {"ms": ms, "output": output, "tokens": 10, "passes": 2, "forced": 4, "copied": 3, "remembered": 0,
           "prompt_tokens": 100, "cached_prompt_tokens": 0, "finish": "stop"}
    ot = {**run, "ms": 5 * ms, "passes": 10, "output": '{"a": 1}'}
    return {"id": f"{set_name}_{index}", "set": set_name, "prompt_tokens": 100,
            "runs": {bench.OT: ot, bench.ALL: run}, "floor_tokens": 110, "floor_ms": {"float32": ms / 2}}


def test_merge_recomputes_over_all_shards(bench, tmp_path):
    shard0 = [_record(bench, i, "e2e", 100.0 + i, '{"a": 1}') for i in range(0, 6, 2)]
    shard1 = [_record(bench, i, "e2e", 100.0 + i, '{"a": 2}' if i == 5 else '{"a": 1}') for i in range(1, 6, 2)]
    level = {"requests": 4, "output_tokens_per_s": 9.0, "p50_ms": 1.0, "p95_ms": 2.0}
    conc = [{**level, "workers": 1, "requests_per_s": 1.0}, {**level, "workers": 8, "requests_per_s": 2.5}]
    files = []
    for name, records, levels in (("s0", shard0, []), ("s1", shard1, []), ("c", [], conc)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"command": name, "args": {"concurrency_config": bench.ALL}, "records": records,
                                    "concurrency": levels, "judged_on": bench.PLAIN}))
        files.append(path)
    out = tmp_path / "merged.json"
    assert bench.merge(files, out, judge=bench.ALL) == 0
    merged = json.loads(out.read_text())
    summary = merged["summary"]["e2e"][bench.ALL]
    assert summary["rows"] == 6 and merged["judged_on"] == bench.ALL
    assert summary["p50_ms"] == pytest.approx(102.5)  # over the six rows, not either shard's three
    assert summary["json_equal_ot"] == pytest.approx(5 / 6)
    assert summary["speedup_p50_vs_ot"] == pytest.approx(5.0)
    assert merged["concurrency"] == conc and [m["path"] for m in merged["merged_from"]] == [str(f) for f in files]
    assert any(v["target"] == bench.TARGETS["concurrency"] and not v["ok"] for v in merged["verdicts"])
    # without --judge the merge keeps what the shards were judged on (the default would be "all on" here)
    assert bench.merge(files, out) == 0
    assert json.loads(out.read_text())["judged_on"] == bench.PLAIN


def test_bad_shard_is_refused(bench):
    with pytest.raises(SystemExit):
        bench.main(["--shard", "2/2"])
    with pytest.raises(SystemExit):
        bench.main(["--merge", "a.json"])  # no --out


def test_core_pairs_are_disjoint_and_spare_the_first(sharded):
    assert sharded.core_pairs([0, 2, 4, 6, 8, 10, 12]) == ["2,4", "6,8", "10,12"]
    assert sharded.core_pairs([0, 1]) == []
    cores = sharded.physical_cores()
    assert cores and len(set(cores)) == len(cores)


def test_launcher_owns_threads_and_shards(sharded, tmp_path):
    with pytest.raises(SystemExit):
        sharded.main(["--out", str(tmp_path / "x.json"), "--", "--threads", "4"])
    with pytest.raises(SystemExit):
        sharded.main(["--out", str(tmp_path / "x.json"), "--shards", "64", "--", "--e2e-rows", "1"])
