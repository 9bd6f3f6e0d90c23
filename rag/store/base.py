"""What every store backend offers the layers above it, and nothing more.

A *store* is one index, wherever it lives: the local files (`rag.store.local`)
or a Milvus collection set (`rag.store.milvus`). Above this module nothing
knows which: retrieval reads a `View`, ingest writes through a `Writer`, and
`rag status` / `verify` / `compact` ask the `Store`.

- `View`: one committed state of the index, read-only and consistent (a
  question retrieves and reads its sentences from one state, even while a
  writer commits the next). Passages are addressed by int64 ids that mean
  something only within the view that returned them.
- `Writer`: stages added and deleted articles under the index's writer lock
  (or lease) and commits them so that a reader sees all of a change or none.
- `Store`: opens views and writers, tells cheaply whether a new state was
  committed, and looks after the index (status, verify, compact).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from rag.records import Article, Chunk, Sentence


class ArticleInfo(NamedTuple):
    """What a hit shows of its article: no text."""

    row: int
    id: str
    title: str
    language: str
    date: str | None
    url: str | None = None
    outlet: str | None = None
    copy_of: str | None = None

    @property
    def story(self) -> str:
        """Its copy group: the article it copies, else its own id."""
        return self.copy_of or self.id


class Listed(NamedTuple):
    """A live article as a library lists it: no text."""

    info: ArticleInfo
    passages: int
    file: str  # absolute path of the file it was read from, "" when none


@dataclass(frozen=True)
class IndexInfo:
    """What a committed state says about itself."""

    generation: int
    embedder_id: str
    dim: int
    settings: dict  # the chunking settings the passages were made with
    counts: dict[str, int]  # articles, chunks, sentences (live), and backend extras
    created: str = ""
    operation: str = ""


@dataclass(frozen=True)
class IndexedFile:
    """A live article as the index recorded it: where it came from."""

    doc_id: str
    file: str  # absolute path, "" when added without a file
    size: int
    mtime_ns: int
    raw_hash: str


@dataclass(frozen=True)
class Origin:
    """Where an article was read from, to tell at the next ingest whether
    its file changed: the file's absolute path ("" when the article was
    given directly), its size and modification time, and a hash of the
    document as read, before cleaning."""

    file: str = ""
    size: int = -1
    mtime_ns: int = -1
    raw_hash: str = ""


@dataclass(frozen=True)
class NewArticle:
    """An article ready to store: its passages and sentences with their vectors,
    and each passage's BM25 tokens."""

    article: Article
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray  # (len(chunks), dim) float32 unit rows
    sentences: tuple[Sentence, ...]
    sentence_vectors: np.ndarray  # (len(sentences), dim)
    tokens: tuple[tuple[str, ...], ...] = ()  # per chunk; () when postings come from a merge
    lengths: tuple[int, ...] = ()  # per chunk, tokens; from `tokens` when empty
    origin: Origin = field(default_factory=Origin)
    signature: bytes = b""  # `rag.ingest.copies.signature` of its text (b"": none)


@dataclass(frozen=True)
class StoredVectors:
    """A live article with its passages and sentences and their vectors (to
    reuse when an edited version is stored)."""

    article: Article
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray
    sentences: tuple[Sentence, ...]
    sentence_vectors: np.ndarray
    signature: bytes = b""


@dataclass(frozen=True)
class Maintenance:
    """What `Store.compact` did."""

    changed: bool
    generation: int
    before: dict[str, int] = field(default_factory=dict)


