"""Faithfulness of an adapter (issue 25): does the model copy what the text says, or what it was trained on?

One run, the same rows for every system (constrained decoding): the base model, the shipped adapter and any
adapter given with ``--adapter NAME=DIR`` (earlier or candidate stages), each under the setting
``grounding_policy`` (omit since 2026-12-08, keep before) or under a policy named (``NAME+keep``, ``NAME+extract``):

- ``e2e_val``: the E2E validation split (whole meaning representations never trained on; but the same file
  as the training rows, so the same narrow values: eatType always "coffee shop", food English/Chinese);
- ``e2e_val_swapped``: the same rows with every value the text states swapped, in text and gold, for a
  value of the *eval* pool of ``data_synthesis.counterfactual`` (never used in training: other venue kinds,
  cuisines, areas, invented names and landmarks; E2E ratings and price ranges swapped among themselves);
- ``e2e_val_variants``: the swapped rows under varied schemas (``data_synthesis.schema_variants``, seed 3): keys
  the text fills made nullable or optional, keys it never states added (the answer: null or left out), yes/no
  flags as booleans, some enums; an adapter that reads "nullable" as "null" loses values here;
- ``syn_heldout``: seed 7's synthetic validation + test splits (schemas never trained on, same generator);
- ``syn_heldout_swapped``: those rows value-swapped from the eval pool (invented names, words, numbers);
- any ``--extra NAME=FILE.jsonl`` split, e.g. SNIPS requests recast as function arguments
  (``python -m data_synthesis convert-snips``), a task no adapter was trained on.

Each system is scored on the JSON it returns (after near-copy repair and the grounding policy); with
``--also-raw`` every system is scored a second time, as ``NAME:raw``, on the text the model wrote (the same
decoding, so repair's effect is measured on the same rows without a second run).

It prints the paper's metrics per split and system, the follow rate (share of swapped values the output
reproduces) per key, and latency p50/p95 per split (systems interleaved row by row, in rotating order, so no
system always runs after another on the same row and profits from its caches), and writes them with date,
commit and machine to ``--out``.

    .venv/bin/python benchmarks/bench_faithfulness.py --adapter stageC=tests/data/adapters/stage_c --limit 100 \
        --systems base,stageC,default,default+extract --out benchmarks/results/faithfulness_<date>.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_synthesis.counterfactual import Swapper, swap_row  # noqa: E402
from data_synthesis.schema_variants import vary_row  # noqa: E402
from slot.eval.metrics import json_equal  # noqa: E402
from slot.eval.report import markdown_table  # noqa: E402
from slot.leaves import leaf_map  # noqa: E402
from slot.eval.runner import evaluate  # noqa: E402
from slot.train.split import split_by_group  # noqa: E402

NO_LISTS = "-nolists"
"""System name suffix: list extension off (``slot.list_extension``; the setting ``extend_lists`` otherwise)."""


FILL, NO_FILL = "-fill", "-nofill"
"""System name suffixes: key filling on (``fill_keys`` 8) or off (``slot.key_filling``; the setting otherwise)."""


def _bare(name: str) -> str:
    for suffix in (FILL, NO_FILL, NO_LISTS):
        name = name.removesuffix(suffix)
    return name


def system_options(name: str) -> tuple[str, str | None]:
    """System name -> (adapter, grounding policy): ``base``, ``default`` (the shipped adapter), or an adapter
    given with ``--adapter NAME=DIR``, each optionally with ``+POLICY`` (a grounding policy: keep, extract, omit, ...;
    without one the setting ``grounding_policy``: omit since 2026-12-08, keep before) and then ``-nolists`` (list
    extension off) and ``-fill`` / ``-nofill`` (key filling on or off)."""
    adapter, _, policy = _bare(name).partition("+")
    return adapter, policy or None


def resumption_options(name: str) -> dict[str, int | None]:
    """The ``Structurer.structure`` options a system name's suffixes set (None: the setting)."""
    bare = name.removesuffix(FILL).removesuffix(NO_FILL)
    fill = 8 if name.endswith(FILL) else 0 if name.endswith(NO_FILL) else None
    return {"extend_lists": 0 if bare.endswith(NO_LISTS) else None, "fill_keys": fill}


