"""Grounding: one hand-worked case per normalisation, offsets checked against the original text."""

from __future__ import annotations

import time

import pytest

from slot.grounding import FieldEvidence, Grounding, UngroundedValuesError, apply_policy, ground


def _one(value: object, text: str, *, key: str = "v", schema: dict | None = None) -> FieldEvidence:
    g = ground({key: value}, text, schema)
    assert len(g.fields) == 1
    return g.fields[0]


def _texts(ev: FieldEvidence, text: str) -> list[str]:
    return [text[s:e] for s, e in ev.spans]


# ---- strings: case, whitespace, punctuation, unicode ----------------------------------------
@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        ("city centre", "Located in the City  Centre, near X.", "City  Centre"),  # case + spaces
        ("city centre", "a city-centre venue", "city-centre"),  # punctuation between words
        ("Cafe Sicilia", "near Café Sicilia.", "Café Sicilia"),  # accents
        ("Café Sicilia", "near CAFE SICILIA.", "CAFE SICILIA"),
        ("ACME Corp", "by ＡＣＭＥ Corp.", "ＡＣＭＥ Corp"),  # NFKC full-width letters
        ("O'Neil's", "at O’Neil’s pub", "O’Neil’s"),  # curly vs straight quotes
        ("\"The Mill\"", "called The Mill today", "The Mill"),  # quotes in the value
        ("city center", "in the city centre", "city centre"),  # British/American spelling
        ("R&D", "our R and D team", "R and D"),  # '&' reads as 'and'
    ],
)
def test_string_normalisations_are_grounded(value: str, text: str, expected: str) -> None:
    ev = _one(value, text)
    assert ev.status == "grounded"
    assert _texts(ev, text) == [expected]


def test_offsets_survive_expanding_unicode_before_the_match() -> None:
    text = "ﬁne ß straße — Zürich, Straße 5"
    ev = _one("Strasse 5", text)
    assert ev.status == "grounded"
    assert _texts(ev, text) == ["Straße 5"]


def test_word_boundaries_are_respected() -> None:
    assert _one("high", "a highway cafe").status == "ungrounded"
    assert _one("Ranch", "The Ranchers").status == "ungrounded"


def test_all_occurrences_are_reported() -> None:
    text = "Aromi is nice. Aromi again."
    assert _one("Aromi", text).spans == [(0, 5), (15, 20)]


def test_unrelated_string_is_ungrounded() -> None:
    ev = _one("Cotto", "Aromi is a coffee shop near Burger King.")
    assert ev.status == "ungrounded" and ev.spans == []


# ---- numbers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        (1200, "It costs 1,200 dollars.", "1,200"),
        (1200, "It costs 1200 dollars.", "1200"),
        (1200, "It costs 1 200 dollars.", "1 200"),
        (1200, "It costs 1.2k dollars.", "1.2k"),
        (1200000, "revenue of 1.2 million", "1.2 million"),
        (12.5, "price $12.50 each", "12.50"),
        (1200.5, "price €1.200,50 each", "1.200,50"),
        (3, "we have three cats", "three"),
        (21, "twenty-one guests", "twenty-one"),
        (-4, "it was -4 degrees", "-4"),
        (0.15, "a 15% discount", "15%"),
        ("1,200", "It costs 1200 dollars.", "1200"),  # numeric string value
        ("$12.50", "price 12.5 USD", "12.5"),
    ],
)
def test_number_formats_are_grounded(value: object, text: str, expected: str) -> None:
    ev = _one(value, text)
    assert ev.status == "grounded"
    assert expected in _texts(ev, text)


def test_wrong_number_is_ungrounded() -> None:
    assert _one(1300, "It costs 1,200 dollars.").status == "ungrounded"
    assert _one(12.5, "It costs 125 dollars.").status == "ungrounded"


