"""Shared fixtures: one real model and one Structurer per test session (loading costs seconds)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
E2E = SHARED / "data" / "e2e" / "e2e_dev_slot.jsonl"
SUITE = SHARED / "data" / "json-schema-test-suite"


@pytest.fixture(scope="session")
def e2e_rows() -> list[dict[str, Any]]:
    """The shared E2E dev rows (skips, loudly, only where shared/ is absent)."""
    if not E2E.is_file():
        pytest.fail(f"shared data missing: {E2E}")
    with open(E2E, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="session")
def settings():
    from slot.config import Settings

    return Settings.from_env(home=os.environ.get("SLOT_HOME") or None)


@pytest.fixture(scope="session")
def base_structurer(settings):
    """The embedded base model without any adapter (the real model, real grammar)."""
    from slot.structurer import Structurer

    return Structurer.from_settings(settings.replace(adapter="none"), progress=False)


@pytest.fixture(scope="session")
def structurer(settings):
    """The service default: base model + shipped adapter when present."""
    from slot.structurer import Structurer

    return Structurer.from_settings(settings, progress=False)
