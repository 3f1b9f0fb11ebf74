"""Every constraint keyword of a schema is listed once: enforced by the grammar, checked after decoding, or
checked by nothing (issue 27, point 2). Real grammar compiles with the base model's tokenizer."""

from __future__ import annotations

import pytest

from slot.closed_objects import close_objects, closed_paths
from slot.enforcement import ANNOTATIONS, STRICT_POST_CHECKED, Enforcement, enforcement
from slot.errors import UnsupportedSchemaError
from slot.grammar.cache import GrammarCache
from slot.schema import load_schema, subschemas

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def grammars(settings):
    from slot.models import load_tokenizer, resolve_base_model

    tokenizer, vocab = load_tokenizer(resolve_base_model(settings.base_model, settings.home_path, progress=False))
    return GrammarCache(tokenizer, vocab)


def _compiled(grammars, document, backend="llguidance"):
    schema = load_schema(document)
    return schema, grammars.get(schema, backend)[0].enforcement


def _constraint_keywords(document) -> set[str]:
    found, stack = set(), [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found |= {k for k in node if k not in ANNOTATIONS and not k.startswith("x-")}
            stack.extend(sub for sub, _ in subschemas(node))
    return found


def _listed_once(enforced: Enforcement, document) -> None:
    lists = [set(enforced.grammar_keywords), set(enforced.post_checked_keywords),
             {k.split(":")[0] for k in enforced.ignored_keywords}]  # format:NAME stands for format
    assert not (lists[0] & lists[2] or lists[1] & lists[2])
    assert lists[0] & lists[1] <= _inside_post_checked(document)  # both only where also under a post-checked keyword
    assert lists[0] | lists[1] | lists[2] == _constraint_keywords(document)
    assert set(enforced.relaxed_keywords) <= lists[1] and not set(enforced.relaxed_keywords) & STRICT_POST_CHECKED


def _inside_post_checked(document) -> set[str]:
    """Keywords used inside ``not``, ``if``/``then``/``else``, ``dependentSchemas``, ``dependencies``, ``contains``."""
    found, stack = set(), [document[key] for key in ("not", "if", "then", "else", "contains") if key in document]
    stack += list(document.get("dependentSchemas", {}).values()) + list(document.get("dependencies", {}).values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found |= set(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_keywords_inside_a_post_checked_keyword_are_post_checked_there_not_claimed_by_the_grammar(grammars):
    """``const`` and ``required`` inside a relaxed ``if``/``then`` and ``enum`` inside ``not`` are left out of the
    grammar with their parent: only post-validation checks them, and only their parent is a relaxation."""
    document = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                "if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]},
                "not": {"properties": {"b": {"enum": ["x"]}}}}
    _, enforced = _compiled(grammars, document)
    assert {"const", "required", "enum"} <= set(enforced.post_checked_keywords)
    assert not {"const", "required", "enum"} & set(enforced.grammar_keywords)
    assert {"properties", "type"} <= set(enforced.grammar_keywords)  # enforced at the top, post-checked in `if`
    assert set(enforced.relaxed_keywords) == {"if", "not", "then"}
    _listed_once(enforced, document)
    contains = {"type": "array", "items": {"type": "string"}, "contains": {"const": "x"}}
    _, enforced = _compiled(grammars, contains, backend="llguidance")
    assert "const" in enforced.post_checked_keywords and not enforced.relaxed_keywords  # strict still serves it


PERSON = {
    "title": "Person", "description": "someone", "type": "object", "x-origin": "crm",
    "properties": {
        "name": {"type": "string", "minLength": 1, "examples": ["Ada"]},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "photo": {"type": "string", "contentMediaType": "image/png"},
        "price": {"type": "number", "maxDecimals": 2},
        "phone": {"type": "string", "format": "phone"},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    "required": ["name"],
}


def test_each_keyword_is_listed_where_it_is_enforced(grammars):
    schema, enforced = _compiled(grammars, PERSON)
    assert enforced.grammar_keywords == ["items", "minLength", "properties", "required", "type"]
    assert enforced.post_checked_keywords == ["uniqueItems"]
    # nothing checks an unknown keyword, contentMediaType (an annotation to jsonschema) or an unknown format
    assert enforced.ignored_keywords == ["contentMediaType", "format:phone", "maxDecimals"]
    assert enforced.closed_object_paths == ["/", "/properties/address"]
    _listed_once(enforced, PERSON)


def test_keywords_the_lenient_compile_relaxed_are_post_checked_not_claimed_by_the_grammar(grammars):
    document = {"type": "object", "properties": {
        "tags": {"type": "array", "uniqueItems": True},
        "code": {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "pattern": "^[a-z]+$"}]}}}
    _, enforced = _compiled(grammars, document)
    assert {"oneOf", "uniqueItems"} <= set(enforced.post_checked_keywords)
    assert "oneOf" not in enforced.grammar_keywords and "anyOf" not in enforced.grammar_keywords
    assert {"maxLength", "pattern"} <= set(enforced.grammar_keywords)
    _listed_once(enforced, document)


RELAXED = {
    "oneOf": {"type": "object", "properties": {
        "code": {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "string", "pattern": "^[a-z]+$"}]}}},
    "not": {"type": "object", "properties": {"a": {"type": "string", "not": {"const": "x"}}}},
    "if,then,else": {"type": "object", "properties": {"kind": {"type": "string"}, "n": {"type": "integer"}},
                     "if": {"properties": {"kind": {"const": "count"}}, "required": ["kind"]},
                     "then": {"required": ["n"]}, "else": {"properties": {"n": {"maximum": 0}}}},
    "dependentRequired": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                          "dependentRequired": {"a": ["b"]}},
}
"""Schemas llguidance can only approximate, by the keywords it relaxes (its lenient compile)."""


