"""Long documents with deep nesting: deterministic rows, texts of 1-4k characters, schemas of depth 4-7 with
arrays of objects, golds that validate and whose every value the text states."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from data_synthesis.domain_catalog import DOMAINS
from data_synthesis.long_docs import (DOMAIN_NAMES, MAX_CHARS, MAX_DEPTH, MAX_GOLD_CHARS, MIN_CHARS, MIN_DEPTH,
                                      TRAIN_DOMAIN_NAMES, long_doc_rows, make_row, missing_from_text, schema_depth)
from data_synthesis.long_docs_catalog import LONG_DOMAINS, VOCAB, Group, Leaf, LongDomain
from data_synthesis.long_docs_train_catalog import TRAIN_LONG_DOMAINS, TRAIN_VOCAB
from data_synthesis.plan import iter_leaves
from tests.data_synthesis.helpers import run_cli

N = 48  # every domain at every depth, twice


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return long_doc_rows(N, seed=3)


def _object_arrays(schema: Any) -> int:
    """How many arrays of objects a schema holds."""
    if not isinstance(schema, dict):
        return 0
    own = int(schema.get("type") == "array" and schema.get("items", {}).get("type") == "object")
    children = list(schema.get("properties", {}).values()) + [schema.get("items")]
    return own + sum(_object_arrays(c) for c in children)


def test_deterministic(rows):
    assert long_doc_rows(6, seed=3) == rows[:6]
    assert make_row(17, seed=3) == rows[17]
    assert make_row(0, seed=4)["input_text"] != rows[0]["input_text"]


def test_text_length_and_paragraphs(rows):
    for row in rows:
        assert MIN_CHARS <= len(row["input_text"]) <= MAX_CHARS, row["id"]
        assert row["input_text"].count("\n\n") >= 2, row["id"]  # several paragraphs
        assert row["meta"]["chars"] == len(row["input_text"])


def test_depths_domains_and_arrays_of_objects(rows):
    depths = Counter(schema_depth(row["json_schema"]) for row in rows)
    assert set(depths) == set(range(MIN_DEPTH, MAX_DEPTH + 1)) and min(depths.values()) == N // 4
    assert Counter(row["meta"]["domain"] for row in rows) == {name: N // len(DOMAIN_NAMES) for name in DOMAIN_NAMES}
    assert {(row["meta"]["domain"], row["meta"]["depth"]) for row in rows} == {
        (d, k) for d in DOMAIN_NAMES for k in range(MIN_DEPTH, MAX_DEPTH + 1)}
    for row in rows:
        assert schema_depth(row["json_schema"]) == row["meta"]["depth"]
        assert _object_arrays(row["json_schema"]) >= 1, row["id"]
        lists = _object_lists(row["gold"])  # the text states every item: lists of two or more
        assert lists and min(len(items) for items in lists) >= 2, row["id"]


def _object_lists(value: Any) -> list[list[Any]]:
    """Every list of objects in a JSON value."""
    out: list[list[Any]] = []
    children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out.append(value)
    for child in children:
        out += _object_lists(child)
    return out


def test_schema_depth():
    assert schema_depth({"type": "object", "properties": {"a": {"type": "string"}}}) == 1
    assert schema_depth({"type": "object", "properties": {"a": {"type": "array", "items": {
        "type": "object", "properties": {"b": {"type": "integer"}}}}}}) == 3
    assert schema_depth({"type": "string"}) == 0


def test_gold_validates_and_schemas_are_realistic(rows):
    described = titled = closed = optional = 0
    for row in rows:
        schema = row["json_schema"]
        Draft202012Validator.check_schema(schema)
        errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(row["gold"]))
        assert errors == [], (row["id"], errors[:2])
        text = json.dumps(schema)
        described += '"description"' in text
        titled += '"title": "' in text.replace('"title": "' + schema["title"], "", 1)
        closed += '"additionalProperties": false' in text
        optional += any(set(s.get("properties", {})) - set(s.get("required", [])) for s in _objects(schema))
        assert len(json.dumps(row["gold"], separators=(",", ":"), ensure_ascii=False)) <= MAX_GOLD_CHARS
    assert described > N // 2 and titled > N // 4 and 0 < closed < N and optional > N // 4


def _objects(schema: Any) -> list[dict[str, Any]]:
    if not isinstance(schema, dict):
        return []
    out = [schema] if schema.get("type") == "object" else []
    for child in list(schema.get("properties", {}).values()) + [schema.get("items")]:
        out += _objects(child)
    return out


def test_every_gold_value_is_in_the_text(rows):
    kinds: Counter[str] = Counter()
    for row in rows:
        assert missing_from_text(row["input_text"], row["gold"]) == [], row["id"]
        for _, value in iter_leaves(row["gold"]):
            kinds[type(value).__name__] += 1
    assert {"str", "int", "bool"} <= set(kinds) and kinds["float"] > 0


def test_missing_from_text_flags_what_the_text_lacks():
    text = "Flat 4C has a floor area of 52 square metres and costs 12.50 euros."
    assert missing_from_text(text, {"flat": "flat 4c", "area": 52, "price": 12.5, "occupied": True}) == []
    assert missing_from_text(text, {"flat": "Flat 9Z", "area": 5, "price": 12.0}) == ["/flat", "/area", "/price"]


def test_domains_are_not_in_the_main_synthesis():
    main = {line[1:].split(":")[0].strip() for line in DOMAINS.splitlines() if line.startswith("@")}
    assert main and not {name.replace("_", " ") for name in DOMAIN_NAMES} & main
    for word in ("itinerary", "regatta", "trial", "catalogue", "survey", "organisation"):
        assert not any(word in name for name in main), word


def test_cli_writes_the_file(tmp_path):
    out = tmp_path / "long.jsonl"
    run = run_cli("long-docs", "--n", "7", "--seed", "3", "--out", str(out))
    assert run.returncode == 0, run.stderr
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in written] == [f"long-3-{i:05d}" for i in range(7)]
    assert written == json.loads(json.dumps(long_doc_rows(7, seed=3)))
    assert "wrote 7 long-document rows" in run.stderr
    bad = run_cli("long-docs", "--n", "0", "--out", str(out))
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


# --- training domains (--domains train): same kind of rows, six other domains -------------------------------

TRAIN_N = 30  # every training domain at every depth


@pytest.fixture(scope="module")
def train_rows() -> list[dict[str, Any]]:
    return long_doc_rows(TRAIN_N, seed=3, domains="train")


def test_train_rows_validate_and_state_every_value(train_rows):
    assert {(r["meta"]["domain"], r["meta"]["depth"]) for r in train_rows} == {
        (d, k) for d in TRAIN_DOMAIN_NAMES for k in range(MIN_DEPTH, MAX_DEPTH + 1)}
    kinds: Counter[str] = Counter()
    for row in train_rows:
        assert row["id"].startswith("longtrain-3-") and row["meta"]["domains"] == "train"
        schema = row["json_schema"]
        Draft202012Validator.check_schema(schema)
        errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(row["gold"]))
        assert errors == [], (row["id"], errors[:2])
        assert missing_from_text(row["input_text"], row["gold"]) == [], row["id"]
        assert schema_depth(schema) == row["meta"]["depth"]
        assert MIN_CHARS <= len(row["input_text"]) <= MAX_CHARS and row["input_text"].count("\n\n") >= 2
        assert len(json.dumps(row["gold"], separators=(",", ":"), ensure_ascii=False)) <= MAX_GOLD_CHARS
        assert min(len(items) for items in _object_lists(row["gold"])) >= 2, row["id"]
        for _, value in iter_leaves(row["gold"]):
            kinds[type(value).__name__] += 1
    assert {"str", "int", "bool", "float"} <= set(kinds)


def test_train_rows_are_deterministic_and_leave_eval_rows_alone(train_rows):
    assert make_row(7, seed=3, domains="train") == train_rows[7]
    assert long_doc_rows(3, seed=3, domains="train") == train_rows[:3]
    eval_row = make_row(0, seed=3)
    assert eval_row == make_row(0, seed=3, domains="eval") and eval_row["id"] == "long-3-00000"
    assert "domains" not in eval_row["meta"] and eval_row["meta"]["domain"] in DOMAIN_NAMES
    with pytest.raises(ValueError, match="eval, train"):
        make_row(0, domains="test")


def _leaves_and_words(domain: LongDomain) -> tuple[list[Leaf], set[str]]:
    """Every leaf of a domain, and every key word (leaves, levels, groups)."""
    leaves = list(domain.root)
    words: set[str] = set()
    for level in domain.levels:
        words.add(level.words)
        leaves += [level.name, *level.leaves]
        if isinstance(level.extra, Group):
            words.add(level.extra.words)
            leaves += level.extra.leaves
        else:
            leaves.append(level.extra)
    return leaves, words | {leaf.words for leaf in leaves}


def _catalog(domains: tuple[LongDomain, ...], vocab: dict[str, tuple[str, ...]]) -> tuple[set[str], set[str]]:
    """Key words and value strings (vocabularies and enum options, lower-cased) of a set of domains."""
    words: set[str] = set()
    values = {v.lower() for vs in vocab.values() for v in vs}
    for domain in domains:
        leaves, domain_words = _leaves_and_words(domain)
        words |= domain_words
        values |= {v.lower() for leaf in leaves if leaf.gen.startswith("enum:") for v in leaf.gen[5:].split("|")}
    return words, values


def test_train_domains_share_nothing_with_eval_domains():
    assert len(TRAIN_DOMAIN_NAMES) == 6 and not set(TRAIN_DOMAIN_NAMES) & set(DOMAIN_NAMES)
    assert not {d.title for d in TRAIN_LONG_DOMAINS} & {d.title for d in LONG_DOMAINS}
    eval_words, eval_values = _catalog(LONG_DOMAINS, VOCAB)
    train_words, train_values = _catalog(TRAIN_LONG_DOMAINS, TRAIN_VOCAB)
    assert not train_words & eval_words, sorted(train_words & eval_words)
    assert not train_values & eval_values, sorted(train_values & eval_values)
    assert not set(TRAIN_VOCAB) & set(VOCAB)


def test_train_catalog_is_well_formed():
    generic = {"person", "company", "city", "country", "phone", "email", "code", "int", "num", "money", "enum",
               "bool", "date", "time", "seq", "seqdate", "vocab", "list"}
    for domain in TRAIN_LONG_DOMAINS:
        assert 3 <= len(domain.root) <= 4 and sum(leaf.optional for leaf in domain.root) == 1, domain.name
        assert len(domain.levels) == 3 and domain.closing and len(domain.asides) >= 6
        for level in domain.levels:
            assert len(level.leaves) == 3 and sum(leaf.optional for leaf in level.leaves) == 1, level.words
            assert len(level.listing) == 2 and level.name.says
        leaves, _ = _leaves_and_words(domain)
        for leaf in leaves:
            head, _, arg = leaf.gen.partition(":")
            assert head in generic, leaf.gen  # no eval-only generator (landmark, regatta, ...)
            if head in ("vocab", "list") and arg != "person":
                assert arg in TRAIN_VOCAB and len(TRAIN_VOCAB[arg]) >= 6, leaf.gen


def test_cli_writes_train_rows(tmp_path):
    out = tmp_path / "long_train.jsonl"
    run = run_cli("long-docs", "--n", "6", "--seed", "3", "--domains", "train", "--out", str(out))
    assert run.returncode == 0, run.stderr
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in written] == [f"longtrain-3-{i:05d}" for i in range(6)]
    assert written == json.loads(json.dumps(long_doc_rows(6, seed=3, domains="train")))
    assert {r["meta"]["domain"] for r in written} == set(TRAIN_DOMAIN_NAMES)
    assert "wrote 6 long-document rows (train domains)" in run.stderr
    bad = run_cli("long-docs", "--n", "2", "--domains", "test", "--out", str(out))
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
