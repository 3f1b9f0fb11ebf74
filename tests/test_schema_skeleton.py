"""The skeleton of a schema (slot.schema_skeleton, issue 27): the prompt's last compact level, cut to a depth."""

from __future__ import annotations

import copy
import json

from slot.schema import canonical_json
from slot.schema_skeleton import SchemaSkeleton, skeleton_schema

NESTED = {
    "type": "object", "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "address": {"type": "object", "properties": {
            "city": {"type": "string"},
            "geo": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}}}},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "kind": {"const": "venue", "description": "not a stub's business"},
        "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
}


def test_depth_one_keeps_the_top_level_keys_with_type_stubs_and_nothing_below():
    cut = skeleton_schema(NESTED, 1)
    assert list(cut["properties"]) == list(NESTED["properties"])  # every top-level key
    assert cut["required"] == ["name"] and cut["type"] == "object"  # the root's own keywords
    assert cut["properties"] == {"name": {"type": "string"}, "address": {"type": "object"},
                                 "tags": {"type": "array"}, "kind": {"const": "venue"}, "either": {}}


def test_each_depth_opens_one_more_level():
    two = skeleton_schema(NESTED, 2)
    assert two["properties"]["name"] == {"type": "string", "minLength": 1}
    assert two["properties"]["address"]["properties"] == {"city": {"type": "string"}, "geo": {"type": "object"}}
    assert two["properties"]["tags"]["items"] == {"type": "string"}  # its enum is below the cut
    assert two["properties"]["either"]["anyOf"] == [{"type": "string"}, {"type": "integer"}]
    three = skeleton_schema(NESTED, 3)
    assert three["properties"]["address"]["properties"]["geo"]["properties"] == {"lat": {"type": "number"},
                                                                                "lon": {"type": "number"}}
    assert SchemaSkeleton(NESTED).height == 3
    assert skeleton_schema(NESTED, 4) == NESTED  # cut below the deepest subschema: nothing stubbed
    assert len(canonical_json(skeleton_schema(NESTED, 1))) < len(canonical_json(two)) < len(canonical_json(three))


DEFS = {
    "$ref": "#/$defs/config",
    "$defs": {
        "config": {"type": "object", "properties": {
            "server": {"$ref": "#/$defs/server"}, "flag": {"$ref": "#/$defs/flag"},
            "port": {"$ref": "#/$defs/server/properties/port"}}},
        "server": {"type": "object", "properties": {"host": {"type": "string"}, "port": {"type": "integer"},
                                                    "tls": {"$ref": "#/$defs/tls"}}},
        "flag": {"type": "boolean"},
        "tls": {"type": "object", "properties": {"cert": {"type": "string"}}},
        "unused": {"type": "string"},
    },
}


def test_defs_entries_sit_at_the_depth_of_their_shallowest_reference():
    one = skeleton_schema(DEFS, 1)
    # the root is a reference: its entry is at depth 0, so depth 1 shows its properties; the entries only stubs
    # reach are left out and each stub takes its target's type instead of the reference
    assert one["$ref"] == "#/$defs/config" and list(one["$defs"]) == ["config"]
    assert one["$defs"]["config"]["properties"] == {"server": {"type": "object"}, "flag": {"type": "boolean"},
                                                    "port": {"type": "integer"}}
    two = skeleton_schema(DEFS, 2)
    assert sorted(two["$defs"]) == ["config", "flag", "server"]  # reached above the cut: kept, by reference
    assert two["$defs"]["config"]["properties"]["server"] == {"$ref": "#/$defs/server"}
    assert two["$defs"]["server"]["properties"] == {"host": {"type": "string"}, "port": {"type": "integer"},
                                                    "tls": {"type": "object"}}
    assert two["$defs"]["config"]["properties"]["port"] == {"$ref": "#/$defs/server/properties/port"}
    assert "unused" not in json.dumps(skeleton_schema(DEFS, 5)) and "tls" in skeleton_schema(DEFS, 3)["$defs"]


