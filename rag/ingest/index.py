"""Keeping an index current from Python, and looking after it.

`Index` gathers the operations `rag ingest`, `add`, `remove`, `compact`,
`verify` and `status` run, on one index:

    import rag
    index = rag.Index()                      # ./index, RAG_* variables apply
    index.sync()                             # like `rag ingest`: only what changed
    index.add("new-article.txt")             # or a folder, or several
    index.remove("old-article")              # by article id
    index.compact()                          # one segment, deleted articles gone
    index.verify()                           # every checksum; IndexInvalidError names the file

A running `Retriever` (and so `rag.retrieve`, `rag.answer` and the app) sees
each change at its next question.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.embed.base import Embedder
from rag.errors import UsageError
from rag.ingest.pipeline import IngestReport, add_documents, add_files, build_index, remove_articles
from rag.records import Document
from rag.settings import Settings
from rag.store import open_store


@dataclass(frozen=True)
class VerifyReport:
    index: str
    generation: int
    checked: str  # what was found sound, e.g. "all 25 files of 3 segment(s) match ..."
    bytes: int
    seconds: float

    def __str__(self) -> str:
        size = f"{self.bytes / 1e6:.1f} MB in " if self.bytes else ""
        return (
            f"Index {self.index} (commit {self.generation}): {self.checked} "
            f"({size}{self.seconds:.1f}s)."
        )


@dataclass(frozen=True)
class CompactReport:
    index: str
    generation: int
    segments_before: int
    deleted_before: int
    changed: bool
    seconds: float

    def __str__(self) -> str:
        if not self.changed:
            return f"Index {self.index} is already compact: nothing deleted is kept."
        merged = (
            f"Merged {self.segments_before} segment(s) into one, d" if self.segments_before else "D"
        )
        return (
            f"{merged}ropped {self.deleted_before} deleted passages in {self.seconds:.1f}s "
            f"(commit {self.generation})."
        )


def status(settings: Settings) -> dict:
    """The current commit, described: counts, languages, where and how it is
    stored. Checks what reading no data can (for the local backend: every
    checksum of the commit, file sizes, each candidate index; for Milvus: the
    collections' schemas and the recorded counts)."""
    return open_store(settings).status()


def verify(settings: Settings, progress: bool = False) -> VerifyReport:
    """Check the whole index against what was recorded (every file's BLAKE3
    for the local backend); `IndexInvalidError` (exit 3) names what differs."""
    from tqdm import tqdm

    started = time.perf_counter()
    store = open_store(settings)
    with tqdm(desc="verifying", unit="part", disable=not progress, leave=False) as bar:

        def step(i: int, n: int) -> None:
            bar.total = n
            bar.update(1 if i else 0)

        found = store.verify(progress=step)
    return VerifyReport(
        store.location,
        found["generation"],
        found["checked"],
        found["bytes"],
        time.perf_counter() - started,
    )


def compact(settings: Settings, progress: bool = False, wait: float | None = None) -> CompactReport:
    """Rewrite the index without deleted articles (`rag compact`): one segment
    for the local backend, Milvus's own compaction for Milvus."""
    from tqdm import tqdm

    started = time.perf_counter()
    store = open_store(settings)
    with tqdm(desc="compacting", unit="passage", disable=not progress, leave=False) as bar:
        done = store.compact(progress=bar.update, wait=wait)
    return CompactReport(
        store.location,
        done.generation,
        done.before.get("segments", 0),
        done.before.get("deleted_chunks", 0),
        done.changed,
        time.perf_counter() - started,
    )


class Index:
    """One index on disk, to keep current from Python (see the module docstring).

    `settings` names the index and the articles folder (default:
    `Settings.from_env()`); `embedder` defaults to the one settings name.
    Every method takes the writer lock for its duration: `wait` is how long
    to wait for another writer (None: as long as it takes; 0: raise
    `IndexBusyError` at once).
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder = embedder

    def sync(
        self, folder: str | Path | None = None, progress: bool = False, wait: float | None = None
    ) -> IngestReport:
        """Bring the index in step with `folder` (default: the settings' seeds
        folder), as `rag ingest` does."""
        settings = self.settings
        if folder is not None:
            from dataclasses import replace

            settings = replace(settings, seeds_dir=Path(folder))
        return build_index(settings, progress, self.embedder, wait)

    def add(
        self, *paths: str | Path, progress: bool = False, wait: float | None = None
    ) -> IngestReport:
        """Store the articles of these files or folders, replacing same ids."""
        if not paths:
            raise UsageError("give the files or folders to add")
        return add_files(self.settings, [Path(p) for p in paths], progress, self.embedder, wait)

    def add_documents(
        self, documents: Sequence[Document], progress: bool = False, wait: float | None = None
    ) -> IngestReport:
        """Store these `rag.Document`s, replacing same ids."""
        return add_documents(self.settings, list(documents), progress, self.embedder, wait)

    def remove(self, *doc_ids: str, wait: float | None = None) -> IngestReport:
        """Delete these articles; an unknown id raises `UsageError` and
        removes nothing."""
        return remove_articles(self.settings, list(doc_ids), wait)

    def compact(self, progress: bool = False, wait: float | None = None) -> CompactReport:
        return compact(self.settings, progress, wait)

    def verify(self, progress: bool = False) -> VerifyReport:
        return verify(self.settings, progress)

    def status(self) -> dict:
        return status(self.settings)
