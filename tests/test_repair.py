"""Near-copy repair: misspelt copies of a text span become the span; normalised values are left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slot.grounding import ground
from slot.grounding.repair import drifted_copies, nearest_span, repair_near_copies

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


def test_drifted_copies_are_values_that_began_as_a_word_of_the_text() -> None:
    text = "Ziobra is a tea room in the arts district area, a cafeteria by the river, near the city centre."
    value = {"name": "Ziobra", "eatType": "café", "area": "artistic", "food": "art district",
             "priceRange": "riverside", "customer rating": "city centre", "familyFriendly": "no"}
    report = ground(value, text, E2E_SCHEMA)
    # "riverside" and "city centre" start with a whole word of the text (a normalisation, not a slip); "no" is a
    # flag; "art district" is close enough to the text's span to count as grounded; the others slipped
    assert "/food" not in report.ungrounded_paths
    assert drifted_copies(value, report, E2E_SCHEMA, text) == ["/eatType", "/area"]
    pinned = {"type": "object", "properties": {"area": {"type": "string", "enum": ["artistic", "arts"]}}}
    only_area = {"area": "artistic"}
    assert drifted_copies(only_area, ground(only_area, text, pinned), pinned, text) == []
    assert drifted_copies({"area": "arts district"}, ground({"area": "arts district"}, text, E2E_SCHEMA),
                          E2E_SCHEMA, text) == []  # grounded: nothing to do
    request = {"type": "object", "properties": {"timeRange": {"type": "string"}}}
    echoed = {"timeRange": "timeRange"}  # the key written as its own value: an invention, not a slip
    said = "What times will it be showing?"
    assert drifted_copies(echoed, ground(echoed, said, request), request, said) == []


DRIFT_TEXT = ("In arts district is a dumpling house with a average customer rating called The Pousopoth that serves "
              "Cuban food and has a price range between more than £30.")
"""A value-swapped E2E validation row on which the stage C adapter (``tests/data/adapters/stage_c``, fixed weights,
so the premise does not move with the default adapter) writes "area": "artistic" (recorded 2026-12-06,
benchmarks/results/faithfulness_2026-12-06.json)."""
DRIFT_SCHEMA = {"type": "object", "properties": {k: {"type": "string"} for k in ("name", "customer rating", "area")},
                "required": ["name", "customer rating", "area"], "additionalProperties": False}
STAGE_C = Path(__file__).parent / "data" / "adapters" / "stage_c"


@pytest.fixture(scope="module")
def stage_c(settings):
    from slot.structurer import Structurer

    structurer = Structurer.from_settings(settings.replace(adapter=str(STAGE_C), parse_first=False), progress=False)
    yield structurer
    structurer.close()


def test_a_drifted_copy_is_decoded_again_constrained_to_the_texts_spans(stage_c) -> None:
    result = stage_c.structure(DRIFT_TEXT, DRIFT_SCHEMA)
    written = json.loads(result.output)
    first = ground(written, DRIFT_TEXT, DRIFT_SCHEMA)
    drifted = drifted_copies(written, first, DRIFT_SCHEMA, DRIFT_TEXT)
    assert drifted == ["/area"], f"stage C no longer drifts on this row ({result.output}): pick another"
    assert result.json["area"] == "arts district" and result.valid
    assert "/area" in result.grounding["repaired_paths"]
    assert "/area" not in result.grounding["ungrounded_paths"]
    assert result.attempts == 2  # the second, span-constrained pass
    assert result.json["name"] == written["name"]


def test_no_second_pass_without_a_drifted_copy_or_with_repair_off(stage_c, settings) -> None:
    from slot.structurer import Structurer

    plain = stage_c.structure("Alimentum is a pub in the city centre.", E2E_SCHEMA)
    assert plain.attempts == 1 and plain.grounding["repaired_paths"] == []
    off = Structurer.from_settings(settings.replace(adapter=str(STAGE_C), parse_first=False, repair_copies=False),
                                   progress=False)
    try:
        result = off.structure(DRIFT_TEXT, DRIFT_SCHEMA)
    finally:
        off.close()
    assert result.attempts == 1 and result.json["area"] == json.loads(result.output)["area"] == "artistic"
