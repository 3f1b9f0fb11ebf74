"""Every example answer the README shows is what the service really answers, and is right for its text.

The README's first example once showed ``"food": "English"`` for a text that says Italian (issue 25): the
shipped adapter had learnt the E2E file's values. These tests run the real model on each example.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLE_TEXT = (ROOT / "slot/samples/restaurant.txt").read_text(encoding="utf-8")
SAMPLE_SCHEMA = json.loads((ROOT / "slot/samples/restaurant.schema.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.model


def readme_sample_answer() -> dict:
    """The JSON the README prints under its `slot structure ... < slot/samples/restaurant.txt` example."""
    match = re.search(r"\$ \.venv/bin/slot structure --schema slot/samples/restaurant\.schema\.json "
                      r"< slot/samples/restaurant\.txt\n(\{.*?\n\})", README, re.S)
    assert match, "the README no longer shows the sample's answer"
    return json.loads(match.group(1))


def test_the_readme_sample_answer_is_right_for_the_text() -> None:
    shown = readme_sample_answer()
    for key, value in shown.items():
        if isinstance(value, str):
            assert value in SAMPLE_TEXT, f"README shows {key}={value!r}, which the sample text does not say"
    assert shown["food"] == "Italian" and shown["familyFriendly"] is True


def test_the_service_gives_the_readme_sample_answer(structurer) -> None:
    result = structurer.structure(SAMPLE_TEXT, SAMPLE_SCHEMA)
    assert result.valid
    assert result.json == readme_sample_answer()


def test_the_sdk_example_answer(structurer) -> None:
    assert "The Punter is a pub in the city centre near Café Sicilia." in README
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in ("name", "area", "near")},
              "required": ["name", "area", "near"], "additionalProperties": False}
    result = structurer.structure("The Punter is a pub in the city centre near Café Sicilia.", schema)
    assert result.json == {"name": "The Punter", "area": "city centre", "near": "Café Sicilia"}


@pytest.mark.parametrize(("text", "food"), [
    ("The Silver Spoon serves Italian food.", "Italian"),
    ("The Silver Spoon serves Thai food.", "Thai"),
])
def test_the_issue_examples_copy_the_food_the_text_says(structurer, text: str, food: str) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "food": {"type": "string"}},
              "required": ["name", "food"], "additionalProperties": False}
    assert structurer.structure(text, schema).json["food"] == food
