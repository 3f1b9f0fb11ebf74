"""Benchmark grounding: precision/recall of the ``ungrounded`` flag and latency per request.

Test sets: rows in the shared line format (``{id, input_text, json_schema, gold, ...}``) from
the E2E dev file, from the data-synthesis pipeline when it is available (``--synth``), and a built-in
generator of few-KB texts with numbers, dates, date-times and booleans in varied formats.
In every row the gold JSON stands in for a model's output; then, with a fixed seed,
- a *planted hallucination* replaces one leaf with a plausible value that is not in the text
  (another row's value for the same field, a shifted number or date, a flipped boolean): label 1;
- a *planted reformatting* rewrites one other leaf in a form the text does not use verbatim
  (case, punctuation, accents, "1,200" -> 1200, dates to ISO, "1 out of 5" -> "1/5"): label 0.
The flag under test is ``status == "ungrounded"``. Note: E2E references sometimes drop or
paraphrase an attribute, so a few of its *unplanted* gold values really are unsupported; flags on
them count as false positives here (precision on E2E is a lower bound).

    python -m data_synthesis generate --n 2000 --seed 11 --out /tmp/synth_bench --grounder simple
    python benchmarks/bench_grounding.py --e2e-rows 2000 --synthetic-rows 500 --synth /tmp/synth_bench/train.jsonl

(``--grounder simple`` keeps the synthesis filter independent of the grounder under test.)
Latency is reported as wall time and as the calling thread's CPU time (robust on a busy machine).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slot.grounding import ground  # noqa: E402
from slot.grounding.text_index import tokenize  # noqa: E402
from slot.leaves import iter_leaves, set_at, split_pointer  # noqa: E402

E2E = Path(__file__).resolve().parents[2] / "shared" / "data" / "e2e" / "e2e_dev_slot.jsonl"
Row = dict[str, Any]


def _field(path: str) -> str:
    return "/".join("*" if t.isdigit() else t for t in split_pointer(path))


def _in_text(value: Any, text: str) -> bool:
    """Independent, deliberately generous check that a value is (nearly) written in the text."""
    toks = tokenize(str(value))
    if not toks:
        return True
    joined = " " + " ".join(tokenize(text)) + " "
    if " " + " ".join(toks) + " " in joined:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = {re.sub(r"[,\s]", "", m) for m in re.findall(r"\d[\d,\s]*(?:\.\d+)?", text)}
        return str(value) in digits or f"{value:g}" in digits
    return False


# ---- planting ------------------------------------------------------------------------------
def _hallucinate(value: Any, text: str, pool: list[Any], rng: random.Random) -> Any | None:
    if isinstance(value, bool):
        return not value
    if isinstance(value, str) and value.lower() in {"yes", "no"}:
        return "no" if value.lower() == "yes" else "yes"
    if isinstance(value, (int, float)):
        for _ in range(20):
            factor = rng.choice([0.5, 0.8, 0.9, 1.1, 1.25, 1.5, 2, 3])
            cand = type(value)(round(value * factor, 2)) if value else rng.randint(2, 99)
            if cand != value and not _in_text(cand, text):
                return cand
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", value):
        d = date.fromisoformat(value[:10]) + timedelta(days=rng.choice([-40, -9, -3, 2, 5, 11, 33]))
        return d.isoformat() + value[10:]
    cands = [p for p in pool if p != value and not _in_text(p, text)]
    return rng.choice(cands) if cands else None


def _reformat(value: Any, text: str, rng: random.Random) -> Any | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if m := re.fullmatch(r"(\d+) out of (\d+)", value):
            return f"{m[1]}/{m[2]}"
        if (n := re.fullmatch(r"\d{1,3}(,\d{3})+", value)):
            return int(n[0].replace(",", ""))
        if value.lower() in {"yes", "no"}:
            return value.upper()
        stripped = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
        options = [value.upper(), value.title(), value.replace(" ", "-"), f"  {value}  ", stripped]
        options = [o for o in options if o != value]
        return rng.choice(options) if options else None
    return None


def plant(rows: list[Row], *, seed: int, p_hall: float = 0.35, p_reformat: float = 0.35
          ) -> list[tuple[Row, Any, dict[str, int], set[str]]]:
    """(row, prediction, {path: label}, reformatted paths) with planted hallucinations/reformattings."""
    rng = random.Random(seed)
    pools: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        for path, value in iter_leaves(row["gold"]):
            if value is not None and value not in pools[_field(path)]:
                pools[_field(path)].append(value)
    out = []
    for row in rows:
        pred = copy.deepcopy(row["gold"])
        leaves = [(p, v) for p, v in iter_leaves(pred) if v not in (None, "", [], {})]
        labels = {p: 0 for p, _ in leaves}
        reformatted: set[str] = set(row.get("meta", {}).get("reformatted", []) or [])
        rng.shuffle(leaves)
        if leaves and rng.random() < p_hall:
            path, value = leaves.pop()
            new = _hallucinate(value, row["input_text"], pools[_field(path)], rng)
            if new is not None:
                set_at(pred, path, new)
                labels[path] = 1
        if leaves and rng.random() < p_reformat:
            path, value = leaves.pop()
            new = _reformat(value, row["input_text"], rng)
            if new is not None:
                set_at(pred, path, new)
                reformatted.add(path)
        out.append((row, pred, labels, reformatted))
    return out


# ---- built-in few-KB synthetic rows --------------------------------------------------------
_CITIES = ["Lisbon", "Oslo", "Kraków", "Zürich", "São Paulo", "Montréal", "Reykjavík", "Nagoya"]
_PRODUCTS = ["standing desk", "espresso grinder", "trail bike", "drone kit", "label printer"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def _fmt_date(d: date, rng: random.Random) -> str:
    m = _MONTHS[d.month - 1]
    return rng.choice([d.isoformat(), f"{m} {d.day}, {d.year}", f"{d.day} {m} {d.year}",
                       f"{m[:3]} {d.day}th {d.year}", f"{d.day:02d}/{d.month:02d}/{d.year}"])


def _fmt_int(n: int, rng: random.Random) -> str:
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    if n < 10 and rng.random() < 0.5:
        return words[n]
    if n >= 1000 and n % 100 == 0 and rng.random() < 0.3:
        return f"{n / 1000:g}k"
    return rng.choice([f"{n:,}", str(n), f"{n:,}".replace(",", " ")])


def synthetic_rows(n: int, filler: list[str], *, seed: int, target_chars: int = 3000) -> list[Row]:
    """Rows whose text is a few KB: one record described amid unrelated filler sentences."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        d = date(2020, 1, 1) + timedelta(days=rng.randint(0, 2000))
        hour, minute = rng.randint(7, 20), rng.choice([0, 15, 30, 45])
        gold = {
            "product": rng.choice(_PRODUCTS), "city": rng.choice(_CITIES),
            "units": rng.choice([rng.randint(2, 9), rng.randint(10, 99) * 100]),
            "price": round(rng.uniform(5, 500), rng.choice([0, 2])) or 9.5,
            "order_date": d.isoformat(),
            "delivery": f"{(d + timedelta(days=3)).isoformat()}T{hour:02d}:{minute:02d}:00",
            "gift_wrapped": rng.random() < 0.5,
            "items": [{"sku": f"SKU-{rng.randint(1000, 9999)}", "qty": rng.randint(1, 9)}
                      for _ in range(rng.randint(1, 3))],
        }
        price = gold["price"]
        price_txt = rng.choice([f"${price:,.2f}", f"{price:g} dollars", f"USD {price:,.2f}"])
        hh = f"{hour % 12 or 12}:{minute:02d} {'pm' if hour >= 12 else 'am'}" if rng.random() < 0.5 \
            else f"{hour:02d}:{minute:02d}"
        gift = rng.choice(["Gift wrapped: yes.", "It was gift-wrapped."]) if gold["gift_wrapped"] \
            else rng.choice(["Gift wrapped: no.", "It was not gift-wrapped."])
        lines = [
            f"Order placed on {_fmt_date(d, rng)} from our {gold['city']} store.",
            f"The customer bought {_fmt_int(gold['units'], rng)} units of the {gold['product']} "
            f"at {price_txt} each.",
            f"Delivery is scheduled for {_fmt_date(d + timedelta(days=3), rng)} at {hh}.",
            gift,
        ] + [f"Line item {it['sku']}: quantity {it['qty']}." for it in gold["items"]]
        body: list[str] = []
        while sum(map(len, body)) < target_chars:
            body.append(rng.choice(filler))
        for line in lines:
            body.insert(rng.randint(0, len(body)), line)
        rows.append({"id": f"synthetic_{i}", "input_text": " ".join(body), "json_schema": None,
                     "gold": gold})
    return rows


