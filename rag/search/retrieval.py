"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings, fused, diversified.

`Retriever` holds one open state of an index (a `rag.store.base.View`, from
whichever backend `settings.store` names, swapped when a new commit lands)
and one embedder; `retrieve()` is the module-level convenience that keeps a
retriever per settings.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.embed.base import Embedder, make_embedder
from rag.errors import IndexInvalidError, UsageError
from rag.records import Hit, Source
from rag.search.chronology import named_period
from rag.search.fusion import calibrate, diversify, weighted_rrf
from rag.search.query import date_range, validate_question
from rag.settings import Settings
from rag.store import open_store
from rag.store.base import ArticleInfo, Store, stories
from rag.store.base import View as Snapshot
from rag.text.language import (
    UNKNOWN,
    normalize_code,
    question_language,
    warm_up_questions_in_background,
)
from rag.text.lexical import tokenize

MAX_K = 100


# Floors for the per-language standard deviation in calibrated fusion: in
# cosine units for dense scores, in BM25 units for lexical ones.
DENSE_STD_FLOOR = 0.005
LEXICAL_STD_FLOOR = 0.5


@dataclass(frozen=True)
class Scored:
    """Every candidate for one query with its scores, before diversity."""

    question_language: str
    ids: np.ndarray  # global passage ids in `snapshot`
    dense: np.ndarray  # cosine similarity to the question
    lexical: np.ndarray  # BM25 score (0: no lexical match)
    fused: np.ndarray  # higher is better
    groups: np.ndarray  # each candidate's language
    snapshot: Snapshot | None = None  # the commit the ids refer to

    def order(self) -> np.ndarray:
        """Positions into `ids`, best first (ties broken by passage id)."""
        return np.lexsort((self.ids, -self.fused))


