"""The README documents what the code offers: every setting, every CLI command, the two set-up commands."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from slot.cli import COMMANDS
from slot.config import Settings, env_name

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()


def test_every_setting_is_documented():
    missing = [env_name(f.name) for f in dataclasses.fields(Settings) if f"`{env_name(f.name)}`" not in README]
    assert missing == []


def test_every_command_is_documented():
    assert [c for c in COMMANDS if f"slot {c}" not in README] == []


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make run" in README
    assert "make test" in CI
