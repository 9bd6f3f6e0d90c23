"""BM25: tokenising per language, and scoring over segments (checked against bm25s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.store.local import Snapshot
from rag.store.postings import build_postings, idf
from rag.text.lexical import tokenize
from tests.fakes import new_article, write_index

TEXTS = [
    "Demonstrationerna i Minsk fortsätter trots polisens våld.",
    "Demonstrasjonene i Minsk fortsetter, sier opposisjonen.",
    "The protesters in Minsk were peaceful on Sunday.",
    "Putin promised Lukashenko a loan and military support.",
]
LANGUAGES = ["sv", "nb", "en", "en"]


def _index(tmp_path: Path, texts, languages, split: int | None = None) -> Snapshot:
    """One article per text, in the order given (rows follow it when the
    languages are sorted); `split` puts the texts from that one on into a
    second segment, committed separately."""
    items = [
        new_article(f"d{i}", [t], lang, np.eye(1, 4, i % 4))
        for i, (t, lang) in enumerate(zip(texts, languages, strict=True))
    ]
    groups = [items] if split is None else [items[:split], items[split:]]
    write_index(tmp_path / "index", [[g] for g in groups])
    return Snapshot.open(tmp_path / "index")


def _scores(snapshot: Snapshot, question: str, language: str) -> dict[str, float]:
    """BM25 score of each article (one passage each) by id."""
    lexical = snapshot.lexical(tokenize(question, language))
    out = {}
    for s, segment in enumerate(snapshot.segments):
        for row, doc_row, _, _ in segment.iter_chunks():
            out[segment.article(doc_row).article.id] = float(lexical.scores[s][row])
    return out


@pytest.fixture
def snapshot(tmp_path: Path) -> Snapshot:
    return _index(tmp_path, TEXTS, LANGUAGES)


def test_swedish_inflections_share_a_stem() -> None:
    assert tokenize("demonstrationerna", "sv") == tokenize("demonstrationer", "sv")


def test_norwegian_inflections_share_a_stem() -> None:
    assert tokenize("demonstrasjonene", "nb") == tokenize("demonstrasjoner", "nb")


def test_english_stop_words_are_dropped() -> None:
    assert tokenize("The protesters were in the square", "en") == ["protest", "squar"]


def test_unknown_language_neither_stems_nor_drops() -> None:
    assert tokenize("Demonstrationerna och the", "xx") == ["demonstrationerna", "och", "the"]


def test_question_matches_only_the_passage_that_holds_its_words(snapshot: Snapshot) -> None:
    scores = _scores(snapshot, "Did Putin promise a loan?", "en")
    assert max(scores, key=scores.get) == "d3"
    assert all(scores[d] == 0 for d in ("d0", "d1", "d2"))


def test_swedish_question_matches_inflected_passage(snapshot: Snapshot) -> None:
    scores = _scores(snapshot, "Var hölls demonstrationer?", "sv")
    assert max(scores, key=scores.get) == "d0" and scores["d0"] > 0


def test_question_with_no_known_words_scores_zero(snapshot: Snapshot) -> None:
    assert not any(_scores(snapshot, "zebra quokka", "en").values())
    assert not any(_scores(snapshot, "the and of", "en").values())


def test_empty_passage_is_indexed_without_error(tmp_path: Path) -> None:
    scores = _scores(_index(tmp_path, ["", "Minsk protests."], ["en", "en"]), "Minsk", "en")
    assert scores["d0"] == 0 and scores["d1"] > 0


def test_postings_are_sorted_and_counted() -> None:
    postings = build_postings([["b", "a", "b"], [], ["b"]])
    assert postings.terms == ("a", "b")
    rows, tfs = postings.of(1)
    assert rows.tolist() == [0, 2] and tfs.tolist() == [2, 1]
    assert postings.lengths.tolist() == [3, 0, 1]


def _corpus(n: int = 60, seed: int = 4):
    rng = np.random.default_rng(seed)
    words = ["minsk", "putin", "loan", "protest", "police", "vote", "russia", "eu", "oil", "army"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 12))) for _ in range(n)]
    return texts, ["en"] * n


def test_one_segment_scores_exactly_like_bm25s(tmp_path: Path) -> None:
    import bm25s

    texts, languages = _corpus()
    snapshot = _index(tmp_path, texts, languages)
    corpus = [tokenize(t, "en") or [""] for t in texts]
    vocab = {t: i for i, t in enumerate(sorted({t for doc in corpus for t in doc}))}
    reference = bm25s.BM25()  # method "lucene", k1 1.5, b 0.75: ours
    reference.index(([[vocab[t] for t in doc] for doc in corpus], vocab), show_progress=False)
    for question in ("putin loan", "protest police protest", "army oil eu vote"):
        ids = sorted({vocab[t] for t in tokenize(question, "en") if t in vocab})
        expected = reference.get_scores(ids)
        got = _scores(snapshot, question, "en")
        np.testing.assert_allclose([got[f"d{i}"] for i in range(len(texts))], expected, rtol=1e-5)


def test_scores_use_whole_index_statistics_across_segments(tmp_path: Path) -> None:
    texts, languages = _corpus()
    one = _index(tmp_path / "one", texts, languages)
    two = _index(tmp_path / "two", texts, languages, split=25)
    assert len(two.segments) == 2
    for question in ("putin loan", "protest police", "russia"):
        a, b = _scores(one, question, "en"), _scores(two, question, "en")
        np.testing.assert_allclose([a[k] for k in sorted(a)], [b[k] for k in sorted(a)], rtol=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_top_positive_is_the_exact_top_k(seed: int) -> None:
    from rag.store.postings import top_positive

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200_000))
    scores = rng.exponential(size=n).astype(np.float32) * (rng.random(n) < rng.random())
    scores[rng.integers(0, n, size=n // 10)] = 0
    k = int(rng.integers(1, 80))
    got = top_positive(scores, k)
    positive = np.flatnonzero(scores > 0)
    expected = positive[np.argsort(-scores[positive], kind="stable")][:k]
    assert len(got) == len(expected)
    assert np.allclose(np.sort(scores[got]), np.sort(scores[expected]))


def test_idf_is_lucenes() -> None:
    assert idf(1, 1) == pytest.approx(np.log(1 + 0.5 / 1.5))
    assert idf(5, 10) > idf(9, 10) > 0
