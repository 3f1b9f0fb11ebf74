"""The output memory: what it remembers, the drafts it suggests, and that decoding with it stays exact."""

from __future__ import annotations

import json

import pytest

from slot.engine.cpu.drafts import output_memory
from slot.engine.cpu.drafts.output_memory import OutputMemory, SchemaMemory

E2E_LIKE = [
    ('{"name":"Aromi","area":"riverside","familyFriendly":"yes"}',
     "Aromi is a family friendly place by the riverside."),
    ('{"name":"Cotto","area":"city centre","familyFriendly":"no"}',
     "Cotto, in the city centre, is not family friendly."),
    ('{"name":"The Eagle","area":"riverside","familyFriendly":"no"}',
     "The Eagle by the riverside is not kid friendly."),
    ('{"name":"Zizzi","area":"city centre","familyFriendly":"yes"}', "Zizzi in the city centre welcomes families."),
]


def _memory(rows=E2E_LIKE) -> SchemaMemory:
    memory = SchemaMemory()
    for output, source in rows:
        memory.add(output, source)
    return memory


def test_values_are_remembered_per_key():
    memory = _memory()
    assert memory.values["area"] == {"riverside": 2, "city centre": 2}
    assert memory.values["familyFriendly"] == {"yes": 2, "no": 2}
    assert memory.open_value('{"name":"Loch Fyne","area":"') == ("area", "")
    assert memory.open_value('{"name":"Loch Fyne","area":"rive') == ("area", "rive")
    assert memory.open_value('{"name":"Loch Fyne","ar') is None  # inside a key, not a value
    assert memory.open_value('{"rating":"') is None  # a key never seen


def test_a_value_found_in_the_input_comes_first():
    memory = _memory()
    assert memory.value_for("area", "Loch Fyne is in the city centre.") == "city centre"
    assert memory.value_for("area", "Loch Fyne by the Riverside.") == "riverside"


def test_an_enum_like_value_is_chosen_from_the_words_of_the_input():
    memory = _memory()
    # neither "yes" nor "no" occurs in these texts: naive Bayes over the words decides
    assert memory.value_for("familyFriendly", "Loch Fyne is not family friendly.") == "no"
    assert memory.value_for("familyFriendly", "Loch Fyne welcomes families.") == "yes"


def test_free_text_keys_get_no_guess_when_the_input_lacks_the_value():
    many = [(json.dumps({"name": f"Place {i}"}, separators=(",", ":")), f"Place {i} is nice.") for i in range(20)]
    memory = _memory(many)
    assert memory.value_for("name", "Somewhere else entirely.") is None
    assert memory.value_for("name", "Place 7 is nice.") == "Place 7"


def test_the_end_of_a_copied_value_follows_the_longest_remembered_value():
    memory = _memory()
    # copying "city" from the input would run on to the next punctuation; memory says the value is "city centre"
    assert memory.value_end("area", "city", " centre near the river, and more") == " centre"
    assert memory.value_end("area", "city", " center near the river") is None  # the input disagrees
    assert memory.completion("area", "city", "") == " centre"
    assert memory.value_end("name", "Cotto", " is a coffee shop") == ""  # a value seen whole ends here


def test_continuation_of_text_seen_before():
    memory = _memory()
    assert memory.continuation('{"name":"Zizzi","area":"city centre","fam').startswith('ilyFriendly":"yes"}')
    assert memory.continuation("nothing like it") == ""


def test_memory_is_bounded():
    memory = SchemaMemory(outputs=3)
    for i in range(output_memory.VALUES_PER_KEY + 10):
        memory.add(json.dumps({"id": f"v{i}"}, separators=(",", ":")), "")
    assert len(memory.texts) == 3
    assert len(memory.values["id"]) == output_memory.VALUES_PER_KEY
    schemas = OutputMemory(schemas=2)
    for key in ("a", "b", "c"):
        schemas.add(key, '{"x":"1"}', "")
    assert len(schemas) == 2 and schemas.get("a") is None and schemas.get("c") is not None
    off = OutputMemory(schemas=0)
    off.add("a", '{"x":"1"}', "")
    assert len(off) == 0


