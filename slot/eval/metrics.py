"""The SLOT paper's metrics, per row: schema accuracy and content similarity, plus exact match per
field and the share of predicted values not grounded in the text.

- Schema accuracy: the raw generated text parses as JSON (``json.loads``, nothing stripped or
  repaired) and validates against the schema (the draft ``$schema`` names, Draft 2020-12 otherwise).
- Content similarity: prediction and gold are flattened to leaves keyed by JSON Pointer
  (:mod:`slot.leaves`, list indices included). Soft precision = mean over predicted leaves of
  sim(pred, gold at the same path), 0 where gold has no such path; soft recall likewise over gold
  leaves; the score is their harmonic mean (0 when both are 0). sim = cosine similarity of the
  all-MiniLM-L6-v2 embeddings of the values' string forms, 1.0 on an exact string match, clipped
  at 0. Edge cases: an unparseable prediction scores 0.0; with no leaves on either side, 1.0.
- Exact match: share of gold leaves whose predicted value at the same path is equal (JSON
  equality: 1 == 1.0, but true != 1 and "1" != 1).
- Ungrounded share: predicted leaves flagged ``ungrounded`` by :func:`slot.grounding.ground`
  over the predicted leaves grounding reports (nulls and empty values make no claim).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from slot.leaves import leaf_map

__all__ = ["PairSimilarity", "EmbeddingSimilarity", "value_text", "parse_output", "schema_errors",
           "soft_scores", "exact_match", "json_equal", "RowScore", "score_row"]


class PairSimilarity(Protocol):
    """Similarity of value strings, pair by pair, in [0, 1] (batched so embeddings are shared)."""

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[float]: ...


class _Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> Any: ...


class EmbeddingSimilarity:
    """The paper's sim: 1.0 on exact string match, else cosine of sentence embeddings, clipped at 0."""

    def __init__(self, embedder: _Encoder) -> None:
        self.embedder = embedder

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed many strings up front in large batches (they are cached by the embedder)."""
        if texts:
            self.embedder.encode(list(dict.fromkeys(texts)))

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        todo = [(a, b) for a, b in pairs if a != b]
        sims: dict[tuple[str, str], float] = {}
        if todo:
            strings = list(dict.fromkeys(s for pair in todo for s in pair))
            vectors = dict(zip(strings, self.embedder.encode(strings)))
            for a, b in todo:
                sims[(a, b)] = max(0.0, min(1.0, float(vectors[a] @ vectors[b])))
        return [1.0 if a == b else sims[(a, b)] for a, b in pairs]


def value_text(value: Any) -> str:
    """The string a leaf value is embedded as: ``str()`` for scalars, JSON text for containers."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def parse_output(raw: str) -> tuple[bool, Any]:
    """``(True, value)`` when the raw generated text is one JSON document, else ``(False, None)``."""
    try:
        return True, json.loads(raw)
    except (json.JSONDecodeError, TypeError, RecursionError):
        return False, None


def schema_errors(instance: Any, schema: dict[str, Any] | bool) -> list[str]:
    """Validation errors of ``instance`` (empty when valid); the draft follows ``$schema``."""
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        return [f"invalid schema: {exc.message}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in cls(schema).iter_errors(instance)]


def soft_scores(pred: Any, gold: Any, similarity: PairSimilarity) -> tuple[float, float, float]:
    """``(precision, recall, f1)`` of content similarity between two parsed documents."""
    p_leaves, g_leaves = leaf_map(pred), leaf_map(gold)
    if not p_leaves and not g_leaves:
        return 1.0, 1.0, 1.0
    shared = [path for path in p_leaves if path in g_leaves]
    sims = dict(zip(shared, similarity([(value_text(p_leaves[k]), value_text(g_leaves[k])) for k in shared])))
    precision = sum(sims.values()) / len(p_leaves) if p_leaves else 0.0
    recall = sum(sims.values()) / len(g_leaves) if g_leaves else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), booleans only equal booleans, containers deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def exact_match(pred: Any, gold: Any) -> dict[str, bool]:
    """Per gold leaf path: whether the prediction has an equal value at that path."""
    p_leaves = leaf_map(pred)
    return {path: path in p_leaves and json_equal(p_leaves[path], value)
            for path, value in leaf_map(gold).items()}


@dataclass(frozen=True, slots=True)
class RowScore:
    """All metrics of one prediction for one row."""

    id: str
    source: str
    parsed: bool
    schema_valid: bool
    precision: float
    recall: float
    content_similarity: float
    gold_leaves: int
    exact_matches: int
    field_matches: dict[str, bool]
    claimed_leaves: int
    ungrounded_leaves: int
    errors: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_row(row: dict[str, Any], raw_output: str, similarity: PairSimilarity, *, source: str,
              grounder: Callable[[Any, str, Any], Any] | None = None) -> RowScore:
    """Score one raw output against ``row["gold"]`` / ``row["json_schema"]`` / ``row["input_text"]``.

    ``grounder`` is :func:`slot.grounding.ground` or compatible; ``None`` skips the ungrounded share.
    """
    gold, schema = row["gold"], row.get("json_schema")
    n_gold = len(leaf_map(gold))
    parsed, value = parse_output(raw_output)
    if not parsed:
        return RowScore(id=str(row["id"]), source=source, parsed=False, schema_valid=False, precision=0.0,
                        recall=0.0, content_similarity=0.0, gold_leaves=n_gold, exact_matches=0,
                        field_matches={p: False for p in leaf_map(gold)}, claimed_leaves=0,
                        ungrounded_leaves=0, errors=["output is not valid JSON"])
    errors = schema_errors(value, schema) if schema is not None else []
    precision, recall, f1 = soft_scores(value, gold, similarity)
    matches = exact_match(value, gold)
    claimed = ungrounded = 0
    if grounder is not None:
        report = grounder(value, row.get("input_text", ""), schema if isinstance(schema, dict) else None)
        claimed, ungrounded = len(report.fields), len(report.ungrounded_paths)
    return RowScore(id=str(row["id"]), source=source, parsed=True, schema_valid=not errors,
                    precision=precision, recall=recall, content_similarity=f1, gold_leaves=n_gold,
                    exact_matches=sum(matches.values()), field_matches=matches, claimed_leaves=claimed,
                    ungrounded_leaves=ungrounded, errors=errors[:5])
