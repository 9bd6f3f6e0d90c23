"""Words for BM25: tokenising and stemming per language.

Each passage is tokenised and stemmed in its own language with PyStemmer's
Snowball stemmers (Swedish, Norwegian, English, ...), and stop words dropped
(bm25s's lists); a question is tokenised in the question's language. The
postings and scoring live with the index (`rag.store.postings`).
"""

from __future__ import annotations

import functools
import logging
import re

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
