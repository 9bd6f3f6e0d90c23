"""A snapshot: one commit, opened for searching.

Passages are addressed by a global id, their segment's base plus their row,
in commit order. Opening costs a few small reads per segment (manifests,
deletion lists, candidate indexes) and is independent of the number of
passages otherwise; reopening after a new commit reuses the segments already
open, so picking up an added article costs only its new segment.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import IndexInvalidError
from rag.records import Article, Chunk, Sentence
from rag.store.base import ArticleInfo, IndexedFile, IndexInfo, Listed, StoredVectors
from rag.store.files import bytes_hash, file_hash
from rag.store.local import dense
from rag.store.local.commit import REBUILD, SEGMENTS, Commit, SegmentRef, read_current
from rag.store.local.schema import StoredArticle
from rag.store.local.segment import Segment, read_meta
from rag.store.postings import idf, length_norms, segment_scores, top_positive


@dataclass(frozen=True)
class Lexical:
    """BM25 scores of one question over every segment (one array per segment)."""

    scores: tuple[np.ndarray, ...]


class Snapshot:
    """One commit's segments, with their deletions applied. Thread-safe."""

    def __init__(
        self,
        root: Path,
        commit: Commit,
        target: str,
        segments: Sequence[Segment],
        deleted: Sequence[np.ndarray],
    ) -> None:
        self.root = root
        self.commit = commit
        self.target = target  # the pointer's target when opened: the version
        self.segments = tuple(segments)
        self.deleted = tuple(deleted)  # sorted article rows, per segment
        sizes = [s.n_chunks for s in self.segments]
        self.bases = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.size = int(self.bases[-1])
        self._live: list[np.ndarray | None] = []
        self._bitmaps: list[dict[str, np.ndarray]] = []
        for segment, rows in zip(self.segments, self.deleted, strict=True):
            if len(rows):
                live = ~np.isin(np.asarray(segment.chunk_docs), rows)
                self._live.append(live)
                self._bitmaps.append(
                    {
                        lang: np.packbits(live[a:b], bitorder="little")
                        for lang, (a, b) in segment.languages.items()
                    }
                )
            else:
                self._live.append(None)
                self._bitmaps.append({})
        counts: dict[str, int] = {}
        for segment, live in zip(self.segments, self._live, strict=True):
            for lang, (a, b) in segment.languages.items():
                n = (b - a) if live is None else int(live[a:b].sum())
                if n:
                    counts[lang] = counts.get(lang, 0) + n
        self.language_counts = dict(sorted(counts.items()))
        self.languages = sorted(counts)
        # BM25 statistics of the whole index (deleted passages count until merged).
        self.n_docs = self.size
        total = sum(s.total_length for s in self.segments)
        self.avg_length = total / self.n_docs if self.n_docs else 0.0
        # Caches are plain bounded dicts (no bound methods kept on self: a
        # reference cycle would keep dropped snapshots, and so their files,
        # alive until the cycle collector runs).
        self._lock = threading.Lock()
        self._found: dict[str, tuple[int, int] | None] = {}
        self._articles: dict[tuple[int, int], StoredArticle] = {}
        self._sentence_cache: dict[tuple[int, int], tuple] = {}
        self._norm_cache: dict[int, np.ndarray] = {}
        self._info_cache: dict[tuple[int, int], ArticleInfo] = {}
        self._article_dates: dict[int, np.ndarray] = {}
        self._date_cache: dict[tuple, np.ndarray] = {}
        self._copies: dict[str, tuple[ArticleInfo, ...]] | None = None

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, root: Path, previous: Snapshot | None = None, preload: bool = False) -> Snapshot:
        """The current commit under `root`. Segments `previous` already has
        open are reused; `preload` reads the candidate indexes too (for a
        searcher). If a commit replaces this one while it opens (and removes
        a file it named), opening starts over with the new one."""
        root = Path(root)
        attempts = 5
        for attempt in range(attempts):
            target = _pointer(root)
            try:
                commit, target = read_current(root)
                snapshot = cls._open(root, commit, target, previous)
                return snapshot.preload() if preload else snapshot
            except IndexInvalidError:
                if attempt == attempts - 1 or _pointer(root) == target:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _open(cls, root: Path, commit: Commit, target: str, previous: Snapshot | None) -> Snapshot:
        reuse = {s.name: s for s in previous.segments} if previous is not None else {}
        segments, deleted = [], []
        for ref in commit.segments:
            path = root / SEGMENTS / ref.name
            segment = reuse.get(ref.name)
            if segment is None:
                segment = open_segment(path, ref)
            if segment.dim != commit.dim:
                raise IndexInvalidError(
                    f"segment {path} holds vectors of dimension {segment.dim}, the index "
                    f"{commit.dim}. {REBUILD}"
                )
            segments.append(segment)
            deleted.append(read_deleted(path, ref, segment))
        return cls(root, commit, target, segments, deleted)

    # ------------------------------------------------------------ addressing

    def locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment index, row) of each global passage id."""
        ids = np.asarray(ids, dtype=np.int64)
        seg = np.searchsorted(self.bases, ids, side="right") - 1
        return seg, ids - self.bases[seg]

    def languages_of(self, ids: np.ndarray) -> np.ndarray:
        seg, rows = self.locate(ids)
        out = np.empty(len(ids), dtype=object)
        for s in np.unique(seg):
            mask = seg == s
            out[mask] = self.segments[s].language_of_rows(rows[mask])
        return out

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """Exact float32 vectors of global passage ids, in order."""
        seg, rows = self.locate(ids)
        out = np.empty((len(ids), self.commit.dim), dtype=np.float32)
        for s in np.unique(seg):
            mask = seg == s
            out[mask] = self.segments[s].vectors[rows[mask]]
        return out

    # ------------------------------------------------------------ search

    def dense_candidates(
        self,
        query: np.ndarray,
        language: str,
        depth: int,
        probe_share: float = 0.0,
        dates: tuple[str, str] | None = None,
    ) -> np.ndarray:
        """Global ids of up to `depth` passages in `language` nearest the query,
        picked by each segment's candidate index, ranked by exact similarity;
        only passages of articles dated in `dates` (first, after) if given."""
        found = []
        for s, segment in enumerate(self.segments):
            index = segment.dense(language)
            if index is None:
                continue
            start, end = segment.languages[language]
            if dates is None:
                bitmap = self._bitmaps[s].get(language)
            else:
                allowed = self._dated(s, dates)[start:end]
                if not allowed.any():
                    continue
                bitmap = np.packbits(allowed, bitorder="little")
            local = dense.search(index, query, depth, bitmap, probe_share)
            found.append(self.bases[s] + start + local)
        if not found:
            return np.zeros(0, dtype=np.int64)
        ids = np.concatenate(found)
        if len(found) > 1 and len(ids) > depth:
            exact = self.vectors_of(ids) @ query
            ids = ids[np.argsort(-exact, kind="stable")[:depth]]
        return ids

    def candidates(
        self,
        query: np.ndarray,
        lexical: Lexical,
        depths: dict[str, int],
        probe_share: float = 0.0,
        dates: tuple[str, str] | None = None,
    ) -> np.ndarray:
        """Dense and lexical candidates of each language (see `rag.store.base.View`)."""
        found = [np.zeros(0, dtype=np.int64)]
        for language, depth in depths.items():
            found.append(self.dense_candidates(query, language, depth, probe_share, dates))
            found.append(self.lexical_top(lexical, language, depth, dates))
        return np.concatenate(found)

    def _dated(self, s: int, dates: tuple[str, str]) -> np.ndarray:
        """Which passages of segment `s` are live and of an article dated in
        [first, after) (bool per row; cached per range)."""
        key = (s, dates)
        mask = self._date_cache.get(key)
        if mask is None:
            segment = self.segments[s]
            if s not in self._article_dates:
                self._article_dates[s] = segment.article_dates()
            first, after = dates
            article_ok = np.array(
                [d != "" and first <= d < after for d in self._article_dates[s]], dtype=bool
            )
            mask = article_ok[np.asarray(segment.chunk_docs)] if len(article_ok) else article_ok
            if self._live[s] is not None:
                mask = mask & self._live[s]
            _bounded_put(self._date_cache, key, mask, 64)
        return mask

    def lexical(self, terms: Sequence[str]) -> Lexical:
        """BM25 scores of every passage for the (already stemmed) query terms,
        with whole-index statistics; deleted passages score 0."""
        terms = sorted(set(t for t in terms if t))
        per_segment: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.segments]
        df = dict.fromkeys(terms, 0)
        for s, segment in enumerate(self.segments):
            for term in terms:
                found = segment.term(term)
                if found is not None:
                    per_segment[s].append((term, *found))
                    df[term] += len(found[0])
        scores = []
        for s, segment in enumerate(self.segments):
            matches = [(idf(df[t], self.n_docs), rows, tfs) for t, rows, tfs in per_segment[s]]
            score = segment_scores(matches, self._norms(s), segment.n_chunks)
            if self._live[s] is not None:
                score[~self._live[s]] = 0
            scores.append(score)
        return Lexical(tuple(scores))

    def preload(self) -> Snapshot:
        """Read every candidate index and BM25 length norm now (a searcher's
        first question then waits for nothing); returns the snapshot."""
        for s, segment in enumerate(self.segments):
            for language in segment.languages:
                segment.dense(language)
            self._norms(s)
        return self

    def _norms(self, s: int) -> np.ndarray:
        """The BM25 length norms of segment `s` under this commit's statistics."""
        norms = self._norm_cache.get(s)
        if norms is None:
            norms = length_norms(self.segments[s].lengths, self.avg_length)
            self._norm_cache[s] = norms
        return norms

    def lexical_top(
        self, lexical: Lexical, language: str, depth: int, dates: tuple[str, str] | None = None
    ) -> np.ndarray:
        """Global ids of up to `depth` passages in `language` with the highest
        positive BM25 score (of articles dated in `dates`, if given)."""
        ids, values = [], []
        for s, segment in enumerate(self.segments):
            span = segment.languages.get(language)
            if span is None:
                continue
            part = lexical.scores[s][span[0] : span[1]]
            if dates is not None:
                part = np.where(self._dated(s, dates)[span[0] : span[1]], part, 0)
            hits = top_positive(part, depth)
            ids.append(self.bases[s] + span[0] + hits)
            values.append(part[hits])
        if not ids:
            return np.zeros(0, dtype=np.int64)
        ids_all, values_all = np.concatenate(ids), np.concatenate(values)
        order = np.lexsort((ids_all, -values_all))[:depth]
        return ids_all[order]

    def lexical_of(self, lexical: Lexical, ids: np.ndarray) -> np.ndarray:
        seg, rows = self.locate(ids)
        out = np.zeros(len(ids), dtype=np.float32)
        for s in np.unique(seg):
            mask = seg == s
            out[mask] = lexical.scores[s][rows[mask]]
        return out

    # ------------------------------------------------------------ records

    def chunks_of(self, ids: Sequence[int]) -> list[tuple[Chunk, ArticleInfo]]:
        """Each global passage id's Chunk (with its article id) and what a
        hit shows of its article."""
        seg, rows = self.locate(np.asarray(ids, dtype=np.int64))
        out: list[tuple[Chunk, ArticleInfo] | None] = [None] * len(rows)
        for s in np.unique(seg):
            positions = np.flatnonzero(seg == s)
            found = self.segments[s].chunks([int(r) for r in rows[positions]])
            infos = self._infos(int(s), [doc_row for doc_row, _ in found])
            for pos, (doc_row, chunk) in zip(positions, found, strict=True):
                info = infos[doc_row]
                out[pos] = (_with_doc(chunk, info.id), info)
        return out  # type: ignore[return-value]

    def _infos(self, s: int, rows: list[int]) -> dict[int, ArticleInfo]:
        cache = self._info_cache
        out = {r: cache[(s, r)] for r in rows if (s, r) in cache}
        missing = sorted({r for r in rows if r not in out})
        if missing:
            fetched = self.segments[s].article_infos(missing)
            out.update(fetched)
            with self._lock:
                if len(cache) > 50_000:
                    cache.clear()
                cache.update({(s, r): info for r, info in fetched.items()})
        return out

    def _article(self, s: int, row: int) -> StoredArticle:
        key = (s, row)
        found = self._articles.get(key)
        if found is None:
            found = self.segments[s].article(row)
            _bounded_put(self._articles, key, found, 1024)
        return found

    @functools.cached_property
    def _dead(self) -> tuple[frozenset[int], ...]:
        """`deleted` as sets, for scans that test every row (a bisection per
        row in Python cost 0.5 s per scan of a 1M-passage index); made at the
        first such test, not at every open."""
        return tuple(frozenset(rows.tolist()) for rows in self.deleted)

    def find_article(self, doc_id: str) -> tuple[int, int] | None:
        """(segment index, row) of the live article with this id, or None."""
        if doc_id in self._found:
            return self._found[doc_id]
        where = None
        for s in range(len(self.segments) - 1, -1, -1):  # newest first
            row = self.segments[s].find_article(doc_id)
            if row is not None and row not in self._dead[s]:
                where = (s, row)
                break
        _bounded_put(self._found, doc_id, where, 4096)
        return where

    def article(self, doc_id: str) -> Article | None:
        where = self.find_article(doc_id)
        return None if where is None else self._article(*where).article

    def stored_article(self, doc_id: str) -> tuple[int, StoredArticle] | None:
        where = self.find_article(doc_id)
        return None if where is None else (where[0], self._article(*where))

    def sentences(self, doc_id: str) -> tuple[Article, tuple[Sentence, ...], np.ndarray] | None:
        """An article, its sentences in order and their vectors; None when no
        live article has this id."""
        where = self.find_article(doc_id)
        if where is None:
            return None
        found = self._sentence_cache.get(where)
        if found is None:
            stored = self._article(*where)
            sentences, vectors = self.segments[where[0]].sentences(stored)
            vectors = np.array(vectors)  # a copy: the mapping's pages need not stay resident
            vectors.setflags(write=False)
            found = (stored.article, tuple(sentences), vectors)
            _bounded_put(self._sentence_cache, where, found, 1024)
        return found

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        """(chunk id, article id, text) of every live passage (for evaluation)."""
        for s, segment in enumerate(self.segments):
            live = self._live[s]
            ids: dict[int, str] = {}
            for row, doc_row, chunk_id, text in segment.iter_chunks():
                if live is not None and not live[row]:
                    continue
                if doc_row not in ids:
                    ids[doc_row] = self._infos(s, [doc_row])[doc_row].id
                yield chunk_id, ids[doc_row], text

    def iter_articles(self) -> Iterator[tuple[int, StoredArticle]]:
        """(segment index, stored article) of every live article."""
        for s, segment in enumerate(self.segments):
            for stored in segment.iter_articles():
                if stored.row not in self._dead[s]:
                    yield s, stored

    def article_languages(self) -> dict[str, int]:
        """Live articles per language (reads one column of every article row)."""
        counts: dict[str, int] = {}
        for s, segment in enumerate(self.segments):
            for language, n in segment.article_languages(self._dead[s]).items():
                counts[language] = counts.get(language, 0) + n
        return dict(sorted(counts.items()))

    # ------------------------------------------------------------ the View protocol

    @property
    def info(self) -> IndexInfo:
        return self.commit.info

    @property
    def location(self) -> str:
        return str(self.root)

    def articles(self) -> Iterator[Article]:
        """Every live article."""
        for _, stored in self.iter_articles():
            yield stored.article

    def article_files(self) -> Iterator[IndexedFile]:
        """Where every live article came from (no text read)."""
        for s, segment in enumerate(self.segments):
            dead = self._dead[s]
            for row, doc_id, file, size, mtime, hashed in segment.article_files():
                if row not in dead:
                    yield IndexedFile(doc_id, file, size, mtime, hashed)

    def catalog(self) -> Iterator[Listed]:
        """Every live article with its passage count and file (no text)."""
        for s, segment in enumerate(self.segments):
            dead = self._dead[s]
            for info, passages, file in segment.catalog():
                if info.row not in dead:
                    yield Listed(info, passages, file)

    def signatures(self) -> Iterator[tuple[str, str, bytes, str | None]]:
        """(id, language, copy signature, copy_of) of every live article that
        has a signature (articles of version 1 segments have none)."""
        for s, segment in enumerate(self.segments):
            dead = self._dead[s]
            for row, doc_id, language, signature, copy_of in segment.signatures():
                if row not in dead:
                    yield doc_id, language, signature, copy_of

    def copies(self) -> dict[str, tuple[ArticleInfo, ...]]:
        """Every story with more than one live article: {key: its articles,
        the key's own first when it is live}. Worked out once per snapshot
        from the few rows that are copies."""
        if self._copies is not None:
            return self._copies
        members: dict[str, list[ArticleInfo]] = {}
        for s, segment in enumerate(self.segments):
            dead = self._dead[s]
            for info in segment.copy_infos():
                if info.row not in dead:
                    members.setdefault(info.copy_of or "", []).append(info)
        groups: dict[str, tuple[ArticleInfo, ...]] = {}
        for key, found in members.items():
            where = self.find_article(key)
            first = [self._infos(where[0], [where[1]])[where[1]]] if where else []
            if len(first) + len(found) > 1:
                groups[key] = tuple(first + found)
        self._copies = groups
        return groups

    def stored(self, doc_id: str) -> StoredVectors | None:
        """A live article with its passages, sentences and their vectors."""
        found = self.stored_article(doc_id)
        if found is None:
            return None
        s, stored = found
        segment = self.segments[s]
        c0, c1 = stored.chunks
        chunks = tuple(chunk for _, chunk in segment.chunks(list(range(c0, c1))))
        sentences, sentence_vectors = segment.sentences(stored)
        return StoredVectors(
            stored.article,
            chunks,
            np.array(segment.read_vectors(c0, c1)),
            tuple(sentences),
            np.array(sentence_vectors),
            stored.signature,
        )

    def live_mask(self, s: int) -> np.ndarray | None:
        """Which rows of segment `s` are live (None: all of them)."""
        return self._live[s]

    # ------------------------------------------------------------ integrity

    def verify(self, progress=None) -> None:
        """Hash every file of every segment and every deletion list."""
        for s, segment in enumerate(self.segments):
            if progress:
                progress(s, segment)
            self.verify_segment(s)

    def check_quick(self) -> None:
        """The checks that read no data (for `rag status`): besides the
        sizes and manifests opening checked, each candidate index's header
        (kind, dimension, count, metric) and no stray files."""
        for s, segment in enumerate(self.segments):
            segment.check_dense()
            self._check_stray(s)

    def _check_stray(self, s: int) -> None:
        segment, ref = self.segments[s], self.commit.segments[s]
        if stray := segment.stray_files({ref.deleted} if ref.deleted else set()):
            raise IndexInvalidError(
                f"{segment.path} holds file(s) no commit names: {', '.join(stray)}. "
                f"Remove them, or rebuild: {REBUILD}"
            )

    def verify_segment(self, s: int) -> None:
        """Hash every file of segment `s` and its deletion list against what
        the commit and the segment's manifest record."""
        segment, ref = self.segments[s], self.commit.segments[s]
        try:
            check_meta_hash(segment.path, ref)
            segment.verify()
            segment.check_meaning(self.commit.settings)
            self._check_stray(s)
            if ref.deleted:
                path = segment.path / ref.deleted
                if file_hash(path) != ref.deleted_hash:
                    raise IndexInvalidError(
                        f"index file {path} does not match its checksum. {REBUILD}"
                    )
        except FileNotFoundError as exc:
            raise IndexInvalidError(f"index file {exc.filename} is missing. {REBUILD}") from None
        except OSError as exc:
            raise IndexInvalidError(f"cannot read {segment.path}: {exc}. {REBUILD}") from None


