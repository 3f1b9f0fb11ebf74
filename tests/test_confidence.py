"""Per-field confidence: token probabilities under the grammar, their mapping onto leaves, and the result's fields."""

from __future__ import annotations

import json
import math

import pytest
import torch

from slot.confidence import attach_confidence, leaf_confidences, token_spans, value_spans

# -- value spans and the token -> leaf mapping (no model) ---------------------------------------------------


def test_value_spans_name_every_leaf_as_iter_leaves_does():
    text = '{"a": "x,\\"y", "b/c": [1, -2.5e3, {"d": null}], "e": {}, "f": [], "g": true}'
    spans = value_spans(text)
    assert {path: text[s:e] for path, (s, e) in spans.items()} == {
        "/a": '"x,\\"y"', "/b~1c/0": "1", "/b~1c/1": "-2.5e3", "/b~1c/2/d": "null", "/e": "{}", "/f": "[]",
        "/g": "true"}
    assert value_spans('"alone"') == {"": (0, 7)}


@pytest.mark.parametrize("text", ['{"a": 1', '{"a": 1} x', '{"a" 1}', "", "[1 2]"])
def test_value_spans_of_broken_json_are_empty(text):
    assert value_spans(text) == {}


def _tokens(*pieces: str) -> list[tuple[int, int]]:
    spans, at = [], 0
    for piece in pieces:
        spans.append((at, at + len(piece)))
        at += len(piece)
    return spans


PIECES = ('{"', 'name', '":"', 'Ar', 'omi', '","', 'rating', '":', '4', '5', ',"', 'kids', '":', 'null', '}')
TEXT = "".join(PIECES)
PROBS = [1.0, 1.0, 0.9, 0.5, 0.8, 0.7, 1.0, 1.0, 0.6, 0.9, 0.4, 1.0, 1.0, 0.3, 1.0]


def test_a_leaf_is_the_product_of_its_tokens_closing_token_included():
    confidence = leaf_confidences(TEXT, _tokens(*PIECES), PROBS)
    # "Aromi": '":"' opens it, 'Ar' 'omi', '","' closes it; 45: '4' '5' and ',"' that ends the number
    assert confidence["/name"] == pytest.approx(0.9 * 0.5 * 0.8 * 0.7)
    assert confidence["/rating"] == pytest.approx(0.6 * 0.9 * 0.4)
    assert confidence["/kids"] == pytest.approx(0.3)


def test_without_the_closing_token_and_with_the_minimum():
    spans = _tokens(*PIECES)
    plain = leaf_confidences(TEXT, spans, PROBS, closing=False)
    assert plain["/name"] == pytest.approx(0.9 * 0.5 * 0.8) and plain["/rating"] == pytest.approx(0.6 * 0.9)
    lowest = leaf_confidences(TEXT, spans, PROBS, aggregate="min")
    assert lowest == {"/name": 0.5, "/rating": 0.4, "/kids": 0.3}


def test_tokens_without_a_probability_are_skipped_and_no_probabilities_give_none():
    spans = _tokens(*PIECES)
    probs = list(PROBS)
    probs[3] = math.nan
    assert leaf_confidences(TEXT, spans, probs)["/name"] == pytest.approx(0.9 * 0.8 * 0.7)
    probs[13] = math.nan
    assert leaf_confidences(TEXT, spans, probs)["/kids"] is None
    assert leaf_confidences(TEXT, spans, []) == {}  # the engine reports none (vLLM)
    assert leaf_confidences('{"a":', _tokens('{"', 'a', '":'), [1.0, 1.0, 1.0]) == {}  # cut output


def test_an_empty_token_span_belongs_to_the_character_it_stands_before():
    # a character split over two tokens: the first gets an empty span where the character starts
    text = '{"a":"é"}'
    spans = [(0, 2), (2, 3), (3, 6), (6, 6), (6, 7), (7, 9)]
    confidence = leaf_confidences(text, spans, [1.0, 1.0, 1.0, 0.5, 0.8, 1.0])
    assert confidence["/a"] == pytest.approx(0.4)


