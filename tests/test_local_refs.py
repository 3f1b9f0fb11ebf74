"""Local references in full (issue 27, point 3): an ``$id`` base inside the document, ``$anchor``, ``$dynamicRef``
and reference cycles with sibling keywords are served; the grammar follows a pointer-only copy, post-validation
the document as given; nothing remote is ever fetched."""

from __future__ import annotations

import json
from typing import Any

import pytest
import referencing
import referencing.jsonschema

from slot.errors import SchemaError, UnsupportedSchemaError
from slot.leaves import resolve_ref
from slot.local_refs import localize
from slot.schema import load_schema
from slot.target import target_text

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT2019 = "https://json-schema.org/draft/2019-09/schema"

ID_BASE = {"$id": "https://example.com/schemas/order.json", "type": "object", "properties": {
    "customer": {"$ref": "customer.json"},
    "total": {"$ref": "customer.json#/$defs/amount"}}, "required": ["customer", "total"],
    "$defs": {"customer": {"$id": "customer.json", "type": "object", "properties": {
        "name": {"type": "string"}, "balance": {"$ref": "#/$defs/amount"}}, "required": ["name"],
        "$defs": {"amount": {"type": "integer", "minimum": 0}}}}}
"""The inner ``$id`` makes ``#/$defs/amount`` inside it mean the customer's ``$defs``, not the root's."""

