"""The one prompt template: schema before text, prefix independent of the text, training target format."""

from __future__ import annotations

import json

import pytest

from slot import prompt


@pytest.fixture(scope="module")
def tokenizer(base_structurer):
    return base_structurer.engine.tokenizer


def test_prefix_depends_on_the_schema_only(tokenizer):
    one = prompt.render(tokenizer, '{"type":"object"}', "first text")
    two = prompt.render(tokenizer, '{"type":"object"}', "second, longer text")
    other = prompt.render(tokenizer, '{"type":"array"}', "first text")
    assert one.prefix == two.prefix != other.prefix
    assert one.suffix.startswith("first text") and "second, longer text" in two.full
    assert one.full.index('{"type":"object"}') < one.full.index("first text")


def test_encode_is_prefix_plus_suffix(tokenizer):
    rendered = prompt.render(tokenizer, '{"type":"object"}', "Ada lives in London.")
    tokens = prompt.encode(tokenizer, rendered)
    assert tokens.ids == tokens.prefix + tokens.suffix
    assert tokenizer.decode(tokens.ids) == rendered.full


def test_encode_starts_with_the_bos_token_exactly_once(tokenizer):
    rendered = prompt.render(tokenizer, '{"type":"object"}', "Ada lives in London.")
    tokens = prompt.encode(tokenizer, rendered)
    assert tokens.prefix[0] == tokenizer.bos_token_id  # the chat template wrote it (<|im_start|>)
    assert tokens.prefix[1] != tokenizer.bos_token_id

    class Plain:  # a base model without chat template (Gemma 3): its BOS must still come first
        bos_token_id = 2

        def encode(self, text, add_special_tokens=False):
            return [ord(c) for c in text]

    bare = prompt.encode(Plain(), prompt.Prompt(prefix="ab", suffix="cd"))
    assert bare.prefix == [2, ord("a"), ord("b")] and bare.suffix == [ord("c"), ord("d")]


def test_target_text_orders_keys_like_the_schema_and_is_compact():
    schema = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"$ref": "#/$defs/x"}},
              "$defs": {"x": {"type": "object", "properties": {"z": {}, "y": {}}}}}
    text = prompt.target_text({"a": {"y": 1, "z": [1, 2]}, "extra": True, "b": "é"}, schema)
    assert text == '{"b":"é","a":{"z":[1,2],"y":1},"extra":true}'
    assert json.loads(text) == {"a": {"y": 1, "z": [1, 2]}, "extra": True, "b": "é"}


def test_the_answer_ends_with_the_templates_end_of_turn_even_when_eos_token_is_wrong(tokenizer):
    import copy

    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert prompt.answer_end_id(tokenizer) == end
    misconverted = copy.deepcopy(tokenizer)
    misconverted.eos_token = "<|im_start|>"  # what one GGUF conversion produced: adapters learnt to stop on it
    assert misconverted.eos_token_id != end
    assert prompt.answer_end_id(misconverted) == end
    assert end in prompt.stop_ids(misconverted)


def test_without_a_chat_template_the_answer_ends_with_eos(tokenizer):
    import copy

    plain = copy.deepcopy(tokenizer)
    plain.chat_template = None
    plain.eos_token = "<|endoftext|>"
    assert prompt.answer_end_id(plain) == plain.eos_token_id == prompt.stop_ids(plain, [plain.eos_token_id]).pop()


def test_every_prompt_begins_with_the_head_ids(tokenizer):
    from slot.prompt import encode, head_ids, render

    head = head_ids(tokenizer)
    assert tokenizer.decode(head).endswith("JSON Schema:\n")
    for schema in ('{"type":"object"}', '{"$defs":{"A":{}}}', '{"anyOf":[{"type":"string"}]}', "true"):
        assert encode(tokenizer, render(tokenizer, schema, "some text")).prefix[:len(head)] == head


# -- the compact rendering of big schemas (issue 27, point 4) -------------------------------------------------

