"""The public data the benchmarks read from ``../shared/data`` beside the checkout, with a clear message when
it is missing (the tests never need it: they use the small vendored copies in ``tests/data``)."""

from __future__ import annotations

import sys
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""``../shared/data`` beside the repository: E2E, SchemaStore, SNIPS and the JSON-Schema-Test-Suite."""


def require(path: Path, what: str = "") -> Path:
    """``path`` when it exists; otherwise exit (status 1) naming the file, what it is, and how to supply it."""
    if path.exists():
        return path
    sys.exit(f"{path} not found{f' ({what})' if what else ''}. This benchmark reads public data from "
             f"{SHARED_DATA} beside the checkout (docs/benchmarks.md); put a copy there or pass its "
             "path with the benchmark's option for it.")
