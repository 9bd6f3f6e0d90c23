"""The Milvus backend, for real against Milvus Lite (no mock of the client):
the same hits as the local index, incremental changes, atomic commits,
clear failures, and the same dev-set answers with the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import IndexBusyError, IndexInvalidError, IndexMissingError, UsageError
from rag.ingest.index import Index, status, verify
from rag.ingest.pipeline import build_index
from rag.records import Document
from rag.search.retrieval import Retriever
from rag.settings import Settings
from rag.store import open_store
from rag.store.milvus import store as milvus_store
from rag.store.milvus.writer import MilvusWriter
from tests.conftest import DEV_SET, TINY_ARTICLES, free_port, run_rag
from tests.fakes import HashEmbedder

QUESTIONS = [
    "sanctions on Belarus officials",
    "Ryssland lån budgeten",
    "nyvalg i Minsk",
    "Lithuania elections",
    "valutan faller",
]


@pytest.fixture(autouse=True)
def _fresh_clients(monkeypatch):
    monkeypatch.setattr(milvus_store, "CURRENT_TTL", 0.0)  # every question sees the last commit
    yield
    milvus_store.forget_clients()


@pytest.fixture
def milvus_settings(tiny_settings: Settings, tmp_path: Path) -> Settings:
    return replace(tiny_settings, store=f"milvus:{tmp_path / 'milvus' / 'rag.db'}")


def _hits(settings: Settings, embedder, question: str, **kw):
    hits = Retriever.open(settings, embedder).retrieve(question, **kw)
    return [(h.doc_id, h.chunk_id, h.start, h.end, round(h.score, 4)) for h in hits]


def test_milvus_finds_what_the_local_index_finds(tiny_settings, milvus_settings, fake_embedder):
    local = build_index(tiny_settings, embedder=fake_embedder)
    remote = build_index(milvus_settings, embedder=fake_embedder)
    assert (remote.articles, remote.chunks, remote.sentences) == (
        local.articles,
        local.chunks,
        local.sentences,
    )
    assert remote.languages == local.languages
    for question in QUESTIONS:
        got = _hits(milvus_settings, fake_embedder, question, k=4)
        want = _hits(tiny_settings, fake_embedder, question, k=4)
        # The same scores in the same order; passages that tie may come in
        # another order (ties go by passage id, which each backend assigns).
        assert [h[-1] for h in got] == [h[-1] for h in want]
        last = want[-1][-1]
        assert {h for h in got if h[-1] > last} == {h for h in want if h[-1] > last}
    # language filters run inside the engine
    retriever = Retriever.open(milvus_settings, fake_embedder)
    only_sv = retriever.retrieve("Belarus", k=5, languages="sv")
    assert only_sv and {h.language for h in only_sv} == {"sv"}
    # an answer's sentences come from the store too
    view = open_store(milvus_settings).open()
    article, sentences, vectors = view.sentences("sv_ekonomi")
    assert all(article.text[s.start : s.end] == s.text for s in sentences)
    assert vectors.shape == (len(sentences), fake_embedder.dim)


def test_sync_edits_adds_and_removes_incrementally(milvus_settings, tiny_seeds, fake_embedder):
    first = build_index(milvus_settings, embedder=fake_embedder)
    again = build_index(milvus_settings, embedder=fake_embedder)
    assert again.unchanged == 3 and again.embedded == 0 and again.generation == first.generation

    path = tiny_seeds / "sv_ekonomi.txt"
    path.write_text(path.read_text() + " Inflationen stiger snabbt i hela landet.")
    edited = build_index(milvus_settings, embedder=fake_embedder)
    assert edited.updated == 1 and edited.reused > 0  # unchanged texts keep their vectors
    assert edited.generation == first.generation + 1
    hits = Retriever.open(milvus_settings, fake_embedder).retrieve("Inflationen stiger", k=1)
    assert hits[0].doc_id == "sv_ekonomi" and "Inflationen" in hits[0].text

    (tiny_seeds / "nb_valg.txt").unlink()
    removed = build_index(milvus_settings, embedder=fake_embedder)
    assert removed.removed == 1 and removed.articles == 2
    retriever = Retriever.open(milvus_settings, fake_embedder)
    assert "nb_valg" not in {h.doc_id for h in retriever.retrieve("nyvalg Minsk", k=5)}
    assert retriever.languages == ["en", "sv"]

    index = Index(milvus_settings, fake_embedder)
    index.add_documents([Document(id="extra", text="Vilnius hosts the opposition.", source="x")])
    assert "extra" in {h.doc_id for h in retriever.retrieve("Vilnius opposition", k=5)}
    index.remove("extra")
    assert "extra" not in {h.doc_id for h in retriever.retrieve("Vilnius opposition", k=5)}
    with pytest.raises(Exception, match="no article with id"):
        index.remove("never-there")

    info = status(milvus_settings)
    assert info["store"] == "milvus" and info["counts"]["articles"] == 2
    assert "match the commit's record" in str(verify(milvus_settings))
    compacted = index.compact()
    assert compacted.changed and compacted.deleted_before > 0
    assert "match the commit's record" in str(verify(milvus_settings))


def test_a_writer_killed_before_publishing_leaves_nothing_visible(
    milvus_settings, fake_embedder, monkeypatch
):
    build_index(milvus_settings, embedder=fake_embedder)
    store = open_store(milvus_settings)
    before = store.open()
    old_text = before.article("sv_ekonomi").text

    class Killed(Exception):
        pass

    def dies_before_publishing(self, operation, merge=True):
        self._mark_deleted(self.generation)  # rows written, old ones marked dead ...
        raise Killed  # ... and the meta row never written

    monkeypatch.setattr(MilvusWriter, "commit", dies_before_publishing)
    docs = [
        Document(id="half", text="Half-written article about Minsk and Vilnius.", source="x"),
        Document(id="sv_ekonomi", text="Ersatt text om Minsk.", source="x", language="sv"),
    ]
    with pytest.raises(Killed):
        Index(milvus_settings, fake_embedder).add_documents(docs)
    monkeypatch.undo()

    after = open_store(milvus_settings).open()
    assert after.target == before.target and after.info.counts == before.info.counts
    assert after.article("half") is None
    assert after.article("sv_ekonomi").text == old_text
    hits = Retriever.open(milvus_settings, fake_embedder).retrieve("Half-written Minsk", k=5)
    assert "half" not in {h.doc_id for h in hits}
    # the next writer removes what was left, and its commit counts right
    Index(milvus_settings, fake_embedder).add_documents(
        [Document(id="whole", text="A whole article about Minsk.", source="x")]
    )
    assert "match the commit's record" in str(verify(milvus_settings))
    assert open_store(milvus_settings).open().article("sv_ekonomi").text == old_text


def test_terms_left_pending_are_counted_again(milvus_settings, fake_embedder, monkeypatch):
    build_index(milvus_settings, embedder=fake_embedder)
    question = "sanctions on Belarus officials"
    expected = _hits(milvus_settings, fake_embedder, question, k=3)

    class Killed(Exception):
        pass

    def dies(self):
        raise Killed  # published, document frequencies not yet updated

    monkeypatch.setattr(MilvusWriter, "_update_terms", dies)
    with pytest.raises(Killed):
        Index(milvus_settings, fake_embedder).remove("nb_valg")
    monkeypatch.undo()
    Index(milvus_settings, fake_embedder).add_documents(
        [Document(id="nb_valg", text=TINY_ARTICLES["nb_valg.txt"], source="x", language="nb")]
    )
    assert _hits(milvus_settings, fake_embedder, question, k=3) == expected


def test_rebuild_writes_a_new_epoch_and_drops_the_old(milvus_settings, fake_embedder):
    build_index(milvus_settings, embedder=fake_embedder)
    store = open_store(milvus_settings)
    first = store.open()
    rebuilt = build_index(milvus_settings, embedder=fake_embedder, rebuild=True)
    second = store.open()
    assert second.epoch == first.epoch + 1 and rebuilt.articles == 3
    names = store.client.list_collections()
    assert not any(n.startswith(f"rag_e{first.epoch}_") for n in names)
    assert _hits(milvus_settings, fake_embedder, "sanctions", k=2)


def test_another_embedder_is_refused_with_a_clear_message(milvus_settings, fake_embedder):
    build_index(milvus_settings, embedder=fake_embedder)
    other = HashEmbedder(dim=32, name="other/1")
    with pytest.raises(IndexInvalidError, match="built with embedder"):
        Retriever.open(milvus_settings, other)
    with pytest.raises(IndexInvalidError, match="other/1"):
        Index(milvus_settings, other).add_documents([Document(id="x", text="Text.", source="x")])


def test_missing_and_foreign_indexes_are_named(milvus_settings, tmp_path):
    with pytest.raises(IndexMissingError, match="Build one"):
        Retriever.open(milvus_settings, HashEmbedder())
    assert not (tmp_path / "milvus" / "rag.db").exists()  # reading made no file
    from rag.store.milvus import schema

    store = open_store(milvus_settings)
    schema.ensure_meta(store.client, store.address)
    schema.write_meta(store.client, store.address, {"format": "someone-else"})
    with pytest.raises(IndexInvalidError, match="rag did not make"):
        store.open()


def test_unreachable_server_exits_8_with_a_message(tmp_path):
    proc = run_rag("status", "--store", f"milvus:http://127.0.0.1:{free_port()}")
    assert proc.returncode == 8
    assert "cannot reach Milvus" in proc.stderr


def test_a_lite_file_open_elsewhere_exits_7(tmp_path):
    db = tmp_path / "busy.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pymilvus import MilvusClient; "
            f"MilvusClient({str(db)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        proc = run_rag("status", "--store", f"milvus:{db}")
        assert proc.returncode == 7
        assert "open in another process" in proc.stderr
        with pytest.raises(IndexBusyError):
            open_store(Settings(store=f"milvus:{db}")).open()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.model
@pytest.mark.slow
def test_the_dev_set_gets_the_same_answers_from_milvus(seed_index: Settings, tmp_path: Path):
    """The seed index copied into Milvus Lite (vectors reused) answers the dev
    set as the local index does: same passage-hit@5 and key-fact rate."""
    db = tmp_path / "seeds.db"
    proc = run_rag("copy", "--index", str(seed_index.index_path), "--to", f"milvus:{db}")
    assert proc.returncode == 0, proc.stderr
    assert "77 passages" in proc.stdout and "nothing embedded again" in proc.stdout
    reports = {}
    for name, where in (
        ("local", ["--index", str(seed_index.index_path)]),
        ("milvus", ["--store", f"milvus:{db}"]),
    ):
        out = tmp_path / name
        proc = run_rag("eval", str(DEV_SET), *where, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        reports[name] = json.loads((out / "report.json").read_text())
    local, milvus = (reports[n]["summary"]["all"] for n in ("local", "milvus"))
    n = len(reports["local"]["questions"])
    for metric in ("passage_hit@5", "key_fact"):
        assert abs(local[metric] - milvus[metric]) * n <= 1, (metric, local, milvus)
    proc = run_rag(
        "eval",
        "--compare",
        str(tmp_path / "local" / "report.json"),
        str(tmp_path / "milvus" / "report.json"),
    )
    quality = [
        line
        for line in proc.stdout.splitlines()
        if line.startswith("  ") and "->" in line and "_ms " not in line
    ]
    assert quality == [], quality  # only latencies may differ between engines


@pytest.mark.parametrize("backend", ["local", "milvus"])
def test_date_filters_run_inside_the_index(backend, tiny_settings, tmp_path, fake_embedder):
    settings = replace(tiny_settings, candidates=1)  # one candidate per search and language
    if backend == "milvus":
        settings = replace(settings, store=f"milvus:{tmp_path / 'dates.db'}")
    build_index(settings, embedder=fake_embedder)
    Index(settings, fake_embedder).add_documents(
        [
            Document(
                id="minsk2020",
                text="Protesters marched in Minsk against the election result.",
                source="x",
                language="en",
                date="2020-09-14",
            ),
            Document(
                id="minsk2023",
                text="Minsk marked the anniversary quietly, protesters in exile.",
                source="x",
                language="en",
                date="2023-02-01",
            ),
        ]
    )
    retriever = Retriever.open(settings, fake_embedder)
    question = "EU prepares sanctions on Belarus"  # the undated en_sanctions ranks first
    assert retriever.retrieve(question, k=1)[0].doc_id == "en_sanctions"
    # Had the range been applied after the search, its one English candidate
    # (en_sanctions, undated) would have left nothing.
    in_2020 = retriever.retrieve(question, k=3, since="2020", until="2020")
    assert [h.doc_id for h in in_2020] == ["minsk2020"]
    assert in_2020[0].date == "2020-09-14"
    from_2021 = retriever.retrieve(question, k=3, since="2021-01")
    assert [h.doc_id for h in from_2021] == ["minsk2023"]
    assert retriever.retrieve(question, k=3, until="2019-12-31") == []
    with pytest.raises(UsageError, match="YYYY"):
        retriever.retrieve(question, since="last year")
    with pytest.raises(UsageError, match="empty"):
        retriever.retrieve(question, since="2021", until="2020")
