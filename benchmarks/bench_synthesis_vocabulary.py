"""Value vocabulary of the synthesis (issue 25): distinct values per leaf kind, the share of values repeated
across rows, overlap with the counterfactual eval pool, and generation time, for each --open-share.

    .venv/bin/python benchmarks/bench_synthesis_vocabulary.py --n 2000 --seed 41 --shares 0 0.5 \\
        --out benchmarks/results/synthesis_vocabulary_2026-12-07.md

Each share runs the real CLI (`python -m data_synthesis generate ... --open-share S`) in a subprocess, so the
time includes building the Faker pools, as a user's run does. A gold leaf's kind is the head of its
generator (`person`, `pick`, `sentence`, ...), recovered from the plan of its synthetic schema
(`pipeline.synthetic_schema`). "Repeated" is the share of a kind's leaf values that also occur in another
row: 1.0 means every value was seen elsewhere, which is what a model can memorise instead of reading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_synthesis.held_out import eval_pool_values, holds_eval_value  # noqa: E402
from data_synthesis.pipeline import synthetic_schema  # noqa: E402
from data_synthesis.plan import Node  # noqa: E402

SPLITS = ("train", "validation", "test")
STRING_KINDS = ("person", "first", "last", "company", "city", "country", "street", "zip", "phone", "job", "color",
                "iban", "state", "email", "url", "pick", "enum", "sentence", "word", "code")


def leaves(node: Node, value: Any) -> Iterator[tuple[str, Any]]:
    """(generator head, value) of every gold leaf, walking the plan beside the gold."""
    if value is None:
        return
    if node.kind == "leaf":
        yield node.gen.partition(":")[0], value
    elif node.kind == "array" and node.item is not None and isinstance(value, list):
        for item in value:
            yield from leaves(node.item, item)
    elif node.kind == "object" and isinstance(value, dict):
        for child in node.children:
            if child.key in value:
                yield from leaves(child, value[child.key])


def generate(n: int, seed: int, share: float, out: Path) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "data_synthesis", "generate", "--n", str(n), "--seed", str(seed), "--out", str(out),
           "--open-share", str(share), "--no-progress"]
    env = dict(os.environ, PYTHONHASHSEED="0")
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t0, done.stderr.strip().splitlines()[-1]


def measure(out: Path, seed: int) -> dict[str, Any]:
    """Per kind: leaf values, distinct values, share repeated across rows; eval-pool overlap."""
    card = json.loads((out / "card.json").read_text(encoding="utf-8"))
    per_schema = int(card["config"].get("texts_per_schema", 2))
    rows_of: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    count: dict[str, int] = defaultdict(int)
    evals = eval_pool_values()
    overlap_exact = overlap_substring = rows = 0
    hits: list[str] = []
    plans: dict[int, Node] = {}
    for split in SPLITS:
        for line in (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            rows += 1
            index = int(record["meta"]["index"])
            schema_index = index // per_schema
            if schema_index not in plans:
                plans[schema_index] = synthetic_schema(seed, schema_index)[0]
            for kind, value in leaves(plans[schema_index], record["gold"]):
                key = json.dumps(value, ensure_ascii=False)
                rows_of[kind][key].add(index)
                count[kind] += 1
                if isinstance(value, str):
                    overlap_exact += value.casefold() in evals
                    if holds_eval_value(value):
                        overlap_substring += 1
                        hits.append(f"{record['id']} {value!r}")
    kinds = {}
    for kind, values in rows_of.items():
        repeated = sum(len(r) for r in values.values() if len(r) > 1)
        total = sum(len(r) for r in values.values())
        kinds[kind] = {"values": count[kind], "distinct": len(values), "repeated": repeated / total if total else 0.0}
    strings = [k for k in kinds if k in STRING_KINDS]
    s_total = sum(sum(len(r) for r in rows_of[k].values()) for k in strings)
    s_repeated = sum(sum(len(r) for r in rows_of[k].values() if len(r) > 1) for k in strings)
    return {"rows": rows, "kinds": kinds, "string_values": sum(count[k] for k in strings),
            "string_distinct": sum(kinds[k]["distinct"] for k in strings),
            "string_repeated": s_repeated / s_total if s_total else 0.0,
            "eval_overlap_exact": overlap_exact, "eval_overlap_substring": overlap_substring, "eval_hits": hits}


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, load average {load}"


def report(args: argparse.Namespace, runs: dict[float, dict[str, Any]], commit: str) -> str:
    shares = list(runs)
    lines = [
        "# Synthesis value vocabulary", "",
        f"{time.strftime('%Y-%m-%d')}, commit {commit} (+ uncommitted changes of this work), {machine()}.", "",
        "Command (each share runs `python -m data_synthesis generate --n N --seed S --out DIR --open-share X "
        "--no-progress` in a subprocess):", "",
        f"    .venv/bin/python benchmarks/bench_synthesis_vocabulary.py --n {args.n} --seed {args.seed} "
        f"--shares {' '.join(f'{s:g}' for s in args.shares)} --out {args.out}", "",
        "Open share 0 is the narrow vocabulary of earlier runs (single-locale pools of 400, fixed word / sentence / "
        "pick lists) and reproduces their output byte for byte. A leaf's kind is its generator's head; "
        "*repeated* is the share of the kind's leaf values that also occur in another row.", "",
        "## Summary", "",
        "| open share | rows kept | seconds (wall) | string leaf values | distinct | repeated across rows "
        "| eval-pool values (exact / contained) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for share in shares:
        r = runs[share]
        lines.append(f"| {share} | {r['rows']} | {r['seconds']:.1f} | {r['string_values']} | {r['string_distinct']} "
                     f"| {r['string_repeated']:.1%} | {r['eval_overlap_exact']} / {r['eval_overlap_substring']} |")
    lines += ["", "CLI summary lines:", ""] + [f"- share {s}: `{runs[s]['line']}`" for s in shares]
    lines += ["", "Gold values holding an eval-pool value (`held_out.holds_eval_value`, casefolded substring):", ""]
    lines += [f"- share {s}: " + (", ".join(f"`{h}`" for h in runs[s]["eval_hits"]) or "none") for s in shares]
    lines += ["", "## Per leaf kind", "",
              "| kind | " + " | ".join(f"values / distinct / repeated (share {s})" for s in shares) + " |",
              "|---|" + "---:|" * len(shares)]
    kinds = sorted({k for s in shares for k in runs[s]["kinds"]},
                   key=lambda k: (k not in STRING_KINDS, -runs[shares[0]]["kinds"].get(k, {}).get("values", 0), k))
    for kind in kinds:
        cells = []
        for s in shares:
            k = runs[s]["kinds"].get(kind)
            cells.append(f"{k['values']} / {k['distinct']} / {k['repeated']:.1%}" if k else "-")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.5])
    ap.add_argument("--out", default="", help="markdown file to write (default: print)")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    runs: dict[float, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for share in args.shares:
            out = Path(tmp, f"share{share}")
            seconds, line = generate(args.n, args.seed, share, out)
            runs[share] = {**measure(out, args.seed), "seconds": seconds, "line": line}
            print(f"share {share}: {seconds:.1f}s, {runs[share]['string_distinct']} distinct string values",
                  file=sys.stderr)
    text = report(args, runs, commit)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
