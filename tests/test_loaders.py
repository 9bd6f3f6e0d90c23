"""Loaders: reading .txt/.md/.jsonl files, decoding, and skipping bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rag.ingest.loaders import decode, list_files, read_file
from rag.records import Document

SWEDISH = (
    "Efter en månad av massdemonstrationer och strejker sitter Belarus president "
    "Aleksandr Lukasjenko fortfarande kvar på sin post. Lukasjenkos diktatoriska regim "
    "verkar nu också känna sig säkrare och förföljelserna mot proteströrelsen har "
    "stegvis trappats upp. Det är uppenbart att presidenten saknar all legitimitet "
    "bland majoriteten av folket, och förtroendet för regimen är lågt.\n"
)


def test_utf8_txt_read_as_one_document(tmp_path: Path) -> None:
    path = tmp_path / "001_article.txt"
    path.write_text(SWEDISH, encoding="utf-8")
    docs, skipped = read_file(path)
    assert docs == [Document(id="001_article", text=SWEDISH, source=str(path))]
    assert skipped == []


def test_markdown_file_read(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# Talks\n\nThe leaders met.\n", encoding="utf-8")
    (doc,), skipped = read_file(path)
    assert doc.id == "note"
    assert doc.text == "# Talks\n\nThe leaders met.\n"
    assert skipped == []


def test_utf8_bom_stripped(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "Hviterussland søker hjelp".encode())
    (doc,), _ = read_file(path)
    assert doc.text == "Hviterussland søker hjelp"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_encoded_swedish_decoded_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, encoding: str
) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(SWEDISH.encode(encoding))
    with caplog.at_level(logging.WARNING, logger="rag.ingest.loaders"):
        (doc,), skipped = read_file(path)
    assert doc.text == SWEDISH
    assert skipped == []
    assert any(
        "legacy.txt" in r.getMessage() and "not UTF-8" in r.getMessage() for r in caplog.records
    )


def test_utf8_file_logs_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ok.txt"
    path.write_text(SWEDISH, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rag.ingest.loaders"):
        read_file(path)
    assert caplog.records == []


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_file_skipped(tmp_path: Path, content: bytes, caplog) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="rag.ingest.loaders"):
        docs, skipped = read_file(path)
    assert docs == []
    assert len(skipped) == 1
    assert skipped[0].source == str(path)
    assert "empty" in skipped[0].reason
    assert caplog.records == []  # said once, by whoever reports the record


def test_bom_only_file_skipped_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "bom_only.txt"
    path.write_bytes(b"\xef\xbb\xbf\n")
    docs, skipped = read_file(path)
    assert docs == []
    assert "empty" in skipped[0].reason


def test_binary_file_skipped(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    docs, skipped = read_file(path)
    assert docs == []
    assert skipped[0].source == str(path)
    assert "binary" in skipped[0].reason


def test_missing_file_skipped_not_raised(tmp_path: Path) -> None:
    docs, skipped = read_file(tmp_path / "gone.txt")
    assert docs == []
    assert "cannot be read" in skipped[0].reason


def test_jsonl_good_bad_and_textless_lines(tmp_path: Path, caplog) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [
        json.dumps({"id": "a1", "text": "Putin met Lukashenko.", "title": "Talks", "lang": "en"}),
        '{"id": "a2", "text": ',
        json.dumps({"id": "a3", "title": "No body"}),
        "",
        json.dumps({"text": "Unnamed article.", "date": "2020-09-14"}),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="rag.ingest.loaders"):
        docs, skipped = read_file(path)
    assert [d.id for d in docs] == ["a1", "feed-5"]
    assert docs[0] == Document(
        id="a1",
        text="Putin met Lukashenko.",
        source=f"{path}:1",
        title="Talks",
        language="en",
    )
    assert docs[1].date == "2020-09-14"
    assert [s.source for s in skipped] == [f"{path}:2", f"{path}:3"]
    assert "JSON" in skipped[0].reason
    assert "text" in skipped[1].reason
    assert caplog.records == []  # the records say it; the CLI prints them once


def test_jsonl_non_string_field_skipped(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({"text": "Body.", "title": 5}) + "\n", encoding="utf-8")
    docs, skipped = read_file(path)
    assert docs == []
    assert skipped[0].source == f"{path}:1"
    assert "title" in skipped[0].reason


def test_jsonl_non_object_line_skipped(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('["text"]\n', encoding="utf-8")
    docs, skipped = read_file(path)
    assert docs == []
    assert skipped[0].source == f"{path}:1"


def test_jsonl_unicode_line_separator_inside_text_kept(tmp_path: Path) -> None:
    # U+2028 is legal unescaped inside a JSON string (json.dumps with
    # ensure_ascii=False writes it raw); it must not split the record.
    path = tmp_path / "feed.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "First line\u2028second line."}, ensure_ascii=False),
        json.dumps({"id": "b", "text": "Another article."}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, skipped = read_file(path)
    assert skipped == []
    assert [d.id for d in docs] == ["a", "b"]
    assert docs[0].text == "First line\u2028second line."
    assert docs[1].source == f"{path}:2"


def test_list_files_filters_suffixes_and_hidden(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for name in [
        "b.txt",
        "a.md",
        "c.JSONL",
        "sub/d.txt",
        "notes.pdf",
        "data.json",
        "noext",
        ".hidden.txt",
        ".git/e.txt",
    ]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in list_files(tmp_path)]
    assert found == ["a.md", "b.txt", "c.JSONL", "sub/d.txt"]


def test_list_files_skips_directories_named_like_files(tmp_path: Path) -> None:
    (tmp_path / "folder.txt").mkdir()
    assert list_files(tmp_path) == []


def test_list_files_hidden_parent_of_root_does_not_hide_everything(tmp_path: Path) -> None:
    root = tmp_path / ".cache" / "seeds"
    root.mkdir(parents=True)
    (root / "a.txt").write_text("x", encoding="utf-8")
    assert list_files(root) == [root / "a.txt"]


def test_decode_utf8() -> None:
    assert decode("Lukasjenko søker hjelp".encode(), "x") == ("Lukasjenko søker hjelp", None)


def test_decode_binary_and_empty() -> None:
    assert decode(b"abc\x00def", "x") == (None, "looks binary, not text")
    assert decode(b"", "x") == (None, "is empty")


def test_decode_many_control_bytes_is_binary() -> None:
    text, reason = decode(bytes([1, 2, 3, 4, 5]) * 10 + b"abc", "x")
    assert text is None
    assert "binary" in reason


def test_odd_file_names_utf16_and_late_nul_bytes(tmp_path):
    """A name with a byte that is not UTF-8, or a newline and an ANSI escape,
    gets a printable id; UTF-16 text is read; NUL bytes past the start mean
    binary data and the file is skipped with a reason (issue 13)."""
    import os

    from rag.ingest.loaders import read_file

    folder = tmp_path / "seeds"
    folder.mkdir()
    latin = os.path.join(os.fsencode(folder), b"caf\xe9.txt")
    with open(latin, "wb") as f:
        f.write(b"Lukasjenko talade i Minsk.\n")
    escape = folder / "a\nb\x1b[31m.txt"
    escape.write_text("Lukasjenko talade i Minsk.\n", encoding="utf-8")
    wide = folder / "wide.txt"
    wide.write_bytes("Lukasjenko talade på söndagen.\n".encode("utf-16"))
    late = folder / "late.txt"
    late.write_bytes(b"Lukasjenko talade. " * 600 + b"\x00\x01tail")
    ids = {}
    for path in sorted(folder.iterdir()):
        docs, skipped = read_file(path, folder)
        ids[path.name] = (docs[0].id if docs else None, skipped[0].reason if skipped else None)
    assert ids[os.fsdecode(b"caf\xe9.txt")][0] == "caf%E9"
    assert ids["a\nb\x1b[31m.txt"][0] == "a%0Ab%1B[31m"
    assert ids["wide.txt"][0] == "wide"
    assert read_file(wide, folder)[0][0].text.startswith("Lukasjenko talade på söndagen")
    assert ids["late.txt"] == (None, "holds NUL bytes after its start: binary data, not text")


def test_an_ingest_with_a_non_utf8_file_name_completes(tmp_path, fake_embedder):
    import os

    from rag.ingest.pipeline import build_index
    from rag.settings import Settings

    folder = tmp_path / "seeds"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as f:
        f.write(b"Lukasjenko talade i Minsk om valet.\n")
    (folder / "ok.txt").write_text("Putin met Lukashenko in Sochi.\n", encoding="utf-8")
    settings = Settings(root=tmp_path)
    build_index(settings, embedder=fake_embedder)
    build_index(settings, embedder=fake_embedder)  # and again: nothing changes
    from tests.conftest import index_articles

    assert set(index_articles(settings)) == {"caf%E9", "ok"}


def test_jsonl_ids_must_be_text_or_numbers_and_unknown_languages_are_detected(tmp_path):
    import json

    from rag.ingest.loaders import read_file

    lines = [
        {"id": {"a": 1}, "text": "Lukasjenko talade i Minsk."},
        {"id": [1, 2], "text": "Lukasjenko talade i Minsk."},
        {"id": 7, "text": "Lukasjenko talade i Minsk.", "lang": "xx"},
        {"id": "ok", "text": "Putin met Lukashenko.", "lang": "en"},
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    docs, skipped = read_file(path, tmp_path)
    assert [d.id for d in docs] == ["7", "ok"]
    assert docs[0].language is None and docs[1].language == "en"
    assert [s.reason for s in skipped] == [
        '"id" must be a string or a number, not an object',
        '"id" must be a string or a number, not a list',
    ]


def test_links_out_of_the_folder_and_odd_entries_are_named_not_read(tmp_path):
    import os

    from rag.ingest.loaders import scan

    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "ok.txt").write_text("Putin met Lukashenko.\n", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0\n", encoding="utf-8")
    (folder / "passwd.txt").symlink_to(outside)
    (folder / "inside.txt").symlink_to(folder / "ok.txt")  # a link within the folder is fine
    (folder / "broken.txt").symlink_to(folder / "missing.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dir.txt").mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / ".hidden.txt").write_text("x\n", encoding="utf-8")
    files, skipped = scan(folder)
    assert [p.name for p in files] == ["inside.txt", "ok.txt"]
    reasons = {os.path.basename(s.source): s.reason for s in skipped}
    assert reasons["passwd.txt"].startswith("is a link out of the folder")
    assert reasons["broken.txt"] == reasons["loop.txt"] == "is a link that leads nowhere"
    assert reasons["dir.txt"] == "is a folder, not a file"
    assert reasons["pipe.txt"].startswith("is not a regular file")
    assert reasons[".hidden.txt"].startswith("is hidden")