def _spread(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most ``limit`` rows spread evenly over the list (E2E rows come grouped by meaning representation)."""
    if not limit or len(rows) <= limit:
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def build_splits(e2e_file: Path, limit: int, synthetic_limit: int) -> dict[str, list[dict[str, Any]]]:
    """The five splits, each row tagged with its split as ``meta.source``."""
    from data_synthesis.pipeline import GenConfig, generate

    e2e = [json.loads(line) for line in e2e_file.open(encoding="utf-8") if line.strip()]
    _, e2e_val = split_by_group(e2e, "mr", 300, 0)
    with tempfile.TemporaryDirectory() as tmp:
        generate(GenConfig(n=1500, seed=7, workers=1, progress=False), tmp)
        syn = [json.loads(line) for name in ("validation", "test")
               for line in (Path(tmp) / f"{name}.jsonl").open(encoding="utf-8") if line.strip()]
    splits: dict[str, list[dict[str, Any]]] = {}
    for name, rows, seed, n in (("e2e_val", e2e_val, 1, limit), ("syn_heldout", syn, 2, synthetic_limit)):
        picked = _spread(rows, n)
        swapper = Swapper("eval", seed)
        swapped = [made for row in picked if (made := swap_row(row, swapper)) is not None]
        splits[name] = picked
        splits[f"{name}_swapped"] = swapped
        if name == "e2e_val":
            rng = random.Random(3)
            splits["e2e_val_variants"] = [made for row in swapped
                                          if (made := vary_row(row, rng, extra_keys=0.8)) is not None]
    for name, rows in splits.items():
        for row in rows:
            row["meta"] = {**(row.get("meta") or {}), "source": name}
    return splits


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0


def chosen_splits(splits: dict[str, Any], names: str, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The splits named in ``names`` (comma-separated; all when empty), in that order; an unknown name is a
    usage error listing the known ones."""
    wanted = [s.strip() for s in names.split(",") if s.strip()]
    unknown = set(wanted) - splits.keys()
    if unknown:
        parser.error(f"unknown splits {sorted(unknown)}; choose from {', '.join(splits)}")
    return {name: splits[name] for name in wanted} if wanted else splits


def fully_right(row: dict[str, Any], output: str) -> bool:
    """Every gold value right and nothing else stated (null leaves count as not stated)."""
    try:
        predicted = json.loads(output)
    except (json.JSONDecodeError, TypeError, RecursionError):
        return False
    stated = {path: value for path, value in leaf_map(predicted).items() if value is not None}
    gold = leaf_map(row["gold"])
    return stated.keys() == gold.keys() and all(json_equal(stated[p], gold[p]) for p in gold)


def machine() -> dict[str, Any]:
    """Date, commit and machine facts recorded with the numbers (``run_record.machine``)."""
    from run_record import machine as record

    return record()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", action="append", default=[], metavar="NAME=DIR",
                        help="another adapter to compare, used by the systems NAME and NAME+extract (repeatable)")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=FILE",
                        help="another split from a JSONL file of rows (repeatable)")
    parser.add_argument("--e2e-file", type=Path, default=ROOT.parent / "shared/data/e2e/e2e_dev_slot.jsonl")
    parser.add_argument("--limit", type=int, default=100, help="rows per split (spread evenly; 0: all)")
    parser.add_argument("--synthetic-limit", type=int,
                        help="rows per synthetic split (default: --limit; 0: all 152, which comparing adapters needs: "
                             "on 30 of them stage D scored 98.7, on all 97.0)")
    parser.add_argument("--splits", default="", help="comma-separated subset of the five splits")
    parser.add_argument("--systems", default="base,default,default+extract",
                        help="comma-separated: base, default, NAME of an --adapter, each adapter also as +POLICY, "
                             "each system also with -nolists (list extension off), then -fill or -nofill "
                             "(key filling on or off)")
    parser.add_argument("--also-raw", action="store_true",
                        help="also score each system on the model's own text (NAME:raw: before near-copy repair)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--out", type=Path, help="results JSON (a .md table is written beside it)")
    args = parser.parse_args(argv)

    from slot.config import Settings
    from slot.grounding.policy import GROUNDING_POLICIES
    from slot.structurer import Structurer

    synthetic_limit = args.limit if args.synthetic_limit is None else args.synthetic_limit
    from shared_data import require

    splits = build_splits(require(args.e2e_file, "the E2E dev file, --e2e-file"), args.limit, synthetic_limit)
    for item in args.extra:
        name, _, path = item.partition("=")
        rows = [json.loads(line) for line in Path(path).open(encoding="utf-8") if line.strip()]
        splits[name] = [dict(row, meta={**(row.get("meta") or {}), "source": name}) for row in _spread(rows, args.limit)]
    splits = chosen_splits(splits, args.splits, parser)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    named = dict(item.partition("=")[::2] for item in args.adapter)
    unknown = [s for s in systems if system_options(s)[0] not in {"base", "default", *named}
               or system_options(s)[1] not in (None, *GROUNDING_POLICIES) or (s.startswith("base+"))]
    if unknown:
        parser.error(f"unknown systems {unknown}: use base, default or an --adapter NAME, adapters also as "
                     f"+POLICY ({', '.join(GROUNDING_POLICIES)})")
    structurer = Structurer.from_settings(Settings.from_env(threads=args.threads, max_tokens=args.max_tokens,
                                                             adapters=",".join(args.adapter)), progress=False)
    results: dict[str, Any] = {"machine": machine(), "adapters": named, "limit": args.limit,
                               "synthetic_limit": synthetic_limit, "systems": systems, "splits": {}}
    tables: list[str] = []
    for split, rows in splits.items():
        scored = systems + ([f"{s}:raw" for s in systems] if args.also_raw else [])
        outputs: dict[str, dict[str, str]] = {s: {} for s in scored}
        latency: dict[str, list[float]] = {s: [] for s in scored}
        for n, row in enumerate(rows, 1):  # systems interleaved per row, in rotating order: the output memory
            for system in systems[n % len(systems):] + systems[:n % len(systems)]:  # helps whoever comes second
                started = time.perf_counter()
                try:
                    adapter, policy = system_options(system)
                    result = structurer.structure(row["input_text"], row["json_schema"], adapter=adapter,
                                                  grounding_policy=policy, **resumption_options(system))
                    returned = json.dumps(result.json, ensure_ascii=False) if result.json is not None else result.output
                    raw = result.output
                except Exception as exc:  # noqa: BLE001 - one failing row scores as empty output
                    returned = raw = ""
                    print(f"{split} {system} {row['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
                elapsed = 1000 * (time.perf_counter() - started)
                for name, text in ((system, returned), (f"{system}:raw", raw)):
                    if name in outputs:
                        outputs[name][str(row["id"])] = text
                        latency[name].append(elapsed)
            print(f"\r{split} {n}/{len(rows)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        report = evaluate(rows, outputs)
        right = {s: sum(fully_right(row, outputs[s][str(row["id"])]) for row in rows) / len(rows) for s in scored}
        table = (f"\n### {split} ({len(rows)} rows)\n\n" + markdown_table(report) + "\nrows fully right: "
                 + ", ".join(f"{s} {100 * right[s]:.1f}%" for s in scored) + "\nlatency p50: "
                 + ", ".join(f"{s} {statistics.median(latency[s]):.0f} ms" for s in systems) + "\nlatency p95: "
                 + ", ".join(f"{s} {_p95(latency[s]):.0f} ms" for s in systems) + "\n")
        print(table, flush=True)
        tables.append(table)
        results["splits"][split] = report.to_dict() | {
            "rows": len(rows), "fully_right": right,
            "latency_p50_ms": {s: statistics.median(latency[s]) for s in systems},
            "latency_p95_ms": {s: _p95(latency[s]) for s in systems},
            "outputs": outputs}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        head = (f"# Faithfulness benchmark\n\n{results['machine']['date']}, commit {results['machine']['commit']}, "
                f"{results['machine']['cpu']} ({results['machine']['cores']} cores), adapters {named or 'shipped only'}, "
                f"{args.threads} threads, metrics in percent.\n")
        args.out.with_suffix(".md").write_text(head + "".join(tables), encoding="utf-8")
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