def test_date_parts_are_not_negative_numbers() -> None:
    assert _one(-3, "on 2024-03-05").status == "ungrounded"
    assert _one(2024, "on 2024-03-05").status == "grounded"


# ---- dates and date-times --------------------------------------------------------------------
@pytest.mark.parametrize(
    "written",
    ["2024-03-05", "March 5, 2024", "5 March 2024", "05/03/2024", "03/05/2024", "Mar 5th 2024",
     "5th of March, 2024", "Tuesday, March 5, 2024", "2024/03/05"],
)
def test_date_formats_are_grounded(written: str) -> None:
    text = f"The contract was signed on {written} in Oslo."
    ev = _one("2024-03-05", text)
    assert ev.status == "grounded"
    assert _texts(ev, text) == [written.removeprefix("Tuesday, ")]


def test_date_value_in_prose_form_matches_iso_text() -> None:
    text = "Signed 2024-03-05."
    ev = _one("March 5, 2024", text)
    assert ev.status == "grounded" and _texts(ev, text) == ["2024-03-05"]


def test_wrong_date_is_ungrounded() -> None:
    assert _one("2024-03-06", "signed on March 5, 2024").status == "ungrounded"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Delivery on March 5, 2024 at 3pm.", "March 5, 2024 at 3pm"),
        ("Delivery on 5 March 2024, 15:00.", "5 March 2024, 15:00"),
        ("Delivery 2024-03-05T15:00:00Z.", "2024-03-05T15:00:00Z"),  # verbatim
        ("Delivery 2024-03-05 15:00.", "2024-03-05 15:00"),
        ("Delivery on 5 March 2024, 3 p.m.", "5 March 2024, 3 p.m."),
    ],
)
def test_date_time_formats_are_grounded(text: str, expected: str) -> None:
    ev = _one("2024-03-05T15:00:00Z", text)
    assert ev.status == "grounded"
    assert _texts(ev, text) == [expected]


def test_noon_and_am_times() -> None:
    assert _one("2024-03-05T12:00:00", "due March 5, 2024 at noon").status == "grounded"
    assert _one("2024-03-05T03:00:00", "due March 5, 2024 at 3 am").status == "grounded"
    assert _one("2024-03-05T03:00:00", "due March 5, 2024: 3 amazing offers").status == "ungrounded"


def test_date_time_with_wrong_time_is_ungrounded_and_midnight_is_inferred() -> None:
    assert _one("2024-03-05T09:00:00", "Delivery on March 5, 2024 at 3pm.").status == "ungrounded"
    assert _one("2024-03-05T00:00:00", "Delivery on March 5, 2024.").status == "inferred"


# ---- booleans ----------------------------------------------------------------------------------
def test_explicit_yes_no_is_grounded() -> None:
    text = "Family friendly: yes. Parking: no."
    ev = _one(True, text, key="familyFriendly")
    assert ev.status == "grounded" and _texts(ev, text) == ["Family friendly: yes"]
    ev = _one(False, text, key="parking")
    assert ev.status == "grounded" and _texts(ev, text) == ["Parking: no"]


@pytest.mark.parametrize(
    ("text", "value", "status", "evidence"),
    [
        ("Alimentum is not family-friendly.", "no", "inferred", "family-friendly"),
        ("Alimentum is not family-friendly.", "yes", "ungrounded", None),
        ("Alimentum is not family-friendly.", False, "inferred", "family-friendly"),
        ("A family friendly pub.", True, "inferred", "family friendly"),
        ("It isn't kid friendly.", "no", "inferred", "friendly"),
        ("A non-children friendly restaurant", "no", "inferred", "friendly"),
        ("The cafe welcomes families.", "yes", "inferred", "families"),
        ("It is cheap, but family friendly.", "yes", "inferred", "family friendly"),
        ("Near the river.", True, "ungrounded", None),
    ],
)
def test_implied_booleans_are_inferred(text: str, value: object, status: str, evidence: str | None) -> None:
    ev = _one(value, text, key="familyFriendly")
    assert ev.status == status
    if evidence is not None:
        assert evidence in _texts(ev, text)


