"""The ingest pipeline: files -> cleaned articles -> chunks -> vectors -> index.

`prepare_articles` is pure apart from language detection; `build_index` does
the I/O: reads the seeds directory, embeds, and saves a new build atomically.
Passages whose text did not change since the current build reuse its vectors
instead of being embedded again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.chunking import article_sentences, chunk_article, passage_text
from rag.clean import clean_article, fallback_title
from rag.embedding import Embedder, make_embedder
from rag.errors import IngestError, RagError, UsageError
from rag.language import UNKNOWN, detect_language, normalize_code
from rag.lexical import LexicalIndex
from rag.loaders import Skipped, list_files, read_file
from rag.records import Article, Chunk, Document
from rag.settings import Settings
from rag.store import IndexContents, load_index, save_index

log = logging.getLogger(__name__)

# What is embedded: a passage with its article's title (measured better for
# retrieval), a sentence on its own (measured better for picking the sentence
# that answers: docs/PERFORMANCE.md). A change here must change the recipe.
PASSAGE_RECIPE = "title+text/1"
SENTENCE_RECIPE = "text/1"
EMBED_BATCH = 32


@dataclass(frozen=True)
class IngestReport:
    build: Path
    files: int
    articles: int
    chunks: int
    sentences: int
    embedded: int  # texts (passages and sentences) embedded in this run
    reused: int  # texts whose vectors came from the previous build
    skipped: tuple[Skipped, ...]
    languages: dict[str, int]
    seconds: float


def prepare_articles(documents: Iterable[Document]) -> tuple[list[Article], list[Skipped]]:
    """Clean each document and give it a title and language; skip documents
    that are empty after cleaning or whose id was already seen."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for doc in documents:
        cleaned = clean_article(doc.text, title=doc.title)
        if not cleaned.text.strip():
            skipped.append(_skip(doc.source, "has no article text after cleaning"))
            continue
        if doc.id in seen:
            skipped.append(_skip(doc.source, f"repeats the article id {doc.id!r}"))
            continue
        seen.add(doc.id)
        language = normalize_code(doc.language) if doc.language else UNKNOWN
        if language == UNKNOWN:
            language = detect_language(cleaned.text)
        articles.append(
            Article(
                id=doc.id,
                title=cleaned.title or fallback_title(cleaned.text),
                text=cleaned.text,
                language=language,
                date=doc.date or cleaned.date,
                source=doc.source,
                url=doc.url,
            )
        )
    return articles, skipped


def chunk_articles(articles: Iterable[Article], settings: Settings) -> list[Chunk]:
    """All chunks, each language's together (articles keep their order within
    a language): a per-language search then scans one slice of the vectors."""
    return [
        chunk
        for article in _by_language(articles)
        for chunk in chunk_article(article, settings.chunk_chars, settings.chunk_overlap_sentences)
    ]


def _by_language(articles: Iterable[Article]) -> list[Article]:
    ordered = sorted(enumerate(articles), key=lambda pair: (pair[1].language, pair[0]))
    return [article for _, article in ordered]


