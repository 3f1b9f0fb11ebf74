"""Near-copy repair: misspelt copies of a text span become the span; normalised values are left alone."""

from __future__ import annotations

import json

from slot.grounding import ground
from slot.grounding.repair import nearest_span, repair_near_copies

E2E_SCHEMA = {"type": "object", "properties": {k: {"type": "string"} for k in
              ("name", "eatType", "food", "priceRange", "customer rating", "area", "familyFriendly")},
              "required": ["name", "eatType", "food", "priceRange", "customer rating", "area", "familyFriendly"],
              "additionalProperties": False}


def _repair(value: dict, text: str, schema: dict = E2E_SCHEMA) -> tuple[dict, list[str]]:
    return repair_near_copies(value, ground(value, text, schema), schema, text)


def test_misspelt_copies_become_the_text_span() -> None:
    text = "Casa Paigovean is a mid priced diner in the canal side area, a cafeteria really."
    value = {"name": "Casa Paigovean", "eatType": "dinner", "area": "cabin side", "food": "cafetera"}
    repaired, paths = _repair(value, text)
    assert paths == ["/eatType", "/area", "/food"]
    assert repaired == {"name": "Casa Paigovean", "eatType": "diner", "area": "canal side", "food": "cafeteria"}
    assert value["eatType"] == "dinner"  # the input is never modified
    assert ground(repaired, text, E2E_SCHEMA).ungrounded_paths == []


def test_normalised_short_numeric_and_pinned_values_are_left_alone() -> None:
    text = "The Eagle is not family-friendly, prices more than 30 pounds, highly rated, in the city."
    value = {"name": "The Eagle", "familyFriendly": "no", "priceRange": "more than £30", "customer rating": "high",
             "area": "riverside"}
    assert _repair(value, text) == (value, [])
    pinned = {"type": "object", "properties": {"area": {"type": "string", "enum": ["citty", "river"]}}}
    assert _repair({"area": "citty"}, "in the city centre", pinned) == ({"area": "citty"}, [])


def test_nearest_span_needs_similar_characters_and_word_count() -> None:
    spans = ["arts", "arts district", "district area", "the arts district area"]
    assert nearest_span("artists district", spans) == "arts district"
    assert nearest_span("airport", spans) is None
    assert nearest_span("arts district", spans) is None  # already a span: nothing to repair


def test_the_structurer_returns_the_repaired_value_and_lists_it(base_structurer) -> None:
    """The base model writes 'Artist District' for this text (recorded 2026-12-06); the result carries the
    text's span, names the path, and keeps the model's own text in ``output``."""
    text = ("Foudai is a high tavern with 3 out of 5 ratings,  family friendly, serves Tibetan food, and is "
            "located in the arts district area.")
    result = base_structurer.structure(text, E2E_SCHEMA)
    written = json.loads(result.output)
    assert result.grounding["repaired_paths"], f"nothing repaired in {result.output}"
    for path in result.grounding["repaired_paths"]:
        key = path[1:]
        assert result.json[key] != written[key] and result.json[key].casefold() in text.casefold()
    assert result.json["area"] == "arts district" and result.valid
    assert not set(result.grounding["repaired_paths"]) & set(result.grounding["ungrounded_paths"])
    from slot.client.common import to_result
    from slot.server.servicer import to_proto

    over_the_wire = to_result(to_proto(result, "r1"))
    assert over_the_wire.repaired_paths == result.grounding["repaired_paths"]
    assert over_the_wire.json == result.json  # the proto's json carries the repaired value
