"""Run systems over rows and score their outputs on the same rows.

Rows are the shared line format ``{id, input_text, json_schema, gold, [meta]}``. A system's
predictions map row id -> raw generated text; a predictions file is JSONL ``{"id", "output"}`` (the
batch output of ``slot structure``; a line with only ``"json"`` is scored as that JSON's text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from slot.eval.follow import follow_rate, has_swaps
from slot.eval.metrics import EmbeddingSimilarity, PairSimilarity, RowScore, score_row, value_text
from slot.eval.report import EvalReport, summarise
from slot.leaves import iter_leaves

__all__ = ["Predictor", "source_of", "load_rows", "load_predictions", "run_predictors", "evaluate"]

Predictor = Callable[[str, dict[str, Any]], str]
"""(input_text, json_schema) -> raw generated text."""


def source_of(row: Mapping[str, Any]) -> str:
    """The data source of a row: ``meta.source``, else the id's prefix before the first ``_``."""
    meta = row.get("meta")
    if isinstance(meta, dict) and meta.get("source"):
        return str(meta["source"])
    rid = str(row.get("id", ""))
    return rid.split("_", 1)[0] if "_" in rid else "unknown"


def load_rows(path: str | Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of a JSONL data file (the first ``limit`` when given)."""
    rows: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = {"id", "input_text", "gold"} - row.keys()
            if missing:
                raise ValueError(f"{path}:{n}: row lacks {sorted(missing)}")
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    return rows


def load_predictions(path: str | Path) -> dict[str, str]:
    """Row id -> raw output text from a predictions JSONL file."""
    out: dict[str, str] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if "id" not in item:
                raise ValueError(f"{path}:{n}: prediction lacks 'id'")
            if isinstance(item.get("output"), str):
                out[str(item["id"])] = item["output"]
            elif "json" in item:
                out[str(item["id"])] = json.dumps(item["json"], ensure_ascii=False)
            else:
                raise ValueError(f"{path}:{n}: prediction has neither 'output' nor 'json'")
    return out


def run_predictors(rows: list[dict[str, Any]], predictors: Mapping[str, Predictor], *,
                   progress: bool = True) -> dict[str, dict[str, str]]:
    """Raw outputs of every predictor on every row; a predictor error scores as empty output."""
    from tqdm.auto import tqdm

    outputs: dict[str, dict[str, str]] = {name: {} for name in predictors}
    total = len(rows) * len(predictors)
    with tqdm(total=total, desc="predict", unit="row", disable=not progress) as bar:
        for name, predict in predictors.items():
            bar.set_postfix_str(name)
            for row in rows:
                try:
                    outputs[name][str(row["id"])] = predict(row["input_text"], row.get("json_schema") or {})
                except Exception as exc:  # noqa: BLE001 - one failing row must not end the run
                    outputs[name][str(row["id"])] = ""
                    bar.write(f"{name} {row['id']}: {type(exc).__name__}: {exc}")
                bar.update(1)
    return outputs


def _leaf_strings(raw: str) -> Iterable[str]:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, TypeError, RecursionError):
        return []
    return [value_text(v) for _, v in iter_leaves(value)]


def evaluate(rows: list[dict[str, Any]], predictions: Mapping[str, Mapping[str, str]], *,
             similarity: PairSimilarity | None = None, ground_values: bool = True,
             progress: bool = False) -> EvalReport:
    """Score each named system's predictions on the same ``rows``, per data source; on counterfactual rows
    (``meta.swapped``) also the follow rate of the swapped values.

    ``similarity`` defaults to the paper's sim with all-MiniLM-L6-v2 (loaded offline). A row a
    system has no prediction for scores as an unparseable output and is counted as missing.
    """
    from tqdm.auto import tqdm

    if similarity is None:
        from slot.eval.embedder import Embedder

        similarity = EmbeddingSimilarity(Embedder())
    grounder = None
    if ground_values:
        from slot.grounding import ground as grounder
    prepare = getattr(similarity, "prepare", None)
    if prepare is not None:  # embed every value string once, in big batches
        strings = [value_text(v) for row in rows for _, v in iter_leaves(row["gold"])]
        for preds in predictions.values():
            for row in rows:
                strings.extend(_leaf_strings(preds.get(str(row["id"]), "")))
        prepare(strings)
    scores: dict[str, list[RowScore]] = {}
    missing: dict[str, set[str]] = {}
    for system, preds in predictions.items():
        missing[system] = {str(r["id"]) for r in rows if str(r["id"]) not in preds}
        scores[system] = [
            score_row(row, preds.get(str(row["id"]), ""), similarity, source=source_of(row), grounder=grounder)
            for row in tqdm(rows, desc=f"score {system}", unit="row", disable=not progress)
        ]
    report = summarise(scores, missing)
    if has_swaps(rows):
        report.follow = {system: follow_rate(rows, preds) for system, preds in predictions.items()}
    return report
