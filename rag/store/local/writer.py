"""Changing an index: new segments and deletions, published by one commit.

`IndexWriter.open(...)` takes the writer lock (one writer at a time; the
next waits or is refused with a clear message) and opens the current commit.
Changes are staged: `add` writes a new segment (invisible until committed),
`delete` notes article rows to delete. `commit()` writes the deletion files,
then the commit file, then swaps `current`: readers see all of it or none of
it. Then it removes what no commit names any more (older commits, merged
segments, leftovers of killed writers) and runs the merge policy.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.errors import IndexFormatError, IndexInvalidError, IndexMissingError, UsageError
from rag.store.base import NewArticle
from rag.store.files import bytes_hash, fsync_dir, point, temporary, write_atomic, writer_lock
from rag.store.local import merge as merging
from rag.store.local.build import SegmentBuilder
from rag.store.local.commit import (
    COMMITS,
    POINTER,
    SEGMENTS,
    Commit,
    SegmentRef,
    commit_name,
    pointer_target,
    read_current,
    write_commit,
)
from rag.store.local.snapshot import Snapshot
from rag.store.postings import build_postings

log = logging.getLogger(__name__)


class IndexWriter:
    """Stages changes to one index; see the module docstring."""

    def __init__(self, root: Path, base: Commit, snapshot: Snapshot | None) -> None:
        self.root = root
        self.base = base  # the commit changes apply to
        self.snapshot = snapshot  # that commit, open (None: an empty index)
        self._new: list[tuple[SegmentRef, Path]] = []
        self._deletions: dict[int, set[int]] = {}  # segment index -> article rows
        self._drop_all = False  # a rebuild: every existing segment goes

    # ------------------------------------------------------------ opening

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        root: Path,
        embedder_id: str | None,
        dim: int | None,
        settings: dict | None,
        what: str,
        wait: float | None = None,
        rebuild: bool = False,
        fresh: bool = False,
    ) -> Iterator[IndexWriter]:
        """The writer for `root`, under its lock.

        `embedder_id`, `dim` and `settings` None: those of the current commit
        (which must exist), read under the lock. An index made with another
        embedder or other settings, or by another version of rag, is refused
        unless `rebuild`: then the next commit replaces everything. `fresh`
        starts from nothing whatever is there (`rag ingest --rebuild`, also
        for an index that cannot be read). A damaged index is never replaced
        silently: articles added from elsewhere would be lost with it.
        """
        root = Path(root)
        _check_root(root)
        existing = embedder_id is None
        with writer_lock(root, what, wait):
            _remove_leftovers(root)
            try:
                snapshot = Snapshot.open(root)
            except IndexMissingError:
                if existing:
                    raise
                snapshot = None
            except IndexFormatError:
                if not (rebuild or fresh):
                    raise
                snapshot = None
            except IndexInvalidError as exc:
                if not fresh:
                    raise IndexInvalidError(
                        f"{exc} (Check it with `rag verify`. `rag ingest --rebuild` builds a new "
                        f"index from the articles folder; articles added from elsewhere with "
                        f"`rag add` would have to be added again.)"
                    ) from None
                log.warning("the index at %s is unreadable; building a new one", root)
                snapshot = None
            if existing:
                assert snapshot is not None
                embedder_id, dim = snapshot.commit.embedder_id, snapshot.commit.dim
                settings = snapshot.commit.settings
            assert embedder_id is not None and dim is not None and settings is not None
            if snapshot is not None:
                same = (
                    snapshot.commit.embedder_id == embedder_id
                    and snapshot.commit.dim == dim
                    and snapshot.commit.settings == settings
                )
                if not same and not rebuild:
                    raise IndexInvalidError(
                        f"the index at {root} was built with embedder "
                        f"{snapshot.commit.embedder_id!r} and settings "
                        f"{snapshot.commit.settings}, not {embedder_id!r} and {settings}; "
                        f"their vectors and passages do not mix. Run `rag ingest` to rebuild "
                        f"it with the new ones."
                    )
                base = replace(snapshot.commit, embedder_id=embedder_id, dim=dim, settings=settings)
                writer = cls(root, base, snapshot)
                writer._drop_all = not same or fresh
            else:
                empty = Commit(generation=0, embedder_id=embedder_id, dim=dim, settings=settings)
                base = replace(empty, generation=_last_generation(root))
                writer = cls(root, base, None)
            try:
                yield writer
            finally:
                writer._abort_uncommitted()

    # ------------------------------------------------------------ the Writer protocol

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def view(self) -> Snapshot | None:
        return self.snapshot

    @property
    def drop_all(self) -> bool:
        return self._drop_all

    @property
    def info(self):
        return self.base.info

    @property
    def generation(self) -> int:
        """The generation the next commit will have."""
        return self.base.generation + 1

    # ------------------------------------------------------------ staging

    def add(self, items: Sequence[NewArticle], dim: int | None = None) -> SegmentRef | None:
        """Write `items` as one new segment (not visible before `commit`).
        Articles are stored grouped by language; their BM25 postings are
        built from each item's tokens."""
        if not items:
            return None
        ordered = sorted(items, key=lambda item: item.article.language)  # stable
        builder = SegmentBuilder(self.root / SEGMENTS, dim or self.base.dim)
        try:
            for item in ordered:
                builder.add(item)
            postings = build_postings([tokens for item in ordered for tokens in item.tokens])
            if len(postings.lengths) != builder.n_chunks:
                raise ValueError("one token list per passage is needed")
            terms = ((term, *postings.of(i)) for i, term in enumerate(postings.terms))
            path = builder.finish(terms, self.generation, self.base.embedder_id)
        except BaseException:
            builder.abort()
            raise
        return self._stage(path)

    def _stage(self, path: Path) -> SegmentRef:
        """Note a segment just written as part of the next commit (removed if
        that commit never happens) and return its reference."""
        self._new.append((SegmentRef(path.name, "", 0, 0, 0), path))
        ref = _ref_for(path)
        self._new[-1] = (ref, path)
        return ref

    def locate(self, doc_id: str) -> tuple[int, int] | None:
        """(segment index, article row) of a live article in the base commit."""
        if self.snapshot is None or self._drop_all:
            return None
        where = self.snapshot.find_article(doc_id)
        if where is None or where[1] in self._deletions.get(where[0], ()):
            return None
        return where

    def delete(self, doc_ids: Iterable[str]) -> list[str]:
        """Stage the deletion of these articles; returns the ids not found."""
        missing = []
        for doc_id in doc_ids:
            where = self.locate(doc_id)
            if where is None:
                missing.append(doc_id)
            else:
                self._deletions.setdefault(where[0], set()).add(where[1])
        return missing

    @property
    def pending(self) -> bool:
        return bool(self._new or self._deletions or self._drop_all)

    # ------------------------------------------------------------ committing

    def commit(self, operation: str, merge: bool = True) -> int:
        """Publish what is staged as one commit (nothing when nothing is);
        then clean up and, with `merge`, apply the merge policy. Returns the
        number of merges it made."""
        if not self.pending:
            return 0
        generation = self.generation
        refs: list[SegmentRef] = []
        if self.snapshot is not None and not self._drop_all:
            for s, ref in enumerate(self.base.segments):
                rows = self._deletions.get(s)
                if rows:
                    ref = self._write_deletions(s, ref, rows, generation)
                if ref.articles - ref.deleted_articles > 0:
                    refs.append(ref)
        refs += [ref for ref, _ in self._new]
        self._publish(self.base.with_segments(tuple(refs), operation))
        return self.apply_merge_policy() if merge else 0

    def _write_deletions(
        self, s: int, ref: SegmentRef, rows: set[int], generation: int
    ) -> SegmentRef:
        """The segment's deletion file with `rows` (live articles) added."""
        assert self.snapshot is not None
        segment = self.snapshot.segments[s]
        all_rows = np.union1d(self.snapshot.deleted[s], np.fromiter(rows, dtype=np.int64))
        all_rows = all_rows.astype("<i4")
        # Only the new rows' spans are read: earlier deletions are counted in `ref`.
        chunks, sentences = ref.deleted_chunks, ref.deleted_sentences
        for row in sorted(rows):
            stored = segment.article(int(row))
            chunks += stored.chunks[1] - stored.chunks[0]
            sentences += stored.sentences[1] - stored.sentences[0]
        name = f"deleted-{generation:08d}.i32"
        data = all_rows.tobytes()
        write_atomic(segment.path / name, data)
        return replace(
            ref,
            deleted=name,
            deleted_hash=bytes_hash(data),
            deleted_articles=len(all_rows),
            deleted_chunks=chunks,
            deleted_sentences=sentences,
        )

    def _publish(self, commit: Commit) -> None:
        target = write_commit(self.root, commit)
        try:
            point(self.root / POINTER, target)
        finally:
            # Once the pointer names the commit it is published, even if what
            # follows the swap (the directory's fsync) is interrupted: its new
            # segments must not be removed as uncommitted.
            if pointer_target(self.root) == target:
                self._new = []
                self._deletions = {}
                self._drop_all = False
                self.base = commit
        previous = self.snapshot
        self.snapshot = Snapshot.open(self.root, previous) if commit.segments else None
        self.collect_garbage()

    def _abort_uncommitted(self) -> None:
        for _, path in self._new:
            shutil.rmtree(path, ignore_errors=True)
        self._new = []

    # ------------------------------------------------------------ merging

    def apply_merge_policy(self, progress: Callable[[int], None] | None = None) -> int:
        """Merge what the policy asks for, one commit per merge; returns the
        number of merges."""
        done = 0
        while self.snapshot is not None:
            sizes = [
                merging.SegmentSize(ref.name, ref.live_chunks, ref.chunks)
                for ref in self.base.segments
            ]
            groups = merging.plan(sizes)
            if not groups:
                break
            self.merge(groups[0], "merge", progress)
            done += 1
        return done

    def compact_after_bulk(self, added: int) -> bool:
        """Merge everything when this change wrote a large share of the index
        (`rag.store.local.merge.after_bulk`); True when it did."""
        counts = self.base.counts
        if merging.after_bulk(added, counts["chunks"], counts["segments"]):
            return self.compact()
        return False

    def compact(self, progress: Callable[[int], None] | None = None) -> bool:
        """Merge every segment into one without deleted articles; False when
        the index already is one such segment (or holds nothing)."""
        if self.snapshot is None or not self.base.segments:
            return False
        refs = self.base.segments
        if len(refs) == 1 and refs[0].deleted_articles == 0:
            return False
        self.merge([ref.name for ref in refs], "compact", progress)
        return True

    def merge(
        self, names: Sequence[str], operation: str, progress: Callable[[int], None] | None = None
    ) -> None:
        """Rewrite the named segments as one (after verifying their checksums)
        and commit the result in their place."""
        assert self.snapshot is not None and not self.pending
        positions = [i for i, ref in enumerate(self.base.segments) if ref.name in names]
        snapshot = self.snapshot
        for i in positions:  # a damaged file must not be copied into a new segment
            snapshot.verify_segment(i)
        sources = [(snapshot.segments[i], snapshot.deleted[i]) for i in positions]
        builder = SegmentBuilder(self.root / SEGMENTS, self.base.dim)
        try:
            postings = merging.merge_into(builder, sources, progress)
            path = builder.finish(postings, self.generation, self.base.embedder_id)
        except BaseException:
            builder.abort()
            raise
        ref = self._stage(path)
        refs = list(self.base.segments)
        first = positions[0]
        kept = [r for i, r in enumerate(refs) if i not in positions]
        refs = kept[:first] + ([ref] if ref.articles else []) + kept[first:]
        commit = self.base.with_segments(tuple(refs), operation)
        self._publish(commit)

    # ------------------------------------------------------------ cleaning up

    def collect_garbage(self) -> None:
        """Remove what the current commit does not name: older commits,
        segments merged away or never committed, old deletion files, and
        builds of the previous index format. Readers that still have them
        open keep reading (POSIX keeps an open file until it is closed); one
        that is opening starts over with the new commit."""
        commit = self.base
        keep_commit = commit_name(commit.generation)
        for path in _children(self.root / COMMITS):
            if path.name != keep_commit:
                _remove(path)
        named = {ref.name: ref for ref in commit.segments}
        open_segments = {s.name: s for s in (self.snapshot.segments if self.snapshot else ())}
        for path in _children(self.root / SEGMENTS):
            ref, segment = named.get(path.name), open_segments.get(path.name)
            if ref is None or segment is None:
                _remove(path)
                continue
            keep = {"meta.json", ref.deleted, *segment.meta["files"]}
            for child in _children(path):
                if child.name not in keep:
                    _remove(child)
        for path in _children(self.root):  # the previous format, and killed writers' files
            if path.name.startswith("build-") or temporary(path.name):
                _remove(path)
        for path in (self.root / COMMITS, self.root / SEGMENTS, self.root):
            if path.is_dir():
                fsync_dir(path)


