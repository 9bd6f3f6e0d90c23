"""Retrieval metrics over ranked passages. Pure functions, hand-checked in tests."""

from __future__ import annotations

from collections.abc import Sequence


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def first_relevant_rank(passages: Sequence[str], key_phrases: Sequence[str]) -> int | None:
    """1-based rank of the first passage containing any key phrase (case- and
    whitespace-insensitive), or None.

    >>> first_relevant_rank(["a b", "x  Y z"], ["y z"])
    2
    """
    phrases = [_norm(p) for p in key_phrases if p.strip()]
    for rank, passage in enumerate(passages, start=1):
        text = _norm(passage)
        if any(p in text for p in phrases):
            return rank
    return None


def hit_at_k(passages: Sequence[str], key_phrases: Sequence[str], k: int) -> bool:
    rank = first_relevant_rank(passages, key_phrases)
    return rank is not None and rank <= k


def reciprocal_rank(passages: Sequence[str], key_phrases: Sequence[str]) -> float:
    rank = first_relevant_rank(passages, key_phrases)
    return 1.0 / rank if rank else 0.0


def article_recall(doc_ids: Sequence[str], gold_ids: Sequence[str]) -> float:
    """Share of gold articles among the retrieved passages' articles.

    >>> article_recall(["a", "a", "c"], ["a", "b"])
    0.5
    """
    if not gold_ids:
        return 0.0
    found = set(doc_ids)
    return sum(1 for g in set(gold_ids) if g in found) / len(set(gold_ids))
