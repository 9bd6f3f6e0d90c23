"""Reading one segment: cheap to open, records fetched on demand.

Opening reads `meta.json`, checks that every file has the size the manifest
records (a stat each, no hashing), memory-maps the vector and row arrays,
opens SQLite read-only, and reads the small candidate indexes. Nothing is
parsed per passage: records come from SQLite when a hit, an article or a
term is asked for. `verify()` hashes every file (used by `rag verify` and
before a segment is merged).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rag.errors import IndexInvalidError
from rag.records import Chunk, Sentence
from rag.store.files import HASH, file_hash, temporary
from rag.store.local import dense
from rag.store.local.commit import DELETED_NAME
from rag.store.local.schema import (
    READABLE_VERSIONS,
    REBUILD,
    SEGMENT_FORMAT,
    ArticleInfo,
    StoredArticle,
    article_columns,
    chunk_from_row,
    connect_readonly,
    info_columns,
    info_from_row,
    sentence_from_row,
)
from rag.text.chunking import chunk_article

CHUNKING_SAMPLE = 2000  # articles per segment chunked again by check_meaning

REQUIRED = (
    "records.sqlite",
    "postings.i32",
    "postings_tf.u16",
    "vectors.f32",
    "sentence_vectors.f32",
    "chunk_docs.i32",
    "lengths.i32",
)


def _close(fds: list[int], dbs: list) -> None:
    for db in dbs:
        with contextlib.suppress(Exception):
            db.close()
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()
    dbs.clear()


def read_meta(path: Path) -> dict:
    """A segment's manifest, checked for the fields readers rely on."""
    where = path / "meta.json"
    try:
        meta = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexInvalidError(f"{where} is missing. {REBUILD}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexInvalidError(f"{where} is unreadable ({exc}). {REBUILD}") from None
    try:
        if meta["format"] != SEGMENT_FORMAT or meta["version"] not in READABLE_VERSIONS:
            raise ValueError
        counts = meta["counts"]
        for key in ("articles", "chunks", "sentences"):
            if not isinstance(counts[key], int) or counts[key] < 0:
                raise ValueError
        if not isinstance(meta["dim"], int) or meta["dim"] < 1:
            raise ValueError
        for lang, span in meta["languages"].items():
            if not (isinstance(lang, str) and len(span) == 2 and 0 <= span[0] <= span[1]):
                raise ValueError
            if span[1] > counts["chunks"]:
                raise ValueError
        for lang, info in meta["dense"].items():
            if lang not in meta["languages"] or info["file"] not in meta["files"]:
                raise ValueError
            if not isinstance(info["kind"], str) or not isinstance(info["count"], int):
                raise ValueError
        for name, info in meta["files"].items():
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                raise ValueError  # a file of the segment's own directory, nothing else
            if not isinstance(info["bytes"], int) or not isinstance(info[HASH], str):
                raise ValueError
        for key in ("total_length", "postings"):
            if not isinstance(meta["lexical"][key], int) or meta["lexical"][key] < 0:
                raise ValueError
        for name in REQUIRED:
            _ = meta["files"][name]["bytes"], meta["files"][name][HASH]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise IndexInvalidError(f"{where} is not a valid segment manifest. {REBUILD}") from None
    return meta


class Segment:
    """One segment, open for reading. Thread-safe."""

    def __init__(self, path: Path, meta: dict | None = None) -> None:
        self.path = path
        self.meta = meta if meta is not None else read_meta(path)
        self.name: str = self.meta["name"]
        self.version: int = self.meta["version"]
        counts = self.meta["counts"]
        self.n_articles: int = counts["articles"]
        self.n_chunks: int = counts["chunks"]
        self.n_sentences: int = counts["sentences"]
        self.dim: int = self.meta["dim"]
        self.languages: dict[str, tuple[int, int]] = {
            lang: (int(a), int(b)) for lang, (a, b) in self.meta["languages"].items()
        }
        self.total_length: int = self.meta["lexical"]["total_length"]
        try:
            self._open_files()
        except FileNotFoundError as exc:  # removed by a merge while this opened
            raise IndexInvalidError(f"index file {exc.filename} is missing. {REBUILD}") from None
        except OSError as exc:
            raise IndexInvalidError(f"cannot read {path}: {exc}. {REBUILD}") from None

    def _open_files(self) -> None:
        path = self.path
        self.check_sizes()
        self.vectors = self._map("vectors.f32", "<f4", (self.n_chunks, self.dim))
        self.sentence_vectors = self._map(
            "sentence_vectors.f32", "<f4", (self.n_sentences, self.dim)
        )
        self.chunk_docs = self._map("chunk_docs.i32", "<i4", (self.n_chunks,))
        self.lengths = self._map("lengths.i32", "<i4", (self.n_chunks,))
        n_postings = self.meta["lexical"]["postings"]
        self.posting_rows = self._map("postings.i32", "<i4", (n_postings,))
        self.posting_tfs = self._map("postings_tf.u16", "<u2", (n_postings,))
        self._fds: list[int] = []
        dbs: list = []
        # Segments are shared by the snapshots of successive commits; each
        # closes its database and files when the last one lets go of it.
        self._closer = weakref.finalize(self, _close, self._fds, dbs)
        self._db = connect_readonly(path / "records.sqlite")
        dbs.append(self._db)
        for rel in ("vectors.f32", "sentence_vectors.f32", "postings.i32", "postings_tf.u16"):
            self._fds.append(os.open(path / rel, os.O_RDONLY))
        self._lock = threading.Lock()
        self._dense: dict[str, object] = {}
        self._dense_lock = threading.Lock()
        searched = {lang for lang, (a, b) in self.languages.items() if b > a}
        if set(self.meta["dense"]) != searched:
            raise IndexInvalidError(f"{path / 'meta.json'} lacks a dense index. {REBUILD}")
        for lang, info in self.meta["dense"].items():
            start, end = self.languages[lang]
            if info.get("count") != end - start:
                raise IndexInvalidError(
                    f"{path / 'meta.json'}: the dense index of {lang!r} disagrees with its "
                    f"passages. {REBUILD}"
                )

    def dense(self, language: str):
        """The candidate index of one language (None when it has no passages
        here), read into memory on first use: a writer never pays for it,
        and a reader's searches do not go through page faults (memory-mapped
        inverted lists searched about half as fast, docs/PERFORMANCE.md)."""
        index = self._dense.get(language)
        if index is not None or language not in self.meta["dense"]:
            return index
        with self._dense_lock:
            if language not in self._dense:
                self.check_dense(language)
                where = self.path / self.meta["dense"][language]["file"]
                try:
                    index = dense.read(where)
                except RuntimeError as exc:
                    raise IndexInvalidError(f"cannot read {where}: {exc}. {REBUILD}") from None
                start, end = self.languages[language]
                found = dense.Header(type(index).__name__, index.d, index.ntotal, index.metric_type)
                if problem := dense.header_problem(
                    found, self.meta["dense"][language]["kind"], self.dim, end - start
                ):
                    raise IndexInvalidError(f"{where}: {problem}. {REBUILD}")
                self._dense[language] = index
            return self._dense[language]

    # ------------------------------------------------------------ integrity

    def check_dense(self, language: str | None = None) -> None:
        """Each candidate index (or `language`'s) is of the kind, dimension,
        count and metric (inner product) the manifest and the passages call
        for: read from the files' headers, cheaply."""
        for lang, info in self.meta["dense"].items():
            if language is not None and lang != language:
                continue
            where = self.path / info["file"]
            start, end = self.languages[lang]
            try:
                found = dense.header(where)
            except (OSError, ValueError) as exc:
                raise IndexInvalidError(f"cannot read {where}: {exc}. {REBUILD}") from None
            if problem := dense.header_problem(found, info["kind"], self.dim, end - start):
                raise IndexInvalidError(f"{where}: {problem}. {REBUILD}")

    def check_sizes(self) -> None:
        """Every file the manifest lists exists with its recorded size."""
        for rel, info in self.meta["files"].items():
            path = self.path / rel
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise IndexInvalidError(f"index file {path} is missing. {REBUILD}") from None
            if size != info["bytes"]:
                raise IndexInvalidError(
                    f"index file {path} is {size} bytes, expected {info['bytes']} "
                    f"(truncated or altered). {REBUILD}"
                )

    def verify(self) -> None:
        """Every file matches its recorded BLAKE3 digest (reads everything)."""
        self.check_sizes()
        for rel, info in sorted(self.meta["files"].items()):
            path = self.path / rel
            if file_hash(path) != info[HASH]:
                raise IndexInvalidError(
                    f"index file {path} does not match its checksum (altered or corrupted). "
                    f"{REBUILD}"
                )

    def check_meaning(self, settings: dict | None = None) -> None:
        """What checksums cannot tell: a file recomputed to match its edit.
        Every vector is finite and of unit length; every passage and
        sentence lies inside its article (and a passage's text is the
        article's text there); each candidate index has the right kind,
        dimension, count and metric; and, given the commit's build
        `settings`, chunking articles again gives their stored passages."""
        self.check_dense()
        for rel, count, sentences in (
            ("vectors.f32", self.n_chunks, False),
            ("sentence_vectors.f32", len(self.sentence_vectors), True),
        ):
            for start in range(0, count, 65_536):
                # plain reads, not the memory map: every page read through it
                # would stay in this process's resident memory (a merge verifies
                # its sources: 4.5 GB at 1M passages when this used the map)
                block = self.read_vectors(start, min(start + 65_536, count), sentences)
                norms = np.linalg.norm(block, axis=1)
                bad = np.flatnonzero(~np.isfinite(norms) | (np.abs(norms - 1.0) > 0.01))
                if len(bad):
                    raise IndexInvalidError(
                        f"index file {self.path / rel}: vector {start + int(bad[0])} is not a "
                        f"finite unit vector (altered?). {REBUILD}"
                    )
        checks = (
            ("passage", "chunks", "AND (substr(a.text, c.start + 1, c.end - c.start) != c.text)"),
            ("sentence", "sentences", ""),
        )
        for what, table, extra in checks:
            found = self._query(
                f"SELECT c.row FROM {table} c LEFT JOIN articles a ON a.row = c.doc "
                f"WHERE a.row IS NULL OR c.start < 0 OR c.end <= c.start "
                f"OR c.end > length(a.text) {'OR (1 ' + extra + ')' if extra else ''} LIMIT 1"
            )
            if found:
                raise IndexInvalidError(
                    f"{self.path / 'records.sqlite'}: {what} row {found[0][0]} does not lie "
                    f"inside its article (altered?). {REBUILD}"
                )

        if settings and "chunk_chars" in settings:
            self.check_chunking(settings["chunk_chars"], settings.get("chunk_overlap_sentences", 0))

    def check_chunking(self, chunk_chars: int, overlap: int, sample: int = CHUNKING_SAMPLE) -> None:
        """Chunking up to `sample` articles (spread over the segment) again
        with these settings gives the passages stored for them: an edited
        `chunk_chars` in the commit, or passages cut otherwise, is found."""
        step = max(1, -(-self.n_articles // sample))
        for stored in self.iter_articles():
            if stored.row % step:
                continue
            chunks = chunk_article(stored.article, chunk_chars, overlap)
            expected = [(c.start, c.end) for c in chunks]
            c0, c1 = stored.chunks
            found = [
                (start, end)
                for start, end in self._query(
                    "SELECT start, end FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                    (c0, c1),
                )
            ]
            if found != expected:
                raise IndexInvalidError(
                    f"{self.path / 'records.sqlite'}: the passages of article "
                    f"{stored.article.id[:80]!r} are not what chunking it with the commit's "
                    f"settings (chunk_chars {chunk_chars}, overlap {overlap}) gives "
                    f"(settings or passages altered?). {REBUILD}"
                )

    def stray_files(self, expected: set[str]) -> list[str]:
        """Files in the segment's folder that neither its manifest nor
        `expected` names."""
        known = {"meta.json", *self.meta["files"], *expected}
        return sorted(
            p.name
            for p in self.path.iterdir()
            if p.name not in known and not _leftover(p.name)  # a killed writer's, not data
        )

    def _map(self, rel: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
        path = self.path / rel
        expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if path.stat().st_size != expected:
            raise IndexInvalidError(
                f"index file {path} is {path.stat().st_size} bytes, expected {expected} for "
                f"{shape}. {REBUILD}"
            )
        if expected == 0:
            return np.zeros(shape, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=shape)

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        import sqlite3

        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexInvalidError(
                f"cannot read {self.path / 'records.sqlite'}: {exc}. {REBUILD}"
            ) from None

    # ------------------------------------------------------------ records

    def language_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """The language of each passage row."""
        out = np.empty(len(rows), dtype=object)
        for lang, (start, end) in self.languages.items():
            out[(rows >= start) & (rows < end)] = lang
        return out

    def article(self, row: int) -> StoredArticle:
        found = self._query(
            f"SELECT {article_columns(self.version)} FROM articles WHERE row = ?", (int(row),)
        )
        if not found:
            raise IndexInvalidError(
                f"{self.path / 'records.sqlite'} lacks article row {row}. {REBUILD}"
            )
        return StoredArticle(found[0], self.path / "records.sqlite")

    def article_infos(self, rows: list[int]) -> dict[int, ArticleInfo]:
        """Id, title, language and date of these article rows (no text)."""
        return self._rows_by_id(
            f"SELECT {info_columns(self.version)} FROM articles", rows, info_from_row, "article"
        )

    def _rows_by_id(self, select: str, rows: list[int], convert, what: str) -> dict:
        """{row: convert(values)} for these rows of a table, 500 at a time;
        a row the table lacks is an index error."""
        where = self.path / "records.sqlite"
        found: dict[int, object] = {}
        for start in range(0, len(rows), 500):
            part = tuple(int(r) for r in rows[start : start + 500])
            marks = ",".join("?" * len(part))
            for values in self._query(f"{select} WHERE row IN ({marks})", part):
                found[values[0]] = convert(values, where)
        missing = [r for r in rows if int(r) not in found]
        if missing:
            raise IndexInvalidError(f"{where} lacks {what} row {missing[0]}. {REBUILD}")
        return found

    def find_article(self, doc_id: str) -> int | None:
        """The row of the article with this id, or None."""
        found = self._query("SELECT row FROM articles WHERE id = ?", (doc_id,))
        return int(found[0][0]) if found else None

    def iter_articles(self, language: str | None = None, batch: int = 1000):
        """Every article row (or every one in `language`), in row order, a
        batch at a time (merges, ingest)."""
        where = self.path / "records.sqlite"
        after = -1
        condition = "" if language is None else "AND language = ?"
        extra = () if language is None else (language,)
        while True:
            rows = self._query(
                f"SELECT {article_columns(self.version)} FROM articles WHERE row > ? {condition} "
                f"ORDER BY row LIMIT ?",
                (after, *extra, batch),
            )
            for r in rows:
                yield StoredArticle(r, where)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def read_vectors(self, start: int, end: int, sentences: bool = False) -> np.ndarray:
        """Rows start..end of the passage (or sentence) vectors, with plain
        reads: a merge that reads every vector leaves them in the page cache,
        not in this process's resident memory as a memory map would."""
        fd = self._fds[1 if sentences else 0]
        count = (end - start) * self.dim
        if count <= 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        data = os.pread(fd, count * 4, start * self.dim * 4)
        if len(data) != count * 4:
            rel = "sentence_vectors.f32" if sentences else "vectors.f32"
            raise IndexInvalidError(
                f"{self.path / rel} is shorter than its manifest says. {REBUILD}"
            )
        return np.frombuffer(data, dtype="<f4").reshape(end - start, self.dim)

    def article_dates(self) -> np.ndarray:
        """Each article row's date ("" when it has none), as an object array."""
        rows = self._query("SELECT row, date FROM articles ORDER BY row")
        out = np.empty(len(rows), dtype=object)
        out[:] = [d if isinstance(d, str) else "" for _, d in rows]
        return out

    def signatures(self) -> list[tuple[int, str, str, bytes, str | None]]:
        """(row, id, language, signature, copy_of) of every article with a
        copy signature."""
        if self.version < 2:
            return []
        return self._query(
            "SELECT row, id, language, signature, copy_of FROM articles "
            "WHERE signature IS NOT NULL ORDER BY row"
        )

    def copy_infos(self) -> list[ArticleInfo]:
        """What a hit shows of every article that is a copy of another."""
        if self.version < 2:
            return []
        where = self.path / "records.sqlite"
        rows = self._query(
            f"SELECT {info_columns(self.version)} FROM articles WHERE copy_of IS NOT NULL"
        )
        return [info_from_row(r, where) for r in rows]

    def article_languages(self, dead: frozenset[int] = frozenset()) -> dict[str, int]:
        """Articles per language, those in `dead` (rows) left out: counted by
        SQLite (rows to Python cost 0.3 s at 1M passages, at every ingest's
        report)."""
        counts = dict(self._query("SELECT language, count(*) FROM articles GROUP BY language"))
        gone = self._rows_by_id(
            "SELECT row, language FROM articles", sorted(dead), lambda r, _: r[1], "article"
        )
        for lang in gone.values():
            counts[lang] -= 1
        if any(not isinstance(lang, str) or not lang for lang in counts):
            raise IndexInvalidError(
                f"{self.path / 'records.sqlite'}: an article has no language. {REBUILD}"
            )
        return {lang: n for lang, n in counts.items() if n}

    def article_files(self) -> list[tuple[int, str, str, int, int, str]]:
        """(row, id, file, size, mtime_ns, raw_hash) of every article: what an
        ingest compares with the folder, without reading any text."""
        rows = self._query(
            "SELECT row, id, file, file_size, file_mtime_ns, raw_hash FROM articles ORDER BY row"
        )
        for r in rows:
            if not (isinstance(r[1], str) and isinstance(r[2], str) and isinstance(r[3], int)):
                raise IndexInvalidError(
                    f"{self.path / 'records.sqlite'}: an article row is malformed. {REBUILD}"
                )
        return rows

    def catalog(self) -> Iterator[tuple[ArticleInfo, int, str]]:
        """(info, passage count, file) of every article row, in row order."""
        where = self.path / "records.sqlite"
        select = f"SELECT {info_columns(self.version)}, chunk_end - chunk_start, file FROM articles"
        for values in self._query(f"{select} ORDER BY row"):
            passages, file = values[-2:]
            if not (isinstance(passages, int) and isinstance(file, str)):
                raise IndexInvalidError(f"{where}: an article row is malformed. {REBUILD}")
            yield info_from_row(values[:-2], where), passages, file

    def chunks(self, rows: list[int]) -> list[tuple[int, Chunk]]:
        """(article row, Chunk with doc_id unset) for each passage row, in order."""
        found = self._rows_by_id(
            "SELECT row, id, doc, start, end, text FROM chunks", rows, chunk_from_row, "passage"
        )
        return [found[int(r)] for r in rows]

    def iter_chunks(self, batch: int = 10_000):
        """(row, article row, chunk id, text) of every passage, in row order."""
        for start in range(0, self.n_chunks, batch):
            yield from self._query(
                "SELECT row, doc, id, text FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                (start, start + batch),
            )

    def sentences(self, stored: StoredArticle) -> tuple[list[Sentence], np.ndarray]:
        """An article's sentences, in order, with their vectors."""
        s0, s1 = stored.sentences
        if s1 > self.n_sentences:
            raise IndexInvalidError(
                f"{self.path / 'records.sqlite'}: article {stored.article.id!r} names sentence "
                f"rows past the end. {REBUILD}"
            )
        where = self.path / "records.sqlite"
        rows = self._query(
            "SELECT id, start, end FROM sentences WHERE row >= ? AND row < ? ORDER BY row",
            (s0, s1),
        )
        if len(rows) != s1 - s0:
            raise IndexInvalidError(f"{where} lacks sentences of {stored.article.id!r}. {REBUILD}")
        return [sentence_from_row(r, stored.article, where) for r in rows], np.asarray(
            self.sentence_vectors[s0:s1]
        )

    def term(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, tfs) of the passages holding `term`, or None: views of the
        memory-mapped postings, nothing copied."""
        found = self._query("SELECT df, start FROM terms WHERE term = ?", (term,))
        if not found:
            return None
        return self._postings(term, *found[0])

    def _postings(self, term: str, df: object, start: object) -> tuple[np.ndarray, np.ndarray]:
        self._check_entry(term, df, start)
        rows = self.posting_rows[start : start + df]
        self._check_rows(term, rows)
        return rows, self.posting_tfs[start : start + df]

    def _check_entry(self, term: str, df: object, start: object) -> None:
        if (
            isinstance(df, bool)
            or not isinstance(df, int)
            or not isinstance(start, int)
            or df <= 0
            or start < 0
            or start + df > len(self.posting_rows)
        ):
            raise IndexInvalidError(
                f"{self.path / 'records.sqlite'}: the postings of {term!r} are malformed. {REBUILD}"
            )

    def _check_rows(self, term: str, rows: np.ndarray) -> None:
        # One pass: a negative row, read as unsigned, is larger than any row.
        if int(rows.view(np.uint32).max()) >= self.n_chunks:
            raise IndexInvalidError(
                f"{self.path / 'postings.i32'}: the postings of {term!r} name passages that do "
                f"not exist. {REBUILD}"
            )

    def iter_terms(self):
        """(term, rows, tfs) for every term, sorted by term (for merges)."""
        import sqlite3

        cursor = self._db.cursor()
        try:
            for term, df, start in cursor.execute(
                "SELECT term, df, start FROM terms ORDER BY term"
            ):
                self._check_entry(term, df, start)
                # Plain reads, not the mapping: a merge reads every posting,
                # which would otherwise stay resident in this process.
                rows = np.frombuffer(os.pread(self._fds[2], df * 4, start * 4), dtype="<i4")
                tfs = np.frombuffer(os.pread(self._fds[3], df * 2, start * 2), dtype="<u2")
                if len(rows) != df or len(tfs) != df:
                    raise IndexInvalidError(f"{self.path}: the postings are truncated. {REBUILD}")
                self._check_rows(term, rows)
                yield term, rows, tfs
        except sqlite3.DatabaseError as exc:
            raise IndexInvalidError(
                f"cannot read {self.path / 'records.sqlite'}: {exc}. {REBUILD}"
            ) from None
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the database and files now (otherwise: when the last
        snapshot holding this segment lets go of it)."""
        self._closer()


def _leftover(name: str) -> bool:
    """A file a killed writer may leave behind, which the next writer removes:
    a temporary file, or a deletion list written for a commit it never
    published."""
    return temporary(name) or bool(DELETED_NAME.fullmatch(name))
