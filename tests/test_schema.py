"""Schema layer: parsing, meta-schema checks, local references only (tests/test_local_refs.py serves them in
full), limits, canonical hash."""

from __future__ import annotations

import json

import pytest

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.schema import Limits, load_schema

FLAT = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def test_dict_text_and_bytes_give_the_same_hash():
    from_dict = load_schema(FLAT)
    from_text = load_schema(json.dumps(FLAT, indent=4))
    reordered = load_schema(json.dumps({"required": ["a"], "properties": {"a": {"type": "string"}}, "type": "object"}))
    assert from_dict.hash == from_text.hash == reordered.hash == load_schema(json.dumps(FLAT).encode()).hash
    assert load_schema({"type": "object"}).hash != from_dict.hash


def test_draft_is_chosen_by_dollar_schema():
    assert load_schema(FLAT).validator_class.__name__ == "Draft202012Validator"
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **FLAT}
    assert load_schema(draft7).validator_class.__name__ == "Draft7Validator"
    with pytest.raises(UnsupportedSchemaError, match="unsupported \\$schema"):
        load_schema({"$schema": "https://example.com/my-schema", **FLAT})


@pytest.mark.parametrize("raw, message, keyword, path", [
    ('{"type": ', "not valid JSON", "", ""),
    ("", "schema is empty", "", ""),
    ("[1, 2]", "must be a JSON object or boolean", "", ""),
    ('{"type": "strin"}', "violates the meta-schema", "anyOf", "/type"),
    ('{"properties": {"a": {"minLength": -1}}}', "violates the meta-schema", "minimum", "/properties/a/minLength"),
    ('{"$ref": "http://127.0.0.1:9/s.json"}', "only local references", "$ref", "/$ref"),
    ('{"properties": {"a": {"$ref": "other.json#/x"}}}', "only local references", "$ref", "/properties/a/$ref"),
    ('{"$ref": "#/$defs/missing"}', "does not resolve", "$ref", "/$ref"),
    ('{"$ref": "#"}', "reference cycle", "$ref", ""),
    ('{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}',
     "reference cycle", "$ref", None),
    ('{"$dynamicRef": "#meta"}', "does not resolve", "$dynamicRef", "/$dynamicRef"),  # served when it resolves
    ('{"$id": "https://example.com/a.json", "$ref": "b.json"}', "never fetches remote schemas", "$ref", "/$ref"),
])
def test_refusals_are_typed_and_precise(raw, message, keyword, path):
    with pytest.raises(SchemaError, match=message) as caught:
        load_schema(raw)
    assert caught.value.field == "schema"
    if keyword:
        assert caught.value.keyword == keyword
    if path is not None:
        assert caught.value.path == path


def test_recursion_through_properties_is_allowed():
    tree = {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}}
    assert load_schema(tree).document == tree


def test_limits():
    limits = Limits(max_bytes=2000, max_depth=4, max_enum_values=10, max_nodes=50)
    with pytest.raises(SchemaError, match="enum has 11 values"):
        load_schema({"enum": list(range(11))}, limits)
    deep: dict = {"type": "string"}
    for _ in range(5):
        deep = {"type": "object", "properties": {"x": deep}}
    with pytest.raises(SchemaError, match="deeper than 4"):
        load_schema(deep, limits)
    with pytest.raises(SchemaError, match="over the limit of 2000 bytes"):
        load_schema({"description": "x" * 3000}, limits)
    wide = {"type": "object", "properties": {f"k{i}": {"type": "string"} for i in range(60)}}
    with pytest.raises(SchemaError, match="more than 50 subschemas"):
        load_schema(wide, Limits(max_nodes=50))


def test_the_byte_limit_was_raised_and_the_hostile_input_bounds_kept():
    """issue 27: real schemas up to the measured limit load (benchmarks/results/big_schemas_2026-12-07.md)."""
    from slot.config import Settings

    assert Limits().max_bytes == Settings().max_schema_bytes > 65_536
    assert (Limits().max_depth, Limits().max_enum_values, Limits().max_nodes) == (24, 4_096, 5_000)
    wide = {"type": "object", "properties": {f"field_{i}": {"type": "string", "description": "x" * 200}
                                             for i in range(400)}}
    assert len(json.dumps(wide)) > 65_536 and load_schema(wide).document == wide