@pytest.mark.parametrize(
    ("key", "value", "text", "evidence"),
    [
        ("refundable", False, "- **Refundable fare** — no\n", "Refundable fare** — no"),
        ("accidentFree", False, "| Accident free | false |", "Accident free | false"),
        ("giftWrap", False, "Gift wrapping: false. Paid.", "wrapping: false"),  # one word of the name
        ("autoRenew", True, "* Jurisdiction — not provided\n* Renews automatically — yes", "Renews automatically — yes"),
    ],
)
def test_labelled_answers_are_grounded(key: str, value: bool, text: str, evidence: str) -> None:
    ev = _one(value, text, key=key)
    assert ev.status == "grounded" and _texts(ev, text) == [evidence]


def test_negation_does_not_cross_lines() -> None:
    text = "* Jurisdiction — not provided\n* Renews automatically"
    assert _one(True, text, key="autoRenew").status == "inferred"


def test_partial_name_with_other_polarity_falls_back_to_a_bare_answer() -> None:
    text = "Overtime -> no\nScorers / time -> 72"
    assert _one(False, text, key="extraTime").status == "inferred"  # "time" is a weak mention
    assert _one(True, "Family friendly: no.", key="familyFriendly").status == "ungrounded"


def test_true_false_words_ground_strings() -> None:
    text = "Vegan: true"
    ev = _one("yes", text, key="vegan")
    assert ev.status == "grounded" and _texts(ev, text) == ["Vegan: true"]


# ---- enum synonyms from the schema description ---------------------------------------------------
SCHEMA = {
    "type": "object",
    "properties": {
        "price": {"type": "string", "enum": ["cheap", "moderate", "high"],
                  "description": "Price band. cheap (also: inexpensive, budget); high = expensive, pricey"},
        "note": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
        "count": {"type": "integer"},
    },
    "$defs": {"tag": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
}


@pytest.mark.parametrize(("value", "text", "expected"),
                         [("cheap", "an inexpensive bar", "inexpensive"),
                          ("high", "a pricey bar", "pricey"),
                          ("high", "an expensive bar", "expensive")])
def test_enum_synonyms_from_description_are_grounded(value: str, text: str, expected: str) -> None:
    ev = _one(value, text, key="price", schema=SCHEMA)
    assert ev.status == "grounded" and _texts(ev, text) == [expected]


def test_enum_synonym_needs_the_schema() -> None:
    assert _one("cheap", "an inexpensive bar", key="price").status == "ungrounded"
    assert _one("moderate", "an inexpensive bar", key="price", schema=SCHEMA).status == "ungrounded"


# ---- ratings and fuzzy overlap (inferred) ------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text", "status"),
    [
        ("5 out of 5", "It has a 5 out of 5 rating.", "grounded"),
        ("1 out of 5", "rated one out of five stars", "grounded"),
        ("4/5", "rated 4 out of 5", "grounded"),
        ("5 out of 5", "a 5 star coffee shop", "inferred"),
        ("5 out of 5", "rated 1 out of 5", "ungrounded"),
        ("3 out of 5", "a 5 star coffee shop", "ungrounded"),
    ],
)
def test_ratings(value: str, text: str, status: str) -> None:
    assert _one(value, text).status == status


def test_reordered_words_are_inferred() -> None:
    text = "It is in the centre of the city."
    ev = _one("city centre", text)
    assert ev.status == "inferred"
    assert sorted(_texts(ev, text)) == ["centre", "city"]


def test_inflected_word_is_inferred() -> None:
    assert _one("moderate", "a moderately priced cafe").status == "inferred"


def test_scattered_common_words_do_not_count() -> None:
    text = "The Golden Palace is golden. " + "Filler words here. " * 10 + "They serve curry."
    assert _one("The Golden Curry", text).status == "ungrounded"


