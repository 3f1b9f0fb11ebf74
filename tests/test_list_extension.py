"""List extension (``slot.list_extension``): which arrays an answer can be resumed at, which new items are kept, the
tokens of a resumption; on the real model, a resumed answer decodes as the answer it resumes and reuses the
prompt's cached states, and the Structurer adds the items a long document lists beyond where the model stopped."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from slot.list_extension import (ItemWatch, Opening, answer_strings, array_at, first_value_pointer, is_new_item,
                                 may_have_object_arrays, openings, own_strings)
from slot.resumption import written_tokens

TEXT = "The crew: Ada Moss (pilot, 12 years), Ben Ode (pilot, 3 years) and Cy Lark (cook, 7 years)."


def test_openings_lists_outermost_arrays_of_objects_in_output_order() -> None:
    output = ('{"crew":[{"name":"Ada","tags":["a"]},{"name":"Ben","pets":[{"kind":"cat"}]}],"ids":[1,2],"none":[],'
              '"ship":{"decks":[{"n":1}]}}')
    found = openings(output)
    assert [(o.pointer, o.items) for o in found] == [("/crew", 2), ("/ship/decks", 1)]  # not /crew/1/pets
    crew = found[0]
    assert output[:crew.cut].endswith('"pets":[{"kind":"cat"}]}')
    assert crew.item_pointer == "/crew/2"


def test_openings_skip_mixed_arrays_and_escape_pointers() -> None:
    assert openings('{"a":[{"x":1},2]}') == []
    assert [o.pointer for o in openings('{"a/b":[{"x":1}]}')] == ["/a~1b"]


ANSWER = {"crew": [{"name": "Ada Moss", "role": "pilot"}, {"name": "Ben Ode", "role": "pilot"}], "ship": "Lark"}


@pytest.mark.parametrize(("item", "new"), [
    ({"name": "Cy Lark", "role": "cook"}, True),  # first value in the text, and new
    ({"name": "cy  LARK", "role": "cook"}, True),  # case and spacing aside
    ({"name": "Ben Ode", "role": "pilot"}, False),  # the same item again
    ({"name": "Ben Ode", "role": "cook"}, True),  # a value of the text the answer does not have yet
    ({"name": "Dan Fox", "role": "cook"}, False),  # first value invented
    ({"name": "Ada Moss", "role": "pilot"}, False),  # nothing new
    ({"name": "Lark", "role": "pilot"}, False),  # a value the answer has elsewhere is not news
    ({"years": 7}, False),  # no string to tell by
    (["Cy Lark"], False),  # not an object
    ({"name": "Ben Ode", "role": "pilot", "logs": [{"note": "cook"}]}, False),  # news only inside a nested list
    ({"name": "Ben Ode", "role": "pilot", "boat": {"kind": "cook"}}, True),  # inside a nested object it counts
])
def test_is_new_item(item: Any, new: bool) -> None:
    assert is_new_item(item, answer_strings(ANSWER), TEXT) is new


def test_own_strings_leave_nested_lists_out() -> None:
    item = {"a": "x", "n": 2, "o": {"b": "y", "l": ["z"]}, "l": [{"c": "w"}], "a/b": "v"}
    assert own_strings(item) == [("/a", "x"), ("/o/b", "y"), ("/a~1b", "v")]
    assert first_value_pointer({"id": "7", "o": {"name": "Cy"}}, "/crew/2") == "/crew/2/o/name"  # "7": too short
    assert first_value_pointer({"n": 1, "l": [{"x": "abc"}]}, "/crew/2") is None


def test_array_at_and_object_arrays() -> None:
    value = {"a": [{"b": [{"c": 1}]}], "x~y": {"z/w": [1]}}
    assert array_at(value, "/a/0/b") == [{"c": 1}]
    assert array_at(value, "/x~0y/z~1w") == [1]
    assert array_at(value, "/a/3/b") is None and array_at(value, "/a/0") is None
    assert may_have_object_arrays({"properties": {"a": {"type": "array", "items": {"type": "object"}}}})
    assert may_have_object_arrays({"$defs": {"l": {"items": {"$ref": "#/$defs/x"}}}})
    assert not may_have_object_arrays({"properties": {"a": {"type": "array", "items": True}, "b": {}}})


class Letters:
    """A tokenizer of one token per character (enough to check the cut and the kept probabilities)."""

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ord(char) for char in text]


def test_written_tokens_keep_the_answers_probabilities() -> None:
    text = '{"a":[{"b":1}],"c":2}'
    ids = [ord(char) for char in text]
    probs = [0.5] * len(ids)
    opening = openings(text)[0]
    written, written_probs = written_tokens(Letters(), text, ids, probs, opening.cut, ",{")
    assert "".join(map(chr, written)) == '{"a":[{"b":1},{'
    assert written_probs == [0.5] * 13 + [1.0, 1.0]
    changed = ids[:3] + [0] + ids[4:]
    _, partly = written_tokens(Letters(), text, changed, probs, opening.cut, ",{")
    assert partly[:3] == [0.5] * 3 and all(math.isnan(p) for p in partly[3:13])


def test_item_watch_stops_a_resumption_once_its_item_is_known() -> None:
    opening = Opening("/crew", 2, 0)
    earlier = answer_strings({"crew": [{"name": "Ada Moss"}, {"name": "Ben Ode"}]})
    head = '{"crew":[{"name":"Ada Moss"},{"name":"Ben Ode"},{'
    watch = ItemWatch(head, opening, earlier, TEXT)
    watch.on_delta('"name":"Ben')
    assert not watch.give_up() and watch.verdict is None
    watch.on_delta(' Ode"}')
    assert not watch.give_up()  # a value of the text, and the item's end is not followed by anything yet
    watch.on_delta("]")
    assert watch.give_up() and watch.verdict is False  # the same item again
    kept = ItemWatch(head, opening, earlier, TEXT)
    kept.on_delta('"name":"Cy Lark"}]}')
    assert not kept.give_up() and kept.verdict is True
    early = ItemWatch(head, opening, earlier, TEXT)
    early.on_delta('"name":"Dan Fox"')
    assert not early.give_up()  # the string's end is not followed by anything yet
    early.on_delta(',"role":"')
    assert early.give_up() and early.verdict is False  # an invented first value: given up before the item ends
    nested = ItemWatch(head, opening, earlier, TEXT)
    nested.on_delta('"logs":[{"note":"Dan Fox"}],"name":"Cy Lark","role":"')
    assert not nested.give_up() and nested.verdict is None  # a value inside a nested list is not the item's own


# --- the real model -------------------------------------------------------------------------------------------

CREW_SCHEMA = {"type": "object", "properties": {"crew": {"type": "array", "items": {
    "type": "object", "properties": {"name": {"type": "string"}, "role": {"type": "string"},
                                     "years": {"type": "integer"}}, "required": ["name", "role", "years"]}}},
    "required": ["crew"]}


@pytest.mark.model
def test_a_resumed_answer_decodes_as_the_answer_it_resumes(structurer) -> None:
    """Greedy decoding resumed after any written prefix of its own answer writes the same answer, from the states
    the answer kept (``keep_states``): only the last written token is fed again; with nothing kept, the whole
    prompt and the written tokens are prefilled, to the same answer."""
    from dataclasses import replace

    from slot.engine.base import GenerationRequest
    from slot.prompt import encode, render

    loaded = structurer.load_schema(CREW_SCHEMA)
    grammar, _ = structurer.compile(loaded, "llguidance")
    tokenizer = structurer.engine.tokenizer
    prompt = encode(tokenizer, render(tokenizer, structurer.rendering(loaded).text, TEXT))
    request = GenerationRequest(prompt=prompt, grammar=grammar, max_tokens=200, source_text=TEXT, keep_states=True)
    first = structurer.engine.generate(request)
    assert first.finish_reason == "stop" and json.loads(first.text)["crew"]
    cut = len(first.token_ids) // 2
    resumed = structurer.engine.generate(replace(request, keep_states=False, written=first.token_ids[:cut],
                                                 written_probs=first.token_probs[:cut]))
    assert resumed.text == first.text and resumed.token_ids == first.token_ids
    assert resumed.usage.cached_prompt_tokens == len(prompt.ids) + cut - 1
    assert resumed.usage.prompt_tokens == len(prompt.ids) + cut
    assert resumed.usage.completion_tokens == len(first.token_ids) - cut
    assert resumed.token_probs[:cut] == first.token_probs[:cut]
    other = replace(request, keep_states=False,
                    prompt=encode(tokenizer, render(tokenizer, structurer.rendering(loaded).text, TEXT + " ")))
    unkept = structurer.engine.generate(other)  # another prompt: nothing kept for it
    again = structurer.engine.generate(replace(other, written=unkept.token_ids[:cut]))
    assert again.text == unkept.text
    assert again.usage.cached_prompt_tokens < len(other.prompt.ids)


@pytest.mark.model
def test_a_resumption_the_grammar_rejects_is_a_clear_error(structurer) -> None:
    from slot.engine.base import GenerationRequest
    from slot.errors import InvalidRequestError
    from slot.prompt import encode, render

    loaded = structurer.load_schema(CREW_SCHEMA)
    grammar, _ = structurer.compile(loaded, "llguidance")
    tokenizer = structurer.engine.tokenizer
    prompt = encode(tokenizer, render(tokenizer, structurer.rendering(loaded).text, TEXT))
    bad = tokenizer.encode('{"ship":', add_special_tokens=False)
    with pytest.raises(InvalidRequestError, match="rejects the written tokens"):
        structurer.engine.generate(GenerationRequest(prompt=prompt, grammar=grammar, max_tokens=50, written=bad))
    ok = structurer.engine.generate(GenerationRequest(prompt=prompt, grammar=grammar, max_tokens=200))
    assert ok.finish_reason == "stop"  # the engine goes on serving


@pytest.mark.model
def test_list_extension_adds_the_items_a_long_document_lists(structurer) -> None:
    """A long document whose answer stops a list early (the nursery's plants: one of two without extension) gets
    the next item when extension is on; every item it adds is an item of the text, and it validates."""
    from data_synthesis.long_docs import long_doc_rows

    row = long_doc_rows(3, 0)[2]
    plain = structurer.structure(row["input_text"], row["json_schema"], extend_lists=0)
    extended = structurer.structure(row["input_text"], row["json_schema"], extend_lists=2)
    assert plain.valid and extended.valid
    before, after = array_at(plain.json, "/plants"), array_at(extended.json, "/plants")
    assert before is not None and after is not None and len(after) > len(before)
    for item in after[len(before):]:
        assert item["plant_name"] in row["input_text"]
    assert extended.attempts > plain.attempts
    assert extended.usage.completion_tokens > plain.usage.completion_tokens
