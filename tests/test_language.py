"""Language identification on the seed articles and on short questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.evaluation.testset import load_testset
from rag.ingest.clean import clean_article
from rag.text.language import UNKNOWN, detect_language, normalize_code, question_language
from tests.conftest import DEV_SET

SEEDS = Path(__file__).parents[1] / "seeds"


def seed_text(prefix: str) -> str:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return clean_article(path.read_text(encoding="utf-8")).text


@pytest.mark.parametrize(
    ("prefix", "language"),
    [("000", "sv"), ("001", "en"), ("002", "nb"), ("003", "en"), ("004", "en")],
)
def test_seed_article_language(prefix: str, language: str) -> None:
    assert detect_language(seed_text(prefix)) == language


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Varför stöder Ryssland Lukasjenko?", "sv"),
        ("Hvorfor støtter Russland Lukasjenko?", "nb"),
        ("Why did Russia back Lukashenko?", "en"),
    ],
)
def test_short_question_language(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize("text", ["", "   ", "2020-09-14 774", "!!! ???", "12345"])
def test_text_without_letters_is_undetermined(text: str) -> None:
    assert detect_language(text) == UNKNOWN == "und"


def test_only_first_2000_characters_decide() -> None:
    text = "Hviterussland har opplevd store demonstrasjoner siden valget. " * 40
    text += "The protesters were peaceful and there were no police officers. " * 200
    assert detect_language(text) == "nb"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("no", "nb"), ("NO", "nb"), (" nob ", "nb"), ("nno", "nn"), ("swe", "sv"), ("se", "sv")],
)
def test_normalize_code_aliases(code: str, expected: str) -> None:
    assert normalize_code(code) == expected


def test_normalize_code_passes_known_codes_through() -> None:
    assert normalize_code("EN") == "en"
    assert normalize_code("sv") == "sv"


def test_detector_compares_only_the_nordic_languages_english_german_finnish():
    from rag.text.language import _detector

    values = _detector().compute_language_confidence_values("Hej och välkommen")
    codes = {value.language.iso_code_639_1.name.lower() for value in values}
    assert codes == {"en", "sv", "nb", "nn", "da", "de", "fi"}


def test_every_dev_question_gets_its_language() -> None:
    questions = load_testset(DEV_SET)
    wrong = [(q.id, question_language(q.question)) for q in questions]
    wrong = [(i, got) for (i, got), q in zip(wrong, questions, strict=True) if got != q.language]
    assert wrong == []


@pytest.mark.parametrize(
    "question, language",
    [("Och EU?", "sv"), ("Og hva gjorde EU?", "nb"), ("Kva meiner Putin om valet?", "nb")],
)
def test_question_language_is_one_the_product_answers_in(question: str, language: str) -> None:
    assert question_language(question) == language


def test_question_without_letters_is_undetermined() -> None:
    assert question_language("1994?") == UNKNOWN