# ---- nulls, score, to_dict ----------------------------------------------------------------------
def test_nulls_and_empties_are_not_reported_and_score_counts_the_rest() -> None:
    g = ground({"a": "Aromi", "b": None, "c": "", "d": [], "e": "Cotto"}, "Aromi is here.")
    assert [f.path for f in g.fields] == ["/a", "/e"]
    assert g.score == 0.5 and g.ungrounded_paths == ["/e"]
    assert ground({"a": None}, "x").score == 1.0


def test_to_dict_shape() -> None:
    g = ground({"name": "Aromi", "items": [{"n": 2}]}, "Aromi sells 2 cakes.")
    assert g.to_dict() == {
        "fields": [{"path": "/name", "status": "grounded", "spans": [[0, 5]]},
                   {"path": "/items/0/n", "status": "grounded", "spans": [[12, 13]]}],
        "score": 1.0,
        "ungrounded_paths": [],
    }
    assert isinstance(g, Grounding)


# ---- policy -----------------------------------------------------------------------------------
def test_policy_keep_returns_data_unchanged() -> None:
    data = {"note": "made up"}
    assert apply_policy(data, ground(data, "nothing"), SCHEMA, "keep") is data


def test_policy_null_only_where_schema_allows_null() -> None:
    data = {"note": "made up", "count": 7, "tags": ["x", "invented"], "price": "cheap"}
    g = ground(data, "a cheap place, tag x")
    out = apply_policy(data, g, SCHEMA, "null")
    assert out == {"note": None, "count": 7, "tags": ["x", None], "price": "cheap"}
    assert data["note"] == "made up"  # not modified in place
    assert apply_policy(data, g, None, "null") == data  # no schema: keep everything


def test_policy_fail_lists_offending_paths() -> None:
    data = {"note": "made up", "price": "cheap"}
    with pytest.raises(UngroundedValuesError, match="/note") as info:
        apply_policy(data, ground(data, "cheap"), SCHEMA, "fail")
    assert info.value.paths == ["/note"]
    ok = {"price": "cheap"}
    assert apply_policy(ok, ground(ok, "cheap"), SCHEMA, "fail") is ok


# ---- a long text ------------------------------------------------------------------------------
def test_a_few_kb_of_repeated_text_is_grounded_field_by_field() -> None:
    # its speed (~3 ms) is measured by benchmarks/bench_grounding.py, not asserted here: a timed unit test failed
    # on a busy 2-core machine (31 ms of thread CPU time) with nothing wrong in the code
    text = ("Aromi is a coffee shop in the city centre, rated 5 out of 5, prices from $1,200. "
            "It opened on March 5, 2024 and is not family-friendly. ") * 30  # ~4 KB
    data = {"name": "Aromi", "area": "city centre", "rating": "5 out of 5", "price": 1200,
            "opened": "2024-03-05", "familyFriendly": "no", "near": "Cotto",
            "items": [{"n": i} for i in range(10)]}
    status = {field.path: field.status for field in ground(data, text).fields}
    assert [status[f"/{key}"] for key in ("name", "area", "rating", "price", "opened")] == ["grounded"] * 5
    assert status["/familyFriendly"] == "inferred" and status["/near"] == "ungrounded"
    assert status["/items/5/n"] == "grounded" and status["/items/3/n"] == "ungrounded"  # "5" occurs, "3" does not


def test_a_backtracking_pattern_property_does_not_stall_grounding():
    from slot.grounding.schema_paths import subschemas_at

    key = "a" * 40 + "!"
    schema = {"type": "object", "patternProperties": {"^(a|aa)+$": {"type": "string"}}}
    started = time.perf_counter()
    assert subschemas_at(schema, "/" + key) == []  # too costly to tell: unknown, never a hang
    assert time.perf_counter() - started < 2.0
