"""The ``slot`` command: ``slot structure | serve | model | schema | train | eval``.

Each subcommand lives in a module with ``add_arguments(parser)`` and ``run(args) -> int``; this file only
wires them, imports them lazily (so ``slot --help`` is instant), and turns SLOT's typed errors into a
one-line message and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "structure": ("slot.commands.structure", "structure text into JSON valid against a schema (one text or a JSONL batch)"),
    "serve": ("slot.server.command", "run the gRPC service on the embedded default model"),
    "model": ("slot.commands.model", "prepare (convert once) and describe the base model and adapters"),
    "train": ("slot.train.command", "fine-tune a LoRA adapter on JSONL pairs"),
    "schema": ("slot.commands.schema", "check and compile a schema; list what enforces each keyword, and prompt tokens"),
    "eval": ("slot.eval.command", "score predictions or run the model on a JSONL set with the paper's metrics"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    from slot import __version__

    parser = argparse.ArgumentParser(prog="slot", description="SLOT: text + JSON Schema -> schema-valid JSON.")
    parser.add_argument("--version", action="version", version=f"slot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only import the module of the command being run
            importlib.import_module(module).add_arguments(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from slot.config import SettingsError
    from slot.errors import SlotError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except SlotError as exc:
        print(f"slot {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"slot {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
