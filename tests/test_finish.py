"""Finish mode (``slot.engine.cpu.guards.finish``): a max_tokens budget that ends in valid JSON, with the cut and filled
paths reported. The text read-back by hand first (no model), then the finish-mode choice on real grammars,
then whole requests on the real model."""

from __future__ import annotations

import json

import jsonschema
import pytest

from slot.engine.cpu.guards.finish import cut_and_filled
from slot.engine.cpu.guards.json_state import StringState
from slot.json_spans import value_spans


def _written(model: str, finish: str) -> tuple[str, list[tuple[int, int]]]:
    """The text and the finish-mode span when the model wrote ``model`` and finish mode the rest."""
    return model + finish, [(len(model), len(model) + len(finish))]


def test_value_spans_give_pointers_kinds_and_ends():
    text = '{"a":"x","b":[1,{"c~/":null}],"d":-2.5}'
    spans = {span.pointer: (span.kind, text[span.start:span.end]) for span in value_spans(text)}
    assert spans == {"/a": ("string", '"x"'), "/b/0": ("number", "1"), "/b/1/c~0~1": ("literal", "null"),
                     "/b/1": ("object", '{"c~/":null}'), "/b": ("array", '[1,{"c~/":null}]'),
                     "/d": ("number", "-2.5"), "": ("object", text)}


def test_value_spans_of_a_cut_prefix_end_at_its_end():
    text = '{"a":"unfinished'
    spans = {span.pointer: (span.kind, span.end) for span in value_spans(text)}
    assert spans == {"/a": ("string", len(text)), "": ("object", len(text))}


@pytest.mark.parametrize("model, finish, cut, filled", [
    ('{"name":"Jo', '","age":0,"tags":[]}', ["/name"], ["/age", "/tags"]),   # a string closed, two keys written
    ('{"n":12', "}", ["/n"], []),                                          # a number ends where finish mode wrote
    ('{"t":["x","y"', "]}", ["/t"], []),                                    # an array closed
    ('{"t":["x","y', '"]}', ["/t", "/t/1"], []),                            # ... and its last item
    ('{"a":', '{"b":0}}', [], ["/a"]),                                      # only the outermost filled value
    ('{"a":"x"', ',"b":""}', [], ["/b"]),                                   # an empty string written
])
def test_cut_and_filled(model, finish, cut, filled):
    text, spans = _written(model, finish)
    json.loads(text)
    assert cut_and_filled(text, spans) == (cut, filled)


def test_values_the_model_wrote_after_finish_mode_began_are_not_filled():
    text = '{"a":"x","b":"model text"}'
    closing = text.index('","b"')  # finish mode closed /a (one token), the model wrote /b itself
    assert cut_and_filled(text, [(closing, closing + 1)]) == (["/a"], [])


def test_nothing_steered_nothing_reported():
    assert cut_and_filled('{"a":1}', []) == ([], [])


# -- the finish-mode choice on real grammars ----------------------------------------------------------

PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "city": {"type": "string"},
                                           "tags": {"type": "array", "items": {"type": "string"}},
                                           "member": {"type": "boolean"}},
          "required": ["name", "age", "city", "tags", "member"]}
STRICT = {"type": "object", "properties": {
    "code": {"type": "string", "minLength": 3}, "n": {"type": "integer", "minimum": 5},
    "color": {"enum": ["red", "green"]}, "flags": {"type": "array", "minItems": 1, "items": {"type": "boolean"}},
    "note": {"type": "string"}, "inner": {"type": "object", "properties": {"x": {"type": "number"}},
                                          "required": ["x"]}},
    "required": ["code", "n", "color", "flags", "inner"]}


def _path_text(structurer, matcher_at, schema, prefix):
    finisher = structurer.engine.finisher
    matcher, _ = matcher_at(schema, prefix)
    path = finisher.path(matcher, StringState.of(prefix), 200)
    assert path is not None
    assert matcher.is_accepting() is (prefix != "" and path == [])  # the matcher is restored
    return structurer.engine.tokenizer.decode(path)


