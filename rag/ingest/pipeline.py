"""The ingest pipeline: files -> cleaned articles -> passages, sentences, vectors -> index.

`build_index` (`rag ingest`) keeps the index in step with a folder: files
whose size and modification time are unchanged are not even read; changed
files are read and only their new or edited articles are cleaned, embedded
and stored; articles whose file is gone are removed (`rag.sync` decides).
`add_files` (`rag add`) and `add_documents` store articles from anywhere,
replacing any with the same id; `remove_articles` (`rag remove`) deletes by
id. Each change is committed atomically (through the store's `Writer`); a
large ingest commits every `SEGMENT_CHUNKS` passages, so an interrupted one
keeps what it finished and the next run resumes after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rag.dates import LANGUAGES as DATE_LANGUAGES
from rag.dates import publication_date
from rag.embed.base import Embedder, make_embedder
from rag.errors import IndexInvalidError, IndexMissingError, IngestError, UsageError
from rag.ingest.clean import clean_article, fallback_title
from rag.ingest.copies import CopyFinder, signature
from rag.ingest.loaders import MANY, SUFFIXES, Skipped, printable, read_file, scan
from rag.ingest.sync import FileStamp, Indexed, files_to_read, plan_file, raw_hash, under, vanished
from rag.records import Article, Document
from rag.settings import Settings
from rag.store import open_store
from rag.store.base import NewArticle, Origin, Writer
from rag.text.chunking import article_sentences, chunk_article, passage_text
from rag.text.language import UNKNOWN, detect_language, normalize_code
from rag.text.lexical import tokenize

log = logging.getLogger(__name__)

# What is embedded: a passage with its article's title (measured better for
# retrieval), a sentence on its own (measured better for picking the sentence
# that answers: docs/PERFORMANCE.md), except that a sentence which is a whole
# passage by itself takes the passage's vector (no dev-set score changed; 7%
# less to embed). A change here must change the recipe.
PASSAGE_RECIPE = "title+text/1"
SENTENCE_RECIPE = "text, or its passage's when it is one/2"
EMBED_BATCH = 32
# Passages per segment while ingesting: each is committed on its own, so an
# interrupted ingest keeps what it finished.
SEGMENT_CHUNKS = 20_000


@dataclass(frozen=True)
class IngestReport:
    """What one change did, and what the index holds afterwards."""

    index: str  # where the index is (a folder, or a Milvus address)
    generation: int  # the commit now current
    files: int  # article files found (or given)
    read: int  # files read: new or changed since the last ingest
    articles: int  # live articles in the index afterwards
    chunks: int
    sentences: int
    added: int  # new articles stored
    updated: int  # articles replaced by an edited version
    removed: int  # articles deleted
    unchanged: int  # articles left as they were
    embedded: int  # texts (passages and sentences) embedded
    reused: int  # texts whose vectors came from an earlier version of their article
    skipped: tuple[Skipped, ...]
    languages: dict[str, int]  # live articles per language
    merges: int  # segments merges the policy made
    seconds: float
    copies: tuple[CopyFound, ...] = ()  # articles stored as wire copies of another


@dataclass(frozen=True)
class CopyFound:
    """An article stored as a wire copy or near-copy of another (`rag.copies`)."""

    doc_id: str
    title: str
    of: str  # the article it matched
    story: str  # the key of the story they share (`Article.copy_of`)
    similarity: float  # estimated Jaccard similarity of their word 5-grams


def build_settings(settings: Settings) -> dict:
    """The settings an index is built with: what it takes for two ingests'
    passages and vectors to mix."""
    return {
        "chunk_chars": settings.chunk_chars,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "passage": PASSAGE_RECIPE,
        "sentence": SENTENCE_RECIPE,
    }


# ---------------------------------------------------------------- preparing


def prepare_articles(documents: Iterable[Document]) -> tuple[list[Article], list[Skipped]]:
    """Clean each document and give it a title and language; skip documents
    that are empty after cleaning or whose id was already seen."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for doc in documents:
        article = prepare_article(doc)
        if article is None:
            skipped.append(Skipped(doc.source, "has no article text after cleaning"))
            continue
        if doc.id in seen:
            skipped.append(Skipped(doc.source, f"repeats the article id {doc.id!r}"))
            continue
        seen.add(doc.id)
        articles.append(article)
    return articles, skipped


