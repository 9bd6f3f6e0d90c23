"""The lexical index: BM25 (bm25s) over the same chunks as the vector index.

Each passage is tokenised and stemmed in its own language with PyStemmer's
Snowball stemmers (Swedish, Norwegian, English, ...), and stop words dropped;
a question is tokenised in the question's language. Saved without pickle
(bm25s writes .npy arrays with allow_pickle=False and JSON).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)

# ISO 639-1 code -> Snowball algorithm name.
STEMMERS = {
    "en": "english",
    "sv": "swedish",
    "nb": "norwegian",
    "nn": "norwegian",
    "da": "danish",
    "de": "german",
    "fi": "finnish",
    "fr": "french",
    "es": "spanish",
    "nl": "dutch",
    "ru": "russian",
    "pt": "portuguese",
    "it": "italian",
}
_STOPWORD_LISTS = {
    "en": "STOPWORDS_EN_PLUS",
    "sv": "STOPWORDS_SWEDISH",
    "nb": "STOPWORDS_NORWEGIAN",
    "nn": "STOPWORDS_NORWEGIAN",
    "da": "STOPWORDS_DANISH",
    "de": "STOPWORDS_GERMAN",
    "fr": "STOPWORDS_FRENCH",
    "es": "STOPWORDS_SPANISH",
    "nl": "STOPWORDS_DUTCH",
    "ru": "STOPWORDS_RUSSIAN",
}


def _bm25s():
    import bm25s

    # bm25s sets its own logger to DEBUG on import; keep its chatter out of our logs.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


@functools.lru_cache(maxsize=32)
def _stemmer(language: str):
    import Stemmer

    algorithm = STEMMERS.get(language)
    return Stemmer.Stemmer(algorithm) if algorithm else None


@functools.lru_cache(maxsize=32)
def _stopwords(language: str) -> frozenset[str]:
    _bm25s()
    import bm25s.stopwords

    name = _STOPWORD_LISTS.get(language)
    return frozenset(getattr(bm25s.stopwords, name, ())) if name else frozenset()


def tokenize(text: str, language: str) -> list[str]:
    """Lower-cased word tokens, stop words removed, stemmed for `language`.

    >>> tokenize("The protesters were peaceful", "en")
    ['protest', 'peac']
    """
    stop = _stopwords(language)
    words = [w for w in _WORD.findall(text.casefold()) if w not in stop]
    stemmer = _stemmer(language)
    return stemmer.stemWords(words) if stemmer else words


class LexicalIndex:
    """BM25 over passages; scores come back aligned with passage positions."""

    def __init__(self, bm25) -> None:
        self._bm25 = bm25

    @classmethod
    def build(cls, texts: Sequence[str], languages: Sequence[str]) -> LexicalIndex:
        bm25s = _bm25s()
        corpus = [tokenize(t, lang) or [""] for t, lang in zip(texts, languages, strict=True)]
        # A sorted vocabulary: bm25s would number tokens in set order, which
        # changes with each process's string hashing, and so would the saved
        # arrays and the content id of an otherwise identical build.
        vocab = {token: i for i, token in enumerate(sorted({t for doc in corpus for t in doc}))}
        ids = [[vocab[t] for t in doc] for doc in corpus]
        bm25 = bm25s.BM25()
        bm25.index((ids, vocab), show_progress=False)
        return cls(bm25)

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        bm25 = _bm25s().BM25.load(str(directory), allow_pickle=False, show_progress=False)
        return cls(bm25)

    @property
    def size(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def scores(self, question: str, language: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every passage for `question` (0 where nothing matches);
        `mask` (0/1 per passage) restricts the search."""
        vocab = self._bm25.vocab_dict
        ids = sorted({vocab[t] for t in tokenize(question, language) if t and t in vocab})
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(ids, weight_mask=mask), dtype=np.float32)
