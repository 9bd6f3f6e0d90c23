"""One committed generation of a Milvus index, read through `MilvusClient`.

Every search and query filters on the generation (`schema.visible`), so a
view keeps answering from its generation while a writer prepares the next.
Passage ids are the rows' primary keys. Candidate rows (vector, BM25
weights, what a hit shows) are fetched once per question and cached.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rag.errors import IndexInvalidError
from rag.records import Article, Chunk, Sentence
from rag.store.base import (
    ArticleInfo,
    IndexedFile,
    IndexInfo,
    Listed,
    StoredVectors,
    read_article_meta,
)
from rag.store.milvus import schema
from rag.store.milvus.schema import PAGE, Address, literal, visible
from rag.store.milvus.sparse import exact_score, norm, query_vector, term_id

PASSAGE_FIELDS = [
    "id", "doc_id", "chunk_id", "language", "title", "date", "start", "end", "text",
    "length", "norm", "vector", "sparse",
]  # fmt: skip
STRONG = {"consistency_level": "Strong"}
CACHED_ROWS = 20_000


@dataclass(frozen=True)
class Lexical:
    query: dict[int, float]  # term id -> idf


class MilvusView:
    """Generation `meta["generation"]` of the index at `address`."""

    def __init__(self, client, address: Address, meta: dict) -> None:
        self.client = client
        self.address = address
        self.meta = meta
        self.generation = int(meta["generation"])
        self.epoch = int(meta["epoch"])
        self.target = f"{self.epoch}:{self.generation}"
        self.location = address.location
        self.language_counts = dict(sorted(meta["languages"].items()))
        self.languages = sorted(lang for lang, n in self.language_counts.items() if n)
        stats = meta["stats"]
        self.n_docs = int(stats["passages"])
        self.avg_length = stats["total_length"] / self.n_docs if self.n_docs else 0.0
        self._where = visible(self.generation)
        self._rows: dict[int, dict] = {}
        self._sentences: dict[str, tuple] = {}  # doc id -> (article, sentences, vectors)
        self._infos: dict[str, ArticleInfo] = {}  # doc id -> what a hit shows of it
        self._copies: dict[str, tuple[ArticleInfo, ...]] | None = None
        self._lock = threading.Lock()

    def name(self, suffix: str) -> str:
        return self.address.name(suffix, self.epoch)

    @property
    def info(self) -> IndexInfo:
        return schema.info_of(self.meta)

    def preload(self) -> MilvusView:
        schema.load(self.client, self.address, self.epoch)
        return self

    # ------------------------------------------------------------ search

    def dense_candidates(
        self,
        query: np.ndarray,
        language: str,
        depth: int,
        probe_share: float = 0.0,
        dates: tuple[str, str] | None = None,
    ) -> np.ndarray:
        """Ids of up to `depth` live passages in `language` nearest the query
        (HNSW, with a search list four times as deep as asked)."""
        found = self.client.search(
            self.name("passages"),
            data=[np.asarray(query, dtype=np.float32).tolist()],
            anns_field="vector",
            limit=depth,
            filter=self._filter(language, dates),
            output_fields=["id"],
            search_params={"metric_type": "COSINE", "params": {"ef": max(64, 4 * depth)}},
            **STRONG,
        )
        return np.array([hit["id"] for hit in found[0]], dtype=np.int64)

    def candidates(
        self,
        query: np.ndarray,
        lexical: Lexical,
        depths: dict[str, int],
        probe_share: float = 0.0,
        dates: tuple[str, str] | None = None,
    ) -> np.ndarray:
        """Dense and lexical candidates of each language: the searches go to
        the engine at once (one round trip's wait instead of one per search)."""
        calls = [
            (self.dense_candidates, (query, lang, depth, probe_share, dates))
            for lang, depth in depths.items()
        ]
        calls += [
            (self.lexical_top, (lexical, lang, depth, dates)) for lang, depth in depths.items()
        ]
        found = list(_pool().map(lambda call: call[0](*call[1]), calls))
        return np.concatenate([np.zeros(0, dtype=np.int64), *found])

    def lexical(self, terms: Sequence[str]) -> Lexical:
        ids = sorted({term_id(t) for t in terms if t})
        df: dict[int, int] = {}
        for i in range(0, len(ids), PAGE):
            batch = ids[i : i + PAGE]
            rows = self.client.query(
                self.name("terms"),
                filter=f"id in {batch}",
                output_fields=["id", "df"],
                **STRONG,
            )
            df.update({int(r["id"]): int(r["df"]) for r in rows})
        return Lexical(query_vector(terms, df, self.n_docs))

    def _filter(self, language: str, dates: tuple[str, str] | None) -> str:
        where = f"language == {literal(language)} and {self._where}"
        if dates is not None:
            first, after = dates
            where += ' and date != ""'
            if first:
                where += f" and date >= {literal(first)}"
            if after != "\uffff":  # no upper bound
                where += f" and date < {literal(after)}"
        return where

    def lexical_top(
        self, lexical: Lexical, language: str, depth: int, dates: tuple[str, str] | None = None
    ) -> np.ndarray:
        """Ids of up to `depth` live passages in `language` with the highest
        positive BM25 score (ranked by the engine, rescored exactly later)."""
        if not lexical.query:
            return np.zeros(0, dtype=np.int64)
        found = self.client.search(
            self.name("passages"),
            data=[lexical.query],
            anns_field="sparse",
            limit=depth,
            filter=self._filter(language, dates),
            output_fields=["id"],
            search_params={"metric_type": "IP"},
            **STRONG,
        )
        return np.array([hit["id"] for hit in found[0] if hit["distance"] > 0], dtype=np.int64)

    def lexical_of(self, lexical: Lexical, ids: np.ndarray) -> np.ndarray:
        rows = self._fetch(ids)
        out = np.zeros(len(ids), dtype=np.float32)
        for k, row in enumerate(rows):
            now = norm(row["length"], self.avg_length)
            out[k] = exact_score(lexical.query, row["sparse"], row["norm"], now)
        return out

    # ------------------------------------------------------------ records

    def _fetch(self, ids: Sequence[int] | np.ndarray) -> list[dict]:
        """The passage rows of these ids, in order (cached)."""
        wanted = [int(i) for i in ids]
        missing = sorted({i for i in wanted if i not in self._rows})
        for k in range(0, len(missing), PAGE):
            batch = missing[k : k + PAGE]
            rows = self.client.query(
                self.name("passages"),
                filter=f"id in {batch}",
                output_fields=PASSAGE_FIELDS,
                **STRONG,
            )
            with self._lock:
                if len(self._rows) > CACHED_ROWS:
                    self._rows.clear()
                for row in rows:
                    self._rows[int(row["id"])] = _passage(row)
        try:
            return [self._rows[i] for i in wanted]
        except KeyError as exc:
            raise IndexInvalidError(
                f"{self.location}: passage {exc.args[0]} vanished while it was read; "
                f"a compaction may be running. Ask again."
            ) from None

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        rows = self._fetch(ids)
        out = np.empty((len(rows), int(self.meta["dim"])), dtype=np.float32)
        for k, row in enumerate(rows):
            out[k] = row["vector"]
        return out

    def languages_of(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty(len(ids), dtype=object)
        out[:] = [row["language"] for row in self._fetch(ids)]
        return out

    def chunks_of(self, ids: Sequence[int]) -> list[tuple[Chunk, ArticleInfo]]:
        out = []
        rows = self._fetch(list(ids))
        infos = self._article_infos({row["doc_id"] for row in rows})
        for row in rows:
            text = row["text"]
            if len(text) != row["end"] - row["start"]:  # too long to keep: cut from the article
                article = self.article(row["doc_id"])
                text = article.text[row["start"] : row["end"]] if article else text
            chunk = Chunk(row["chunk_id"], row["doc_id"], row["start"], row["end"], text)
            out.append((chunk, infos[row["doc_id"]]))
        return out

    def _article_infos(self, doc_ids: set[str]) -> dict[str, ArticleInfo]:
        """What a hit shows of these live articles (one query for those not
        seen before in this view)."""
        missing = {d for d in doc_ids if d not in self._infos}
        if missing:
            fetched = self._article_infos_if_live(missing)
            with self._lock:
                if len(self._infos) > 50_000:
                    self._infos.clear()
                self._infos.update(fetched)
        lost = [d for d in doc_ids if d not in self._infos]
        if lost:
            raise IndexInvalidError(f"{self.location}: passages of article {lost[0]!r} lack it")
        return {d: self._infos[d] for d in doc_ids}

    def signatures(self) -> Iterator[tuple[str, str, bytes, str | None]]:
        fields = ["doc_id", "language", "signature", "copy_of"]
        for r in self._iterate("articles", 'part == 0 and signature != ""', fields):
            yield r["doc_id"], r["language"], base64.b64decode(r["signature"]), r["copy_of"] or None

    def copies(self) -> dict[str, tuple[ArticleInfo, ...]]:
        if self._copies is not None:
            return self._copies
        members: dict[str, list[ArticleInfo]] = {}
        for r in self._iterate("articles", 'part == 0 and copy_of != ""', _INFO_FIELDS):
            members.setdefault(r["copy_of"], []).append(_info(r, self.location))
        keys = self._article_infos_if_live(set(members))
        groups = {
            key: tuple(([keys[key]] if key in keys else []) + found)
            for key, found in members.items()
            if len(found) + (key in keys) > 1
        }
        self._copies = groups
        return groups

    def _article_infos_if_live(self, doc_ids: set[str]) -> dict[str, ArticleInfo]:
        found: dict[str, ArticleInfo] = {}
        ids = sorted(doc_ids)
        for i in range(0, len(ids), 500):
            rows = self.client.query(
                self.name("articles"),
                filter=f"part == 0 and doc_id in {schema.quoted(ids[i : i + 500])} "
                f"and {self._where}",
                output_fields=_INFO_FIELDS,
                **STRONG,
            )
            found.update({r["doc_id"]: _info(r, self.location) for r in rows})
        return found

    def _article_rows(self, doc_id: str) -> list[dict]:
        rows = self.client.query(
            self.name("articles"),
            filter=f"doc_id == {literal(doc_id)} and {self._where}",
            output_fields=["doc_id", "part", "parts", "title", "text", "language", "date",
                           "source", "url", "file", "size", "mtime_ns", "raw_hash", "meta",
                           "copy_of", "signature"],
            **STRONG,
        )  # fmt: skip
        return sorted(rows, key=lambda r: r["part"])

    def article(self, doc_id: str) -> Article | None:
        rows = self._article_rows(doc_id)
        return _article(rows, self.location) if rows else None

    def sentences(self, doc_id: str) -> tuple[Article, tuple[Sentence, ...], np.ndarray] | None:
        """An article, its sentences in order and their vectors (cached: an
        answer reads them for every hit)."""
        found = self._sentences.get(doc_id)
        if found is not None:
            return found
        article = self.article(doc_id)
        if article is None:
            return None
        rows = self._scan(
            "sentences", f"doc_id == {literal(doc_id)}", ["sentence_id", "start", "end", "vector"]
        )
        rows.sort(key=lambda r: (r["start"], r["end"]))
        sentences = tuple(
            Sentence(
                r["sentence_id"], doc_id, r["start"], r["end"], article.text[r["start"] : r["end"]]
            )
            for r in rows
        )
        vectors = np.array([r["vector"] for r in rows], dtype=np.float32).reshape(
            len(rows), int(self.meta["dim"])
        )
        vectors.setflags(write=False)
        with self._lock:
            if len(self._sentences) >= 1024:
                self._sentences.clear()
            self._sentences[doc_id] = (article, sentences, vectors)
        return article, sentences, vectors

    def stored(self, doc_id: str) -> StoredVectors | None:
        found = self.sentences(doc_id)
        if found is None:
            return None
        article, sentences, sentence_vectors = found
        rows = self._scan(
            "passages", f"doc_id == {literal(doc_id)}", ["chunk_id", "start", "end", "vector"]
        )
        rows.sort(key=lambda r: (r["start"], r["end"]))
        chunks = tuple(
            Chunk(r["chunk_id"], doc_id, r["start"], r["end"], article.text[r["start"] : r["end"]])
            for r in rows
        )
        vectors = np.array([r["vector"] for r in rows], dtype=np.float32).reshape(
            len(rows), int(self.meta["dim"])
        )
        signature = self._signature(doc_id)
        return StoredVectors(
            article, chunks, vectors, sentences, np.array(sentence_vectors), signature
        )

    def _signature(self, doc_id: str) -> bytes:
        rows = self.client.query(
            self.name("articles"),
            filter=f"part == 0 and doc_id == {literal(doc_id)} and {self._where}",
            output_fields=["signature"],
            **STRONG,
        )
        return base64.b64decode(rows[0]["signature"]) if rows else b""

    def articles(self) -> Iterator[Article]:
        """Every live article (parts put together)."""
        fields = ["doc_id", "part", "parts", "title", "text", "language", "date", "source", "url",
                  "meta", "copy_of"]  # fmt: skip
        parts: dict[str, list[dict]] = {}
        for row in self._iterate("articles", "", fields):
            group = parts.setdefault(row["doc_id"], [])
            group.append(row)
            if len(group) == row["parts"]:
                yield _article(
                    sorted(parts.pop(row["doc_id"]), key=lambda r: r["part"]), self.location
                )
        if parts:
            raise IndexInvalidError(f"{self.location}: article {next(iter(parts))!r} lacks parts")

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        for row in self._iterate("passages", "", ["chunk_id", "doc_id", "text"]):
            yield row["chunk_id"], row["doc_id"], row["text"]

    def article_files(self) -> Iterator[IndexedFile]:
        fields = ["doc_id", "file", "size", "mtime_ns", "raw_hash"]
        for r in self._iterate("articles", "part == 0", fields):
            yield IndexedFile(r["doc_id"], r["file"], r["size"], r["mtime_ns"], r["raw_hash"])

    def article_languages(self) -> dict[str, int]:
        return dict(sorted(self.meta.get("article_languages", {}).items()))

    def catalog(self) -> Iterator[Listed]:
        fields = ["doc_id", "title", "language", "date", "url", "meta", "copy_of", "chunks", "file"]
        for r in self._iterate("articles", "part == 0", fields):
            yield Listed(_info(r, self.location), r["chunks"], r["file"])

    # ------------------------------------------------------------ scanning

    def _scan(self, suffix: str, condition: str, fields: list[str]) -> list[dict]:
        """The rows of one article (one call: an article has far fewer than
        Milvus's 16,384-row limit of passages or sentences)."""
        where = f"{condition} and {self._where}"
        rows = self.client.query(
            self.name(suffix), filter=where, output_fields=fields, limit=16_384, **STRONG
        )
        if len(rows) >= 16_384:
            rows = list(self._iterate(suffix, condition, fields))
        return rows

    def _iterate(self, suffix: str, condition: str, fields: list[str]) -> Iterator[dict]:
        where = f"{condition} and {self._where}" if condition else self._where
        yield from iterate(self.client, self.name(suffix), where, fields)


_searchers: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _searchers
    if _searchers is None:
        _searchers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rag-milvus")
    return _searchers


def iterate(client, name: str, where: str, fields: list[str]) -> Iterator[dict]:
    """Every row of `name` that `where` selects, a page at a time."""
    logging.getLogger("pymilvus").setLevel(logging.ERROR)  # see schema.connect
    it = client.query_iterator(name, batch_size=PAGE, filter=where, output_fields=fields, **STRONG)
    try:
        while True:
            page = it.next()
            if not page:
                return
            yield from page
    finally:
        it.close()


def _passage(row: dict) -> dict:
    row["vector"] = np.asarray(row["vector"], dtype=np.float32)
    row["sparse"] = {int(k): float(v) for k, v in (row.get("sparse") or {}).items()}
    return row


_INFO_FIELDS = ["doc_id", "title", "language", "date", "url", "meta", "copy_of"]


def _meta(row: dict, where: str) -> dict[str, str]:
    try:
        return read_article_meta(row.get("meta") or "")
    except ValueError:
        raise IndexInvalidError(f"{where}: article {row['doc_id']!r} has malformed meta") from None


def _info(row: dict, where: str) -> ArticleInfo:
    return ArticleInfo(
        0,
        row["doc_id"],
        row["title"],
        row["language"],
        row["date"] or None,
        row["url"] or None,
        _meta(row, where).get("outlet"),
        row["copy_of"] or None,
    )


def _article(rows: list[dict], where: str) -> Article:
    first = rows[0]
    if len(rows) != first["parts"] or [r["part"] for r in rows] != list(range(len(rows))):
        raise IndexInvalidError(f"{where}: article {first['doc_id']!r} lacks parts of its text")
    meta = _meta(first, where)
    return Article(
        id=first["doc_id"],
        title=first["title"],
        text="".join(r["text"] for r in rows),
        language=first["language"],
        date=first["date"] or None,
        source=first["source"],
        url=first["url"] or None,
        date_evidence=meta.get("date_evidence"),
        outlet=meta.get("outlet"),
        author=meta.get("author"),
        copy_of=first.get("copy_of") or None,
    )
