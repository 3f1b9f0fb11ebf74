"""ValidateSchema answers as Structure would: what the grammar leaves out is listed, and a schema whose prompt
alone is over max_prompt_tokens is refused (issue 27)."""

from __future__ import annotations

import pytest

from slot.client import InvalidArgument, SlotClient

pytestmark = pytest.mark.model

WORDS = "harbour quantum velvet orchard lantern meadow copper glacier pepper saddle".split()
BIG = {"type": "object", "properties": {
    f"field_{i}": {"type": "string", "description": " ".join(WORDS[(i + j) % len(WORDS)] for j in range(14))}
    for i in range(400)}}
"""~50 KB, under max_schema_bytes, but ~12k prompt tokens: over the default max_prompt_tokens (6,144)."""


def test_a_schema_whose_prompt_alone_is_too_long_is_refused_as_structure_refuses_it(server):
    with SlotClient(server.target) as client:
        with pytest.raises(InvalidArgument, match="over the limit of 6144") as validated:
            client.validate_schema(BIG)
        with pytest.raises(InvalidArgument, match="over the limit of 6144") as structured:
            client.structure("Ada lives in London.", BIG)
        assert client.validate_schema({"type": "object", "properties": {"a": {"type": "string"}}})["schema_hash"]
    schema_alone, with_text = (int(str(e.value).split("the prompt is ")[1].split()[0]) for e in (validated, structured))
    assert 6144 < schema_alone < with_text < schema_alone + 20  # the same count, the text's few tokens aside


def test_validate_schema_lists_the_keywords_the_lenient_grammar_relaxed(server):
    schema = {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "code": {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "pattern": "^[a-z]+$"}]}}}
    with SlotClient(server.target) as client:
        answer = client.validate_schema(schema)
    assert answer["post_checked_keywords"] == ["oneOf", "uniqueItems"]


ENFORCED = {"type": "object", "title": "Venue", "properties": {
    "name": {"type": "string", "minLength": 1},
    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "logo": {"type": "string", "contentMediaType": "image/png"}}, "required": ["name"]}


def test_validate_schema_says_what_enforces_each_keyword_and_the_prompts_token_count(server, structurer):
    from slot.prompt import schema_prompt_tokens
    from slot.schema import load_schema

    with SlotClient(server.target) as client:
        answer = client.validate_schema(ENFORCED)
    assert answer["enforcement"] == {
        "grammar_keywords": ["items", "minLength", "properties", "required", "type"],
        "post_checked_keywords": ["uniqueItems"], "closed_object_paths": ["/"],
        "ignored_keywords": ["contentMediaType"]}
    assert answer["post_checked_keywords"] == ["uniqueItems"]
    expected = schema_prompt_tokens(structurer.engine.tokenizer, load_schema(ENFORCED).canonical)
    assert answer["prompt_tokens"] == expected and 0 < expected < 6144


def test_every_structure_response_carries_its_enforcement(server):
    from slot.v1 import slot_pb2

    with SlotClient(server.target) as client:
        decoded = client.structure("The Blue Door is a venue.", ENFORCED, max_tokens=32)
        free = client.structure("The Blue Door is a venue.", ENFORCED, max_tokens=32, unconstrained=True)
    assert decoded.enforcement["grammar_keywords"] == ["items", "minLength", "properties", "required", "type"]
    assert decoded.enforcement["closed_object_paths"] == ["/"]
    assert decoded.enforcement["ignored_keywords"] == ["contentMediaType"]
    assert free.enforcement["grammar_keywords"] == [] and free.enforcement["closed_object_paths"] == []
    assert set(free.enforcement["post_checked_keywords"]) == {"items", "minLength", "properties", "required", "type",
                                                              "uniqueItems"}
    assert slot_pb2.StructureResponse.DESCRIPTOR.fields_by_name["enforcement"].number == 15
