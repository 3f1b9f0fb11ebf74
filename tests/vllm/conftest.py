"""Fixtures of the vLLM engine tests: one vLLM engine per session (it takes ~20-60 s to start).

These tests run only where vLLM is installed (`make test-vllm`, in .venv-vllm); elsewhere every module
skips at import (pytest.importorskip), so the main venv's `make test` collects them without failing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROWS = 8
"""E2E rows compared between the engines: every 577th row of the E2E dev file (all schemas vary)."""

MAX_TOKENS = 160


@pytest.fixture(scope="session")
def agreement_rows(e2e_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return e2e_rows[::577][:ROWS]


@pytest.fixture(scope="session")
def zero_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped adapter with every lora_B zeroed: a second named adapter that must act as the base model."""
    from safetensors.torch import load_file, save_file

    from slot.models import DEFAULT_ADAPTER_DIR

    out = tmp_path_factory.mktemp("zero-adapter")
    (out / "adapter_config.json").write_text((DEFAULT_ADAPTER_DIR / "adapter_config.json").read_text())
    weights = load_file(str(DEFAULT_ADAPTER_DIR / "adapter_model.safetensors"))
    save_file({k: v * 0 if "lora_B" in k else v for k, v in weights.items()}, str(out / "adapter_model.safetensors"))
    return out


@pytest.fixture(scope="session")
def vllm_structurer(settings: Any, zero_adapter: Path) -> Iterator[Any]:
    """The service default (base model + shipped adapter) on the vLLM engine, plus the named adapter 'zero'.

    Eager mode (no torch.compile) and a small KV cache keep the start short and the memory low.
    """
    from slot.structurer import Structurer

    vllm_settings = settings.replace(engine="vllm", adapters=f"zero={zero_adapter}", vllm_enforce_eager=True,
                                     vllm_kv_cache_mb=256, vllm_max_model_len=2048, vllm_max_num_seqs=8,
                                     max_concurrency=8)
    structurer = Structurer.from_settings(vllm_settings, progress=False)
    yield structurer
    structurer.engine.close()


@pytest.fixture(scope="session")
def tf_structurer(settings: Any) -> Any:
    """The transformers engine with the same defaults, on one thread like vLLM's compute (two torch threads on
    a loaded 2-core machine spin against each other and run ~15x slower)."""
    from slot.structurer import Structurer

    return Structurer.from_settings(settings.replace(threads=1), progress=False)


@pytest.fixture(scope="session")
def reference(tf_structurer: Any, agreement_rows: list[dict[str, Any]]) -> Callable[[str, int], list[str]]:
    """reference(adapter, n): the transformers engine's outputs of the first n agreement rows, computed once."""
    done: dict[str, list[str]] = {}

    def outputs(adapter: str, count: int = ROWS) -> list[str]:
        known = done.setdefault(adapter, [])
        for row in agreement_rows[len(known):count]:
            known.append(tf_structurer.structure(row["input_text"], row["json_schema"], adapter=adapter,
                                                 max_tokens=MAX_TOKENS).output)
        return known[:count]

    return outputs


def dump(name: str, payload: Any) -> None:
    """Print a figure the run should show (visible with -s or in the captured output of a failure)."""
    print(f"[vllm] {name}: {json.dumps(payload, ensure_ascii=False)}")
