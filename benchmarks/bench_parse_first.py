"""The parse-first fast path on messy LLM-style replies: share it answers, its latency, quality against the model.

    SLOT_HOME=... SLOT_THREADS=1 python benchmarks/bench_parse_first.py [--n 1500] [--seed 7] [--model-rows 60]

Rows come from the synthesis pipeline (all text kinds; ``broken_json`` is its code-fenced JSON with 1-3 faults:
trailing commas, single quotes, comments, unquoted keys, Python literals, a missing brace; keys raw, in
words or aliased). For every row the fast path runs alone (its latency); on the rows it answers, the model
runs too (``parse_first=False``, shipped adapter, greedy) and both are scored against the gold JSON: the
whole value equal, and the share of gold leaves matched exactly (``slot.eval.metrics.exact_match``).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def scored(value: Any, gold: Any) -> tuple[bool, float]:
    from slot.eval.metrics import exact_match, json_equal

    matches = exact_match(value, gold)
    return json_equal(value, gold), sum(matches.values()) / max(1, len(matches))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1500, help="synthetic rows to generate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model-rows", type=int, default=60, help="answered rows the model also runs on")
    parser.add_argument("--out")
    args = parser.parse_args()

    from data_synthesis.pipeline import GenConfig, generate
    from slot.config import Settings
    from slot.parse_first import parse_first
    from slot.structurer import Structurer

    folder = Path(tempfile.mkdtemp(prefix="parse-first-"))
    generate(GenConfig(n=args.n, seed=args.seed, progress=False), folder)
    rows = [json.loads(line) for split in ("train", "validation", "test")
            for line in (folder / f"{split}.jsonl").read_text().splitlines()]
    structurer = Structurer.from_settings(Settings.from_env(), progress=False)
    by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    parse_ms: list[float] = []
    answered: list[tuple[dict[str, Any], Any]] = []
    for row in rows:
        schema = structurer.load_schema(row["json_schema"])
        document = structurer.grammar_document(schema)
        started = time.perf_counter()
        found = parse_first(row["input_text"], schema, document)
        parse_ms.append((time.perf_counter() - started) * 1000)
        by_kind[row["meta"]["text_kind"]][0] += 1
        if found is not None:
            by_kind[row["meta"]["text_kind"]][1] += 1
            answered.append((row, found.value))
    parse_scores = [scored(value, row["gold"]) for row, value in answered]
    answered_ms, padded_ms, padded_hits = [], [], 0
    prose = " ".join(row["input_text"] for row in rows if row["meta"]["text_kind"] == "prose_long")
    for row, _ in answered:  # the answered texts alone, and inside ~3 KB of prose (an LLM reply around the JSON)
        schema = structurer.load_schema(row["json_schema"])
        document = structurer.grammar_document(schema)
        for text, times in ((row["input_text"], answered_ms),
                            (f"{prose[:1500]}\n\n{row['input_text']}\n\n{prose[1500:3000]}", padded_ms)):
            started = time.perf_counter()
            found = parse_first(text, schema, document)
            times.append((time.perf_counter() - started) * 1000)
            padded_hits += found is not None and times is padded_ms
    compared = answered[: args.model_rows]
    model_scores, model_ms, path_ms, texts = [], [], [], []
    for row, _ in compared:
        model = structurer.structure(row["input_text"], row["json_schema"], parse_first=False)
        model_scores.append(scored(model.json, row["gold"]) if model.valid else (False, 0.0))
        model_ms.append(model.timings.total_ms)
        fast = structurer.structure(row["input_text"], row["json_schema"])
        assert fast.path == "parse", row["id"]
        path_ms.append(fast.timings.total_ms)
        texts.append(len(row["input_text"]))
    compared_parse = parse_scores[: len(compared)]
    result = {
        "rows": len(rows), "answered": len(answered), "by_kind": dict(by_kind),
        "parse_only_ms": {"p50": statistics.median(parse_ms), "p99": pct(parse_ms, 0.99), "max": max(parse_ms)},
        "answered_rows": {"whole_equal": sum(e for e, _ in parse_scores), "field_em": statistics.mean(
            f for _, f in parse_scores) if parse_scores else None,
            "parse_ms_p50": statistics.median(answered_ms), "parse_ms_p99": pct(answered_ms, 0.99),
            "in_3kb_prose_parse_ms_p50": statistics.median(padded_ms), "in_3kb_prose_parse_ms_p99": pct(padded_ms, 0.99),
            "in_3kb_prose_answered": padded_hits},
        "compared": len(compared), "text_chars_p50": statistics.median(texts) if texts else None,
        "parse_path": {"whole_equal": sum(e for e, _ in compared_parse),
                       "field_em": statistics.mean(f for _, f in compared_parse) if compared else None,
                       "structure_ms_p50": statistics.median(path_ms) if path_ms else None,
                       "structure_ms_p99": pct(path_ms, 0.99)},
        "model_path": {"whole_equal": sum(e for e, _ in model_scores),
                       "field_em": statistics.mean(f for _, f in model_scores) if compared else None,
                       "structure_ms_p50": statistics.median(model_ms) if model_ms else None},
    }
    kinds = ", ".join(f"{kind} {hit}/{total}" for kind, (total, hit) in sorted(by_kind.items()) if hit)
    print(f"# Parse-first on {len(rows)} synthetic rows (seed {args.seed}); answered {len(answered)} ({kinds})\n")
    print(f"fast path alone, every row: p50 {result['parse_only_ms']['p50']:.2f} ms, "
          f"p99 {result['parse_only_ms']['p99']:.2f} ms, max {result['parse_only_ms']['max']:.2f} ms")
    a = result["answered_rows"]
    print(f"all answered rows: whole value equal {a['whole_equal']}/{len(answered)}, field exact match "
          f"{a['field_em']:.4f}; fast path p50 {a['parse_ms_p50']:.2f} ms, p99 {a['parse_ms_p99']:.2f} ms; inside ~3 KB "
          f"of prose: answered {a['in_3kb_prose_answered']}/{len(answered)}, p50 {a['in_3kb_prose_parse_ms_p50']:.2f} ms, "
          f"p99 {a['in_3kb_prose_parse_ms_p99']:.2f} ms\n")
    print(f"| on the {len(compared)} answered rows also run by the model (text p50 {result['text_chars_p50']} chars) "
          "| parse path | model |\n|---|---|---|")
    p, m = result["parse_path"], result["model_path"]
    print(f"| whole value equal to gold | {p['whole_equal']}/{len(compared)} | {m['whole_equal']}/{len(compared)} |")
    print(f"| field exact match | {p['field_em']:.4f} | {m['field_em']:.4f} |")
    print(f"| Structurer.structure p50 | {p['structure_ms_p50']:.2f} ms | {m['structure_ms_p50']:.0f} ms |")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
