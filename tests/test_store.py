"""The index on disk: segments and commits, incremental changes, integrity,
concurrent writers, and what survives a kill."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexBusyError, IndexInvalidError, IndexMissingError, UsageError
from rag.ingest.index import Index, status, verify
from rag.ingest.pipeline import add_documents, add_files, build_index, remove_articles
from rag.records import Document
from rag.search.retrieval import Retriever
from rag.settings import Settings
from rag.store.files import bytes_hash, file_hash, writer_lock
from rag.store.local import Snapshot, read_current
from rag.store.local import dense as dense_index
from rag.store.local.commit import POINTER
from rag.store.local.merge import SegmentSize, plan
from rag.store.local.writer import IndexWriter
from tests.conftest import ROOT, index_articles, run_rag
from tests.fakes import HashEmbedder


def _snapshot(settings: Settings) -> Snapshot:
    return Snapshot.open(settings.index_path)


def _segment_dirs(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.index_path / "segments").iterdir() if p.is_dir())


# ---------------------------------------------------------------- layout


def test_round_trip_keeps_articles_chunks_sentences_and_vectors(
    tiny_index: Settings, fake_embedder
):
    snapshot = _snapshot(tiny_index)
    articles = index_articles(tiny_index)
    assert set(articles) == {"en_sanctions", "sv_ekonomi", "nb_valg"}
    n = snapshot.size
    chunks = snapshot.chunks_of(list(range(n)))
    for chunk, info in chunks:
        assert articles[info.id].text[chunk.start : chunk.end] == chunk.text
    vectors = snapshot.vectors_of(np.arange(n))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    expected = fake_embedder.embed_documents([f"{info.title}\n{c.text}" for c, info in chunks])
    assert np.allclose(vectors, expected, atol=1e-6)  # the passage with its title
    for doc_id, article in articles.items():
        _, sentences, sentence_vectors = snapshot.sentences(doc_id)
        assert [article.text[s.start : s.end] for s in sentences] == [s.text for s in sentences]
        assert np.allclose(
            sentence_vectors, fake_embedder.embed_documents([s.text for s in sentences])
        )  # the sentence alone, no title


def test_layout_is_a_pointer_to_a_commit_naming_segments(tiny_index: Settings):
    root = tiny_index.index_path
    assert (root / POINTER).is_symlink()
    assert os.readlink(root / POINTER) == "commits/commit-00000001.json"
    commit, _ = read_current(root)
    assert [ref.name for ref in commit.segments] == [p.name for p in _segment_dirs(tiny_index)]
    files = {p.name for p in _segment_dirs(tiny_index)[0].iterdir()}
    assert {"meta.json", "records.sqlite", "vectors.f32", "sentence_vectors.f32"} <= files
    everything = [p for p in root.rglob("*") if p.is_file()]
    assert not [p for p in everything if p.suffix in {".pkl", ".pickle", ".npy"}]


def test_index_files_are_readable_by_others(tiny_index: Settings):
    for path in [*_segment_dirs(tiny_index), tiny_index.index_path / "commits"]:
        assert path.stat().st_mode & 0o055 == 0o055


def test_segment_names_are_content_ids_the_same_across_processes(tiny_settings: Settings):
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, '.');"
        "from rag.ingest.pipeline import build_index; from rag.settings import Settings;"
        "from tests.fakes import HashEmbedder;"
        f"build_index(Settings(root=Path({str(tiny_settings.root)!r}), chunk_chars=200,"
        f" seeds_dir=Path({str(tiny_settings.seeds_path)!r}),"
        f" index_dir=Path(sys.argv[1])), embedder=HashEmbedder())"
    )
    names = []
    for seed in ("1", "2"):
        root = tiny_settings.root / f"index-{seed}"
        subprocess.run(
            [sys.executable, "-c", code, str(root)],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            timeout=120,
        )
        names.append([p.name for p in (root / "segments").iterdir()])
    assert names[0] == names[1] and len(names[0]) == 1


# ---------------------------------------------------------------- incremental


def test_an_unchanged_folder_reads_nothing_and_commits_nothing(tiny_index: Settings):
    embedder = HashEmbedder()
    report = build_index(tiny_index, embedder=embedder)
    assert (report.read, report.embedded, report.unchanged, report.generation) == (0, 0, 3, 1)
    assert embedder.calls == []


def test_an_edited_article_is_replaced_and_only_its_new_texts_are_embedded(tiny_index: Settings):
    before = {p.name: p.stat().st_mtime_ns for p in _segment_dirs(tiny_index)[0].iterdir()}
    path = tiny_index.seeds_path / "sv_ekonomi.txt"
    path.write_text(path.read_text() + "\n\nRiksbanken höjer räntan igen.")
    embedder = HashEmbedder()
    report = build_index(tiny_index, embedder=embedder)
    assert (report.read, report.updated, report.added, report.unchanged) == (1, 1, 0, 2)
    assert report.embedded == sum(embedder.calls) <= 3  # the new sentence and its passage(s)
    assert report.reused > 0
    old = _segment_dirs(tiny_index)[0]
    assert {p.name: p.stat().st_mtime_ns for p in old.iterdir() if p.name in before} == before
    assert "Riksbanken höjer räntan igen." in index_articles(tiny_index)["sv_ekonomi"].text


def _vectors_by_text(settings: Settings) -> dict[str, np.ndarray]:
    snapshot = _snapshot(settings)
    out = {}
    for chunk, info in snapshot.chunks_of(list(range(snapshot.size))):
        if snapshot.find_article(info.id) is not None:
            (row,) = [i for i in range(snapshot.size) if snapshot.chunks_of([i])[0][0] == chunk]
            out["passage:" + chunk.text] = snapshot.vectors_of(np.array([row]))[0]
    for _, stored in snapshot.iter_articles():
        _, sentences, vectors = snapshot.sentences(stored.article.id)
        for sentence, vector in zip(sentences, vectors, strict=True):
            out["sentence:" + sentence.text] = vector
    return out


def test_an_edit_then_ingest_gives_the_vectors_a_rebuild_gives(tiny_index: Settings):
    path = tiny_index.seeds_path / "nb_valg.txt"
    path.write_text(path.read_text() + "\n\nEn kort setning.")
    build_index(tiny_index, embedder=HashEmbedder())
    incremental = _vectors_by_text(tiny_index)
    build_index(tiny_index, embedder=HashEmbedder(), rebuild=True)
    rebuilt = _vectors_by_text(tiny_index)
    assert incremental.keys() == rebuilt.keys()
    for key, vector in rebuilt.items():
        assert np.allclose(incremental[key], vector, atol=1e-6), key


def test_a_sentence_that_is_a_whole_passage_shares_its_vector(tiny_settings: Settings):
    (tiny_settings.seeds_path / "long.txt").write_text("Rubrik\n\nEn enda mening om Minsk.")
    embedder = HashEmbedder()
    build_index(tiny_settings, embedder=embedder)
    snapshot = _snapshot(tiny_settings)
    _, sentences, vectors = snapshot.sentences("long")
    everything = snapshot.chunks_of(list(range(snapshot.size)))
    [chunk] = [c for c, info in everything if info.id == "long"]
    assert [s.text for s in sentences] == [chunk.text]
    assert np.allclose(vectors[0], embedder.embed_documents([f"Rubrik\n{chunk.text}"])[0])


def test_a_deleted_file_removes_its_article_and_a_new_one_is_added(tiny_index: Settings):
    (tiny_index.seeds_path / "nb_valg.txt").unlink()
    (tiny_index.seeds_path / "en_new.txt").write_text("Minsk hosts a new summit on Friday.")
    report = build_index(tiny_index, embedder=HashEmbedder())
    assert (report.removed, report.added, report.articles) == (1, 1, 3)
    assert set(index_articles(tiny_index)) == {"en_sanctions", "sv_ekonomi", "en_new"}


def test_a_file_that_became_unreadable_keeps_its_article(tiny_index: Settings):
    path = tiny_index.seeds_path / "nb_valg.txt"
    path.write_bytes(b"\x00\x01binary now" * 100)
    report = build_index(tiny_index, embedder=HashEmbedder())
    assert "nb_valg" in index_articles(tiny_index)
    assert report.removed == 0 and any("nb_valg" in s.source for s in report.skipped)


def test_an_empty_folder_leaves_the_index_as_it_was(tiny_index: Settings):
    from rag.errors import IngestError

    for path in tiny_index.seeds_path.iterdir():
        path.unlink()
    with pytest.raises(IngestError, match="left as it was"):
        build_index(tiny_index, embedder=HashEmbedder())
    assert len(index_articles(tiny_index)) == 3


def test_add_and_remove_from_python(tiny_index: Settings, tmp_path: Path, fake_embedder):
    extra = tmp_path / "elsewhere" / "wire.txt"
    extra.parent.mkdir()
    extra.write_text("Reuters: Lithuania closes a border crossing with Belarus.")
    index = Index(tiny_index, embedder=fake_embedder)
    report = index.add(extra)
    assert (report.added, report.articles) == (1, 4)
    assert "wire" in index_articles(tiny_index)
    # An ingest of the folder leaves an article added from elsewhere alone.
    assert build_index(tiny_index, embedder=fake_embedder).removed == 0
    assert index.add(extra).unchanged == 1  # the same again: nothing to do
    extra.write_text("Reuters: Lithuania reopens the border crossing.")
    assert index.add(extra).updated == 1
    removed = index.remove("wire", "nb_valg")
    assert removed.removed == 2
    assert removed.languages == {"en": 1, "sv": 1}  # the deleted rows are not counted
    assert set(index_articles(tiny_index)) == {"en_sanctions", "sv_ekonomi"}
    with pytest.raises(UsageError, match="no article with id 'nope'"):
        index.remove("sv_ekonomi", "nope")
    assert "sv_ekonomi" in index_articles(tiny_index)  # nothing was removed


def test_an_article_that_moves_between_files_is_kept(tiny_settings: Settings, fake_embedder):
    a, b = tiny_settings.seeds_path / "a.jsonl", tiny_settings.seeds_path / "b.jsonl"
    x = {"id": "X", "text": "The opposition in Belarus demanded new elections.", "lang": "en"}
    y = {"id": "Y", "text": "Lithuania hosted the opposition leader in Vilnius.", "lang": "en"}
    a.write_text(json.dumps(x) + "\n" + json.dumps(y) + "\n")
    b.write_text(json.dumps({**y, "id": "Z"}) + "\n")
    build_index(tiny_settings, embedder=fake_embedder)
    a.write_text(json.dumps(y) + "\n")  # X leaves a.jsonl ...
    b.write_text(json.dumps({**y, "id": "Z"}) + "\n" + json.dumps(x) + "\n")  # ... for b.jsonl
    report = build_index(tiny_settings, embedder=fake_embedder)
    assert {"X", "Y", "Z"} <= set(index_articles(tiny_settings))
    assert not [s for s in report.skipped if "repeats" in s.reason]


def test_many_commits_leave_no_removed_files_open(tiny_index: Settings, fake_embedder):
    def open_files() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                found.append(os.readlink(f"/proc/self/fd/{fd}"))
        return found

    index = Index(tiny_index, embedder=fake_embedder)
    retriever = Retriever.open(tiny_index, embedder=fake_embedder)
    before = len(open_files())
    for i in range(40):
        index.add_documents([Document(f"feed-{i}", f"Article {i} about Minsk.", "feed")])
        retriever.retrieve("Minsk", k=2)
    now = open_files()
    # Merged-away segments are closed once no snapshot holds them (their disk
    # space comes back); what stays open is the segments of the current commit.
    assert not [f for f in now if "(deleted)" in f and str(tiny_index.index_path) in f]
    assert len(now) <= before + 12 * len(retriever.snapshot.segments)


def test_an_interrupt_after_the_pointer_swap_keeps_the_commit(tiny_index: Settings, monkeypatch):
    import rag.store.local.writer as writer_module

    real = writer_module.point

    def swap_then_interrupt(link, target):
        real(link, target)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "point", swap_then_interrupt)
    doc = Document("late", "An article committed just before Ctrl-C.", "feed")
    with pytest.raises(KeyboardInterrupt):
        add_documents(tiny_index, [doc], embedder=HashEmbedder())
    monkeypatch.setattr(writer_module, "point", real)
    assert "late" in index_articles(tiny_index)
    verify(tiny_index)


def test_compacting_an_emptied_index_is_a_no_op(tiny_index: Settings):
    remove_articles(tiny_index, ["en_sanctions", "sv_ekonomi", "nb_valg"])
    assert not Index(tiny_index).compact().changed
    assert status(tiny_index)["counts"]["articles"] == 0


def test_add_documents_replaces_by_id(tiny_index: Settings, fake_embedder):
    doc = Document("sv_ekonomi", "Helt ny text om Belarus ekonomi.", "feed", title="Ny")
    report = add_documents(tiny_index, [doc], embedder=fake_embedder)
    assert report.updated == 1
    assert index_articles(tiny_index)["sv_ekonomi"].title == "Ny"


def test_add_uses_the_index_settings_and_refuses_another_embedder(tiny_index: Settings, tmp_path):
    extra = tmp_path / "x.txt"
    extra.write_text("A short new article about Minsk.")
    add_files(replace(tiny_index, chunk_chars=999), [extra], embedder=HashEmbedder())
    assert read_current(tiny_index.index_path)[0].settings["chunk_chars"] == 200
    with pytest.raises(IndexInvalidError, match="built with embedder"):
        add_files(tiny_index, [extra], embedder=HashEmbedder(name="other/1"))


def test_ingest_with_other_settings_rebuilds(tiny_index: Settings, fake_embedder):
    report = build_index(replace(tiny_index, chunk_chars=120), embedder=fake_embedder)
    assert report.added == 3 and report.reused == 0
    commit, _ = read_current(tiny_index.index_path)
    assert commit.settings["chunk_chars"] == 120 and len(commit.segments) == 1


def test_cli_add_remove_compact_verify_status(tiny_index: Settings, tmp_path: Path):
    # The CLI embeds with the real default model: build its own small index.
    index = ["--index", str(tmp_path / "cli-index")]
    assert run_rag("ingest", "--seeds", str(tiny_index.seeds_path), *index).returncode == 0
    extra = tmp_path / "wire.txt"
    extra.write_text("Reuters: Lithuania closes a border crossing with Belarus.")
    proc = run_rag("add", str(extra), *index)
    assert proc.returncode == 0 and "1 added" in proc.stdout
    proc = run_rag("remove", "wire", "nope", *index)
    assert proc.returncode == 2 and "nope" in proc.stderr
    proc = run_rag("remove", "wire", "nb_valg", *index)
    assert proc.returncode == 0 and "Removed 2" in proc.stdout
    proc = run_rag("status", *index)
    assert proc.returncode == 0 and "2 articles" in proc.stdout
    assert run_rag("compact", *index).returncode == 0
    info = json.loads(run_rag("status", "--json", *index).stdout)
    assert info["counts"]["segments"] == 1 and info["counts"]["deleted_chunks"] == 0
    proc = run_rag("verify", *index)
    assert proc.returncode == 0 and "match their checksums" in proc.stdout


# ---------------------------------------------------------------- merging


def test_merge_policy_is_tiered_and_bounded():
    small = [SegmentSize(f"s{i}", 50, 50) for i in range(7)]
    assert plan(small) == []  # not yet eight of a tier
    assert plan([*small, SegmentSize("s7", 60, 60)]) == [[f"s{i}" for i in range(8)]]
    big = [SegmentSize(f"b{i}", 200_000, 200_000) for i in range(8)]
    assert plan(big) == []  # would exceed the automatic bound: `rag compact` does it
    assert plan([SegmentSize("gone", 10, 100)]) == [["gone"]]  # mostly deleted
    assert plan([SegmentSize("fine", 90, 100)]) == []


def test_many_small_ingests_are_merged_automatically(tiny_index: Settings, fake_embedder):
    for i in range(10):
        (tiny_index.seeds_path / f"n{i}.txt").write_text(f"News item {i} about Minsk and Vilnius.")
        build_index(tiny_index, embedder=fake_embedder)
    commit, _ = read_current(tiny_index.index_path)
    assert len(commit.segments) < 8
    assert len(index_articles(tiny_index)) == 13
    hits = Retriever.open(tiny_index, embedder=fake_embedder).retrieve("News item 7", k=3)
    assert hits[0].doc_id == "n7"


def test_a_large_import_ends_as_one_segment(tiny_settings: Settings, fake_embedder, monkeypatch):
    import rag.ingest.pipeline

    monkeypatch.setattr(rag.ingest.pipeline, "SEGMENT_CHUNKS", 3)  # a segment every few articles
    for i in range(12):
        (tiny_settings.seeds_path / f"n{i}.txt").write_text(f"Item {i}: the EU and Minsk.")
    report = build_index(tiny_settings, embedder=fake_embedder)
    assert len(read_current(tiny_settings.index_path)[0].segments) == 1
    assert report.merges >= 1 and report.articles == 15


def test_compact_keeps_answers_and_drops_deleted(tiny_index: Settings, fake_embedder, tmp_path):
    for i in range(3):
        (tiny_index.seeds_path / f"n{i}.txt").write_text(f"Item {i}: the EU and Minsk again.")
        build_index(tiny_index, embedder=fake_embedder)
    remove_articles(tiny_index, ["n1"])
    retriever = Retriever.open(tiny_index, embedder=fake_embedder)
    questions = ["EU sanctions on officials", "Minsk item", "ekonomi lån Ryssland"]
    before = [[h.chunk_id for h in retriever.retrieve(q, k=4)] for q in questions]
    old = retriever.snapshot
    assert Index(tiny_index).compact().changed
    commit, _ = read_current(tiny_index.index_path)
    assert len(commit.segments) == 1 and commit.counts["deleted_chunks"] == 0
    assert [[h.chunk_id for h in retriever.retrieve(q, k=4)] for q in questions] == before
    # A reader still holding the old commit keeps reading its (now removed) files.
    assert old.chunks_of([0])[0][0].text
    assert not Index(tiny_index).compact().changed


def test_a_damaged_segment_is_never_merged(tiny_index: Settings, fake_embedder):
    (tiny_index.seeds_path / "n.txt").write_text("One more article about Minsk.")
    build_index(tiny_index, embedder=fake_embedder)
    victim = _segment_dirs(tiny_index)[0] / "vectors.f32"
    _flip_last_byte(victim)
    with pytest.raises(IndexInvalidError, match="vectors.f32"):
        Index(tiny_index).compact()
    assert len(read_current(tiny_index.index_path)[0].segments) == 2


# ---------------------------------------------------------------- dense candidates


@pytest.mark.parametrize("ivf", [False, True])
def test_dense_candidates_match_brute_force_and_skip_deleted(monkeypatch, ivf: bool):
    monkeypatch.setattr(dense_index, "IVF_MIN", 500 if ivf else 10**9)
    rng = np.random.default_rng(3)
    n, dim = 3000, 48
    # Clustered, as embeddings of news are (topics), not uniform noise.
    centres = rng.standard_normal((40, dim))
    vectors = (centres[rng.integers(0, 40, n)] + 0.5 * rng.standard_normal((n, dim))).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = dense_index.build(lambda a, b: vectors[a:b], n, dim)
    assert ("IVF" in type(index).__name__) == ivf
    live = np.ones(n, dtype=bool)
    live[::7] = False
    bitmap = np.packbits(live, bitorder="little")
    recall = []
    for q in vectors[rng.integers(0, n, 20)] + 0.3 * rng.standard_normal((20, dim)):
        q = (q / np.linalg.norm(q)).astype(np.float32)
        found = dense_index.search(index, q, 50, bitmap)
        assert live[found].all()
        exact = np.flatnonzero(live)[np.argsort(-(vectors[live] @ q))[:10]]
        recall.append(len(set(exact) & set(found)) / 10)
    assert np.mean(recall) >= (0.9 if ivf else 0.99)


# ---------------------------------------------------------------- integrity


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _corrupt(settings: Settings, case: str) -> None:
    root = settings.index_path
    segment = _segment_dirs(settings)[0]
    if case == "missing vectors":
        (segment / "vectors.f32").unlink()
    elif case == "truncated vectors":
        data = (segment / "vectors.f32").read_bytes()
        (segment / "vectors.f32").write_bytes(data[: len(data) // 2])
    elif case == "truncated sentence vectors":
        data = (segment / "sentence_vectors.f32").read_bytes()
        (segment / "sentence_vectors.f32").write_bytes(data[:-8])
    elif case == "missing records":
        (segment / "records.sqlite").unlink()
    elif case == "missing segment":
        import shutil

        shutil.rmtree(segment)
    elif case == "segment manifest not json":
        (segment / "meta.json").write_text("{not json")
    elif case == "segment manifest altered":
        meta = json.loads((segment / "meta.json").read_text())
        meta["counts"]["chunks"] += 1
        (segment / "meta.json").write_text(json.dumps(meta))
    elif case == "commit altered":
        path = root / os.readlink(root / POINTER)
        body = json.loads(path.read_text())
        body["segments"][0]["chunks"] += 1
        path.write_text(json.dumps(body))
    elif case == "commit not json":
        (root / os.readlink(root / POINTER)).write_text("{oops")
    elif case == "future format":
        path = root / os.readlink(root / POINTER)
        body = json.loads(path.read_text())
        body["format_version"] = 99
        path.write_text(json.dumps(body))
    elif case == "dangling pointer":
        (root / os.readlink(root / POINTER)).unlink()
    elif case == "records not sqlite":
        size = (segment / "records.sqlite").stat().st_size
        (segment / "records.sqlite").write_bytes(b"x" * size)
    else:
        raise AssertionError(case)


CORRUPTIONS = {
    "missing vectors": "missing",
    "truncated vectors": "truncated",
    "truncated sentence vectors": "truncated",
    "missing records": "missing",
    "missing segment": "missing",
    "segment manifest not json": "checksum",
    "segment manifest altered": "checksum",
    "commit altered": "checksum",
    "commit not json": "unreadable",
    "future format": "format version",
    "dangling pointer": "missing commit",
    "records not sqlite": "records.sqlite",
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_each_corruption_is_a_clear_error(tiny_index: Settings, case: str):
    _corrupt(tiny_index, case)
    with pytest.raises((IndexInvalidError, IndexMissingError)) as info:
        _snapshot(tiny_index)
    assert CORRUPTIONS[case] in str(info.value)
    assert "rag ingest" in str(info.value)


@pytest.mark.parametrize("case", ["truncated vectors", "commit altered", "records not sqlite"])
def test_cli_reports_corruption_with_exit_code_3(tiny_index: Settings, case: str):
    _corrupt(tiny_index, case)
    for command in (["status"], ["verify"], ["search", "Belarus"]):
        proc = run_rag(*command, "--index", str(tiny_index.index_path))
        assert proc.returncode == 3, (command, proc.stderr)
        assert proc.stderr.startswith("error:")


def test_verify_finds_a_silently_altered_file_and_names_it(tiny_index: Settings):
    victim = _segment_dirs(tiny_index)[0] / "sentence_vectors.f32"
    _flip_last_byte(victim)
    _snapshot(tiny_index)  # sizes agree: opening stays cheap and does not notice
    with pytest.raises(IndexInvalidError, match="sentence_vectors.f32"):
        verify(tiny_index)
    proc = run_rag("verify", "--index", str(tiny_index.index_path))
    assert proc.returncode == 3 and "sentence_vectors.f32" in proc.stderr


def _reseal(settings: Settings, segment: Path) -> None:
    """Record a tampered segment's files as if they were written so: the
    checksums agree, and only the content can give it away."""
    from rag.store.local.commit import write_commit

    meta = json.loads((segment / "meta.json").read_text())
    for name in meta["files"]:
        path = segment / name
        meta["files"][name] = {"bytes": path.stat().st_size, "blake3": file_hash(path)}
    (segment / "meta.json").write_text(json.dumps(meta))
    commit, _ = read_current(settings.index_path)
    refs = tuple(
        replace(r, meta_hash=bytes_hash((segment / "meta.json").read_bytes()))
        if r.name == segment.name
        else r
        for r in commit.segments
    )
    write_commit(settings.index_path, replace(commit, segments=refs))


@pytest.mark.parametrize(
    "change",
    [
        "CREATE TABLE a2 AS SELECT * FROM articles; DROP TABLE articles; "
        "ALTER TABLE a2 RENAME TO articles; UPDATE articles SET title = x'0102'",
        "CREATE TABLE a2 AS SELECT * FROM articles; DROP TABLE articles; "
        "ALTER TABLE a2 RENAME TO articles; UPDATE articles SET language = NULL",
        "CREATE TABLE c2 AS SELECT * FROM chunks; DROP TABLE chunks; "
        "ALTER TABLE c2 RENAME TO chunks; UPDATE chunks SET start = 'x'",
        "CREATE TABLE s2 AS SELECT * FROM sentences; DROP TABLE sentences; "
        "ALTER TABLE s2 RENAME TO sentences; UPDATE sentences SET end = 99999",
        "UPDATE terms SET start = 999999999",
    ],
    ids=["title not text", "no language", "offset not a number", "sentence past end", "postings"],
)
def test_well_formed_but_wrong_records_are_index_errors(
    tiny_index: Settings, fake_embedder, change: str
):
    segment = _segment_dirs(tiny_index)[0]
    db = sqlite3.connect(segment / "records.sqlite")
    db.executescript(change)
    db.commit()
    db.close()
    _reseal(tiny_index, segment)
    retriever = Retriever.open(tiny_index, embedder=fake_embedder)
    with pytest.raises(IndexInvalidError, match="records.sqlite"):
        for question in ("sanctions Belarus officials", "ekonomi Ryssland lån", "Minsk"):
            for hit in retriever.retrieve(question, k=5):
                retriever.article_sentences(hit.doc_id)


def test_ingest_never_replaces_a_damaged_index_unless_asked(tiny_index: Settings, fake_embedder):
    # Rebuilding from the folder silently would lose articles added from elsewhere.
    _corrupt(tiny_index, "missing segment")
    with pytest.raises(IndexInvalidError, match="rag ingest --rebuild"):
        build_index(tiny_index, embedder=fake_embedder)
    report = build_index(tiny_index, embedder=fake_embedder, rebuild=True)
    assert report.added == 3 and len(index_articles(tiny_index)) == 3


def test_a_corrupt_posting_in_the_middle_of_a_term_is_an_index_error(tiny_index: Settings):
    segment = _segment_dirs(tiny_index)[0]
    path = segment / "postings.i32"
    data = bytearray(path.read_bytes())
    data[len(data) // 2 // 4 * 4 : len(data) // 2 // 4 * 4 + 4] = b"\xff\xff\xff\x7f"
    path.write_bytes(bytes(data))
    snapshot = _snapshot(tiny_index)  # sizes agree
    words = [
        t for (t,) in sqlite3.connect(segment / "records.sqlite").execute("SELECT term FROM terms")
    ]
    with pytest.raises(IndexInvalidError, match="postings"):
        snapshot.lexical(words)


def test_a_manifest_with_malformed_entries_is_an_index_error(tiny_index: Settings):
    segment = _segment_dirs(tiny_index)[0]
    meta = json.loads((segment / "meta.json").read_text())
    meta["files"]["vectors.f32"] = "not an object"
    (segment / "meta.json").write_text(json.dumps(meta))
    commit, _ = read_current(tiny_index.index_path)
    from rag.store.local.commit import write_commit

    ref = replace(commit.segments[0], meta_hash=bytes_hash((segment / "meta.json").read_bytes()))
    write_commit(tiny_index.index_path, replace(commit, segments=(ref,)))
    with pytest.raises(IndexInvalidError, match="not a valid segment manifest"):
        _snapshot(tiny_index)


def test_an_index_of_the_previous_format_says_to_rebuild(tiny_settings: Settings, fake_embedder):
    root = tiny_settings.index_path
    (root / "build-0123456789ab").mkdir(parents=True)
    (root / "build-0123456789ab" / "manifest.json").write_text("{}")
    os.symlink("build-0123456789ab", root / POINTER)
    with pytest.raises(IndexInvalidError, match="older version of rag"):
        _snapshot(tiny_settings)
    build_index(tiny_settings, embedder=fake_embedder)
    assert len(index_articles(tiny_settings)) == 3
    assert not (root / "build-0123456789ab").exists()


def test_a_copied_index_whose_pointer_is_a_file_gets_a_clear_error(tiny_index: Settings):
    root = tiny_index.index_path
    target = root / os.readlink(root / POINTER)
    (root / POINTER).unlink()
    (root / POINTER).write_bytes(target.read_bytes())  # what `cp -rL` makes of the link
    with pytest.raises(IndexInvalidError, match="not a link"):
        _snapshot(tiny_index)
    with pytest.raises(IndexInvalidError, match="not a link"):
        build_index(tiny_index, embedder=HashEmbedder())


def test_an_index_path_that_is_a_file_is_a_usage_error(tiny_settings: Settings, fake_embedder):
    afile = tiny_settings.root / "afile"
    afile.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        build_index(replace(tiny_settings, index_dir=afile), embedder=fake_embedder)


def test_a_segment_directory_is_not_an_index_root(tiny_index: Settings, fake_embedder):
    inside = replace(tiny_index, index_dir=_segment_dirs(tiny_index)[0])
    with pytest.raises(UsageError, match="inside an index"):
        build_index(inside, embedder=fake_embedder)


def test_opening_starts_over_when_a_merge_removes_segments_meanwhile(
    tiny_index: Settings, fake_embedder, monkeypatch
):
    import rag.store.local.snapshot as snapshot_module

    (tiny_index.seeds_path / "n.txt").write_text("One more article about Minsk.")
    build_index(tiny_index, embedder=fake_embedder)
    real, calls = snapshot_module.open_segment, []

    def compact_first(path, ref):
        if not calls:
            calls.append(path)
            Index(tiny_index).compact()  # removes the segments being opened
        return real(path, ref)

    monkeypatch.setattr(snapshot_module, "open_segment", compact_first)
    snapshot = Snapshot.open(tiny_index.index_path)
    assert calls and len(snapshot.segments) == 1 and snapshot.commit.operation == "compact"
    assert len(list(snapshot.iter_articles())) == 4


def test_missing_index_says_how_to_build_one(tmp_path: Path):
    with pytest.raises(IndexMissingError, match="rag ingest"):
        Snapshot.open(tmp_path / "nothing")


def test_status_describes_the_commit(tiny_index: Settings):
    info = status(tiny_index)
    assert info["counts"]["articles"] == 3 and info["generation"] == 1
    assert set(info["languages"]) == {"en", "sv", "nb"}
    assert info["writer"] is None


# ---------------------------------------------------------------- writers


def test_a_second_writer_waits_or_is_refused(tiny_index: Settings, fake_embedder):
    root = tiny_index.index_path
    with writer_lock(root, "a test"):
        with pytest.raises(IndexBusyError, match="a test"):
            build_index(tiny_index, embedder=fake_embedder, wait=0)
        proc = run_rag("remove", "nb_valg", "--index", str(root), "--wait", "0")
        assert proc.returncode == 7 and "being updated by" in proc.stderr
        assert status(tiny_index)["writer"].endswith("(a test)")
        done = []
        waiter = threading.Thread(
            target=lambda: done.append(remove_articles(tiny_index, ["nb_valg"]))
        )
        waiter.start()
        time.sleep(0.5)
        assert not done  # still waiting
    waiter.join(timeout=30)
    assert done and done[0].removed == 1


def test_an_ingest_that_waited_lists_the_folder_as_it_is_when_its_turn_comes(
    tiny_index: Settings, fake_embedder
):
    """Two ingests at once: the second waits for the first, and then sees
    the folder as the first left it, rather than a listing from before it
    waited (which would remove what the first one added)."""
    root = tiny_index.index_path
    done = []
    with writer_lock(root, "the first ingest"):
        waiter = threading.Thread(
            target=lambda: done.append(build_index(tiny_index, embedder=fake_embedder))
        )
        waiter.start()
        time.sleep(0.5)
        assert not done  # still waiting
        (tiny_index.seeds_path / "late.txt").write_text(
            "Putin received Lukashenko in Sochi on Monday.\n", encoding="utf-8"
        )
    waiter.join(timeout=30)
    assert done and "late" in index_articles(tiny_index)


def test_a_writer_removes_what_killed_writers_left_half_written(tiny_index: Settings):
    root = tiny_index.index_path
    leftovers = [
        root / "segments" / ".tmp-abc123",
        root / ".current.tmp-999",
        root / "commits" / ".commit-9.json.tmp-999",
    ]
    leftovers[0].mkdir()
    (leftovers[0] / "vectors.f32").write_bytes(b"\0" * 4096)
    for path in leftovers[1:]:
        path.write_text("half", encoding="utf-8")
    with IndexWriter.open(root, None, None, None, "a test"):
        pass
    assert not any(path.exists() for path in leftovers)
    verify(tiny_index)  # raises on a damaged index


def test_an_index_is_checked_for_meaning_as_well_as_bytes(tiny_index: Settings):
    """Tampering that rewrites the checksums too (a NaN vector, a passage's
    text edited, a stray file) is still found by the meaning checks."""

    def segment():
        return Snapshot.open(tiny_index.index_path).segments[0]

    segment().check_meaning()  # a sound index passes
    path = segment().path
    vectors = path / "vectors.f32"
    data = bytearray(vectors.read_bytes())
    data[0:4] = np.float32(np.nan).tobytes()
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexInvalidError, match="vector 0 is not a finite unit vector"):
        segment().check_meaning()
    data[0:4] = np.float32(0.5).tobytes()  # finite, but no longer of unit length
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexInvalidError, match="vector 0"):
        segment().check_meaning()


def test_edited_records_and_stray_files_are_named(tiny_index: Settings):
    import sqlite3

    path = Snapshot.open(tiny_index.index_path).segments[0].path
    db = sqlite3.connect(path / "records.sqlite")
    db.execute("UPDATE chunks SET text = 'Lukashenko resigned.' WHERE row = 0")
    db.commit()
    db.close()
    with pytest.raises(IndexInvalidError, match="passage row 0 does not lie inside its article"):
        Snapshot.open(tiny_index.index_path).segments[0].check_meaning()
    (path / "extra.bin").write_bytes(b"x")
    assert Snapshot.open(tiny_index.index_path).segments[0].stray_files(set()) == ["extra.bin"]
    proc = run_rag("verify", "--index", str(tiny_index.index_path))
    assert proc.returncode == 3 and "Traceback" not in proc.stderr


def test_a_candidate_index_of_another_metric_is_named(tiny_index: Settings, fake_embedder):
    """A FAISS file swapped for one ranking by L2 distance (same kind, size
    and count, checksums rewritten) is found by status, verify and search."""
    import faiss

    segment = Snapshot.open(tiny_index.index_path).segments[0]
    lang, info = next(iter(segment.meta["dense"].items()))
    start, end = segment.languages[lang]
    swapped = faiss.IndexScalarQuantizer(
        segment.dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_L2
    )
    swapped.add(np.ascontiguousarray(segment.read_vectors(start, end)))
    assert info["kind"] == type(swapped).__name__
    dense_index.write(swapped, segment.path / info["file"])
    _reseal(tiny_index, segment.path)
    for command in ("status", "verify"):
        proc = run_rag(command, "--index", str(tiny_index.index_path))
        assert proc.returncode == 3, proc.stderr
        assert info["file"] in proc.stderr and "L2 distance" in proc.stderr
    with pytest.raises(IndexInvalidError, match="not inner product"):
        Retriever.open(tiny_index, embedder=fake_embedder).retrieve("Minsk", k=3, language=lang)


def _edit_settings(settings: Settings, **changes) -> None:
    """Rewrite the current commit with other build settings and a checksum
    that agrees, as a careful hand edit would."""
    from rag.store.local.commit import write_commit

    commit, _ = read_current(settings.index_path)
    write_commit(settings.index_path, replace(commit, settings={**commit.settings, **changes}))


def test_an_edited_chunk_size_is_found_by_chunking_again(tiny_index: Settings):
    _edit_settings(tiny_index, chunk_chars=tiny_index.chunk_chars // 2)
    status(tiny_index)  # well-formed: only reading the passages can tell
    proc = run_rag("verify", "--index", str(tiny_index.index_path))
    assert proc.returncode == 3, proc.stderr
    assert "not what chunking it with the commit's settings" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", ["400", -1, None, [400], 0])
def test_a_chunk_size_of_the_wrong_type_or_range_is_refused(tiny_index: Settings, value):
    _edit_settings(tiny_index, chunk_chars=value)
    for command in ("status", "search"):
        args = ("search", "Minsk") if command == "search" else (command,)
        proc = run_rag(*args, "--index", str(tiny_index.index_path))
        assert proc.returncode == 3, proc.stderr
        assert "holds wrong ones" in proc.stderr and "Traceback" not in proc.stderr


def test_status_names_a_stray_file(tiny_index: Settings):
    segment = _segment_dirs(tiny_index)[0]
    (segment / "notes.txt").write_text("mine")
    proc = run_rag("status", "--index", str(tiny_index.index_path))
    assert proc.returncode == 3 and "notes.txt" in proc.stderr


# A child that changes the index again and again with the fake embedder:
# ingests of a changing folder, adds, removes, compactions.
_CHURN = r"""
import random, sys
from pathlib import Path
sys.path.insert(0, ".")
from rag.ingest.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder

