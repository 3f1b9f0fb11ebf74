"""Dates and numbers of the input in their JSON form, and the drafts proposed from them."""

from __future__ import annotations

import pytest

from slot.engine.cpu.drafts.value_forms import Form, form_continuation, forms

TEXT = ('Alex: it was sent on: "18 May 2024", posted at: March 11, 2024 at 21:05 and reviewed 27 April 2023, '
        "6:30 PM. The price is $1,250.50 and the mass is 35.48 kg; lat -19.4968, filed 2015/02/12.")


def test_dates_and_numbers_are_rendered_as_json_writes_them():
    assert forms(TEXT) == (
        Form(TEXT.index("18 May"), "2024-05-18", True),
        Form(TEXT.index("March"), "2024-03-11T21:05:00", True),  # the time after a date joins it
        Form(TEXT.index("27 April"), "2023-04-27T18:30:00", True),  # 12-hour clock
        Form(TEXT.index("1,250"), "1250.50", False),  # thousands separator dropped
        Form(TEXT.index("35.48"), "35.48", False),
        Form(TEXT.index("-19"), "-19.4968", False),
        Form(TEXT.index("2015"), "2015-02-12", True),
    )  # the parts of dates and times are not numbers of their own


@pytest.mark.parametrize("text", ["31 Foo 2024", "February 30", "2024/13/01", "13:61", "v1.2.3"])
def test_what_is_not_a_date_is_not_one(text):
    assert all(not form.quoted for form in forms(text))


@pytest.mark.parametrize("output, expected", [
    ('{"sent_on":"', '2024-05-18"'),  # a value's start: the date its label introduces, then its end
    ('{"sent_on":"202', '4-05-18"'),
    ('{"posted_at":"2024-0', "3-11T21:05:00"),  # the first date that fits (no label): a date-time, no end guessed
    ('{"a":"2024-03-11T21:05:00","b":"2024-0', '5-18"'),  # one the output has not used yet
    ('{"mass":', "35.48,"),
    ('{"weight":3', "5.48,"),  # begun: the number it begins, wherever its label
    ('{"lat":-', "19.4968,"),
    ('{"price":1', "250.50,"),
    ('{"items":[1', "250.50,"),  # an array item
    ('{"weight":', ""),  # no label, nothing begun: no guess
    ('{"code":"2', ""),  # one character of a string is too little for a date
    ('{"name":"Al', ""),  # not a date or a number
    ('{"sent_on":18', ""),  # a number where the text has only a date there
])
def test_the_form_an_output_has_begun_is_continued(output, expected):
    assert form_continuation(output, TEXT) == expected


def test_a_value_start_takes_the_labelled_value_the_output_does_not_hold_yet():
    text = "Pickup: latitude 18.5031, longitude -5.9264. Drop-off: latitude 13.4361, longitude 115.3308."
    assert form_continuation('{"pickup":{"latitude":', text) == "18.5031,"
    assert form_continuation('{"pickup":{"latitude":18.5031,"longitude":-5.9264},"dropoff":{"latitude":',
                             text) == "13.4361,"
