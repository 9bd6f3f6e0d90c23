"""Changing a Milvus index: rows born and marked dead by generation, then published.

A writer holds the index (Milvus Lite: the file, which one process opens at
a time; a server: a lease row in `P_meta`, renewed at each commit). Changes
to generation G become generation G+1:

1. `add` inserts rows born G+1 (invisible to readers of G);
2. `commit` marks the rows of deleted and replaced articles died G+1 (still
   visible to readers of G), updates the terms' document frequencies, then
   writes G+1 into the meta row: that single upsert publishes the change;
3. rows that died before G (no reader can want them) are deleted.

A writer killed before step 2 finishes leaves rows born G+1 and marks died
G+1 that nobody sees; the next writer removes them (`_clean`). A rebuild
(other embedder, other settings, `--rebuild`) writes a new epoch of
collections beside the current one and switches the meta row to it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from rag.errors import IndexBusyError, IndexInvalidError, IndexMissingError
from rag.store.base import IndexInfo, NewArticle, article_meta
from rag.store.milvus import schema
from rag.store.milvus.schema import (
    ALIVE,
    DUMMY_DIM,
    FORMAT,
    FORMAT_VERSION,
    MAX_TEXT_BYTES,
    PAGE,
    TEXT_PART,
    Address,
    quoted,
)
from rag.store.milvus.sparse import passage_vector, term_counts
from rag.store.milvus.view import MilvusView, iterate

LEASE_SECONDS = 600
INSERT_ROWS = 512


def row_id(*parts: object) -> int:
    """A 63-bit primary key from content (never 0)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 1) or 1


