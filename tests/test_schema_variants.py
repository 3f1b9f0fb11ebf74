"""Schema variants (data_synthesis.schema_variants): the text decides the values, whatever the schema's shape."""

from __future__ import annotations

import json
import random

import jsonschema

from data_synthesis.schema_variants import VENUE_KEYS, vary_row

E2E_ROW = {
    "id": "e2e_1",
    "input_text": "Zizzi serves Basque food in the harbour area. It is not family-friendly.",
    "json_schema": {"type": "object",
                    "properties": {"name": {"type": "string"}, "food": {"type": "string"},
                                   "area": {"type": "string"}, "familyFriendly": {"type": "string"}},
                    "required": ["name", "food", "area", "familyFriendly"], "additionalProperties": False},
    "gold": {"name": "Zizzi", "food": "Basque", "area": "harbour", "familyFriendly": "no"},
}


def _variants(row: dict, n: int = 200, **options: float) -> list[dict]:
    rng = random.Random(5)
    return [made for _ in range(n) if (made := vary_row(row, rng, **options)) is not None]


def test_every_variant_keeps_the_texts_values_and_is_valid_against_its_schema() -> None:
    for made in _variants(E2E_ROW):
        jsonschema.validate(made["gold"], made["json_schema"])
        assert made["input_text"] == E2E_ROW["input_text"]
        for key, value in E2E_ROW["gold"].items():
            if key == "familyFriendly" and "boolean" in made["json_schema"]["properties"][key].get("type"):
                assert made["gold"][key] is False
            else:
                assert made["gold"][key] == value  # a stated value is never turned into null or dropped
        assert list(made["gold"]) == [k for k in made["json_schema"]["properties"] if k in made["gold"]]


def test_stated_keys_become_nullable_or_optional_and_unstated_ones_null_or_absent() -> None:
    made = _variants(E2E_ROW, fill_share=1.0, extra_keys=1.0)
    nullable_filled = sum(isinstance(m["json_schema"]["properties"]["name"]["type"], list) for m in made)
    optional_filled = sum("name" not in m["json_schema"].get("required", []) for m in made)
    assert nullable_filled > 20 and optional_filled > 20
    added = [(m, k) for m in made for k in m["json_schema"]["properties"] if k not in E2E_ROW["gold"]]
    assert added
    for m, key in added:
        assert key in VENUE_KEYS
        assert m["gold"].get(key) is None  # null when required and nullable, else left out
        if key in m["json_schema"].get("required", []):
            assert key in m["gold"]


def test_keys_the_text_may_state_are_not_added_as_unstated() -> None:
    row = json.loads(json.dumps(E2E_ROW))
    row["input_text"] = "Zizzi is a riverside restaurant near the station serving cheap Basque food, 5 stars."
    for made in _variants(row, fill_share=0.0, extra_keys=1.0):
        for key in made["json_schema"]["properties"]:
            assert key not in {"eatType", "near", "priceRange", "customer rating"}


def test_rows_without_top_level_properties_are_left_alone() -> None:
    row = {"id": "x", "input_text": "3 apples", "json_schema": {"type": "array", "items": {"type": "string"}},
           "gold": ["apples"]}
    assert vary_row(row, random.Random(0)) is None
