"""Commits: which segments, and which of their articles are deleted, make the index.

Layout under the index root (default `index/`):

    current -> commits/commit-<generation>.json     symlink, swapped atomically
    commits/commit-<generation>.json                the segments and deletions
    segments/<generation>-<content id>/             immutable segments (schema.py)
    segments/<...>/deleted-<generation>.i32         deleted article rows, as of a commit
    .lock                                           the writer lock

As in Lucene and LanceDB, a change never rewrites what is there: it adds a
segment and/or a new deletion file, then writes a new commit file and swaps
`current` to it. Readers open whatever `current` names; a writer killed at
any point leaves the last commit whole. A commit carries the BLAKE3 of each
segment's manifest and of each deletion file, and a checksum of itself.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from rag.errors import IndexFormatError, IndexInvalidError, IndexMissingError, UsageError
from rag.store.base import IndexInfo
from rag.store.files import bytes_hash, write_atomic
from rag.store.local.schema import REBUILD

FORMAT = "rag-index"
FORMAT_VERSION = 3  # 3: segments and commits; 2: one build directory
POINTER = "current"
COMMITS = "commits"
SEGMENTS = "segments"
_COMMIT_NAME = re.compile(r"commit-(\d{8,})\.json")
_SEGMENT_NAME = re.compile(r"\d{8,}-[0-9a-f]{12}")
DELETED_NAME = re.compile(r"deleted-\d{8,}\.i32")


@dataclass(frozen=True)
class SegmentRef:
    """A segment as one commit sees it."""

    name: str
    meta_hash: str  # BLAKE3 of its meta.json
    articles: int  # rows, deleted ones included
    chunks: int
    sentences: int
    deleted: str | None = None  # file of deleted article rows, in the segment's directory
    deleted_hash: str | None = None
    deleted_articles: int = 0
    deleted_chunks: int = 0
    deleted_sentences: int = 0

    @property
    def live_chunks(self) -> int:
        return self.chunks - self.deleted_chunks


@dataclass(frozen=True)
class Commit:
    generation: int
    embedder_id: str
    dim: int
    settings: dict
    segments: tuple[SegmentRef, ...] = ()
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    # What made it: "ingest", "add", "remove", "merge", "compact".
    operation: str = ""

    @property
    def counts(self) -> dict[str, int]:
        return {
            "segments": len(self.segments),
            "articles": sum(s.articles - s.deleted_articles for s in self.segments),
            "chunks": sum(s.chunks - s.deleted_chunks for s in self.segments),
            "sentences": sum(s.sentences - s.deleted_sentences for s in self.segments),
            "deleted_chunks": sum(s.deleted_chunks for s in self.segments),
        }

    @property
    def info(self) -> IndexInfo:
        return IndexInfo(
            self.generation,
            self.embedder_id,
            self.dim,
            self.settings,
            self.counts,
            self.created,
            self.operation,
        )

    def to_json(self) -> dict:
        body = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "generation": self.generation,
            "created": self.created,
            "operation": self.operation,
            "embedder": {"id": self.embedder_id, "dim": self.dim},
            "settings": self.settings,
            "segments": [asdict(s) for s in self.segments],
            "counts": self.counts,
        }
        body["checksum"] = _checksum(body)
        return body

    def with_segments(self, segments: tuple[SegmentRef, ...], operation: str) -> Commit:
        return replace(
            self,
            generation=self.generation + 1,
            segments=segments,
            operation=operation,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )


def _checksum(body: dict) -> str:
    payload = {k: v for k, v in body.items() if k != "checksum"}
    return bytes_hash(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode())


def commit_name(generation: int) -> str:
    return f"commit-{generation:08d}.json"


def parse_commit(data: bytes, where: Path) -> Commit:
    """A commit from its file's bytes, checked: a damaged or hand-edited
    commit is refused, never half-read."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexInvalidError(f"{where} is unreadable ({exc}). {REBUILD}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise IndexInvalidError(f"{where} is not a rag index commit. {REBUILD}")
    if body.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"the index commit {where} has format version {body.get('format_version')}; this "
            f"version of rag reads version {FORMAT_VERSION}. Rebuild it with `rag ingest`."
        )
    if body.get("checksum") != _checksum(body):
        raise IndexInvalidError(f"{where} does not match its checksum (altered). {REBUILD}")
    try:
        segments = []
        for s in body["segments"]:
            ref = SegmentRef(**s)
            _check_ref(ref)
            segments.append(ref)
        names = [s.name for s in segments]
        if len(set(names)) != len(names):
            raise ValueError
        commit = Commit(
            generation=_int(body["generation"]),
            embedder_id=str(body["embedder"]["id"]),
            dim=_int(body["embedder"]["dim"]),
            settings=_settings(body["settings"]),
            segments=tuple(segments),
            created=str(body["created"]),
            operation=str(body.get("operation", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise IndexInvalidError(
            f"{where} lacks required fields or holds wrong ones. {REBUILD}"
        ) from None
    return commit


# Build settings a reader relies on (chunking again with them must give the
# stored passages: Segment.check_chunking), and their smallest values.
_SETTING_MINIMA = {"chunk_chars": 1, "chunk_overlap_sentences": 0}


def _settings(value: object) -> dict:
    """A commit's build settings: names to JSON scalars, the chunking ones
    whole numbers in range (an edited "chunk_chars": "400" or -1 is refused)."""
    if not isinstance(value, dict):
        raise ValueError
    for name, setting in value.items():
        if not isinstance(name, str) or not isinstance(setting, (str, int, float, bool)):
            raise ValueError
    for name, least in _SETTING_MINIMA.items():
        if name in value and _int(value[name]) < least:
            raise ValueError
    return dict(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError
    return value


def _check_ref(ref: SegmentRef) -> None:
    if not _SEGMENT_NAME.fullmatch(ref.name):
        raise ValueError  # a name is also a path: nothing like "../x"
    for value in (
        ref.articles,
        ref.chunks,
        ref.sentences,
        ref.deleted_articles,
        ref.deleted_chunks,
        ref.deleted_sentences,
    ):
        _int(value)
    if ref.deleted is not None and (
        not DELETED_NAME.fullmatch(ref.deleted) or not isinstance(ref.deleted_hash, str)
    ):
        raise ValueError
    if ref.deleted_chunks > ref.chunks or ref.deleted_articles > ref.articles:
        raise ValueError


# ---------------------------------------------------------------- the pointer


def pointer_target(root: Path) -> str | None:
    """What `current` names (a cheap token that changes with every commit),
    or None when there is no index."""
    try:
        return os.readlink(root / POINTER)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # not a link
        return "?"


def read_current(root: Path) -> tuple[Commit, str]:
    """The current commit and the pointer's target."""
    pointer = root / POINTER
    if root.exists() and not root.is_dir():
        raise UsageError(f"the index location {root} is a file, not a directory")
    target = pointer_target(root)
    if target is None:
        if (root / "manifest.json").is_file():
            raise IndexFormatError(
                f"{root} is one build of an index made by an older version of rag; give the "
                f"index directory, and rebuild it with `rag ingest`."
            )
        raise IndexMissingError(f"no index at {root}. Build one with `rag ingest`.")
    if target == "?":
        raise IndexInvalidError(
            f"{pointer} is not a link (was the index copied without keeping links? copy it "
            f"with `cp -a`). Move it away, then run `rag ingest` again."
        )
    if target.startswith("build-"):
        raise IndexFormatError(
            f"the index at {root} was made by an older version of rag (format 2). Rebuild it "
            f"with `rag ingest`: unchanged texts keep their vectors."
        )
    match = _COMMIT_NAME.fullmatch(Path(target).name)
    if not match or Path(target).parent != Path(COMMITS):
        raise IndexInvalidError(f"{pointer} names {target!r}, not a commit. {REBUILD}")
    where = root / target
    try:
        data = where.read_bytes()
    except FileNotFoundError:
        raise IndexInvalidError(
            f"the index at {root} points to a missing commit. {REBUILD}"
        ) from None
    except OSError as exc:
        raise IndexInvalidError(f"cannot read {where}: {exc}. {REBUILD}") from None
    commit = parse_commit(data, where)
    if commit.generation != int(match.group(1)):
        raise IndexInvalidError(f"{where} holds generation {commit.generation}. {REBUILD}")
    return commit, target


def write_commit(root: Path, commit: Commit) -> str:
    """Write the commit file (atomically); returns its pointer target. The
    caller then points `current` at it."""
    (root / COMMITS).mkdir(parents=True, exist_ok=True)
    target = f"{COMMITS}/{commit_name(commit.generation)}"
    data = (json.dumps(commit.to_json(), indent=1, ensure_ascii=False) + "\n").encode()
    write_atomic(root / target, data)
    return target
