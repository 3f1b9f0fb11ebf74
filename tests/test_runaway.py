"""Runaway guards (``slot.engine.cpu.guards.runaway``): a string whose last words keep repeating is closed, and a
number's
digit runs are capped. First by hand on a toy vocabulary (no model), then on the real model: texts that provoke
each runaway, with the guard on and off, plain and speculative decoding, and the engine's greedy choice driven
with crafted logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slot.engine.cpu.guards.json_state import StringState, in_string
from slot.engine.cpu.guards.runaway import RunawayGuard, digit_run, repeated_unit

VOCAB = ['{"', "a", '":"', '":', "word", " word", " other", '"', '"}', "}", "1", "0", "5", " ", "la", " di", " da",
         ","]
ID = {piece: index for index, piece in enumerate(VOCAB)}


class ToyTokenizer:
    def __len__(self) -> int:
        return len(VOCAB)

    def convert_ids_to_tokens(self, ids):
        return [VOCAB[i] for i in ids]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(VOCAB[i] for i in ids)


class ToyMatcher:
    """Allows the tokens given, whatever the text."""

    def __init__(self, allowed):
        self.allowed = np.zeros(len(VOCAB), dtype=bool)
        self.allowed[[ID[p] for p in allowed]] = True

    def mask(self):
        return self.allowed.copy()

    def allows(self, token):
        return bool(self.allowed[token])


def ids(*pieces):
    return [ID[p] for p in pieces]


def scores(**best):
    """Scores that rank the named pieces first (higher value, better), every other piece far below."""
    values = torch.full((len(VOCAB),), -10.0)
    for piece, value in best.items():
        values[ID[{"quote": '"', "quote_brace": '"}', "brace": "}", "other": " other", "word": " word",
                   "zero": "0", "five": "5"}[piece]]] = value
    return values


def guard(repeats=4, digits=20):
    return RunawayGuard(ToyTokenizer(), len(VOCAB), max_repeats=repeats, max_digits=digits)


STRING = ids('{"', "a", '":"')
NUMBER = ids('{"', "a", '":')


@pytest.mark.parametrize("context, token, copies, expected", [
    ([1, 2, 2, 2, 2], 2, 4, 1),
    ([1, 2, 2, 2], 2, 4, None),                  # three copies: one short
    ([1, 2, 3, 2, 3, 2, 3, 2, 3], 2, 4, 2),      # a two-token phrase
    ([1, 2, 3, 2, 3, 2, 3, 2, 3], 3, 4, None),   # the token would not begin a copy
    ([2, 2, 2, 2], 2, 0, None),                  # 0: off
])
def test_repeated_unit(context, token, copies, expected):
    assert repeated_unit(context, token, copies) == expected


@pytest.mark.parametrize("text, inside, escaped", [
    ('{"a":"x', True, False),
    ('{"a":"x"', False, False),
    ('{"a":"x\\"y', True, False),       # an escaped quote does not close
    ('{"a":"x\\\\"', False, False),     # an escaped backslash, then the closing quote
    ('{"a":"x\\', True, True),
    ('{"a":1', False, False),
])
def test_string_state(text, inside, escaped):
    assert StringState.of(text) == StringState(inside, escaped)
    assert in_string(text) == inside
    state = StringState()
    for char in text:  # piece by piece gives the same state
        state = state.after(char)
    assert state == StringState(inside, escaped)


def test_digit_run():
    assert digit_run('{"a":12') == 2 and digit_run('{"a":0.125') == 3 and digit_run('{"a":') == 0


def test_a_string_repeating_a_word_is_closed_with_the_best_closing_token():
    context = STRING + ids("word", " word", " word", " word", " word")
    matcher = ToyMatcher([" word", " other", '"', '"}'])
    logits = scores(word=5.0, quote_brace=1.0, quote=0.5, other=3.0)
    assert guard().check(ID[" word"], logits, matcher, context) == ID['"}']
    assert guard(repeats=5).check(ID[" word"], logits, matcher, context) == ID[" word"]   # not yet 5 copies
    assert guard(repeats=0).check(ID[" word"], logits, matcher, context) == ID[" word"]   # off
    assert guard().check(ID[" other"], logits, matcher, context) == ID[" other"]          # no next copy


def test_a_phrase_repeating_is_closed_too():
    context = STRING + ids("la") + ids(" di", " da") * 4
    matcher = ToyMatcher([" di", " da", '"'])
    logits = torch.full((len(VOCAB),), -10.0)
    logits[ID[" di"]], logits[ID['"']] = 5.0, 0.0
    assert guard().check(ID[" di"], logits, matcher, context) == ID['"']


def test_where_the_string_may_not_end_the_repeating_token_is_passed_over():
    context = STRING + ids("word", " word", " word", " word", " word")
    matcher = ToyMatcher([" word", " other"])  # e.g. minLength not reached: no closing quote allowed
    assert guard().check(ID[" word"], scores(word=5.0, other=3.0), matcher, context) == ID[" other"]
    only = ToyMatcher([" word"])
    assert guard().check(ID[" word"], scores(word=5.0), only, context) == ID[" word"]  # nothing else: kept


def test_repetition_outside_a_string_or_without_letters_is_left_alone():
    matcher = ToyMatcher([" word", '"', "1", "}"])
    digits = STRING + ids("1", "1", "1", "1", "1")  # "11111": no letter in the unit
    assert guard().check(ID["1"], scores(quote=1.0), matcher, digits) == ID["1"]
    closed = ids('{"', "a", '":"', " word", '"') + ids(" word") * 5  # odd toy text, but outside a string
    assert guard().check(ID[" word"], scores(word=5.0, quote=1.0), matcher, closed) == ID[" word"]


def test_a_number_gets_at_most_max_digits_digits():
    matcher = ToyMatcher(["0", "5", "}", ","])
    logits = scores(zero=5.0, five=4.0, brace=1.0)
    twenty = NUMBER + ids("1") + ids("0") * 19
    assert guard().check(ID["0"], logits, matcher, twenty) == ID["}"]      # a 21st digit: masked
    assert guard().check(ID["0"], logits, matcher, twenty[:-1]) == ID["0"]  # the 20th is fine
    assert guard(digits=0).check(ID["0"], logits, matcher, twenty) == ID["0"]
    assert guard(digits=3).check(ID["5"], logits, matcher, NUMBER + ids("5", "5", "5")) == ID["}"]


def test_digits_inside_a_string_are_not_capped():
    matcher = ToyMatcher(["0", "5", '"'])
    phone = STRING + ids("1", "0", "5") * 10  # 30 digits, no run of one unit 20 long
    assert guard().check(ID["1"], scores(quote=1.0), matcher, phone) == ID["1"]
    assert guard().check(ID["0"], scores(zero=5.0, quote=1.0), matcher, STRING + ids("1") + ids("0") * 19) == ID["0"]


def test_a_string_running_on_one_digit_is_closed_after_max_digits_copies():
    matcher = ToyMatcher(["0", "5", '"'])
    logits = scores(zero=5.0, quote=1.0, five=2.0)
    run = STRING + ids("1") + ids("0") * 20
    assert guard().check(ID["0"], logits, matcher, run) == ID['"']              # a 21st zero: closed instead
    assert guard().check(ID["5"], logits, matcher, run) == ID["5"]              # not another copy: kept
    assert guard(digits=0).check(ID["0"], logits, matcher, run) == ID["0"]      # the cap off: the guard too
    assert guard(digits=30).check(ID["0"], logits, matcher, run) == ID["0"]     # 20 copies, 30 allowed
    assert guard(repeats=0).check(ID["0"], logits, matcher, run) == ID["0"]     # the string guard off


# -- the real model --------------------------------------------------------------------------------

INTEGER = {"type": "object", "properties": {"relativeMinuteToStart": {"type": "integer"}},
           "required": ["relativeMinuteToStart"]}
FRACTION = {"type": "object", "properties": {"ratio": {"type": "number"}}, "required": ["ratio"]}
BOUNDED = {"type": "object", "properties": {"minutes": {"type": "integer", "minimum": 0, "maximum": 1000}},
           "required": ["minutes"]}
LYRICS = {"type": "object", "properties": {"lyrics": {"type": "string"}}, "required": ["lyrics"]}
DIGITS_TEXT = "The meeting starts in 1" + "0" * 50 + " minutes."
RATIO_TEXT = "The ratio is 0." + "3" * 48 + " exactly."
SONG_TEXT = "Song lyrics: " + "la di da " * 8
CODE = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}
CODE_TEXT = "Your confirmation code is 1" + "0" * 50 + "."


def _both(structurer, text, schema, **options):
    """The result of plain and of speculative decoding, which must agree."""
    plain = structurer.structure(text, schema, speculation=False, **options)
    fast = structurer.structure(text, schema, speculation=True, **options)
    assert fast.output == plain.output and fast.finish_reason == plain.finish_reason
    return plain


def _unguarded(structurer, limit, text, schema):
    """The result with one of the runaway guard's limits (``max_digits``, ``max_repeats``) set to 0, then restored."""
    guard = structurer.engine.runaway
    kept = getattr(guard, limit)
    setattr(guard, limit, 0)
    try:
        return structurer.structure(text, schema, max_tokens=120)
    finally:
        setattr(guard, limit, kept)