ANCHOR = {"type": "object", "properties": {"city": {"$ref": "#city"}, "zip": {"$ref": "#/$defs/zip"}},
          "required": ["city"], "$defs": {"city": {"$anchor": "city", "type": "string", "enum": ["Paris", "Lyon"]},
                                          "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}
LEGACY_ANCHOR = {"$schema": DRAFT7, "type": "object", "properties": {"n": {"$ref": "#count"}},
                 "definitions": {"count": {"$id": "#count", "type": "integer", "maximum": 9}}}
TREE = {"$id": "https://example.com/tree", "$dynamicAnchor": "node", "type": "object", "properties": {
    "value": {"type": "integer"}, "children": {"type": "array", "items": {"$dynamicRef": "#node"}}},
        "required": ["value"]}
"""One resource defines the dynamic anchor: the reference is static."""
STRICT_TREE = {"$id": "https://example.com/strict-tree", "$dynamicAnchor": "node", "$ref": "tree",
               "unevaluatedProperties": False, "$defs": {"tree": {
                   "$id": "tree", "$dynamicAnchor": "node", "type": "object",
                   "properties": {"value": {"type": "integer"},
                                  "children": {"type": "array", "items": {"$dynamicRef": "#node"}}}}}}
"""The extension pattern with a root ``$id``: the root is the outermost scope, so ``#node`` is the root's."""
OPEN_DYNAMIC = {"type": "object", "properties": {"list": {"$ref": "#/$defs/list"},
                                                 "strict": {"$ref": "#/$defs/strict"}},
                "$defs": {"list": {"$id": "list", "$dynamicAnchor": "item", "type": "array",
                                   "items": {"$dynamicRef": "#item"}},
                          "strict": {"$id": "strict", "$ref": "list",
                                     "$defs": {"item": {"$dynamicAnchor": "item", "type": "integer"}}}}}
"""Two resources define ``item`` and the root none: the target depends on the path taken (relaxed)."""
RECURSIVE = {"$schema": DRAFT2019, "$recursiveAnchor": True, "type": "object",
             "properties": {"name": {"type": "string"}, "parts": {"type": "array", "items": {"$recursiveRef": "#"}}}}
SIBLING_CYCLE = {"$defs": {"permission": {"type": "object", "properties": {
    "note": {"type": "string"},
    "children": {"type": "object", "additionalProperties": {"$ref": "#/$defs/permission", "type": "object",
                                                            "required": ["note"]}}}}},
                 "type": "object", "properties": {"root": {"$ref": "#/$defs/permission"}}}
"""A reference inside its own cycle with sibling keywords: llguidance refuses the schema as given."""
SIBLING_CYCLE_7 = {"$schema": DRAFT7, "definitions": {"node": {"type": "object", "properties": {
    "next": {"$ref": "#/definitions/node", "type": "string"}}}}, "$ref": "#/definitions/node"}
"""Draft 7 ignores keywords beside ``$ref``: the ``type: string`` there constrains nothing."""


def _refs(document: Any) -> list[str]:
    found: list[str] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found += [v for k, v in node.items() if k in ("$ref", "$dynamicRef", "$recursiveRef")]
            stack.extend(v for k, v in node.items() if k not in ("enum", "const"))
        elif isinstance(node, list):
            stack.extend(node)
    return found


@pytest.mark.parametrize("schema", [ID_BASE, ANCHOR, LEGACY_ANCHOR, TREE, STRICT_TREE, RECURSIVE],
                         ids=["id-base", "anchor", "draft7-anchor", "dynamic-one", "dynamic-root", "recursive"])
def test_every_reference_becomes_a_root_pointer_to_the_node_the_draft_names(schema):
    checked = load_schema(schema)
    assert checked.given == schema and checked.document != schema and checked.relaxed == ()
    refs = _refs(checked.document)
    assert refs and all(ref == "#" or ref.startswith("#/") for ref in refs)
    assert not any(k in json.dumps(checked.document) for k in ('"$anchor"', '"$dynamicAnchor"', '"$dynamicRef"'))
    assert checked.document.get("$id") == schema.get("$id")  # the root's base stays; nested ones go


def test_id_base_resolves_as_referencing_does():
    """The customer's ``#/$defs/amount`` is the customer's own ``$defs`` (the root has none of that name)."""
    checked = load_schema(ID_BASE)
    balance = checked.document["$defs"]["customer"]["properties"]["balance"]["$ref"]
    assert balance == "#/$defs/customer/$defs/amount"
    registry = referencing.Registry().with_resource(
        ID_BASE["$id"], referencing.jsonschema.DRAFT202012.create_resource(ID_BASE)).crawl()
    resolved = registry.resolver(ID_BASE["$id"]).lookup("customer.json#/$defs/amount").contents
    assert resolve_ref(checked.document, balance) == resolved
    assert checked.document["properties"]["customer"]["$ref"] == "#/$defs/customer"


def test_a_dynamic_reference_whose_target_depends_on_the_scope_is_relaxed_and_post_checked():
    checked = load_schema(OPEN_DYNAMIC)
    assert checked.relaxed == ("$dynamicRef",)
    assert checked.document["$defs"]["list"]["items"] == {}  # the grammar lets any item through ...
    assert checked.errors({"strict": [1, 2]}) == []
    assert checked.errors({"strict": [1, "two"]})  # ... post-validation follows the dynamic scope
    assert localize(OPEN_DYNAMIC).relaxed_paths == ("/$defs/list/items/$dynamicRef",)


def test_without_a_root_id_the_extension_pattern_is_relaxed_as_jsonschema_leaves_the_root_out():
    no_id = {k: v for k, v in STRICT_TREE.items() if k != "$id"}
    assert load_schema(no_id).relaxed == ("$dynamicRef",)
    assert load_schema(STRICT_TREE).relaxed == ()


def test_sibling_cycles_are_rewritten_to_the_same_constraint():
    checked = load_schema(SIBLING_CYCLE)
    node = checked.document["$defs"]["permission"]["properties"]["children"]["additionalProperties"]
    assert "$ref" not in node and node["required"] == ["note"] and node["type"] == "object"
    assert node["allOf"] == [{"type": "object", "properties": {
        "note": {"$ref": "#/$defs/permission/properties/note"},
        "children": {"$ref": "#/$defs/permission/properties/children"}}}]
    seven = load_schema(SIBLING_CYCLE_7)
    assert seven.document["definitions"]["node"]["properties"]["next"] == {"$ref": "#/definitions/node"}


def test_schemas_without_such_references_are_kept_as_given():
    plain = {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"type": "string"}},
             "$id": "https://example.com/plain.json"}
    checked = load_schema(plain)
    assert checked.document is checked.given and checked.source is None


