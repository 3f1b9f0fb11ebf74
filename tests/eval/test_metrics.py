"""The paper's metrics on hand-worked cases (a table-driven similarity stands in for the model)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pytest

from slot.eval.metrics import (
    EmbeddingSimilarity, exact_match, json_equal, parse_output, schema_errors, score_row, soft_scores,
    value_text,
)
from slot.grounding import ground


class TableSim:
    """sim = 1 on equal strings, else the table's value (0 when absent), like the real metric."""

    def __init__(self, table: dict[tuple[str, str], float] | None = None) -> None:
        self.table = table or {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        self.calls.extend(pairs)
        return [1.0 if a == b else self.table.get((a, b), self.table.get((b, a), 0.0)) for a, b in pairs]


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-9)


# ---- content similarity --------------------------------------------------------------------
def test_identical_documents_score_one() -> None:
    doc = {"a": "x", "b": 1, "c": {"d": [True, None]}}
    assert soft_scores(doc, doc, TableSim()) == (1.0, 1.0, 1.0)


def test_missing_key_lowers_recall_only() -> None:
    # P = 1/1; R = (1 + 0)/2; F = 2*1*0.5/1.5
    p, r, f = soft_scores({"a": "x"}, {"a": "x", "b": "y"}, TableSim())
    assert (p, r, f) == (approx(1.0), approx(0.5), approx(2 / 3))


def test_extra_key_lowers_precision_only() -> None:
    p, r, f = soft_scores({"a": "x", "c": "z"}, {"a": "x"}, TableSim())
    assert (p, r, f) == (approx(0.5), approx(1.0), approx(2 / 3))


def test_similar_value_scores_its_similarity() -> None:
    sim = TableSim({("city center", "city centre"): 0.8})
    p, r, f = soft_scores({"a": "city center", "b": "x"}, {"a": "city centre", "b": "x"}, sim)
    assert (p, r, f) == (approx(0.9), approx(0.9), approx(0.9))
    assert sim.calls == [("city center", "city centre"), ("x", "x")]


def test_nested_lists_compare_by_index() -> None:
    gold = {"items": [{"n": "a"}, {"n": "b"}]}
    # one item dropped: the remaining "b" now sits at index 0, where gold has "a"
    assert soft_scores({"items": [{"n": "b"}]}, gold, TableSim()) == (0.0, 0.0, 0.0)
    # one item added at the end: P = 2/3, R = 1, F = 0.8
    p, r, f = soft_scores({"items": [{"n": "a"}, {"n": "b"}, {"n": "c"}]}, gold, TableSim())
    assert (p, r, f) == (approx(2 / 3), approx(1.0), approx(0.8))


def test_container_vs_scalar_uses_json_text() -> None:
    sim = TableSim()
    soft_scores({"a": []}, {"a": "x"}, sim)
    soft_scores({"a": "x"}, {"a": {"k": 1}}, sim)
    assert ("[]", "x") in sim.calls  # [] is a leaf: its JSON text is compared
    assert not any("k" in a or "k" in b for a, b in sim.calls)  # /a vs /a/k: different paths


def test_empty_objects() -> None:
    assert soft_scores({}, {}, TableSim()) == (1.0, 1.0, 1.0)  # both are the leaf "" = {}
    assert soft_scores({}, {"a": 1}, TableSim()) == (0.0, 0.0, 0.0)
    assert soft_scores({"a": []}, {"a": []}, TableSim()) == (1.0, 1.0, 1.0)


def test_string_forms_make_5_and_quoted_5_an_exact_match() -> None:
    assert value_text(5) == "5" and value_text("5") == "5"
    assert value_text(True) == "True" and value_text(None) == "None"
    assert value_text({"b": 1, "a": [1, 2]}) == '{"a": [1, 2], "b": 1}'
    assert soft_scores({"a": "5"}, {"a": 5}, TableSim())[2] == 1.0


