"""Schemas not even llguidance's lenient compile takes are rewritten for the grammar only (``slot.grammar.rewrites``):
each keyword dropped is listed relaxed, a strict request refuses the schema naming it, the grammar still takes the
valid instances, and post-validation against the schema as given rejects what the dropped keyword forbids."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import llguidance
import pytest

from slot.enforcement import enforcement
from slot.errors import UnsupportedSchemaError
from slot.grammar.cache import GrammarCache
from slot.grammar.rewrites import rewrite
from slot.schema import load_schema
from slot.validate import validate_output

I64_MIN, I64_MAX = -2**63, 2**63 - 1


@pytest.fixture(scope="module")
def tokenizer(settings):
    from slot.models import load_tokenizer, resolve_base_model

    return load_tokenizer(resolve_base_model(settings.base_model, settings.home_path, progress=False))


@pytest.fixture(scope="module")
def grammars(tokenizer) -> GrammarCache:
    return GrammarCache(*tokenizer)


def _accepts(compiled: Any, tokenizer: Any, text: str) -> bool:
    matcher = compiled.matcher()
    return bool(matcher.consume(tokenizer.encode(text, add_special_tokens=False))) and matcher.is_accepting()


CYCLE_ANY_OF = {"$ref": "#/$defs/tree", "$defs": {"tree": {
    "type": "object", "additionalProperties": {"minProperties": 1,
                                              "anyOf": [{"type": "string"}, {"$ref": "#/$defs/tree"}]}}}}
"""resjson: a constraint beside an ``anyOf`` whose branch closes a cycle of references."""
CYCLE_ALL_OF = {"$schema": "http://json-schema.org/draft-04/schema#", "$ref": "#/definitions/base", "definitions": {
    "base": {"type": "object", "properties": {"name": {"type": "string"},
                                              "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}},
    "node": {"type": "object", "allOf": [{"$ref": "#/definitions/base"}], "properties": {"size": {"type": "integer"}}}}}
"""web-types: a definition that extends its base through ``allOf``, the base holding it again."""

CASES = [
    pytest.param({"type": "object", "properties": {"n": {"type": "integer", "minimum": I64_MIN, "maximum": I64_MAX},
                                                   "count": {"type": "integer", "minimum": 0, "maximum": 10}}},
                 "minimum", '{"n":-5,"count":3}', f'{{"n":{I64_MIN - 1},"count":3}}', '{"n":-5,"count":11}',
                 id="64-bit-minimum"),  # enonic-xp: a long's range; llguidance fails on -2**63 alone
    pytest.param({"type": "integer", "minimum": 0, "maximum": 2**64}, "maximum", "18446744073709551615",
                 "18446744073709551617", "-1", id="beyond-64-bits"),  # "Value is not JSON serializable"
    pytest.param({"type": "object", "properties": {"id": {"type": "string", "pattern": "^(?!tmp)[a-z]+$"},
                                                   "code": {"type": "string", "pattern": "^[A-Z]{2}$"}}},
                 "pattern", '{"id":"abc","code":"AB"}', '{"id":"tmpx","code":"AB"}', '{"id":"abc","code":"abc"}',
                 id="look-ahead"),
    pytest.param({"type": "string", "pattern": "^(a+)-\\1$", "maxLength": 8}, "pattern", '"aa-aa"', '"a-aa"',
                 '"aaaa-aaaa"', id="backreference"),
    pytest.param({"type": "object", "patternProperties": {"^(?!x-)[a-z-]+$": {"type": "integer"},
                                                          "^x-": {"type": "string"}},
                  "additionalProperties": False},
                 "additionalProperties,patternProperties", '{"abc":1,"x-a":"s"}', '{"ABC":1}', '{"x-a":1}',
                 id="pattern-properties-look-ahead"),
    pytest.param({"type": "object", "patternProperties": {"^a": {"type": "integer"}, "^ab": {"minimum": 5}}},
                 "patternProperties", '{"a":1,"abc":7}', '{"abc":2}', '{"a":"s"}',
                 id="pattern-properties-overlapping"),
    pytest.param(CYCLE_ANY_OF, "minProperties", '{"a":"x","b":{"c":"y"}}', '{"a":{}}', '{"a":1}',
                 id="cycle-anyOf-sibling"),
    pytest.param(CYCLE_ALL_OF, "properties,type", '{"name":"a","children":[{"name":"b","size":2}]}',
                 '{"children":[{"size":"big"}]}', '{"name":1}', id="cycle-allOf-inheritance"),
]
"""(schema, the keywords dropped, a valid instance, an instance the grammar takes that breaks a dropped keyword, an
instance the grammar still rejects: what was not dropped stays enforced)."""


@pytest.mark.model
@pytest.mark.parametrize("schema, keywords, valid, broken, rejected", CASES)
def test_a_schema_the_engine_fails_on_is_rewritten_listed_and_post_checked(grammars, tokenizer, schema, keywords,
                                                                           valid, broken, rejected):
    checked = load_schema(schema)
    given = copy.deepcopy(checked.document)
    compiled, _ = grammars.get(checked, "llguidance")
    named = keywords.split(",")
    assert compiled.post_checked == named
    assert compiled.enforcement.relaxed_keywords == named
    assert compiled.document is not None and compiled.document != given and checked.document == given
    assert _accepts(compiled, tokenizer[0], valid) and validate_output(valid, checked).valid
    assert _accepts(compiled, tokenizer[0], broken)  # the grammar leaves the keyword out here ...
    assert validate_output(broken, checked).errors  # ... post-validation against the schema as given does not
    assert not _accepts(compiled, tokenizer[0], rejected)  # dropped only where the engine fails
    with pytest.raises(UnsupportedSchemaError) as caught:
        grammars.get(checked, "llguidance", strict=True)
    assert caught.value.keyword == keywords and caught.value.message.startswith("strict: ")
    assert all(f"`{name}`" in caught.value.message for name in named)


@pytest.mark.model
def test_float_bounds_near_the_double_limit_are_dropped_and_listed(grammars, tokenizer):
    """venvironment: ``minimum: -1.79769e308`` (llguidance: "Failed to generate regex for float range")."""
    checked = load_schema({"type": "number", "exclusiveMinimum": 0, "maximum": 1.79769e308})
    compiled, _ = grammars.get(checked, "llguidance")
    assert compiled.post_checked == ["maximum"]
    assert _accepts(compiled, tokenizer[0], "2.5") and not _accepts(compiled, tokenizer[0], "0")


@pytest.mark.model
def test_unknown_keys_that_llguidance_takes_for_siblings_on_a_cycle_are_removed_unlisted(grammars, tokenizer):
    """cargo-make: ``x-taplo`` beside an ``anyOf`` on a cycle of references made "circular references with sibling
    keys"; the key constrains nothing, so the rewrite changes no meaning and lists nothing."""
    schema = {"$ref": "#/$defs/env", "$defs": {
        "env": {"type": "object", "additionalProperties": {"$ref": "#/$defs/value"}},
        "value": {"x-taplo": {"hidden": True}, "anyOf": [{"type": "string"}, {"$ref": "#/$defs/env"}]}}}
    checked = load_schema(schema)
    compiled, _ = grammars.get(checked, "llguidance", strict=True)
    assert compiled.post_checked == [] and not compiled.enforcement.relaxed
    assert "x-taplo" not in compiled.document["$defs"]["value"]
    assert _accepts(compiled, tokenizer[0], '{"a":"x","b":{"c":"y"}}')
    assert not _accepts(compiled, tokenizer[0], '{"a":1}')


