"""Fixtures of the training tests: the embedded model's tokenizer and tiny JSONL files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}},
          "required": ["name", "area"], "additionalProperties": False}
ROWS = [
    {"id": "r1", "input_text": "Alimentum is in the city centre.", "json_schema": SCHEMA,
     "gold": {"area": "city centre", "name": "Alimentum"}},
    {"id": "r2", "input_text": "The Eagle, riverside.", "json_schema": SCHEMA,
     "gold": {"name": "The Eagle", "area": "riverside"}},
    {"id": "r3", "input_text": "Zizzi sits in the city centre.", "json_schema": json.dumps(SCHEMA),
     "gold": {"name": "Zizzi", "area": "city centre"}},
    {"id": "r4", "input_text": "Near the river: Cotto.", "json_schema": SCHEMA,
     "gold": {"name": "Cotto", "area": "riverside"}},
]


def write_jsonl(path: Path, rows: list[Any], extra_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(line + "\n" for line in extra_lines))
    return path


@pytest.fixture(scope="session")
def model_home() -> Path:
    from slot.config import Settings

    return Settings.from_env().home_path


@pytest.fixture(scope="session")
def tokenizer(model_home: Path) -> Any:
    from transformers import AutoTokenizer

    from slot.models import resolve_base_model

    return AutoTokenizer.from_pretrained(resolve_base_model("smollm2-135m", model_home), local_files_only=True)
