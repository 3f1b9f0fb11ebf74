"""Transformers engine vs vLLM engine on the same E2E rows: p50 latency and throughput, 1 and 8 at once.

    SLOT_HOME=... .venv-vllm/bin/python benchmarks/bench_vllm.py [--rows 16] [--concurrency 1,8]
        [--out benchmarks/results/vllm.json]

Needs vLLM (run it with .venv-vllm). Both engines run the service defaults (base model + shipped adapter,
greedy, llguidance / vLLM "guidance", float32), in this process, one after the other (the transformers
engine is dropped before vLLM starts). vLLM computes on one core (its default here), so the transformers
engine gets one torch thread too (--threads). "Concurrent" means N threads calling Structurer.structure
at once, as the gRPC server's workers do: the transformers engine serialises them, vLLM batches them.
Prints a markdown table and writes the numbers (with the load average: the machine is shared) to --out.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT.parent / "shared" / "data" / "e2e" / "e2e_dev_slot.jsonl"


def load_rows(count: int) -> list[dict[str, Any]]:
    from shared_data import require

    with open(require(E2E, "the E2E dev file"), encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return rows[::max(1, len(rows) // count)][:count]


def run(structurer: Any, rows: list[dict[str, Any]], concurrency: int, max_tokens: int) -> dict[str, Any]:
    """Every row once with `concurrency` callers at a time: latencies, wall time, tokens, outputs."""

    def one(row: dict[str, Any]) -> tuple[float, Any]:
        started = time.perf_counter()
        result = structurer.structure(row["input_text"], row["json_schema"], max_tokens=max_tokens)
        return time.perf_counter() - started, result

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        done = list(pool.map(one, rows))
    wall = time.perf_counter() - started
    latencies = [seconds for seconds, _ in done]
    results = [result for _, result in done]
    tokens = sum(r.usage.completion_tokens for r in results)
    return {"concurrency": concurrency, "requests": len(rows), "wall_s": round(wall, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p90_ms": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))] * 1000, 1),
            "requests_per_s": round(len(rows) / wall, 3), "tokens_per_s": round(tokens / wall, 1),
            "completion_tokens": tokens, "valid": sum(r.valid for r in results),
            "outputs": [r.output for r in results]}


def bench_engine(engine: str, rows: list[dict[str, Any]], levels: list[int], max_tokens: int,
                 threads: int) -> dict[str, Any]:
    from slot.config import Settings
    from slot.structurer import Structurer

    settings = Settings.from_env(engine=engine, threads=threads, max_concurrency=max(levels),
                                 vllm_max_num_seqs=max(levels))
    started = time.perf_counter()
    structurer = Structurer.from_settings(settings, progress=False)
    load_s = time.perf_counter() - started
    warm = rows[0]
    structurer.structure(warm["input_text"], warm["json_schema"], max_tokens=max_tokens)  # compile, caches
    report: dict[str, Any] = {"engine": engine, "load_s": round(load_s, 1), "describe": structurer.engine.describe(),
                              "runs": []}
    for level in levels:
        report["runs"].append(run(structurer, rows, level, max_tokens))
        print(f"{engine} x{level}: {json.dumps({k: v for k, v in report['runs'][-1].items() if k != 'outputs'})}",
              file=sys.stderr, flush=True)
    close = getattr(structurer.engine, "close", None)
    if close is not None:
        close()
    del structurer
    gc.collect()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--concurrency", default="1,8", help="comma-separated numbers of concurrent callers")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--engines", default="transformers,vllm")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the transformers engine (1: the one core vLLM computes on)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "vllm.json"))
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    rows = load_rows(args.rows)
    load_before = os.getloadavg()
    reports = [bench_engine(engine, rows, levels, args.max_tokens, args.threads) for engine in args.engines.split(",")]
    load_after = os.getloadavg()

    print("| engine | callers | p50 ms | p90 ms | requests/s | tokens/s | valid | load s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for report in reports:
        for r in report["runs"]:
            print(f"| {report['engine']} | {r['concurrency']} | {r['p50_ms']:.0f} | {r['p90_ms']:.0f} | "
                  f"{r['requests_per_s']:.2f} | {r['tokens_per_s']:.1f} | {r['valid']}/{r['requests']} | "
                  f"{report['load_s']:.1f} |")
    agreement: dict[str, Any] = {}
    if len(reports) == 2:
        for left, right in zip(reports[0]["runs"], reports[1]["runs"]):
            same = sum(a == b for a, b in zip(left["outputs"], right["outputs"]))
            agreement[str(left["concurrency"])] = {"same_output": same, "rows": len(rows)}
            print(f"same output, {left['concurrency']} caller(s): {same}/{len(rows)}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 shared cores)")
    out = {"rows": len(rows), "max_tokens": args.max_tokens, "cpus": os.cpu_count(), "threads": args.threads,
           "loadavg_before": load_before, "loadavg_after": load_after, "agreement": agreement,
           "engines": [{**r, "runs": [{k: v for k, v in run_.items() if k != "outputs"} for run_ in r["runs"]]}
                       for r in reports],
           "outputs": {r["engine"]: r["runs"][0]["outputs"] for r in reports}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":  # required: vLLM starts its engine process with spawn, which re-imports this file
    sys.exit(main())
