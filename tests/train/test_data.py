"""Examples: the loss mask covers the prompt exactly, bad rows are counted skips, batches cover the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slot.prompt import encode, render, target_text
from slot.schema import load_schema
from slot.train.data import (IGNORE_INDEX, DataError, bucketed_batches, build_example, collate, load_examples)
from slot.train.split import split_by_group

from .conftest import ROWS, SCHEMA, write_jsonl


def test_labels_mask_exactly_the_prompt(tokenizer) -> None:
    for row in ROWS:
        example = build_example(tokenizer, row)
        schema = load_schema(row["json_schema"])
        prompt = encode(tokenizer, render(tokenizer, schema.canonical, row["input_text"])).ids
        assert example.input_ids[: len(prompt)] == prompt
        assert example.labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
        answer = [t for t in example.labels if t != IGNORE_INDEX]
        assert len(answer) == len(example) - len(prompt)
        assert tokenizer.decode(answer) == target_text(row["gold"], schema.document) + tokenizer.eos_token
        assert answer[-1] == tokenizer.eos_token_id


def test_target_keys_follow_the_schema_order(tokenizer) -> None:
    example = build_example(tokenizer, ROWS[0])  # gold written area-first, schema declares name first
    answer = tokenizer.decode([t for t in example.labels if t != IGNORE_INDEX])
    assert answer.startswith('{"name":"Alimentum","area":"city centre"}')


def test_bad_rows_are_counted_skips(tmp_path: Path, tokenizer) -> None:
    bad_gold = {"id": "bad", "input_text": "x", "json_schema": SCHEMA, "gold": {"name": 3}}
    bad_schema = {"id": "bad2", "input_text": "x", "json_schema": {"type": 12}, "gold": {}}
    path = write_jsonl(tmp_path / "d.jsonl", [*ROWS, bad_gold, bad_schema, {"id": "nokey"}],
                       extra_lines=("{not json", "[1, 2]"))
    examples, report = load_examples([path], tokenizer, max_length=512)
    assert len(examples) == len(ROWS) == report.kept
    assert report.skipped["invalid JSON line"] == 1
    assert report.skipped["line is not a JSON object"] == 1
    assert report.skipped["missing key 'input_text'"] == 1
    assert report.skipped["gold does not validate against its schema"] == 1
    assert report.skipped["bad schema"] == 1
    assert "skipped" in report.summary()


def test_worker_processes_build_the_same_examples_and_report(tmp_path: Path, tokenizer) -> None:
    bad_gold = {"id": "bad", "input_text": "x", "json_schema": SCHEMA, "gold": {"name": 3}}
    rows = [dict(row, id=f"{row['id']}-{i}") for i in range(6) for row in ROWS] + [bad_gold]
    path = write_jsonl(tmp_path / "d.jsonl", rows, extra_lines=("{not json",))
    alone, alone_report = load_examples([path], tokenizer, max_length=512, workers=1)
    pooled, pooled_report = load_examples([path], tokenizer, max_length=512, workers=2)
    assert [(e.id, e.input_ids, e.labels) for e in pooled] == [(e.id, e.input_ids, e.labels) for e in alone]
    assert pooled_report.skipped == alone_report.skipped and pooled_report.kept == alone_report.kept == 6 * len(ROWS)


def test_long_rows_are_skipped_not_truncated(tmp_path: Path, tokenizer) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(DataError, match="no usable rows"):
        load_examples([path], tokenizer, max_length=16)


def test_missing_file_is_a_data_error(tmp_path: Path, tokenizer) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_examples([tmp_path / "nope.jsonl"], tokenizer, max_length=512)


def test_bucketed_batches_cover_every_example_once(tokenizer) -> None:
    examples = [build_example(tokenizer, ROWS[i % len(ROWS)]) for i in range(23)]
    batches = bucketed_batches(examples, 4, seed=3, pool=2)
    assert sorted(i for b in batches for i in b) == list(range(23))
    assert batches == bucketed_batches(examples, 4, seed=3, pool=2)
    padded = collate([examples[i] for i in batches[0]], pad_id=0)
    assert padded["input_ids"].shape == padded["labels"].shape == padded["attention_mask"].shape
    assert int(padded["attention_mask"].sum()) == sum(len(examples[i]) for i in batches[0])


def test_split_keeps_each_group_on_one_side() -> None:
    rows = [{"id": str(i), "mr": f"m{i % 7}"} for i in range(70)]
    train, val = split_by_group(rows, "mr", val_rows=15, seed=0)
    assert len(train) + len(val) == 70 and len(val) >= 15
    assert not {r["mr"] for r in train} & {r["mr"] for r in val}
    assert (train, val) == split_by_group(rows, "mr", val_rows=15, seed=0)
    assert json.dumps(val)  # plain rows, written as JSONL by the CLI


def test_targets_end_with_the_token_the_engine_stops_on(tokenizer) -> None:
    import copy

    from slot.prompt import stop_ids

    misconverted = copy.deepcopy(tokenizer)
    misconverted.eos_token = "<|im_start|>"
    for tok in (tokenizer, misconverted):
        example = build_example(tok, ROWS[0])
        assert example.labels[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
        assert example.labels[-1] in stop_ids(tok)
