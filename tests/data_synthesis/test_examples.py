"""Properties of single examples: schema validity, groundedness, structure of rendered texts."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from data_synthesis.domains import DOMAIN_NAMES, NAMING_STYLES, humanize, style_key
from data_synthesis.filters import _is_grounded, simple_ungrounded
from data_synthesis.instances import instance_for
from data_synthesis.pipeline import GenConfig, _init_worker, make_candidate
from data_synthesis.plan import iter_leaves
from data_synthesis.renderers import TEXT_KINDS, render
from data_synthesis.renderers.doc import build_doc
from data_synthesis.schemas import LEVELS, build_plan, emit_schema

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


def test_vocabulary_is_broad_enough():
    assert len(DOMAIN_NAMES) >= 30
    assert len(LEVELS) >= 6
    assert len(TEXT_KINDS) >= 10
    assert style_key("order date", "camel") == "orderDate"
    assert style_key("order date", "kebab") == "order-date"
    assert style_key("order date", "title") == "Order Date"
    for style in NAMING_STYLES:
        assert humanize(style_key("unit price usd", style)) == "unit price usd"


@settings(max_examples=30, deadline=None)
@given(seed=SEEDS, level=st.sampled_from(LEVELS))
def test_schema_is_valid_and_instance_validates(seed, level):
    rng = random.Random(seed)
    plan, _, _ = build_plan(rng, level=level)
    schema = emit_schema(plan, rng, level)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for _ in range(3):
        instance = instance_for(plan, rng)
        assert not list(validator.iter_errors(instance))
    if level in ("refs", "comprehensive"):
        assert "$defs" in schema and '"$ref"' in __import__("json").dumps(schema)


@settings(max_examples=40, deadline=None)
@given(seed=SEEDS, kind=st.sampled_from(TEXT_KINDS), level=st.sampled_from(LEVELS))
def test_every_gold_leaf_is_in_the_rendered_text(seed, kind, level):
    """Without any filter, the renderers state every value (checked by the fallback normaliser)."""
    rng = random.Random(seed)
    plan, _, _ = build_plan(rng, level=level)
    gold = instance_for(plan, rng)
    out = render(kind, plan, gold, rng)
    assert out.text.strip()
    assert simple_ungrounded(gold, out.text) == []
    paths = {p for p, _ in iter_leaves(gold)}
    assert set(out.reformatted) <= paths


@settings(max_examples=30, deadline=None)
@given(seed=SEEDS, level=st.sampled_from(LEVELS))
def test_doc_has_exactly_the_present_leaves(seed, level):
    """Absent optional fields get no entry (so no text can mention them); present ones all do."""
    rng = random.Random(seed)
    plan, _, _ = build_plan(rng, level=level)
    gold = instance_for(plan, rng)
    doc = build_doc(plan, gold, rng, key_mode="words", reformat_prob=0.5, bool_words=True, shuffle=True,
                    n_distractors=0)
    got: set[str] = set()

    def walk(entries):
        for e in entries:
            if e.kind == "scalar":
                got.add(e.path)
            elif e.kind == "list":
                got.update(f"{e.path}/{i}" for i in range(len(e.texts)))
            elif e.kind == "group":
                walk(e.entries)
            else:
                for row in e.rows:
                    walk(row)

    walk(doc.entries)
    assert got == {p for p, _ in iter_leaves(gold)}


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS)
def test_pipeline_records_validate_and_are_grounded(seed):
    cfg = GenConfig(n=10**6, seed=seed, progress=False)
    _init_worker(cfg, [])
    for index in range(0, 8):
        cand = make_candidate(index)
        if "drop" in cand:
            continue
        r = cand["record"]
        assert set(r) == {"id", "input_text", "json_schema", "gold", "meta"}
        v = Draft202012Validator(r["json_schema"], format_checker=Draft202012Validator.FORMAT_CHECKER)
        assert not list(v.iter_errors(r["gold"]))
        assert _is_grounded(r["gold"], r["input_text"], r["json_schema"]) == []
        m = r["meta"]
        assert m["domain"] in DOMAIN_NAMES and m["complexity"] in LEVELS and m["text_kind"] in TEXT_KINDS


def test_slot_grounder_rarely_rejects_rendered_texts():
    """The renderers are written for SLOT's grounding step: few examples may be dropped by it."""
    cfg = GenConfig(n=10**6, seed=7, progress=False)
    _init_worker(cfg, [])
    drops = sum("drop" in make_candidate(i) for i in range(300))
    assert drops <= 15
