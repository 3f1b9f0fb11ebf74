"""Output writing and the dataset card (card.json, card.md, lengths.png).

The card holds only facts derived from the data and the config (no timings, no dates), so the whole
output folder is byte-identical for the same seed.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from statistics import mean
from typing import Any

from data_synthesis.filters import FILTER_NAMES
from data_synthesis.splits import SPLITS

PLOT_FILE = "lengths.png"


def dump_record(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


def write_outputs(out_dir: Path, records: dict[str, list[dict[str, Any]]], sig_lines: list[str],
                  n_candidates: int, dropped: dict[str, int], config: dict[str, Any]) -> dict[str, Any]:
    """Write the split files, the dedup signatures and the card; returns the card."""
    for split in SPLITS:
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for r in records.get(split, []):
                f.write(dump_record(r) + "\n")
    with open(out_dir / "signatures.jsonl", "w", encoding="utf-8") as f:
        for line in sig_lines:
            f.write(line + "\n")
    card = build_card(records, n_candidates, dropped, config)
    (out_dir / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out_dir / "card.md").write_text(card_markdown(card), encoding="utf-8")
    plot_lengths(records, out_dir / PLOT_FILE)
    return card


def _stats(xs: list[int]) -> dict[str, float]:
    if not xs:
        return {"n": 0}
    s = sorted(xs)
    return {"n": len(s), "min": s[0], "p50": s[len(s) // 2], "p95": s[min(len(s) - 1, int(len(s) * 0.95))],
            "max": s[-1], "mean": round(mean(s), 1)}


def build_card(records: dict[str, list[dict[str, Any]]], n_candidates: int, dropped: dict[str, int],
               config: dict[str, Any]) -> dict[str, Any]:
    """Counts per split x (domain, complexity, text kind, source), filter drops, length statistics."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for facet in ("domain", "complexity", "text_kind", "source"):
        counts[facet] = {}
        for split in SPLITS:
            c = Counter(str(r.get("meta", {}).get(facet, "unknown")) for r in records.get(split, []))
            counts[facet][split] = dict(sorted(c.items()))
    kept = sum(len(v) for v in records.values())
    drop = {name: int(dropped.get(name, 0)) for name in sorted(set(FILTER_NAMES) | set(dropped))}
    lengths = {split: {"chars": _stats([len(r["input_text"]) for r in records.get(split, [])]),
                       "words": _stats([len(r["input_text"].split()) for r in records.get(split, [])])}
               for split in SPLITS}
    schemas = {split: len({r.get("meta", {}).get("schema_id") for r in records.get(split, [])}) for split in SPLITS}
    reformatted = sum(1 for v in records.values() for r in v if r.get("meta", {}).get("reformatted"))
    return {
        "config": config,
        "examples": {split: len(records.get(split, [])) for split in SPLITS},
        "schemas": schemas,
        "candidates": n_candidates,
        "kept": kept,
        "dropped": drop,
        "drop_rate": {k: round(v / n_candidates, 5) if n_candidates else 0.0 for k, v in drop.items()},
        "with_reformatted_values": reformatted,
        "counts": counts,
        "lengths": lengths,
        "plot": PLOT_FILE,
    }


def _table(facet: dict[str, dict[str, int]], title: str) -> list[str]:
    keys = sorted({k for split in facet.values() for k in split})
    out = [f"### {title}", "", f"| {title} | " + " | ".join(SPLITS) + " | total |", "|---" * (len(SPLITS) + 2) + "|"]
    for k in keys:
        vals = [facet.get(s, {}).get(k, 0) for s in SPLITS]
        out.append(f"| {k} | " + " | ".join(str(v) for v in vals) + f" | {sum(vals)} |")
    return out + [""]


def card_markdown(card: dict[str, Any]) -> str:
    lines = ["# Dataset card: SLOT synthetic training pairs", "",
             "Each line: `{id, input_text, json_schema, gold, meta}`. Splits are by schema identity "
             "(no schema and no text in two splits).", "",
             "## Size", "", "| split | examples | distinct schemas |", "|---|---|---|"]
    for s in SPLITS:
        lines.append(f"| {s} | {card['examples'][s]} | {card['schemas'][s]} |")
    lines += ["", f"Candidates generated: {card['candidates']}; kept: {card['kept']}.", "",
              "## Filters", "", "| filter | dropped | rate |", "|---|---|---|"]
    for k, v in card["dropped"].items():
        lines.append(f"| {k} | {v} | {card['drop_rate'][k]:.2%} |")
    lines += ["", "## Distributions", ""]
    for facet, title in (("domain", "domain"), ("complexity", "complexity"), ("text_kind", "text kind"),
                         ("source", "source")):
        lines += _table(card["counts"][facet], title)
    lines += ["## Text lengths", "", "| split | chars p50 | chars p95 | chars max | words p50 | words mean |",
              "|---|---|---|---|---|---|"]
    for s in SPLITS:
        c, w = card["lengths"][s]["chars"], card["lengths"][s]["words"]
        if c.get("n"):
            lines.append(f"| {s} | {c['p50']} | {c['p95']} | {c['max']} | {w['p50']} | {w['mean']} |")
    lines += ["", f"![length histograms]({card['plot']})", "", "## Configuration", "", "```json",
              json.dumps(card["config"], indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def plot_lengths(records: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Histograms of text length in characters and words, one series per split (matplotlib, Agg)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the card stays complete without the picture
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, unit in zip(axes, ("chars", "words")):
        for split in SPLITS:
            xs = [len(r["input_text"]) if unit == "chars" else len(r["input_text"].split())
                  for r in records.get(split, [])]
            if xs:
                ax.hist(xs, bins=40, alpha=0.5, label=f"{split} (n={len(xs)})", density=True)
        ax.set_xlabel(f"input_text length ({unit})")
        ax.set_ylabel("density")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