def test_embedding_similarity_clips_negative_cosine_and_is_one_on_equal_strings() -> None:
    vectors = {"up": np.array([1.0, 0.0]), "down": np.array([-1.0, 0.0]), "side": np.array([0.6, 0.8])}

    class Enc:
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            return np.stack([vectors[t] for t in texts])

    sim = EmbeddingSimilarity(Enc())
    assert sim([("up", "down"), ("up", "side"), ("same", "same")]) == [0.0, pytest.approx(0.6), 1.0]


# ---- parsing, schema accuracy ----------------------------------------------------------------
def test_parse_output_is_strict_json() -> None:
    assert parse_output(' {"a": 1}\n') == (True, {"a": 1})
    assert parse_output('```json\n{"a": 1}\n```')[0] is False
    assert parse_output('{"a": 1} trailing')[0] is False
    assert parse_output("")[0] is False


SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
          "required": ["name"], "additionalProperties": False}


def test_schema_errors_default_draft_2020_12() -> None:
    assert schema_errors({"name": "A", "n": 2}, SCHEMA) == []
    assert schema_errors({"n": 2}, SCHEMA)  # missing required
    assert schema_errors({"name": "A", "x": 1}, SCHEMA)  # extra property
    tuple_2020 = {"type": "array", "prefixItems": [{"type": "string"}], "items": False}
    assert schema_errors(["a"], tuple_2020) == [] and schema_errors(["a", 1], tuple_2020)


def test_schema_errors_draft_7_when_schema_says_so() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array",
              "items": [{"type": "string"}], "additionalItems": False}
    assert schema_errors(["a"], draft7) == []
    assert schema_errors(["a", 1], draft7)


# ---- exact match ------------------------------------------------------------------------------
def test_json_equality() -> None:
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal("1", 1)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal([], {})


def test_exact_match_per_gold_leaf() -> None:
    gold = {"a": "x", "b": {"c": 2, "d": [1, 2]}}
    pred = {"a": "X", "b": {"c": 2.0, "d": [1]}, "extra": 1}
    assert exact_match(pred, gold) == {"/a": False, "/b/c": True, "/b/d/0": True, "/b/d/1": False}


# ---- one row end to end ---------------------------------------------------------------------------
ROW = {"id": "e2e_1", "input_text": "Aromi is a coffee shop with 5 tables.", "json_schema": SCHEMA,
       "gold": {"name": "Aromi", "n": 5}}


def test_score_row_valid_output() -> None:
    s = score_row(ROW, json.dumps({"name": "Aromi", "n": 5}), TableSim(), source="e2e", grounder=ground)
    assert s.parsed and s.schema_valid
    assert s.content_similarity == 1.0 and s.exact_matches == 2 and s.gold_leaves == 2
    assert (s.claimed_leaves, s.ungrounded_leaves) == (2, 0)


def test_score_row_unparseable_output_scores_zero() -> None:
    s = score_row(ROW, '{"name": "Aromi", ', TableSim(), source="e2e", grounder=ground)
    assert not s.parsed and not s.schema_valid
    assert (s.precision, s.recall, s.content_similarity, s.exact_matches) == (0.0, 0.0, 0.0, 0)
    assert s.field_matches == {"/name": False, "/n": False}


def test_score_row_schema_invalid_output_still_gets_content_scores() -> None:
    s = score_row(ROW, json.dumps({"name": "Cotto", "n": "5", "x": None}), TableSim(), source="e2e",
                  grounder=ground)
    assert s.parsed and not s.schema_valid and s.errors
    # leaves /name (sim 0), /n ("5" == "5": 1), /x (not in gold: 0) -> P = 1/3, R = 1/2
    assert (s.precision, s.recall) == (approx(1 / 3), approx(0.5))
    assert s.content_similarity == approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert s.exact_matches == 0  # "5" is not 5
    assert (s.claimed_leaves, s.ungrounded_leaves) == (2, 1)  # null /x makes no claim; Cotto is invented
