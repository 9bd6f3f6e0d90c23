"""Writing one segment: records, vectors, postings and dense indexes, then a manifest.

`SegmentBuilder` streams: articles arrive one at a time, grouped by language
(in sorted language order), and go straight to SQLite and to the vector
files, so building a segment from a merge of large ones holds little in
memory. `finish` writes the postings (given sorted by term), builds each
language's dense index from the memory-mapped vectors, records every file's
size and BLAKE3 in `meta.json`, fsyncs, and renames the directory into place.
Until that rename the segment does not exist for anyone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
from array import array
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.store.base import NewArticle, article_meta
from rag.store.files import describe, fsync_dir, fsync_tree
from rag.store.local import dense
from rag.store.local.schema import DDL, SEGMENT_FORMAT, SEGMENT_VERSION


class SegmentBuilder:
    """Builds one segment in a temporary directory under `segments_dir`."""

    def __init__(self, segments_dir: Path, dim: int) -> None:
        self.segments_dir = segments_dir
        self.dim = dim
        segments_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=segments_dir))
        os.chmod(self.tmp, 0o755)  # mkdtemp makes it private; an index is meant to be shared
        self.db = sqlite3.connect(self.tmp / "records.sqlite")
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=8192;" + DDL
        )
        # Closed by finish() or abort(): a builder lives across many calls.
        self._vectors = open(self.tmp / "vectors.f32", "wb")  # noqa: SIM115
        self._sentence_vectors = open(self.tmp / "sentence_vectors.f32", "wb")  # noqa: SIM115
        self.chunk_docs = array("i")
        self.lengths = array("i")
        self.languages: dict[str, list[int]] = {}
        self.n_articles = self.n_chunks = self.n_sentences = 0
        self.total_length = 0
        self._ids = _IdDigest()

    # ------------------------------------------------------------ records

    def add(self, item: NewArticle) -> None:
        a = item.article
        if self.languages and a.language < max(self.languages):
            raise ValueError("articles must arrive grouped by language, in sorted order")
        n_chunks, n_sentences = len(item.chunks), len(item.sentences)
        if item.chunk_vectors.shape != (n_chunks, self.dim) or item.sentence_vectors.shape != (
            n_sentences,
            self.dim,
        ):
            raise ValueError(f"article {a.id}: one vector of dimension {self.dim} per text")
        lengths = list(item.lengths) or [len(t) for t in item.tokens]
        if len(lengths) != n_chunks:
            raise ValueError(f"article {a.id}: one length per passage is needed")
        row = self.n_articles
        o = item.origin
        self.db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row,
                a.id,
                a.title,
                a.text,
                a.language,
                a.date,
                a.source,
                a.url,
                o.file,
                o.size,
                o.mtime_ns,
                o.raw_hash,
                self.n_chunks,
                self.n_chunks + n_chunks,
                self.n_sentences,
                self.n_sentences + n_sentences,
                article_meta(a),
                a.copy_of,
                item.signature or None,
            ),
        )
        self.db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
            (
                (self.n_chunks + i, c.id, row, c.start, c.end, c.text)
                for i, c in enumerate(item.chunks)
            ),
        )
        self.db.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?)",
            (
                (self.n_sentences + i, s.id, row, s.start, s.end)
                for i, s in enumerate(item.sentences)
            ),
        )
        self._vectors.write(np.ascontiguousarray(item.chunk_vectors, dtype="<f4").tobytes())
        self._sentence_vectors.write(
            np.ascontiguousarray(item.sentence_vectors, dtype="<f4").tobytes()
        )
        span = self.languages.setdefault(a.language, [self.n_chunks, self.n_chunks])
        span[1] = self.n_chunks + n_chunks
        self.chunk_docs.extend([row] * n_chunks)
        self.lengths.extend(lengths)
        self.total_length += sum(lengths)
        self._ids.update(a.id, [c.id for c in item.chunks], [s.id for s in item.sentences])
        self.n_articles += 1
        self.n_chunks += n_chunks
        self.n_sentences += n_sentences

    # ------------------------------------------------------------ finishing

    def finish(
        self,
        postings: Iterable[tuple[str, np.ndarray, np.ndarray]],
        generation: int,
        embedder_id: str,
    ) -> Path:
        """Write the postings (term, rows, tfs; sorted by term), the dense
        indexes and the manifest; move the segment into place. Returns its path."""
        try:
            self._write_postings(postings)
            self.db.commit()
            self.db.close()
            for f in (self._vectors, self._sentence_vectors):
                f.close()
            np.frombuffer(self.chunk_docs, dtype=np.int32).astype("<i4").tofile(
                self.tmp / "chunk_docs.i32"
            )
            np.frombuffer(self.lengths, dtype=np.int32).astype("<i4").tofile(
                self.tmp / "lengths.i32"
            )
            kinds = self._dense_indexes()
            name = f"{generation:08d}-{self._ids.hexdigest(embedder_id)[:12]}"
            files = {p.name: describe(p) for p in sorted(self.tmp.iterdir()) if p.is_file()}
            meta = {
                "format": SEGMENT_FORMAT,
                "version": SEGMENT_VERSION,
                "name": name,
                "generation": generation,
                "embedder": embedder_id,
                "dim": self.dim,
                "counts": {
                    "articles": self.n_articles,
                    "chunks": self.n_chunks,
                    "sentences": self.n_sentences,
                },
                "languages": {lang: list(span) for lang, span in sorted(self.languages.items())},
                "lexical": {"total_length": self.total_length, "postings": self.n_postings},
                "dense": kinds,
                "files": files,
            }
            (self.tmp / "meta.json").write_text(
                json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8"
            )
            fsync_tree(self.tmp)
            final = self.segments_dir / name
            if final.exists():  # left by a writer killed after its rename: not committed
                shutil.rmtree(final)
            os.rename(self.tmp, final)
            fsync_dir(self.segments_dir)
            return final
        except BaseException:
            self.abort()
            raise

    def _write_postings(self, postings: Iterable[tuple[str, np.ndarray, np.ndarray]]) -> None:
        """Each term's rows and counts appended to two flat files (memory-mapped
        when searching), and its place in them recorded in SQLite."""
        start = 0
        with (
            open(self.tmp / "postings.i32", "wb") as rows_file,
            open(self.tmp / "postings_tf.u16", "wb") as tfs_file,
        ):

            def entries():
                nonlocal start
                for term, rows, tfs in postings:
                    if not len(rows):
                        continue
                    rows_file.write(np.ascontiguousarray(rows, dtype="<i4").tobytes())
                    counts = np.minimum(np.asarray(tfs), np.iinfo(np.uint16).max)
                    tfs_file.write(np.ascontiguousarray(counts, dtype="<u2").tobytes())
                    yield term, len(rows), start
                    start += len(rows)

            self.db.executemany("INSERT INTO terms VALUES (?,?,?)", entries())
        self.n_postings = start

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        for f in (self._vectors, self._sentence_vectors):
            with contextlib.suppress(Exception):
                f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _dense_indexes(self) -> dict[str, dict]:
        kinds = {}
        if not self.n_chunks:
            return kinds
        path = self.tmp / "vectors.f32"
        for i, (lang, (start, end)) in enumerate(sorted(self.languages.items())):
            if end <= start:
                continue

            def read(a: int, b: int, offset: int = start) -> np.ndarray:
                return read_rows(path, offset + a, offset + b, self.dim)

            index = dense.build(read, end - start, self.dim)
            file = f"dense-{i}.faiss"  # not the code: a language is data, not a file name
            dense.write(index, self.tmp / file)
            kinds[lang] = {"file": file, "kind": type(index).__name__, "count": end - start}
        return kinds


def read_rows(path: Path, start: int, end: int, dim: int) -> np.ndarray:
    """Rows start..end of a float32 vector file, read with plain reads: not
    a memory map, whose pages would count as this process's resident memory
    once a build or merge has read every vector."""
    count = (end - start) * dim
    with open(path, "rb") as f:
        f.seek(start * dim * 4)
        data = np.fromfile(f, dtype="<f4", count=count)
    if len(data) != count:
        raise ValueError(f"{path} holds fewer rows than expected")
    return data.reshape(end - start, dim)


class _IdDigest:
    """A running hash of the ids a segment holds, in order: its content id."""

    def __init__(self) -> None:
        from blake3 import blake3

        self._digest = blake3()

    def update(self, article_id: str, chunk_ids: list[str], sentence_ids: list[str]) -> None:
        self._digest.update(
            ("\x1e".join([article_id, *chunk_ids, "\x1d", *sentence_ids]) + "\x1f").encode()
        )

    def hexdigest(self, salt: str) -> str:
        digest = self._digest.copy()
        digest.update(salt.encode())
        return digest.hexdigest()
