"""Fixtures for the deployment checks: every kustomization under k8s/ rendered once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from k8s_support import Rendered, kustomization_dirs, render  # noqa: E402


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """`kubectl kustomize` of every kustomization (errors are kept and reported by the tests that use it)."""
    out_dir = tmp_path_factory.mktemp("rendered")
    return {name: render(name, out_dir) for name in kustomization_dirs()}
