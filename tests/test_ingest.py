"""The ingest pipeline on real files: bad files are skipped by name, never
fatal; the seeds come out clean, titled, dated and in the right language."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.errors import IngestError, UsageError
from rag.ingest.loaders import read_file
from rag.ingest.pipeline import build_index, prepare_articles
from rag.settings import Settings
from tests.conftest import SEEDS, index_articles, index_chunk_texts


def test_bad_files_are_skipped_with_their_names(tiny_settings: Settings, fake_embedder, caplog):
    seeds = tiny_settings.seeds_path
    (seeds / "empty.md").write_text("")
    (seeds / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    (seeds / "latin1.txt").write_bytes("Räksmörgås i Göteborg. Ännu en mening.".encode("cp1252"))
    (seeds / "feed.jsonl").write_text(
        '{"id": "j1", "title": "From a feed", "text": "Minsk protests continue.", "lang": "en"}\n'
        "{broken\n"
        '{"id": "j2"}\n',
        encoding="utf-8",
    )
    (seeds / "only-boilerplate.txt").write_text("Source link\n\nCheck Also\n\nSomething else")
    with caplog.at_level(logging.WARNING):
        report = build_index(tiny_settings, embedder=fake_embedder)
    skipped = {Path(s.source.split(":")[0]).name for s in report.skipped}
    assert skipped == {"empty.md", "image.txt", "feed.jsonl", "only-boilerplate.txt"}
    assert {s.source.rsplit(":", 1)[-1] for s in report.skipped if "feed" in s.source} == {"2", "3"}
    assert "latin1.txt" in caplog.text and "not UTF-8" in caplog.text
    articles = index_articles(tiny_settings)
    assert {"latin1", "j1", "en_sanctions"} <= set(articles)
    assert "Räksmörgås" in articles["latin1"].text
    assert articles["j1"].title == "From a feed"


def test_photo_captions_do_not_reach_the_index_but_the_story_does(tiny_index: Settings):
    text = " ".join(index_chunk_texts(tiny_index))
    assert "Photo:" not in text and "Bild:" not in text and "Vilnius. Photo" not in text
    assert "Lithuania called for free and fair elections." in text
    assert "Regeringen har bett Ryssland om nya lån" in text


def test_a_colon_after_image_in_a_sentence_is_not_a_credit():
    from rag.ingest.clean import clean_article

    text = "The report painted a rosy image: factories are humming again.\n\nMore text."
    assert "rosy image: factories" in clean_article(text).text


def test_no_articles_is_an_ingest_error(tmp_path: Path, fake_embedder):
    (tmp_path / "seeds").mkdir()
    with pytest.raises(IngestError, match="no readable articles"):
        build_index(Settings(root=tmp_path), embedder=fake_embedder)


def test_missing_seeds_directory_is_a_usage_error(tmp_path: Path, fake_embedder):
    with pytest.raises(UsageError, match="does not exist"):
        build_index(Settings(root=tmp_path), embedder=fake_embedder)


def test_progress_is_silent_when_not_asked_for(tiny_settings: Settings, fake_embedder, capfd):
    build_index(tiny_settings, progress=False, embedder=fake_embedder)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_same_file_name_in_two_folders_gives_two_articles(tiny_settings: Settings, fake_embedder):
    for folder in ("a", "b"):
        (tiny_settings.seeds_path / folder).mkdir()
        (tiny_settings.seeds_path / folder / "x.txt").write_text(f"Text from folder {folder}.")
    build_index(tiny_settings, embedder=fake_embedder)
    assert {"a/x", "b/x"} <= set(index_articles(tiny_settings))


@pytest.mark.model
def test_seed_articles_metadata():
    documents = [doc for path in sorted(SEEDS.glob("*.txt")) for doc in read_file(path)[0]]
    articles = {a.id: a for a in prepare_articles(documents)[0]}
    assert len(articles) == 5
    assert {a.id: a.language for a in articles.values()} == {
        "000_18e90629cb7a80c3": "sv",
        "001_d9a995616103b19f": "en",
        "002_1235fefb92e081bf": "nb",
        "003_2fafc35220f2f620": "en",
        "004_18ba5788d55bd370": "en",
    }
    assert articles["000_18e90629cb7a80c3"].date == "2020-09"
    assert articles["004_18ba5788d55bd370"].date == "2020-09-14"
    assert articles["001_d9a995616103b19f"].title == (
        "Under Siege in Belarus, Lukashenko Turns to Putin"
    )
    assert articles["001_d9a995616103b19f"].text.count("Under Siege in Belarus") == 0
    for article in articles.values():
        assert article.title and article.text
        assert article.source.endswith(".txt")


def test_jsonl_language_names_and_regions_are_normalised(tiny_settings: Settings, fake_embedder):
    (tiny_settings.seeds_path / "feed.jsonl").write_text(
        '{"id": "a", "text": "Regeringen i Stockholm.", "lang": "sv-SE"}\n'
        '{"id": "b", "text": "The government in London.", "lang": "English"}\n'
        '{"id": "c", "text": "Regjeringen i Oslo har møtt opposisjonen i dag.", "lang": "??"}\n',
        encoding="utf-8",
    )
    build_index(tiny_settings, embedder=fake_embedder)
    articles = index_articles(tiny_settings)
    assert (articles["a"].language, articles["b"].language) == ("sv", "en")
    assert articles["c"].language == "nb"  # detected: "??" names no language


def test_a_lone_surrogate_in_jsonl_skips_that_line_only(tiny_settings: Settings, fake_embedder):
    (tiny_settings.seeds_path / "feed.jsonl").write_text(
        '{"id": "good", "text": "Fine text about Minsk."}\n'
        '{"id": "bad", "text": "Broken emoji \\ud83d here."}\n',
        encoding="utf-8",
    )
    report = build_index(tiny_settings, embedder=fake_embedder)
    assert any("feed.jsonl:2" in s.source and "Unicode" in s.reason for s in report.skipped)
    assert "good" in index_articles(tiny_settings)
