"""A deterministic stand-in for an embedding model, for tests where the model
is not the point: a hashed bag of words, so texts sharing words are close."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class HashEmbedder:
    def __init__(self, dim: int = 64, name: str = "fake-hash/1") -> None:
        self._dim = dim
        self._id = name
        self.calls: list[int] = []  # batch sizes, to check what was embedded

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.casefold()):
                digest = hashlib.sha256(word.encode()).digest()
                out[row, digest[0] % self._dim] += 1.0 if digest[1] % 2 else -1.0
            norm = np.linalg.norm(out[row])
            if norm == 0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out


class ScriptedGenerator:
    """A stand-in for a language model: answers every prompt with the next
    scripted reply (or a function of the prompt), streamed a few characters
    at a time, and records the prompts it was given."""

    def __init__(self, *replies, name: str = "fake:scripted") -> None:
        self._replies = list(replies)
        self._id = name
        self.prompts: list[str] = []
        self.limits: list[int | None] = []

    @property
    def id(self) -> str:
        return self._id

    def stream(self, prompt: str, max_tokens: int | None = None):
        self.prompts.append(prompt)
        self.limits.append(max_tokens)
        reply = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        text = reply(prompt) if callable(reply) else reply
        for start in range(0, len(text), 7):
            yield text[start : start + 7]


def new_article(
    doc_id: str,
    texts: Sequence[str],
    language: str,
    vectors: np.ndarray,
    title: str = "",
):
    """A `NewArticle` whose passages are `texts` (one sentence each, joined by
    blank lines), with the given passage vectors (sentences reuse them)."""
    from rag.records import Article, Chunk, Sentence
    from rag.store.base import NewArticle
    from rag.text.chunking import chunk_id
    from rag.text.lexical import tokenize

    text, spans = "", []
    for t in texts:
        start = len(text) + (2 if text else 0)
        text = (text + "\n\n" if text else "") + t
        spans.append((start, start + len(t)))
    article = Article(doc_id, title or doc_id, text, language, None, f"{doc_id}.txt")
    chunks = tuple(Chunk(chunk_id(doc_id, a, text[a:b]), doc_id, a, b, text[a:b]) for a, b in spans)
    sentences = tuple(Sentence(c.id, doc_id, c.start, c.end, c.text) for c in chunks)
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
    return NewArticle(
        article=article,
        chunks=chunks,
        chunk_vectors=vectors,
        sentences=sentences,
        sentence_vectors=vectors,
        tokens=tuple(tuple(tokenize(t, language) or [""]) for t in texts),
    )


def write_index(root, commits, embedder_id: str = "rand/1", dim: int | None = None) -> None:
    """Write `commits` (each a list of segments, each a list of NewArticle)
    to the index at `root`, one commit per item."""
    from rag.store.local.writer import IndexWriter

    for segments in commits:
        d = dim or segments[0][0].chunk_vectors.shape[1]
        with IndexWriter.open(root, embedder_id, d, {}, "test") as writer:
            for items in segments:
                writer.add(items)
            writer.commit("test", merge=False)