# ---- scoring -------------------------------------------------------------------------------
def evaluate(planted: list[tuple[Row, Any, dict[str, int], set[str]]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: list[float] = []
    cpu: list[float] = []
    misses: list[str] = []
    false_flags: list[str] = []
    for row, pred, labels, reformatted in planted:
        t0, c0 = time.perf_counter(), time.thread_time()
        g = ground(pred, row["input_text"], row.get("json_schema"))
        cpu.append((time.thread_time() - c0) * 1000)
        latencies.append((time.perf_counter() - t0) * 1000)
        for f in g.fields:
            label = labels.get(f.path, 0)
            flagged = f.status == "ungrounded"
            counts[("tp" if flagged else "fn") if label else ("fp" if flagged else "tn")] += 1
            kind = "hallucinated" if label else "reformatted" if f.path in reformatted else "gold"
            by_kind[kind][f.status] += 1
            if label and not flagged and len(misses) < 8:
                misses.append(f"{f.path}={f.value!r} [{f.status}] in {row['input_text'][:160]!r}")
            if flagged and not label and len(false_flags) < 8:
                false_flags.append(f"{f.path}={f.value!r} in {row['input_text'][:160]!r}")
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    latencies.sort()
    cpu.sort()
    return {
        "rows": len(planted), "leaves": sum(counts.values()), "tp": tp, "fp": fp, "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
        "status_by_kind": {k: dict(v) for k, v in by_kind.items()},
        "chars_mean": statistics.mean(len(r["input_text"]) for r, *_ in planted),
        "latency_ms_p50": latencies[len(latencies) // 2],
        "latency_ms_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "cpu_ms_p50": cpu[len(cpu) // 2],
        "cpu_ms_p99": cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))],
        "examples_missed": misses, "examples_false_flags": false_flags,
    }