@pytest.mark.model
@pytest.mark.parametrize("prefix, rest", [
    ("", '{"name":"","age":0,"city":"","tags":[],"member":false}'),
    ('{"name":"Jon', '","age":0,"city":"","tags":[],"member":false}'),
    ('{"name":"Jon","age":4', ',"city":"","tags":[],"member":false}'),
    ('{"name":"Jon","age":4,"city":"SF","tags":["a,]}', '"],"member":false}'),  # closers inside a string are text
])
def test_the_finish_path_closes_what_is_open_and_writes_the_shortest_required_values(structurer, matcher_at,
                                                                                      prefix, rest):
    assert _path_text(structurer, matcher_at, PERSON, prefix) == rest


@pytest.mark.model
@pytest.mark.parametrize("prefix", ["", '{"code":"', '{"code":"ab', '{"code":"abc","n":', '{"code":"abc","n":1'])
def test_the_finish_path_meets_the_schema_where_the_shortest_literal_does_not(structurer, matcher_at, prefix):
    text = prefix + _path_text(structurer, matcher_at, STRICT, prefix)
    jsonschema.validate(json.loads(text), STRICT)


@pytest.mark.model
def test_steer_keeps_the_model_choice_while_a_completion_still_fits(structurer, matcher_at):
    engine = structurer.engine
    finisher, tokenizer = engine.finisher, engine.tokenizer
    prefix = '{"name":"Jon'
    matcher, context = matcher_at(PERSON, prefix)
    choice = tokenizer.encode("athan", add_special_tokens=False)[0]
    need = len(finisher.path(matcher, StringState.of(prefix), 200))  # tokens to finish from here
    # far from the end of the budget, or with room for the choice and a completion after it: the model's token
    assert finisher.steer(matcher, choice, context, finisher.window + 1) == (choice, False)
    assert finisher.steer(matcher, choice, context, need + 1) == (choice, False)
    # one token less: the choice would leave no room, so the completion's first token comes instead
    token, overrode = finisher.steer(matcher, choice, context, need)
    assert overrode and tokenizer.decode([token]).startswith('"')
    assert not matcher.is_accepting() and matcher.consume([choice])  # the matcher is where it was


# -- whole requests on the real model ---------------------------------------------------------------

PERSON3 = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "city": {"type": "string"}},
           "required": ["name", "age", "city"]}
PERSON3_TEXT = "Maximilian Alexander Featherstonehaugh-Smythe, aged 47, lives in San Francisco."


@pytest.mark.model
def test_a_tiny_budget_still_ends_in_json_with_cut_and_filled_paths(structurer):
    results = [structurer.structure(PERSON3_TEXT, PERSON3, max_tokens=12, speculation=speculation)
               for speculation in (False, True)]
    assert results[0].output == results[1].output
    result = results[0]
    value = json.loads(result.output)  # parses
    assert result.finish_reason == "length" and result.usage.completion_tokens <= 12
    assert result.valid and set(value) == {"name", "age", "city"}
    assert result.cut_paths and result.filled_paths
    assert set(result.cut_paths + result.filled_paths) <= {"/name", "/age", "/city"}
    grounded = {item["path"] for item in result.grounding["fields"]}
    assert not grounded & set(result.filled_paths)  # a filled value is never reported as grounded


@pytest.mark.model
def test_a_budget_with_room_changes_nothing(structurer):
    free = structurer.structure(PERSON3_TEXT, PERSON3, max_tokens=200)
    exact = structurer.structure(PERSON3_TEXT, PERSON3, max_tokens=free.usage.completion_tokens)
    assert free.finish_reason == "stop" and not free.cut_paths and not free.filled_paths
    assert exact.output == free.output and exact.finish_reason == "stop"


@pytest.mark.model
def test_finish_mode_off_cuts_the_json(structurer):
    finisher = structurer.engine.finisher
    finisher.window = 0
    try:
        result = structurer.structure(PERSON3_TEXT, PERSON3, max_tokens=12)
    finally:
        finisher.window = structurer.settings.finish_window
    assert result.finish_reason == "length" and not result.valid and not result.cut_paths