def prepare_article(doc: Document) -> Article | None:
    """The cleaned article, or None when nothing is left after cleaning. Its
    date is the publication date its metadata, date line or text gives
    (`rag.dates`), with the words that gave it."""
    cleaned = clean_article(doc.text, title=doc.title, extracted=doc.extracted)
    if not cleaned.text.strip():
        return None
    language = normalize_code(doc.language) if doc.language else UNKNOWN
    if language == UNKNOWN:
        language = detect_language(cleaned.text)
    found = publication_date(
        doc.text, language if language in DATE_LANGUAGES else "en", doc.date or None
    )
    return Article(
        id=doc.id,
        title=cleaned.title or fallback_title(cleaned.text),
        text=cleaned.text,
        language=language,
        date=found.value if found else None,
        source=doc.source,
        url=doc.url,
        date_evidence=found.evidence if found else None,
        outlet=doc.outlet,
        author=doc.author,
    )


def chunk_articles(articles: Iterable[Article], settings: Settings) -> list:
    """All chunks, each language's together (for benchmarks and probes)."""
    ordered = sorted(articles, key=lambda a: a.language)
    return [
        c
        for a in ordered
        for c in chunk_article(a, settings.chunk_chars, settings.chunk_overlap_sentences)
    ]


# ---------------------------------------------------------------- the session


@dataclass
class _Tally:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    read: int = 0
    merges: int = 0
    passages_written: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    copies: list[CopyFound] = field(default_factory=list)


