"""The documentation site: `mkdocs build --strict` passes (broken links, nav entries, anchors and references to
repository files fail it), its generated tables match the code, and every run file is on the benchmarks page."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slot.config import Settings, env_name

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _gen_tables():
    spec = importlib.util.spec_from_file_location("gen_tables", DOCS / "gen_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["settings", "refusals"])
def test_generated_tables_are_current(name):
    gen = _gen_tables()
    page, make = gen.TABLES[name]
    assert gen.current(name) == make(), f"docs/{page}: the {name} table is stale; run python docs/gen_tables.py"


def test_every_setting_is_documented():
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    assert [env_name(f.name) for f in dataclasses.fields(Settings) if f"`{env_name(f.name)}`" not in operations] == []


def test_every_run_file_is_on_the_benchmarks_page():
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    runs = sorted((ROOT / "benchmarks" / "results" / "history").glob("*.md"))
    assert runs
    assert [p.name for p in runs if f"../benchmarks/results/history/{p.name})" not in page] == []


def test_the_site_builds_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about its successor
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert (site / "index.html").is_file() and (site / "operations" / "index.html").is_file()
    # repository files the pages link to are published beside the pages (docs/hooks.py)
    assert (site / "repo" / "benchmarks" / "results" / "history" / "2026-11-23_decoding-near-ties" / "index.html").is_file()