class MilvusWriter:
    """Staged changes to one Milvus index; see the module docstring."""

    def __init__(self, client, address: Address, meta: dict, drop_all: bool) -> None:
        self.client = client
        self.address = address
        self.location = address.location
        self.meta = meta  # the committed state changes apply to
        self.drop_all = drop_all
        self.view: MilvusView | None = None if drop_all else MilvusView(client, address, meta)
        self.previous_epoch: int | None = None  # a rebuild's epoch in use until it commits
        self._reset()

    def _reset(self) -> None:
        self._deletes: dict[str, None] = {}
        self._added: list[str] = []
        self._counts: Counter = Counter()  # articles, chunks, sentences
        self._languages: Counter = Counter()  # passages
        self._article_languages: Counter = Counter()
        self._df: Counter = Counter()
        self._length = 0

    @property
    def generation(self) -> int:
        return int(self.meta["generation"]) + 1

    @property
    def epoch(self) -> int:
        return int(self.meta["epoch"])

    @property
    def info(self) -> IndexInfo:
        return schema.info_of(self.meta)

    def name(self, suffix: str) -> str:
        return self.address.name(suffix, self.epoch)

    # ------------------------------------------------------------ staging

    def locate(self, doc_id: str) -> str | None:
        if doc_id in self._deletes or self.view is None:
            return None
        rows = self.client.query(
            self.name("articles"),
            filter=f"doc_id == {schema.literal(doc_id)} and part == 0 and "
            f"{schema.visible(self.generation - 1)}",
            output_fields=["doc_id"],
            consistency_level="Strong",
        )
        return doc_id if rows else None

    def delete(self, doc_ids: Iterable[str]) -> list[str]:
        missing = []
        for doc_id in doc_ids:
            if self.locate(doc_id) is None:
                missing.append(doc_id)
            else:
                self._deletes[doc_id] = None
        return missing

    def add(self, items: Sequence[NewArticle], dim: int | None = None) -> None:
        if not items:
            return
        g = self.generation
        dim = int(self.meta["dim"])
        stats = self.meta["stats"]
        passages = stats["passages"] + self._counts["chunks"]
        total = stats["total_length"] + self._length
        batch = sum(len(t) for item in items for t in item.tokens if t != ("",))
        count = sum(len(item.chunks) for item in items)
        avg = (total + batch) / (passages + count) if passages + count else 0.0
        rows: dict[str, list[dict]] = {"passages": [], "sentences": [], "articles": []}
        for item in items:
            a, o = item.article, item.origin
            if item.chunk_vectors.shape != (len(item.chunks), dim):
                raise ValueError(f"article {a.id}: one vector of dimension {dim} per passage")
            for chunk, vector, tokens in zip(
                item.chunks, item.chunk_vectors, item.tokens, strict=True
            ):
                sparse, n = passage_vector(tokens, avg)
                length = sum(1 for t in tokens if t)
                text = chunk.text if len(chunk.text.encode()) <= MAX_TEXT_BYTES else ""
                rows["passages"].append(
                    {
                        "id": row_id("p", a.id, chunk.id, chunk.start, g),
                        "doc_id": a.id,
                        "born": g,
                        "died": ALIVE,
                        "chunk_id": chunk.id,
                        "language": a.language,
                        "title": _fit(a.title),
                        "date": a.date or "",
                        "start": chunk.start,
                        "end": chunk.end,
                        "text": text,
                        "length": length,
                        "norm": n,
                        "vector": np.asarray(vector, dtype=np.float32).tolist(),
                        "sparse": sparse or {0: 0.0},
                    }
                )
                self._df.update(set(term_counts(tokens)))
                self._length += length
            for sentence, vector in zip(item.sentences, item.sentence_vectors, strict=True):
                rows["sentences"].append(
                    {
                        "id": row_id("s", a.id, sentence.id, sentence.start, g),
                        "doc_id": a.id,
                        "born": g,
                        "died": ALIVE,
                        "sentence_id": sentence.id,
                        "start": sentence.start,
                        "end": sentence.end,
                        "vector": np.asarray(vector, dtype=np.float32).tolist(),
                    }
                )
            parts = [a.text[i : i + TEXT_PART] for i in range(0, len(a.text), TEXT_PART)] or [""]
            for k, part in enumerate(parts):
                rows["articles"].append(
                    {
                        "id": row_id("a", a.id, k, g),
                        "doc_id": a.id,
                        "born": g,
                        "died": ALIVE,
                        "part": k,
                        "parts": len(parts),
                        "title": _fit(a.title),
                        "text": part,
                        "language": a.language,
                        "date": a.date or "",
                        "source": _fit(a.source, 4096),
                        "url": _fit(a.url or "", 4096),
                        "file": _fit(o.file, 4096),
                        "raw_hash": o.raw_hash,
                        "size": o.size,
                        "mtime_ns": o.mtime_ns,
                        "chunks": len(item.chunks),
                        "sentences": len(item.sentences),
                        "meta": _fit(article_meta(a), 4096),
                        "copy_of": a.copy_of or "",
                        "signature": base64.b64encode(item.signature).decode() if k == 0 else "",
                        "v": [0.0] * DUMMY_DIM,
                    }
                )
            self._counts.update(articles=1, chunks=len(item.chunks), sentences=len(item.sentences))
            self._languages[a.language] += len(item.chunks)
            self._article_languages[a.language] += 1
            self._added.append(a.id)
        for suffix, group in rows.items():
            for i in range(0, len(group), INSERT_ROWS):
                self.client.insert(self.name(suffix), group[i : i + INSERT_ROWS])

    def pending(self) -> bool:
        return bool(self._deletes or self._added)

    # ------------------------------------------------------------ committing

    def commit(self, operation: str, merge: bool = True) -> int:
        """Publish what is staged as the next generation; returns 0 (Milvus
        merges its own segments)."""
        if not self.pending() and not self.drop_all:
            return 0
        g = self.generation
        self._mark_deleted(g)
        meta = dict(self.meta)
        counts = Counter(meta["counts"])
        counts.update(self._counts)
        languages = Counter(meta["languages"])
        languages.update(self._languages)
        article_languages = Counter(meta.get("article_languages", {}))
        article_languages.update(self._article_languages)
        stats = dict(meta["stats"])
        stats["passages"] = counts["chunks"]
        stats["total_length"] += self._length
        meta.update(
            generation=g,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            operation=operation,
            counts={k: int(counts[k]) for k in ("articles", "chunks", "sentences")},
            languages={k: int(v) for k, v in languages.items() if v > 0},
            article_languages={k: int(v) for k, v in article_languages.items() if v > 0},
            stats=stats,
            terms_pending=True,
        )
        for suffix in ("passages", "sentences", "articles"):
            self.client.flush(self.name(suffix))
        schema.write_meta(self.client, self.address, meta)  # the publishing write
        # Document frequencies follow; a writer killed before they are done
        # leaves terms_pending, and the next writer counts them again.
        self._update_terms()
        meta = dict(meta, terms_pending=False)
        schema.write_meta(self.client, self.address, meta)
        self.meta = meta
        if self.previous_epoch is not None and self.previous_epoch != self.epoch:
            drop_epoch(self.client, self.address, self.previous_epoch)  # a rebuild replaced it
        self.previous_epoch = None
        self.drop_all = False
        self.view = MilvusView(self.client, self.address, meta)
        self._reset()
        self._collect(g)
        return 0

    def _mark_deleted(self, g: int) -> None:
        """Rows of deleted articles live before `g` die at `g`; their share
        of the counts and statistics goes."""
        ids = list(self._deletes)
        for k in range(0, len(ids), 256):
            where = f"doc_id in {quoted(ids[k : k + 256])} and {schema.visible(g - 1)}"
            for suffix in ("passages", "sentences", "articles"):
                fields = ["id", "doc_id"]
                if suffix == "passages":
                    fields += ["language", "length", "sparse"]
                if suffix == "articles":
                    fields += ["part", "language"]
                rows = list(iterate(self.client, self.name(suffix), where, fields))
                for row in rows:
                    if suffix == "passages":
                        self._counts["chunks"] -= 1
                        self._languages[row["language"]] -= 1
                        self._length -= int(row["length"])
                        self._df.subtract(
                            {int(t): 1 for t, w in (row["sparse"] or {}).items() if w}
                        )
                    elif suffix == "sentences":
                        self._counts["sentences"] -= 1
                    elif row["part"] == 0:
                        self._counts["articles"] -= 1
                        self._article_languages[row["language"]] -= 1
                marks = [{"id": int(r["id"]), "died": g} for r in rows]
                for i in range(0, len(marks), INSERT_ROWS):
                    self.client.upsert(
                        self.name(suffix), marks[i : i + INSERT_ROWS], partial_update=True
                    )

    def _update_terms(self) -> None:
        changed = {t: d for t, d in self._df.items() if d}
        ids = sorted(changed)
        for k in range(0, len(ids), PAGE):
            batch = ids[k : k + PAGE]
            have = {
                int(r["id"]): int(r["df"])
                for r in self.client.query(
                    self.name("terms"),
                    filter=f"id in {batch}",
                    output_fields=["id", "df"],
                    consistency_level="Strong",
                )
            }
            rows = [
                {"id": t, "df": max(0, have.get(t, 0) + changed[t]), "v": [0.0] * DUMMY_DIM}
                for t in batch
            ]
            for i in range(0, len(rows), INSERT_ROWS):
                self.client.upsert(self.name("terms"), rows[i : i + INSERT_ROWS])

    def _collect(self, g: int) -> None:
        """Delete rows that died before generation `g - 1`: no reader of a
        current or the previous generation sees them."""
        for suffix in ("passages", "sentences", "articles"):
            self.client.delete(self.name(suffix), filter=f"died < {g - 1}")

    def recount_terms(self) -> None:
        """Every term's document frequency counted again from the live passages."""
        g = int(self.meta["generation"])
        df: Counter = Counter()
        for row in iterate(self.client, self.name("passages"), schema.visible(g), ["sparse"]):
            df.update(int(t) for t, w in (row["sparse"] or {}).items() if w)
        self.client.delete(self.name("terms"), filter="id >= 0 or id < 0")
        rows = [{"id": t, "df": n, "v": [0.0] * DUMMY_DIM} for t, n in df.items()]
        for i in range(0, len(rows), INSERT_ROWS):
            self.client.insert(self.name("terms"), rows[i : i + INSERT_ROWS])
        self.meta = dict(self.meta, terms_pending=False)
        schema.write_meta(self.client, self.address, self.meta)

    def compact_after_bulk(self, added: int) -> bool:
        return False

    def collect_all(self) -> int:
        """Delete every dead row and every unused term now (`rag compact`);
        returns the passages removed."""
        g = int(self.meta["generation"])
        dead = self.client.query(
            self.name("passages"),
            filter=f"died <= {g}",
            output_fields=["count(*)"],
            consistency_level="Strong",
        )[0]["count(*)"]
        for suffix in ("passages", "sentences", "articles"):
            self.client.delete(self.name(suffix), filter=f"died <= {g}")
        self.client.delete(self.name("terms"), filter="df <= 0")
        for suffix in ("passages", "sentences", "articles", "terms"):
            with contextlib.suppress(Exception):  # Milvus Lite has no compaction to ask for
                self.client.compact(self.name(suffix))
        return int(dead)

    def clean(self) -> None:
        """Remove what a writer killed before its commit left behind."""
        g = int(self.meta["generation"])
        for suffix in ("passages", "sentences", "articles"):
            name = self.name(suffix)
            self.client.delete(name, filter=f"born > {g}")
            marked = list(iterate(self.client, name, f"died > {g} and died < {ALIVE}", ["id"]))
            revive = [{"id": int(r["id"]), "died": ALIVE} for r in marked]
            for i in range(0, len(revive), INSERT_ROWS):
                self.client.upsert(name, revive[i : i + INSERT_ROWS], partial_update=True)