def test_attach_confidence_sets_every_field():
    grounding = {"fields": [{"path": "/a", "status": "grounded", "spans": []},
                            {"path": "/b", "status": "ungrounded", "spans": []}], "score": 0.5}
    assert attach_confidence(grounding, {"/a": 0.25})["fields"] == [
        {"path": "/a", "status": "grounded", "spans": [], "confidence": 0.25},
        {"path": "/b", "status": "ungrounded", "spans": [], "confidence": None}]


# -- the real tokenizer, grammar and model ---------------------------------------------------------------------

@pytest.mark.model
@pytest.mark.parametrize("text", ['{"name":"Aromi","rating":4.5}', '{"city":"Zürich ☕","n":[1,2]}'])
def test_token_spans_cover_the_text_in_order(structurer, text):
    tokenizer = structurer.engine.tokenizer
    ids = tokenizer.encode(text, add_special_tokens=False)
    spans = token_spans(tokenizer, ids, text)
    assert len(spans) == len(ids) and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a <= b for a, b in spans) and all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    assert "".join(text[a:b] for a, b in spans) == text


@pytest.mark.model
def test_chosen_probability_is_the_masked_renormalised_softmax(structurer, matcher_at):
    from slot.engine.cpu.decoding.probability import chosen_probability

    schema = {"type": "object", "required": ["kind", "n"], "additionalProperties": False,
              "properties": {"kind": {"enum": ["cafe", "pub", "restaurant"]}, "n": {"type": "integer"}}}
    vocab = structurer.engine.vocab_size
    logits = torch.randn(vocab + 17, generator=torch.Generator().manual_seed(3)) * 4
    matcher, _ = matcher_at(schema, '{"kind":"')
    allowed = torch.from_numpy(matcher.mask())
    expected = torch.softmax(logits[:vocab].masked_fill(~allowed, float("-inf")), dim=0)
    choices = torch.nonzero(allowed).flatten().tolist()
    assert len(choices) > 1
    for token in choices[:5]:
        assert chosen_probability(logits, matcher, token, vocab) == pytest.approx(float(expected[token]), rel=1e-5)
    assert sum(chosen_probability(logits, matcher, t, vocab) for t in choices) == pytest.approx(1.0, abs=1e-4)
    refused = int(torch.nonzero(~allowed).flatten()[0])
    assert chosen_probability(logits, matcher, refused, vocab) == 0.0
    assert chosen_probability(logits, None, 5, vocab) == pytest.approx(float(torch.softmax(logits[:vocab], 0)[5]),
                                                                       rel=1e-5)
    forced, _ = matcher_at(schema, '{"kind":"cafe"')  # only ',"n":' can follow
    only = int(torch.nonzero(torch.from_numpy(forced.mask())).flatten()[0])
    assert int(forced.mask().sum()) == 1 and chosen_probability(logits, forced, only, vocab) == 1.0


@pytest.mark.model
def test_every_reported_leaf_has_a_confidence_and_confidence_changes_no_output(structurer, e2e_rows,
                                                                             synthetic_rows, monkeypatch):
    import slot.engine.cpu.decoding.sequence as sequence

    rows = e2e_rows[:1200:400] + [r for r in synthetic_rows if r["meta"]["complexity"] == "nested"][:1]
    results = [structurer.structure(r["input_text"], r["json_schema"], max_tokens=200) for r in rows]
    for result in results:
        fields = result.grounding["fields"]
        assert fields and all(0.0 <= f["confidence"] <= 1.0 for f in fields), fields
        probs = result.extra["token_probs"]
        assert len(probs) == len(result.extra["token_spans"]) == result.usage.completion_tokens
        assert all(0.0 <= p <= 1.0 for p in probs) and min(probs) < 1.0
    # the same requests with the probabilities not computed at all: the same outputs, token for token
    monkeypatch.setattr(sequence, "chosen_probability", lambda *args: math.nan)
    without = [structurer.structure(r["input_text"], r["json_schema"], max_tokens=200) for r in rows]
    assert [r.output for r in without] == [r.output for r in results]
    assert all(any(math.isnan(p) for p in r.extra["token_probs"]) for r in without)  # the patch took effect