def test_thousand_level_nesting_is_refused_not_crashing():
    raw = '{"type":"object","properties":{"a":' * 1000 + "{}" + "}}" * 1000
    with pytest.raises(SchemaError):
        load_schema(raw)


def test_non_utf8_bytes():
    with pytest.raises(SchemaError, match="not valid UTF-8"):
        load_schema(b'{"type": "\xff"}')


def test_errors_of_an_instance_are_reported_with_paths():
    schema = load_schema({"type": "object", "properties": {"n": {"type": "integer"}, "e": {"format": "email"}}})
    assert schema.errors({"n": 1, "e": "a@b.co"}) == []
    errors = schema.errors({"n": "x", "e": "not-an-email"})
    assert any(e.startswith("/n:") for e in errors) and any(e.startswith("/e:") for e in errors)


# -- pattern checks on model output are bounded in time (slot.patterns) -----------------------------------

HOSTILE = "^(a|aa)+$"  # a backtracking engine takes ~1.6^n steps on "aaa…a!"; Python re needs ~20 s for n=40
BAD = "a" * 40 + "!"


@pytest.mark.parametrize("schema, instance", [
    ({"type": "string", "pattern": HOSTILE}, BAD),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "string", "pattern": HOSTILE}, BAD),
    ({"type": "array", "items": {"type": "string", "pattern": HOSTILE}}, [BAD] * 20),  # one budget for all
    ({"type": "object", "patternProperties": {HOSTILE: {}}}, {BAD: 1}),
    ({"type": "object", "additionalProperties": False, "patternProperties": {HOSTILE: {}}}, {BAD: 1}),
    ({"type": "object", "unevaluatedProperties": False, "patternProperties": {HOSTILE: {}}}, {BAD: 1}),
    ({"$schema": "https://json-schema.org/draft/2019-09/schema", "type": "object", "unevaluatedProperties": False,
      "patternProperties": {HOSTILE: {}}}, {BAD: 1}),
    ({"type": "object", "propertyNames": {"pattern": HOSTILE}}, {BAD: 1}),
])
def test_pattern_checks_on_output_are_bounded(schema, instance):
    # keyword order matters: additionalProperties / unevaluatedProperties come first, so their own
    # regex bookkeeping (not the patternProperties keyword) is what meets the hostile key
    import time

    checked = load_schema(schema)
    started = time.perf_counter()
    errors = checked.errors(instance)
    assert time.perf_counter() - started < 2.0
    assert errors and "could not be checked within" in errors[-1], errors


def test_bounded_patterns_keep_their_meaning():
    schema = load_schema({"type": "object", "properties": {"s": {"pattern": "^a+$"}},
                          "patternProperties": {"^x-": {"type": "integer"}}, "additionalProperties": False})
    assert schema.errors({"s": "aaa", "x-n": 1}) == []
    assert schema.errors({"s": "b"}) == ["/s: 'b' does not match '^a+$'"]
    assert schema.errors({"x-n": "one"}) == ["/x-n: 'one' is not of type 'integer'"]
    assert "'y' does not match any of the regexes" in schema.errors({"y": 1})[0]


def test_a_pattern_the_checker_cannot_compile_is_refused():
    with pytest.raises(UnsupportedSchemaError, match="pattern"):
        load_schema({"type": "string", "pattern": "(unclosed"})


@pytest.mark.parametrize("draft", ["http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-07/schema#",
                                   "https://json-schema.org/draft/2020-12/schema"])
@pytest.mark.parametrize("name, bad, good", [("iri", "not an iri", "https://example.com/ü"),
                                             ("uuid", "1234", "2c7b6d3e-9f1a-4c8e-8f2b-3a1d5e6f7a8b"),
                                             ("date", "2024-13-40", "2024-05-01")])
def test_post_validation_checks_formats_alike_whatever_the_draft(draft, name, bad, good):
    """The draft-04 checker knows no iri, uuid or date: a non-IRI used to pass while `format` was reported
    checked (issue 27). Every draft is checked with the newest checker."""
    schema = load_schema({"$schema": draft, "type": "string", "format": name})
    assert schema.errors(bad) and not schema.errors(good)