# ---------------------------------------------------------------- opening


@contextlib.contextmanager
def open_writer(
    client,
    address: Address,
    embedder_id: str | None,
    dim: int | None,
    settings: dict | None,
    what: str,
    wait: float | None = None,
    rebuild: bool = False,
    fresh: bool = False,
) -> Iterator[MilvusWriter]:
    """The writer of the index at `address`, holding its lease (see
    `rag.store.local.writer.IndexWriter.open` for the arguments)."""
    with lease(client, address, what, wait):
        meta = schema.read_meta(client, address)
        if meta is not None and meta.get("format") != FORMAT and not fresh:
            schema.check_meta(meta, address)  # raises: not ours
        if meta is None and embedder_id is None:
            raise IndexMissingError(f"no index at {address.location}. Build one with `rag ingest`.")
        current = None
        if meta is not None and "generation" in meta:
            try:
                current = schema.check_meta(meta, address)
            except IndexInvalidError:
                if not (rebuild or fresh):
                    raise
        if embedder_id is None:
            assert current is not None
            embedder_id, dim, settings = current["embedder_id"], current["dim"], current["settings"]
        assert embedder_id is not None and dim is not None and settings is not None
        same = current is not None and (
            current["embedder_id"] == embedder_id
            and int(current["dim"]) == int(dim)
            and current["settings"] == settings
        )
        if current is not None and not same and not rebuild:
            raise IndexInvalidError(
                f"the index at {address.location} was built with embedder "
                f"{current['embedder_id']!r} ({current['dim']} dimensions) and settings "
                f"{current['settings']}, not {embedder_id!r} ({dim}) and {settings}; their vectors "
                f"and passages do not mix. Run `rag ingest` to rebuild it with the new ones."
            )
        if current is not None and same and not fresh:
            writer = MilvusWriter(client, address, current, drop_all=False)
            schema.load(client, address, writer.epoch)
            writer.clean()
            if current.get("terms_pending"):
                writer.recount_terms()
        else:
            epoch = int(current["epoch"]) + 1 if current is not None else 1
            schema.create(client, address, epoch, int(dim))
            schema.load(client, address, epoch)
            base = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "generation": int(current["generation"]) if current is not None else 0,
                "epoch": epoch,
                "embedder_id": embedder_id,
                "dim": int(dim),
                "settings": settings,
                "counts": {"articles": 0, "chunks": 0, "sentences": 0},
                "languages": {},
                "article_languages": {},
                "stats": {"passages": 0, "total_length": 0},
            }
            writer = MilvusWriter(client, address, base, drop_all=True)
            writer.previous_epoch = int(current["epoch"]) if current is not None else None
        try:
            yield writer
        finally:
            if writer.drop_all:  # a rebuild that never committed: its collections go
                drop_epoch(client, address, writer.epoch)


