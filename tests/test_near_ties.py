"""Near-ties (``slot.engine.cpu.model.near_ties``): where float16-weight logits cannot tell the two best allowed tokens
apart, a float32 pass chooses, so the output is float32's greedy output.

Real model, real grammar matchers. ``data/near_tie_row.json`` is the synthetic row (seed 5, n=400, id
syn-5-00000095) where float16 weights chose another phone number than float32 at a 0.009-logit tie, with the
stage-C adapter (``data/adapters/stage_c``, the default until 2026-12-06): ties are a property of the weights,
so that test runs with the adapter the row was recorded with.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

ROW = json.loads((Path(__file__).parent / "data" / "near_tie_row.json").read_text(encoding="utf-8"))
STAGE_C = Path(__file__).parent / "data" / "adapters" / "stage_c"
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


@pytest.fixture(scope="module")
def float32_structurer(settings):
    from slot.structurer import Structurer

    return Structurer.from_settings(settings.replace(dtype="float32"), progress=False)


@pytest.fixture(scope="module")
def recorded(settings):
    """(float16-weight, float32) structurers with the adapter the near-tie row was recorded with."""
    from slot.structurer import Structurer

    half = Structurer.from_settings(settings.replace(adapter=str(STAGE_C)), progress=False)
    full = Structurer.from_settings(settings.replace(adapter=str(STAGE_C), dtype="float32"), progress=False)
    yield half, full
    half.close()
    full.close()


@contextlib.contextmanager
def margin(structurer: Any, value: float) -> Iterator[None]:
    """The structurer's near-tie margin set to ``value`` for the block."""
    ties = structurer.engine.ties
    before, ties.margin = ties.margin, value
    try:
        yield
    finally:
        ties.margin = before


def _scores(structurer: Any, values: dict[str, float]) -> torch.Tensor:
    """Logits of the model's vocabulary: ``values`` for the given one-token strings, -10 elsewhere."""
    tokenizer = structurer.engine.tokenizer
    logits = torch.full((structurer.engine.vocab_size,), -10.0)
    for text, value in values.items():
        (token,) = tokenizer.encode(text, add_special_tokens=False)
        logits[token] = value
    return logits


def test_close_compares_the_two_best_allowed_tokens(structurer, matcher_at):
    ties = structurer.engine.ties
    assert ties is not None and ties.margin == 0.1  # the default for float16 weights
    matcher, _ = matcher_at(SCHEMA, '{"n":')  # digits (and '-') allowed, letters not
    assert ties.close(_scores(structurer, {"1": 5.0, "2": 4.95}), matcher)
    assert not ties.close(_scores(structurer, {"1": 5.0, "2": 4.5}), matcher)
    # a refused token leading everything does not count: the tie between the allowed ones does
    assert ties.close(_scores(structurer, {"a": 9.0, "1": 5.0, "2": 4.95}), matcher)
    assert not ties.close(_scores(structurer, {"a": 9.0, "1": 5.0, "2": 4.0}), matcher)
    # a refused token close behind the allowed leader is no tie either
    assert not ties.close(_scores(structurer, {"1": 5.0, "a": 4.99, "2": 3.0}), matcher)
    assert ties.close(_scores(structurer, {"1": 5.0, "a": 4.99}), None)  # without a grammar every token counts


def test_float32_engine_has_no_tie_checks(float32_structurer):
    assert float32_structurer.engine.ties is None


@pytest.mark.model
def test_float32_decides_every_choice_when_all_are_ties(structurer, float32_structurer, e2e_rows):
    """With an unreachable margin every greedy choice is float32's: the output is the float32 engine's."""
    for row in e2e_rows[5::401][:2]:
        with margin(structurer, 1e9):
            result = structurer.structure(row["input_text"], row["json_schema"], max_tokens=64)
            plain = structurer.structure(row["input_text"], row["json_schema"], max_tokens=64, speculation=False)
        reference = float32_structurer.structure(row["input_text"], row["json_schema"], max_tokens=64)
        assert result.output == reference.output == plain.output, row["id"]
        assert result.usage.tie_checks > 0
        with margin(structurer, 0.0):
            assert structurer.structure(row["input_text"], row["json_schema"], max_tokens=64).usage.tie_checks == 0


@pytest.mark.model
def test_a_near_tie_goes_float32s_way(recorded):
    """The recorded row: float16 alone diverges from float32 at a tie; with the default margin it does not."""
    structurer, float32_structurer = recorded
    text, schema = ROW["input_text"], ROW["json_schema"]
    reference = float32_structurer.structure(text, schema)
    result = structurer.structure(text, schema)
    assert result.usage.tie_checks >= 1
    assert result.output == reference.output
    with margin(structurer, 0.0):
        alone = structurer.structure(text, schema)
    assert alone.usage.tie_checks == 0 and alone.output != reference.output


def test_warm_up_builds_the_float32_model_before_any_tie(structurer):
    """The server calls ``engine.warm_up`` before SERVING, so no request pays for building the float32 model."""
    from slot.engine.cpu.model.near_ties import NearTies
    from slot.engine.cpu.caches.prefix_cache import PrefixCache
    from slot.models import load

    engine, adapter = structurer.engine, structurer.default_adapter
    loads: list[Path] = []

    def counted(path: Path) -> Any:
        loads.append(path)
        return load(path, dtype="float32")[0]

    fresh = NearTies(engine.ties.margin, engine.model_dir, engine.ties.adapters, PrefixCache(0), engine.vocab_size,
                     counted)
    saved, engine.ties = engine.ties, fresh
    try:
        assert loads == []
        engine.warm_up(adapter)
        assert loads == [engine.model_dir]
        # the model built is the one a tie check then uses: no second build
        model = fresh.model(adapter)
        engine.warm_up(adapter)
        assert fresh.model(adapter) is model and len(loads) == 1
    finally:
        engine.ties = saved
