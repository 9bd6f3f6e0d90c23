"""The library (rag.ingest.library): uploads kept under seeds/library and indexed
through the incremental index, removals that a rebuild does not undo, and
the catalog both backends list it from."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.ingest.library import REMOVED_FOLDER, add_uploads, entries, remove, select
from rag.ingest.loaders import scan
from rag.ingest.pipeline import build_index
from rag.store import open_store
from tests.conftest import index_articles

LIMITS = {"max_bytes": 50_000, "max_files": 5}
SANCTIONS = (
    "Kaliningrad ferry resumes\n\nThe ferry between Kaliningrad and Ust-Luga carried 4,200 "
    "trucks in March, the port authority said on Tuesday."
)


def _uploads(tmp_path: Path, files: dict[str, bytes]) -> list[tuple[Path, str]]:
    """Files as the app receives them: a temporary path, and the user's name."""
    out = []
    for i, (name, data) in enumerate(files.items()):
        folder = tmp_path / "gradio-tmp" / str(i)
        folder.mkdir(parents=True)
        path = folder / "upload.bin"
        path.write_bytes(data)
        out.append((path, name))
    return out


def test_uploads_are_kept_in_the_library_and_indexed(tiny_index, fake_embedder, tmp_path):
    uploads = _uploads(
        tmp_path,
        {
            "ferry.txt": SANCTIONS.encode(),
            "../../escape.md": b"Minsk talks\n\nThe talks in Minsk ended without a deal.",
            "report.pdf": b"%PDF-1.4 binary",
            "big.txt": b"Lukashenko. " * 10_000,
            "broken.txt": b"\x00\x01\x02" * 100,
        },
    )
    added = add_uploads(tiny_index, uploads, embedder=fake_embedder, **LIMITS)
    library = tiny_index.seeds_path / "library"
    assert sorted(p.name for p in library.iterdir()) == ["escape.md", "ferry.txt"]
    assert added.kept == ("ferry.txt", "escape.md")
    reasons = {s.source: s.reason for s in added.refused}
    assert set(reasons) == {"report.pdf", "big.txt", "broken.txt"}
    assert "file type" in reasons["report.pdf"] and ".html" in reasons["report.pdf"]
    assert "too large" in reasons["big.txt"] and "50,000" in reasons["big.txt"]
    assert "binary" in reasons["broken.txt"]
    assert added.report.added == 2
    articles = index_articles(tiny_index)
    assert "4,200 trucks" in articles["library/ferry"].text
    # nothing is lost on a rebuild: the files are articles of the seeds folder
    build_index(tiny_index, embedder=fake_embedder, rebuild=True)
    assert {"library/ferry", "library/escape"} <= set(index_articles(tiny_index))


def test_a_file_of_the_same_name_updates_its_article(tiny_index, fake_embedder, tmp_path):
    first = _uploads(tmp_path / "a", {"ferry.txt": SANCTIONS.encode()})
    add_uploads(tiny_index, first, embedder=fake_embedder, **LIMITS)
    edited = _uploads(tmp_path / "b", {"ferry.txt": SANCTIONS.replace("4,200", "5,100").encode()})
    added = add_uploads(tiny_index, edited, embedder=fake_embedder, **LIMITS)
    assert (added.report.added, added.report.updated) == (0, 1)
    assert "5,100 trucks" in index_articles(tiny_index)["library/ferry"].text


def test_too_many_files_at_once_change_nothing(tiny_index, fake_embedder, tmp_path):
    uploads = _uploads(tmp_path, {f"a{i}.txt": SANCTIONS.encode() for i in range(6)})
    added = add_uploads(tiny_index, uploads, embedder=fake_embedder, **LIMITS)
    assert added.report is None and len(added.refused) == 6
    assert "more than 5 files" in added.refused[0].reason
    assert not (tiny_index.seeds_path / "library").exists()


