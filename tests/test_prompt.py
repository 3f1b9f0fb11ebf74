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
