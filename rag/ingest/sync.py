"""What an ingest must do: compare a folder with what the index holds.

Pure: stamps and hashes in, decisions out. A file whose size and
modification time match what the index recorded is not read at all. A file
that changed is read, and each of its documents is compared by a hash of the
document as read: only new or edited articles are cleaned, embedded and
stored; articles whose file vanished, or that a file no longer holds, are
removed. Articles added from outside the folder (`rag add`) are left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.records import Document


@dataclass(frozen=True)
class FileStamp:
    """A file as listed now: absolute path, size, modification time."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Indexed:
    """A live article as the index recorded it."""

    doc_id: str
    file: str  # absolute path, "" when added from Python without a file
    size: int
    mtime_ns: int
    raw_hash: str


def raw_hash(doc: Document) -> str:
    """A hash of a document exactly as read (before cleaning): equal hashes
    mean nothing about the article changed.

    >>> raw_hash(Document("a", "x", "a.txt")) == raw_hash(Document("a", "x", "b.txt"))
    True
    """
    fields = [doc.id, doc.text, doc.title, doc.date, doc.language, doc.url]
    if doc.outlet is not None:  # hashes of documents without one stay as they were
        fields.append(doc.outlet)
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()[:32]


def files_to_read(listing: Sequence[FileStamp], indexed: Iterable[Indexed]) -> list[FileStamp]:
    """The files whose stamp differs from every recorded one (new or touched).

    >>> a = FileStamp("/s/a.txt", 3, 1)
    >>> files_to_read([a], [Indexed("a", "/s/a.txt", 3, 1, "h")])
    []
    >>> files_to_read([a], [Indexed("a", "/s/a.txt", 3, 2, "h")]) == [a]
    True
    """
    stamps: dict[str, set[tuple[int, int]]] = {}
    for item in indexed:
        stamps.setdefault(item.file, set()).add((item.size, item.mtime_ns))
    return [f for f in listing if stamps.get(f.path) != {(f.size, f.mtime_ns)}]


def under(path: str, folder: str) -> bool:
    """True when `path` lies inside `folder` (both absolute).

    >>> under("/s/a/b.txt", "/s"), under("/sx/b.txt", "/s")
    (True, False)
    """
    return path.startswith(folder.rstrip("/") + "/")


def vanished(folder: str, listing: Sequence[FileStamp], indexed: Iterable[Indexed]) -> list[str]:
    """Ids of live articles from files inside `folder` that are gone from it.

    >>> a, b = Indexed("a", "/s/a.txt", 1, 1, "h"), Indexed("b", "/t/b.txt", 1, 1, "h")
    >>> vanished("/s", [], [a, b])
    ['a']
    """
    present = {f.path for f in listing}
    return [i.doc_id for i in indexed if under(i.file, folder) and i.file not in present]


@dataclass(frozen=True)
class FilePlan:
    """What to do with the documents read from one file."""

    add: tuple[Document, ...]  # new or edited: prepare, embed, store
    remove: tuple[str, ...]  # ids to delete: edited (replaced) or no longer in the file
    unchanged: tuple[str, ...]
    repeats: tuple[tuple[Document, str], ...]  # (document, file that already holds its id)


def plan_file(
    file: str,
    docs: Sequence[Document],
    indexed: dict[str, Indexed],
    in_file: Sequence[Indexed],
    keep_others: bool,
    still_holds: Callable[[str, str], bool] | None = None,
) -> FilePlan:
    """Compare the documents now in `file` with the live articles (`indexed`,
    by id; `in_file`, those recorded from this file). An id recorded from
    another file that still holds it (`still_holds(file, id)`) is a repeat
    when `keep_others` (a folder sync: the file that had it keeps it);
    otherwise the new document replaces it (`rag add`, or an article that
    moved from one file to another).

    >>> d = Document("a", "new text", "/s/a.txt")
    >>> old = Indexed("a", "/s/a.txt", 1, 1, "stale")
    >>> p = plan_file("/s/a.txt", [d], {"a": old}, [old], keep_others=True)
    >>> [x.id for x in p.add], p.remove
    (['a'], ('a',))
    """
    add: list[Document] = []
    remove: list[str] = []
    unchanged: list[str] = []
    repeats: list[tuple[Document, str]] = []
    ids = set()
    for doc in docs:
        ids.add(doc.id)
        old = indexed.get(doc.id)
        if old is None:
            add.append(doc)
        elif (
            old.file != file
            and keep_others
            and (still_holds is None or still_holds(old.file, doc.id))
        ):
            repeats.append((doc, old.file))
        elif old.raw_hash == raw_hash(doc) and old.file == file:
            unchanged.append(doc.id)
        else:
            add.append(doc)
            remove.append(doc.id)
    for old in in_file:
        if old.doc_id not in ids and old.doc_id not in remove:
            remove.append(old.doc_id)
    return FilePlan(tuple(add), tuple(remove), tuple(unchanged), tuple(repeats))