@pytest.mark.parametrize("keywords", list(RELAXED))
def test_a_relaxed_schema_is_served_with_the_relaxed_keywords_post_checked_and_refused_strict(grammars, keywords):
    document = RELAXED[keywords]
    _, enforced = _compiled(grammars, document)
    named = ["else", "if", "then"] if keywords == "if,then,else" else [keywords]
    assert enforced.relaxed and set(named) <= set(enforced.relaxed_keywords)
    assert set(named) <= set(enforced.post_checked_keywords) and not set(named) & set(enforced.grammar_keywords)
    _listed_once(enforced, document)
    with pytest.raises(UnsupportedSchemaError) as refused:
        grammars.get(load_schema(document), "llguidance", strict=True)
    assert set(refused.value.keyword.split(",")) == set(enforced.relaxed_keywords)
    assert refused.value.status == "INVALID_ARGUMENT" and all(f"`{k}`" in refused.value.message for k in named)


def test_post_checked_value_checks_are_not_relaxations_and_strict_serves_them(grammars):
    schema, enforced = _compiled(grammars, PERSON)
    assert enforced.post_checked_keywords == ["uniqueItems"] and enforced.relaxed_keywords == []
    assert grammars.get(schema, "llguidance", strict=True)[0].enforcement == enforced
    assert enforcement(schema, enforces=None).relaxed_keywords == []  # no grammar, nothing relaxed


def test_a_backend_that_leaves_keywords_to_post_validation_is_relaxed_there(grammars):
    document = {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 3}}}
    schema, enforced = _compiled(grammars, document, "outlines_core")
    assert enforced.relaxed_keywords == ["multipleOf"]
    with pytest.raises(UnsupportedSchemaError, match="`multipleOf`"):
        grammars.get(schema, "outlines_core", strict=True)