class Retriever:
    """Searches one index with one embedder, following its commits.

    Each call checks (one `readlink`) whether a new commit became current
    and, if so, switches to it, reusing the segments it already has open:
    a running app sees articles added or removed without a restart.

    Example (needs an index: run `rag ingest` first)::

        r = Retriever.open(Settings.from_env())
        [h.title for h in r.retrieve("Varför stöder Ryssland Lukasjenko?", k=3)]
    """

    def __init__(
        self,
        snapshot: Snapshot,
        embedder: Embedder,
        settings: Settings,
        store: Store | None = None,
    ) -> None:
        self.store = store or open_store(settings)
        self._snapshot = snapshot
        self.embedder = embedder
        self.settings = settings
        self._reload = threading.Lock()
        self._pinned: Snapshot | None = None
        self._embed_query = functools.lru_cache(maxsize=1024)(self._embed_query_uncached)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> Retriever:
        """Open the index `settings` names, for `embedder` (default: the one
        `settings.embedder` names)."""
        store = open_store(settings)
        snapshot = store.open(preload=True)  # before the model: a missing index fails fast
        embedder = embedder or make_embedder(settings.embedder, settings.resolved_threads())
        _check_embedder(snapshot, embedder, store)
        warm_up_questions_in_background()
        return cls(snapshot, embedder, settings, store)

    def pinned(self) -> Retriever:
        """This retriever held at its current commit: an answer retrieves and
        reads its hits' sentences from one commit, even if another lands."""
        view = copy.copy(self)
        view._pinned = self.snapshot
        return view

    @property
    def snapshot(self) -> Snapshot:
        """The current commit, opened; switches when a new one is made."""
        if self._pinned is not None:
            return self._pinned
        current = self._snapshot
        if self.store.current() == current.target:
            return current
        with self._reload:
            current = self._snapshot
            if self.store.current() != current.target:
                fresh = self.store.open(previous=current, preload=True)
                _check_embedder(fresh, self.embedder, self.store)
                self._snapshot = current = fresh
        return current

    @property
    def languages(self) -> list[str]:
        return self.snapshot.languages

    @property
    def dim(self) -> int:
        return self.snapshot.info.dim

    def _embed_query_uncached(self, question: str) -> np.ndarray:
        vector = self.embedder.embed_queries([question])[0]
        vector.setflags(write=False)
        return vector

    def check_languages(
        self, languages: Iterable[str] | str | None, snapshot: Snapshot | None = None
    ) -> frozenset[str] | None:
        """The language codes asked for, normalised ("no" -> "nb"), or None for all."""
        if languages is None:
            return None
        if isinstance(languages, str):
            languages = languages.split(",")
        wanted = frozenset(normalize_code(code) for code in languages if code.strip())
        if not wanted:
            return None
        have = (snapshot or self.snapshot).languages
        unknown = sorted(wanted - set(have))
        if unknown:
            raise UsageError(
                f"no articles in language(s) {', '.join(unknown)}; the index has "
                f"{', '.join(have) or 'none'}"
            )
        return wanted

    def score(
        self,
        question: str,
        languages: frozenset[str] | None = None,
        snapshot: Snapshot | None = None,
        dates: tuple[str, str] | None = None,
        vector: np.ndarray | None = None,
    ) -> Scored:
        """Candidates from dense and lexical search in each language (of
        articles dated in `dates`, see `rag.search.query.date_range`), fused.
        `vector` stands in for the question's embedding when given (a
        stored sentence's, to find what else states it). Without `dates`, a
        time the question names (`rag.search.chronology.named_period`) is searched
        too, and its candidates' fused score raised by `settings.time_boost`:
        the question prefers passages from then, without losing the others."""

        settings = self.settings
        snap = snapshot or self.snapshot
        qlang = question_language(question)
        qvec = self._embed_query(question) if vector is None else vector
        prefer = None
        if dates is None and vector is None and settings.time_boost:
            named = named_period(question, qlang)
            prefer = date_range(*named) if named else None
        searched = [lang for lang in snap.languages if languages is None or lang in languages]
        lexical = snap.lexical(tokenize(question, qlang if qlang != UNKNOWN else ""))
        depths = {lang: min(settings.candidates, snap.language_counts[lang]) for lang in searched}
        found = snap.candidates(qvec, lexical, depths, settings.dense_probe_share, dates)
        then = np.zeros(0, dtype=np.int64)
        if prefer is not None:
            then = np.asarray(
                snap.candidates(qvec, lexical, depths, settings.dense_probe_share, prefer),
                dtype=np.int64,
            )
        ids = np.unique(np.concatenate([np.asarray(found, dtype=np.int64), then]))
        if len(ids) == 0:
            empty = np.zeros(0)
            return Scored(qlang, ids, empty, empty, empty, np.zeros(0, dtype=object), snap)
        dense = snap.vectors_of(ids) @ qvec
        lexical_scores = snap.lexical_of(lexical, ids)
        groups = snap.languages_of(ids)
        if settings.fusion == "rrf":
            fused = self._rrf(ids, dense, lexical_scores)
        else:  # "calibrated" (Settings accepts no other value)
            top, prior = settings.calibration_top, settings.calibration_prior
            fused = calibrate(dense, groups, top, DENSE_STD_FLOOR, prior)
            if settings.lexical_weight:
                fused = fused + settings.lexical_weight * calibrate(
                    lexical_scores, groups, top, LEXICAL_STD_FLOOR, prior
                )
        if len(then):
            fused = fused + settings.time_boost * np.isin(ids, then)
        return Scored(qlang, ids, dense, lexical_scores, fused, groups, snap)

    def _rrf(self, ids: np.ndarray, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        by_dense = [int(i) for i in ids[np.lexsort((ids, -dense))]]
        matched = lexical > 0
        by_lexical = [int(i) for i in ids[matched][np.lexsort((ids[matched], -lexical[matched]))]]
        s = self.settings
        fused = weighted_rrf([(by_dense, 1.0), (by_lexical, s.lexical_weight)], s.rrf_k)
        return np.array([fused.get(int(i), 0.0) for i in ids])

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        languages: Sequence[str] | None = None,
        snapshot: Snapshot | None = None,
        *,
        since: object = None,
        until: object = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The `k` best passages for `question`, optionally only in `languages`
        and only from articles dated `since` .. `until` (YYYY, YYYY-MM or
        YYYY-MM-DD, both inclusive; undated articles are then left out).
        `snapshot` pins the commit (an answer reads its hits' sentences from
        the commit it retrieved them from); `vector`, see `score`."""
        question = validate_question(question, self.settings.max_question_chars)
        k = self.settings.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise UsageError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
        dates = date_range(since, until)
        snap = snapshot or self.snapshot  # one commit for the whole question
        wanted = self.check_languages(languages, snap)
        scored = self.score(question, wanted, snap, dates, vector)
        order = scored.order()
        ids = scored.ids[order]
        vectors = snap.vectors_of(ids)
        # Spans need only the article and offsets; fetch records for the
        # best candidates first and more only if near-copies eat into them.
        records: dict[int, tuple] = {}

        def span(pos: int) -> tuple[str, int, int]:
            if pos not in records:
                batch = list(range(pos, min(len(ids), pos + 2 * k)))
                for p, found in zip(batch, snap.chunks_of(ids[batch]), strict=True):
                    records.setdefault(p, found)
            chunk = records[pos][0]
            return chunk.doc_id, chunk.start, chunk.end

        spans = _LazySpans(span, len(ids))
        copies = snap.copies()  # {story: its articles}, for the few stories with copies
        story_of = stories(snap)
        story = _LazySpans(lambda pos: story_of.get(spans[pos][0], spans[pos][0]), len(ids))
        chosen = diversify(
            list(ids),
            vectors,
            spans,
            k,
            self.settings.near_duplicate_cosine,
            stories=story if story_of else None,
        )
        dense_rank = _ranks(scored.ids, scored.dense)
        lexical_rank = _ranks(scored.ids, scored.lexical, positive_only=True)
        hits = []
        for pos in chosen:
            i = int(ids[pos])
            chunk, article = records[pos] if pos in records else snap.chunks_of([i])[0]
            at = order[pos]
            hits.append(
                Hit(
                    chunk_id=chunk.id,
                    doc_id=chunk.doc_id,
                    title=article.title,
                    language=article.language,
                    date=article.date,
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    score=round(float(scored.fused[at]), 6),
                    dense_score=round(float(scored.dense[at]), 6),
                    lexical_score=round(float(scored.lexical[at]), 6),
                    dense_rank=dense_rank.get(i),
                    lexical_rank=lexical_rank.get(i),
                    url=article.url,
                    outlet=article.outlet,
                    also_in=also_in(chunk.doc_id, copies.get(story_of.get(chunk.doc_id, ""), ())),
                )
            )
        return hits

    def article_sentences(self, doc_id: str, snapshot: Snapshot | None = None):
        """(Article, its sentences, their vectors) for a live article, or None."""
        return (snapshot or self.snapshot).sentences(doc_id)


def also_in(doc_id: str, story: Sequence[ArticleInfo]) -> tuple[Source, ...]:
    """The other articles of a passage's story (its wire copies), as sources."""
    return tuple(
        Source(a.id, a.title, a.language, a.date, a.outlet, a.url) for a in story if a.id != doc_id
    )


class _LazySpans:
    """A sequence computed item by item on first access."""

    def __init__(self, get, n: int) -> None:
        self._get, self._n = get, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, pos: int) -> tuple[str, int, int]:
        return self._get(pos)


