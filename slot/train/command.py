"""``slot train``: LoRA SFT of the base model on JSONL pairs, writing a peft adapter directory.

    slot train --data TRAIN.jsonl [--data MORE.jsonl] --val VAL.jsonl --out ADAPTER_DIR
               [--config cfg.json] [--max-steps N] [--resume]

Errors a user can fix (missing file, bad config, no usable rows) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slot.errors import SlotError
from slot.train.config import ConfigError, TrainConfig
from slot.train.data import DataError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``slot train``."""
    parser.add_argument("--data", type=Path, action="append", required=True, metavar="TRAIN.jsonl",
                        help="training rows {id,input_text,json_schema,gold}; repeat to add files")
    parser.add_argument("--val", type=Path, default=None, metavar="VAL.jsonl",
                        help="held-out rows for the validation loss")
    parser.add_argument("--out", type=Path, required=True, metavar="ADAPTER_DIR",
                        help="where the adapter, slot_train.json, train_log.jsonl and loss.png are written")
    parser.add_argument("--config", type=Path, default=None, metavar="cfg.json",
                        help="hyper-parameters as JSON (any subset of the TrainConfig fields)")
    parser.add_argument("--max-steps", type=int, default=None, metavar="N",
                        help="optimizer steps (overrides the config; on --resume it may extend the run)")
    parser.add_argument("--base-model", default=None,
                        help="embedded model alias or local model directory (overrides the config)")
    parser.add_argument("--seed", type=int, default=None, help="seed (overrides the config)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None, metavar="DIR",
                        help="where resumable checkpoints go (default ADAPTER_DIR/checkpoints)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint (with the hyper-parameters saved in it)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config file (or the defaults) with the command-line overrides applied."""
    config = TrainConfig.load(args.config) if args.config else TrainConfig()
    if args.max_steps is not None:
        config.max_steps = args.max_steps
    if args.base_model is not None:
        config.base_model = args.base_model
    if args.seed is not None:
        config.seed = args.seed
    config.validate()
    return config


def run(args: argparse.Namespace) -> int:
    """Train; 0 on success, 2 on a usage or data error (with a one-line message)."""
    from slot.train.trainer import train

    try:
        config = config_from_args(args)
        for path in [*args.data, *([args.val] if args.val else [])]:
            if not path.is_file():
                raise DataError(f"data file {path} does not exist")
        train(config, args.data, args.val, args.out, checkpoint_dir=args.checkpoint_dir, resume=args.resume,
              resume_max_steps=args.max_steps, progress=not args.no_progress)
    except (ConfigError, DataError, SlotError) as exc:
        print(f"slot train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slot train: interrupted; continue with --resume from the last checkpoint", file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m slot.train.command`` until the main CLI wires it in."""
    parser = argparse.ArgumentParser(prog="slot train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
