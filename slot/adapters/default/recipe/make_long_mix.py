"""Build the training mix of stages K and L: long documents of the training-only domains, stage J's rows replayed.

Stage J writes the first items of a long document's lists and stops (content similarity 39% on the six
evaluation kinds of ``data_synthesis.long_docs``); no training row was that long. Stages K and L continue J on
documents of the six *training* kinds (``long-docs --domains train``: no domain, key word or vocabulary value in
common with the evaluation kinds, which stay unseen), with rows of J's own mix replayed so short rows are not
forgotten. The defaults build the stage K trial's rows; stage L (shipped) used threefold replay, and its exact rows
are in ``stageL_train.jsonl.gz``, which this rebuilds byte for byte:

    python slot/adapters/default/recipe/make_long_mix.py \
        --replay slot/adapters/default/recipe/stageJ_train.jsonl.gz \
        --long 120 --replayed 360 --seed 131 --out stageL_train.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

from data_synthesis.long_docs import long_doc_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", type=Path, required=True, help="stage J's rows (recipe/stageJ_train.jsonl.gz)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--long", type=int, default=150, help="long-document rows (training domains)")
    parser.add_argument("--long-seed", type=int, default=1)
    parser.add_argument("--replayed", type=int, default=130, help="rows sampled from --replay")
    parser.add_argument("--seed", type=int, default=121)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    opener = gzip.open if args.replay.suffix == ".gz" else open
    with opener(args.replay, "rt", encoding="utf-8") as handle:
        replay = [json.loads(line) for line in handle if line.strip()]
    rows = long_doc_rows(args.long, args.long_seed, "train") + rng.sample(replay, args.replayed)
    rng.shuffle(rows)
    with open(args.out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {args.out} ({args.long} long documents, {args.replayed} replayed)")


if __name__ == "__main__":
    main()
