"""Reproducible train/validation splits by group, so no group (e.g. an E2E meaning representation) is in both.

    python -m slot.train.split IN.jsonl --key mr --val-rows 300 --seed 0 --out-dir /tmp/slot_data

Rule: the distinct values of ``key`` are sorted, shuffled with ``random.Random(seed)``, and whole groups
are moved to validation in that order until it holds at least ``val_rows`` rows; the rest is training.
Rows keep their file order in both outputs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any


def split_by_group(rows: list[dict[str, Any]], key: str, val_rows: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, validation) rows with every value of ``key`` on exactly one side."""
    sizes: dict[str, int] = {}
    for row in rows:
        group = str(row.get(key, row.get("id")))
        sizes[group] = sizes.get(group, 0) + 1
    groups = sorted(sizes)
    random.Random(seed).shuffle(groups)
    chosen: set[str] = set()
    count = 0
    for group in groups:
        if count >= val_rows:
            break
        chosen.add(group)
        count += sizes[group]
    train = [r for r in rows if str(r.get(key, r.get("id"))) not in chosen]
    val = [r for r in rows if str(r.get(key, r.get("id"))) in chosen]
    return train, val


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slot.train.split", description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("--key", default="mr", help="field whose values are kept on one side (default mr)")
    parser.add_argument("--val-rows", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        rows = [json.loads(line) for line in args.input.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        print(f"split: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    train, val = split_by_group(rows, args.key, args.val_rows, args.seed)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.input.stem
    for name, part in (("train", train), ("val", val)):
        path = args.out_dir / f"{stem}.{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
        groups = len({str(r.get(args.key, r.get("id"))) for r in part})
        print(f"{path}: {len(part)} rows, {groups} distinct {args.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
