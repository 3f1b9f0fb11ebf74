"""target_text: the exact text the compiled grammar accepts for a valid value (issue 27), checked on the real
llguidance grammar with the real tokenizer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slot.grammar.cache import GrammarCache
from slot.prompt import target_text
from slot.schema import load_schema

pytestmark = pytest.mark.model

X = {"type": "object", "properties": {"q": {}, "p": {}}}

CASES = [
    ("patternProperties value ordered by its subschema",
     {"type": "object", "properties": {"b": {}, "a": {}}, "patternProperties": {"^x": X}},
     {"x1": {"p": 2, "q": 1}, "a": 1, "b": 1}, '{"b":1,"a":1,"x1":{"q":1,"p":2}}'),
    ("additionalProperties through $ref",
     {"$defs": {"x": X}, "type": "object", "properties": {"b": {}}, "additionalProperties": {"$ref": "#/$defs/x"}},
     {"z": {"p": 2, "q": 1}, "b": 1}, '{"b":1,"z":{"q":1,"p":2}}'),
    ("$ref target's properties merged with its siblings",
     {"$defs": {"x": X}, "$ref": "#/$defs/x", "properties": {"r": {}, "q": {}}, "additionalProperties": {}},
     {"r": 3, "extra": 0, "p": 2, "q": 1}, '{"q":1,"p":2,"r":3,"extra":0}'),
    ("allOf written before properties comes first",
     {"$defs": {"shared": {"properties": {"w": {}}}}, "allOf": [{"$ref": "#/$defs/shared"}], "properties": {"r": {}}},
     {"r": 1, "w": 2}, '{"w":2,"r":1}'),
    ("the anyOf branch the value takes",
     {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}},
      "anyOf": [{"properties": {"kind": {"const": "a"}, "y": {}, "x": {}}},
                {"properties": {"kind": {"const": "b"}, "x": {}, "y": {}}}]},
     {"y": 1, "x": 2, "kind": "b"}, '{"kind":"b","x":2,"y":1}'),
    ("integral floats as integers",
     {"type": "object", "properties": {"n": {"type": "integer"}, "c": {"const": 2.0}, "e": {"enum": [1.0, 2.5]},
                                       "f": {"type": "number"}, "g": {"type": "number"}}},
     {"n": 3.0, "c": 2.0, "e": 1.0, "f": 4.0, "g": 4.5}, '{"n":3,"c":2,"e":1,"f":4,"g":4.5}'),
    ("a const object in its own key order", {"const": {"b": 1, "a": [1.0]}}, {"a": [1], "b": 1}, '{"b":1,"a":[1]}'),
    ("draft-7 items list and additionalItems",
     {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [X],
      "additionalItems": {"type": "integer"}}, [{"p": 1, "q": 2}, 5.0], '[{"q":2,"p":1},5]'),
]


@pytest.fixture(scope="module")
def grammar_of(base_structurer):
    """Compiles a schema as written (key order included: the hash cache would share one compile between
    schemas that differ only in key order), objects left open."""
    engine = base_structurer.engine
    backend = GrammarCache(engine.tokenizer, engine.vocab_size).backend("llguidance")

    def compile(schema: Any) -> Any:
        load_schema(schema)
        return backend.compile(schema, "test")

    return compile


def _accepts(grammar: Any, tokenizer: Any, text: str) -> bool:
    matcher = grammar.matcher()
    return bool(matcher.consume(tokenizer.encode(text, add_special_tokens=False))) and matcher.is_accepting()


@pytest.mark.parametrize("schema, gold, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_target_text_is_what_the_grammar_accepts(base_structurer, grammar_of, schema, gold, expected):
    assert not load_schema(schema).errors(gold)
    text = target_text(gold, schema)
    assert text == expected
    assert json.loads(text) == gold
    assert _accepts(grammar_of(schema), base_structurer.engine.tokenizer, text)


def test_the_plain_serialisations_are_refused(base_structurer, grammar_of):
    """What json.dumps in the value's own order writes is refused here: why target_text exists."""
    tokenizer = base_structurer.engine.tokenizer
    for _, schema, gold, _ in CASES[:6]:
        plain = json.dumps(gold, separators=(",", ":"))
        assert not _accepts(grammar_of(schema), tokenizer, plain), plain
