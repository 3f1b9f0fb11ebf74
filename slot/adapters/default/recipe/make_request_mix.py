"""Build the training mix of trial M: user requests recast as function arguments, stage L's rows replayed.

Stage L leaves out most arguments a request states when the schema is a function's parameter list (every key
optional, described): on SNIPS requests of three functions no adapter saw it got 26.7% of requests fully right
with the ``omit`` policy, writing ``rating_value`` and little else, or the whole request as a title. No training
row was a short request against such a schema. Trial M continues L on SNIPS requests of the four *training*
functions (AddToPlaylist, BookRestaurant, GetWeather, PlayMusic; ``python -m data_synthesis convert-snips``, train
split only) while the three evaluation functions (RateBook, SearchCreativeWork, SearchScreeningEvent) stay
unseen, beside stage L's rows replayed (short rows and a few long documents) so neither is forgotten.

So the four training schemas are not learnt by heart, each request row gets a variant of its function's schema,
seeded: properties in shuffled order (half the rows), part of the parameters the request does not state dropped
(half), descriptions removed (a quarter). What the request states is never dropped, and the gold is unchanged.

Outcome (not shipped; the adapter card's *Trial M*): the three unseen functions did not gain (rows fully right with
``omit`` 21.3% -> 18.7% on 150 requests): the model learnt the four training functions, not how to map a described
parameter to its span in an unseen one; E2E rows under varied schemas lost 3 follow points.

    python slot/adapters/default/recipe/make_request_mix.py --snips-dir ../shared/data/snips \
        --replay slot/adapters/default/recipe/stageL_train.jsonl.gz \
        --per-intent 90 --replayed-short 200 --replayed-long 24 --seed 141 --out stageM_train.jsonl
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
from pathlib import Path
from typing import Any

from data_synthesis.snips import convert_dir, pick_per_intent

TRAINING_FUNCTIONS = ("AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic")
"""SNIPS intents trained on; the other three are the unseen-function evaluation split."""


def vary_function(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The row under a variant of its function's schema: order, unstated parameters and descriptions vary."""
    schema = copy.deepcopy(row["json_schema"])
    names = list(schema["properties"])
    if rng.random() < 0.5:
        rng.shuffle(names)
    if rng.random() < 0.5:
        unstated = [n for n in names if n not in row["gold"]]
        dropped = set(rng.sample(unstated, rng.randint(0, len(unstated)))) if unstated else set()
        names = [n for n in names if n not in dropped]
    plain = rng.random() < 0.25
    schema["properties"] = {n: ({"type": schema["properties"][n]["type"]} if plain else schema["properties"][n])
                            for n in names}
    return dict(row, json_schema=schema, meta={**row["meta"], "variant": True})


def _is_long(row: dict[str, Any]) -> bool:
    """A long document of the replayed rows (``make_long_mix.py`` rows carry ``meta.source`` "long_docs")."""
    return (row.get("meta") or {}).get("source") == "long_docs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snips-dir", type=Path, required=True, help="../shared/data/snips")
    parser.add_argument("--replay", type=Path, required=True, help="stage L's rows (recipe/stageL_train.jsonl.gz)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-intent", type=int, default=90, help="requests per training function")
    parser.add_argument("--replayed-short", type=int, default=200, help="short rows sampled from --replay")
    parser.add_argument("--replayed-long", type=int, default=24, help="long documents sampled from --replay")
    parser.add_argument("--seed", type=int, default=141)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    by_intent, _ = convert_dir(args.snips_dir, "train")
    requests = [vary_function(row, rng) for intent in TRAINING_FUNCTIONS
                for row in pick_per_intent(by_intent[intent], args.per_intent, rng)]
    opener = gzip.open if args.replay.suffix == ".gz" else open
    with opener(args.replay, "rt", encoding="utf-8") as handle:
        replay = [json.loads(line) for line in handle if line.strip()]
    long_rows = [r for r in replay if _is_long(r)]
    short_rows = [r for r in replay if not _is_long(r)]
    rows = requests + rng.sample(short_rows, args.replayed_short) + rng.sample(long_rows, args.replayed_long)
    rng.shuffle(rows)
    with open(args.out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {args.out} ({len(requests)} requests of {', '.join(TRAINING_FUNCTIONS)}, "
          f"{args.replayed_short} short and {args.replayed_long} long rows replayed)")


if __name__ == "__main__":
    main()
