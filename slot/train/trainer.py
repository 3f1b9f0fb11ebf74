"""The LoRA SFT loop: a plain torch loop over length-bucketed batches, on the CPU or on CUDA.

peft LoRA on all linear layers, AdamW, linear warmup then cosine decay, loss on the answer tokens only
(computed from the hidden states at answer positions, so the 49k-wide output head runs on ~10% of the
tokens), a tqdm bar with loss and tokens/s, a JSONL loss log and PNG plot, validation loss on a held-out
file, resumable checkpoints. The result is a standard peft adapter directory plus ``slot_train.json``.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from slot.train import checkpoint as ckpt
from slot.train.config import CONFIG_NAME, TrainConfig
from slot.train.data import DataError, Example, LoadReport, batch_stream, collate, load_examples
from slot.train.losslog import LOG_NAME, PLOT_NAME, LossLog, plot, read_log


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    adapter_dir: Path
    steps: int
    elapsed_s: float
    tokens_per_s: float
    final_train_loss: float | None
    """Mean training loss of the last (up to) 20 logged steps."""
    final_val_loss: float | None


def say(message: str) -> None:
    print(f"slot train: {message}", file=sys.stderr, flush=True)


def lr_lambda(config: TrainConfig, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the peak learning rate: linear warmup, then cosine down to min_lr_ratio."""
    warmup = min(config.warmup_steps, max(0, total_steps - 1))

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine

    return factor


def total_steps_of(config: TrainConfig, n_examples: int) -> int:
    """Optimizer steps of the run: max_steps, or epochs over the data."""
    if config.max_steps:
        return config.max_steps
    per_epoch = math.ceil(math.ceil(n_examples / config.batch_size) / config.grad_accumulation)
    return max(1, math.ceil(per_epoch * config.epochs))


def answer_loss(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """(summed cross-entropy over answer tokens, number of answer tokens) of a batch.

    The output head is applied only where the next token is a label, which matters on a CPU: SmolLM2's
    head is ~20% of the model's compute per position. Models with logit soft-capping use the full path.
    """
    import torch.nn.functional as F

    labels = batch["labels"][:, 1:]
    keep = labels != -100
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "final_logit_softcapping", None):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        selected = logits[keep]
    else:
        hidden = base.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        selected = base.get_output_embeddings()(hidden[:, :-1][keep])
    loss = F.cross_entropy(selected.float(), labels[keep], reduction="sum")
    return loss, int(keep.sum())


def validation_loss(model: Any, examples: Sequence[Example], config: TrainConfig, pad_id: int, device: Any) -> float:
    """Mean loss per answer token over examples (no dropout, no gradients)."""
    import torch

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]))
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(order), config.batch_size):
            batch = _to(collate([examples[i] for i in order[start:start + config.batch_size]], pad_id), device)
            loss, n = answer_loss(model, batch)
            total += float(loss)
            count += n
    model.train(was_training)
    return total / max(1, count)


