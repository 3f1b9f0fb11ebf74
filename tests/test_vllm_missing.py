"""Without vLLM installed (the main venv), `--engine vllm` is refused with a message saying how to get it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from slot.errors import ModelError


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here (tests/vllm runs)")
def test_vllm_engine_without_vllm_is_a_clear_error(tmp_path: Path) -> None:
    from slot.engine.vllm import VllmEngine

    with pytest.raises(ModelError, match="make install-vllm"):
        VllmEngine(tmp_path)


def test_vllm_engine_refuses_an_unknown_grammar_backend(tmp_path: Path) -> None:
    from slot.engine.vllm import VllmEngine

    with pytest.raises(ModelError, match="grammar backends"):
        VllmEngine(tmp_path, grammar_backend="lm-format-enforcer")