NOISY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/venue.json",
    "title": "Venue", "description": "A venue. It hosts events and has a long history we need not tell the model.",
    "type": "object", "$comment": "internal", "x-editor": {"icon": "venue"},
    "properties": {
        "firstName": {"title": "First name", "type": "string", "examples": ["Ada"], "default": "",
                      "markdownDescription": "**first** name"},
        "kind": {"title": "Kind of venue", "enum": ["bar", "club", "hall"], "enumDescriptions": ["a", "b", "c"]},
        "address": {"$ref": "#/$defs/address"}, "backup": {"$ref": "#/$defs/address"},
        "default": {"type": "integer", "description": "A property named like a keyword stays."}},
    "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}},
              "unused": {"type": "string", "description": "no reference reaches me"}},
}


def test_compact_rendering_drops_noise_keeps_structure_types_and_enums():
    compact = prompt.compact_schema(NOISY)
    text = json.dumps(compact)
    for gone in ("examples", "default\": \"\"", "$comment", "x-editor", "markdownDescription", "enumDescriptions",
                 "$schema", "$id", "First name", "unused"):
        assert gone not in text, gone
    assert compact["properties"]["kind"]["enum"] == ["bar", "club", "hall"]
    assert compact["properties"]["kind"]["title"] == "Kind of venue"  # says more than the key: kept
    assert compact["properties"]["firstName"] == {"type": "string"}  # its title only repeated the key
    assert compact["properties"]["default"]["type"] == "integer"  # a property, not the keyword
    assert compact["description"] == "A venue." and "title" not in compact  # first sentence; title beside it out
    assert list(compact["$defs"]) == ["address"] and text.count('"city"') == 1  # each entry once, by reference
    assert compact["properties"]["address"] == compact["properties"]["backup"] == {"$ref": "#/$defs/address"}
    assert NOISY["$defs"]["unused"]  # the given document is untouched
    assert "description" not in json.dumps(prompt.compact_schema(NOISY, 0))


def test_descriptions_are_cut_at_a_word():
    long = {"type": "string", "description": "word " * 60}
    short = prompt.compact_schema(long, 40)["description"]
    assert short.endswith("...") and len(short) <= 43 and "wor..." not in short


def _big(fields: int, words: int) -> dict:
    vocabulary = "harbour quantum velvet orchard lantern meadow copper glacier pepper saddle".split()
    return {"type": "object", "properties": {
        f"field_{i}": {"type": "string", "title": f"Field {i}", "examples": ["x" * 40],
                       "description": " ".join(vocabulary[(i + j) % 10] for j in range(words))}
        for i in range(fields)}}


def test_the_full_rendering_serves_every_schema_that_fits_and_a_big_one_gets_the_compact(tokenizer, e2e_rows):
    from slot.errors import InvalidRequestError
    from slot.schema import load_schema

    small = load_schema({"type": "object", "properties": {"a": {"type": "string", "title": "A", "examples": ["x"]}}})
    chosen = prompt.schema_rendering(tokenizer, small, 6144)
    assert not chosen.compact and chosen.text == small.canonical and chosen.level == "full"
    assert chosen.tokens == chosen.full_tokens == prompt.schema_prompt_tokens(tokenizer, small.canonical)
    for schema in {json.dumps(row["json_schema"], sort_keys=True) for row in e2e_rows[:400]}:  # training's shape
        assert not prompt.schema_rendering(tokenizer, load_schema(schema), 6144).compact

    big = load_schema(_big(300, 30))
    chosen = prompt.schema_rendering(tokenizer, big, 6144)
    assert chosen.compact and chosen.full_tokens > 6144 > chosen.tokens
    assert (chosen.level, chosen.depth) == ("compact", None)
    assert chosen.tokens == prompt.schema_prompt_tokens(tokenizer, chosen.text)
    assert json.loads(chosen.text)["properties"]["field_7"]["type"] == "string"

    with pytest.raises(InvalidRequestError, match="prompt budget of 1000 tokens") as refused:
        prompt.schema_rendering(tokenizer, load_schema(_big(300, 30)), 1000)
    assert "compact rendering" in str(refused.value)


