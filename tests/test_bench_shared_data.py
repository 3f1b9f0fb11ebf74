"""Benchmarks that read ../shared/data stop with a message naming the missing file, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_require_names_the_missing_file_and_the_option(benchmark_module, tmp_path: Path) -> None:
    shared_data = benchmark_module("shared_data")
    present = tmp_path / "rows.jsonl"
    present.write_text("{}\n")
    assert shared_data.require(present) == present
    with pytest.raises(SystemExit) as stopped:
        shared_data.require(tmp_path / "missing.jsonl", "the E2E dev file, --e2e-file")
    assert "missing.jsonl not found (the E2E dev file, --e2e-file)" in str(stopped.value.code)


def test_a_benchmark_without_its_data_exits_with_the_message(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_grounding.py"), "--e2e",
                          str(tmp_path / "absent.jsonl")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "absent.jsonl not found" in run.stderr and "Traceback" not in run.stderr
