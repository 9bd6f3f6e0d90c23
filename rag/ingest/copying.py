"""Copying an index from one store to another, vectors and all (`rag copy`).

The way from a laptop to a cluster: the index `settings` names (say the
local folder) is written into another store (say a Milvus server) with the
same embedder, settings, articles, passages, sentences and vectors; nothing
is embedded again. The copy replaces whatever index the target held, and is
committed once at the end: a reader of the target sees the old index or the
whole copy, never part of it.

    rag copy --to milvus:http://db:19530          # the local index into Milvus
    rag copy --store milvus:index/rag.db --to local:backup/
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from rag.errors import UsageError
from rag.ingest.pipeline import IngestReport, passage_tokens
from rag.settings import Settings
from rag.store import open_store
from rag.store.base import NewArticle, Origin
from rag.text.chunking import passage_text

BATCH_PASSAGES = 20_000  # written at a time (one local segment)


def copy_index(settings: Settings, target: str, progress: bool = False) -> IngestReport:
    """Copy the index `settings` names into the store `target` names (a
    `RAG_STORE` spec); returns what the target holds afterwards."""
    started = time.perf_counter()
    source = open_store(settings)
    destination = open_store(replace(settings, store=target))
    if destination.location == source.location:
        raise UsageError(f"the index at {source.location} cannot be copied onto itself")
    view = source.open()
    info = view.info
    files = {f.doc_id: f for f in view.article_files()}
    with destination.writer(
        info.embedder_id, info.dim, info.settings, "rag copy", 0, rebuild=True, fresh=True
    ) as writer:
        batch: list[NewArticle] = []
        for item in _progress(_items(view, files), progress, info.counts.get("articles", 0)):
            batch.append(item)
            if sum(len(i.chunks) for i in batch) >= BATCH_PASSAGES:
                writer.add(batch, info.dim)
                batch = []
        writer.add(batch, info.dim)
        writer.commit("copy")
        after = writer.info
        languages = writer.view.article_languages() if writer.view is not None else {}
    counts = after.counts
    return IngestReport(
        index=destination.location,
        generation=after.generation,
        files=0,
        read=0,
        articles=counts["articles"],
        chunks=counts["chunks"],
        sentences=counts["sentences"],
        added=counts["articles"],
        updated=0,
        removed=0,
        unchanged=0,
        embedded=0,
        reused=counts["chunks"] + counts["sentences"],
        skipped=(),
        languages=languages,
        merges=0,
        seconds=time.perf_counter() - started,
    )


def _items(view, files) -> Iterator[NewArticle]:
    """Every live article with its passages, sentences and vectors, each
    read once (`files` names them all: one per live article)."""
    for doc_id, f in files.items():
        stored = view.stored(doc_id)
        if stored is None:  # not possible within one view; kept for safety
            continue
        article = stored.article
        yield NewArticle(
            article=article,
            chunks=stored.chunks,
            chunk_vectors=stored.chunk_vectors,
            sentences=stored.sentences,
            sentence_vectors=stored.sentence_vectors,
            tokens=passage_tokens(
                [passage_text(article.title, c.text) for c in stored.chunks], article.language
            ),
            origin=Origin(f.file, f.size, f.mtime_ns, f.raw_hash),
            signature=stored.signature,
        )


def _progress(items: Iterator, enabled: bool, total: int) -> Iterator:
    from tqdm import tqdm

    yield from tqdm(items, total=total, desc="copying", unit="article", disable=not enabled)
