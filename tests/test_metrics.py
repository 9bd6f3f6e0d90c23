"""Retrieval metrics, hand-computed."""

from __future__ import annotations

import pytest

from rag.metrics import article_recall, first_relevant_rank, hit_at_k, reciprocal_rank

PASSAGES = ["Putin met Lukashenko.", "Police detained 774 people.", "The  EU\nIMPOSED sanctions."]


def test_first_relevant_rank_finds_first_match() -> None:
    assert first_relevant_rank(PASSAGES, ["774 people"]) == 2


def test_first_relevant_rank_ignores_case_and_whitespace() -> None:
    assert first_relevant_rank(PASSAGES, ["eu imposed   SANCTIONS"]) == 3


def test_first_relevant_rank_any_phrase_counts() -> None:
    assert first_relevant_rank(PASSAGES, ["nowhere", "met lukashenko"]) == 1


def test_first_relevant_rank_no_match_is_none() -> None:
    assert first_relevant_rank(PASSAGES, ["Sochi"]) is None


def test_first_relevant_rank_empty_inputs_are_none() -> None:
    assert first_relevant_rank([], ["Putin"]) is None
    assert first_relevant_rank(PASSAGES, []) is None


def test_blank_key_phrase_matches_nothing() -> None:
    assert first_relevant_rank(PASSAGES, ["", "   "]) is None


def test_hit_at_k_boundary() -> None:
    assert hit_at_k(PASSAGES, ["sanctions"], k=3) is True
    assert hit_at_k(PASSAGES, ["sanctions"], k=2) is False


def test_hit_at_k_no_match_or_empty() -> None:
    assert hit_at_k(PASSAGES, ["Sochi"], k=10) is False
    assert hit_at_k([], ["Putin"], k=10) is False


def test_reciprocal_rank_values() -> None:
    assert reciprocal_rank(PASSAGES, ["Putin"]) == 1.0
    assert reciprocal_rank(PASSAGES, ["774"]) == 0.5
    assert reciprocal_rank(PASSAGES, ["sanctions"]) == pytest.approx(1 / 3)


def test_reciprocal_rank_no_match_or_empty_is_zero() -> None:
    assert reciprocal_rank(PASSAGES, ["Sochi"]) == 0.0
    assert reciprocal_rank([], ["Putin"]) == 0.0


def test_article_recall_counts_distinct_gold() -> None:
    assert article_recall(["a", "a", "c"], ["a", "b"]) == 0.5


def test_article_recall_duplicate_gold_counted_once() -> None:
    assert article_recall(["a"], ["a", "a", "b"]) == 0.5


def test_article_recall_all_found() -> None:
    assert article_recall(["b", "x", "a"], ["a", "b"]) == 1.0


def test_article_recall_empty_inputs() -> None:
    assert article_recall([], ["a"]) == 0.0
    assert article_recall(["a"], []) == 0.0
    assert article_recall([], []) == 0.0
