"""The shipped adapter loads by default and beats the base model on held-back E2E rows (real model)."""

from __future__ import annotations

import json

import pytest

from slot.train.split import split_by_group

pytestmark = pytest.mark.model


def _field_exact(result, gold: dict) -> float:
    produced = json.loads(result.output) if result.valid else {}
    return sum(produced.get(key) == value for key, value in gold.items()) / max(1, len(gold))


def test_shipped_adapter_beats_the_base_model_on_held_back_rows(structurer, base_structurer, e2e_rows):
    assert structurer.default_adapter == "default"
    # the validation side of the training split (whole meaning representations never trained on)
    _, held_back = split_by_group(e2e_rows, "mr", 300, 0)
    sample = held_back[::53][:6]
    adapter = [_field_exact(structurer.structure(r["input_text"], r["json_schema"]), r["gold"]) for r in sample]
    base = [_field_exact(base_structurer.structure(r["input_text"], r["json_schema"]), r["gold"]) for r in sample]
    mean_adapter, mean_base = sum(adapter) / len(sample), sum(base) / len(sample)
    print(f"\nfield exact match on {len(sample)} held-back rows: adapter {mean_adapter:.2f}, base {mean_base:.2f}")
    assert mean_adapter >= 0.8
    assert mean_adapter >= mean_base + 0.3
