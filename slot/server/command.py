"""``slot serve``: run the gRPC service (the README's `make run`)."""

from __future__ import annotations

import argparse
import asyncio

from slot.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    Settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from slot.server.app import configure_logging, exit_now, serve

    settings = Settings.from_args(args)
    configure_logging(settings.log_level)
    if asyncio.run(serve(settings)):
        exit_now(0)  # drained; the threads left behind would otherwise be joined at interpreter exit
    return 0