def test_a_pointer_into_an_entry_keeps_the_whole_entry():
    schema = {"type": "object", "properties": {"p": {"$ref": "#/$defs/server/properties/port"}},
              "$defs": {"server": {"type": "object", "required": ["host"], "properties": {
                  "host": {"type": "string"}, "port": {"type": "integer", "minimum": 1}}}}}
    two = skeleton_schema(schema, 2)
    assert two["$defs"] == {"server": {"type": "object", "required": ["host"], "properties": {
        "host": {"type": "string"}, "port": {"type": "integer"}}}}
    assert two["properties"]["p"] == {"$ref": "#/$defs/server/properties/port"}
    assert skeleton_schema(schema, 1)["properties"]["p"] == {"type": "integer"}  # the target's type, no entry


def test_a_reference_into_a_cut_subtree_is_dropped_and_the_document_is_untouched():
    schema = {"type": "object", "properties": {
        "deep": {"type": "object", "properties": {"inner": {"type": "object", "properties": {
            "leaf": {"type": "object", "properties": {"z": {"type": "string"}}}}}}},
        "again": {"type": "object", "properties": {"x": {"$ref": "#/properties/deep/properties/inner/properties/leaf"
                                                                 "/properties/z", "minLength": 2}}}}}
    before = copy.deepcopy(schema)
    cut = skeleton_schema(schema, 2)
    assert cut["properties"]["again"]["properties"]["x"] == {}  # a stub: its target is no more in the skeleton
    cut = skeleton_schema(schema, 3)  # leaf is a stub: z is cut away
    assert cut["properties"]["again"]["properties"]["x"] == {"minLength": 2}  # the reference points nowhere now
    assert skeleton_schema(schema, 5)["properties"]["again"]["properties"]["x"]["$ref"].endswith("/z")
    assert schema == before


def test_other_containers_and_groups_of_entries_are_placed_by_reference():
    schema = {  # Vega keeps its schemas under "defs" and "refs"; some schemas group entries ("definitions/x/full")
        "allOf": [{"$ref": "#/defs/scope"}, {"$ref": "#/definitions/a1/full"}],
        "defs": {"scope": {"type": "object", "properties": {"signal": {"$ref": "#/refs/signal"}}},
                 "other": {"type": "object", "description": "no reference reaches me"}},
        "refs": {"signal": {"type": "string", "title": "Signal"}},
        "definitions": {"a1": {"full": {"type": "object", "properties": {"n": {"type": "integer"}}}}},
    }
    drop = lambda key: key in ("title", "description")  # noqa: E731 - what the prompt passes, in short
    two = SchemaSkeleton(schema, drop=drop).render(2)
    assert two["defs"] == {"scope": {"type": "object", "properties": {"signal": {"type": "string"}}}}
    assert two["definitions"] == {"a1": {"full": {"type": "object", "properties": {"n": {"type": "integer"}}}}}
    assert "refs" not in two
    three = SchemaSkeleton(schema, drop=drop).render(3)
    assert three["refs"] == {"signal": {"type": "string"}} and "Signal" not in json.dumps(three)
    assert three["defs"]["scope"]["properties"]["signal"] == {"$ref": "#/refs/signal"}


def test_the_skeleton_is_deterministic():
    reordered = json.loads(json.dumps(DEFS))
    reordered["$defs"] = dict(reversed(list(reordered["$defs"].items())))
    for depth in (1, 2, 3):
        texts = {canonical_json(skeleton_schema(document, depth)) for document in (DEFS, reordered, DEFS)}
        assert len(texts) == 1


def test_recursive_references_end():
    schema = {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {
        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}, "loop": {"$ref": "#/$defs/loop"}}},
        "loop": {"$ref": "#/$defs/loop"}}}
    skeleton = SchemaSkeleton(schema)
    assert skeleton.height == 2
    one = skeleton.render(1)
    assert one["$defs"]["node"]["properties"] == {"children": {"type": "array"}, "loop": {}}
    assert skeleton.render(2)["$defs"]["node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/node"}
