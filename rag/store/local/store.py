"""The local backend as a `rag.store.base.Store`: an index folder on this machine."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from rag.errors import IndexInvalidError
from rag.store.base import Maintenance
from rag.store.files import lock_holder
from rag.store.local.commit import pointer_target
from rag.store.local.snapshot import Snapshot
from rag.store.local.writer import IndexWriter


class LocalStore:
    """The index in folder `root` (segments, commits, the `current` pointer)."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def current(self) -> str | None:
        return pointer_target(self.root)

    def open(self, previous: Snapshot | None = None, preload: bool = False) -> Snapshot:
        return Snapshot.open(self.root, previous=previous, preload=preload)

    def writer(
        self,
        embedder_id: str | None,
        dim: int | None,
        settings: dict | None,
        what: str,
        wait: float | None = None,
        rebuild: bool = False,
        fresh: bool = False,
    ) -> AbstractContextManager[IndexWriter]:
        return IndexWriter.open(
            self.root, embedder_id, dim, settings, what, wait, rebuild=rebuild, fresh=fresh
        )

    def writer_holder(self) -> str | None:
        return lock_holder(self.root)

    def status(self) -> dict:
        """The current commit, described. Checks what reading no data can
        (`Snapshot.check_quick`): the commit's checksum and settings, every
        file's size, each candidate index's kind, dimension, count and
        metric, and no stray files."""
        snapshot = Snapshot.open(self.root)
        snapshot.check_quick()
        commit = snapshot.commit
        size = sum(
            info["bytes"]
            for segment in snapshot.segments
            for info in segment.meta["files"].values()
        )
        return {
            "store": "local",
            "index": self.location,
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
            "storage": f"{commit.counts['segments']} segment(s), "
            f"{commit.counts['deleted_chunks']} deleted passages not yet merged away, "
            f"{size / 1e6:.1f} MB",
            "checked": "file sizes, settings, candidate indexes (kind, dimension, metric), no "
            "stray files;\n           `rag verify` also checks every checksum, vector and passage",
            "writer": self.writer_holder(),
        }

    def verify(self, progress: Callable[[int, int], None] | None = None) -> dict:
        """Hash every file of the current commit against its recorded BLAKE3;
        `IndexInvalidError` names the first file that differs. `progress(i,
        n)` is called before each of n segments."""
        for attempt in range(3):
            snapshot = Snapshot.open(self.root)
            n = len(snapshot.segments)
            try:
                snapshot.verify(progress=lambda i, _s, n=n: progress and progress(i, n))
                break
            except IndexInvalidError:
                # A writer that committed meanwhile may have merged files away:
                # check the new commit instead, unless nothing changed.
                if attempt == 2 or pointer_target(self.root) == snapshot.target:
                    raise
        files = sum(len(s.meta["files"]) + 1 for s in snapshot.segments)
        files += sum(1 for ref in snapshot.commit.segments if ref.deleted)
        size = sum(i["bytes"] for s in snapshot.segments for i in s.meta["files"].values())
        return {
            "generation": snapshot.commit.generation,
            # the files and the commit itself
            "checked": f"all {files + 1} files of {len(snapshot.segments)} segment(s) match "
            f"their checksums",
            "bytes": size,
        }

    def compact(
        self, progress: Callable[[int], None] | None = None, wait: float | None = None
    ) -> Maintenance:
        """Merge every segment into one, without deleted articles."""
        with IndexWriter.open(self.root, None, None, None, "rag compact", wait) as writer:
            before = writer.base.counts
            changed = writer.compact(progress=progress)
            return Maintenance(changed, writer.base.generation, before)
