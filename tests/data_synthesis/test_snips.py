"""SNIPS requests recast as request -> arguments rows: closed schemas, verbatim spans, integers, flags."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from data_synthesis.snips import (FLAG_SLOTS, INTEGER_SLOTS, convert_dir, convert_file, intent_files, intent_schema,
                                  number_value, pick_per_intent, read_requests, slot_types)
from tests.conftest import SNIPS
from tests.data_synthesis.helpers import run_cli

# The slot names per intent listed in tests/data/snips/README.md (the validate files hold them all).
README_SLOTS = {
    "AddToPlaylist": "artist entity_name music_item playlist playlist_owner",
    "BookRestaurant": "city country cuisine facility party_size_description party_size_number poi restaurant_name "
                      "restaurant_type served_dish sort spatial_relation state timeRange",
    "GetWeather": "city condition_description condition_temperature country current_location geographic_poi "
                  "spatial_relation state timeRange",
    "PlayMusic": "album artist genre music_item playlist service sort track year",
    "RateBook": "best_rating object_name object_part_of_series_type object_select object_type rating_unit rating_value",
    "SearchCreativeWork": "object_name object_type",
    "SearchScreeningEvent": "location_name movie_name movie_type object_location_type object_type spatial_relation "
                            "timeRange",
}


@pytest.fixture(scope="module")
def validate_rows() -> list[dict[str, Any]]:
    by_intent, summary = convert_dir(SNIPS, "validate")
    assert not any(summary.skipped.values())
    return [row for rows in by_intent.values() for row in rows]


def _spans(row: dict[str, Any]) -> dict[str, str]:
    """The labelled spans of a row's source request, found again from its id."""
    _, intent, split, index = row["id"].split("-")
    path = SNIPS / (f"train_{intent}_full.json" if split == "train" else f"validate_{intent}.json")
    request = read_requests(path)[1][int(index)]
    return {c["entity"]: c["text"] for c in request if "entity" in c}


def test_schema_per_intent_is_stable_closed_and_optional() -> None:
    files = intent_files(SNIPS)
    assert sorted(files) == sorted(README_SLOTS)
    for intent, paths in files.items():
        slots = slot_types(paths)
        assert slots == sorted(README_SLOTS[intent].split())
        schema = intent_schema(intent, slots)
        assert schema == intent_schema(intent, list(reversed(slots)))
        assert list(schema["properties"]) == slots
        assert schema["type"] == "object" and schema["additionalProperties"] is False and "required" not in schema
        for slot, prop in schema["properties"].items():
            kind = "integer" if (intent, slot) in INTEGER_SLOTS else "boolean" if (intent, slot) in FLAG_SLOTS \
                else "string"
            assert prop["type"] == kind and prop["description"].strip()
    assert intent_schema("BookRestaurant", ["party_size_number"])["properties"]["party_size_number"] == {
        "type": "integer", "description": "number of people"}


def test_every_validate_request_becomes_a_valid_row(validate_rows: list[dict[str, Any]]) -> None:
    assert len(validate_rows) == 700
    assert Counter(r["meta"]["intent"] for r in validate_rows) == {intent: 100 for intent in README_SLOTS}
    schemas: dict[str, dict[str, Any]] = {}
    for row in validate_rows:
        intent = row["meta"]["intent"]
        assert row["meta"] == {"source": "snips", "intent": intent, "split": "validate"}
        assert row["id"].startswith(f"snips-{intent}-validate-")
        assert schemas.setdefault(intent, row["json_schema"]) == row["json_schema"]
        assert Draft202012Validator(row["json_schema"]).is_valid(row["gold"])


def test_gold_values_are_spans_integers_or_flags(validate_rows: list[dict[str, Any]]) -> None:
    for row in validate_rows:
        spans = _spans(row)
        assert set(row["gold"]) == set(spans)
        for slot, value in row["gold"].items():
            if isinstance(value, bool):
                assert value is True and FLAG_SLOTS[row["meta"]["intent"], slot].fullmatch(spans[slot].strip())
            elif isinstance(value, int):
                assert value == number_value(spans[slot]) is not None
            else:
                assert value == spans[slot].strip() and value in row["input_text"]


