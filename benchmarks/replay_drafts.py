"""Replay recorded greedy outputs through the draft builder, without the model: passes a draft policy would take.

Decoding is exact, so at every position the model chooses the recorded output token: a draft is accepted up
to its first difference from the recording. That makes draft policies (``slot.engine.cpu.drafts.proposals``, the output
memory) cheap to compare on hundreds of rows: ``record`` runs the real engine once, ``replay`` then takes
seconds per policy. The replay follows the engine step for step (the opening draft verified by the prefill,
one chosen token plus a draft per pass, the memory filled with each finished output in row order), so with
the same settings it reproduces the recorded pass counts exactly (tested).

    .venv/bin/python benchmarks/replay_drafts.py record --e2e-rows 200 --synthetic-rows 30 --out /tmp/outputs.jsonl
    .venv/bin/python benchmarks/replay_drafts.py replay /tmp/outputs.jsonl --draft-tokens 24
    .venv/bin/python benchmarks/replay_drafts.py replay /tmp/outputs.jsonl --draft-tokens 24 --output-memory 0

Pass cost model for the estimate (1 thread, float16 weights, this machine): 33 ms + 3.6 ms per fed token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PASS_MS, TOKEN_MS = 33.0, 3.6


def record(structurer: Any, rows: list[Any], out: Path) -> None:
    """Decode each row with the engine (a fresh output memory) and write its output token ids and pass count."""
    from slot.engine.cpu.drafts.output_memory import OutputMemory

    engine = structurer.engine
    engine.output_memory = OutputMemory(engine.output_memory.schemas, engine.output_memory.outputs)
    generations: list[Any] = []
    generate = engine.generate

    def keep(request: Any) -> Any:  # the token ids themselves: re-encoding the text may tokenize differently
        generations.append(generate(request))
        return generations[-1]

    engine.generate = keep
    try:
        with open(out, "w", encoding="utf-8") as handle:
            for row in rows:
                result = structurer.structure(row.text, row.schema, grammar_backend="llguidance")
                handle.write(json.dumps({"id": row.id, "set": row.set, "text": row.text, "schema": row.schema,
                                         "output": result.output, "ids": list(generations[-1].token_ids),
                                         "finish": result.finish_reason, "passes": result.usage.forward_passes},
                                        ensure_ascii=False) + "\n")
    finally:
        vars(engine).pop("generate", None)


def replay_row(ids: list[int], matcher: Any, tokenizer: Any, source: str, limit: int,
               memory: Any) -> tuple[int, int]:
    """(decoding passes, tokens fed to them) to produce ``ids`` with the engine's drafting."""
    from slot.engine.cpu.drafts.proposals import build_draft

    def accepted(draft: list[int], at: int) -> int:
        count = 0
        while count < len(draft) and at + count < len(ids) and draft[count] == ids[at + count]:
            count += 1
        return count

    out: list[int] = []
    draft, _ = build_draft(matcher, tokenizer, out, source, limit, memory)  # the opening draft: the prefill's
    kept = accepted(draft, 0)
    matcher.consume(draft[:kept])
    out += draft[:kept]
    passes = fed = 0
    while len(out) < len(ids):
        matcher.consume([ids[len(out)]])
        out.append(ids[len(out)])
        if matcher.is_stopped() or len(out) >= len(ids):
            break
        draft, _ = build_draft(matcher, tokenizer, out, source, limit, memory)
        kept = accepted(draft, len(out))
        matcher.consume(draft[:kept])
        out += draft[:kept]
        passes += 1
        fed += 1 + len(draft)
    return passes, fed


def replay(records: list[dict[str, Any]], tokenizer: Any, grammars: Any, *, draft_tokens: int,
           output_memory: int) -> list[dict[str, Any]]:
    """Every recorded row in order, the memory filled as the engine fills it; per row passes and fed tokens."""
    from slot.engine.cpu.drafts.output_memory import OutputMemory
    from slot.schema import load_schema

    memory = OutputMemory(output_memory)
    results = []
    for row in records:
        schema = load_schema(row["schema"])
        grammar, _ = grammars.get(schema, "llguidance")
        key = schema.hash
        passes, fed = replay_row(row["ids"], grammar.matcher(), tokenizer, row["text"], draft_tokens, memory.get(key))
        if row["finish"] == "stop":
            memory.add(key, row["output"], row["text"])
        results.append({"id": row["id"], "set": row["set"], "tokens": len(row["ids"]), "passes": passes, "fed": fed,
                        "recorded_passes": row["passes"], "ms": passes * PASS_MS + fed * TOKEN_MS})
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| rows | count | passes / token | fed / token | decode ms p50 (estimate) | replayed = recorded passes |",
             "|---|---:|---:|---:|---:|---:|"]
    for name in sorted({r["set"] for r in results}):
        rows = [r for r in results if r["set"] == name]
        tokens = sum(r["tokens"] for r in rows) or 1
        lines.append(f"| {name} | {len(rows)} | {sum(r['passes'] for r in rows) / tokens:.3f} | "
                     f"{sum(r['fed'] for r in rows) / tokens:.2f} | {statistics.median(r['ms'] for r in rows):.0f} | "
                     f"{sum(r['passes'] == r['recorded_passes'] for r in rows)}/{len(rows)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="decode rows with the engine and save the outputs")
    rec.add_argument("--e2e-rows", type=int, default=200)
    rec.add_argument("--synthetic-rows", type=int, default=30)
    rec.add_argument("--synthetic-dir", type=Path, default=Path("/tmp/slot_bench_decoding_synth_n400_s5"))
    rec.add_argument("--adapter", default="default")
    rec.add_argument("--threads", type=int, default=0)
    rec.add_argument("--out", type=Path, required=True)
    rep = sub.add_parser("replay", help="passes each draft setting would take on recorded outputs")
    rep.add_argument("records", type=Path)
    rep.add_argument("--draft-tokens", type=int, default=24)
    rep.add_argument("--output-memory", type=int, default=256, help="schemas remembered (0 = no memory)")
    args = parser.parse_args(argv)

    from slot.config import Settings

    settings = Settings.from_env(adapter=getattr(args, "adapter", "default"), threads=getattr(args, "threads", 0))
    if args.command == "record":
        from bench_decoding import e2e_rows, synthetic_rows

        from slot.structurer import Structurer

        rows = e2e_rows(args.e2e_rows) + synthetic_rows(args.synthetic_rows, args.synthetic_dir)
        with Structurer.from_settings(settings, progress=False) as structurer:
            record(structurer, rows, args.out)
        print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
        return 0
    from transformers import AutoTokenizer

    from slot.grammar.cache import GrammarCache
    from slot.models import resolve_base_model

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model(settings.base_model, settings.home_path,
                                                                     progress=False)))
    grammars = GrammarCache(tokenizer, len(tokenizer))
    records = [json.loads(line) for line in args.records.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(table(replay(records, tokenizer, grammars, draft_tokens=args.draft_tokens,
                       output_memory=args.output_memory)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
