"""Head-of-line blocking: short E2E requests alone, then while long documents arrive beside them (issue 26, point 4).

For each ``--chunks`` value (``prefill_chunk_tokens``; 0 = chunked prefill off) one engine (float16 weights,
the default) is loaded, and on it, one after the other:

- ``alone``: ``--short`` E2E rows (every ``--e2e-step``-th row of the shared E2E dev file) structured by
  ``--callers`` concurrent callers;
- ``mixed``: the same short rows with ``--long`` long deep rows (``data_synthesis.long_docs``, seed 0; 1-4k
  characters, schemas of depth 4-7) among them, one long row before every ``--per-long`` short ones, taken by
  the same number of callers in that order.

Reported per configuration and phase: p50/p95/max latency of the short requests (from the caller's side), and
the long requests' latency, prompt tokens, decoding passes and prefill pieces. Before each phase the output
memory is emptied (neither phase drafts from the other's outputs); every schema's grammar is compiled and the
E2E schemas' prompt prefixes cached beforehand, so neither is timed. The long rows' prefixes are not cached
(each has a schema of its own), as in service. Compare only within one run: the configurations run one after
the other on the same machine.

    .venv/bin/python benchmarks/bench_head_of_line.py --short 24 --long 6 --threads 1 \\
        --out benchmarks/results/head_of_line.json

The table goes to stdout (markdown), progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_decoding import E2E, Row, e2e_rows, environment, long_rows, percentile, reset_output_memory  # noqa: E402


def load(home: str, *, threads: int, chunk: int, adapter: str) -> Any:
    """A Structurer on its own engine with ``prefill_chunk_tokens=chunk`` (the parse-first path off)."""
    from slot.config import Settings
    from slot.structurer import Structurer

    settings = Settings.from_env(home=home, adapter=adapter, threads=threads, parse_first=False,
                                 prefill_chunk_tokens=chunk)
    return Structurer.from_settings(settings, progress=False)


def prepare(structurer: Any, shorts: list[Row], longs: list[Row], max_tokens: int) -> None:
    """Compile every schema and cache the E2E prompt prefixes, so that neither is timed."""
    for row in shorts + longs:
        structurer.compile(structurer.load_schema(row.schema), "llguidance")
    seen: set[str] = set()
    for row in shorts:
        schema = json.dumps(row.schema, sort_keys=True)
        if schema not in seen:
            seen.add(schema)
            structurer.structure(row.text, row.schema, max_tokens=max_tokens)
    structurer.engine.warm_up(structurer.default_adapter)


def one(structurer: Any, row: Row, max_tokens: int) -> dict[str, Any]:
    """One request, timed from the caller's side."""
    started = time.perf_counter()
    result = structurer.structure(row.text, row.schema, max_tokens=max_tokens)
    usage = result.usage
    return {"id": row.id, "set": row.set, "ms": (time.perf_counter() - started) * 1000, "output": result.output,
            "prompt_tokens": usage.prompt_tokens, "cached_prompt_tokens": usage.cached_prompt_tokens,
            "tokens": usage.completion_tokens, "passes": usage.forward_passes, "finish": result.finish_reason,
            "prefill_ms": result.timings.prefill_ms}


def phase(structurer: Any, rows: list[Row], callers: int, max_tokens: int) -> dict[str, Any]:
    """The rows taken in order by ``callers`` concurrent callers: per-request records and the scheduler's counts."""
    scheduler = structurer.engine.scheduler
    reset_output_memory(structurer)
    before = (scheduler.passes, scheduler.prefill_pieces, scheduler.chunked_prefills)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=callers) as pool:
        records = list(pool.map(lambda row: one(structurer, row, max_tokens), rows))
    wall = time.perf_counter() - started
    after = (scheduler.passes, scheduler.prefill_pieces, scheduler.chunked_prefills)
    return {"wall_s": wall, "records": records, "decoding_passes": after[0] - before[0],
            "prefill_pieces": after[1] - before[1], "chunked_prefills": after[2] - before[2]}


