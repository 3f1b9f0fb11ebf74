"""Extractive decoding: word spans, the span schema, and the ``extract`` grounding policy on the real model."""

from __future__ import annotations

import json

import pytest

from slot.extractive import is_free_text, span_schema, word_spans

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name", "food", "eatType", "area"],
          "properties": {"name": {"type": "string"}, "food": {"type": "string"}, "eatType": {"type": "string"},
                         "area": {"type": "string"}}}


def test_word_spans_are_runs_of_words_without_edge_punctuation() -> None:
    spans = word_spans('Zorvak House is a noodle bar (by the "harbour"), serving Peruvian food.', max_words=3)
    assert {"Zorvak House", "noodle bar", "harbour", "Peruvian food", "the", "Peruvian"} <= set(spans)
    assert not any(s.endswith((".", ",", ")", '"')) or s.startswith(("(", '"')) for s in spans)
    assert all(len(s.split()) <= 3 for s in spans)
    assert len(spans) == len(set(spans))
    assert word_spans("one two three four", max_words=4, limit=5) == ["one", "two", "three", "four", "one two"]
    assert "Joe" in word_spans("Joe's diner")


def test_span_schema_rewrites_only_free_text_leaves_on_property_paths() -> None:
    schema = {"type": "object", "properties": {
        "food": {"type": "string"}, "kind": {"type": "string", "enum": ["pub", "bar"]},
        "when": {"type": "string", "format": "date"}, "near": {"type": ["string", "null"]},
        "owner": {"type": "object", "properties": {"name": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
        "tags": {"type": "array", "items": {"type": "string"}}, "ref": {"$ref": "#/$defs/s"}},
        "$defs": {"s": {"type": "string"}}}
    pointers = ["/food", "/kind", "/when", "/near", "/owner/name", "/tags/0", "/ref", "/missing"]
    out, done = span_schema(schema, pointers, ["a", "b c"])
    assert done == ["/food", "/near", "/owner/name"]
    props = out["properties"]
    assert props["food"] == {"enum": ["a", "b c"]}
    assert props["near"] == {"enum": ["a", "b c", None]}
    assert props["owner"]["properties"]["name"]["anyOf"] == [{"enum": ["a", "b c"]}, {"type": "null"}]
    assert props["kind"] == schema["properties"]["kind"] and props["tags"] == schema["properties"]["tags"]
    assert schema["properties"]["food"] == {"type": "string"}  # the caller's schema is not touched
    assert not is_free_text({"type": "string", "pattern": "x"}) and is_free_text({"type": ["string", "null"]})
    assert span_schema(schema, ["/food"], []) == (schema, [])


@pytest.mark.model
def test_extract_policy_decodes_ungrounded_free_text_values_again_as_spans(base_structurer) -> None:
    text = "Zorvak House is a noodle bar by the harbour serving Peruvian food."
    kept = base_structurer.structure(text, SCHEMA)
    assert kept.grounding["ungrounded_paths"], "the base model invents a value here; the test needs one"
    extracted = base_structurer.structure(text, SCHEMA, grounding_policy="extract")
    assert extracted.grounding["extracted_paths"] == kept.grounding["ungrounded_paths"]
    spans = set(word_spans(text))
    for path in extracted.grounding["extracted_paths"]:
        assert extracted.json[path[1:]] in spans
    assert extracted.grounding["ungrounded_paths"] == [] and extracted.valid
    assert json.loads(extracted.output) == extracted.json
    assert extracted.usage.completion_tokens > kept.usage.completion_tokens  # both passes are counted
    assert kept.grounding["extracted_paths"] == []


@pytest.mark.model
def test_extract_policy_changes_nothing_when_every_value_is_grounded(base_structurer) -> None:
    text = "The Silver Spoon is a pub in the old town that serves Thai food."
    kept = base_structurer.structure(text, SCHEMA)
    assert kept.grounding["ungrounded_paths"] == []
    extracted = base_structurer.structure(text, SCHEMA, grounding_policy="extract")
    assert extracted.output == kept.output and extracted.grounding["extracted_paths"] == []
