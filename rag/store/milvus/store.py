"""The Milvus backend as a `rag.store.base.Store`: Milvus Lite or a server, same code.

    RAG_STORE=milvus:index/rag.db             # Milvus Lite: a file, one process
    RAG_STORE=milvus:http://db:19530          # a Milvus server or cluster
    RAG_MILVUS_TOKEN=user:password            # when the server asks for one

Clients are shared per address within a process (Milvus Lite allows one
process per file, and any number of clients within it).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from rag.errors import IndexInvalidError, IndexMissingError
from rag.store.base import Maintenance
from rag.store.milvus import schema
from rag.store.milvus.schema import Address
from rag.store.milvus.view import MilvusView
from rag.store.milvus.writer import MilvusWriter, holder, open_writer

CURRENT_TTL = 1.0  # seconds
_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


def client_for(address: Address):
    key = (address.uri, address.token)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = schema.connect(address)
        return client


def forget_clients() -> None:
    """Close every shared client (tests; a process that hands a Lite file on)."""
    with _clients_lock:
        for client in _clients.values():
            with contextlib.suppress(Exception):
                client.close()
        _clients.clear()


class MilvusStore:
    """The index at one Milvus address, under one collection prefix."""

    kind = "milvus"

    def __init__(self, address: Address) -> None:
        self.address = address
        self.location = address.location
        self._current: tuple[float, str | None] | None = None

    @classmethod
    def from_spec(cls, spec: str, settings) -> MilvusStore:
        return cls(schema.parse(spec, settings.milvus_token, settings.milvus_collection))

    @property
    def client(self):
        return client_for(self.address)

    def _meta(self) -> dict:
        if self.address.lite and not Path(self.address.uri).exists():
            raise IndexMissingError(
                f"no index at {self.location}: {self.address.uri} does not exist. Build one "
                f"with `rag ingest`."
            )
        return schema.check_meta(schema.read_meta(self.client, self.address), self.address)

    def current(self) -> str | None:
        """The committed generation, read at most once a second (a running
        app sees a new commit within a second, without a call per question)."""
        now = time.monotonic()
        if self._current is not None and now - self._current[0] < CURRENT_TTL:
            return self._current[1]
        found = self._read_current()
        self._current = (now, found)
        return found

    def _read_current(self) -> str | None:
        if self.address.lite and not Path(self.address.uri).exists():
            return None
        try:
            meta = schema.read_meta(self.client, self.address)
        except Exception:  # noqa: BLE001 - a reader keeps its view when the server hiccups
            return None
        if not meta or "generation" not in meta:
            return None
        return f"{meta['epoch']}:{meta['generation']}"

    def open(self, previous: MilvusView | None = None, preload: bool = False) -> MilvusView:
        meta = self._meta()
        view = MilvusView(self.client, self.address, meta)
        schema.load(self.client, self.address, view.epoch)
        return view

    def writer(
        self,
        embedder_id: str | None,
        dim: int | None,
        settings: dict | None,
        what: str,
        wait: float | None = None,
        rebuild: bool = False,
        fresh: bool = False,
    ) -> AbstractContextManager[MilvusWriter]:
        return open_writer(
            self.client, self.address, embedder_id, dim, settings, what, wait, rebuild, fresh
        )

    def writer_holder(self) -> str | None:
        return holder(self.client, self.address)

    def _row_counts(self, meta: dict) -> dict[str, int]:
        """Live rows per collection, counted by the engine."""
        where = schema.visible(int(meta["generation"]))
        out = {}
        for suffix in ("passages", "sentences", "articles"):
            name = self.address.name(suffix, int(meta["epoch"]))
            extra = " and part == 0" if suffix == "articles" else ""
            rows = self.client.query(
                name, filter=where + extra, output_fields=["count(*)"], consistency_level="Strong"
            )
            out[suffix] = int(rows[0]["count(*)"])
        return out

    def status(self) -> dict:
        meta = self._meta()
        schema.load(self.client, self.address, int(meta["epoch"]))
        stored = {
            suffix: int(
                self.client.get_collection_stats(self.address.name(suffix, int(meta["epoch"])))[
                    "row_count"
                ]
            )
            for suffix in schema.DATA
        }
        live = meta["counts"]["chunks"]
        return {
            "store": "milvus",
            "index": self.location,
            "generation": meta["generation"],
            "created": meta.get("created", ""),
            "operation": meta.get("operation", ""),
            "embedder": {"id": meta["embedder_id"], "dim": meta["dim"]},
            "settings": meta["settings"],
            "counts": dict(meta["counts"]),
            "languages": dict(sorted(meta["languages"].items())),
            "collections": {self.address.name(s, int(meta["epoch"])): n for s, n in stored.items()},
            "bytes": 0,
            "storage": f"Milvus at {self.address.uri}, collections "
            f"{self.address.name('*', int(meta['epoch']))}: {stored['passages']} passage rows "
            f"({stored['passages'] - live} of earlier generations, until `rag compact`)",
            "checked": "the index record (format, embedder, settings, counts) and that every "
            "collection is there;\n           `rag verify` also counts every live row",
            "writer": self.writer_holder(),
        }

    def verify(self, progress: Callable[[int, int], None] | None = None) -> dict:
        """Count the live rows of every collection against the commit's
        record, and check each collection's vector dimension."""
        meta = self._meta()
        schema.load(self.client, self.address, int(meta["epoch"]))
        if progress:
            progress(0, 2)
        for suffix in ("passages", "sentences"):
            name = self.address.name(suffix, int(meta["epoch"]))
            fields = self.client.describe_collection(name)["fields"]
            dims = [f["params"].get("dim") for f in fields if f["name"] == "vector"]
            if not dims or int(dims[0]) != int(meta["dim"]):
                raise IndexInvalidError(
                    f"{self.location}: {name} holds vectors of dimension {dims}, the index "
                    f"{meta['dim']}. Rebuild with `rag ingest --rebuild`."
                )
        counts = self._row_counts(meta)
        if progress:
            progress(1, 2)
        expected = {
            "passages": meta["counts"]["chunks"],
            "sentences": meta["counts"]["sentences"],
            "articles": meta["counts"]["articles"],
        }
        for suffix, n in expected.items():
            if counts[suffix] != n:
                raise IndexInvalidError(
                    f"{self.location}: {self.address.name(suffix, int(meta['epoch']))} holds "
                    f"{counts[suffix]} live rows, the commit recorded {n}. Rebuild with "
                    f"`rag ingest --rebuild`."
                )
        return {
            "generation": meta["generation"],
            "checked": f"the live rows of 3 collections ({counts['articles']} articles, "
            f"{counts['passages']} passages, {counts['sentences']} sentences) and their vector "
            f"dimensions match the commit's record",
            "bytes": 0,
        }

    def compact(
        self, progress: Callable[[int], None] | None = None, wait: float | None = None
    ) -> Maintenance:
        """Delete the rows of earlier generations now and ask Milvus to compact."""
        with self.writer(None, None, None, "rag compact", wait) as writer:
            before = dict(writer.meta["counts"])
            dropped = writer.collect_all()
            before["deleted_chunks"] = dropped
            return Maintenance(dropped > 0, int(writer.meta["generation"]), before)