def _load(path: Path, limit: int, rng: random.Random) -> list[Row]:
    from shared_data import require

    rows = [json.loads(line) for line in require(path, "rows, --e2e").open(encoding="utf-8") if line.strip()]
    rng.shuffle(rows)
    return rows[:limit]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--e2e", type=Path, default=E2E)
    ap.add_argument("--e2e-rows", type=int, default=2000)
    ap.add_argument("--synth", type=Path, action="append", default=[],
                    help="JSONL from `python -m data_synthesis generate` (repeatable)")
    ap.add_argument("--synth-rows", type=int, default=1000)
    ap.add_argument("--synthetic-rows", type=int, default=500, help="built-in few-KB rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--examples", action="store_true", help="print missed / false-flag examples")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    e2e_rows = _load(args.e2e, args.e2e_rows, rng)
    sets: dict[str, list[Row]] = {"e2e": e2e_rows}
    for path in args.synth:
        sets[f"synth:{path.parent.name}/{path.name}"] = _load(path, args.synth_rows, rng)
    filler = [s for r in e2e_rows for s in re.split(r"(?<=\.)\s+", r["input_text"]) if len(s) > 30]
    sets["synthetic-fewKB"] = synthetic_rows(args.synthetic_rows, filler, seed=args.seed)
    results = {name: evaluate(plant(rows, seed=args.seed)) for name, rows in sets.items()}
    print("| test set | rows | leaves | mean chars | planted | precision | recall | wall p50 / p99 ms "
          "| CPU p50 / p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['rows']} | {r['leaves']} | {r['chars_mean']:.0f} | {r['tp'] + r['fn']} | "
              f"{r['precision']:.3f} | {r['recall']:.3f} | {r['latency_ms_p50']:.2f} / "
              f"{r['latency_ms_p99']:.2f} | {r['cpu_ms_p50']:.2f} / {r['cpu_ms_p99']:.2f} |")
    for name, r in results.items():
        print(f"\n{name}: status by kind {r['status_by_kind']}")
        if args.examples:
            print("  missed:", *r["examples_missed"], sep="\n    ")
            print("  false flags:", *r["examples_false_flags"], sep="\n    ")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
