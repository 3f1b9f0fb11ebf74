"""End to end through the Structurer with the real model: every schema shape comes out valid."""

from __future__ import annotations

import pytest

from slot.errors import InvalidRequestError, SchemaError, UnknownAdapterError

pytestmark = pytest.mark.model

CASES = {
    "flat": ({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False},
             "Our new hire, Maria Lopez, is 34 years old."),
    "nested": ({"type": "object", "properties": {
                    "customer": {"type": "object", "properties": {"name": {"type": "string"},
                                                                  "city": {"type": "string"}},
                                 "required": ["name", "city"], "additionalProperties": False},
                    "total": {"type": "number"}},
                "required": ["customer", "total"], "additionalProperties": False},
               "Order from John Smith (Boston), total due $42.50."),
    "array": ({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"},
                                                         "minItems": 1, "maxItems": 4}},
               "required": ["tags"], "additionalProperties": False},
              "Tags for this post: python, grpc, json."),
    "enum": ({"type": "object", "properties": {"priority": {"enum": ["low", "medium", "high"]},
                                               "done": {"type": "boolean"}},
              "required": ["priority", "done"], "additionalProperties": False},
             "This ticket is high priority and still open."),
    "optional": ({"type": "object", "properties": {"title": {"type": "string"}, "year": {"type": "integer"},
                                                   "director": {"type": "string"}},
                  "required": ["title"], "additionalProperties": False},
                 "I watched Alien last night."),
    "nullable": ({"type": "object", "properties": {"email": {"type": ["string", "null"], "format": "email"},
                                                   "phone": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
                  "required": ["email", "phone"], "additionalProperties": False},
                 "Contact: ana@example.org, no phone number given."),
    "refs": ({"$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                                  "required": ["x", "y"], "additionalProperties": False}},
              "type": "object", "properties": {"start": {"$ref": "#/$defs/point"}, "end": {"$ref": "#/$defs/point"}},
              "required": ["start", "end"], "additionalProperties": False},
             "The line goes from (1, 2) to (5, 7)."),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_schema_shape_comes_out_valid(structurer, name):
    schema, text = CASES[name]
    result = structurer.structure(text, schema, max_tokens=200)
    assert result.finish_reason == "stop", result.errors
    assert result.valid, result.errors
    assert result.errors == [] and result.json is not None
    assert result.usage.completion_tokens > 0 and result.timings.total_ms > 0
    assert result.grounding is not None and "fields" in result.grounding


def test_e2e_rows_are_schema_valid(structurer, e2e_rows):
    rows = e2e_rows[::600]
    results = [structurer.structure(r["input_text"], r["json_schema"]) for r in rows]
    assert all(r.valid for r in results), [r.errors for r in results if not r.valid]


@pytest.mark.parametrize("text, schema, error, field", [
    ("", {"type": "object"}, InvalidRequestError, "text"),
    ("x" * 40_000, {"type": "object"}, InvalidRequestError, "text"),
    ("bad \ud800 surrogate", {"type": "object"}, InvalidRequestError, "text"),
    ("fine", '{"type": ', SchemaError, "schema"),
    ("fine", {"$ref": "https://example.com/s.json"}, SchemaError, "schema"),
    ("fine", {"type": "object", "properties": {"a": False}, "required": ["a"]}, SchemaError, "schema"),
])
def test_bad_input_is_a_typed_error(structurer, text, schema, error, field):
    with pytest.raises(error) as caught:
        structurer.structure(text, schema)
    assert caught.value.field == field and str(caught.value)


def test_unknown_adapter_and_absurd_options(structurer):
    schema, text = CASES["flat"]
    with pytest.raises(UnknownAdapterError):
        structurer.structure(text, schema, adapter="nope")
    for options in ({"max_tokens": -1}, {"max_tokens": 10**6}, {"temperature": float("nan")},
                    {"grammar_backend": "regex"}, {"grounding_policy": "drop"}):
        with pytest.raises(InvalidRequestError):
            structurer.structure(text, schema, **options)


def test_grounding_policy_fail_lists_the_paths(structurer):
    from slot.errors import UngroundedError

    schema = {"type": "object", "properties": {"city": {"enum": ["Paris"]}}, "required": ["city"],
              "additionalProperties": False}
    text = "The meeting is on Tuesday in the big room."  # the grammar forces "Paris", which the text never says
    kept = structurer.structure(text, schema)
    assert kept.json == {"city": "Paris"} and kept.grounding["ungrounded_paths"] == ["/city"]
    with pytest.raises(UngroundedError, match="/city"):
        structurer.structure(text, schema, grounding_policy="fail")


def test_grounding_policy_null_replaces_only_where_null_is_allowed(structurer):
    schema = {"type": "object", "properties": {"city": {"enum": ["Paris", None]}, "room": {"enum": ["Blue"]}},
              "required": ["city", "room"], "additionalProperties": False}
    text = "The meeting is on Tuesday."
    kept = structurer.structure(text, schema)
    nulled = structurer.structure(text, schema, grounding_policy="null")
    assert nulled.json["room"] == "Blue"  # ungrounded, but the schema does not allow null there
    assert "/room" in kept.grounding["ungrounded_paths"]
    assert nulled.json["city"] is None  # either the model wrote null, or the policy replaced "Paris"


def _with_budget(structurer, retries: int):
    """A Structurer over the same engine and grammar cache with another ``relaxed_retries``."""
    from slot.structurer import Structurer

    return Structurer(structurer.settings.replace(relaxed_retries=retries), structurer.engine, structurer.grammars,
                      default_adapter=structurer.default_adapter)


def test_an_output_breaking_a_relaxed_keyword_is_decoded_again_until_one_is_valid(structurer):
    """The grammar drops ``not``; the schema forbids the greedy answer itself (found by decoding greedily first),
    so the first decoding is invalid and a sampled one answers (issue 27, point 1)."""
    text = "We met a few people there."
    plain = {"type": "object", "properties": {"people": {"type": "integer", "minimum": 0, "maximum": 20}},
             "required": ["people"]}
    greedy = structurer.structure(text, plain).json["people"]
    schema = {"type": "object", "properties": {"people": {"type": "integer", "minimum": 0, "maximum": 20,
                                                          "not": {"const": greedy}}}, "required": ["people"]}
    once = _with_budget(structurer, 0).structure(text, schema)
    assert once.json == {"people": greedy} and not once.valid and once.attempts == 1  # greedy breaks `not`
    assert once.enforcement.relaxed_keywords == ["not"] and "not" in once.enforcement.post_checked_keywords
    retried = _with_budget(structurer, 4).structure(text, schema)
    assert retried.valid and retried.errors == [] and 2 <= retried.attempts <= 5
    assert retried.json["people"] != greedy
    assert retried.usage.prompt_tokens == retried.attempts * once.usage.prompt_tokens  # usage sums every decoding


def test_when_the_retry_budget_is_spent_the_first_output_answers_invalid_with_its_errors(structurer):
    schema = {"type": "string", "enum": ["a", "b"], "not": {"enum": ["a", "b"]}}  # no value can satisfy it
    once = _with_budget(structurer, 0).structure("Pick a letter.", schema)
    spent = structurer.structure("Pick a letter.", schema)  # the default budget: 2 more decodings
    assert structurer.settings.relaxed_retries == 2 and spent.attempts == 3 and once.attempts == 1
    assert not spent.valid and spent.errors and "should not be valid" in spent.errors[0]
    assert spent.output == once.output  # the first (greedy) output, as a stream would have sent it
    assert spent.usage.prompt_tokens == 3 * once.usage.prompt_tokens
    assert spent.to_dict()["attempts"] == 3


def test_a_strict_request_refuses_a_schema_the_grammar_would_relax(structurer):
    from slot.errors import UnsupportedSchemaError

    schema = {"type": "object", "properties": {"a": {"type": "string", "not": {"const": "x"}}}}
    assert structurer.structure("a is y", schema, max_tokens=16).enforcement.relaxed_keywords == ["not"]
    with pytest.raises(UnsupportedSchemaError, match="strict: .* cannot enforce `not`") as refused:
        structurer.structure("a is y", schema, strict=True)
    assert refused.value.keyword == "not" and refused.value.status == "INVALID_ARGUMENT"
    with pytest.raises(UnsupportedSchemaError, match="`not`"):  # before parse-first could answer from the text
        structurer.structure('The record is {"a": "yellow"} as sent.', schema, strict=True, parse_first=True)
    assert structurer.structure('The record is {"a": "yellow"} as sent.', schema, parse_first=True).path == "parse"
    exact = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"},
                                                       "uniqueItems": True}}, "required": ["tags"]}
    served = structurer.structure("tags: red, green", exact, strict=True, max_tokens=24)  # post-checked, not relaxed
    assert served.enforcement.post_checked_keywords == ["uniqueItems"] and served.enforcement.relaxed_keywords == []