def open_segment(path: Path, ref: SegmentRef) -> Segment:
    if not path.is_dir():
        raise IndexInvalidError(f"index segment {path} is missing. {REBUILD}")
    check_meta_hash(path, ref)
    meta = read_meta(path)
    if meta["name"] != ref.name:
        raise IndexInvalidError(f"{path / 'meta.json'} names another segment. {REBUILD}")
    counts = meta["counts"]
    if (counts["articles"], counts["chunks"], counts["sentences"]) != (
        ref.articles,
        ref.chunks,
        ref.sentences,
    ):
        raise IndexInvalidError(f"{path / 'meta.json'} does not agree with the commit. {REBUILD}")
    return Segment(path, meta)


def check_meta_hash(path: Path, ref: SegmentRef) -> None:
    _read_checked(path / "meta.json", ref.meta_hash)


def _read_checked(where: Path, expected: str | None) -> bytes:
    """A small index file's bytes, which must hash to what the commit says."""
    try:
        data = where.read_bytes()
    except FileNotFoundError:
        raise IndexInvalidError(f"index file {where} is missing. {REBUILD}") from None
    if bytes_hash(data) != expected:
        raise IndexInvalidError(
            f"index file {where} does not match its checksum (altered). {REBUILD}"
        )
    return data


def read_deleted(path: Path, ref: SegmentRef, segment: Segment) -> np.ndarray:
    """The sorted deleted article rows a commit records for a segment."""
    if ref.deleted is None:
        return np.zeros(0, dtype=np.int32)
    where = path / ref.deleted
    data = _read_checked(where, ref.deleted_hash)
    rows = np.frombuffer(data, dtype="<i4") if len(data) % 4 == 0 else None
    if (
        rows is None
        or len(rows) != ref.deleted_articles
        or (len(rows) and (rows.min() < 0 or rows.max() >= segment.n_articles))
        or np.any(np.diff(rows) <= 0)
    ):
        raise IndexInvalidError(f"index file {where} is malformed. {REBUILD}")
    return rows.astype(np.int32)


def _bounded_put(cache: dict, key, value, limit: int) -> None:
    """Store in a cache that forgets everything once it holds `limit` items
    (cheap, and good enough for per-commit lookups)."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


def _with_doc(chunk: Chunk, doc_id: str) -> Chunk:
    from dataclasses import replace

    return replace(chunk, doc_id=doc_id)


def _pointer(root: Path) -> str | None:
    from rag.store.local.commit import pointer_target

    return pointer_target(root)