@pytest.mark.model
def test_draft_tokens_get_the_probability_one_token_per_pass_gives(structurer, e2e_rows):
    row = e2e_rows[77]
    fast = structurer.structure(row["input_text"], row["json_schema"], speculation=True)
    plain = structurer.structure(row["input_text"], row["json_schema"], speculation=False)
    assert fast.output == plain.output and fast.usage.forward_passes < plain.usage.forward_passes
    assert fast.extra["token_probs"] == pytest.approx(plain.extra["token_probs"], abs=0.02)
    confident = {f["path"]: f["confidence"] for f in fast.grounding["fields"]}
    assert confident == pytest.approx({f["path"]: f["confidence"] for f in plain.grounding["fields"]}, abs=0.03)


@pytest.mark.model
def test_confidence_travels_to_the_proto_and_back_through_the_sdk(structurer, e2e_rows):
    from slot.client.common import to_result
    from slot.server.servicer import to_proto

    row = e2e_rows[5]
    result = structurer.structure(row["input_text"], row["json_schema"])
    wire = to_proto(result, "r1")
    sent = {f["path"]: f["confidence"] for f in result.grounding["fields"]}
    assert {f.path: f.confidence for f in wire.grounding.fields} == pytest.approx(sent)
    assert {f["path"]: f["confidence"] for f in to_result(wire).grounding} == pytest.approx(sent)
    result.grounding["fields"][0]["confidence"] = None  # unknown (vLLM): NaN on the wire, None in the SDK
    unknown = to_proto(result, "r2")
    assert math.isnan(unknown.grounding.fields[0].confidence)
    assert to_result(unknown).grounding[0]["confidence"] is None
    assert json.dumps(result.to_dict())  # the CLI / HTTP record stays JSON


@pytest.mark.model
def test_a_parse_first_answer_is_certain_and_a_nulled_value_keeps_the_models_confidence(structurer):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": ["string", "null"]}},
              "required": ["name", "city"], "additionalProperties": False}
    parsed = structurer.structure('Here: {"name": "Blue Fig", "city": "Oslo"} as asked. Blue Fig is in Oslo.',
                                  schema, parse_first=True)
    assert parsed.path == "parse" and [f["confidence"] for f in parsed.grounding["fields"]] == [1.0, 1.0]
    text = "Blue Fig is a small bakery run by two sisters."  # no city: the model invents one, grounding flags it
    kept = structurer.structure(text, schema, grounding_policy="keep")
    nulled = structurer.structure(text, schema, grounding_policy="null")
    assert kept.output == nulled.output and kept.json["city"] and nulled.json["city"] is None
    assert "/city" in nulled.grounding["ungrounded_paths"]
    # the same numbers up to the last bits (a second decoding verifies other drafts: other batch shapes)
    assert [f["confidence"] for f in nulled.grounding["fields"]] == pytest.approx(
        [f["confidence"] for f in kept.grounding["fields"]], rel=1e-3)


# -- the benchmark's scoring (no model) -------------------------------------------------------------------------


def test_bench_calibration_scores_flags_and_tables(benchmark_module):
    bench = benchmark_module("bench_calibration")
    rows = [{"id": "r", "gold": {"name": "Aromi", "rating": 45, "kids": None}}]
    record = {"id": "r", "output": TEXT, "json": json.loads(TEXT), "token_probs": PROBS,
              "token_spans": [list(span) for span in _tokens(*PIECES)],
              "status": {"/name": "grounded", "/rating": "ungrounded"}}
    found = bench.outcomes(rows, [record], "product", True)
    assert found == [(pytest.approx(0.252), True, "grounded"), (pytest.approx(0.216), True, "ungrounded")]
    wrong = [(0.9, False, "ungrounded"), (0.2, False, "grounded"), (0.95, False, "grounded"), (0.3, True, "grounded")]
    result = bench.summary(wrong, 0.5)
    assert result["caught"] == {"low_confidence": pytest.approx(1 / 3), "ungrounded": pytest.approx(1 / 3),
                                "either": pytest.approx(2 / 3)}
    assert result["false_alarms"]["low_confidence"] == 1.0 and result["wrong"] == 3
    split = {"rows": 1, "variants": {name: result for name in bench.VARIANTS}}
    table = bench.tables({"splits": {"s": split}, "all": split}, 0.5)
    assert "| s | 1 | 4 | 3 | 25.0 |" in table and "| all splits |" in table