def test_a_removed_article_stays_removed_after_a_rebuild(tiny_index, fake_embedder, tmp_path):
    seeds = tiny_index.seeds_path
    add_uploads(
        tiny_index, _uploads(tmp_path, {"ferry.txt": SANCTIONS.encode()}), embedder=fake_embedder,
        **LIMITS,
    )  # fmt: skip
    (seeds / "feed.jsonl").write_text(
        "\n".join(json.dumps({"id": i, "text": f"Story {i} from Minsk."}) for i in ("j1", "j2"))
    )
    build_index(tiny_index, embedder=fake_embedder)
    removed = remove(tiny_index, ["library/ferry", "sv_ekonomi", "j1"])
    assert removed.removed == ("library/ferry", "sv_ekonomi", "j1")
    assert sorted(removed.moved) == [
        ("library/ferry.txt", f"{REMOVED_FOLDER}/library/ferry.txt"),
        ("sv_ekonomi.txt", f"{REMOVED_FOLDER}/sv_ekonomi.txt"),
    ]
    assert removed.still_in == ("feed.jsonl",)  # j2 is still in it
    assert (seeds / REMOVED_FOLDER / "library" / "ferry.txt").read_text() == SANCTIONS
    # the moved files are not read, nor reported as skipped
    files, skipped = scan(seeds)
    assert not any(REMOVED_FOLDER in str(p) for p in files) and skipped == []
    build_index(tiny_index, embedder=fake_embedder, rebuild=True)
    ids = set(index_articles(tiny_index))
    assert "library/ferry" not in ids and "sv_ekonomi" not in ids and "j2" in ids
    # moving a file back restores its article
    (seeds / REMOVED_FOLDER / "sv_ekonomi.txt").rename(seeds / "sv_ekonomi.txt")
    build_index(tiny_index, embedder=fake_embedder)
    assert "sv_ekonomi" in index_articles(tiny_index)


def test_an_unknown_id_removes_and_moves_nothing(tiny_index):
    with pytest.raises(UsageError, match="no article with id 'nope'"):
        remove(tiny_index, ["sv_ekonomi", "nope"])
    assert (tiny_index.seeds_path / "sv_ekonomi.txt").exists()
    assert "sv_ekonomi" in index_articles(tiny_index)


@pytest.mark.parametrize("backend", ["local", "milvus"])
def test_the_catalog_lists_every_live_article_without_text(
    backend, tiny_settings, fake_embedder, tmp_path
):
    settings = tiny_settings
    if backend == "milvus":
        settings = replace(settings, store=f"milvus:{tmp_path / 'catalog.db'}")
    build_index(settings, embedder=fake_embedder)
    remove(settings, ["sv_ekonomi"])
    view = open_store(settings).open()
    rows = entries(view.catalog(), settings.seeds_path)
    chunks: dict[str, int] = {}
    for _, doc_id, _ in view.iter_chunks():
        chunks[doc_id] = chunks.get(doc_id, 0) + 1
    assert {r.id: r.passages for r in rows} == chunks
    assert "sv_ekonomi" not in chunks
    en = next(r for r in rows if r.id == "en_sanctions")
    assert (en.title, en.language, en.file) == (
        "EU prepares sanctions on Belarus",
        "en",
        "en_sanctions.txt",
    )
    assert [r.id for r in select(rows, "sanctions EU")[0]] == ["en_sanctions"]


def test_a_busy_index_keeps_the_upload_and_says_so(
    tiny_index, fake_embedder, tmp_path, monkeypatch
):
    import rag.ingest.pipeline
    from rag.errors import IndexBusyError

    def busy(*args, **kwargs):
        raise IndexBusyError("another ingest holds the index.")

    monkeypatch.setattr(rag.ingest.pipeline, "add_files", busy)
    uploads = _uploads(tmp_path, {"ferry.txt": SANCTIONS.encode()})
    with pytest.raises(IndexBusyError, match="kept in seeds/library: the next `rag ingest`"):
        add_uploads(tiny_index, uploads, embedder=fake_embedder, **LIMITS)
    assert (tiny_index.seeds_path / "library" / "ferry.txt").read_text() == SANCTIONS
