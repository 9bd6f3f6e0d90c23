"""The extractive generator: pick the sentences that answer, in reading order.

Pure: scores and vectors in, chosen sentence positions out. A sentence's score
is its similarity to the question, calibrated per language (as in retrieval:
e5 rates every sentence in the question's language higher), plus the share of
the question's content words it contains, plus the fused retrieval score of
the passage it stands in (the passage ranking already weighs dense and lexical
evidence; on the dev set adding it raised the key-fact rate from 28 to 34 of
48, see docs/PERFORMANCE.md). Selection is greedy: the best sentence, then
others that stay close to it in score, are not near-copies of one already
chosen, and preferably come from articles not yet quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.search.fusion import calibrate


@dataclass(frozen=True)
class Candidate:
    """A sentence inside a retrieved passage."""

    doc_id: str
    start: int
    language: str
    dense: float  # cosine similarity to the question
    overlap: float  # share of the question's content words it holds, 0..1
    passage: float = 0.0  # fused retrieval score of the passage it was found in


def score(
    candidates: Sequence[Candidate], lexical_weight: float = 1.0, passage_weight: float = 1.0
) -> np.ndarray:
    """Calibrated dense score plus weighted word overlap and passage score.

    >>> a = Candidate("d", 0, "en", dense=0.9, overlap=0.5, passage=2.0)
    >>> b = Candidate("d", 9, "en", dense=0.8, overlap=0.0, passage=1.5)
    >>> [round(float(s), 2) for s in score([a, b])]  # z-scores 1 and -1, plus the rest
    [3.5, 0.5]
    """
    if not candidates:
        return np.zeros(0)
    dense = np.array([c.dense for c in candidates])
    groups = np.array([c.language for c in candidates])
    z = calibrate(dense, groups, top=5, floor=0.005, prior=2.0)
    overlap = np.array([c.overlap for c in candidates])
    passage = np.array([c.passage for c in candidates])
    return z + lexical_weight * overlap + passage_weight * passage


def select(
    candidates: Sequence[Candidate],
    scores: np.ndarray,
    vectors: np.ndarray,
    max_sentences: int = 3,
    within: float = 3.0,
    max_cosine: float = 0.95,
    new_article_bonus: float = 0.3,
) -> list[int]:
    """Positions of the chosen candidates, in reading order.

    After the best sentence, a candidate is eligible while its score is within
    `within` of the best; among eligible ones a sentence from an article not
    yet quoted gets `new_article_bonus`. Reading order: articles in the order
    they were first chosen, sentences in their order within each article.
    """
    if not candidates:
        return []
    best = float(np.max(scores))
    chosen: list[int] = []
    while len(chosen) < max_sentences:
        quoted = {candidates[i].doc_id for i in chosen}
        pick, pick_value = None, -np.inf
        for i, c in enumerate(candidates):
            if i in chosen or scores[i] < best - within:
                continue
            if chosen and float(np.max(vectors[chosen] @ vectors[i])) >= max_cosine:
                continue
            value = scores[i] + (new_article_bonus if chosen and c.doc_id not in quoted else 0.0)
            if value > pick_value:
                pick, pick_value = i, value
        if pick is None:
            break
        chosen.append(pick)
    first_seen = {}
    for i in chosen:
        first_seen.setdefault(candidates[i].doc_id, len(first_seen))
    return sorted(chosen, key=lambda i: (first_seen[candidates[i].doc_id], candidates[i].start))


def word_overlap(question_words: set[str], sentence_words: set[str]) -> float:
    """Share of the question's words found in the sentence (0 when it has none).

    >>> word_overlap({"putin", "loan"}, {"putin", "offer", "loan"})
    1.0
    """
    if not question_words:
        return 0.0
    return len(question_words & sentence_words) / len(question_words)
