"""A tiny real LoRA run: the adapter loads with peft, its weights moved, and --resume continues the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slot.train import checkpoint as ckpt
from slot.train.config import CONFIG_NAME, TrainConfig
from slot.train.losslog import LOG_NAME, PLOT_NAME, read_log
from slot.train.trainer import train

from .conftest import ROWS, write_jsonl

pytestmark = pytest.mark.model


def test_tiny_run_then_resume(tmp_path: Path, model_home: Path) -> None:
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file

    from slot.models import load, resolve_base_model

    data = write_jsonl(tmp_path / "train.jsonl", ROWS[1:3])
    val = write_jsonl(tmp_path / "val.jsonl", ROWS[3:])
    out, checkpoints = tmp_path / "adapter", tmp_path / "checkpoints"
    config = TrainConfig(lora_r=4, lora_alpha=8, batch_size=1, max_length=192, max_steps=2, warmup_steps=0,
                         learning_rate=1e-2, checkpoint_every=1, keep_checkpoints=1, eval_every=1)
    result = train(config, [data], val, out, checkpoint_dir=checkpoints, progress=False, home=model_home)

    assert result.steps == 2 and result.final_val_loss is not None
    for name in ("adapter_config.json", "adapter_model.safetensors", CONFIG_NAME, LOG_NAME, PLOT_NAME):
        assert (out / name).is_file(), name
    saved = json.loads((out / CONFIG_NAME).read_text())
    assert saved["lora_r"] == 4 and saved["run"]["steps"] == 2 and saved["run"]["train_rows"] == 2
    weights = load_file(str(out / "adapter_model.safetensors"))
    assert all(w.dtype == torch.float16 for w in weights.values())
    assert any("lora_B" in k and w.abs().sum() > 0 for k, w in weights.items())  # lora_B starts at zero

    base, _tokenizer = load(resolve_base_model("smollm2-135m", model_home))
    before = {k: v.clone() for k, v in base.state_dict().items()}
    peft_model = PeftModel.from_pretrained(base, out)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        tuned = peft_model(input_ids=ids).logits
        with peft_model.disable_adapter():
            plain = peft_model(input_ids=ids).logits
    assert not torch.allclose(tuned, plain)
    assert all(torch.equal(before[k], v) for k, v in peft_model.get_base_model().state_dict().items() if k in before)

    # Only the step-1 checkpoint is kept (the last step saves the adapter, not a checkpoint).
    assert [p.name for p in ckpt.list_checkpoints(checkpoints)] == ["step-000001"]
    resumed = train(TrainConfig(), [data], val, out, checkpoint_dir=checkpoints, resume=True, resume_max_steps=3,
                    progress=False, home=model_home)
    assert resumed.steps == 3
    steps = [r["step"] for r in read_log(out / LOG_NAME) if "loss" in r]
    assert steps == [1, 2, 3]  # the step-2 record of the first run is replaced by the resumed run's
    assert json.loads((out / CONFIG_NAME).read_text())["lora_r"] == 4  # the checkpoint's config was used