def _check_embedder(snapshot: Snapshot, embedder: Embedder, store: Store) -> None:
    commit = snapshot.info
    if commit.embedder_id != embedder.id:
        raise IndexInvalidError(
            f"the index at {store.location} was built with embedder {commit.embedder_id!r}, "
            f"but the configured embedder is {embedder.id!r}; their vectors are not comparable. "
            f"Rebuild with `rag ingest` (or set RAG_EMBEDDER to the index's embedder)."
        )
    if embedder.dim != commit.dim:
        raise IndexInvalidError(
            f"the index holds {commit.dim}-dimensional vectors but the embedder makes "
            f"{embedder.dim}-dimensional ones. Rebuild it with `rag ingest`."
        )


def _ranks(ids: np.ndarray, scores: np.ndarray, positive_only: bool = False) -> dict[int, int]:
    """1-based rank of each candidate by one score (among the candidates)."""
    order = np.lexsort((ids, -scores))
    return {
        int(ids[j]): r for r, j in enumerate(order, start=1) if not positive_only or scores[j] > 0
    }


MAX_CACHED_RETRIEVERS = 4
_retrievers: dict[Settings, Retriever] = {}
_lock = threading.Lock()


def get_retriever(settings: Settings | None = None) -> Retriever:
    """The process-wide retriever for `settings`; it follows new commits."""
    settings = settings or Settings.from_env()
    with _lock:
        cached = _retrievers.get(settings)
        if cached is not None:
            cached.snapshot  # noqa: B018  (switches to a new commit, or raises if none)
            return cached
        retriever = Retriever.open(settings)
        while len(_retrievers) >= MAX_CACHED_RETRIEVERS:  # drop the oldest
            _retrievers.pop(next(iter(_retrievers)))
        _retrievers[settings] = retriever
        return retriever


def retrieve(
    question: str,
    k: int | None = None,
    languages: Sequence[str] | None = None,
    *,
    since: object = None,
    until: object = None,
    settings: Settings | None = None,
) -> list[Hit]:
    """The `k` passages (default `settings.k`, 5) that best answer `question`,
    across languages.

    Each language is searched separately, dense (FAISS) and lexical (BM25);
    the scores are calibrated per language and fused (see `Settings.fusion`),
    and near-copies removed. `languages` (e.g. ["sv", "nb"], or "sv,nb")
    restricts the passages searched, and `since` / `until` (e.g. "2020-09",
    "2021") their articles' dates; both filters run inside the index.

    Example (needs an index: run `rag ingest` first)::

        import rag
        hits = rag.retrieve("Varför stöder Ryssland Lukasjenko?", k=3)
        [(h.doc_id, h.language) for h in hits]
    """
    settings = settings or Settings.from_env()
    validate_question(question, settings.max_question_chars)  # before loading anything
    date_range(since, until)
    return get_retriever(settings).retrieve(question, k, languages, since=since, until=until)
