"""Calibration of per-field confidence (issue 25): is a value stated with confidence c right c of the time?

The splits of ``bench_faithfulness.py`` (E2E validation rows, the same rows value-swapped from the *eval* pool of
``data_synthesis.counterfactual``, synthetic held-out rows, and those swapped), each structured once by one
adapter (constrained, grounding policy keep). Per split and per way of making a leaf's confidence from its token
probabilities (``slot.confidence``: product or minimum, with or without the token that closes the value):

- ECE over 10 bins of leaf confidence against leaf correctness (equal to gold at its path), accuracy and mean
  confidence over the leaves that carry a confidence (those grounding reports: null and empty values state nothing);
- the share of wrong leaves caught with confidence < ``--threshold``, by grounding alone (ungrounded), and by
  either; and the share of right leaves those flags raise (false alarms);

and a reliability plot per split for the served definition (product, closing token counted). Results with date,
commit and machine go to ``--out`` (a .md beside it, the plot to ``--plot``).

    SLOT_THREADS=1 .venv/bin/python benchmarks/bench_calibration.py --limit 30 --threads 1 \
        --out benchmarks/results/calibration_2026-12-06.json --plot benchmarks/results/calibration_2026-12-06.png
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_faithfulness import build_splits, chosen_splits, machine  # noqa: E402
from slot.confidence import leaf_confidences  # noqa: E402
from slot.eval.calibration import Calibration, calibration, plot_reliability  # noqa: E402
from slot.eval.metrics import json_equal  # noqa: E402
from slot.leaves import leaf_map  # noqa: E402

VARIANTS = {"product+closing": ("product", True), "product": ("product", False),
            "min+closing": ("min", True), "min": ("min", False)}
"""Ways to make a leaf's confidence: name -> (aggregate, count the closing token). The first is the served one."""
SERVED = "product+closing"


