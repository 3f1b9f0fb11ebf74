"""Build stage D's (and E's) training mix: counterfactual (value-swapped) E2E and synthetic rows plus originals.

Stage D teaches copying: in the E2E file eatType is always "coffee shop" and food only English or Chinese,
so the model learnt those values. Swapped rows (train pool of ``data_synthesis.counterfactual``; the eval
pool, used to measure, shares no value with it) make the text the only source of every value; original
rows keep the normalised values (ratings, price ranges, familyFriendly) and the answer format.
Synthetic rows are kept short (text + schema under ``--max-chars``) so the CPU run stays affordable.

    python slot/adapters/default/recipe/make_cf_mix.py --e2e e2e_dev_slot.train.jsonl \
        --synthetic syn41/train.jsonl --out stageD_train.jsonl

Stage F (``--open-share 0.6``) draws most swapped venue kinds, cuisines and areas from open vocabularies
(common words and invented ones in the kind's shape) instead of the curated train lists, so no list of values
can stand in for reading the text. Rows whose gold holds an eval-pool value are dropped.

Stage H (``--schema-variants 0.6``) puts that share of rows under a varied schema (``data_synthesis.schema_variants``):
keys the text fills made nullable or optional, keys it never states added as null or left out, so the schema's
shape stops predicting null.

Stage E adds request -> arguments rows (``--requests``: SNIPS train rows from ``python -m data_synthesis
convert-snips``) of some intents only, so the other intents stay an evaluation of functions never trained on;
rows whose text occurs in a ``--held-out`` file are dropped.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from data_synthesis.counterfactual import Swapper, eval_pool_values, swap_row
from data_synthesis.schema_variants import vary_row
from slot.leaves import iter_leaves

KEYS = ("id", "input_text", "json_schema", "gold")


def read(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def short(row: dict[str, Any], max_chars: int) -> bool:
    return len(row["input_text"]) + len(json.dumps(row["json_schema"])) < max_chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--e2e", type=Path, required=True, help="the E2E train split")
    parser.add_argument("--synthetic", type=Path, required=True, help="a synthetic train split")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--e2e-swapped", type=int, default=1000)
    parser.add_argument("--e2e-original", type=int, default=250)
    parser.add_argument("--synthetic-swapped", type=int, default=300)
    parser.add_argument("--synthetic-original", type=int, default=300)
    parser.add_argument("--max-chars", type=int, default=1400)
    parser.add_argument("--requests", type=Path, help="request -> arguments rows (SNIPS train)")
    parser.add_argument("--request-intents", default="", help="comma-separated meta.intent values to keep")
    parser.add_argument("--held-out", type=Path, nargs="*", default=[], help="rows whose texts must not be trained on")
    parser.add_argument("--open-share", type=float, default=0.0,
                        help="share of swapped venue kinds, cuisines and areas built from open vocabularies (stage F)")
    parser.add_argument("--schema-variants", type=float, default=0.0,
                        help="share of rows put under a varied schema: filled keys nullable or optional, unstated "
                             "keys added, flags as booleans, enums (stage H; data_synthesis.schema_variants)")
    parser.add_argument("--vary-only-e2e", action="store_true",
                        help="put only E2E rows under varied schemas (synthetic rows keep theirs; stage J)")
    parser.add_argument("--seed", type=int, default=51)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    swapper = Swapper("train", args.seed, open_share=args.open_share)
    e2e = read(args.e2e)
    rng.shuffle(e2e)
    synthetic = [row for row in read(args.synthetic) if short(row, args.max_chars)]
    rng.shuffle(synthetic)

    def swapped(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for row in rows:
            if len(out) >= n:  # checked first: n = 0 asks for no swapped rows, not for all of them
                break
            made = swap_row(row, swapper)
            if made is not None:
                out.append(made)
        return out

    e2e_cf = swapped(e2e, args.e2e_swapped)
    e2e_orig = e2e[args.e2e_swapped:args.e2e_swapped + args.e2e_original]
    syn_cf = swapped(synthetic, args.synthetic_swapped)
    syn_orig = synthetic[args.synthetic_swapped:args.synthetic_swapped + args.synthetic_original]
    held = {row["input_text"].strip() for path in args.held_out for row in read(path)}
    intents = {i.strip() for i in args.request_intents.split(",") if i.strip()}
    requests = [row for row in (read(args.requests) if args.requests else [])
                if (not intents or row["meta"]["intent"] in intents) and row["input_text"].strip() not in held]
    rows = [row for row in e2e_cf + e2e_orig + syn_cf + syn_orig if row["input_text"].strip() not in held]
    varied = 0
    e2e_ids = {id(row) for row in e2e_cf + e2e_orig}
    for i, row in enumerate(rows):
        if args.vary_only_e2e and id(row) not in e2e_ids:
            continue
        if args.schema_variants and rng.random() < args.schema_variants:
            made_variant = vary_row(row, rng)
            if made_variant is not None:
                rows[i], varied = made_variant, varied + 1
    mix = [{key: row[key] for key in KEYS} for row in rows + requests]
    rng.shuffle(mix)
    evals, made = eval_pool_values(), len(mix)
    mix = [row for row in mix
           if not any(isinstance(v, str) and v.casefold() in evals for _, v in iter_leaves(row["gold"]))]
    with open(args.out, "w", encoding="utf-8") as handle:
        for row in mix:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(mix)} rows: E2E {len(e2e_cf)} swapped + {len(e2e_orig)} original, "
          f"synthetic {len(syn_cf)} swapped + {len(syn_orig)} original, {len(requests)} requests, "
          f"{len(e2e_cf) + len(e2e_orig) + len(syn_cf) + len(syn_orig) - len(rows)} dropped as held out, "
          f"{made - len(mix)} for holding an eval-pool value, {varied} under a varied schema")


if __name__ == "__main__":
    main()
