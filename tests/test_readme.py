"""The README is the short front page: the two set-up commands, every CLI command, links that resolve into the
docs. (Every setting is documented in docs/operations.md, checked by tests/test_docs.py.)"""

from __future__ import annotations

import re
from pathlib import Path

from slot.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_is_documented():
    assert [c for c in COMMANDS if f"slot {c}" not in README] == []


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make run" in README
    assert "make test" in CI


def test_the_readme_is_short():
    assert len(README.splitlines()) <= 300


def test_the_readme_links_resolve():
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", README)
             if not re.match(r"^[a-z]+:", link) and not link.startswith("#")]
    assert links and [link for link in links if not (ROOT / link).exists()] == []
