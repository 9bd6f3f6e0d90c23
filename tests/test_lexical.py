"""The BM25 lexical index: tokenising per language, scoring, and pickle-free saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.lexical import LexicalIndex, tokenize

TEXTS = [
    "Demonstrationerna i Minsk fortsätter trots polisens våld.",
    "Demonstrasjonene i Minsk fortsetter, sier opposisjonen.",
    "The protesters in Minsk were peaceful on Sunday.",
    "Putin promised Lukashenko a loan and military support.",
]
LANGUAGES = ["sv", "nb", "en", "en"]


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(TEXTS, LANGUAGES)


def test_swedish_inflections_share_a_stem() -> None:
    assert tokenize("demonstrationerna", "sv") == tokenize("demonstrationer", "sv")


def test_norwegian_inflections_share_a_stem() -> None:
    assert tokenize("demonstrasjonene", "nb") == tokenize("demonstrasjoner", "nb")


def test_english_inflections_share_a_stem() -> None:
    assert tokenize("protesters", "en") == tokenize("protester", "en")
    assert tokenize("protesting", "en") == tokenize("protest", "en")


def test_stemming_follows_the_language() -> None:
    # The Swedish stemmer strips the definite plural "-erna"; English does not.
    assert tokenize("demonstrationerna", "sv") != tokenize("demonstrationerna", "en")


@pytest.mark.parametrize(
    ("text", "language", "stop"),
    [
        ("Lukasjenko och Putin i Sotsji", "sv", ["och", "i"]),
        ("Lukasjenko og Putin i Sotsji", "nb", ["og", "i"]),
        ("The protesters and the police", "en", ["the", "and"]),
    ],
)
def test_stop_words_removed(text: str, language: str, stop: list[str]) -> None:
    tokens = tokenize(text, language)
    assert tokens
    assert not set(stop) & set(tokens)


def test_tokens_lower_cased() -> None:
    assert tokenize("MINSK Minsk minsk", "en") == ["minsk", "minsk", "minsk"]


def test_unknown_language_neither_stems_nor_drops() -> None:
    assert tokenize("Demonstrationerna och the", "xx") == ["demonstrationerna", "och", "the"]


def test_index_size(index: LexicalIndex) -> None:
    assert index.size == len(TEXTS)


def test_scores_aligned_with_passages(index: LexicalIndex) -> None:
    scores = index.scores("Did Putin promise a loan?", "en")
    assert scores.shape == (len(TEXTS),)
    assert scores.dtype == np.float32
    assert int(np.argmax(scores)) == 3
    assert np.all(scores[:3] == 0)


def test_swedish_question_matches_inflected_passage(index: LexicalIndex) -> None:
    scores = index.scores("Var hölls demonstrationer?", "sv")
    assert int(np.argmax(scores)) == 0
    assert scores[0] > 0


def test_question_with_no_known_words_scores_zero(index: LexicalIndex) -> None:
    scores = index.scores("zebra quokka", "en")
    np.testing.assert_array_equal(scores, np.zeros(len(TEXTS), dtype=np.float32))


def test_stop_word_only_question_scores_zero(index: LexicalIndex) -> None:
    assert not index.scores("the and of", "en").any()


def test_mask_zeroes_excluded_passages(index: LexicalIndex) -> None:
    full = index.scores("Minsk", "en")
    assert np.all(full[:3] > 0)
    masked = index.scores("Minsk", "en", mask=np.array([1, 0, 1, 1], dtype=np.float32))
    assert masked[1] == 0
    np.testing.assert_allclose(masked[[0, 2, 3]], full[[0, 2, 3]])


def test_empty_passage_indexed_without_error() -> None:
    idx = LexicalIndex.build(["", "Minsk protests."], ["en", "en"])
    scores = idx.scores("Minsk", "en")
    assert scores[0] == 0
    assert scores[1] > 0


def test_build_rejects_mismatched_languages() -> None:
    with pytest.raises(ValueError):
        LexicalIndex.build(TEXTS, LANGUAGES[:2])


def test_save_load_round_trip_gives_identical_scores(index: LexicalIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert loaded.size == index.size
    for question, language in [("Minsk demonstrationer", "sv"), ("Putin loan", "en")]:
        np.testing.assert_array_equal(
            loaded.scores(question, language), index.scores(question, language)
        )


def test_saved_directory_holds_no_pickles(index: LexicalIndex, tmp_path: Path) -> None:
    directory = tmp_path / "lexical"
    index.save(directory)
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if p.suffix in {".pkl", ".pickle"}]
    arrays = [p for p in files if p.suffix == ".npy"]
    assert arrays
    for path in arrays:
        np.load(path, allow_pickle=False)
