"""Key filling (slot.key_filling): the gaps an answer leaves, the watch that gives a resumption up, and, on the real
model, that a request's left-out key is filled with a value of the text."""

from __future__ import annotations

import json

import pytest

from slot.key_filling import Gap, ValueWatch, answer_values, fillable, gaps, may_have_optional_keys

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "kind": {"type": "string"},
        "stars": {"type": "integer"},
        "scale": {"type": ["integer", "null"]},
        "mood": {"type": "string", "enum": ["happy", "sad"]},
        "liked": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["stars"],
}


def test_fillable_takes_free_strings_and_numbers_only() -> None:
    assert fillable({"type": "string"}) and fillable({"type": ["integer", "null"]}) and fillable({"type": "number"})
    for schema in ({"type": "boolean"}, {"type": "string", "enum": ["a"]}, {"const": 1}, {"type": "object"},
                   {"type": ["string", "array"]}, {"type": "null"}, {"anyOf": [{"type": "string"}]}, {}, True):
        assert not fillable(schema), schema


def test_gaps_open_each_left_out_key_where_the_grammar_takes_it() -> None:
    text = '{"kind":"album","stars":4}'
    found = gaps(text, SCHEMA)
    assert [(gap.key, gap.opener) for gap in found] == [("title", '"title":'), ("scale", ',"scale":')]
    title, scale = found
    assert title.cut == 1 and text[:title.cut] + title.opener + text[title.cut:] == '{"title":"kind":"album","stars":4}'
    assert text[:scale.cut] == '{"kind":"album","stars":4' and scale.value_pointer == "/scale"


def test_gaps_leave_out_required_enum_boolean_and_container_keys() -> None:
    text = '{"title":"Ruth","kind":"book","scale":6}'
    assert gaps(text, SCHEMA) == []  # stars is required (post-validation's business), the rest not fillable