def test_number_words_convert() -> None:
    assert [number_value(t) for t in ("four", " 7 ", "Ten", "twenty-one", "ninety nine", "0")] == [4, 7, 10, 21, 99, 0]
    assert [number_value(t) for t in ("a couple", "few", "twenty zero", "4.5", "")] == [None] * 5


def test_a_number_word_becomes_an_integer_argument(validate_rows: list[dict[str, Any]]) -> None:
    worded = [r for r in validate_rows if "party_size_number" in r["gold"] and
              not _spans(r)["party_size_number"].strip().isdigit()]
    assert worded
    for row in worded:
        word = _spans(row)["party_size_number"].strip()
        assert word in row["input_text"] and row["gold"]["party_size_number"] == number_value(word)


def test_unclean_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    requests = [
        [{"text": "book a table for "}, {"text": "four", "entity": "party_size_number"}, {"text": " please"}],
        [{"text": "a table for "}, {"text": "a couple", "entity": "party_size_number"}],
        [{"text": "a "}, {"text": "pub", "entity": "restaurant_type"}, {"text": " or a "},
         {"text": "bar", "entity": "restaurant_type"}],
    ]
    path = tmp_path / "validate_BookRestaurant.json"
    path.write_text(json.dumps({"BookRestaurant": [{"data": r} for r in requests]}), encoding="utf-8")
    schema = intent_schema("BookRestaurant", ["party_size_number", "restaurant_type"])
    skipped: Counter[str] = Counter()
    rows = list(convert_file(path, schema, skipped))
    assert [(r["id"], r["gold"]) for r in rows] == [("snips-BookRestaurant-validate-0", {"party_size_number": 4})]
    assert rows[0]["input_text"] == "book a table for four please"
    assert skipped == {"count not a clean number": 1, "repeated slot type": 1}


def test_per_intent_pick_is_seeded_and_spread() -> None:
    rows = [{"id": str(i)} for i in range(100)]
    first = pick_per_intent(rows, 10, random.Random(3))
    assert first == pick_per_intent(rows, 10, random.Random(3)) != rows[:10]
    assert first == sorted(first, key=lambda r: int(r["id"])) and len(first) == 10
    assert pick_per_intent(rows, 0, random.Random(3)) == rows == pick_per_intent(rows, 500, random.Random(3))


def test_cli_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "snips.jsonl"
    res = run_cli("convert-snips", "--input-dir", str(SNIPS), "--out", str(out), "--split", "validate",
                  "--per-intent", "3", "--seed", "5")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert Counter(r["meta"]["intent"] for r in rows) == {intent: 3 for intent in README_SLOTS}
    assert len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith(f"wrote 21 SNIPS rows to {out} (AddToPlaylist 3, ") and "skipped 0" in res.stderr


def test_cli_missing_input_dir_exits_2(tmp_path: Path) -> None:
    res = run_cli("convert-snips", "--input-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o.jsonl"))
    assert res.returncode == 2
    assert res.stderr == f"error: input folder not found: {tmp_path / 'nope'}\n"
    assert not (tmp_path / "o.jsonl").exists()


def test_chosen_intents_only_and_unknown_intents_refused(tmp_path: Path) -> None:
    from data_synthesis.external import ConfigError
    from data_synthesis.snips import write_snips

    out = tmp_path / "new_functions.jsonl"
    summary = write_snips(SNIPS, out, split="validate", intents=["RateBook", "GetWeather"])
    intents = {json.loads(line)["meta"]["intent"] for line in out.read_text(encoding="utf-8").splitlines()}
    assert intents == {"RateBook", "GetWeather"} and set(summary.rows) == intents
    with pytest.raises(ConfigError, match="unknown intents \\['Nope'\\]"):
        write_snips(SNIPS, out, split="validate", intents=["Nope"])
