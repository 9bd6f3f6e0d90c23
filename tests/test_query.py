"""Question validation: what is refused, with what message, and what is normalised."""

from __future__ import annotations

import pytest

from rag.errors import UsageError
from rag.search.query import validate_question


def refusal(question: object, **kwargs: int) -> str:
    with pytest.raises(UsageError) as info:
        validate_question(question, **kwargs)
    return str(info.value)


def test_plain_question_returned_unchanged() -> None:
    assert validate_question("Why did Russia back Lukashenko?") == (
        "Why did Russia back Lukashenko?"
    )


def test_tabs_newlines_and_runs_of_spaces_normalised() -> None:
    question = "  Varför\tstöder\r\nRyssland \n\n Lukasjenko?  "
    assert validate_question(question) == "Varför stöder Ryssland Lukasjenko?"


def test_empty_question_refused() -> None:
    assert "empty" in refusal("")


def test_whitespace_only_question_refused() -> None:
    assert "empty" in refusal(" \t\n ")


@pytest.mark.parametrize("question", ["???", "…!", " - . , "])
def test_punctuation_only_question_refused(question: str) -> None:
    assert "no words" in refusal(question)


def test_huge_question_refused_with_length_and_limit() -> None:
    message = refusal("a" * 100_000)
    assert "100,000" in message
    assert "limit" in message
    assert "2,000" in message


def test_question_at_limit_accepted() -> None:
    assert validate_question("a" * 2000) == "a" * 2000
    assert "limit" in refusal("a" * 2001)


def test_custom_limit() -> None:
    assert "limit is 10" in refusal("a question that is long", max_chars=10)


@pytest.mark.parametrize(
    ("char", "code"), [("\x00", "U+0000"), ("\x07", "U+0007"), ("\x1b", "U+001B")]
)
def test_control_character_refused_and_named(char: str, code: str) -> None:
    message = refusal(f"Why did Russia{char} back Lukashenko?")
    assert "control character" in message
    assert code in message


def test_delete_character_refused() -> None:
    assert "U+007F" in refusal("Why\x7f?")


@pytest.mark.parametrize("value", [None, 42, b"Why?", ["Why?"]])
def test_non_string_refused(value: object) -> None:
    message = refusal(value)
    assert "must be text" in message
    assert type(value).__name__ in message


def test_non_latin_letters_count_as_words() -> None:
    assert validate_question("Почему?") == "Почему?"


def test_digits_count_as_words() -> None:
    assert validate_question("2020?") == "2020?"


def test_history_and_languages_of_the_wrong_kind_are_usage_errors(tiny_index):
    from rag.answers.answer import answer
    from rag.errors import UsageError

    for kw in (
        {"history": [1, None]},
        {"history": "not a list"},
        {"history": ["x" * 100_000]},
        {"languages": [None]},
        {"languages": 5},
    ):
        with pytest.raises(UsageError):
            answer("Why did Russia back Lukashenko?", settings=tiny_index, **kw)


def test_a_long_chain_of_follow_ups_is_bounded_and_does_not_recurse():
    from rag.answers.conversation import MAX_QUERY_CHARS, standalone_query

    history = ["Why did Russia back Lukashenko?"] + ["And what about that?"] * 5000
    query = standalone_query("And then?", history)
    assert query.endswith("And then?") and len(query) <= MAX_QUERY_CHARS
    assert standalone_query("And then?", ["Why?", "And the EU?"]) == "Why? And the EU? And then?"


def test_only_recent_history_is_kept():
    from rag.search.query import MAX_HISTORY, validate_history

    kept = validate_history([f"Question {i}?" for i in range(1000)])
    assert len(kept) == MAX_HISTORY and kept[-1] == "Question 999?"
