"""``slot model``: convert the embedded base model once, and show what is loaded from where."""

from __future__ import annotations

import argparse
import json
import time

from slot.config import Settings
from slot.models import EMBEDDED, converted_dir, resolve_base_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", default="info", choices=["info", "prepare", "list"],
                        help="info: describe the configured model (default); prepare: convert it now; "
                             "list: embedded models")
    Settings.add_arguments(parser, ["home", "base_model", "adapter", "adapters"])


def run(args: argparse.Namespace) -> int:
    from slot.structurer import adapter_paths

    settings = Settings.from_args(args)
    if args.action == "list":
        for model in EMBEDDED.values():
            ready = (converted_dir(model, settings.home_path) / "model.safetensors").is_file()
            print(f"{model.alias:14} {'converted' if ready else 'not converted':14} {model.description}")
        return 0
    if args.action == "prepare":
        started = time.perf_counter()
        path = resolve_base_model(settings.base_model, settings.home_path)
        print(f"base model ready at {path} ({time.perf_counter() - started:.1f} s)")
        return 0
    info = {"base_model": settings.base_model, "home": str(settings.home_path),
            "adapters": {name: str(path) for name, path in adapter_paths(settings).items()}}
    if settings.base_model in EMBEDDED:
        target = converted_dir(EMBEDDED[settings.base_model], settings.home_path)
        info["converted_dir"] = str(target)
        info["converted"] = (target / "model.safetensors").is_file()
    print(json.dumps(info, indent=2))
    return 0