class View(Protocol):
    """One committed state of an index, open for reading."""

    target: str  # identifies the state; a new commit has another
    location: str  # printable: where the index is
    languages: list[str]  # languages with live passages, sorted
    language_counts: dict[str, int]  # live passages per language

    @property
    def info(self) -> IndexInfo: ...

    def dense_candidates(
        self, query: np.ndarray, language: str, depth: int, probe_share: float = 0.0
    ) -> np.ndarray: ...

    def candidates(
        self,
        query: np.ndarray,
        lexical: Any,
        depths: dict[str, int],
        probe_share: float = 0.0,
        dates: tuple[str, str] | None = None,
    ) -> np.ndarray:
        """Ids of the dense and the lexical candidates of every language in
        `depths` (up to that many of each), as one call a backend may run in
        parallel. `dates` (first, after), ISO strings: only passages of
        articles dated first <= date < after, filtered inside the search
        (see `rag.search.query.date_range`)."""

    def lexical(self, terms: Sequence[str]) -> Any:
        """The query's lexical state (opaque), from stemmed terms."""

    def lexical_top(self, lexical: Any, language: str, depth: int) -> np.ndarray: ...

    def lexical_of(self, lexical: Any, ids: np.ndarray) -> np.ndarray: ...

    def vectors_of(self, ids: np.ndarray) -> np.ndarray: ...

    def languages_of(self, ids: np.ndarray) -> np.ndarray: ...

    def chunks_of(self, ids: Sequence[int]) -> list[tuple[Chunk, ArticleInfo]]: ...

    def sentences(self, doc_id: str) -> tuple[Article, tuple[Sentence, ...], np.ndarray] | None: ...

    def article(self, doc_id: str) -> Article | None: ...

    def stored(self, doc_id: str) -> StoredVectors | None: ...

    def articles(self) -> Iterator[Article]: ...

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]: ...

    def article_files(self) -> Iterator[IndexedFile]: ...

    def article_languages(self) -> dict[str, int]: ...

    def catalog(self) -> Iterator[Listed]:
        """Every live article with its passage count and file, without its
        text (the app's library lists these)."""

    def signatures(self) -> Iterator[tuple[str, str, bytes, str | None]]:
        """(id, language, copy signature, copy_of) of every live article
        that has a signature: what ingest groups new articles against."""

    def copies(self) -> dict[str, tuple[ArticleInfo, ...]]:
        """Every story with more than one live article: its key (the id of
        its first article, `Article.copy_of`) and its live articles. The
        view works it out once and keeps it."""


_STORIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def stories(view: View) -> dict[str, str]:
    """{article id: its story's key} for every live article of a story with
    copies (`View.copies()`); an article absent is a story of its own. Worked
    out once per view: search asks at every question."""
    found = _STORIES.get(view)
    if found is None:
        found = {info.id: key for key, infos in view.copies().items() for info in infos}
        _STORIES[view] = found
    return found


def article_meta(article: Article) -> str:
    """What an article has beyond the columns every backend stores (date
    evidence, outlet, author), as the JSON text both backends keep."""
    meta = {
        "date_evidence": article.date_evidence,
        "outlet": article.outlet,
        "author": article.author,
    }
    return json.dumps({k: v for k, v in meta.items() if v is not None}, ensure_ascii=False)


def read_article_meta(text: str) -> dict[str, str]:
    """`article_meta` read back; a ValueError when it is not what it wrote."""
    meta = json.loads(text or "{}")
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("malformed article meta")
    return meta


class Writer(Protocol):
    """Staged changes to one index (see the module docstring)."""

    location: str
    view: View | None  # the state changes apply to (None: an empty index)
    drop_all: bool  # the next commit replaces everything (a rebuild)

    @property
    def info(self) -> IndexInfo: ...

    def add(self, items: Sequence[Any], dim: int | None = None) -> Any: ...

    def delete(self, doc_ids: Iterable[str]) -> list[str]:
        """Stage deleting these articles; returns the ids the index did not hold."""

    def locate(self, doc_id: str) -> Any | None: ...

    def commit(self, operation: str, merge: bool = True) -> int:
        """Publish what is staged; returns the merges made."""

    def compact_after_bulk(self, added: int) -> bool: ...


class Store(Protocol):
    """One index, wherever it lives."""

    location: str

    def current(self) -> str | None:
        """The committed state's identity (cheap; None when there is none)."""

    def open(self, previous: View | None = None, preload: bool = False) -> View: ...

    def writer(
        self,
        embedder_id: str | None,
        dim: int | None,
        settings: dict | None,
        what: str,
        wait: float | None = None,
        rebuild: bool = False,
        fresh: bool = False,
    ) -> AbstractContextManager[Writer]: ...

    def status(self) -> dict: ...

    def verify(self, progress: Callable[[int, int], None] | None = None) -> dict: ...

    def compact(self, progress: Callable[[int], None] | None = None, wait=None) -> Maintenance: ...

    def writer_holder(self) -> str | None: ...