def decode(structurer: Any, rows: list[dict[str, Any]], adapter: str, label: str) -> list[dict[str, Any]]:
    """Structure each row once: its output, token probabilities and spans, and grounding statuses."""
    records = []
    for n, row in enumerate(rows, 1):
        started = time.perf_counter()
        try:
            result = structurer.structure(row["input_text"], row["json_schema"], adapter=adapter)
            fields = (result.grounding or {}).get("fields", [])
            records.append({"id": str(row["id"]), "output": result.output, "json": result.json,
                            "token_probs": result.extra.get("token_probs", []),
                            "token_spans": result.extra.get("token_spans", []),
                            "status": {f["path"]: f["status"] for f in fields},
                            "ms": 1000 * (time.perf_counter() - started)})
        except Exception as exc:  # noqa: BLE001 - one failing row is reported and skipped
            print(f"{label} {row['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"\r{label} {n}/{len(rows)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return records


def outcomes(rows: list[dict[str, Any]], records: list[dict[str, Any]], aggregate: str,
             closing: bool) -> list[tuple[float, bool, str]]:
    """(confidence, correct, grounding status) of every reported leaf of every record."""
    gold = {str(row["id"]): row["gold"] for row in rows}
    found: list[tuple[float, bool, str]] = []
    for record in records:
        if record["json"] is None:
            continue
        spans = [tuple(span) for span in record["token_spans"]]
        confidence = leaf_confidences(record["output"], spans, record["token_probs"],
                                      aggregate=aggregate, closing=closing)  # type: ignore[arg-type]
        predicted, expected = leaf_map(record["json"]), leaf_map(gold[record["id"]])
        for path, status in record["status"].items():
            c = confidence.get(path)
            if c is not None and path in predicted:
                found.append((c, path in expected and json_equal(predicted[path], expected[path]), status))
    return found


def summary(found: list[tuple[float, bool, str]], threshold: float) -> dict[str, Any]:
    """Calibration and how well low confidence, ungrounded status and both catch wrong leaves."""
    cal = calibration([(c, ok) for c, ok, _ in found])
    wrong = [(c, status) for c, ok, status in found if not ok]
    right = [(c, status) for c, ok, status in found if ok]

    def share(items: list[tuple[float, str]], flag: Any) -> float | None:
        return sum(bool(flag(c, s)) for c, s in items) / len(items) if items else None

    low = lambda c, s: c < threshold  # noqa: E731
    ungrounded = lambda c, s: s == "ungrounded"  # noqa: E731
    either = lambda c, s: c < threshold or s == "ungrounded"  # noqa: E731
    return {"calibration": cal.to_dict(), "wrong": len(wrong), "right": len(right),
            "caught": {"low_confidence": share(wrong, low), "ungrounded": share(wrong, ungrounded),
                       "either": share(wrong, either)},
            "false_alarms": {"low_confidence": share(right, low), "ungrounded": share(right, ungrounded),
                             "either": share(right, either)}}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def tables(results: dict[str, Any], threshold: float) -> str:
    """The markdown of the results: the served definition per split, then ECE per definition."""
    splits = results["splits"]
    out = [f"\n### Served confidence ({SERVED}) per split\n",
           f"| split | rows | leaves | wrong | accuracy | mean conf. | ECE | caught: conf < {threshold} | ungrounded "
           f"| either | false alarms: conf < {threshold} | ungrounded | either |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for split, data in splits.items():
        s = data["variants"][SERVED]
        c = s["calibration"]
        ece = "n/a" if c["ece"] is None else f"{c['ece']:.3f}"
        out.append(f"| {split} | {data['rows']} | {c['leaves']} | {s['wrong']} | {_pct(c['accuracy'])} | "
                   f"{_pct(c['mean_confidence'])} | {ece} | {_pct(s['caught']['low_confidence'])} | "
                   f"{_pct(s['caught']['ungrounded'])} | {_pct(s['caught']['either'])} | "
                   f"{_pct(s['false_alarms']['low_confidence'])} | {_pct(s['false_alarms']['ungrounded'])} | "
                   f"{_pct(s['false_alarms']['either'])} |")
    out += ["\n### ECE per way of making a leaf's confidence\n",
            "| split | " + " | ".join(VARIANTS) + " |", "|---|" + "---:|" * len(VARIANTS)]
    for split, data in list(splits.items()) + [("all splits", results["all"])]:
        cells = []
        for name in VARIANTS:
            ece = data["variants"][name]["calibration"]["ece"]
            cells.append("n/a" if ece is None else f"{ece:.3f}")
        out.append(f"| {split} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--e2e-file", type=Path, default=ROOT.parent / "shared/data/e2e/e2e_dev_slot.jsonl")
    parser.add_argument("--limit", type=int, default=30, help="rows per split (spread evenly; 0: all)")
    parser.add_argument("--synthetic-limit", type=int, help="rows per synthetic split (default: --limit)")
    parser.add_argument("--splits", default="", help="comma-separated subset of the four splits")
    parser.add_argument("--adapter", default="default", help="adapter to measure: 'default' or 'base'")
    parser.add_argument("--threshold", type=float, default=0.5, help="confidence below which a leaf is flagged")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--out", type=Path, help="results JSON (a .md table is written beside it)")
    parser.add_argument("--plot", type=Path, help="reliability plot PNG (one curve per split)")
    args = parser.parse_args(argv)

    from slot.config import Settings
    from slot.structurer import Structurer

    synthetic_limit = args.limit if args.synthetic_limit is None else args.synthetic_limit
    splits = build_splits(args.e2e_file, args.limit, synthetic_limit)
    splits = chosen_splits(splits, args.splits, parser)
    structurer = Structurer.from_settings(Settings.from_env(threads=args.threads, max_tokens=args.max_tokens,
                                                             parse_first=False), progress=False)
    results: dict[str, Any] = {"machine": machine(), "adapter": args.adapter, "limit": args.limit,
                               "synthetic_limit": synthetic_limit, "threshold": args.threshold, "threads": args.threads,
                               "splits": {}}
    pooled: dict[str, list[tuple[float, bool, str]]] = {name: [] for name in VARIANTS}
    curves: dict[str, Calibration] = {}
    for split, rows in splits.items():
        records = decode(structurer, rows, args.adapter, split)
        variants = {}
        for name, (aggregate, closing) in VARIANTS.items():
            found = outcomes(rows, records, aggregate, closing)
            pooled[name] += found
            variants[name] = summary(found, args.threshold)
        curves[split] = calibration([(c, ok) for c, ok, _ in outcomes(rows, records, *VARIANTS[SERVED])])
        results["splits"][split] = {"rows": len(rows), "variants": variants,
                                    "latency_p50_ms": statistics.median(r["ms"] for r in records) if records else None,
                                    "outputs": {r["id"]: r["output"] for r in records}}
    results["all"] = {"variants": {name: summary(found, args.threshold) for name, found in pooled.items()}}
    text = tables(results, args.threshold)
    print(text)
    if args.plot:
        if plot_reliability(curves, args.plot, title=f"Per-field confidence ({SERVED}), adapter {args.adapter}"):
            print(f"wrote {args.plot}", file=sys.stderr)
        else:
            print("matplotlib is not installed: no plot", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        m = results["machine"]
        head = (f"# Calibration of per-field confidence\n\n{m['date']}, commit {m['commit']}, {m['cpu']} "
                f"({m['cores']} cores), {args.threads} thread(s), adapter {args.adapter}, up to {args.limit} rows per "
                f"E2E split and {synthetic_limit} per synthetic split; percentages except ECE.\n")
        args.out.with_suffix(".md").write_text(head + text, encoding="utf-8")
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