def interleave(shorts: list[Row], longs: list[Row], per_long: int) -> list[Row]:
    """One long row before every ``per_long`` short rows, while long rows last."""
    rows: list[Row] = []
    waiting = list(longs)
    for index, row in enumerate(shorts):
        if index % per_long == 0 and waiting:
            rows.append(waiting.pop(0))
        rows.append(row)
    return rows + waiting


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Latency percentiles of the short and the long requests of a phase."""
    out: dict[str, Any] = {"wall_s": result["wall_s"], "decoding_passes": result["decoding_passes"],
                           "prefill_pieces": result["prefill_pieces"], "chunked_prefills": result["chunked_prefills"]}
    for kind in ("e2e", "long"):
        records = [r for r in result["records"] if r["set"] == kind]
        if not records:
            continue
        ms = [r["ms"] for r in records]
        out[kind] = {"requests": len(records), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
                     "max_ms": max(ms), "prompt_tokens_p50": percentile([r["prompt_tokens"] for r in records], 50),
                     "prompt_tokens_max": max(r["prompt_tokens"] for r in records),
                     "passes_p50": percentile([r["passes"] for r in records], 50),
                     "output_tokens_p50": percentile([r["tokens"] for r in records], 50)}
    return out


def markdown(results: dict[int, dict[str, Any]]) -> str:
    """The table of a run: one line per configuration and phase."""
    lines = ["| prefill_chunk_tokens | phase | short p50 | short p95 | short max | p95 / alone p95 | long p50 | "
             "long max | long prompt tokens p50 (max) | long passes p50 | prefill pieces | wall |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for chunk, phases in results.items():
        alone = phases["alone"]["summary"]["e2e"]["p95_ms"]
        for name in ("alone", "mixed"):
            s = phases[name]["summary"]
            short, long = s["e2e"], s.get("long")
            lines.append(
                f"| {chunk or 'off'} | {name} | {short['p50_ms']:.0f} ms | {short['p95_ms']:.0f} ms | "
                f"{short['max_ms']:.0f} ms | {short['p95_ms'] / alone:.2f}x | "
                + (f"{long['p50_ms'] / 1000:.1f} s | {long['max_ms'] / 1000:.1f} s | "
                   f"{long['prompt_tokens_p50']:.0f} ({long['prompt_tokens_max']}) | {long['passes_p50']:.0f} | "
                   if long else "| | | | ")
                + f"{s['prefill_pieces']} | {s['wall_s']:.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", type=int, default=24, help="short E2E rows")
    parser.add_argument("--long", type=int, default=6, help="long deep rows (data_synthesis.long_docs, seed 0)")
    parser.add_argument("--per-long", type=int, default=4, help="short rows per long row in the mixed phase")
    parser.add_argument("--callers", type=int, default=4, help="concurrent callers")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = one per core)")
    parser.add_argument("--chunks", default="0,64", help="prefill_chunk_tokens values, one engine each (0 = off)")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--e2e-step", type=int, default=23, help="take every N-th E2E dev row")
    parser.add_argument("--e2e-file", type=Path, default=E2E, help="the E2E dev file (JSONL)")
    parser.add_argument("--adapter", default="none", help="'none' (the base model) or 'default' (the shipped adapter)")
    parser.add_argument("--home", default=os.environ.get("SLOT_HOME") or None)
    parser.add_argument("--out", type=Path, help="write the summary and per-request records as JSON")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    shorts = e2e_rows(args.short, args.e2e_step, args.e2e_file)
    longs = long_rows(args.long)
    mixed = interleave(shorts, longs, args.per_long)
    results: dict[int, dict[str, Any]] = {}
    for chunk in (int(value) for value in args.chunks.split(",")):
        structurer = load(args.home, threads=args.threads, chunk=chunk, adapter=args.adapter)
        prepare(structurer, shorts, longs, args.max_tokens)
        results[chunk] = {}
        for name, rows in (("alone", shorts), ("mixed", mixed)):
            result = phase(structurer, rows, args.callers, args.max_tokens)
            result["summary"] = summary(result)
            results[chunk][name] = result
            short = result["summary"]["e2e"]
            log(f"chunks {chunk or 'off'}, {name}: short p50 {short['p50_ms']:.0f} ms, p95 {short['p95_ms']:.0f} ms "
                f"({len(rows)} requests in {result['wall_s']:.0f} s, {result['prefill_pieces']} prefill pieces)")
        structurer.close()
    same = {chunk: sum(a["output"] == b["output"] for a, b in zip(
        phases["alone"]["records"], [r for r in phases["mixed"]["records"] if r["set"] == "e2e"]))
        for chunk, phases in results.items()}
    table = markdown(results)
    print(table)
    print("\nshort outputs equal between alone and mixed: "
          + ", ".join(f"{chunk or 'off'}: {count}/{len(shorts)}" for chunk, count in same.items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"args": {k: str(v) for k, v in vars(args).items()}, "environment": environment(),
                  "table": table, "same_short_outputs": same, "results": results}
        args.out.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