root, seeds = Path(sys.argv[1]), Path(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
index = Index(Settings(root=root, seeds_dir=seeds, index_dir=root / "index", chunk_chars=120),
              embedder=HashEmbedder())
print("ready", flush=True)
while True:
    op = rng.random()
    name = f"a{rng.randrange(12)}.txt"
    if op < 0.5:
        words = " ".join(rng.choice(["Minsk", "loan", "EU", "vote", "army"]) for _ in range(40))
        (seeds / name).write_text(f"Article {name}. " + words + ".")
        index.sync()
    elif op < 0.7:
        (seeds / name).unlink(missing_ok=True)
        if any(seeds.iterdir()):
            index.sync()
    elif op < 0.85:
        extra = root / "extra" / name
        extra.parent.mkdir(exist_ok=True)
        extra.write_text(f"Extra {name} about Vilnius and the border. " * rng.randrange(1, 9))
        index.add(extra)
    elif op < 0.95:
        ids = [s.article.id for _, s in __import__("rag.store.local", fromlist=["x"]).Snapshot.open(
            root / "index").iter_articles()]
        if len(ids) > 1:
            index.remove(rng.choice(ids))
    else:
        index.compact()
"""


def _wait_for_a_segment_in_the_making(segments: Path, deadline: float) -> None:
    known = set(os.listdir(segments))
    while time.monotonic() < deadline:
        now = set(os.listdir(segments))
        if any(name.startswith(".tmp-") for name in now) or now - known:
            return
        known = now
    raise AssertionError("the writer wrote no segment in 10 s")


@pytest.mark.slow
def test_random_sigkills_always_leave_the_last_commit_readable(tiny_index: Settings):
    """Kill a busy writer at random moments, many times; after every kill the
    current commit opens, passes a full checksum check, answers questions,
    and the next writer carries on."""
    import random
    import signal

    root, seeds = tiny_index.root, tiny_index.seeds_path
    segments = tiny_index.index_path / "segments"
    rng = random.Random(11)
    generations = set()
    mid_write = 0  # kills that left a segment being written (or not yet committed)
    kills = 30
    for i in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHURN, str(root), str(seeds), str(i)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
            if i % 2:  # at a random moment
                time.sleep(rng.uniform(0.0, 1.5))
            else:  # while a segment is being written (or its writer just renamed it)
                _wait_for_a_segment_in_the_making(segments, time.monotonic() + 10)
            assert child.poll() is None, child.stderr.read()
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
            child.stdout.close()
            child.stderr.close()
        snapshot = Snapshot.open(tiny_index.index_path)
        snapshot.verify()
        generations.add(snapshot.commit.generation)
        named = {ref.name for ref in snapshot.commit.segments}
        mid_write += any(
            p.name not in named for p in (tiny_index.index_path / "segments").iterdir()
        )
        assert snapshot.commit.counts["articles"] == len(list(snapshot.iter_articles()))
        retriever = Retriever(snapshot, HashEmbedder(), tiny_index)
        assert retriever.retrieve("Minsk loan", k=3)
    assert len(generations) > kills // 3, "the writer barely committed between kills"
    assert mid_write >= 3, "too few kills landed while a segment was being written"
    leftovers = [p for p in (tiny_index.index_path / "segments").iterdir() if p.name[0] == "."]
    build_index(tiny_index, embedder=HashEmbedder())  # the next writer cleans up after them
    assert not [p for p in leftovers if p.exists()]


def test_a_format_1_segment_is_still_read_as_undated_and_ungrouped(
    tiny_index: Settings, fake_embedder
):
    """Segments written before articles had meta, copy_of and a signature
    (format 1) open as they did: the new fields are empty, nothing is lost,
    and the next merge writes them in format 2."""
    [segment] = sorted((tiny_index.index_path / "segments").iterdir())
    db = sqlite3.connect(segment / "records.sqlite")
    db.execute("DROP INDEX articles_copy_of")
    for column in ("meta", "copy_of", "signature"):
        db.execute(f"ALTER TABLE articles DROP COLUMN {column}")
    db.commit()
    db.execute("VACUUM")
    db.close()
    meta = json.loads((segment / "meta.json").read_text())
    meta["version"] = 1
    (segment / "meta.json").write_text(json.dumps(meta))
    _reseal(tiny_index, segment)
    verify(tiny_index)  # checksums and meaning agree
    retriever = Retriever.open(tiny_index, embedder=fake_embedder)
    view = retriever.snapshot
    assert list(view.signatures()) == [] and view.copies() == {}
    hits = retriever.retrieve("sanctions on Belarus officials", k=2)
    assert hits and all(h.also_in == () for h in hits)
    article = view.article(hits[0].doc_id)
    assert article.text and article.copy_of is None and article.outlet is None
    add_documents(
        tiny_index,
        [Document("later", "A later article about Minsk. " * 20, "x")],
        embedder=fake_embedder,
    )
    Index(tiny_index, embedder=fake_embedder).compact()
    [merged] = sorted((tiny_index.index_path / "segments").iterdir())
    assert json.loads((merged / "meta.json").read_text())["version"] == 2
    after = Retriever.open(tiny_index, embedder=fake_embedder).snapshot
    assert {doc_id for doc_id, *_ in after.signatures()} == {"later"}
