"""BM25 over segments: postings built per segment, scored with corpus-wide statistics.

Pure functions over arrays. Each segment keeps, for every stemmed term, the
rows of the passages that hold it and how often (its postings), plus each
passage's length in tokens. A question is scored segment by segment, but with
the statistics of the whole index (passages, average length, and each term's
document frequency summed over segments), so scores from different segments
compare, and a one-segment index scores exactly like bm25s's "lucene" method
(`tests/test_postings.py` checks it against bm25s):

    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(d, q) = sum over t in q of idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avglen))

As in Lucene, passages deleted but not yet merged away still count in N and
df; a merge drops them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K1 = 1.5
B = 0.75


@dataclass(frozen=True)
class Postings:
    """One segment's inverted index: `terms` sorted; the rows and counts of
    term i are `rows[starts[i]:starts[i + 1]]` and `tfs[...]`."""

    terms: tuple[str, ...]
    starts: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32, sorted within each term
    tfs: np.ndarray  # int32
    lengths: np.ndarray  # int32 tokens per passage

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = int(self.starts[i]), int(self.starts[i + 1])
        return self.rows[lo:hi], self.tfs[lo:hi]


def build_postings(docs: Sequence[Sequence[str]]) -> Postings:
    """Postings of token lists (one per passage, in row order).

    >>> p = build_postings([["a", "b", "a"], ["b"]])
    >>> p.terms, [r.tolist() for r in p.of(1)], p.lengths.tolist()
    (('a', 'b'), [[0, 1], [1, 1]], [3, 1])
    """
    vocab: dict[str, int] = {}
    term_ids: list[int] = []
    lengths = np.zeros(len(docs), dtype=np.int32)
    for row, tokens in enumerate(docs):
        lengths[row] = len(tokens)
        for token in tokens:
            term_ids.append(vocab.setdefault(token, len(vocab)))
    if not vocab:
        return Postings((), np.zeros(1, np.int64), _i32([]), _i32([]), lengths)
    ids = np.asarray(term_ids, dtype=np.int64)
    doc_rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    # Renumber terms in sorted order, so the layout does not depend on which
    # passage named a term first.
    terms = sorted(vocab)
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[[vocab[t] for t in terms]] = np.arange(len(terms))
    pairs, counts = np.unique(rank[ids] * len(docs) + doc_rows, return_counts=True)
    term_of = pairs // len(docs)
    starts = np.searchsorted(term_of, np.arange(len(terms) + 1)).astype(np.int64)
    return Postings(
        tuple(terms), starts, (pairs % len(docs)).astype(np.int32), counts.astype(np.int32), lengths
    )


def idf(df: int, n_docs: int) -> float:
    """BM25's (Lucene's) inverse document frequency.

    >>> round(idf(1, 3), 4)
    0.9808
    """
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def length_norms(lengths: np.ndarray, avg_length: float) -> np.ndarray:
    """k1 * (1 - b + b * len / avglen) per passage: the part of BM25 that
    depends on the passage, computed once per segment and index state.

    >>> length_norms(np.array([4, 8]), 4.0).tolist()
    [1.5, 2.625]
    """
    lengths = np.asarray(lengths, dtype=np.float32)
    if avg_length <= 0:
        return np.full(len(lengths), K1, dtype=np.float32)
    return (K1 * ((1 - B) + B * lengths / np.float32(avg_length))).astype(np.float32)


def segment_scores(
    matches: Sequence[tuple[float, np.ndarray, np.ndarray]], norms: np.ndarray, size: int
) -> np.ndarray:
    """BM25 score of every row of a segment (0 where no term matches).

    `matches` holds, per query term found in the segment, (idf with corpus
    statistics, rows, tfs); `norms` comes from `length_norms`.

    >>> s = segment_scores([(1.0, np.array([1]), np.array([2]))], np.array([1.5, 1.5]), 2)
    >>> s.tolist() == [0.0, np.float32(2 / (2 + 1.5))]
    True
    """
    if not matches:
        return np.zeros(size, dtype=np.float32)
    total = np.zeros(size, dtype=np.float32)
    for weight, rows, tfs in matches:
        tf = np.asarray(tfs, dtype=np.float32)
        contribution = np.float32(weight) * tf / (tf + norms[rows])
        # Rows are distinct within one term's postings: a plain scatter-add.
        total[rows] += contribution
    return total


def top_positive(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` highest scores above 0 (fewer if fewer are),
    in no particular order; exact.

    A full partial sort of a million scores costs milliseconds, so a sample
    first gives a threshold that about 4k scores pass; when at least k pass,
    the top k are all among them (the k-th best is at or above it).

    >>> sorted(top_positive(np.array([0.0, 3.0, 1.0, 0.0, 2.0]), 2).tolist())
    [1, 4]
    """
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if n > 64 * k:
        stride = max(1, n // (256 * k))
        sample = scores[::stride]
        keep = max(1, (4 * k * len(sample)) // n)
        threshold = np.partition(sample, len(sample) - keep)[len(sample) - keep]
        if threshold > 0:
            passed = np.flatnonzero(scores >= threshold)
            if len(passed) >= k:
                return passed[np.argpartition(-scores[passed], k - 1)[:k]]
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
    return positive


def _i32(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int32)
