"""Sentence splitting: span invariants on arbitrary text, and named examples."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.text.sentences import split_sentences

SEED_001 = next((Path(__file__).parents[1] / "seeds").glob("001_*.txt"))


def sentences(text: str, max_chars: int = 1000) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text, max_chars=max_chars)]


def check_spans(text: str, spans: list[tuple[int, int]], max_chars: int) -> None:
    covered = [False] * len(text)
    previous_end = 0
    for start, end in spans:
        assert 0 <= start < end <= len(text), (start, end)
        assert start >= previous_end, "spans overlap or are out of order"
        assert not text[start].isspace() and not text[end - 1].isspace()
        assert "\n" not in text[start:end]
        assert end - start <= max_chars
        covered[start:end] = [True] * (end - start)
        previous_end = end
    missed = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missed, f"non-whitespace characters outside every span: {missed}"


# Pieces news text is made of: words, sentence marks, quotes, abbreviations,
# initials, ordinals, and the whitespace between them.
_PIECES = [
    "Putin",
    "met",
    "protesters",
    "valget",
    "august",
    "Minsk",
    "a",
    "I",
    ".",
    "!",
    "?",
    "…",
    "...",
    '"',
    "“",
    "”",
    "’",
    "«",
    "»",
    "(",
    ")",
    "Mr.",
    "Sept.",
    "U.N.",
    "t.ex.",
    "bl.a.",
    "f.eks.",
    "V.",
    "9.",
    " ",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "\u00a0",
]
news_like = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)
no_line_breaks = st.text(alphabet=st.characters(exclude_characters="\n"))


@given(st.text())
def test_spans_invariants_on_any_text(text: str) -> None:
    check_spans(text, split_sentences(text), 1000)


@given(no_line_breaks)
def test_spans_invariants_on_text_without_line_breaks(text: str) -> None:
    check_spans(text, split_sentences(text), 1000)


@given(news_like)
def test_spans_invariants_on_news_like_text(text: str) -> None:
    check_spans(text, split_sentences(text), 1000)


@settings(max_examples=200)
@given(st.one_of(st.text(), news_like), st.integers(min_value=1, max_value=30))
def test_spans_invariants_with_small_max_chars(text: str, max_chars: int) -> None:
    check_spans(text, split_sentences(text, max_chars=max_chars), max_chars)


@given(news_like)
def test_every_line_break_ends_a_sentence(text: str) -> None:
    spans = split_sentences(text)
    breaks = [i for i, ch in enumerate(text) if ch == "\n"]
    for start, end in spans:
        assert not any(start < b < end for b in breaks)


def test_empty_and_whitespace_only_text_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t \n") == []


def test_simple_sentences_split_at_periods() -> None:
    assert sentences("One. Two. Three.") == ["One.", "Two.", "Three."]


def test_english_title_abbreviations_do_not_end_sentences() -> None:
    text = "Mr. Putin met Mrs. Smith and Dr. Jones. They spoke."
    assert sentences(text) == ["Mr. Putin met Mrs. Smith and Dr. Jones.", "They spoke."]


def test_month_abbreviation_does_not_end_sentence() -> None:
    text = "The drills run until Sept. 25 in Belarus. Russia sent troops."
    assert sentences(text) == ["The drills run until Sept. 25 in Belarus.", "Russia sent troops."]


def test_dotted_acronym_does_not_end_sentence() -> None:
    text = "The U.N. Envoy spoke against the coup. He was fired."
    assert sentences(text) == ["The U.N. Envoy spoke against the coup.", "He was fired."]


def test_swedish_abbreviations_do_not_end_sentences() -> None:
    text = "Flera ledare, bl.a. Tichanovskaja, har flytt. Andra stannar, t.ex. Kolesnikova. Nu?"
    assert sentences(text) == [
        "Flera ledare, bl.a. Tichanovskaja, har flytt.",
        "Andra stannar, t.ex. Kolesnikova.",
        "Nu?",
    ]


def test_norwegian_abbreviation_does_not_end_sentence() -> None:
    text = "Flere land, f.eks. Polen og Litauen, reagerte. EU fulgte etter."
    assert sentences(text) == ["Flere land, f.eks. Polen og Litauen, reagerte.", "EU fulgte etter."]


def test_initial_does_not_end_sentence() -> None:
    text = "He spoke with President Vladimir V. Putin on Saturday. Nothing was agreed."
    assert sentences(text) == [
        "He spoke with President Vladimir V. Putin on Saturday.",
        "Nothing was agreed.",
    ]


def test_norwegian_ordinal_date_does_not_end_sentence() -> None:
    text = "Han fikk 80 prosent av stemmene i valget 9. august. Opposisjonen protesterte."
    assert sentences(text) == [
        "Han fikk 80 prosent av stemmene i valget 9. august.",
        "Opposisjonen protesterte.",
    ]


def test_closing_quote_stays_with_its_sentence() -> None:
    text = "he said. “Factories are on strike.” Then he left."
    assert sentences(text) == ["he said.", "“Factories are on strike.”", "Then he left."]


def test_question_and_exclamation_marks_end_sentences() -> None:
    assert sentences("Is he staying? No! He left.") == ["Is he staying?", "No!", "He left."]


def test_ellipsis_ends_sentence() -> None:
    assert sentences("They waited… Then police came.") == ["They waited…", "Then police came."]


def test_lower_case_after_period_continues_sentence() -> None:
    assert sentences("Oil, gas etc. and more. Next.") == ["Oil, gas etc. and more.", "Next."]


def test_line_break_ends_sentence_without_punctuation() -> None:
    assert sentences("A headline\nThe body starts here.") == [
        "A headline",
        "The body starts here.",
    ]


def test_long_sentence_is_cut_at_whitespace() -> None:
    assert sentences("aaa bbb ccc", max_chars=7) == ["aaa bbb", "ccc"]


def test_unbroken_run_is_cut_anywhere() -> None:
    assert sentences("abcdefghij", max_chars=4) == ["abcd", "efgh", "ij"]


def test_seed_paragraph_with_initials_is_one_sentence() -> None:
    paragraph = next(
        p for p in SEED_001.read_text(encoding="utf-8").split("\n\n") if "Vladimir V. Putin" in p
    )
    assert sentences(paragraph) == [paragraph.strip()]


def test_seed_paragraph_with_quotes_splits_after_interview() -> None:
    paragraph = next(
        p
        for p in SEED_001.read_text(encoding="utf-8").split("\n\n")
        if p.startswith("“If it wasn’t for Putin")
    )
    assert sentences(paragraph) == [
        "“If it wasn’t for Putin, he would have fled the country already,” "
        "Mr. Karazhan said in an interview.",
        "“Factories are on strike — where is he going to get the money to feed his "
        "security apparatus?”",
    ]


def test_seed_paragraph_with_mr_splits_after_putin() -> None:
    paragraph = next(
        p
        for p in SEED_001.read_text(encoding="utf-8").split("\n\n")
        if p.startswith("Mr. Lukashenko has in the past")
    )
    found = sentences(paragraph)
    assert len(found) == 2
    assert found[0].endswith("from Mr. Putin.")
    assert found[1].startswith("Mr. Putin has in turn")
