"""Resumable checkpoints: the LoRA weights (peft format) plus optimizer, schedule, RNG and counters.

A checkpoint is a directory ``step-NNNNNN`` written under a temporary name and renamed when complete,
so a run killed mid-save never leaves a half checkpoint that ``--resume`` would pick up.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_NAME = "trainer_state.pt"


@dataclass(frozen=True)
class Counters:
    """Progress of a run, restored on resume."""

    step: int
    tokens: int
    """Non-padding tokens processed so far."""
    elapsed_s: float
    """Training wall time so far (excluding validation and saving)."""


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


def save_checkpoint(root: Path, model: Any, optimizer: Any, scheduler: Any, counters: Counters,
                    config: dict[str, Any], *, keep: int) -> Path:
    """Write a complete checkpoint for the step in counters and prune all but the newest ``keep``."""
    import torch

    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(counters.step)
    tmp = root / f".tmp-{checkpoint_name(counters.step)}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    state = {
        "step": counters.step,
        "tokens": counters.tokens,
        "elapsed_s": counters.elapsed_s,
        "config": config,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "python_rng": random.getstate(),
    }
    torch.save(state, tmp / STATE_NAME)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under root, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.glob("step-*") if (p / STATE_NAME).is_file() and (p / "adapter_model.safetensors").is_file()]
    return sorted(found, key=lambda p: p.name)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint, or None."""
    found = list_checkpoints(root)
    return found[-1] if found else None


def read_state(path: Path) -> dict[str, Any]:
    """The trainer state of a checkpoint directory."""
    import torch

    return torch.load(path / STATE_NAME, map_location="cpu", weights_only=False)


def restore_rng(state: dict[str, Any]) -> None:
    """Put the random generators back where the checkpoint left them (dropout continues the same)."""
    import torch

    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    random.setstate(state["python_rng"])
