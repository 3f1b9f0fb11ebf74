"""Benchmark of the offline data-synthesis pipeline: throughput on 1 and 2 workers, per-stage cost,
filter drop rates and distribution tables (markdown, printed to stdout).

    .venv/bin/python benchmarks/bench_synthesis.py --n 5000 --workers 1 2

Throughput is reported against wall-clock time and against CPU time (user+sys of this process and
its workers); on a shared machine the CPU-time figure is the one that does not depend on what else
is running. Examples/s counts validated examples (kept after all filters).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_synthesis import filters as F  # noqa: E402
from data_synthesis.instances import instance_for  # noqa: E402
from data_synthesis.pipeline import GenConfig, generate  # noqa: E402
from data_synthesis.renderers import TEXT_KINDS, render  # noqa: E402
from data_synthesis.schemas import build_plan, emit_schema  # noqa: E402


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run(n: int, workers: int, seed: int, grounder: str, out: Path) -> dict[str, float]:
    cpu0, t0 = _cpu(), time.perf_counter()
    s = generate(GenConfig(n=n, seed=seed, workers=workers, grounder=grounder, progress=False), out)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    kept = sum(s.kept.values())
    return {"workers": workers, "grounder": F.grounder_name(grounder), "candidates": n, "kept": kept,
            "wall_s": wall, "cpu_s": cpu, "kept_per_s": kept / wall, "kept_per_cpu_s": kept / cpu}


def stages(n: int, seed: int, grounder: str) -> dict[str, float]:
    """Mean milliseconds per example for each stage, one process."""
    tot: Counter[str] = Counter()
    for i in range(n):
        rng = random.Random(f"bench:{seed}:{i}")
        t = time.process_time()
        plan, _, level = build_plan(rng)
        schema = emit_schema(plan, rng, level)
        canonical = F.canonical_json(schema)
        t1 = time.process_time()
        gold = instance_for(plan, rng)
        t2 = time.process_time()
        F.schema_errors(gold, schema, canonical)
        t3 = time.process_time()
        text = render(rng.choice(TEXT_KINDS), plan, gold, rng).text
        t4 = time.process_time()
        F._is_grounded(gold, text, schema, grounder)
        t5 = time.process_time()
        F.text_signature(text)
        t6 = time.process_time()
        for k, a, b in (("schema", t, t1), ("instance", t1, t2), ("validate", t2, t3), ("render", t3, t4),
                        ("ground", t4, t5), ("signature", t5, t6)):
            tot[k] += b - a
    return {k: v / n * 1000 for k, v in tot.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--grounders", nargs="+", default=["auto", "simple"])
    ap.add_argument("--stage-n", type=int, default=500)
    args = ap.parse_args()
    print(f"# data_synthesis benchmark (n={args.n}, seed={args.seed}, cpus={os.cpu_count()}, "
          f"loadavg={os.getloadavg()[0]:.2f})\n")
    rows, card = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for g in args.grounders:
            for w in args.workers:
                out = Path(tmp, f"{g}-{w}")
                rows.append(run(args.n, w, args.seed, g, out))
                if card is None:
                    card = json.loads((out / "card.json").read_text())
    print("## Throughput (validated examples per second)\n")
    print("| grounder | workers | candidates | kept | wall s | kept/s (wall) | CPU s | kept/s per CPU-second |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['grounder']} | {r['workers']} | {r['candidates']} | {r['kept']} | {r['wall_s']:.2f} | "
              f"{r['kept_per_s']:.0f} | {r['cpu_s']:.2f} | {r['kept_per_cpu_s']:.0f} |")
    print("\n## Cost per stage (ms of CPU per example, one process)\n")
    for g in args.grounders:
        st = stages(args.stage_n, args.seed, g)
        print(f"- grounder={F.grounder_name(g)}: " + ", ".join(f"{k} {v:.3f}" for k, v in st.items())
              + f"; total {sum(st.values()):.3f}")
    assert card is not None
    print("\n## Filter drop rates\n\n| filter | dropped | rate |\n|---|---|---|")
    for k, v in card["dropped"].items():
        print(f"| {k} | {v} | {card['drop_rate'][k]:.2%} |")
    print(f"\nkept {card['kept']} of {card['candidates']}; splits {card['examples']}; "
          f"distinct schemas {card['schemas']}")
    for facet in ("complexity", "text_kind", "domain"):
        c: Counter[str] = Counter()
        for split in card["counts"][facet].values():
            c.update(split)
        print(f"\n## Distribution by {facet}\n\n| {facet} | examples | share |\n|---|---|---|")
        total = sum(c.values())
        for k, v in sorted(c.items()):
            print(f"| {k} | {v} | {v / total:.1%} |")
    lens = card["lengths"]["train"]
    print(f"\ntrain text length: chars {lens['chars']}, words {lens['words']}")


if __name__ == "__main__":
    main()
