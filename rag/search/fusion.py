"""Fusing ranked lists, and keeping the final hits diverse.

Pure functions over ranks and arrays: no index, no model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def weighted_rrf(rankings: Sequence[tuple[Sequence[int], float]], k: int = 60) -> dict[int, float]:
    """Weighted reciprocal-rank fusion.

    Each ranking is (item ids best first, weight); an item's fused score is
    the sum over rankings of weight / (k + rank), ranks counted from 1.

    >>> weighted_rrf([([7, 8], 1.0), ([8], 0.5)], k=60)[8] == 1 / 62 + 0.5 / 61
    True
    """
    scores: dict[int, float] = {}
    for items, weight in rankings:
        if weight == 0:
            continue
        for rank, item in enumerate(items, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def rank_by(scores: Mapping[int, float]) -> list[int]:
    """Items by descending score; ties broken by item id, so runs repeat."""
    return sorted(scores, key=lambda item: (-scores[item], item))


def diversify(
    order: Sequence[int],
    vectors: np.ndarray,
    spans: Sequence[tuple[str, int, int]],
    k: int,
    max_cosine: float = 0.95,
    max_overlap: float = 0.5,
    stories: Sequence[str] | None = None,
) -> list[int]:
    """The first `k` positions of `order` that are not near-copies of one
    already chosen.

    `vectors[i]` (unit length) and `spans[i]` = (doc id, start, end) describe
    `order[i]`. A candidate is a near-copy when its cosine similarity to a
    chosen one is at least `max_cosine`, or when it shares more than
    `max_overlap` of the shorter span's characters with a chosen passage of
    the same article (overlapping chunks), or when `stories[i]` (its
    article's copy group) is that of a chosen passage of another article:
    a story is shown from one of its copies. Returns positions into `order`.

    >>> v = np.eye(3)
    >>> spans = [("a", 0, 9), ("b", 0, 9), ("c", 0, 9)]
    >>> diversify([7, 8, 9], v, spans, 3, stories=["a", "a", "c"])
    [0, 2]
    """
    chosen: list[int] = []
    shown: dict[str, str] = {}  # story -> the article it is shown from
    for i in range(len(order)):
        if len(chosen) == k:
            break
        if chosen and float(np.max(vectors[chosen] @ vectors[i])) >= max_cosine:
            continue
        if any(_overlap(spans[i], spans[j]) > max_overlap for j in chosen):
            continue
        if stories is not None:
            doc = spans[i][0]
            if shown.setdefault(stories[i], doc) != doc:
                continue
        chosen.append(i)
    return chosen


def _overlap(a: tuple[str, int, int], b: tuple[str, int, int]) -> float:
    if a[0] != b[0]:
        return 0.0
    shared = min(a[2], b[2]) - max(a[1], b[1])
    shorter = min(a[2] - a[1], b[2] - b[1])
    return shared / shorter if shared > 0 and shorter > 0 else 0.0


def calibrate(
    scores: np.ndarray,
    groups: np.ndarray,
    top: int = 10,
    floor: float = 1e-6,
    prior: float = 0.0,
) -> np.ndarray:
    """Scores as z-scores within their group.

    Each group's mean and standard deviation are taken over its `top` highest
    scores (the competitive region; the long tail says little). A group with
    few scores says little about its own spread, so its statistics are shrunk
    toward those of all groups together: with n scores, the group's own weight
    is n / (n + prior). The standard deviation is floored at `floor`.

    Used per language: it makes "best passage in Swedish" and "best passage in
    English" comparable although the model scores every Swedish passage higher
    for a Swedish question.

    >>> calibrate(np.array([3.0, 1.0, 10.0, 20.0]), np.array(["a", "a", "b", "b"]))
    array([ 1., -1., -1.,  1.])
    """
    scores = np.asarray(scores, dtype=np.float64)
    z = np.zeros(len(scores), dtype=np.float64)
    if len(scores) == 0:
        return z
    pooled = np.sort(scores)[::-1][:top]
    pooled_mean, pooled_std = float(pooled.mean()), float(pooled.std())
    for group in np.unique(groups):
        member = groups == group
        best = np.sort(scores[member])[::-1][:top]
        weight = len(best) / (len(best) + prior)
        mean = weight * float(best.mean()) + (1 - weight) * pooled_mean
        std = weight * float(best.std()) + (1 - weight) * pooled_std
        z[member] = (scores[member] - mean) / max(std, floor)
    return z
