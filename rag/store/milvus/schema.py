"""The Milvus collections of one index, and connecting to them.

An index named P (`settings.milvus_collection`, default "rag") is five
collections:

- `P_passages`: one row per passage: text, offsets, article fields a hit
  shows, the dense vector (HNSW, cosine) and the BM25 weights (sparse,
  inner product; see `sparse.py`);
- `P_sentences`: one row per sentence: offsets and vector;
- `P_articles`: one row per article part (text in parts of at most
  `TEXT_PART` characters, Milvus's strings being bounded) with its metadata
  and where it was read from;
- `P_terms`: document frequency per term id (for idf);
- `P_meta`: one row, `index`: embedder, dimension, chunking settings,
  counts, BM25 statistics and the committed generation G.

Versioning (what makes a commit atomic): every row carries `born` (the
generation that wrote it) and `died` (the one that deleted it, `ALIVE`
until then). A reader of generation G sees `born <= G and died > G`; a
writer writes rows born G+1 and marks deleted ones died G+1, and publishes
by writing G+1 into the meta row. Until then nobody sees any of it; a
writer that dies before leaves rows the next writer removes.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import (
    IndexBusyError,
    IndexInvalidError,
    IndexMissingError,
    StoreUnavailableError,
    UsageError,
)

ALIVE = 2**62
FORMAT = "rag-milvus"
FORMAT_VERSION = 2  # 2: articles gained meta, copy_of and signature
TEXT_PART = 16_000  # characters: 64 KB of UTF-8 at worst (Milvus VARCHAR max 65,535 bytes)
MAX_TEXT_BYTES = 65_535
ID_BYTES = 512
DUMMY_DIM = 2  # Milvus wants a vector field in every collection
# Milvus returns at most 16,384 rows per query; ask for less at a time.
PAGE = 4096

DATA = ("passages", "sentences", "articles", "terms")


@dataclass(frozen=True)
class Address:
    """Where the collections are: a Milvus Lite file or a server URI."""

    uri: str
    token: str
    prefix: str

    @property
    def lite(self) -> bool:
        return not re.match(r"^(https?|tcp|grpc)://", self.uri)

    @property
    def location(self) -> str:
        return f"milvus:{self.uri} ({self.prefix})"

    def name(self, suffix: str, epoch: int | None = None) -> str:
        """A collection's name: `P_meta`, or `P_e<epoch>_<suffix>` for the data
        of one build (a rebuild writes a new epoch beside the one in use)."""
        if suffix == "meta":
            return f"{self.prefix}_meta"
        return f"{self.prefix}_e{int(epoch or 0)}_{suffix}"


def parse(spec: str, token: str, prefix: str) -> Address:
    """An `Address` from what follows "milvus:" in `RAG_STORE`.

    >>> parse("index/rag.db", "", "rag").lite
    True
    >>> parse("http://db:19530", "root:Milvus", "news").name("passages", 3)
    'news_e3_passages'
    """
    spec = spec.strip()
    if not spec:
        raise UsageError("give a Milvus address: milvus:PATH.db or milvus:http://HOST:19530")
    if re.match(r"^(https?|tcp|grpc)://", spec):
        return Address(spec, token, prefix)
    path = Path(spec).expanduser()
    if path.suffix != ".db":
        raise UsageError(
            f"a Milvus Lite file must end in .db (Milvus Lite refuses other names), not {spec!r}"
        )
    return Address(str(path.resolve()), token, prefix)


def connect(address: Address):
    """A `MilvusClient` for `address`, or a `RagError` saying what is wrong."""
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError:  # pragma: no cover - a dependency of the project
        raise UsageError(
            "the Milvus store needs pymilvus: pip install pymilvus milvus-lite"
        ) from None
    if address.lite:
        # Milvus Lite lacks a timestamp call pymilvus makes (iterators, some
        # deletes); pymilvus falls back to the client's clock, but Lite's gRPC
        # server logs each refusal with a traceback. Nothing is wrong: keep it
        # off the user's screen.
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        # A file another process holds is logged with a traceback before the
        # error reaches us; the error itself is explained below.
        logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)
        path = Path(address.uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                f"cannot make a Milvus Lite file in {path.parent}: {exc.strerror or exc}"
            ) from None
    try:
        kwargs = {"uri": address.uri, "timeout": 10}
        if address.token:
            kwargs["token"] = address.token
        return MilvusClient(**kwargs)
    except MilvusException as exc:
        raise _explain(exc, address) from None
    except Exception as exc:  # grpc and connection errors come in several types
        raise _explain(exc, address) from None


def _explain(exc: Exception, address: Address) -> Exception:
    text = str(getattr(exc, "message", "") or exc)
    if address.lite:
        if "Open local milvus failed" in text or "lock" in text.lower():
            return IndexBusyError(
                f"the Milvus Lite file {address.uri} is open in another process (a running "
                f"`rag serve`, or another `rag` command): Milvus Lite serves one process at a "
                f"time. Stop that process, or use a Milvus server (milvus:http://HOST:19530)."
            )
        return UsageError(f"cannot open the Milvus Lite file {address.uri}: {text}")
    lowered = text.lower()
    if any(w in lowered for w in ("auth", "token", "credential", "password", "permission")):
        return StoreUnavailableError(
            f"Milvus at {address.uri} refused the credentials: {text}. Set RAG_MILVUS_TOKEN "
            f'("user:password" or an API key).'
        )
    return StoreUnavailableError(
        f"cannot reach Milvus at {address.uri}: {text}. Check the address and that the server "
        f"is running (RAG_STORE=milvus:http://HOST:19530)."
    )


def create(client, address: Address, epoch: int, dim: int) -> None:
    """Make the data collections of `epoch` (any that exist are dropped
    first: they are a build that never became current), and the meta
    collection if there is none."""
    from pymilvus import DataType

    for suffix in DATA:
        if client.has_collection(address.name(suffix, epoch)):
            client.drop_collection(address.name(suffix, epoch))

    def schema():
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        return s

    def versioned(s):
        s.add_field("doc_id", DataType.VARCHAR, max_length=ID_BYTES)
        s.add_field("born", DataType.INT64)
        s.add_field("died", DataType.INT64)
        return s

    def dummy(s, params):
        s.add_field("v", DataType.FLOAT_VECTOR, dim=DUMMY_DIM)
        params.add_index("v", index_type="FLAT", metric_type="L2")

    # passages
    s = versioned(schema())
    s.add_field("chunk_id", DataType.VARCHAR, max_length=128)
    s.add_field("language", DataType.VARCHAR, max_length=16)
    s.add_field("title", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("date", DataType.VARCHAR, max_length=64)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    s.add_field("length", DataType.INT64)
    s.add_field("norm", DataType.FLOAT)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    p = client.prepare_index_params()
    p.add_index(
        "vector", index_type="HNSW", metric_type="COSINE", params={"M": 16, "efConstruction": 200}
    )
    p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(address.name("passages", epoch), schema=s, index_params=p)
    # sentences
    s = versioned(schema())
    s.add_field("sentence_id", DataType.VARCHAR, max_length=128)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    p = client.prepare_index_params()
    p.add_index("vector", index_type="FLAT", metric_type="COSINE")
    client.create_collection(address.name("sentences", epoch), schema=s, index_params=p)
    # articles
    s = versioned(schema())
    s.add_field("part", DataType.INT64)
    s.add_field("parts", DataType.INT64)
    for name in ("title", "text"):
        s.add_field(name, DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    for name in ("language", "date"):
        s.add_field(name, DataType.VARCHAR, max_length=64)
    for name in ("source", "url", "file", "raw_hash", "meta", "signature"):
        s.add_field(name, DataType.VARCHAR, max_length=4096)
    s.add_field("copy_of", DataType.VARCHAR, max_length=ID_BYTES)
    for name in ("size", "mtime_ns", "chunks", "sentences"):
        s.add_field(name, DataType.INT64)
    p = client.prepare_index_params()
    dummy(s, p)
    client.create_collection(address.name("articles", epoch), schema=s, index_params=p)
    # terms
    s = schema()
    s.add_field("df", DataType.INT64)
    p = client.prepare_index_params()
    dummy(s, p)
    client.create_collection(address.name("terms", epoch), schema=s, index_params=p)
    ensure_meta(client, address)


def ensure_meta(client, address: Address) -> None:
    """Make the meta collection if there is none."""
    from pymilvus import DataType

    if client.has_collection(address.name("meta")):
        return
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("value", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    p = client.prepare_index_params()
    s.add_field("v", DataType.FLOAT_VECTOR, dim=DUMMY_DIM)
    p.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(address.name("meta"), schema=s, index_params=p)


def read_meta(client, address: Address, key: str = "index") -> dict | None:
    """The meta row `key` (None when the index or the row does not exist)."""
    name = address.name("meta")
    if not client.has_collection(name):
        return None
    _load_one(client, name)
    rows = client.query(
        name, filter=f'key == "{key}"', output_fields=["value"], consistency_level="Strong"
    )
    if not rows:
        return None
    try:
        value = json.loads(rows[0]["value"])
    except json.JSONDecodeError:
        raise IndexInvalidError(f"{address.location}: the meta row {key!r} is not JSON") from None
    return value


def info_of(meta: dict):
    """The `IndexInfo` a meta row describes."""
    from rag.store.base import IndexInfo

    return IndexInfo(
        int(meta["generation"]),
        meta["embedder_id"],
        int(meta["dim"]),
        meta["settings"],
        dict(meta["counts"]),
        meta.get("created", ""),
        meta.get("operation", ""),
    )


def write_meta(client, address: Address, value: dict, key: str = "index") -> None:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise IndexInvalidError(f"{address.location}: the index's settings are too large to record")
    client.upsert(address.name("meta"), [{"key": key, "value": text, "v": [0.0] * DUMMY_DIM}])


def check_meta(meta: dict | None, address: Address) -> dict:
    """The meta row, checked: a `RagError` for a missing or foreign index."""
    if meta is None:
        raise IndexMissingError(f"no index at {address.location}. Build one with `rag ingest`.")
    if meta.get("format") != FORMAT:
        raise IndexInvalidError(
            f"{address.location} holds collections rag did not make (format "
            f"{meta.get('format')!r}). Choose another name with RAG_MILVUS_COLLECTION."
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise IndexInvalidError(
            f"{address.location} was made by another version of rag (format version "
            f"{meta.get('format_version')}, this one reads {FORMAT_VERSION}). Rebuild it with "
            f"`rag ingest --rebuild`."
        )
    for field in ("generation", "epoch", "embedder_id", "dim", "settings", "counts", "stats"):
        if field not in meta:
            raise IndexInvalidError(f"{address.location}: the meta row lacks {field!r}")
    return meta


def load(client, address: Address, epoch: int) -> None:
    """Load the collections of `epoch` into memory (Milvus serves only loaded
    collections); cheap when they are loaded already."""
    for suffix in DATA:
        name = address.name(suffix, epoch)
        if not client.has_collection(name):
            raise IndexInvalidError(
                f"{address.location}: the collection {name} is missing. Rebuild with "
                f"`rag ingest --rebuild`."
            )
        _load_one(client, name)


def _load_one(client, name: str) -> None:
    state = client.get_load_state(name)
    if "Loaded" not in str(state.get("state", "")):
        client.load_collection(name)


def visible(generation: int) -> str:
    """The filter for rows of committed generation `generation`."""
    return f"born <= {int(generation)} and died > {int(generation)}"


def literal(value: str) -> str:
    """A Milvus string literal.

    >>> literal('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    return json.dumps(str(value), ensure_ascii=False)


def quoted(values) -> str:
    """A Milvus list literal of strings (for `in [...]`)."""
    return "[" + ", ".join(json.dumps(str(v), ensure_ascii=False) for v in values) + "]"
