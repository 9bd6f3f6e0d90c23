"""rag: cited question answering over Swedish, Norwegian and English news.

The public API. Importing it loads no model and touches no file.

Example (needs an index: run `rag ingest` first)::

    import rag
    hits = rag.retrieve("Why did Russia back Lukashenko?", k=5)
"""

from rag.answers.answer import answer, stream_answer
from rag.errors import (
    EmbedderError,
    IndexBusyError,
    IndexInvalidError,
    IndexMissingError,
    IngestError,
    RagError,
    UsageError,
)
from rag.evaluation.evaluate import evaluate_testset
from rag.ingest.index import Index
from rag.ingest.pipeline import IngestReport, build_index
from rag.records import Answer, Article, Chunk, Citation, Document, Hit, Sentence
from rag.search.retrieval import Retriever, get_retriever, retrieve
from rag.settings import Settings

__all__ = [
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "Document",
    "EmbedderError",
    "Hit",
    "Index",
    "IndexBusyError",
    "IndexInvalidError",
    "IndexMissingError",
    "IngestError",
    "IngestReport",
    "RagError",
    "Retriever",
    "Sentence",
    "Settings",
    "UsageError",
    "answer",
    "build_index",
    "evaluate_testset",
    "get_retriever",
    "retrieve",
    "stream_answer",
]
