"""Merging shard outputs (and converted public data) into one dataset, and the E2E converter.

Merge re-runs duplicate removal over the signatures of *all* candidates of all inputs in global
order, which reproduces exactly what one unsharded run would have kept (see filters.Deduper).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from data_synthesis import filters as F
from data_synthesis.card import write_outputs
from data_synthesis.external import ConfigError
from data_synthesis.pipeline import SIGNATURES_FILE, order_key, sig_line
from data_synthesis.plan import iter_leaves
from data_synthesis.splits import SPLITS, schema_id, split_for

_DEDUP = ("exact_duplicate", "near_duplicate")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ConfigError(f"bad JSON in {path} line {i}: {e}") from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    return out


def merge(out: str | Path, inputs: list[str | Path], near_dup_threshold: float | None = None) -> dict[str, Any]:
    """Merge output folders of `generate` / `convert-e2e` into `out`; returns the card."""
    if not inputs:
        raise ConfigError("merge needs at least one input folder")
    records: dict[tuple[str, int, int], tuple[str, dict[str, Any]]] = {}
    sigs: dict[tuple[str, int, int], dict[str, Any]] = {}
    dropped: Counter[str] = Counter()
    candidates = 0
    configs: list[dict[str, Any]] = []
    for d in map(Path, inputs):
        if not d.is_dir():
            raise ConfigError(f"merge input is not a folder: {d}")
        missing = [s for s in SPLITS if not (d / f"{s}.jsonl").is_file()]
        if missing:
            raise ConfigError(f"merge input {d} lacks {missing[0]}.jsonl (not an output folder?)")
        card = json.loads((d / "card.json").read_text(encoding="utf-8")) if (d / "card.json").is_file() else {}
        configs.append(card.get("config", {}))
        for k, v in card.get("dropped", {}).items():
            if k not in _DEDUP:
                dropped[k] += int(v)
        n_records = 0
        for split in SPLITS:
            for r in _read_jsonl(d / f"{split}.jsonl"):
                key = order_key(r.get("meta", {}))
                if key in records:
                    raise ConfigError(f"example {r.get('id')} appears twice in the merge inputs (same shard twice?)")
                records[key] = (split, r)
                n_records += 1
        if (d / SIGNATURES_FILE).is_file():
            for s in _read_jsonl(d / SIGNATURES_FILE):
                sigs[tuple(s["key"])] = s  # type: ignore[index]
        candidates += int(card.get("candidates", n_records))
    for key, (_, r) in records.items():
        if key not in sigs:  # inputs without signatures: their kept records are the candidates
            exact, mins = F.text_signature(r["input_text"])
            sigs[key] = {"key": list(key), "exact": exact, "minhash": mins}
    threshold = near_dup_threshold
    if threshold is None:
        threshold = next((float(c["near_dup_threshold"]) for c in configs if "near_dup_threshold" in c), 0.8)
    dedup = F.Deduper(threshold=threshold)
    verdicts: dict[tuple[str, int, int], str] = {}
    for key in sorted(sigs):
        v = dedup.check_and_add(sigs[key]["exact"], sigs[key]["minhash"])
        if v:
            verdicts[key] = v
            dropped[v] += 1
    by_split: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for key in sorted(records):
        if key not in verdicts:
            split, r = records[key]
            by_split[split].append(r)
    config = dict(configs[0]) if len(configs) == 1 else {"merged": [_short(c) for c in configs]}
    if len(configs) > 1 and all(_short(c) == _short(configs[0]) for c in configs):
        config = {k: v for k, v in configs[0].items() if k != "shard_index"}
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    sig_lines = [sig_line(k, sigs[k]) for k in sorted(sigs)]
    return write_outputs(out_dir, by_split, sig_lines, candidates, dict(dropped), config)


def _short(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if k != "shard_index"}


def convert_e2e(input_path: str | Path, out: str | Path, drop_ungrounded: bool = False,
                grounder: str = "auto") -> dict[str, Any]:
    """Recast the shared E2E file (id, input_text, json_schema, gold, mr) into the training format."""
    p = Path(input_path)
    if not p.is_file():
        raise ConfigError(f"input file does not exist: {p}")
    rows = _read_jsonl(p)
    dropped: Counter[str] = Counter()
    dedup = F.Deduper()
    by_split: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    sig_lines: list[str] = []
    for i, row in enumerate(rows):
        if not all(k in row for k in ("input_text", "json_schema", "gold")):
            raise ConfigError(f"{p} line {i + 1} lacks input_text/json_schema/gold")
        text, schema, gold = row["input_text"], row["json_schema"], row["gold"]
        if F.schema_errors(gold, schema):
            dropped["schema_invalid"] += 1
            continue
        ungrounded = F._is_grounded(gold, text, schema, grounder)
        if ungrounded and drop_ungrounded:
            dropped["ungrounded"] += 1
            continue
        canonical = F.canonical_json(schema)
        meta = {"source": "e2e", "domain": "restaurant", "complexity": "flat_basic", "text_kind": "prose_human",
                "seed": 0, "index": i, "schema_id": schema_id(canonical),
                "n_leaves": sum(1 for _ in iter_leaves(gold)), "ungrounded_paths": ungrounded, "mr": row.get("mr", "")}
        record = {"id": str(row.get("id", f"e2e_{i}")), "input_text": text, "json_schema": schema, "gold": gold,
                  "meta": meta}
        exact, mins = F.text_signature(text)
        sig_lines.append(sig_line(order_key(meta), {"exact": exact, "minhash": mins}))
        verdict = dedup.check_and_add(exact, mins)
        if verdict:
            dropped[verdict] += 1
            continue
        by_split[split_for(canonical)].append(record)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {"source": "e2e", "input": p.name, "drop_ungrounded": drop_ungrounded,
              "grounder_used": F.grounder_name(grounder), "near_dup_threshold": 0.8}
    return write_outputs(out_dir, by_split, sig_lines, len(rows), dict(dropped), config)
