"""Follow-ups become standalone queries; new questions stay alone."""

from __future__ import annotations

import pytest

from rag.answers.conversation import is_follow_up, standalone_query

LUKASHENKO = "Why did Russia back Lukashenko?"


@pytest.mark.parametrize(
    "question",
    [
        "And what did the EU do?",
        "Och vad gjorde EU?",
        "Og hva gjorde EU?",
        "What about Poland?",
        "Hva med Polen?",
        "Why did he do it?",
        "Varför gjorde han det?",
        "Hvorfor gjorde hun det?",
        "The EU then?",
    ],
)
def test_follow_ups_in_three_languages(question):
    assert is_follow_up(question)
    assert standalone_query(question, [LUKASHENKO]) == f"{LUKASHENKO} {question}"


@pytest.mark.parametrize(
    "question",
    [
        "Who is Gustav Gressel?",
        "Vem är Svetlana Tichanovskaja?",
        "Hvor møtte Lukasjenko Putin i september 2020?",
    ],
)
def test_self_contained_questions_stay_alone(question):
    assert not is_follow_up(question)
    assert standalone_query(question, [LUKASHENKO]) == question


def test_no_history_means_no_rewrite():
    assert standalone_query("And the EU?", None) == "And the EU?"
    assert standalone_query("And the EU?", ["", "  "]) == "And the EU?"


def test_a_chain_of_follow_ups_keeps_its_topic():
    history = [LUKASHENKO, "And what did the EU do?"]
    assert standalone_query("And Poland?", history) == (
        f"{LUKASHENKO} And what did the EU do? And Poland?"
    )
