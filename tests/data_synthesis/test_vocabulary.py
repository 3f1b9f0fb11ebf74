"""Wide value vocabularies (issue 25): open share 0 is today's output, share > 0 is wider, deterministic,
keeps enums, validates, stays grounded, and never holds an eval-pool value."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from data_synthesis.cli import build_parser
from data_synthesis.filters import simple_ungrounded
from data_synthesis.held_out import eval_pool_values, holds_eval_value
from data_synthesis.instances import instance_for
from data_synthesis.pipeline import GenConfig, generate, synthetic_schema
from data_synthesis.plan import Node, iter_leaves
from data_synthesis.renderers import TEXT_KINDS, render
from data_synthesis.schemas import LEVELS, build_plan, emit_schema
from data_synthesis.vocabulary import DEFAULT_OPEN_SHARE, WIDE_KINDS, Vocabulary, wide_pool

from .helpers import SPLIT_FILES, all_records, run_cli

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


def _golds(seed: int, count: int, vocab: Vocabulary | None) -> list[tuple[Node, Any]]:
    """(plan, instance) for ``count`` synthetic schemas, the same rng stream for every vocabulary."""
    out = []
    for i in range(count):
        plan = synthetic_schema(seed, i)[0]
        out.append((plan, instance_for(plan, random.Random(f"example:{seed}:{i}"), vocab)))
    return out


def _leaves(node: Node, value: Any) -> list[tuple[str, Any]]:
    """(generator, value) of every gold leaf."""
    if value is None:
        return []
    if node.kind == "leaf":
        return [(node.gen, value)]
    if node.kind == "array" and node.item is not None:
        return [pair for item in value for pair in _leaves(node.item, item)]
    return [pair for c in node.children if c.key in value for pair in _leaves(c, value[c.key])]


def _strings(golds: list[tuple[Node, Any]]) -> list[tuple[str, str]]:
    return [(gen, v) for plan, gold in golds for gen, v in _leaves(plan, gold) if isinstance(v, str)]


def test_share_zero_is_todays_path_and_the_default_share_is_wider() -> None:
    today = _golds(41, 300, None)  # the code path of earlier runs (no vocabulary at all)
    assert _golds(41, 300, Vocabulary(0.0)) == today
    wide = _golds(41, 300, Vocabulary(DEFAULT_OPEN_SHARE))
    assert wide != today
    old, new = _strings(today), _strings(wide)
    assert len({v for _, v in new}) > 1.15 * len({v for _, v in old})

    def by_head(pairs: list[tuple[str, str]], head: str) -> set[str]:
        return {v for gen, v in pairs if gen.partition(":")[0] == head}

    for head in ("pick", "person", "city", "sentence"):
        assert len(by_head(new, head)) > len(by_head(old, head)), head
    listed = {item for gen, _ in new if gen.startswith("pick:") for item in gen[5:].split("|")}
    assert by_head(new, "pick") - listed  # new items beside the listed ones
    assert by_head(new, "pick") & listed  # ... which still occur


def test_generate_at_share_zero_is_byte_identical_to_the_default_config(tmp_path: Path) -> None:
    generate(GenConfig(n=40, seed=7, progress=False), tmp_path / "a")
    generate(GenConfig(n=40, seed=7, progress=False, open_share=0.0), tmp_path / "b")
    for name in SPLIT_FILES + ("signatures.jsonl", "card.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "open_share" not in json.loads((tmp_path / "a" / "card.json").read_text())["config"]


def test_wide_output_is_deterministic_per_seed_and_worker_count(tmp_path: Path) -> None:
    for name, seed, workers in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1)):
        generate(GenConfig(n=60, seed=seed, workers=workers, progress=False, open_share=0.5), tmp_path / name)
    for name in SPLIT_FILES + ("signatures.jsonl", "card.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "train.jsonl").read_bytes() != (tmp_path / "c" / "train.jsonl").read_bytes()
    assert json.loads((tmp_path / "a" / "card.json").read_text())["config"]["open_share"] == 0.5


def test_rows_validate_and_hold_no_eval_pool_value(tmp_path: Path) -> None:
    generate(GenConfig(n=300, seed=41, progress=False, open_share=DEFAULT_OPEN_SHARE), tmp_path)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["kept"] >= 0.97 * 300, card["dropped"]
    assert card["dropped"].get("schema_invalid", 0) == 0 and card["dropped"].get("eval_vocabulary", 0) == 0
    evals = eval_pool_values()
    for rows in all_records(tmp_path).values():
        for row in rows:
            validator = Draft202012Validator(row["json_schema"], format_checker=Draft202012Validator.FORMAT_CHECKER)
            assert not list(validator.iter_errors(row["gold"])), row["id"]
            for _, value in iter_leaves(row["gold"]):
                if isinstance(value, str):
                    assert not holds_eval_value(value), (row["id"], value)
                    assert value.casefold() not in evals


def test_wide_pools_and_open_draws_never_hold_an_eval_value() -> None:
    for kind in WIDE_KINDS:
        assert not any(holds_eval_value(v) for v in wide_pool(kind)), kind
    assert len(wide_pool("person")) >= 3000 and len(wide_pool("city")) >= 3000
    vocab, rng = Vocabulary(1.0), random.Random(0)
    items = ["tavern bar", "west harbour", "Georgian Kitchen"]
    drawn = [vocab.open_word(rng) for _ in range(2000)] + [vocab.open_sentence(rng) for _ in range(500)]
    drawn += vocab.widen_items(items, items, rng)
    for gen in ("word", "sentence", "pick:" + "|".join(items), "person", "email", "street"):
        drawn += [str(instance_for(Node("k", "k", "leaf", gen=gen), rng, vocab)) for _ in range(300)]
    assert not [v for v in drawn if holds_eval_value(v)]


def test_a_row_whose_enum_forces_an_eval_value_is_dropped(tmp_path: Path) -> None:
    schema = {"type": "object", "required": ["diet", "guest"],
              "properties": {"diet": {"type": "string", "enum": ["vegan"]}, "guest": {"type": "string"}}}
    (tmp_path / "s.json").write_text(json.dumps(schema), encoding="utf-8")
    generate(GenConfig(n=6, seed=1, progress=False, schemas_path=str(tmp_path / "s.json"), open_share=0.5),
             tmp_path / "wide")
    card = json.loads((tmp_path / "wide" / "card.json").read_text())
    assert card["kept"] == 0 and card["dropped"]["eval_vocabulary"] == 6


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, level=st.sampled_from(LEVELS), kind=st.sampled_from(TEXT_KINDS))
def test_enums_stay_the_schemas_and_open_values_are_rendered_in_the_text(seed, level, kind):
    rng = random.Random(seed)
    plan, _, _ = build_plan(rng, level=level)
    schema = emit_schema(plan, rng, level)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    gold = instance_for(plan, rng, Vocabulary(1.0))
    assert not list(validator.iter_errors(gold))
    for gen, value in _leaves(plan, gold):
        if gen.startswith("enum:"):
            assert value in gen[5:].split("|")
    assert simple_ungrounded(gold, render(kind, plan, gold, rng).text) == []


def test_cli_option_default_and_bounds(tmp_path: Path) -> None:
    args = build_parser().parse_args(["generate", "--n", "5", "--out", str(tmp_path)])
    assert args.open_share == DEFAULT_OPEN_SHARE
    done = run_cli("generate", "--n", "5", "--out", str(tmp_path / "o"), "--open-share", "1.5")
    assert done.returncode == 2 and done.stderr.startswith("error: --open-share must be in [0, 1]")