def drop_epoch(client, address: Address, epoch: int) -> None:
    for suffix in schema.DATA:
        name = address.name(suffix, epoch)
        if client.has_collection(name):
            client.drop_collection(name)


@contextlib.contextmanager
def lease(client, address: Address, what: str, wait: float | None) -> Iterator[None]:
    """Hold the index's writer lease while the block runs. A Milvus Lite file
    is already held by this process alone; on a server a lease row in
    `P_meta` names the writer and expires after `LEASE_SECONDS` (a writer
    that died frees the index then)."""
    if address.lite:
        yield
        return
    me = f"pid {os.getpid()} on {socket.gethostname()} ({what})"
    deadline = None if wait is None else time.monotonic() + wait
    schema.ensure_meta(client, address)
    while True:
        held = schema.read_meta(client, address, "writer")
        if not held or held.get("holder") == me or held.get("expires", 0) < time.time():
            schema.write_meta(
                client, address, {"holder": me, "expires": time.time() + LEASE_SECONDS}, "writer"
            )
            time.sleep(0.2)  # another writer that wrote at the same moment: last one wins
            if (schema.read_meta(client, address, "writer") or {}).get("holder") == me:
                break
            continue
        if deadline is not None and time.monotonic() >= deadline:
            raise IndexBusyError(
                f"{address.location} is being updated by {held.get('holder')}. Wait for it to "
                f"finish, then run this again."
            )
        time.sleep(1.0)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            schema.write_meta(client, address, {"holder": "", "expires": 0}, "writer")


def holder(client, address: Address) -> str | None:
    if address.lite:
        return None
    held = schema.read_meta(client, address, "writer")
    if held and held.get("holder") and held.get("expires", 0) > time.time():
        return held["holder"]
    return None


def _fit(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")