# -- the skeleton: the last compact level (issue 27) ----------------------------------------------------------

def _tree(width: int, levels: int) -> dict:
    """``width`` object properties per level, ``levels`` deep, long keys and no descriptions: compact cannot
    shrink it."""
    if levels == 0:
        return {"type": "string"}
    return {"type": "object", "properties": {f"section_{levels}_entry_number_{i}": _tree(width, levels - 1)
                                             for i in range(width)}}


def test_a_schema_too_big_even_compact_gets_its_deepest_skeleton_that_fits(tokenizer):
    from slot.schema import load_schema
    from slot.schema_skeleton import SchemaSkeleton

    schema = load_schema(_tree(12, 3))
    compact = prompt.schema_prompt_tokens(tokenizer, json.dumps(prompt.compact_schema(schema.document, 0),
                                                                separators=(",", ":"), sort_keys=True))
    assert compact > 6144  # no compact level fits the budget, let alone its half
    chosen = prompt.schema_rendering(tokenizer, schema, 6144)
    assert (chosen.level, chosen.compact, chosen.depth) == ("skeleton", True, 2)
    assert chosen.tokens <= 6144 * prompt.SCHEMA_SHARE < chosen.full_tokens
    assert chosen.tokens == prompt.schema_prompt_tokens(tokenizer, chosen.text)
    shown = json.loads(chosen.text)
    assert sorted(shown["properties"]) == sorted(schema.document["properties"])  # every top-level key
    first = shown["properties"]["section_3_entry_number_0"]
    assert sorted(first["properties"]) == sorted(f"section_2_entry_number_{i}" for i in range(12))
    assert set(map(json.dumps, first["properties"].values())) == {'{"type": "object"}'}  # type stubs at depth 2
    deeper = prompt.schema_prompt_tokens(tokenizer, json.dumps(SchemaSkeleton(schema.document).render(3)))
    assert deeper > 6144 * prompt.SCHEMA_SHARE  # the next depth would not fit: 2 is the deepest
    again = prompt.schema_rendering(tokenizer, load_schema(_tree(12, 3)), 6144)
    assert again == chosen  # deterministic


def test_the_skeleton_keeps_defs_the_top_levels_reach(tokenizer):
    from slot.schema import load_schema

    document = {"$ref": "#/$defs/root", "$defs": {
        "root": {"type": "object", "properties": {f"part_{i}": {"$ref": "#/$defs/part"} for i in range(6)}},
        "part": _tree(10, 3)}}
    chosen = prompt.schema_rendering(tokenizer, load_schema(document), 6144)
    # the root is a reference: its entry is at depth 0, its properties at 1 and the part they reference with
    # them; the part's properties at 2 and theirs, stubs, at 3
    assert chosen.level == "skeleton" and chosen.depth == 3
    shown = json.loads(chosen.text)
    assert shown["$ref"] == "#/$defs/root" and sorted(shown["$defs"]) == ["part", "root"]
    assert shown["$defs"]["root"]["properties"]["part_0"] == {"$ref": "#/$defs/part"}  # by reference, once
    section = shown["$defs"]["part"]["properties"]["section_3_entry_number_0"]["properties"]
    assert section["section_2_entry_number_9"] == {"type": "object"}


def test_a_schema_whose_top_level_alone_is_over_the_budget_is_refused(tokenizer):
    from slot.errors import InvalidRequestError
    from slot.schema import load_schema

    wide = {"type": "object", "properties": {f"customer_shipping_address_line_{i}": {"type": "object", "properties": {
        "value": {"type": "string"}}} for i in range(1000)}}
    with pytest.raises(InvalidRequestError, match="prompt budget of 6144 tokens") as refused:
        prompt.schema_rendering(tokenizer, load_schema(wide), 6144)
    assert "cut to its top level" in str(refused.value)
    narrower = {"type": "object", "properties": dict(list(wide["properties"].items())[:300])}
    assert prompt.schema_rendering(tokenizer, load_schema(narrower), 6144).level == "skeleton"
