"""llguidance backend: what the grammar leaves out is listed, and every refusal names its keyword (issue 27)."""

from __future__ import annotations

from typing import Any

import pytest

from slot.errors import UnsupportedSchemaError
from slot.grammar.cache import GrammarCache
from slot.grammar.refusals import refusal
from slot.schema import load_schema
from slot.validate import validate_output
from tests.conftest import SUITE

pytestmark = pytest.mark.model

TAGS = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
"""Listed first, so llguidance's strict compile stops at ``uniqueItems`` (post-checked) and SLOT recompiles
leniently: the path on which the lenient compile used to relax the keywords after it without a word."""


def _after_tags(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"tags": TAGS, **properties}}


def _object(**keywords: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, **keywords}


RELAXED = [
    ("oneOf", _after_tags(code={"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "pattern": "^[a-z]+$"}]}),
     '{"code":"abc"}'),  # both branches match: oneOf fails, anyOf would not
    ("not", _after_tags(a={"type": "string", "not": {"const": "x"}}), '{"a":"x"}'),
    ("if", _after_tags(obj={"type": "object", "properties": {"kind": {"type": "string"}, "n": {"type": "integer"}},
                            "if": {"properties": {"kind": {"const": "count"}}, "required": ["kind"]},
                            "then": {"required": ["n"]}, "else": {"properties": {"n": {"maximum": 0}}}}),
     '{"obj":{"kind":"count"}}'),
    ("dependencies", {"$schema": "http://json-schema.org/draft-07/schema#",
                      **_after_tags(obj=_object(dependencies={"a": ["b"]}))}, '{"obj":{"a":1}}'),
    ("dependentSchemas", _after_tags(obj=_object(dependentSchemas={"a": {"required": ["b"]}})), '{"obj":{"a":1}}'),
    ("unevaluatedProperties", _after_tags(meta={"type": "object", "properties": {"k": {}},
                                                "unevaluatedProperties": False}), '{"meta":{"k":1,"x":2}}'),
    ("unevaluatedItems", _after_tags(pair={"type": "array", "prefixItems": [{}], "unevaluatedItems": False}),
     '{"pair":[1,2]}'),
]


@pytest.fixture(scope="module")
def tokenizer(structurer):
    return structurer.engine.tokenizer


@pytest.fixture(scope="module")
def grammars(structurer) -> GrammarCache:
    """The default path's grammars (open objects closed)."""
    return GrammarCache(structurer.engine.tokenizer, structurer.engine.vocab_size)


def _accepts(compiled: Any, tokenizer: Any, text: str) -> bool:
    matcher = compiled.matcher()
    return bool(matcher.consume(tokenizer.encode(text, add_special_tokens=False))) and matcher.is_accepting()


@pytest.mark.parametrize("keyword, schema, invalid", RELAXED, ids=[case[0] for case in RELAXED])
def test_a_keyword_the_lenient_compile_relaxes_is_listed_and_checked_after_decoding(grammars, tokenizer, keyword,
                                                                                   schema, invalid):
    checked = load_schema(schema)
    compiled, _ = grammars.get(checked, "llguidance")
    assert keyword in compiled.post_checked and "uniqueItems" in compiled.post_checked
    if keyword == "if":
        assert {"then", "else"} <= set(compiled.post_checked)
    assert _accepts(compiled, tokenizer, invalid)  # the grammar does leave it out ...
    assert validate_output(invalid, checked).errors  # ... and post-validation rejects the output that breaks it


def test_min_properties_the_lenient_grammar_gets_wrong_is_listed_and_checked_after_decoding(grammars, tokenizer):
    """llguidance's lenient compile does not drop min/maxProperties beside optional properties: its grammar is
    not exact either way (here it refuses the valid {"a":1,"b":2}), so the keyword is listed as post-checked."""
    checked = load_schema(_after_tags(obj=_object(minProperties=2)))
    compiled, _ = grammars.get(checked, "llguidance")
    assert compiled.post_checked == ["minProperties", "uniqueItems"]
    assert not _accepts(compiled, tokenizer, '{"obj":{"a":1,"b":2}}')
    assert not validate_output('{"obj":{"a":1,"b":2}}', checked).errors
    assert validate_output('{"obj":{"a":1}}', checked).errors


def test_a_keyword_the_grammar_enforces_is_not_listed(grammars, tokenizer):
    compiled, _ = grammars.get(load_schema(_after_tags(obj=_object(maxProperties=1))), "llguidance")
    assert compiled.post_checked == ["uniqueItems"]
    assert not _accepts(compiled, tokenizer, '{"obj":{"a":1,"b":2}}')


def test_formats_the_grammar_leaves_out_are_post_checked_or_reported_unchecked(grammars):
    iri, _ = grammars.get(load_schema(_after_tags(link={"type": "string", "format": "iri"})), "llguidance")
    assert iri.post_checked == ["format", "uniqueItems"] and iri.unchecked == []
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "string", "format": "iri"}
    checked = load_schema(draft4)
    compiled, _ = grammars.get(checked, "llguidance")
    assert compiled.post_checked == ["format"]
    assert validate_output('"not an iri"', checked).errors  # the draft-4 checker has no iri: it used to pass
    phone, _ = grammars.get(load_schema({"type": "string", "format": "phone"}), "llguidance")
    assert phone.post_checked == [] and phone.unchecked == ["format:phone"] and phone.relaxed
    assert not validate_output('"call me"', load_schema({"type": "string", "format": "phone"})).errors


OVERLAP = {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}
APPROXIMATED = [
    (OVERLAP, "oneOf", '"abc"'),  # both branches match: oneOf fails, the anyOf grammar takes it
    ({"type": "object", "not": {"required": ["a"]}}, "not", '{"a":1}'),
    (_object(minProperties=1, additionalProperties={"type": "integer"}), "minProperties", None),  # held loosely
    (_object(dependentRequired={"a": ["b"]}), "dependentRequired", '{"a":1}'),
    ({"type": "object", "properties": {"n": {"type": "integer"}}, "if": {"required": ["n"]},
      "then": {"properties": {"n": {"minimum": 1}}}, "else": {"required": ["n"]}}, "else,if,then", '{"n":0}'),
]
"""(schema, the keywords llguidance can only approximate, an output its grammar takes that breaks them: None where
the approximation errs the other way, refusing valid objects, as for min/maxProperties)."""


@pytest.mark.parametrize("schema, keywords, invalid", APPROXIMATED, ids=[case[1] for case in APPROXIMATED])
def test_a_schema_the_grammar_approximates_is_served_relaxed_and_refused_strict(grammars, tokenizer, schema,
                                                                                keywords, invalid):
    """Served by default (the lenient grammar, the keywords listed relaxed and post-checked, the output validated
    against the whole schema); refused by a strict request, naming the keywords (issue 27, point 1)."""
    checked = load_schema(schema)
    compiled, _ = grammars.get(checked, "llguidance")
    named = keywords.split(",")
    assert compiled.post_checked == named
    assert compiled.enforcement.relaxed_keywords == named and compiled.enforcement.relaxed
    assert set(named) <= set(compiled.enforcement.post_checked_keywords)
    assert invalid is None or (_accepts(compiled, tokenizer, invalid) and validate_output(invalid, checked).errors)
    with pytest.raises(UnsupportedSchemaError) as caught:
        grammars.get(checked, "llguidance", strict=True)
    assert caught.value.keyword == keywords and caught.value.message.startswith("strict: ")
    assert all(f"`{name}`" in caught.value.message for name in named)
    assert grammars.get(checked, "llguidance")[1]  # the relaxed grammar is still cached, apart from strict


def test_strict_and_relaxed_grammars_are_cached_apart_and_strict_serves_value_checks(grammars):
    checked = load_schema({"type": "array", "items": {"type": "string", "format": "iri"}, "uniqueItems": True})
    strict, hit = grammars.get(checked, "llguidance", strict=True)
    assert not hit and strict.post_checked == ["format", "uniqueItems"] and not strict.enforcement.relaxed
    relaxed, hit = grammars.get(checked, "llguidance")
    assert not hit and relaxed is not strict  # its own compile: the keys differ by strict
    assert grammars.get(checked, "llguidance", strict=True) == (strict, True)
    assert grammars.get(checked, "llguidance") == (relaxed, True)


REFUSED = [
    ({"allOf": [True, False]}, "false"),
    ({"type": "string", "pattern": "[^\\s\\S]"}, "pattern"),  # a regex no string matches
    ({"type": "object", "properties": {"a": False}, "required": ["a"]}, "required"),
    ({"enum": []}, "enum"),
    # Kubernetes' standalone IntOrString / Quantity: an object that must also be a string or a number
    ({"type": "object", "oneOf": [{"type": "string"}, {"type": "integer"}]}, "type"),
]
REWRITTEN = [
    ({"type": "object", "patternProperties": {"^a": {}, "^ab": {}}}, "patternProperties"),
    ({"type": "integer", "maximum": 18446744073709551616}, "maximum"),
    ({"type": "number", "maximum": 1.8446744073709552e19}, "maximum"),
    ({"type": "string", "pattern": "\\bab"}, "pattern"),
]
"""Refused until the grammar's document was rewritten where the engine fails (``slot.grammar.rewrites``)."""


@pytest.mark.parametrize("schema, keyword", REFUSED, ids=[keyword for _, keyword in REFUSED])
def test_a_grammar_refusal_names_its_keyword(grammars, schema, keyword):
    """What not even the lenient grammar can build is refused, relaxed or strict."""
    for strict in (False, True):
        with pytest.raises(UnsupportedSchemaError) as caught:
            grammars.get(load_schema(schema), "llguidance", strict=strict)
        assert caught.value.keyword == keyword
        assert f"`{keyword}`" in caught.value.message


@pytest.mark.parametrize("schema, keyword", REWRITTEN, ids=[keyword for _, keyword in REWRITTEN])
def test_what_the_engine_fails_on_is_served_relaxed_and_refused_strict(grammars, schema, keyword):
    """Served with the keyword left out of the grammar and listed (tests/test_grammar_rewrites.py); strict refuses."""
    compiled, _ = grammars.get(load_schema(schema), "llguidance")
    assert compiled.post_checked == [keyword] and compiled.enforcement.relaxed_keywords == [keyword]
    with pytest.raises(UnsupportedSchemaError) as caught:
        grammars.get(load_schema(schema), "llguidance", strict=True)
    assert caught.value.keyword == keyword and f"`{keyword}`" in caught.value.message


def test_no_refusal_of_the_test_suite_leaves_the_keyword_unnamed(grammars, benchmark_module):
    """Over every JSON-Schema-Test-Suite schema load_schema accepts: each grammar refusal names a keyword (45
    refusals of a real-world corpus named none, e.g. every overlapping oneOf)."""
    from slot.errors import SlotError

    unnamed, refused = [], {False: 0, True: 0}
    for case in benchmark_module("bench_core").iter_suite_cases(SUITE / "tests"):
        try:
            checked = load_schema(case.schema)
        except SlotError:
            continue
        for strict in (False, True):
            try:
                grammars.get(checked, "llguidance", strict=strict)
            except UnsupportedSchemaError as exc:
                refused[strict] += 1
                if not exc.keyword:
                    unnamed.append(f"{case.file}: {case.description}: {exc.message[:120]}")
    assert refused[True] > 150 and 10 < refused[False] < refused[True] and not unnamed, (refused, unnamed)


def test_a_message_no_rule_knows_is_quoted_and_said_to_name_no_keyword():
    error = refusal("llguidance", "something\n  new went wrong", {"type": "string"})
    assert error.keyword == "" and error.field == "schema"
    assert "named no keyword" in error.message and "something new went wrong" in error.message