def _engine_fails_on_cycle(grammars: GrammarCache, document: Any) -> bool:
    """Whether llguidance's lenient compile refuses a document for a cycle of references with sibling keys."""
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        document, defaults={"whitespace_flexible": False}, overrides={"lenient": True})
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(
        grammar, grammars.backend("llguidance").tokenizer)
    return is_error and any("circular references with sibling keys" in message for message in messages)


@pytest.mark.model
@pytest.mark.parametrize("schema", [CYCLE_ANY_OF, CYCLE_ALL_OF], ids=["anyOf", "allOf"])
def test_the_cycles_rewritten_are_ones_the_engine_refuses(grammars, schema):
    """The cases above fail in llguidance as given, and as SLOT hands them over (slot.local_refs leaves them)."""
    assert _engine_fails_on_cycle(grammars, schema)
    assert _engine_fails_on_cycle(grammars, grammars.document(load_schema(schema)))


NODE = {"$defs": {"node": {"type": "object", "properties": {
    "kids": {"type": "array", "items": {"$ref": "#/$defs/node", "required": ["kids"]}}}}}, "$ref": "#/$defs/node"}
"""A ``$ref`` with a sibling constraint on its own cycle (draft 2020-12: the reference and the sibling both apply;
every kid has kids)."""


@pytest.mark.model
def test_a_sibling_of_a_reference_on_its_cycle_is_dropped_for_the_engine_and_listed(grammars, tokenizer):
    """The engine given the document as written: the sibling is dropped where the reference closes its cycle and
    named; slot.local_refs serves the same schema exactly (the reference becomes an allOf of its target's
    keywords), so the rewrite is the fallback for what that leaves."""
    assert _engine_fails_on_cycle(grammars, NODE)
    compiled = grammars.backend("llguidance").compile(copy.deepcopy(NODE), "node")
    assert compiled.post_checked == ["required"]
    assert compiled.document["$defs"]["node"]["properties"]["kids"]["items"] == {"$ref": "#/$defs/node"}
    checked = load_schema(NODE)
    assert enforcement(checked, relaxed=compiled.post_checked).relaxed_keywords == ["required"]  # strict refuses
    assert _accepts(compiled, tokenizer[0], '{"kids":[{"kids":[]}]}') and validate_output('{"kids":[{"kids":[]}]}',
                                                                                          checked).valid
    assert _accepts(compiled, tokenizer[0], '{"kids":[{}]}')  # the grammar leaves it out ...
    assert validate_output('{"kids":[{}]}', checked).errors  # ... post-validation does not
    assert not _accepts(compiled, tokenizer[0], '{"kids":[1]}')
    served, _ = grammars.get(checked, "llguidance", strict=True)
    assert served.post_checked == [] and not _accepts(served, tokenizer[0], '{"kids":[{}]}')


