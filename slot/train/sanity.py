"""A quick check of an adapter against its base model: greedy, unconstrained generation on a few rows.

    python -m slot.train.sanity --data VAL.jsonl --n 30 --stride 10 [--adapter DIR] [--out preds.jsonl]

Reports the share of outputs that parse as JSON and the exact-match rate per field (over the gold's
top-level keys) and per row. This is not the paper's evaluation (``slot eval`` is); it only tells
quickly whether a training run taught the model the task.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from slot.prompt import encode, render
from slot.schema import load_schema


def generate(model: Any, tokenizer: Any, rows: list[dict[str, Any]], *, max_new_tokens: int = 96, batch: int = 8) -> list[str]:
    """Greedy completions of the SLOT prompt, left-padded batches, decoded without special tokens."""
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    outputs: list[str] = []
    for start in range(0, len(rows), batch):
        prompts = [encode(tokenizer, render(tokenizer, load_schema(r["json_schema"]).canonical, r["input_text"])).ids
                   for r in rows[start:start + batch]]
        width = max(map(len, prompts))
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=pad, eos_token_id=tokenizer.eos_token_id)
        outputs += [tokenizer.decode(o[width:], skip_special_tokens=True).strip() for o in out]
    return outputs


def score(rows: list[dict[str, Any]], outputs: list[str]) -> dict[str, float]:
    """Share parsing as JSON, field exact-match rate, row exact-match rate."""
    parsed, fields, matched, exact = 0, 0, 0, 0
    for row, text in zip(rows, outputs):
        try:
            value = json.loads(text)
            parsed += 1
        except json.JSONDecodeError:
            value = None
        gold = row["gold"]
        hits = sum(1 for k, v in gold.items() if isinstance(value, dict) and k in value and value[k] == v)
        fields += len(gold)
        matched += hits
        exact += int(value == gold)
    n = max(1, len(rows))
    return {"rows": len(rows), "json_parse_rate": parsed / n, "field_exact_match": matched / max(1, fields),
            "row_exact_match": exact / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slot.train.sanity", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--stride", type=int, default=1, help="take every STRIDE-th row (spread over the file)")
    parser.add_argument("--adapter", type=Path, default=None, help="peft adapter directory; none = base model")
    parser.add_argument("--base-model", default="smollm2-135m")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--out", type=Path, default=None, help="write rows with their outputs here (JSONL)")
    args = parser.parse_args(argv)

    from slot.config import Settings
    from slot.models import load, resolve_base_model

    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[:: args.stride][: args.n]
    model, tokenizer = load(resolve_base_model(args.base_model, Settings.from_env().home_path))
    if args.adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, args.adapter)
        model.eval()
    started = time.perf_counter()
    outputs = generate(model, tokenizer, rows, max_new_tokens=args.max_new_tokens)
    result = score(rows, outputs) | {"seconds": round(time.perf_counter() - started, 1),
                                      "model": f"{args.base_model}" + (f" + {args.adapter}" if args.adapter else "")}
    if args.out:
        args.out.write_text("".join(json.dumps({"id": r["id"], "gold": r["gold"], "output": o}, ensure_ascii=False) + "\n"
                                    for r, o in zip(rows, outputs)), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
