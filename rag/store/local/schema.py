"""What a segment holds on disk, and turning its rows back into records.

A segment is a directory written once and never changed:

    meta.json              counts, language ranges, BM25 statistics, dense
                           index kinds, and the size and BLAKE3 of every file
    records.sqlite         articles, passages, sentences, and each BM25
                           term's document frequency and first posting
                           (STRICT tables)
    postings.i32           the passage rows of every term's postings, term
                           after term (sorted by term, rows ascending)
    postings_tf.u16        how often the term occurs in each of those passages
    vectors.f32            passage vectors, float32, one row per passage
    sentence_vectors.f32   sentence vectors, one row per sentence
    chunk_docs.i32         the article row of each passage
    lengths.i32            each passage's length in BM25 tokens
    dense-<i>.faiss        a candidate index per language (rag/store/dense.py)

Passages are grouped by language (each language's rows are one range, so a
per-language search reads one slice), and within a language by article, in
the order the articles were added. An article's passages and its sentences
are each one contiguous range of rows.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from rag.errors import IndexInvalidError
from rag.records import Article, Chunk, Sentence
from rag.store.base import ArticleInfo

SEGMENT_FORMAT = "rag-segment"
# 2 added the articles' meta (date evidence, outlet), copy_of and signature;
# version 1 segments are still read (as articles without them).
SEGMENT_VERSION = 2
READABLE_VERSIONS = (1, 2)

DDL = """
CREATE TABLE articles (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    language TEXT NOT NULL CHECK (length(language) > 0),
    date TEXT,
    source TEXT NOT NULL,
    url TEXT,
    file TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL,
    raw_hash TEXT NOT NULL,
    chunk_start INTEGER NOT NULL,
    chunk_end INTEGER NOT NULL,
    sentence_start INTEGER NOT NULL,
    sentence_end INTEGER NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    copy_of TEXT,
    signature BLOB
) STRICT;
CREATE INDEX articles_copy_of ON articles (copy_of) WHERE copy_of IS NOT NULL;
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    doc INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
) STRICT;
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    doc INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
) STRICT;
CREATE TABLE terms (
    term TEXT PRIMARY KEY,
    df INTEGER NOT NULL CHECK (df > 0),
    start INTEGER NOT NULL CHECK (start >= 0)
) STRICT, WITHOUT ROWID;
"""

_BASE_COLUMNS = (
    "row, id, title, text, language, date, source, url, file, file_size, file_mtime_ns, "
    "raw_hash, chunk_start, chunk_end, sentence_start, sentence_end"
)
ARTICLE_COLUMNS = f"{_BASE_COLUMNS}, meta, copy_of, signature"
INFO_COLUMNS = "row, id, title, language, date, url, json_extract(meta, '$.outlet'), copy_of"


def article_columns(version: int) -> str:
    """What to SELECT for a `StoredArticle` from a segment of `version`."""
    return ARTICLE_COLUMNS if version >= 2 else f"{_BASE_COLUMNS}, '{{}}', NULL, NULL"


def info_columns(version: int) -> str:
    """What to SELECT for an `ArticleInfo` from a segment of `version`."""
    return INFO_COLUMNS if version >= 2 else "row, id, title, language, date, url, NULL, NULL"


REBUILD = "Run `rag ingest --rebuild` to rebuild it from the articles."


def connect_readonly(path: Path) -> sqlite3.Connection:
    """An immutable, read-only connection (no locks, no journal), shared by
    threads; each query takes the caller's own cursor."""
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexInvalidError(f"cannot read {path}: {exc}. {REBUILD}") from None
    return db


def info_from_row(values: tuple, where: Path) -> ArticleInfo:
    try:
        row, id_, title, language, date, url, outlet, copy_of = values
        _check_types(
            (row, int),
            (id_, str),
            (title, str),
            (language, str),
            *((v, (str, type(None))) for v in (date, url, outlet, copy_of)),
        )
        if not language:
            raise ValueError
    except (TypeError, ValueError):
        raise IndexInvalidError(
            f"{where}: an article row is malformed ({_short(values)}). {REBUILD}"
        ) from None
    return ArticleInfo(row, id_, title, language, date, url, outlet, copy_of)


class StoredArticle:
    """An article row with where its passages and sentences are."""

    __slots__ = (
        "row",
        "article",
        "file",
        "file_size",
        "file_mtime_ns",
        "raw_hash",
        "chunks",
        "sentences",
        "signature",
    )

    def __init__(self, values: tuple, where: Path) -> None:
        try:
            (
                row,
                id_,
                title,
                text,
                language,
                date,
                source,
                url,
                file,
                size,
                mtime,
                raw_hash,
                c0,
                c1,
                s0,
                s1,
                meta,
                copy_of,
                signature,
            ) = values
            _check_types(
                (row, int),
                (id_, str),
                (title, str),
                (text, str),
                (language, str),
                (date, (str, type(None))),
                (source, str),
                (url, (str, type(None))),
                (file, str),
                (size, int),
                (mtime, int),
                (raw_hash, str),
                (c0, int),
                (c1, int),
                (s0, int),
                (s1, int),
                (meta, str),
                (copy_of, (str, type(None))),
                (signature, (bytes, type(None))),
            )
            meta = json.loads(meta)
            if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
                raise ValueError
            if not language or not 0 <= c0 <= c1 or not 0 <= s0 <= s1:
                raise ValueError
        except (TypeError, ValueError):  # json.JSONDecodeError is a ValueError
            raise IndexInvalidError(
                f"{where}: an article row is malformed ({_short(values)}). {REBUILD}"
            ) from None
        self.row = row
        self.article = Article(
            id=id_,
            title=title,
            text=text,
            language=language,
            date=date,
            source=source,
            url=url,
            date_evidence=meta.get("date_evidence"),
            outlet=meta.get("outlet"),
            author=meta.get("author"),
            copy_of=copy_of,
        )
        self.signature = signature or b""
        self.file, self.file_size, self.file_mtime_ns, self.raw_hash = file, size, mtime, raw_hash
        self.chunks = (c0, c1)
        self.sentences = (s0, s1)


def chunk_from_row(values: tuple, where: Path) -> tuple[int, Chunk]:
    """(article row, Chunk) from a `chunks` row (row, id, doc, start, end, text)."""
    try:
        _, id_, doc, start, end, text = values
        _check_types((id_, str), (doc, int), (start, int), (end, int), (text, str))
        if not 0 <= start <= end:
            raise ValueError
    except (TypeError, ValueError):
        raise IndexInvalidError(
            f"{where}: a passage row is malformed ({_short(values)}). {REBUILD}"
        ) from None
    return doc, Chunk(id=id_, doc_id="", start=start, end=end, text=text)


def sentence_from_row(values: tuple, article: Article, where: Path) -> Sentence:
    """A Sentence from a `sentences` row (id, start, end); its text is cut
    from the article."""
    try:
        id_, start, end = values
        _check_types((id_, str), (start, int), (end, int))
        if not 0 <= start <= end <= len(article.text):
            raise ValueError
    except (TypeError, ValueError):
        raise IndexInvalidError(
            f"{where}: a sentence row is malformed ({_short(values)}). {REBUILD}"
        ) from None
    return Sentence(id=id_, doc_id=article.id, start=start, end=end, text=article.text[start:end])


def _check_types(*pairs: tuple[object, type | tuple[type, ...]]) -> None:
    for value, kind in pairs:
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TypeError


def _short(values: tuple) -> str:
    text = repr(values)
    return text if len(text) <= 120 else text[:117] + "..."
