"""Fusion: weighted RRF, ranking, diversity and per-group calibration, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rag.search.fusion import calibrate, diversify, rank_by, weighted_rrf


def test_rrf_empty_lists() -> None:
    assert weighted_rrf([]) == {}
    assert weighted_rrf([([], 1.0), ([], 0.5)]) == {}


def test_rrf_single_list_uses_rank_from_one() -> None:
    assert weighted_rrf([([4, 2], 1.0)], k=10) == {4: 1 / 11, 2: 1 / 12}


def test_rrf_sums_across_lists() -> None:
    fused = weighted_rrf([([1, 2], 1.0), ([2, 3], 1.0)], k=0)
    assert fused[1] == pytest.approx(1.0)
    assert fused[2] == pytest.approx(1 / 2 + 1 / 1)
    assert fused[3] == pytest.approx(1 / 2)


def test_rrf_weights() -> None:
    fused = weighted_rrf([([7, 8], 1.0), ([8], 0.5)], k=60)
    assert fused[7] == pytest.approx(1 / 61)
    assert fused[8] == pytest.approx(1 / 62 + 0.5 / 61)


def test_rrf_zero_weight_ignored() -> None:
    fused = weighted_rrf([([1], 1.0), ([2, 1], 0.0)], k=60)
    assert fused == {1: pytest.approx(1 / 61)}
    assert 2 not in fused


def test_rank_by_descending_score() -> None:
    assert rank_by({1: 0.1, 2: 0.9, 3: 0.5}) == [2, 3, 1]


def test_rank_by_ties_broken_by_item_id() -> None:
    assert rank_by({9: 0.5, 3: 0.5, 5: 1.0, 1: 0.5}) == [5, 1, 3, 9]


def test_rank_by_empty() -> None:
    assert rank_by({}) == []


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_diversify_drops_near_duplicate_vector() -> None:
    vectors = np.stack([unit(1, 0), unit(1, 0), unit(0, 1)])
    spans = [("a", 0, 10), ("b", 0, 10), ("c", 0, 10)]
    assert diversify([10, 11, 12], vectors, spans, k=3) == [0, 2]


def test_diversify_drops_vector_exactly_at_threshold() -> None:
    vectors = np.array([[1.0, 0.0], [0.5, math.sqrt(0.75)]])
    spans = [("a", 0, 10), ("b", 0, 10)]
    assert diversify([0, 1], vectors, spans, k=2, max_cosine=0.5) == [0]
    assert diversify([0, 1], vectors, spans, k=2, max_cosine=0.51) == [0, 1]


def test_diversify_drops_heavily_overlapping_span_of_same_doc() -> None:
    vectors = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)])
    # 60 of the shorter span's 100 characters are shared: 0.6 > 0.5.
    spans = [("a", 0, 100), ("a", 40, 140), ("a", 200, 300)]
    assert diversify([0, 1, 2], vectors, spans, k=3) == [0, 2]


def test_diversify_keeps_lightly_overlapping_span_of_same_doc() -> None:
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    # Exactly half shared is not more than max_overlap=0.5.
    spans = [("a", 0, 100), ("a", 50, 150)]
    assert diversify([0, 1], vectors, spans, k=2) == [0, 1]


def test_diversify_keeps_overlapping_spans_of_different_docs() -> None:
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    spans = [("a", 0, 100), ("b", 0, 100)]
    assert diversify([0, 1], vectors, spans, k=2) == [0, 1]


def test_diversify_returns_at_most_k() -> None:
    vectors = np.eye(5, dtype=np.float32)
    spans = [(str(i), 0, 10) for i in range(5)]
    assert diversify(list(range(5)), vectors, spans, k=3) == [0, 1, 2]
    assert diversify(list(range(5)), vectors, spans, k=0) == []


def test_diversify_empty_order() -> None:
    assert diversify([], np.zeros((0, 2), dtype=np.float32), [], k=3) == []


def test_diversify_returns_positions_not_items() -> None:
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    assert diversify([42, 7], vectors, [("a", 0, 1), ("b", 0, 1)], k=2) == [0, 1]


def test_calibrate_per_group_z_scores() -> None:
    # a: mean 2, std 1; b: mean 15, std 5.
    z = calibrate(np.array([3.0, 1.0, 10.0, 20.0]), np.array(["sv", "sv", "en", "en"]))
    np.testing.assert_allclose(z, [1.0, -1.0, -1.0, 1.0])


def test_calibrate_groups_interleaved() -> None:
    z = calibrate(np.array([10.0, 3.0, 20.0, 1.0]), np.array(["en", "sv", "en", "sv"]))
    np.testing.assert_allclose(z, [-1.0, 1.0, 1.0, -1.0])


def test_calibrate_respects_top() -> None:
    # Top 2 of [4, 2, 0] are [4, 2]: mean 3, std 1; 0 lies 3 below.
    z = calibrate(np.array([4.0, 2.0, 0.0]), np.array(["a", "a", "a"]), top=2)
    np.testing.assert_allclose(z, [1.0, -1.0, -3.0])


def test_calibrate_uses_floor_when_scores_equal() -> None:
    with np.errstate(all="raise"):
        z = calibrate(np.array([5.0, 5.0, 5.0]), np.array(["a", "a", "a"]))
    np.testing.assert_array_equal(z, [0.0, 0.0, 0.0])


def test_calibrate_floor_scales_spread_below_it() -> None:
    # Top 1 is [3]: std 0, floored at 0.5; 1 lies 2 below, so z = -4.
    z = calibrate(np.array([3.0, 1.0]), np.array(["a", "a"]), top=1, floor=0.5)
    np.testing.assert_allclose(z, [0.0, -4.0])


def test_calibrate_single_member_group_is_zero() -> None:
    z = calibrate(np.array([7.0, 1.0, 3.0]), np.array(["a", "b", "b"]))
    np.testing.assert_allclose(z, [0.0, -1.0, 1.0])