def test_gaps_reach_nested_objects_and_items_but_not_combinators() -> None:
    schema = {"type": "object", "properties": {
        "venue": {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": "string"}}},
        "acts": {"type": "array", "items": {"type": "object", "properties": {
            "act": {"type": "string"}, "minutes": {"type": "integer"}}, "required": ["act"]}},
        "either": {"anyOf": [{"type": "object", "properties": {"x": {"type": "string"}}}]}},
        "required": ["venue", "acts", "either"]}
    text = '{"venue":{"name":"Apollo"},"acts":[{"act":"Duo"},{"act":"Trio","minutes":20}],"either":{}}'
    assert [(gap.pointer, gap.key) for gap in gaps(text, schema)] == [("/venue", "city"), ("/acts/0", "minutes")]
    assert may_have_optional_keys(schema) and may_have_optional_keys(SCHEMA)
    assert not may_have_optional_keys({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})


def test_answer_values_hold_strings_and_numbers() -> None:
    assert answer_values({"a": "Current  Book", "b": [4, True, None], "c": 2.5}) == {"current book", "4", "2.5"}


def _watched(written: str, gap: Gap, known: set[str], pieces: list[str]) -> list[bool]:
    watch = ValueWatch(written, gap, known, "Give the current book 4 out of 6 stars")
    verdicts = []
    for piece in pieces:
        watch.on_delta(piece)
        verdicts.append(watch.give_up())
        if watch.verdict is not None:
            break
    return verdicts


def test_value_watch_keeps_a_new_value_of_the_text() -> None:
    gap = Gap("", "kind", 1, '"kind":')
    watch = ValueWatch('{"kind":', gap, {"4"}, "Give the current book 4 out of 6 stars")
    for piece in ('"bo', 'ok"', ','):
        watch.on_delta(piece)
        assert not watch.give_up()
    assert watch.verdict is True


@pytest.mark.parametrize("pieces, known", [
    (['"nov', 'el"', ','], set()),        # not in the text
    (['"book"', ','], {"book"}),          # the answer has it already
    (['4', ','], {"4"}),                  # a number the answer has
    (['null', ','], set()),               # says nothing
    (['"b"', ','], set()),                # too short to tell
])
def test_value_watch_gives_up_once_the_value_is_written(pieces: list[str], known: set[str]) -> None:
    verdicts = _watched('{"kind":', Gap("", "kind", 1, '"kind":'), known, pieces)
    assert verdicts[-1] is True and not any(verdicts[:-1])


def test_value_watch_waits_for_a_number_to_end() -> None:
    gap = Gap("", "scale", 1, '"scale":')
    watch = ValueWatch('{"scale":', gap, {"4"}, "4 out of 6 stars")
    watch.on_delta("6")
    assert not watch.give_up() and watch.verdict is None  # 6 could still become 60
    watch.on_delta("}")
    assert not watch.give_up() and watch.verdict is True


RATE = {"type": "object", "description": "Rate a book or another work.", "properties": {
    "object_name": {"type": "string", "description": "title of the work to rate"},
    "object_type": {"type": "string", "description": "kind of work (e.g. book, novel, essay)"},
    "rating_unit": {"type": "string", "description": "unit of the rating (e.g. stars, points)"},
    "rating_value": {"type": "integer", "description": "rating given"}}, "additionalProperties": False}


@pytest.mark.model
def test_key_filling_adds_left_out_keys_with_values_of_the_text(structurer) -> None:
    """A request whose answer leaves out keys the text states gets some of them back when filling is on; every value
    it adds is written in the text, the values it had stay, and it validates."""
    text = "Give the current book 4 stars"
    plain = structurer.structure(text, RATE, fill_keys=0)
    filled = structurer.structure(text, RATE, fill_keys=8)
    assert plain.valid and filled.valid
    added = {key: value for key, value in filled.json.items() if key not in plain.json}
    assert added, (plain.json, filled.json)
    for value in added.values():
        assert str(value).casefold() in text.casefold()
    assert filled.json["rating_value"] == plain.json["rating_value"] == 4
    assert filled.attempts > plain.attempts
    assert json.loads(filled.output) == filled.json


def test_value_watch_gives_up_a_string_as_soon_as_it_leaves_the_text() -> None:
    watch = ValueWatch('{"kind":', Gap("", "kind", 1, '"kind":'), set(), "Give the current book 4 out of 6 stars")
    for piece in ('"cur', 'rent'):
        watch.on_delta(piece)
        assert not watch.give_up() and watch.verdict is None  # "current" is in the text so far
    watch.on_delta(" nov")
    assert watch.give_up() and watch.verdict is False  # "current nov" is not, whatever follows


def test_splice_writes_the_values_in_and_changes_nothing_else() -> None:
    from slot.key_filling import Fill, splice

    text = '{"kind":"album","stars":4}'
    title, scale = gaps(text, SCHEMA)
    probe_title = '{"title":"Ruth",'
    probe_scale = '{"kind":"album","stars":4,"scale":6}'
    fills = [Fill(title, 1, 9, 15), Fill(scale, 2, 34, 35)]
    pieces = splice(text, fills, ['"Ruth"', "6"])
    assert "".join(piece.text for piece in pieces) == '{"title":"Ruth","kind":"album","stars":4,"scale":6}'
    assert [(piece.source, piece.start) for piece in pieces if piece.source > 0] == [(1, 9), (2, 34)]
    assert probe_title[9:15] == '"Ruth"' and probe_scale[34:35] == "6"
    assert "".join(p.text for p in splice(text, [fills[1]], ["6"])) == '{"kind":"album","stars":4,"scale":6}'


def test_splice_keeps_the_schema_order_of_keys_meeting_at_one_place() -> None:
    from slot.key_filling import Fill, splice

    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    first, second = gaps("{}", schema)
    spliced = "".join(p.text for p in splice("{}", [Fill(second, 2, 0, 1), Fill(first, 1, 0, 3)], ["2", '"x"']))
    assert json.loads(spliced) == {"a": "x", "b": 2} and spliced == '{"a":"x","b":2}'


def test_piece_tokens_reuse_the_decodings_tokens_inside_a_piece() -> None:
    import math

    from slot.resumption import piece_tokens

    class Words:
        """Tokens of two characters, so some pieces cut a token in two."""

        def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
            return [hash(text[i:i + 2]) for i in range(0, len(text), 2)]

        def decode(self, ids: list[int]) -> str:
            return "".join(self.table[i] for i in ids)

        def batch_decode(self, batches: list[list[int]], skip_special_tokens: bool = True) -> list[str]:
            return [self.decode(ids) for ids in batches]

    tokenizer = Words()
    text = '{"kind":"album"}'
    tokenizer.table = {hash(text[i:i + 2]): text[i:i + 2] for i in range(0, len(text), 2)}
    ids = tokenizer.encode(text)
    probs = [0.1 * (n + 1) for n in range(len(ids))]
    whole, whole_probs = piece_tokens(tokenizer, text[2:8], 2, text, ids, probs)
    assert whole == ids[1:4] and whole_probs == probs[1:4]
    tokenizer.table.update({hash(c): c for c in text})
    tokenizer.encode = lambda piece, add_special_tokens=False: [hash(c) for c in piece]  # type: ignore[method-assign]
    cut, cut_probs = piece_tokens(tokenizer, text[3:9], 3, text, ids, probs)
    assert tokenizer.decode(cut) == text[3:9]
    assert math.isnan(cut_probs[0]) and cut_probs[1:3] == probs[2:4] and math.isnan(cut_probs[-1])


@pytest.mark.model
def test_key_filling_survives_keys_that_need_escaping(structurer) -> None:
    """Keys with a quote, a slash or a non-ASCII letter: the probes open them as the grammar writes them, or are
    skipped; the answer stays valid either way."""
    schema = {"type": "object", "properties": {
        "name": {"type": "string"}, 'motto "quoted"': {"type": "string"}, "a/b": {"type": "string"},
        "café": {"type": "string"}, "seats": {"type": "integer"}}, "required": ["name"]}
    text = 'Ada runs the café Lune, 40 seats; her motto is "always fresh".'
    plain = structurer.structure(text, schema, fill_keys=0)
    result = structurer.structure(text, schema, fill_keys=8)
    assert result.valid, result.errors
    assert json.loads(result.output) == result.json and result.json["name"]
    for key, value in result.json.items():
        if key not in plain.json:
            assert str(value).casefold() in text.casefold()  # a filled value is the text's
        else:
            assert value == plain.json[key]  # nothing else changes
