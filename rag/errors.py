"""Errors a user can act on, each with the process exit code the CLI uses.

Every message says what went wrong and what to do next. Anything else that
escapes is a bug; the CLI reports it without a traceback (set RAG_DEBUG=1 to
see one).
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: a clear message for a person, and an exit code."""

    exit_code = 1


class UsageError(RagError):
    """Bad input from the caller: an empty or huge question, an unknown option."""

    exit_code = 2


class IndexMissingError(RagError):
    """There is no index where one was expected."""

    exit_code = 3


class IndexInvalidError(RagError):
    """The index exists but cannot be trusted: corrupted, truncated, or built
    with another embedder."""

    exit_code = 3


class IndexFormatError(IndexInvalidError):
    """The index was written by another version of rag (another format):
    readable only after a rebuild, which `rag ingest` does."""


class IndexBusyError(RagError):
    """Another process is writing to the index (an ingest, add, remove or
    compaction); only one may at a time."""

    exit_code = 7


class StoreUnavailableError(RagError):
    """The store (a Milvus server) or a Ray cluster cannot be reached, or
    refused the credentials."""

    exit_code = 8


class IngestError(RagError):
    """Nothing could be ingested (no readable articles)."""

    exit_code = 4


class EmbedderError(RagError):
    """The embedding model cannot be loaded."""

    exit_code = 5


class GeneratorError(RagError):
    """The answer generator (a language model or server) cannot be loaded or
    reached, or failed while answering."""

    exit_code = 5
