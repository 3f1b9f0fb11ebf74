"""Build the training mix of the shipped adapter: synthetic train splits + the E2E train split twice.

Rows whose schema or text also occurs in a held-out file are dropped (none were, for the shipped mix), so
no evaluation row is trained on. Output: one JSONL of {id, input_text, json_schema, gold}, shuffled.

    python slot/adapters/default/recipe/make_mix.py --out train.jsonl \
        --train syn13/train.jsonl syn11/train.jsonl syn/train.jsonl syn8/train.jsonl \
        --e2e e2e_dev_slot.train.jsonl --e2e-copies 2 \
        --held-out syn/validation.jsonl syn/test.jsonl syn8/validation.jsonl syn8/test.jsonl e2e_dev_slot.val.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

KEYS = ("id", "input_text", "json_schema", "gold")


def read(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def canonical(schema: Any) -> str:
    return json.dumps(json.loads(schema) if isinstance(schema, str) else schema, sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train", type=Path, nargs="+", required=True, help="synthetic train splits")
    parser.add_argument("--e2e", type=Path, required=True, help="the E2E train split")
    parser.add_argument("--e2e-copies", type=int, default=2)
    parser.add_argument("--held-out", type=Path, nargs="+", default=[])
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    held = [row for path in args.held_out for row in read(path)]
    schemas = {canonical(row["json_schema"]) for row in held}
    texts = {row["input_text"].strip() for row in held}

    def kept(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if canonical(r["json_schema"]) not in schemas and r["input_text"].strip() not in texts]

    synthetic = [row for path in args.train for row in kept(read(path))]
    e2e = [row for row in read(args.e2e) if row["input_text"].strip() not in texts]
    mix = [{key: row[key] for key in KEYS} for row in synthetic + e2e * args.e2e_copies]
    random.Random(args.seed).shuffle(mix)
    with open(args.out, "w", encoding="utf-8") as handle:
        for row in mix:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(mix)} rows: {len(synthetic)} synthetic, {len(e2e)} E2E x {args.e2e_copies}")


if __name__ == "__main__":
    main()