def _digits(result, key):
    return len(str(result.json[key]).replace("0.", "", 1)) if isinstance(result.json[key], float) \
        else len(str(result.json[key]))


@pytest.mark.model
def test_a_runaway_integer_stops_at_max_number_digits(structurer):
    result = _both(structurer, DIGITS_TEXT, INTEGER, max_tokens=120)
    assert result.valid and result.finish_reason == "stop"
    assert result.json["relativeMinuteToStart"] == 10 ** 19  # 20 digits, then the number ends
    free = _unguarded(structurer, "max_digits", DIGITS_TEXT, INTEGER)  # the text does provoke it
    assert len(free.output) > len(result.output) + 20


@pytest.mark.model
def test_a_runaway_fraction_stops_at_max_number_digits(structurer):
    result = _both(structurer, RATIO_TEXT, FRACTION, max_tokens=120)
    assert result.valid and result.finish_reason == "stop"
    assert result.output.endswith("0." + "3" * 20 + "}")


@pytest.mark.model
def test_schema_bounds_limit_the_digits_through_the_grammar(structurer):
    result = _both(structurer, DIGITS_TEXT, BOUNDED, max_tokens=60)
    assert result.valid and 0 <= result.json["minutes"] <= 1000 and len(str(result.json["minutes"])) <= 4


