"""Hyper-parameters of a LoRA SFT run, kept as JSON (``slot_train.json``) beside the adapter.

One dataclass holds every knob so a run is reproducible from its config file alone; a config file
may give any subset of the fields and the rest keep their defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_NAME = "slot_train.json"
"""File name of the hyper-parameters written beside the adapter."""


class ConfigError(ValueError):
    """A config file or override that cannot be used (unknown field, wrong type, bad value)."""


@dataclass
class TrainConfig:
    """Hyper-parameters of one LoRA SFT run (defaults: the recipe of the shipped adapter)."""

    base_model: str = "smollm2-135m"
    """Embedded base model alias or a local Hugging Face directory."""

    init_adapter: str = ""
    """Warm start: begin from the LoRA weights of this adapter directory (fresh optimizer and schedule);
    its rank, alpha and target modules then replace lora_r, lora_alpha and target_modules. Empty: fresh LoRA."""

    lora_r: int = 16
    """LoRA rank."""

    lora_alpha: int = 32
    """LoRA scaling numerator (the update is scaled by alpha / r)."""

    lora_dropout: float = 0.05
    """Dropout on the LoRA input during training."""

    target_modules: str | list[str] = "all-linear"
    """Modules that get LoRA: 'all-linear' (every linear layer but the output head) or a list of names."""

    learning_rate: float = 2e-4
    """Peak AdamW learning rate (reached after the warmup)."""

    weight_decay: float = 0.0
    """AdamW weight decay."""

    warmup_steps: int = 20
    """Optimizer steps of linear warmup from 0 to the peak learning rate."""

    min_lr_ratio: float = 0.1
    """The cosine schedule decays to this fraction of the peak learning rate."""

    epochs: float = 1.0
    """Passes over the training data; ignored when max_steps is set."""

    max_steps: int = 0
    """Optimizer steps to run; 0 means derive from epochs."""

    batch_size: int = 8
    """Examples per micro-batch."""

    grad_accumulation: int = 1
    """Micro-batches per optimizer step (the effective batch is batch_size * grad_accumulation)."""

    max_length: int = 512
    """Longest example (prompt + JSON + EOS) in tokens; longer rows are skipped, never truncated."""

    max_grad_norm: float = 1.0
    """Gradient clipping norm; 0 disables clipping."""

    seed: int = 0
    """Seed of data order, LoRA initialisation and dropout."""

    bucket_pool: int = 64
    """Length bucketing: batches are cut from pools of bucket_pool * batch_size rows sorted by length."""

    eval_every: int = 100
    """Validation loss every this many optimizer steps (and at the end); 0 means only at the end."""

    val_max_rows: int = 0
    """Rows of the validation file used for the periodic validation loss; 0 means all of them."""

    checkpoint_every: int = 50
    """Save a resumable checkpoint every this many optimizer steps; 0 disables checkpoints."""

    keep_checkpoints: int = 2
    """Most recent checkpoints kept on disk."""

    log_every: int = 1
    """Write the training loss to the log every this many optimizer steps."""

    save_dtype: str = "float16"
    """Precision of the saved adapter weights: float16, bfloat16 or float32."""

    threads: int = 0
    """Torch CPU threads; 0 keeps torch's default (one per core)."""

    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes recorded with the run (data sources, split rule); not used by the trainer."""

    def validate(self) -> None:
        """Refuse values the trainer cannot run with, naming the field."""
        positive = ("lora_r", "lora_alpha", "batch_size", "grad_accumulation", "max_length", "bucket_pool", "log_every")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("max_steps", "warmup_steps", "eval_every", "checkpoint_every", "val_max_rows", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.lora_dropout < 1:
            raise ConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.max_steps == 0 and self.epochs <= 0:
            raise ConfigError("set epochs > 0 or max_steps > 0")
        if self.save_dtype not in ("float16", "bfloat16", "float32"):
            raise ConfigError(f"save_dtype must be float16, bfloat16 or float32, got {self.save_dtype!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field."""
        return dataclasses.asdict(self)

    def save(self, path: Path, **extra: Any) -> None:
        """Write the config (plus any run facts given as keywords) as indented JSON."""
        document = self.to_dict() | ({"run": extra} if extra else {})
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Build a config from a dict, refusing unknown fields and wrong types."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "run":
                continue  # facts of a previous run, written by save()
            if key not in known:
                raise ConfigError(f"unknown config field {key!r}; known: {', '.join(sorted(known))}")
            default = getattr(cls(), key)
            if isinstance(default, bool) or not isinstance(default, (int, float, str)):
                values[key] = value
            elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
                values[key] = float(value)
            elif key == "target_modules" and isinstance(value, list):
                values[key] = [str(v) for v in value]
            elif type(value) is not type(default):
                raise ConfigError(f"config field {key!r} must be {type(default).__name__}, got {value!r}")
            else:
                values[key] = value
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        """Read a JSON config file (any subset of the fields)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold a JSON object")
        return cls.from_dict(data)