@pytest.mark.model
def test_draft_7_siblings_of_a_reference_on_a_cycle_are_removed_unlisted(grammars, tokenizer):
    """metaschema-draft-07-unofficial-strict: up to draft 7 a ``$ref`` makes the keywords beside it ignored, so
    removing them for the engine changes nothing a validator checks: served strict, nothing named, and the grammar
    takes what the draft's validator takes (the siblings would refuse ``{"kids":5}`` inside)."""
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "#/definitions/entity", "definitions": {
        "base": {"properties": {"kids": {"items": {"type": "object"}}}},
        "entity": {"$ref": "#/definitions/base",
                   "properties": {"kids": {"type": "array", "items": {"$ref": "#/definitions/entity"}}}}}}
    checked = load_schema(schema)
    assert _engine_fails_on_cycle(grammars, grammars.document(checked))
    compiled, _ = grammars.get(checked, "llguidance", strict=True)
    assert compiled.post_checked == [] and not compiled.enforcement.relaxed
    assert compiled.document["definitions"]["entity"] == {"$ref": "#/definitions/base"}
    assert _accepts(compiled, tokenizer[0], '{"kids":[{"kids":5}]}') and validate_output('{"kids":[{"kids":5}]}',
                                                                                         checked).valid
    assert not _accepts(compiled, tokenizer[0], '{"kids":[1]}')


@pytest.mark.model
def test_only_the_parts_the_cycle_fails_on_stay_dropped(grammars, tokenizer):
    """``tree`` intersects its sibling constraints (which reach the cycle) with an anyOf too, but that intersection
    compiles: its anyOf is put back; only the constraint beside the anyOf that closes the cycle stays out."""
    schema = {"$ref": "#/$defs/tree", "$defs": {"tree": {
        "type": "object", "properties": {"up": {"$ref": "#/$defs/tree"}},
        "anyOf": [{"required": ["up"]}, {"required": ["down"]}],
        "additionalProperties": {"minProperties": 1, "anyOf": [{"type": "string"}, {"$ref": "#/$defs/tree"}]}}}}
    checked = load_schema(schema)
    compiled, _ = grammars.get(checked, "llguidance")
    assert compiled.post_checked == ["minProperties"]
    tree = compiled.document["$defs"]["tree"]
    assert tree["anyOf"] == schema["$defs"]["tree"]["anyOf"] and "minProperties" not in tree["additionalProperties"]
    assert _accepts(compiled, tokenizer[0], '{"up":{"down":"x"},"down":"y"}')
    assert not _accepts(compiled, tokenizer[0], '{"a":"x"}')  # the anyOf kept: "up" or "down" required


@pytest.mark.model
@pytest.mark.parametrize("schema, keyword", [
    ({"type": "string", "pattern": "[^\\s\\S]"}, "pattern"),  # a regex no string matches: no limit of the engine
    ({"type": "string", "pattern": "^[a-z]+$", "format": "email"}, "pattern"),  # the pattern alone compiles
    ({"type": "integer", "minimum": 5, "maximum": 3}, ""),
])
def test_a_schema_that_admits_nothing_is_still_refused(grammars, schema, keyword):
    with pytest.raises(UnsupportedSchemaError) as caught:
        grammars.get(load_schema(schema), "llguidance")
    assert caught.value.keyword == keyword


# -- the rewrite alone, with a stand-in engine ------------------------------------------------------------------

def _no_lookaround(probe: dict[str, Any]) -> bool:
    """A stand-in engine that fails on look-arounds only."""
    regexes = [probe.get("pattern", "")] + list(probe.get("patternProperties", {}))
    return any("(?" in regex for regex in regexes)