def test_a_keyword_the_drafts_validator_does_not_know_is_ignored_not_post_checked(grammars):
    """Draft 7's validator has no dependentRequired, and llguidance's lenient grammar drops it: nothing checks it.
    additionalItems beside prefixItems under 2020-12 is likewise checked by neither."""
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "dependentRequired": {"a": ["b"]}}
    _, enforced = _compiled(grammars, draft7)
    assert "dependentRequired" in enforced.ignored_keywords
    assert "dependentRequired" not in enforced.post_checked_keywords + enforced.grammar_keywords
    modern = {"type": "array", "prefixItems": [{"type": "integer"}], "additionalItems": False}
    _, enforced = _compiled(grammars, modern)
    assert enforced.ignored_keywords == ["additionalItems"] and "prefixItems" in enforced.grammar_keywords
    legacy = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "integer"}],
              "additionalItems": False}
    _, enforced = _compiled(grammars, legacy)
    assert "additionalItems" in enforced.grammar_keywords and not enforced.ignored_keywords


def test_backends_that_name_nothing_they_drop_claim_only_what_they_were_seen_to_enforce(grammars):
    document = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^a+$"},
                                                 "n": {"type": "integer", "multipleOf": 3},
                                                 "s": {"type": "array", "uniqueItems": True}}}
    _, enforced = _compiled(grammars, document, "outlines_core")
    assert {"pattern", "properties", "type"} <= set(enforced.grammar_keywords)
    assert {"multipleOf", "uniqueItems"} <= set(enforced.post_checked_keywords)
    _listed_once(enforced, document)


def test_without_a_grammar_every_constraint_is_post_checked():
    schema = load_schema(PERSON)
    enforced = enforcement(schema, enforces=None)
    assert enforced.grammar_keywords == [] and enforced.closed_object_paths == []
    assert {"items", "minLength", "properties", "required", "type", "uniqueItems"} == set(enforced.post_checked_keywords)
    assert enforced.ignored_keywords == ["contentMediaType", "format:phone", "maxDecimals"]


def test_closed_paths_name_exactly_the_objects_close_objects_closes():
    document = {"type": "object", "properties": {
        "a": {"type": "object", "properties": {"x~y/z": {"type": "object", "properties": {"k": {}}}}},
        "b": {"type": "object", "properties": {"c": {}}, "additionalProperties": True},
        "list": {"type": "array", "items": {"type": "object", "properties": {"q": {}}}}},
        "$defs": {"d": {"type": "object", "properties": {"e": {}}}}}
    paths = closed_paths(document)
    assert paths == ["/", "/properties/a", "/properties/a/properties/x~0y~1z", "/properties/list/items",
                     "/$defs/d"]
    closed = close_objects(document)
    for path in paths:
        node = closed
        for token in filter(None, path.split("/")):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        assert node["additionalProperties"] is False
    assert closed_paths({"type": "object", "properties": {"a": {}}, "not": {"required": ["a"]}}) == []


def test_the_structurer_reports_enforcement_for_decoded_unconstrained_and_parsed_answers(base_structurer):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array",
                                                                                    "uniqueItems": True}},
              "required": ["name"]}
    text = "Ada Lovelace wrote the first program."
    decoded = base_structurer.structure(text, schema, max_tokens=24)
    assert decoded.enforcement.grammar_keywords == ["properties", "required", "type"]
    assert decoded.enforcement.post_checked_keywords == ["uniqueItems"]
    assert decoded.enforcement.closed_object_paths == ["/"]
    assert decoded.to_dict()["enforcement"]["post_checked_keywords"] == ["uniqueItems"]
    free = base_structurer.structure(text, schema, max_tokens=24, constrained=False)
    assert free.enforcement.grammar_keywords == [] and free.enforcement.closed_object_paths == []
    assert free.enforcement.post_checked_keywords == ["properties", "required", "type", "uniqueItems"]
    parsed = base_structurer.structure('Record: {"name": "Ada Lovelace"}', schema, parse_first=True)
    assert parsed.path == "parse"
    assert parsed.enforcement.grammar_keywords == [] and parsed.enforcement.closed_object_paths == ["/"]
