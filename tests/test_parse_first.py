"""The parse-first fast path: finding, repairing and checking a JSON value the text already holds, and the
Structurer answering with it (path 'parse', no tokens) or falling through to the model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slot.closed_objects import close_objects
from slot.parse_first import candidates, conform, parse_first, style_key, without_comments
from slot.schema import load_schema

VENUE = {"type": "object", "properties": {"name": {"type": "string"}, "rating": {"type": "number"},
                                          "vegan": {"type": "boolean"}, "tags": {"type": "array",
                                                                                 "items": {"type": "string"}}},
         "required": ["name", "rating", "vegan"]}
GOLD = {"name": "Blue Fig", "rating": 4.5, "vegan": True, "tags": ["cosy", "quiet"]}


def found(text: str, schema: dict[str, Any] = VENUE) -> Any:
    checked = load_schema(schema)
    answer = parse_first(text, checked, close_objects(checked.document))
    return None if answer is None else answer.value


@pytest.mark.parametrize("text", [
    # trailing commas, single quotes, Python literals
    "Sure! Here is the JSON:\n```json\n{'name': 'Blue Fig', 'rating': 4.5, 'vegan': True, 'tags': ['cosy', 'quiet'],}\n```"
    "\nLet me know if you need changes.",
    # comments after values (the comma inside the comment, as LLMs write it), unquoted keys
    "```\n{\n  name: \"Blue Fig\"  # from the menu,\n  rating: 4.5  // stars,\n  vegan: true,\n"
    "  tags: [\"cosy\", \"quiet\"]\n}\n```",
    # a missing closing brace, no fence, prose before
    'The venue is below.\n{"name": "Blue Fig", "rating": 4.5, "vegan": true, "tags": ["cosy", "quiet"]',
    # the key order of the text is not the schema's; an unclosed fence
    '```JSON\n{"tags": ["cosy", "quiet"], "vegan": true, "rating": 4.5, "name": "Blue Fig"}',
])
def test_broken_json_in_llm_replies_is_repaired(text):
    value = found(text)
    assert value == GOLD and list(value) == ["name", "rating", "vegan", "tags"]


def test_keys_in_another_naming_style_are_mapped_when_unambiguous():
    schema = {"type": "object", "properties": {"first_name": {"type": "string"}, "lastName": {"type": "string"},
                                               "home": {"type": "object",
                                                        "properties": {"zip_code": {"type": "string"}}}},
              "additionalProperties": False}
    text = '```json\n{"FirstName": "Ada", "last-name": "Lovelace", "Home": {"ZIP code": "W1"}}\n```'
    assert found(text, schema) == {"first_name": "Ada", "lastName": "Lovelace", "home": {"zip_code": "W1"}}
    ambiguous = {"type": "object", "properties": {"first_name": {"type": "string"}, "firstName": {"type": "string"}},
                 "additionalProperties": False}
    assert conform({"FIRST NAME": "Ada"}, ambiguous, ambiguous) == {"FIRST NAME": "Ada"}
    assert found('{"FIRST NAME": "Ada"}', ambiguous) is None
    assert style_key("First name") == style_key("first_name") == style_key("firstName") == "firstname"


@pytest.mark.parametrize("text", [
    "The Blue Fig is a cosy, quiet vegan place rated 4.5.",  # no JSON at all: the model's job
    '```json\n{"name": "Blue Fig", "rating": "4.5 stars", "vegan": true}\n```',  # a reformatted value
    '```json\n{"title": "Blue Fig", "stars": 4.5, "vegan": true}\n```',  # other key names
    '```json\n{"name": "Blue Fig", "vegan": true}\n```',  # a required field missing
    '```json\n{"name": "Blue Fig", "rating": 4.5, "vegan": true, "price": "$$"}\n```',  # a key the schema does not list
    '```json\n{"name": "Blue Fig", "rating": 4.5, "vegan": true, "tags": []}\n```'[:12],  # nothing but a fence
])
def test_anything_that_needs_judgement_falls_through(text):
    assert found(text) is None


def test_nothing_that_claims_something_falls_through():
    schema = {"type": "object", "properties": {"note": {"type": ["string", "null"]}}}
    assert found('{"note": null}', schema) is None


def test_fences_come_first_and_comments_in_strings_stay():
    text = 'Old: {"name": "X"}\n```json\n{"url": "http://a.b/#c", "n": 1} // checked\n```'
    assert list(candidates(text))[0].startswith('{"url"')
    code = "```python\nvenue = 1\n```\n```yaml\nname: x\n```"
    assert list(candidates(code)) == []  # fenced blocks of other languages are not JSON candidates
    assert json.loads(without_comments('{"url": "http://a.b/#c", "n": 1} // checked')) == {"url": "http://a.b/#c",
                                                                                           "n": 1}


def test_a_value_not_found_verbatim_in_the_text_is_refused():
    # unquoted keys and a missing comma: json_repair glues both fields into one string, which the text holds
    # only in pieces (grounding calls it 'inferred', not 'grounded'), so the model gets the text
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
              "required": ["a"], "additionalProperties": False}
    assert found('{a: "Blue Fig" # from the menu\n b: "Main Street"}', schema) is None
    assert found('{a: "Blue Fig", # from the menu\n b: "Main Street"}', schema) == {"a": "Blue Fig", "b": "Main Street"}


# -- the Structurer ----------------------------------------------------------------------------------------

TEXT = ("Sure! Here's the venue as JSON:\n```json\n{'name': 'Blue Fig', 'rating': 4.5, 'vegan': True, "
        "'tags': ['cosy', 'quiet'],}\n```\nHope this helps.")


@pytest.mark.model
def test_structurer_answers_from_the_text_without_tokens(structurer):
    deltas: list[str] = []
    result = structurer.structure(TEXT, VENUE, parse_first=True, on_delta=deltas.append)
    assert result.path == "parse" and result.valid and result.finish_reason == "stop"
    assert result.json == GOLD and json.loads(result.output) == GOLD and deltas == [result.output]
    assert result.usage.completion_tokens == 0 and result.usage.prompt_tokens == 0
    assert {f["path"] for f in result.grounding["fields"]} == {"/name", "/rating", "/vegan", "/tags/0", "/tags/1"}
    assert result.timings.total_ms < 1000 and result.to_dict()["path"] == "parse"


@pytest.mark.model
def test_structurer_runs_the_model_when_asked_or_when_parsing_fails(structurer):
    asked = structurer.structure(TEXT, VENUE, parse_first=False, max_tokens=64)
    assert asked.path == "model" and asked.usage.completion_tokens > 0
    prose = structurer.structure("The Blue Fig is a cosy vegan place rated 4.5.", VENUE, parse_first=True,
                                 max_tokens=64)
    assert prose.path == "model" and prose.usage.completion_tokens > 0
    unconstrained = structurer.structure(TEXT, VENUE, parse_first=True, constrained=False, max_tokens=64)
    assert unconstrained.path == "model"


@pytest.mark.model
def test_the_setting_is_on_by_default(structurer, settings):
    from slot.config import Settings
    from slot.structurer import Structurer

    assert Settings().parse_first is True
    default = Structurer(settings.replace(parse_first=True), structurer.engine, structurer.grammars,
                         default_adapter=structurer.default_adapter)
    assert default.structure(TEXT, VENUE).path == "parse"


def test_cli_flag_turns_it_off():
    from slot.cli import build_parser
    from slot.config import Settings

    argv = ["structure", "--schema", "s.json", "--no-parse-first"]
    assert Settings.from_args(build_parser(argv).parse_args(argv)).parse_first is False