@pytest.mark.model
def test_a_string_repeating_its_words_is_closed(structurer):
    result = _both(structurer, SONG_TEXT, LYRICS, max_tokens=120)
    assert result.valid and result.finish_reason == "stop"
    assert result.usage.completion_tokens < 40
    free = _unguarded(structurer, "max_repeats", SONG_TEXT, LYRICS)  # loops until max_tokens: the text provokes it
    assert free.usage.completion_tokens == 120


@pytest.mark.model
def test_a_string_running_on_one_digit_stops_at_max_number_digits(structurer):
    """A SNIPS request ("I want animated movies at MJR Theatres") once ran a string to max_tokens with zeros
    ("20-25min-1000..."); here the text provokes the same run by copying."""
    result = _both(structurer, CODE_TEXT, CODE, max_tokens=120)
    assert result.valid and result.finish_reason == "stop"
    assert result.json["code"] == "1" + "0" * structurer.settings.max_number_digits
    free = _unguarded(structurer, "max_digits", CODE_TEXT, CODE)  # copies every zero: the text does provoke it
    assert len(free.json["code"]) > len(result.json["code"]) + 20


@pytest.mark.model
def test_the_engine_choice_closes_a_string_when_logits_insist_on_repeating(structurer, matcher_at):
    """The greedy choice itself, with logits that put the next copy of the word far ahead of anything else."""
    engine = structurer.engine
    tokenizer = engine.tokenizer
    prefix = '{"lyrics":"' + "word " * 6 + "word"
    matcher, context = matcher_at(LYRICS, prefix)
    word = tokenizer.encode(" word", add_special_tokens=False)
    assert len(word) == 1 and context[-1] == word[0]
    logits = torch.zeros(engine.vocab_size)
    logits[word[0]] = 50.0
    choice = engine.choose(logits, matcher, greedy=True, context=context)
    assert tokenizer.decode([choice]).startswith('"')
    short = tokenizer.encode('{"lyrics":"word word', add_special_tokens=False)
    fresh, _ = matcher_at(LYRICS, '{"lyrics":"word word')
    assert engine.choose(logits, fresh, greedy=True, context=short) == word[0]  # two copies: kept


@pytest.mark.model
def test_the_engine_choice_masks_a_21st_digit(structurer, matcher_at):
    engine = structurer.engine
    tokenizer = engine.tokenizer
    zero = tokenizer.encode("0", add_special_tokens=False)[0]
    logits = torch.zeros(engine.vocab_size)
    logits[zero] = 50.0
    matcher, context = matcher_at(INTEGER, '{"relativeMinuteToStart":1' + "0" * 19)
    assert tokenizer.decode([engine.choose(logits, matcher, greedy=True, context=context)]) == "}"
    matcher, context = matcher_at(INTEGER, '{"relativeMinuteToStart":1' + "0" * 18)
    assert engine.choose(logits, matcher, greedy=True, context=context) == zero
