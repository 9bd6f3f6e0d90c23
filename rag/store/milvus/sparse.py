"""BM25 as sparse vectors: the project's own stemmed terms, scored in Milvus.

Milvus's analyzers cannot stem Swedish or Norwegian (Milvus Lite offers only
the `standard` and `jieba` tokenizers, and its BM25 function takes its
statistics from the filtered rows, so one language's scores differ from the
whole index's), so the terms come from `rag.lexical` as for the local index.
Pure functions; the formulas are `rag.store.postings`'s:

- a term is a sparse dimension: the first 32 bits of its BLAKE2b hash;
- a passage stores, per term, `tf / (tf + norm)` with `norm = k1 (1 - b + b
  len / avglen)` at the time it was written, and `norm` itself;
- a query weighs each term by its idf under the current statistics, so the
  engine's inner product ranks passages by BM25 (with the average length of
  when each was written);
- `exact_scores` recovers each term's count from a stored weight and scores
  the candidates with the current average length, exactly as the local index
  scores them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from rag.store.postings import K1, B, idf

MAX_DIM = 2**32 - 2  # Milvus takes sparse indices in [0, 2^32 - 1)


def term_id(term: str) -> int:
    """The sparse dimension of a stemmed term.

    >>> term_id("lukasjenk") == term_id("lukasjenk") != term_id("putin")
    True
    """
    value = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")
    return min(value, MAX_DIM)


def norm(length: int, avg_length: float) -> float:
    """k1 * (1 - b + b * len / avglen) (k1 alone while there is no average).

    >>> norm(4, 4.0)
    1.5
    """
    if avg_length <= 0:
        return K1
    return K1 * ((1 - B) + B * length / avg_length)


def passage_vector(tokens: Sequence[str], avg_length: float) -> tuple[dict[int, float], float]:
    """(sparse weights, norm) of a passage's stemmed tokens.

    >>> v, n = passage_vector(["a", "b", "a"], 3.0)
    >>> sorted(round(w, 3) for w in v.values()), n
    ([0.4, 0.571], 1.5)
    """
    counts = Counter(term_id(t) for t in tokens if t)
    n = norm(sum(1 for t in tokens if t), avg_length)
    return {i: tf / (tf + n) for i, tf in counts.items()}, n


def term_counts(tokens: Sequence[str]) -> Counter:
    """Each term id's count in one passage (its document frequency share is 1)."""
    return Counter(term_id(t) for t in tokens if t)


def query_vector(terms: Iterable[str], df: Mapping[int, int], n_docs: int) -> dict[int, float]:
    """Each distinct query term's idf, by term id (terms no passage holds are left out).

    >>> query_vector(["a", "a"], {term_id("a"): 1}, 3) == {term_id("a"): idf(1, 3)}
    True
    """
    out: dict[int, float] = {}
    for term in terms:
        if not term:
            continue
        i = term_id(term)
        if df.get(i, 0) > 0:
            out[i] = idf(df[i], n_docs)
    return out


def exact_score(
    query: Mapping[int, float], stored: Mapping[int, float], stored_norm: float, now_norm: float
) -> float:
    """A passage's BM25 score under the current statistics, from its stored
    weights (written with `stored_norm`).

    >>> v, n = passage_vector(["a", "b", "a"], 3.0)
    >>> q = {term_id("a"): 1.0}
    >>> round(exact_score(q, v, n, norm(3, 6.0)), 4)  # tf 2, norm 0.9375
    0.6809
    """
    total = 0.0
    for i, weight in query.items():
        w = stored.get(i)
        if not w:
            continue
        tf = round(w * stored_norm / (1 - w)) if w < 1 else 1
        total += weight * tf / (tf + now_norm)
    return total
