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
