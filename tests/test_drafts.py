"""Copy drafts from the input: where a copied value stops, where its end is guessed, label, list and word lookups."""

from __future__ import annotations

import pytest

from slot.engine.cpu.drafts.proposals import (COPIED, FORCED, LABEL_CHARS, _guess, build_draft, copy_continuation,
                                             cut_at_boundary, item_continuation, label_continuation,
                                             word_continuation)


@pytest.mark.parametrize("continuation, expected", [
    ("19.2 cm, launch", ("19.2 cm", True)),  # a decimal point is part of the value
    ("carter.com\nPhone", ("carter.com", True)),  # so is the dot of a domain
    ("1,000 units.", ("1,000 units", True)),  # and a thousands separator
    (" in the city centre. Near", (" in the city centre", True)),  # a full stop before a space ends it
    ("Lake Allen, Norway", ("Lake Allen", True)),
    ("end.", ("end", True)),  # at the end of the text too
    ("no boundary at all", ("no boundary at all", False)),
    ("pad thai and tacos al pastor", ("pad thai ", True)),  # a list's last item follows "and"
    (" daily or as needed", (" daily ", True)),
    ("Sandy Anderson", ("Sandy Anderson", False)),  # "and" inside a word is no conjunction
])
def test_copies_stop_at_punctuation_but_not_inside_numbers_or_addresses(continuation, expected):
    assert cut_at_boundary(continuation) == expected


@pytest.mark.parametrize("output, source, expected", [
    ('{"postalCode":"', "• **Town**: Lake Allen\n• **Postal code**: 85055\n", "85055\n"),
    ('{"postal_code":"8', "| Postal Code | 85055 |", "5055 |"),  # what the value has already must match
    ('{"city":"', "| Town | City | Lake Allen |", "Lake All"),  # a table row
    ('{"weight":', "* Mass - 9.7\n* Weight - 12.5 kg", "12.5 kg"),  # a number value, any case
    ('{"city":"X', "City: Lake Allen", ""),  # the value disagrees with the text after the label
    ('{"area":"', "Loch Fyne is in the city centre.", ""),  # no label for the key
    ('{"name":"Loch', "Name: Loch Fyne", ""),  # past the start of the value: the ordinary copy's work
    ('{"fullName":"', "Her full name is Joshua Morrow.", "Joshua Morrow"),  # a linking verb is no part of it
    ('{"a":{"phone":"884-848-5796"},"b":{"phone":"', "Phone: 884-848-5796. Phone: 001-481-742",
     "001-481-742"),  # the label whose value the output does not hold yet
])
def test_a_value_start_is_looked_up_after_its_key_used_as_a_label(output, source, expected):
    assert label_continuation(output, source) == expected[:LABEL_CHARS]


@pytest.mark.model
def test_build_draft_guesses_the_value_end_where_the_grammar_stops_a_copy(structurer, matcher_at):
    schema = {"type": "object", "properties": {"height": {"type": "number"}, "weight": {"type": "number"},
                                               "city": {"type": "string"}},
              "required": ["height", "weight", "city"], "additionalProperties": False}
    tokenizer = structurer.engine.tokenizer
    text = "- **Tall**: 182.5 cm\n- **Mass**: 39.73 kg\n- **City**: Lake Allen"

    matcher, output = matcher_at(schema, '{"height":18')
    draft, kinds = build_draft(matcher, tokenizer, output, text, 24)
    # "2.5" is copied, " cm" is refused by the number grammar: the value is guessed to end there, the next
    # key is forced, and the label "Mass" is not the key "weight", so the draft stops at the value's start
    assert tokenizer.decode(draft) == '2.5,"weight":'
    assert kinds[0] == COPIED and FORCED in kinds
    assert not matcher.is_stopped() and matcher.consume(draft)  # drafting restored the matcher

    matcher, output = matcher_at(schema, '{"height":182.5,"weight":39.73,"city":"')
    draft, kinds = build_draft(matcher, tokenizer, output, text, 24)
    assert tokenizer.decode(draft).startswith("Lake All")  # found after the label "City"
    assert kinds[0] == COPIED


@pytest.mark.parametrize("output, source, expected", [
    ('{"flags":["large","', "Flags: large, manual and reviewed. Fees", "manual and reviewed. Fees"),
    ('{"flags":["large","manual","', "Flags: large, manual and reviewed. Fees", "reviewed. Fees"),  # past "and"
    ('{"tags":["vip","', "Tags: vip / new", "new"),
    ('{"tags":["vip","', "Tags: VIP, new", ""),  # the previous item is not in the text as written
    ('{"tags":["vip"],"x":"', "Tags: vip, new", ""),  # not an item's start
])
def test_a_list_item_is_looked_up_after_the_previous_one(output, source, expected):
    assert item_continuation(output, source) == expected


@pytest.mark.parametrize("output, source, expected", [
    ('{"name":"G', "Call Gary Hunter or Gina Lo", "ary Hunt"),  # the first word the letter begins
    ('{"name":"Gary Hunter","backup":"G', "Call Gary Hunter or Gina Lo", "ina Lo"),  # not one already used
    ('{"ids":["R', "Rx RX-2678", "x RX-267"),
    ('{"name":"g', "Call Gary Hunter", ""),  # case matters
    ('{"name":"Gary', "Call Gary Hunter", ""),  # more than 3 characters: the copy's work
])
def test_a_begun_string_value_is_looked_up_at_a_word_start(output, source, expected):
    assert word_continuation(output, source) == expected[:LABEL_CHARS]


@pytest.mark.parametrize("output, source, expected", [
    ('{"a":"Suite 1800","b":"Suite 1', "Suite 1800, then Suite 1377.", "377."),  # the second "Suite 1"
    ('{"a":"Suite 1', "Suite 1800, then Suite 1377.", "800, then"),  # nothing used yet: the first
    ('{"a":"Suite 1800","b":"Suite 1800","c":"Suite 1', "Suite 1800, Suite 1800.", "800, Suite"),  # all used
])
def test_a_copy_prefers_the_place_whose_value_the_output_does_not_hold_yet(output, source, expected):
    assert copy_continuation(output, source).startswith(expected)


def test_a_copied_value_ends_without_the_space_before_the_punctuation():
    continuation, bounded, kind = _guess(None, "RX-1968510 (refill)", "", None)
    assert (continuation, bounded, kind) == ("RX-1968510", True, COPIED)
    assert _guess(None, "open text", "", None)[0] == "open text"  # no boundary: the copy runs on as it is