@pytest.mark.parametrize("schema, message, keyword, path", [
    ({"$id": "https://example.com/a.json", "properties": {"x": {"$ref": "b.json"}}}, "only local references",
     "$ref", "/properties/x/$ref"),
    ({"properties": {"x": {"$id": "https://example.com/x.json", "$ref": "other.json"}}}, "only local references",
     "$ref", "/properties/x/$ref"),
    ({"$dynamicRef": "https://example.com/meta.json#meta"}, "only local references", "$dynamicRef", "/$dynamicRef"),
    ({"properties": {"x": {"$ref": "#nowhere"}}}, "does not resolve", "$ref", "/properties/x/$ref"),
    ({"$schema": DRAFT7, "properties": {"x": {"$dynamicRef": "#a"}}}, "belongs to JSON Schema 2020-12",
     "$dynamicRef", "/properties/x/$dynamicRef"),
])
def test_references_outside_the_document_are_refused_with_the_keyword_and_path(schema, message, keyword, path):
    with pytest.raises(SchemaError, match=message) as caught:
        load_schema(schema)
    assert caught.value.keyword == keyword and caught.value.path == path
    if "local" in message:
        assert isinstance(caught.value, UnsupportedSchemaError) and "never fetches" in str(caught.value)


# -- the real grammar: valid instances pass, invalid ones are stopped by the grammar or post-validation --------

SERVED = [
    ("id-base", ID_BASE, {"customer": {"name": "Ada", "balance": 3}, "total": 5},
     {"customer": {"name": "Ada", "balance": -1}, "total": 5}),
    ("anchor", ANCHOR, {"city": "Lyon", "zip": "69001"}, {"city": "Nice"}),
    ("draft7-anchor", LEGACY_ANCHOR, {"n": 4}, {"n": 12}),
    ("dynamic-one", TREE, {"value": 1, "children": [{"value": 2, "children": []}]},
     {"value": 1, "children": [{"children": []}]}),
    ("recursive", RECURSIVE, {"name": "a", "parts": [{"name": "b", "parts": []}]},
     {"name": "a", "parts": [{"name": 2}]}),
    ("sibling-cycle", SIBLING_CYCLE, {"root": {"note": "x", "children": {"a": {"note": "y"}}}},
     {"root": {"children": {"a": {"children": {}}}}}),
    ("sibling-cycle-7", SIBLING_CYCLE_7, {"next": {"next": {}}}, {"next": "text"}),
]


@pytest.fixture(scope="module")
def grammars(structurer):
    from slot.grammar.cache import GrammarCache

    return GrammarCache(structurer.engine.tokenizer, structurer.engine.vocab_size)


def _grammar_accepts(compiled: Any, tokenizer: Any, value: Any, document: Any) -> bool:
    matcher = compiled.matcher()
    ids = tokenizer.encode(target_text(value, document), add_special_tokens=False)
    return bool(matcher.consume(ids)) and bool(matcher.is_accepting())


@pytest.mark.model
@pytest.mark.parametrize("name, schema, valid, invalid", SERVED, ids=[case[0] for case in SERVED])
def test_each_kind_compiles_and_the_original_document_judges_the_output(grammars, structurer, name, schema, valid,
                                                                       invalid):
    checked = load_schema(schema)
    compiled, _ = grammars.get(checked, "llguidance")
    tokenizer = structurer.engine.tokenizer
    assert checked.errors(valid) == []
    assert _grammar_accepts(compiled, tokenizer, valid, checked.document)
    assert checked.errors(invalid), "post-validation against the document as given rejects it"


@pytest.mark.model
def test_a_relaxed_dynamic_reference_is_listed_post_checked_and_catches_what_the_grammar_lets_through(grammars,
                                                                                                  structurer):
    checked = load_schema(OPEN_DYNAMIC)
    compiled, _ = grammars.get(checked, "llguidance")
    assert "$dynamicRef" in compiled.enforcement.post_checked_keywords
    output = '{"strict":[1,"two"]}'
    assert _grammar_accepts(compiled, structurer.engine.tokenizer, json.loads(output), checked.document)
    from slot.validate import validate_output

    assert not validate_output(output, checked).valid


@pytest.mark.model
def test_structure_serves_an_anchor_and_id_base_schema_end_to_end(structurer):
    schema = {"$id": "https://example.com/person.json", "type": "object",
              "properties": {"name": {"$ref": "#name"}, "home": {"$ref": "place.json"}}, "required": ["name", "home"],
              "$defs": {"name": {"$anchor": "name", "type": "string"},
                        "place": {"$id": "place.json", "type": "object", "properties": {"city": {"$ref": "#/$defs/c"}},
                                  "required": ["city"], "$defs": {"c": {"type": "string"}}}}}
    result = structurer.structure("Ada Lovelace lives in London.", schema, max_tokens=48)
    assert result.valid, result.errors
    assert set(result.json) == {"name", "home"} and isinstance(result.json["home"]["city"], str)