def train(config: TrainConfig, data: Sequence[Path], val: Path | None, out: Path, *,
          checkpoint_dir: Path | None = None, resume: bool = False, resume_max_steps: int | None = None,
          progress: bool = True, home: Path | None = None) -> TrainResult:
    """Run LoRA SFT and save the adapter (peft format) with slot_train.json, the loss log and plot in out.

    With ``resume`` the newest checkpoint under checkpoint_dir is continued with the hyper-parameters saved
    in it (``config`` is then ignored), except ``resume_max_steps`` which may extend or shorten the run.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from tqdm import tqdm

    from slot.config import Settings
    from slot.models import load, resolve_base_model

    checkpoint_dir = checkpoint_dir or out / "checkpoints"
    resume_from = ckpt.latest_checkpoint(checkpoint_dir) if resume else None
    state: dict[str, Any] | None = None
    if resume and resume_from is None:
        say(f"--resume: no checkpoint under {checkpoint_dir}, starting from step 0")
    if resume_from is not None:
        state = ckpt.read_state(resume_from)
        saved = TrainConfig.from_dict(state["config"])
        config = replace(saved, max_steps=resume_max_steps or saved.max_steps)
        say(f"resuming from {resume_from} (step {state['step']})")
    config.validate()
    if config.threads:
        torch.set_num_threads(config.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(config.seed)

    home = home or Settings.from_env().home_path
    base_dir = resolve_base_model(config.base_model, home)
    model, tokenizer = load(base_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    examples, report = load_examples(data, tokenizer, config.max_length)
    say(f"training data: {report.summary()}")
    for line in report.examples_of_skips:
        say(f"  skipped {line}")
    val_examples: list[Example] = []
    val_report = LoadReport()
    if val is not None:
        val_examples, val_report = load_examples([val], tokenizer, config.max_length)
        say(f"validation data: {val_report.summary()}")
    periodic_val = val_examples[: config.val_max_rows] if config.val_max_rows else val_examples

    if resume_from is not None:
        model = PeftModel.from_pretrained(model, resume_from, is_trainable=True)
    elif config.init_adapter:
        if not (Path(config.init_adapter) / "adapter_config.json").is_file():
            raise DataError(f"init_adapter {config.init_adapter} is not a peft adapter directory")
        model = PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True)
        for param in model.parameters():
            if param.requires_grad:
                param.data = param.data.float()  # a float16 adapter on disk trains in float32
        say(f"warm start from the adapter {config.init_adapter}")
    else:
        lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=config.target_modules, task_type="CAUSAL_LM", bias="none")
        model = get_peft_model(model, lora)
    model.to(device)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)
    say(f"base {config.base_model} ({base_dir}), {n_trainable:,} trainable LoRA parameters, device {device}")

    total_steps = total_steps_of(config, len(examples))
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config, total_steps))
    step, tokens, elapsed = 0, 0, 0.0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scheduler.lr_lambdas[0] = lr_lambda(config, total_steps)
        step, tokens, elapsed = state["step"], state["tokens"], state["elapsed_s"]
        ckpt.restore_rng(state)

    out.mkdir(parents=True, exist_ok=True)
    log = LossLog(out / LOG_NAME, resume_step=step if state is not None else None)
    stream = batch_stream(examples, config.batch_size, seed=config.seed, pool=config.bucket_pool)
    for _ in range(step * config.grad_accumulation):  # the data order is a pure function of the seed
        next(stream)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    config_dict = config.to_dict()
    say(f"{total_steps} optimizer steps of {config.batch_size}x{config.grad_accumulation} examples "
        f"({total_steps * config.batch_size * config.grad_accumulation / len(examples):.2f} epochs)")

    bar = tqdm(total=total_steps, initial=step, disable=not progress, desc="train", unit="step", dynamic_ncols=True,
               mininterval=1.0 if sys.stderr.isatty() else 30.0, file=sys.stderr)
    while step < total_steps:
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        batches = [_to(collate([examples[i] for i in next(stream)], pad_id), device) for _ in range(config.grad_accumulation)]
        answer_tokens = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)
        step_loss, step_tokens = 0.0, 0
        for batch in batches:
            with _autocast(device):
                loss_sum, _n = answer_loss(model, batch)
            (loss_sum / answer_tokens).backward()
            step_loss += float(loss_sum.detach())
            step_tokens += int(batch["attention_mask"].sum())
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        took = time.perf_counter() - started
        elapsed += took
        tokens += step_tokens
        loss_value = step_loss / answer_tokens
        if step % config.log_every == 0 or step == total_steps:
            log.write(step=step, loss=round(loss_value, 5), lr=scheduler.get_last_lr()[0], tokens=tokens,
                      tokens_per_s=round(step_tokens / took, 1), elapsed_s=round(elapsed, 1),
                      epoch=round(step * config.grad_accumulation / per_epoch, 3))
        bar.set_postfix(loss=f"{loss_value:.4f}", tok_s=f"{step_tokens / took:.0f}", refresh=False)
        bar.update(1)
        if periodic_val and config.eval_every and step % config.eval_every == 0 and step < total_steps:
            val_loss = validation_loss(model, periodic_val, config, pad_id, device)
            log.write(step=step, val_loss=round(val_loss, 5), val_rows=len(periodic_val))
            bar.write(f"slot train: step {step}: validation loss {val_loss:.4f} on {len(periodic_val)} rows", file=sys.stderr)
            plot(out / LOG_NAME, out / PLOT_NAME)
        if config.checkpoint_every and step % config.checkpoint_every == 0 and step < total_steps:
            ckpt.save_checkpoint(checkpoint_dir, model, optimizer, scheduler, ckpt.Counters(step, tokens, elapsed),
                                 config_dict, keep=config.keep_checkpoints)
    bar.close()

    final_val = None
    if val_examples:
        final_val = validation_loss(model, val_examples, config, pad_id, device)
        log.write(step=step, val_loss=round(final_val, 5), val_rows=len(val_examples))
        say(f"final validation loss {final_val:.4f} on {len(val_examples)} rows")
    losses = [r["loss"] for r in read_log(out / LOG_NAME) if "loss" in r]
    final_train = sum(losses[-20:]) / len(losses[-20:]) if losses else None
    save_adapter(model, out, config.save_dtype)
    plot(out / LOG_NAME, out / PLOT_NAME)
    tokens_per_s = tokens / elapsed if elapsed else 0.0
    config.save(out / CONFIG_NAME, steps=step, train_seconds=round(elapsed, 1), tokens=tokens,
                tokens_per_s=round(tokens_per_s, 1), device=str(device), trainable_parameters=n_trainable,
                data=[str(p) for p in data], val=str(val) if val else None,
                train_rows=len(examples), train_skipped=dict(report.skipped),
                val_rows=len(val_examples), val_skipped=dict(val_report.skipped),
                final_train_loss=None if final_train is None else round(final_train, 5),
                final_val_loss=None if final_val is None else round(final_val, 5),
                versions=_versions())
    say(f"adapter saved to {out} ({step} steps, {elapsed:.0f} s, {tokens_per_s:.0f} tokens/s)")
    return TrainResult(out, step, elapsed, tokens_per_s, final_train, final_val)


def save_adapter(model: Any, out: Path, dtype: str) -> None:
    """peft save_pretrained, then re-write the weights in the chosen precision (peft up-casts on load)."""
    import torch
    from safetensors.torch import load_file, save_file

    model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)  # peft's empty template card; the run facts are in slot_train.json
    if dtype == "float32":
        return
    path = out / "adapter_model.safetensors"
    target = {"float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    weights = {k: v.to(target).contiguous() for k, v in load_file(str(path)).items()}
    save_file(weights, str(path), metadata={"format": "pt"})


def _to(batch: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: v.to(device) for k, v in batch.items()}


def _autocast(device: Any) -> Any:
    """bfloat16 autocast on CUDA; a no-op context on the CPU (float32 is faster there)."""
    import contextlib

    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