class _Session:
    """One change under the writer lock: articles to store are prepared,
    embedded (reusing the vectors of their earlier versions) and written a
    segment at a time, each with the deletions it implies, one commit each."""

    def __init__(
        self,
        writer: Writer,
        embedder: Embedder,
        chunking: dict,
        operation: str,
        progress: bool,
    ) -> None:
        self.writer = writer
        self.embedder = embedder
        self.chunking = chunking
        self.operation = operation
        self.progress = progress
        self.tally = _Tally()
        self._pending: list[tuple[Article, Origin]] = []
        self._pending_chunks = 0
        self._deletes: list[str] = []  # articles removed
        self._replaces: list[str] = []  # articles stored again in a new version
        self._finder: CopyFinder | None = None  # live articles' copy signatures
        self._known: set[str] = set()  # ids the finder holds
        self._signatures: dict[str, bytes] = {}  # of the pending articles

    def store(self, article: Article, origin: Origin, replaces: bool) -> None:
        if replaces:
            self._replaces.append(article.id)
        article = self._grouped(article)
        self._pending.append((article, origin))
        self._pending_chunks += max(1, len(article.text) // max(1, self.chunking["chunk_chars"]))
        if self._pending_chunks >= SEGMENT_CHUNKS:
            self.flush()

    def delete(self, doc_ids: Iterable[str]) -> None:
        self._deletes.extend(doc_ids)

    def _grouped(self, article: Article) -> Article:
        """The article, with `copy_of` set when it is a wire copy or
        near-copy of a live article or of one stored before it now."""
        sig = signature(article.text, article.language)
        self._signatures[article.id] = sig
        finder = self._copy_finder()
        found = finder.match(article.language, sig, exclude=article.id)
        if found is not None:
            article = replace(article, copy_of=found.group)
            self.tally.copies.append(
                CopyFound(
                    article.id, article.title, found.article_id, found.group, found.similarity
                )
            )
        if article.id not in self._known:
            finder.add(article.id, article.language, sig, article.copy_of)
            self._known.add(article.id)
        return article

    def _copy_finder(self) -> CopyFinder:
        """The signatures of the live articles, read once per session."""
        if self._finder is None:
            self._finder = CopyFinder()
            view = self.writer.view
            if view is not None and not self.writer.drop_all:
                # a signature of another version is not compared
                held = self._finder.extend(view.signatures(), skip_invalid=True)
                self._known.update(held)
        return self._finder

    def empties(self, live: int) -> bool:
        """True when flushing would leave the index without articles."""
        return not self._pending and len(set(self._deletes)) >= live

    def flush(self) -> None:
        """Write what is pending as one segment, with its deletions, and commit."""
        items = self._new_articles([a for a, _ in self._pending], [o for _, o in self._pending])
        removals = [d for d in dict.fromkeys(self._deletes) if d not in set(self._replaces)]
        missing = set(self.writer.delete(removals))
        self.tally.removed += len(removals) - len(missing)
        self.writer.delete(dict.fromkeys(self._replaces))
        self.writer.add(items, self.embedder.dim)
        self.tally.passages_written += sum(len(item.chunks) for item in items)
        self._pending, self._pending_chunks = [], 0
        self._deletes, self._replaces = [], []
        self.tally.merges += self.writer.commit(self.operation)

    def _new_articles(self, articles: list[Article], origins: list[Origin]) -> list[NewArticle]:
        chars, overlap = self.chunking["chunk_chars"], self.chunking["chunk_overlap_sentences"]
        chunked = [chunk_article(a, chars, overlap) for a in articles]
        sentences = [article_sentences(a) for a in articles]
        passages = [
            [passage_text(a.title, c.text) for c in chunks]
            for a, chunks in zip(articles, chunked, strict=True)
        ]
        texts = [t for group in passages for t in group] + [
            s.text for group in sentences for s in group
        ]
        previous = self._previous_vectors(articles)
        same = single_sentence_passages(chunked, sentences)
        vectors, embedded = embed_texts(self.embedder, texts, previous, self.progress, same_as=same)
        self.tally.embedded += embedded
        self.tally.reused += len(texts) - embedded - len(same)
        n_passages = sum(len(group) for group in passages)
        passage_vectors, sentence_vectors = vectors[:n_passages], vectors[n_passages:]
        out, p, s = [], 0, 0
        for a, origin, chunks, group, sents in zip(
            articles, origins, chunked, passages, sentences, strict=True
        ):
            tokens = passage_tokens(group, a.language)
            out.append(
                NewArticle(
                    article=a,
                    chunks=tuple(chunks),
                    chunk_vectors=passage_vectors[p : p + len(chunks)],
                    sentences=tuple(sents),
                    sentence_vectors=sentence_vectors[s : s + len(sents)],
                    tokens=tokens,
                    origin=origin,
                    signature=self._signatures.pop(a.id, b""),
                )
            )
            p, s = p + len(chunks), s + len(sents)
        return out

    def _previous_vectors(self, articles: Sequence[Article]) -> dict[str, np.ndarray]:
        """Vectors of the earlier versions of these articles, by text: an
        edited article re-embeds only the passages and sentences that changed."""
        view = self.writer.view
        if view is None or self.writer.drop_all:
            return {}
        table: dict[str, np.ndarray] = {}
        for article in articles:
            stored = view.stored(article.id)
            if stored is None:
                continue
            title = stored.article.title
            for chunk, vector in zip(stored.chunks, stored.chunk_vectors, strict=True):
                table[text_key(passage_text(title, chunk.text))] = vector
            whole = {(c.start, c.end) for c in stored.chunks}  # these hold passage vectors
            for sentence, vector in zip(stored.sentences, stored.sentence_vectors, strict=True):
                if (sentence.start, sentence.end) not in whole:
                    table[text_key(sentence.text)] = np.array(vector)
        return table


def embed_texts(
    embedder: Embedder,
    texts: Sequence[str],
    previous: dict[str, np.ndarray],
    progress: bool = False,
    same_as: dict[int, int] | None = None,
) -> tuple[np.ndarray, int]:
    """One vector per text; texts in `previous` (by `text_key`) and repeats
    are embedded once or not at all. Text i in `same_as` is not embedded: it
    takes the vector of text `same_as[i]` (see `single_sentence_passages`).
    Returns (vectors, texts embedded); texts in `same_as` are neither
    embedded nor taken from `previous`."""
    same_as = same_as or {}
    if any(j in same_as or not 0 <= j < len(texts) for j in same_as.values()):
        raise ValueError("same_as must point at texts that are embedded themselves")
    keys = [text_key(t) for t in texts]
    first: dict[str, int] = {}  # each distinct new text, embedded once
    for i, key in enumerate(keys):
        if i not in same_as and key not in previous and key not in first:
            first[key] = i
    todo = list(first.values())
    fresh: dict[str, np.ndarray] = {}
    step = int(getattr(embedder, "batch_texts", EMBED_BATCH))  # RayEmbedder takes more at once
    with _bar(len(todo), progress, "embedding", "text") as bar:
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            vectors = embedder.embed_documents([texts[i] for i in batch])
            for i, vector in zip(batch, vectors, strict=True):
                fresh[keys[i]] = vector
            bar.update(len(batch))
    dim = embedder.dim
    if not keys:
        return np.zeros((0, dim), np.float32), 0
    table = {**previous, **fresh}
    rows = [table[keys[same_as.get(i, i)]] for i in range(len(keys))]
    return np.stack(rows).astype(np.float32), len(todo)


def single_sentence_passages(
    chunked: Sequence[Sequence], sentences: Sequence[Sequence]
) -> dict[int, int]:
    """`same_as` for `embed_texts` over the texts ingest embeds: every
    article's passages, then every article's sentences (`chunked[a]` and
    `sentences[a]` hold article a's chunks and sentences, in that order).
    A sentence that is a whole chunk by itself takes that passage's vector
    (its title, a line break, the sentence) instead of being embedded alone:
    every dev-set score was unchanged, and it saves about 6% of the
    tokens ingest embeds (bench/bench_ingest.py, "single").

    >>> from rag.records import Chunk, Sentence
    >>> chunks = [[Chunk("c1", "d", 0, 9, "One. Two."), Chunk("c2", "d", 10, 16, "Three.")]]
    >>> sents = [[Sentence("s1", "d", 0, 4, "One."), Sentence("s2", "d", 5, 9, "Two."),
    ...           Sentence("s3", "d", 10, 16, "Three.")]]
    >>> single_sentence_passages(chunks, sents)  # text 4 ("Three.") is passage 1
    {4: 1}
    """
    passages = sum(len(group) for group in chunked)
    same: dict[int, int] = {}
    p, s = 0, passages
    for chunks, sents in zip(chunked, sentences, strict=True):
        whole = {(c.start, c.end): p + i for i, c in enumerate(chunks)}
        for i, sentence in enumerate(sents):
            passage = whole.get((sentence.start, sentence.end))
            if passage is not None:
                same[s + i] = passage
        p, s = p + len(chunks), s + len(sents)
    return same


def passage_tokens(texts: Sequence[str], language: str) -> tuple[tuple[str, ...], ...]:
    """Each passage text's BM25 tokens (`passage_text`'s output); [""] for a
    passage with none, so that every passage keeps its row."""
    return tuple(tuple(tokenize(text, language) or [""]) for text in texts)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- the operations


def build_index(
    settings: Settings,
    progress: bool = False,
    embedder: Embedder | None = None,
    wait: float | None = None,
    rebuild: bool = False,
) -> IngestReport:
    """Bring the index in step with the articles folder (`rag ingest`).

    New and edited articles are stored, articles whose file is gone are
    removed, and unchanged files are not read. An index built with another
    embedder or other chunking settings, or one that cannot be read, is
    rebuilt; `rebuild` rebuilds in any case, embedding everything again (for
    an index `rag verify` found damaged). `wait`: seconds to wait for another
    writer (None: as long as it takes; 0: refuse at once).

    Example::

        report = build_index(Settings.from_env())
        report.articles, report.chunks          # (5, 77) for seeds/
    """
    started = time.perf_counter()
    seeds = settings.seeds_path
    if not seeds.is_dir():
        raise UsageError(f"the articles directory {seeds} does not exist")
    embedder = embedder or make_embedder(settings.embedder, settings.resolved_threads())
    folder = printable(str(seeds.resolve()))
    chunking = build_settings(settings)
    with open_store(settings).writer(
        embedder.id,
        embedder.dim,
        chunking,
        "rag ingest",
        wait,
        rebuild=True,
        fresh=rebuild,
    ) as writer:
        # The folder is listed only once the writer's lock is held: a listing
        # taken while another ingest ran would remove what that one added.
        files, passed_over = scan(seeds)
        listing = [_stamp(p) for p in files]
        session = _Session(writer, embedder, chunking, "ingest", progress)
        session.tally.skipped += passed_over
        indexed, by_id, by_file = _indexed(writer)
        session.delete(vanished(folder, listing, indexed))
        existing = {f.path for f in listing}
        todo = files_to_read(listing, indexed)
        session.tally.unchanged += sum(len(by_file.get(f.path, ())) for f in listing) - sum(
            len(by_file.get(f.path, ())) for f in todo
        )
        paths = {stamp.path: p for stamp, p in zip(listing, files, strict=True)}
        # First which ids each changed file holds now, so that an article
        # moving from one changed file to another is moved, not dropped.
        # (Only files that had articles can have given one away.)
        ids_now = {
            stamp.path: {d.id for d in _quiet_read(paths[stamp.path], seeds)}
            for stamp in todo
            if stamp.path in by_file
        }

        def still_holds(file: str, doc_id: str) -> bool:
            if file in ids_now:
                return doc_id in ids_now[file]
            return file in existing  # unchanged since it was indexed

        seen: set[str] = set()
        for stamp in _progress(todo, progress, "reading", "file"):
            docs, skips = read_file(paths[stamp.path], seeds)
            session.tally.read += 1
            in_file = by_file.get(stamp.path, [])
            if docs or not in_file:
                session.tally.skipped += skips
            if not docs and in_file:
                _keep(session, stamp.path, skips, len(in_file))
                continue
            _apply(session, stamp, docs, by_id, in_file, still_holds, seen, keep_others=True)
        if session.empties(len(indexed)) and not session.tally.added + session.tally.updated:
            raise IngestError(
                f"no readable articles in {seeds} ({len(files)} files found, "
                f"{len(session.tally.skipped)} skipped); add {' '.join(SUFFIXES)} "
                f"files. The index was left as it was.{_listed(session.tally.skipped)}"
            )
        session.flush()
        if writer.compact_after_bulk(session.tally.passages_written):
            session.tally.merges += 1
        return _report(writer, session.tally, len(files), started)


def add_files(
    settings: Settings,
    paths: Sequence[Path],
    progress: bool = False,
    embedder: Embedder | None = None,
    wait: float | None = None,
) -> IngestReport:
    """Store the articles of these files (or of the files under these
    folders), replacing any with the same id (`rag add`). The index's own
    chunking settings apply."""
    started = time.perf_counter()
    files: list[tuple[Path, Path | None]] = []
    skipped_before: list[Skipped] = []
    for path in paths:
        if path.is_dir():
            found, passed_over = scan(path)
            files += [(p, path) for p in found]
            skipped_before += passed_over
        elif path.is_file():
            files.append((path, None))
        else:
            raise UsageError(f"{path} does not exist")
    if not files:
        kinds = " ".join(SUFFIXES)
        raise IngestError(f"no article files ({kinds}) in {', '.join(map(str, paths))}")
    seeds = settings.seeds_path.resolve() if settings.seeds_path.is_dir() else None
    with _adding(settings, embedder, progress, wait) as (session, by_id, by_file):
        session.tally.skipped += skipped_before
        seen: set[str] = set()
        for path, folder in _progress(files, progress, "reading", "file"):
            stamp = _stamp(path)
            base = folder or (seeds if seeds and under(stamp.path, str(seeds)) else None)
            docs, skips = read_file(path, base)
            if base is None and path.suffix.lower() not in MANY:
                docs = [_with_id(d, path.stem) for d in docs]
            session.tally.read += 1
            session.tally.skipped += skips
            in_file = by_file.get(stamp.path, [])
            _apply(session, stamp, docs, by_id, in_file, None, seen, keep_others=False)
        session.flush()
        return _report(session.writer, session.tally, len(files), started)


def add_documents(
    settings: Settings,
    documents: Sequence[Document],
    progress: bool = False,
    embedder: Embedder | None = None,
    wait: float | None = None,
) -> IngestReport:
    """Store these documents (each by its id, replacing any article with the
    same id), as if read from files."""
    started = time.perf_counter()
    for doc in documents:
        if not isinstance(doc, Document):
            raise UsageError(f"add_documents takes rag.Document records, not {doc!r:.60}")
    with _adding(settings, embedder, progress, wait) as (session, by_id, _):
        seen: set[str] = set()
        for doc in documents:  # no file: each stands alone, never removes another
            _apply(session, FileStamp("", -1, -1), [doc], by_id, [], None, seen, False)
        session.flush()
        return _report(session.writer, session.tally, 0, started)


@contextlib.contextmanager
def _adding(
    settings: Settings, embedder: Embedder | None, progress: bool, wait: float | None
) -> Iterator[tuple[_Session, dict[str, Indexed], dict[str, list[Indexed]]]]:
    """A session adding to the existing index, with its embedder and chunking
    settings, and the live articles by id and by file."""
    embedder, chunking = _existing(settings, embedder)
    with open_store(settings).writer(
        embedder.id, embedder.dim, chunking, "rag add", wait
    ) as writer:
        _, by_id, by_file = _indexed(writer)
        yield _Session(writer, embedder, chunking, "add", progress), by_id, by_file


def remove_articles(
    settings: Settings, doc_ids: Sequence[str], wait: float | None = None
) -> IngestReport:
    """Delete these articles (`rag remove`). An id the index does not hold is
    a `UsageError`, and then nothing is removed."""
    started = time.perf_counter()
    if not doc_ids:
        raise UsageError("give the ids of the articles to remove (see `rag search --json`)")
    with open_store(settings).writer(None, None, None, "rag remove", wait) as writer:
        missing = [d for d in dict.fromkeys(doc_ids) if writer.locate(d) is None]
        if missing:
            raise UsageError(
                f"the index holds no article with id {', '.join(map(repr, missing))}; nothing "
                f"was removed"
            )
        writer.delete(dict.fromkeys(doc_ids))
        merges = writer.commit("remove")
        tally = _Tally(removed=len(set(doc_ids)), merges=merges)
        return _report(writer, tally, 0, started)


# ---------------------------------------------------------------- helpers


def _apply(
    session: _Session,
    stamp: FileStamp,
    docs: Sequence[Document],
    by_id: dict[str, Indexed],
    in_file: Sequence[Indexed],
    still_holds: Callable[[str, str], bool] | None,
    seen: set[str],
    keep_others: bool,
) -> None:
    """Plan one file's documents against the index and stage the result."""
    fresh = []
    for doc in docs:
        if doc.id in seen:
            session.tally.skipped.append(Skipped(doc.source, f"repeats the article id {doc.id!r}"))
        else:
            seen.add(doc.id)
            fresh.append(doc)
    plan = plan_file(stamp.path, fresh, by_id, in_file, keep_others, still_holds)
    for doc, other in plan.repeats:
        session.tally.skipped.append(
            Skipped(doc.source, f"repeats the article id {doc.id!r} of {other}")
        )
    session.tally.unchanged += len(plan.unchanged)
    replaced = set(plan.remove)
    session.delete(d for d in plan.remove if d not in {doc.id for doc in plan.add})
    for doc in plan.add:
        article = prepare_article(doc)
        if article is None:
            session.tally.skipped.append(Skipped(doc.source, "has no article text after cleaning"))
            if doc.id in replaced:
                session.delete([doc.id])
            continue
        origin = Origin(stamp.path, stamp.size, stamp.mtime_ns, raw_hash(doc))
        if doc.id in replaced:
            session.tally.updated += 1
        else:
            session.tally.added += 1
        session.store(article, origin, replaces=doc.id in by_id)


def _indexed(
    writer: Writer,
) -> tuple[list[Indexed], dict[str, Indexed], dict[str, list[Indexed]]]:
    """Every live article as the index recorded it (no text read), also by id
    and by file."""
    out: list[Indexed] = []
    if writer.view is not None and not writer.drop_all:
        for f in writer.view.article_files():
            out.append(Indexed(f.doc_id, f.file, f.size, f.mtime_ns, f.raw_hash))
    by_file: dict[str, list[Indexed]] = {}
    for item in out:
        by_file.setdefault(item.file, []).append(item)
    return out, {i.doc_id: i for i in out}, by_file


def _existing(settings: Settings, embedder: Embedder | None) -> tuple[Embedder, dict]:
    """The embedder and chunking settings of the existing index, for `add`."""
    store = open_store(settings)
    try:
        commit = store.open().info
    except IndexMissingError:
        raise IndexMissingError(
            f"no index at {store.location}. Build one with `rag ingest` first."
        ) from None
    embedder = embedder or make_embedder(settings.embedder, settings.resolved_threads())
    if embedder.id != commit.embedder_id:
        raise IndexInvalidError(
            f"the index at {store.location} was built with embedder "
            f"{commit.embedder_id!r}, not {embedder.id!r}. Set RAG_EMBEDDER to its embedder, "
            f"or rebuild it with `rag ingest`."
        )
    return embedder, dict(commit.settings)


def _report(writer: Writer, tally: _Tally, files: int, started: float) -> IngestReport:
    snapshot = writer.view
    counts = writer.info.counts
    return IngestReport(
        index=writer.location,
        generation=writer.info.generation,
        files=files,
        read=tally.read,
        articles=counts["articles"],
        chunks=counts["chunks"],
        sentences=counts["sentences"],
        added=tally.added,
        updated=tally.updated,
        removed=tally.removed,
        unchanged=tally.unchanged,
        embedded=tally.embedded,
        reused=tally.reused,
        skipped=tuple(tally.skipped),
        languages=snapshot.article_languages() if snapshot is not None else {},
        merges=tally.merges,
        seconds=time.perf_counter() - started,
        copies=tuple(tally.copies),
    )


def _quiet_read(path: Path, folder: Path) -> list[Document]:
    """The documents of a file, without the warnings (they come when it is
    read for real)."""
    loaders = logging.getLogger(read_file.__module__)
    level = loaders.level
    loaders.setLevel(logging.ERROR)
    try:
        return read_file(path, folder)[0]
    finally:
        loaders.setLevel(level)


def _keep(session: _Session, file: str, skips: list[Skipped], n: int) -> None:
    """A file that was indexed and now cannot be read: its articles stay, and
    its skip says so (one message per problem, not a skip and a warning)."""
    kept = f"its {n} indexed article(s) are kept as they were"
    if skips:
        session.tally.skipped += [replace(s, reason=f"{s.reason}; {kept}") for s in skips]
    else:
        session.tally.skipped.append(Skipped(file, f"holds no articles now; {kept}"))
    session.tally.unchanged += n


def _stamp(path: Path) -> FileStamp:
    name = printable(str(path.resolve()))  # stored and printed: no stray bytes or escapes
    try:
        st = path.stat()
    except OSError:
        return FileStamp(name, -1, -1)
    return FileStamp(name, st.st_size, st.st_mtime_ns)


def _with_id(doc: Document, doc_id: str) -> Document:
    from dataclasses import replace

    return replace(doc, id=doc_id)


def _progress(items: list, enabled: bool, desc: str, unit: str) -> Iterator:
    from tqdm import tqdm

    return iter(
        tqdm(items, desc=desc, unit=unit, disable=not enabled or len(items) < 2, leave=False)
    )


def _bar(total: int, enabled: bool, desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled or total < 2, leave=False)


def _listed(skipped: list[Skipped], most: int = 20) -> str:
    """The skips as lines for an error message (the first `most`)."""
    if not skipped:
        return ""
    lines = [f"\n  {s}" for s in skipped[:most]]
    if len(skipped) > most:
        lines.append(f"\n  … and {len(skipped) - most} more")
    return "\nSkipped:" + "".join(lines)