@pytest.mark.model
def test_build_draft_uses_the_memory_after_keys_and_at_value_ends(structurer, matcher_at):
    from slot.engine.cpu.drafts.proposals import COPIED, FORCED, REMEMBERED, build_draft

    schema = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"},
                                               "familyFriendly": {"type": "string"}},
              "required": ["name", "area", "familyFriendly"], "additionalProperties": False}
    tokenizer = structurer.engine.tokenizer
    text = "Loch Fyne is a restaurant in the city centre near the river, not family friendly."
    matcher, output = matcher_at(schema, '{"name":"Loch Fyne","area":"')

    without, _ = build_draft(matcher, tokenizer, output, text, 24)
    assert without == []  # the input has no copy for the start of a value

    draft, kinds = build_draft(matcher, tokenizer, output, text, 24, _memory())
    assert tokenizer.decode(draft) == 'city centre","familyFriendly":"no"}'
    assert FORCED in kinds and REMEMBERED in kinds
    assert not matcher.is_stopped() and matcher.consume(draft)  # drafting restored the matcher

    matcher, start = matcher_at(schema, '{"name":"Loch')
    copied, kinds = build_draft(matcher, tokenizer, start, text, 24)
    assert tokenizer.decode(copied).startswith(" Fyne is a restaurant in the city centre near the river")
    assert kinds[0] == COPIED and REMEMBERED not in kinds  # then a closer guess and the forced next key


@pytest.mark.model
def test_decoding_with_the_memory_is_exact_and_saves_passes(structurer, e2e_rows):
    # rows that share one schema: the first runs with an empty memory, the others fill it, then it runs again
    engine = structurer.engine
    schema = e2e_rows[0]["json_schema"]
    rows = [row for row in e2e_rows if row["json_schema"] == schema][:8]
    saved = engine.output_memory
    engine.output_memory = OutputMemory(64)
    try:
        first = structurer.structure(rows[0]["input_text"], schema)
        for row in rows[1:]:
            fast = structurer.structure(row["input_text"], schema)
            plain = structurer.structure(row["input_text"], schema, speculation=False)
            assert fast.output == plain.output, row["id"]
        again = structurer.structure(rows[0]["input_text"], schema)
    finally:
        engine.output_memory = saved
    assert first.usage.remembered_tokens == 0
    assert again.output == first.output
    assert again.usage.remembered_tokens > 0
    assert again.usage.forward_passes < first.usage.forward_passes


@pytest.mark.model
def test_the_prefill_verifies_the_opening_draft(structurer, e2e_rows):
    row = e2e_rows[3]
    # {"name":" is forced by the grammar: it rides with the prompt, so these tokens cost no decoding pass
    result = structurer.structure(row["input_text"], row["json_schema"], max_tokens=3)
    plain = structurer.structure(row["input_text"], row["json_schema"], max_tokens=3, speculation=False)
    assert result.output == plain.output == '{"name":"'
    assert result.usage.forward_passes == 0 and result.usage.forced_tokens == 3
    assert plain.usage.forward_passes == 2


def test_word_counts_are_kept_for_enum_like_keys_only_and_within_a_budget():
    memory = SchemaMemory()
    for i in range(output_memory.ENUM_LIKE_VALUES + 1):
        memory.add(json.dumps({"kind": "a" if i % 2 else "b", "name": f"n{i}"}, separators=(",", ":")), f"text {i}")
    assert ("kind", "a") in memory.words and ("kind", "b") in memory.words
    assert not any(key == "name" for key, _ in memory.words)  # 11 distinct names: free text, no word counts
    assert memory.value_for("name", "something n3 mentioned") == "n3"
    schemas = OutputMemory(schemas=100, max_entries=200)
    for key in range(10):
        schemas.add(str(key), json.dumps({"k": "v" * 300}, separators=(",", ":")), " ".join(f"w{i}" for i in range(50)))
    assert schemas.size <= 200 and 0 < len(schemas) < 10
    assert schemas.get("9") is not None and schemas.get("0") is None