def _remove_leftovers(root: Path) -> None:
    """Remove what killed writers left half-written: under the lock no other
    writer is building, so every unfinished build is an orphan (a commit
    removes the rest of what it does not name)."""
    segments = _children(root / SEGMENTS)
    for folder in (root, root / SEGMENTS, root / COMMITS, *segments):
        for path in _children(folder):
            if temporary(path.name):
                _remove(path)


def _check_root(root: Path) -> None:
    """Refuse a root that is not (or cannot become) an index directory."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"the index location {root} is a file, not a directory")
    if (root / "meta.json").exists() or (root / "manifest.json").exists():
        raise UsageError(
            f"{root} is one segment (or build) inside an index; give the index directory "
            f"that holds it instead"
        )
    pointer = root / POINTER
    if pointer.exists() and not pointer.is_symlink():
        raise IndexInvalidError(
            f"{pointer} is not a link (was the index copied without keeping links? copy it "
            f"with `cp -a`). Move it away, then run `rag ingest` again."
        )


def _ref_for(path: Path) -> SegmentRef:
    from rag.store.local.segment import read_meta

    meta = read_meta(path)
    counts = meta["counts"]
    return SegmentRef(
        name=meta["name"],
        meta_hash=bytes_hash((path / "meta.json").read_bytes()),
        articles=counts["articles"],
        chunks=counts["chunks"],
        sentences=counts["sentences"],
    )


def _last_generation(root: Path) -> int:
    """The highest generation any commit file under `root` has (0 if none):
    a new index continues after it, so no file name is ever reused."""
    best = 0
    for path in _children(root / COMMITS):
        stem = path.name.removeprefix("commit-").removesuffix(".json")
        if stem.isdigit():
            best = max(best, int(stem))
    with contextlib.suppress(IndexInvalidError, IndexMissingError, OSError):
        best = max(best, read_current(root)[0].generation)
    return best


def _children(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
