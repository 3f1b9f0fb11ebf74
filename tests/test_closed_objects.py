"""Closing open objects for the grammar: where it applies, where it must not, and that it only narrows."""

from __future__ import annotations

import json

import jsonschema
import pytest
from referencing.exceptions import Unresolvable

from slot.closed_objects import close_objects
from tests.conftest import SUITE as SUITE_ROOT

SUITE = SUITE_ROOT / "tests" / "draft2020-12"

ADDRESS = {"type": "object", "properties": {"city": {"type": "string"}}}


def test_open_objects_are_closed_everywhere_safe():
    schema = {"type": "object", "properties": {
        "address": ADDRESS,
        "tags": {"type": "array", "items": ADDRESS},
        "site": {"anyOf": [{"$ref": "#/$defs/Place"}, {"type": "null"}]}},
        "$defs": {"Place": {"type": "object", "properties": {"lat": {"type": "number"}}}}}
    closed = close_objects(schema)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["address"]["additionalProperties"] is False
    assert closed["properties"]["tags"]["items"]["additionalProperties"] is False
    assert closed["$defs"]["Place"]["additionalProperties"] is False
    assert "additionalProperties" not in schema and "additionalProperties" not in ADDRESS  # input untouched


@pytest.mark.parametrize("node", [
    {"properties": {"a": {}}, "additionalProperties": True},
    {"properties": {"a": {}}, "patternProperties": {"^x": {}}},
    {"properties": {"a": {}}, "required": ["a", "b"]},
    {"properties": {"a": {}}, "minProperties": 2},
    {"properties": {"a": {}}, "anyOf": [{"properties": {"b": {}}}]},
    {"properties": {"a": {}}, "$ref": "#/$defs/B", "$defs": {"B": {"type": "object"}}},
    {"properties": {"a": {}}, "dependentSchemas": {"a": {"properties": {"b": {}}}}},
])
def test_objects_that_ask_for_more_keys_stay_open(node):
    assert close_objects(node).get("additionalProperties") == node.get("additionalProperties")


@pytest.mark.parametrize("parent", [{"properties": {"name": {}}}, {"required": ["name"]},
                                    {"properties": {"name": {}}, "additionalProperties": True}])
def test_any_of_branches_of_an_object_that_shapes_keys_stay_open(parent):
    """A branch constrains the parent's object: closed, it would refuse the parent's keys (SchemaStore's asmdef:
    ``required property 'name' is unsatisfiable``). Objects inside the branch are still closed."""
    branch = {"properties": {"url": {"type": "object", "properties": {"host": {}}}}, "required": ["url"]}
    schema = {"type": "object", **parent, "anyOf": [branch, {"required": ["id"]}]}
    closed = close_objects(schema)
    assert "additionalProperties" not in closed["anyOf"][0]
    assert closed["anyOf"][0]["properties"]["url"]["additionalProperties"] is False
    instance = {"name": "a", "url": {"host": "h"}}
    assert jsonschema.Draft202012Validator(closed).is_valid(instance)


def test_any_of_branches_of_a_plain_union_are_closed():
    closed = close_objects({"anyOf": [{"type": "object", "properties": {"a": {}}}, {"type": "null"}]})
    assert closed["anyOf"][0]["additionalProperties"] is False


@pytest.mark.parametrize("keyword, value", [
    ("allOf", [{"properties": {"b": {}}}]), ("oneOf", [{"type": "object"}, {"type": "null"}]),
    ("not", {"required": ["b"]}), ("if", {"required": ["a"]}), ("unevaluatedProperties", False)])
def test_schemas_with_compositions_are_left_alone(keyword, value):
    schema = {"type": "object", "properties": {"a": {"type": "object", "properties": {"c": {}}}}, keyword: value}
    assert close_objects(schema) == schema


def test_keyword_names_as_property_names_do_not_block():
    schema = {"type": "object", "properties": {"not": {"type": "string"}, "if": {"type": "string"}}}
    assert close_objects(schema)["additionalProperties"] is False


def _suite_cases():
    for path in sorted(SUITE.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            yield path.name, case


def test_closing_only_narrows_on_the_json_schema_test_suite():
    """Every instance valid under the closed copy is valid under the schema itself (the suite's instances)."""
    assert SUITE.is_dir(), f"JSON-Schema-Test-Suite missing at {SUITE}"
    changed = checked = 0
    for name, case in _suite_cases():
        schema = case["schema"]
        closed = close_objects(schema)
        if closed == schema:
            continue
        changed += 1
        for test in case["tests"]:
            try:
                if jsonschema.Draft202012Validator(closed).is_valid(test["data"]):
                    checked += 1
                    assert jsonschema.Draft202012Validator(schema).is_valid(test["data"]), (name, case["description"])
            except Unresolvable:  # remote references in the suite: not what this test is about
                continue
    assert changed > 20 and checked > 20


@pytest.mark.model
def test_the_grammar_refuses_invented_keys_only_when_closing(base_structurer):
    from slot.grammar.cache import GrammarCache
    from slot.schema import load_schema

    engine = base_structurer.engine
    schema = load_schema({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
    text = '{"name":"Ada","age":36}'
    tokens = engine.tokenizer.encode(text, add_special_tokens=False)
    for close, accepted in ((True, False), (False, True)):
        grammar, _ = GrammarCache(engine.tokenizer, engine.vocab_size, close_objects=close).get(schema, "llguidance")
        matcher = grammar.matcher()
        assert (matcher.validate(tokens) == len(tokens)) is accepted
    assert base_structurer.grammar_document(schema)["additionalProperties"] is False
    assert "additionalProperties" not in schema.document  # post-validation keeps the schema as given
