"""ValidateSchema answers as Structure would: what the grammar leaves out is listed, its prompt_tokens are those of
the rendering Structure uses (compact for a big schema), and a schema whose prompt leaves no room for a text even
compact is refused (issue 27)."""

from __future__ import annotations

import pytest

from slot.client import InvalidArgument, SlotClient

pytestmark = pytest.mark.model

WORDS = "harbour quantum velvet orchard lantern meadow copper glacier pepper saddle".split()
OVER = {"type": "object", "properties": {
    f"field_{i}": {"type": "string", "title": f"Field {i}", "examples": ["x" * 40],
                   "description": " ".join(WORDS[(i + j) % len(WORDS)] for j in range(30))}
    for i in range(300)}}
"""~100 KB: over the old 64 KB limit, and ~20k prompt tokens in full: served with the compact prompt."""
HUGE = {"type": "object", "properties": {f"customer_shipping_address_line_{i}": {"type": "string"}
                                         for i in range(1500)}}
"""~75 KB, under max_schema_bytes, but over max_prompt_tokens (6,144) even compact: refused up front."""


def test_a_schema_over_the_old_size_limit_is_structured_with_the_compact_prompt(server, structurer):
    import json

    from slot.schema import load_schema

    assert len(json.dumps(OVER)) > 65_536
    expected = structurer.rendering(load_schema(OVER))
    assert expected.compact and expected.full_tokens > 6144 > expected.tokens
    with SlotClient(server.target, timeout=600) as client:  # a prompt of ~5k tokens: slow on a loaded 2-core CPU
        answer = client.validate_schema(OVER)
        result = client.structure("The harbour field is blue.", OVER, max_tokens=24)
    assert answer["prompt_tokens"] == expected.tokens  # what Structure's prompt takes, with an empty text
    assert result.valid, result.errors
    # per decoding (key filling's probes count too, each the prompt plus at most max_tokens written): the text's
    # few tokens aside, the compact rendering, far under the full one
    per_decoding = result.usage["prompt_tokens"] / result.attempts
    assert expected.tokens < per_decoding < expected.tokens + 20 + 24


def test_a_schema_too_long_for_the_prompt_even_compact_is_refused_up_front_naming_the_budget(server):
    with SlotClient(server.target) as client:
        with pytest.raises(InvalidArgument, match="prompt budget of 6144 tokens") as validated:
            client.validate_schema(HUGE)
        with pytest.raises(InvalidArgument, match="prompt budget of 6144 tokens"):
            client.structure("Ada lives in London.", HUGE)
        assert client.validate_schema({"type": "object", "properties": {"a": {"type": "string"}}})["schema_hash"]
    assert "compact rendering" in str(validated.value)


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
        "ignored_keywords": ["contentMediaType"], "relaxed_keywords": []}
    assert not answer["relaxed"]
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


def test_validate_schema_says_a_schema_is_served_relaxed_and_strict_refuses_it(server):
    schema = {"type": "object", "properties": {"kind": {"type": "string"}, "n": {"type": "integer"}},
              "if": {"properties": {"kind": {"const": "count"}}}, "then": {"required": ["n"]}}
    with SlotClient(server.target) as client:
        answer = client.validate_schema(schema)
        with pytest.raises(InvalidArgument, match="strict: .*`if` and `then`") as refused:
            client.validate_schema(schema, strict=True)
        with pytest.raises(InvalidArgument, match="strict: "):
            client.structure("kind: count", schema, strict=True)
    assert answer["relaxed"] and answer["enforcement"]["relaxed_keywords"] == ["if", "then"]
    assert {"if", "then"} <= set(answer["post_checked_keywords"])
    assert refused.value.field_violations and "schema" in refused.value.field_violations[0][0]


def test_a_structure_response_reports_its_decodings(server):
    """An output breaking a relaxed keyword is decoded again (the server's relaxed_retries, 2): the attempts reach
    the wire, and with no valid output possible the answer is invalid with its errors."""
    from slot.v1 import slot_pb2

    impossible = {"type": "string", "enum": ["a", "b"], "not": {"enum": ["a", "b"]}}
    with SlotClient(server.target) as client:
        spent = client.structure("Pick a letter.", impossible)
        plain = client.structure("The Blue Door is a venue.", ENFORCED, max_tokens=32)
    assert spent.attempts == 3 and not spent.valid and "should not be valid" in spent.errors[0]
    assert plain.attempts == 1
    assert slot_pb2.StructureResponse.DESCRIPTOR.fields_by_name["attempts"].number == 16