def build_index(
    settings: Settings, progress: bool = False, embedder: Embedder | None = None
) -> IngestReport:
    """Read every article under the seeds directory and make a new current build.

    `embedder` defaults to the one `settings.embedder` names.

    Example::

        report = build_index(Settings.from_env())
        report.articles, report.chunks          # (5, 77) for seeds/
    """
    started = time.perf_counter()
    seeds = settings.seeds_path
    if not seeds.is_dir():
        raise UsageError(f"the articles directory {seeds} does not exist")
    files = list_files(seeds)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path in _progress(files, progress, "reading", "file"):
        docs, skips = read_file(path, seeds)
        documents += docs
        skipped += skips
    articles, more_skips = prepare_articles(documents)
    skipped += more_skips
    if not articles:
        raise IngestError(
            f"no readable articles in {seeds} ({len(files)} files found, {len(skipped)} skipped); "
            "add .txt, .md or .jsonl files"
        )
    chunks = chunk_articles(articles, settings)
    titles = {a.id: a.title for a in articles}
    passages = [passage_text(titles[c.doc_id], c.text) for c in chunks]
    sentences = [s for a in _by_language(articles) for s in article_sentences(a)]

    embedder = embedder or make_embedder(settings.embedder, settings.resolved_threads())
    build_settings = {
        "chunk_chars": settings.chunk_chars,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "passage": PASSAGE_RECIPE,
        "sentence": SENTENCE_RECIPE,
    }
    previous = _previous_vectors(settings, embedder.id, build_settings)
    # Passages and sentences in one pass: one progress bar, one reuse table.
    both, embedded = _embed(embedder, passages + [s.text for s in sentences], previous, progress)
    vectors, sentence_vectors = both[: len(passages)], both[len(passages) :]
    languages = [a.language for a in articles]
    by_doc = {a.id: a.language for a in articles}
    lexical = LexicalIndex.build(passages, [by_doc[c.doc_id] for c in chunks])
    build = save_index(
        settings.index_path,
        IndexContents(
            tuple(articles),
            tuple(chunks),
            vectors,
            lexical,
            embedder.id,
            build_settings,
            tuple(sentences),
            sentence_vectors,
        ),
    )
    return IngestReport(
        build=build,
        files=len(files),
        articles=len(articles),
        chunks=len(chunks),
        sentences=len(sentences),
        embedded=embedded,
        reused=len(chunks) + len(sentences) - embedded,
        skipped=tuple(skipped),
        languages={lang: languages.count(lang) for lang in sorted(set(languages))},
        seconds=time.perf_counter() - started,
    )


def _embed(
    embedder: Embedder, passages: list[str], previous: dict[str, np.ndarray], progress: bool
) -> tuple[np.ndarray, int]:
    keys = [_key(p) for p in passages]
    first: dict[str, int] = {}  # each distinct new passage, embedded once
    for i, key in enumerate(keys):
        if key not in previous and key not in first:
            first[key] = i
    todo = list(first.values())
    fresh: dict[str, np.ndarray] = {}
    batches = [todo[i : i + EMBED_BATCH] for i in range(0, len(todo), EMBED_BATCH)]
    with _bar(len(todo), progress, "embedding", "passage") as bar:
        for batch in batches:
            vectors = embedder.embed_documents([passages[i] for i in batch])
            for i, vector in zip(batch, vectors, strict=True):
                fresh[keys[i]] = vector
            bar.update(len(batch))
    table = {**previous, **fresh}
    dim = embedder.dim
    matrix = np.stack([table[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
    return matrix.astype(np.float32), len(todo)


def _previous_vectors(settings: Settings, embedder_id: str, build_settings: dict) -> dict:
    """Vectors of the current build by passage text, when it is compatible."""
    try:
        old = load_index(settings.index_path, embedder_id)
    except RagError:
        return {}
    old_settings = old.manifest.get("settings", {})
    table: dict[str, np.ndarray] = {}
    if old_settings.get("passage") == build_settings["passage"]:
        vectors = old.vectors()
        for i, c in enumerate(old.chunks):
            table[_key(passage_text(old.articles[c.doc_id].title, c.text))] = np.array(vectors[i])
    if old_settings.get("sentence") == build_settings["sentence"]:
        vectors = old.sentence_vectors()
        for i, s in enumerate(old.sentences):
            table[_key(s.text)] = np.array(vectors[i])
    return table


def _key(passage: str) -> str:
    return hashlib.sha256(passage.encode()).hexdigest()


def _progress(items: list, enabled: bool, desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, disable=not enabled or len(items) < 2, leave=False)


def _bar(total: int, enabled: bool, desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled or total < 2, leave=False)


def _skip(source: str, reason: str) -> Skipped:
    log.warning("skipped %s: %s", source, reason)
    return Skipped(source, reason)
