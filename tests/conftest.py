"""Shared fixtures: one real model and one Structurer per test session (loading costs seconds)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
"""The data the tests read, vendored with its licenses (tests/data/README.md): nothing outside the repository."""
E2E = DATA / "e2e" / "e2e_dev_slot.jsonl.gz"
SUITE = DATA / "json-schema-test-suite"
SNIPS = DATA / "snips"


@pytest.fixture(scope="session")
def e2e_rows() -> list[dict[str, Any]]:
    """The E2E dev rows (all 4,672 of them)."""
    with gzip.open(E2E, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="session")
def e2e_file(tmp_path_factory) -> Path:
    """The E2E dev rows as a plain JSONL file, for code that reads a path (the benchmarks' row pickers)."""
    path = tmp_path_factory.mktemp("e2e") / "e2e_dev_slot.jsonl"
    with gzip.open(E2E, "rb") as source:
        path.write_bytes(source.read())
    return path


@pytest.fixture(scope="session")
def settings():
    from slot.config import Settings

    return Settings.from_env(home=os.environ.get("SLOT_HOME") or None)


@pytest.fixture(scope="session")
def base_structurer(settings):
    """The embedded base model without any adapter (the real model, real grammar; the parse-first fast path
    off, so every request decodes: tests of the fast path ask for it)."""
    from slot.structurer import Structurer

    return Structurer.from_settings(settings.replace(adapter="none", parse_first=False), progress=False)


@pytest.fixture(scope="session")
def structurer(settings):
    """The service default: base model + shipped adapter when present (the parse-first fast path off, so
    every request decodes: tests of the fast path ask for it)."""
    from slot.structurer import Structurer

    return Structurer.from_settings(settings.replace(parse_first=False), progress=False)


@pytest.fixture(scope="session")
def synthetic_rows(tmp_path_factory) -> list[dict[str, Any]]:
    """A small synthetic set (all splits) from the real data-synthesis pipeline, fixed seed."""
    from data_synthesis.pipeline import GenConfig, generate

    out = tmp_path_factory.mktemp("synthetic")
    generate(GenConfig(n=120, seed=11, progress=False), out)
    rows: list[dict[str, Any]] = []
    for split in ("train", "validation", "test"):
        with open(out / f"{split}.jsonl", encoding="utf-8") as handle:
            rows += [json.loads(line) for line in handle]
    return rows


@pytest.fixture(scope="session")
def matcher_at(structurer) -> Callable[[dict[str, Any], str], tuple[Any, list[int]]]:
    """A fresh llguidance matcher of a schema advanced over an output prefix, and that prefix's token ids."""
    from slot.schema import load_schema

    def at(schema: dict[str, Any], output: str) -> tuple[Any, list[int]]:
        grammar, _ = structurer.compile(load_schema(schema), "llguidance")
        ids = structurer.engine.tokenizer.encode(output, add_special_tokens=False)
        matcher = grammar.matcher()
        assert matcher.consume(ids)
        return matcher, ids

    return at


@pytest.fixture(scope="session")
def benchmark_module() -> Callable[[str], Any]:
    """Loads ``benchmarks/<name>.py`` as the module ``name`` (benchmarks/ is no package), once per session."""

    def load(name: str) -> Any:
        if str(ROOT / "benchmarks") not in sys.path:
            sys.path.append(str(ROOT / "benchmarks"))  # what `python benchmarks/<name>.py` puts there too
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses resolve annotations through sys.modules
            spec.loader.exec_module(module)
        return sys.modules[name]

    return load
