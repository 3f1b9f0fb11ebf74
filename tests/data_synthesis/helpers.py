"""Shared helpers for the data_synthesis tests (plain module, not a conftest)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SPLIT_FILES = ("train.jsonl", "validation.jsonl", "test.jsonl")


def read_split(d: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (d / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def all_records(d: Path) -> dict[str, list[dict[str, Any]]]:
    return {name.split(".")[0]: read_split(d, name) for name in SPLIT_FILES}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "data_synthesis", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