@pytest.mark.parametrize("additional, expected", [
    (None, None), (True, True), (False, {"type": "integer"}),
    ({"type": "string"}, {"anyOf": [{"type": "string"}, {"type": "integer"}]}),
])
def test_pattern_properties_left_out_keep_their_keys_allowed(additional, expected):
    schema: dict[str, Any] = {"type": "object", "patternProperties": {"^(?!_)": {"type": "integer"}, "^_": {}}}
    if additional is not None:
        schema["additionalProperties"] = additional
    done = rewrite(schema, {"patternProperties"}, _no_lookaround)
    assert done.changed and done.document["patternProperties"] == {"^_": {}}
    assert done.document.get("additionalProperties") == expected
    assert done.dropped == ({"patternProperties"} if additional in (None, True) else
                            {"patternProperties", "additionalProperties"})
    for instance in ({"a": 1}, {"_x": "s", "b": 2}, {}):  # the grammar's document takes every valid instance
        if jsonschema.Draft202012Validator(schema).is_valid(instance):
            assert jsonschema.Draft202012Validator(done.document).is_valid(instance)


def test_only_the_failing_location_is_rewritten_and_the_input_is_untouched():
    schema = {"properties": {"a": {"pattern": "^(?=x)x+$"}, "b": {"pattern": "^y+$"}},
              "$defs": {"deep": {"local": {"pattern": "(?!z)"}}}, "$ref": "#/$defs/deep/local"}
    given = copy.deepcopy(schema)
    done = rewrite(schema, {"pattern"}, _no_lookaround)
    assert done.dropped == {"pattern"} and schema == given
    assert "pattern" not in done.document["properties"]["a"] and done.document["properties"]["b"] == {"pattern": "^y+$"}
    assert done.document["$defs"]["deep"]["local"] == {}  # reached through the reference alone


def test_the_most_extreme_bound_goes_first_with_its_draft_4_companion():
    def beyond_62_bits(probe: dict[str, Any]) -> bool:
        return any(abs(probe.get(key, 0)) >= 2**62 for key in ("minimum", "maximum") if probe.get(key) is not True)

    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer",
              "minimum": -2**63, "exclusiveMinimum": True, "maximum": 100}
    done = rewrite(schema, {"minimum"}, beyond_62_bits)
    assert done.dropped == {"minimum", "exclusiveMinimum"}
    assert {k: v for k, v in done.document.items() if k != "$schema"} == {"type": "integer", "maximum": 100}
    assert not rewrite(schema, {"minimum"}, lambda probe: False).changed


@pytest.mark.model
def test_counts_written_as_decimals_are_served_as_the_same_integer_constraint(grammars, tokenizer):
    """The JSON-Schema-Test-Suite writes ``"maxItems": 2.0``; llguidance wants integer literals. The same count as
    an integer is the same constraint: served strict, nothing listed, still enforced by the grammar."""
    checked = load_schema({"type": "array", "items": {"type": "string", "maxLength": 3.0}, "maxItems": 2.0})
    compiled, _ = grammars.get(checked, "llguidance", strict=True)
    assert compiled.post_checked == [] and compiled.document["maxItems"] == 2
    assert _accepts(compiled, tokenizer[0], '["ab","c"]')
    assert not _accepts(compiled, tokenizer[0], '["a","b","c"]')
    assert not _accepts(compiled, tokenizer[0], '["abcd"]')
    assert not rewrite({"maxItems": 2.5}, {"maxItems"}, lambda probe: True).changed  # not a count: left to refuse


def _items_of(document: dict[str, Any]) -> Any:
    return document[next(k for k in ("$defs", "definitions") if k in document)]["node"]["properties"]["kids"]["items"]


@pytest.mark.parametrize("dialect, named", [(None, {"required"}), ("http://json-schema.org/draft-07/schema#", set())])
def test_a_sibling_of_a_reference_on_its_cycle_is_named_unless_its_draft_ignores_it(dialect, named):
    """A stand-in engine failing while the reference closing the cycle has a sibling: the sibling goes, named
    from draft 2019-09 on (reference and sibling both apply), unnamed up to draft 7 (validators ignore it)."""
    schema = copy.deepcopy(NODE)
    if dialect:
        schema = {"$schema": dialect, "$ref": "#/definitions/node", "definitions": schema["$defs"]}
        _items_of(schema)["$ref"] = "#/definitions/node"
    given = copy.deepcopy(schema)
    done = rewrite(schema, {"$ref"}, lambda document: "required" in _items_of(document))
    assert done.changed and done.dropped == named and schema == given
    assert _items_of(done.document) == {"$ref": _items_of(schema)["$ref"]}
    assert done.document["$ref"] == schema["$ref"]
    assert not rewrite(schema, {"$ref"}, lambda document: False).changed  # compiles as it is: nothing dropped


def test_a_reference_off_every_cycle_keeps_its_siblings():
    schema = {"$defs": {"leaf": {"type": "string"}}, "type": "object",
              "properties": {"a": {"$ref": "#/$defs/leaf", "maxLength": 3}}}
    assert not rewrite(schema, {"$ref"}, lambda document: True).changed
