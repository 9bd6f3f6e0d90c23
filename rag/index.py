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

from rag.embedding import Embedder
from rag.errors import IndexInvalidError, UsageError
from rag.ingest import IngestReport, add_documents, add_files, build_index, remove_articles
from rag.records import Document
from rag.settings import Settings
from rag.store.commit import pointer_target
from rag.store.files import lock_holder
from rag.store.snapshot import Snapshot
from rag.store.writer import IndexWriter


@dataclass(frozen=True)
class VerifyReport:
    index: Path
    generation: int
    segments: int
    files: int
    bytes: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"Index {self.index} (commit {self.generation}): all {self.files} files of "
            f"{self.segments} segment(s) match their checksums ({self.bytes / 1e6:.1f} MB in "
            f"{self.seconds:.1f}s)."
        )


@dataclass(frozen=True)
class CompactReport:
    index: Path
    generation: int
    segments_before: int
    deleted_before: int
    changed: bool
    seconds: float

    def __str__(self) -> str:
        if not self.changed:
            return f"Index {self.index} is already one segment without deleted articles."
        return (
            f"Merged {self.segments_before} segment(s) into one, dropping "
            f"{self.deleted_before} deleted passages, in {self.seconds:.1f}s (commit "
            f"{self.generation})."
        )


def status(settings: Settings) -> dict:
    """The current commit, described: counts, languages, segments, size.
    Checks what reading no data can (`Snapshot.check_quick`): the commit's
    checksum and settings, every file's size, each candidate index's kind,
    dimension, count and metric, and no stray files."""
    snapshot = Snapshot.open(settings.index_path)
    snapshot.check_quick()
    commit = snapshot.commit
    size = 0
    for segment in snapshot.segments:
        size += sum(info["bytes"] for info in segment.meta["files"].values())
    return {
        "index": str(settings.index_path),
        "generation": commit.generation,
        "created": commit.created,
        "operation": commit.operation,
        "embedder": {"id": commit.embedder_id, "dim": commit.dim},
        "settings": commit.settings,
        "counts": commit.counts,
        "languages": snapshot.language_counts,
        "segments": [
            {
                "name": ref.name,
                "passages": ref.chunks,
                "deleted_passages": ref.deleted_chunks,
                "dense": {k: v["kind"] for k, v in seg.meta["dense"].items()},
            }
            for ref, seg in zip(commit.segments, snapshot.segments, strict=True)
        ],
        "bytes": size,
        "writer": lock_holder(settings.index_path),
    }


def verify(settings: Settings, progress: bool = False) -> VerifyReport:
    """Hash every file of the current commit against its recorded BLAKE3;
    `IndexInvalidError` (exit 3) names the first file that differs."""
    from tqdm import tqdm

    started = time.perf_counter()
    for attempt in range(3):
        snapshot = Snapshot.open(settings.index_path)
        bar = tqdm(
            total=len(snapshot.segments),
            desc="verifying",
            unit="segment",
            disable=not progress or len(snapshot.segments) < 2,
            leave=False,
        )
        try:
            with bar:
                snapshot.verify(progress=lambda i, segment, bar=bar: bar.update(1 if i else 0))
            break
        except IndexInvalidError:
            # A writer that committed meanwhile may have merged files away:
            # check the new commit instead, unless nothing changed.
            if attempt == 2 or pointer_target(settings.index_path) == snapshot.target:
                raise
    files = sum(len(s.meta["files"]) + 1 for s in snapshot.segments)
    files += sum(1 for ref in snapshot.commit.segments if ref.deleted)
    size = sum(i["bytes"] for s in snapshot.segments for i in s.meta["files"].values())
    return VerifyReport(
        settings.index_path,
        snapshot.commit.generation,
        len(snapshot.segments),
        files + 1,  # and the commit itself
        size,
        time.perf_counter() - started,
    )


def compact(settings: Settings, progress: bool = False, wait: float | None = None) -> CompactReport:
    """Merge every segment into one, without deleted articles (`rag compact`)."""
    started = time.perf_counter()
    with IndexWriter.open(settings.index_path, None, None, None, "rag compact", wait) as writer:
        before = writer.base.counts
        total = before["chunks"]
        from tqdm import tqdm

        with tqdm(
            total=total, desc="compacting", unit="passage", disable=not progress, leave=False
        ) as bar:
            changed = writer.compact(progress=bar.update)
        return CompactReport(
            settings.index_path,
            writer.base.generation,
            before["segments"],
            before["deleted_chunks"],
            changed,
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
