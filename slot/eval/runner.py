"""Run systems over rows and score their outputs on the same rows.

Rows are the shared line format ``{id, input_text, json_schema, gold, [meta]}``. A system's
predictions map row id -> raw generated text; a predictions file is JSONL ``{"id", "output"}`` (the
batch output of ``slot structure``; a line with only ``"json"`` is scored as that JSON's text). Per-field
confidences, when a system reports them (a line's ``confidence`` map, or its ``grounding.fields`` as
``slot structure`` writes them), are scored for calibration (``slot.eval.calibration``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slot.eval.calibration import calibration, caught, leaf_outcomes
from slot.eval.follow import follow_rate, has_swaps
from slot.eval.metrics import EmbeddingSimilarity, PairSimilarity, RowScore, parse_output, score_row, value_text
from slot.eval.report import ALL, CAUGHT_BELOW, EvalReport, summarise
from slot.leaves import iter_leaves

__all__ = ["Prediction", "Predictor", "Confidences", "source_of", "load_rows", "load_predictions",
           "load_confidences", "confidence_of", "run_predictors", "evaluate"]


@dataclass(frozen=True)
class Prediction:
    """A system's answer to one row: the raw text and, when the system reports them, per-leaf confidences."""

    output: str
    confidence: dict[str, float | None] = field(default_factory=dict)
    """JSON Pointer -> confidence in [0, 1] (None: unknown), e.g. from a StructureResult's grounding fields."""


Predictor = Callable[[str, dict[str, Any]], "str | Prediction"]
"""(input_text, json_schema) -> raw generated text, or a Prediction with confidences."""

Confidences = Mapping[str, Mapping[str, Mapping[str, "float | None"]]]
"""System -> row id -> JSON Pointer -> confidence."""


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


def confidence_of(item: Mapping[str, Any]) -> dict[str, float | None]:
    """The per-leaf confidences of a predictions line or result record: its ``confidence`` map, else the
    ``confidence`` of its ``grounding.fields``; {} when it has neither."""
    given = item.get("confidence")
    if isinstance(given, dict):
        return {str(k): v for k, v in given.items()}
    grounding = item.get("grounding")
    fields = grounding.get("fields") if isinstance(grounding, dict) else None
    return {f["path"]: f.get("confidence") for f in fields or [] if isinstance(f, dict) and "confidence" in f}


def load_confidences(path: str | Path) -> dict[str, dict[str, float | None]]:
    """Row id -> per-leaf confidences from a predictions JSONL file (rows without any left out)."""
    out: dict[str, dict[str, float | None]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                item = json.loads(line)
                found = confidence_of(item) if isinstance(item, dict) else {}
                if found and "id" in item:
                    out[str(item["id"])] = found
    return out


def run_predictors(rows: list[dict[str, Any]], predictors: Mapping[str, Predictor], *, progress: bool = True,
                   confidences: dict[str, dict[str, dict[str, float | None]]] | None = None
                   ) -> dict[str, dict[str, str]]:
    """Raw outputs of every predictor on every row; a predictor error scores as empty output. The confidences
    of predictors that return a :class:`Prediction` go into ``confidences`` (system -> row id -> path), when given."""
    from tqdm.auto import tqdm

    outputs: dict[str, dict[str, str]] = {name: {} for name in predictors}
    total = len(rows) * len(predictors)
    with tqdm(total=total, desc="predict", unit="row", disable=not progress) as bar:
        for name, predict in predictors.items():
            bar.set_postfix_str(name)
            for row in rows:
                try:
                    answer = predict(row["input_text"], row.get("json_schema") or {})
                    if isinstance(answer, Prediction):
                        if confidences is not None and answer.confidence:
                            confidences.setdefault(name, {})[str(row["id"])] = answer.confidence
                        answer = answer.output
                    outputs[name][str(row["id"])] = answer
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
             progress: bool = False, confidences: Confidences | None = None) -> EvalReport:
    """Score each named system's predictions on the same ``rows``, per data source; on counterfactual rows
    (``meta.swapped``) also the follow rate of the swapped values; for systems with ``confidences``, their
    calibration per source (``slot.eval.calibration``).

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
    for system, by_row in (confidences or {}).items():
        if system in predictions and by_row:
            report.calibration[system], report.caught[system] = _calibrate(rows, predictions[system], by_row)
    return report


def _calibrate(rows: list[dict[str, Any]], preds: Mapping[str, str],
               by_row: Mapping[str, Mapping[str, float | None]]) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Calibration of one system's confidences per source and on all rows, and the share of its wrong leaves
    with confidence below ``CAUGHT_BELOW`` (same keys)."""
    outcomes: dict[str, list[tuple[float, bool]]] = {}
    for row in rows:
        rid = str(row["id"])
        parsed, value = parse_output(preds.get(rid, ""))
        found = leaf_outcomes(value, row["gold"], by_row.get(rid, {})) if parsed else []
        outcomes.setdefault(source_of(row), []).extend(found)
        outcomes.setdefault(ALL, []).extend(found)
    return ({source: calibration(found) for source, found in outcomes.items()},
            {source: caught(found, CAUGHT_BELOW) for source, found in outcomes.items()})
