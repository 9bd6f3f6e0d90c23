"""Cleaning: the real seed articles, and small synthetic cases."""

from __future__ import annotations

import functools
from pathlib import Path

from rag.ingest.clean import Cleaned, clean_article, fallback_title

SEEDS = Path(__file__).parents[1] / "seeds"


@functools.cache
def seed(prefix: str) -> Cleaned:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    return clean_article(path.read_text(encoding="utf-8"))


# Seed 000 (Swedish, SVT): leading "date" marker and photo credits.


def test_seed_000_marker_removed_from_text() -> None:
    text = seed("000").text
    assert text.startswith("Efter en månad av massdemonstrationer")
    assert "date 2020-09" not in text


def test_seed_000_photo_credits_removed() -> None:
    assert "Bild:" not in seed("000").text
    assert "Sharifulin" not in seed("000").text


# Seed 001 (English, NYT): headline repeated four times, "Source link", "Check Also".


def test_seed_001_title_is_the_headline() -> None:
    assert seed("001").title == "Under Siege in Belarus, Lukashenko Turns to Putin"


def test_seed_001_headline_not_repeated_in_text() -> None:
    text = seed("001").text
    assert "Under Siege in Belarus" not in text
    assert text.startswith("MOSCOW — After claiming for weeks")


def test_seed_001_source_link_removed() -> None:
    assert "Source link" not in seed("001").text


def test_seed_001_check_also_block_cut() -> None:
    text = seed("001").text
    assert "Check Also" not in text
    assert "Myanmar" not in text
    assert text.endswith("Ivan Nechepurenko from Minsk, Belarus.")


# Seed 002 (Norwegian, NTB): a photo caption as first line.


def test_seed_002_photo_caption_removed() -> None:
    text = seed("002").text
    assert "Foto:" not in text
    assert "Her fra et møte" not in text
    assert text.startswith("En hardt presset Aleksandr Lukasjenko")


def test_seed_002_has_no_title() -> None:
    assert seed("002").title is None


# Seed 003 (English, Express): teaser block and "Source: Read Full Article".


def test_seed_003_dont_miss_teasers_removed() -> None:
    text = seed("003").text
    assert "Don’t miss" not in text
    assert "[POLL]" not in text
    assert "Prince Harry" not in text
    assert "Margaret Ferrier" not in text


def test_seed_003_read_full_article_removed() -> None:
    assert "Source: Read Full Article" not in seed("003").text


def test_seed_003_story_after_teasers_kept() -> None:
    text = seed("003").text
    assert "He added:" in text
    assert text.endswith("It is long past time for Europe’s last dictator to go.”")


# Seed 004 (English, Reuters via Malay Mail): caption credit and closing byline.


def test_seed_004_title_is_the_headline() -> None:
    assert (
        seed("004").title
        == "Belarus leader entreats Putin for support as crackdown fails to dispel protests"
    )


def test_seed_004_caption_with_agency_credit_removed() -> None:
    text = seed("004").text
    assert "via Reuters" not in text
    assert text.startswith("MOSCOW, Sept 14 —")


def test_seed_004_closing_byline_removed() -> None:
    text = seed("004").text
    assert not text.rstrip().endswith("— Reuters")
    assert text.endswith("Lukashenko has resisted some of those measures.")


# Synthetic cases.


def test_repeated_paragraphs_kept_once() -> None:
    cleaned = clean_article("First point.\n\nSecond point.\n\nFirst point.\n\nFIRST  point.")
    assert cleaned.text == "First point.\n\nSecond point."


def test_markdown_image_removed_and_link_text_kept() -> None:
    raw = (
        "Intro here.\n\n![Riot police](https://x.test/a.jpg) The [Kremlin](https://x.test) said so."
    )
    assert clean_article(raw).text == "Intro here.\n\nThe Kremlin said so."


def test_markdown_heading_becomes_title() -> None:
    cleaned = clean_article("# Talks in Sochi\n\nThe leaders met.")
    assert cleaned.title == "Talks in Sochi"
    assert cleaned.text == "The leaders met."


def test_soft_wrapped_lines_joined() -> None:
    raw = "The protest\ncontinued on Sunday in the\ncapital.\nPolice watched."
    expected = "The protest continued on Sunday in the capital.\n\nPolice watched."
    assert clean_article(raw).text == expected


def test_line_starting_upper_case_not_joined() -> None:
    cleaned = clean_article("Talks in Sochi\nThe leaders met.")
    assert cleaned.title == "Talks in Sochi"
    assert cleaned.text == "The leaders met."


def test_crlf_line_endings_handled() -> None:
    cleaned = clean_article("Talks in Sochi\r\n\r\nThe leaders met.\r\nThey agreed.\r\n")
    assert cleaned.title == "Talks in Sochi"
    assert cleaned.text == "The leaders met.\n\nThey agreed."


def test_utf8_bom_ignored() -> None:
    assert clean_article("\ufeffTalks in Sochi\n\nThe leaders met.").title == "Talks in Sochi"


def test_explicit_title_drops_matching_first_paragraph() -> None:
    cleaned = clean_article("Talks  in SOCHI\n\nThe leaders met.", title="Talks in Sochi")
    assert cleaned.title == "Talks in Sochi"
    assert cleaned.text == "The leaders met."


def test_explicit_title_keeps_different_first_paragraph() -> None:
    cleaned = clean_article("Another headline\n\nThe leaders met.", title="Talks in Sochi")
    assert cleaned.title == "Talks in Sochi"
    assert cleaned.text == "Another headline\n\nThe leaders met."


def test_single_paragraph_is_not_taken_as_title() -> None:
    cleaned = clean_article("Just one line without a full stop")
    assert cleaned.title is None
    assert cleaned.text == "Just one line without a full stop"


def test_sentence_ending_first_paragraph_is_not_a_title() -> None:
    assert clean_article("The leaders met.\n\nThey agreed.").title is None


def test_source_link_and_read_more_lines_dropped() -> None:
    raw = "The leaders met.\n\nRead more\n\nThey agreed.\n\nSource link"
    assert clean_article(raw).text == "The leaders met.\n\nThey agreed."


def test_closing_en_dash_agency_byline_removed() -> None:
    assert clean_article("Body text here. – TT").text == "Body text here."


def test_empty_input_gives_empty_text() -> None:
    assert clean_article("") == Cleaned(title=None, text="")


def test_fallback_title_short_first_line() -> None:
    assert fallback_title("  The leaders met.\nMore text.") == "The leaders met."


def test_fallback_title_long_line_cut_at_word() -> None:
    text = "The leaders met in Sochi, " + "and talked at length " * 10
    title = fallback_title(text, limit=40)
    assert title == "The leaders met in Sochi, and talked at…"
    assert len(title) <= 41


def test_fallback_title_unbroken_text_cut_at_limit() -> None:
    assert fallback_title("x" * 100, limit=10) == "x" * 10 + "…"


def test_a_line_that_only_dates_the_article_leaves_the_body() -> None:
    for line in ("Publisert 27.06.2023 kl. 14:02", "Updated: 14 September 2020"):
        assert clean_article(f"Title\n\n{line}\n\nBody text.").text == "Body text."
    sentence = "Published on the day the war began in 2022, this essay argues."
    assert sentence in clean_article(f"Title\n\n{sentence}\n\nBody.").text
