"""TrainConfig: JSON round trip, refusals that name the field, CLI overrides, CLI errors without tracebacks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from slot.train.command import add_arguments, config_from_args, run
from slot.train.config import ConfigError, TrainConfig
from slot.train.trainer import lr_lambda


def test_round_trip(tmp_path: Path) -> None:
    config = TrainConfig(lora_r=8, max_steps=5, target_modules=["q_proj", "v_proj"])
    config.save(tmp_path / "c.json", steps=5)
    assert TrainConfig.load(tmp_path / "c.json") == config


@pytest.mark.parametrize("data, message", [
    ({"lora_rank": 8}, "unknown config field 'lora_rank'"),
    ({"batch_size": "8"}, "'batch_size' must be int"),
    ({"batch_size": 0}, "batch_size must be positive"),
    ({"save_dtype": "int8"}, "save_dtype"),
])
def test_bad_values_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(data)


def test_schedule_warms_up_then_decays() -> None:
    factor = lr_lambda(TrainConfig(warmup_steps=10, min_lr_ratio=0.1), total_steps=100)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(50) < factor(10) and factor(100) == pytest.approx(0.1)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_overrides(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"max_steps": 9, "seed": 4}))
    config = config_from_args(_args("--data", "a", "--out", "o", "--config", str(tmp_path / "c.json"), "--max-steps", "3"))
    assert (config.max_steps, config.seed) == (3, 4)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args("--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o"))) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{nope")
    assert run(_args("--data", "x", "--out", "o", "--config", str(tmp_path / "bad.json"))) == 2
    assert "not valid JSON" in capsys.readouterr().err
