"""The library: what the index holds, files added to it, articles removed.

The app's Library tab is built on these; each change goes through the
incremental index (`rag.ingest.pipeline.add_files`, `remove_articles`), so a running
app sees it at the next question, without a restart.

Uploaded files are kept under the seeds folder, in `library/`: the next
`rag ingest` (or `--rebuild`) reads them like any other article file, so
nothing added in the page is lost. A removed article's file, when it held
only removed articles and lies in the seeds folder, moves to
`<seeds>/.removed/` (which ingest never reads): a rebuild does not bring the
article back, and moving the file back restores it.

Pure parts (`entries`, `select`, `upload_name`) take records and return
records; the file and index changes are at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError
from rag.ingest.loaders import REMOVED, SUFFIXES, Skipped, printable, read_file
from rag.store.base import Listed

LIBRARY_FOLDER = "library"  # under the seeds folder: uploads
REMOVED_FOLDER = REMOVED  # under the seeds folder: files of removed articles
UPLOAD_SUFFIXES = SUFFIXES
SORTS = ("newest", "oldest", "title", "outlet", "language", "passages")
SHOWN = 500  # rows the page lists at once (a search narrows them)


@dataclass(frozen=True)
class Entry:
    """One live article as the library lists it."""

    id: str
    title: str
    outlet: str
    language: str
    date: str
    passages: int
    file: str  # relative to the seeds folder when under it; "" when none


@dataclass(frozen=True)
class Added:
    """What an upload did: files kept and indexed, files refused, and the
    index after it (None when nothing was indexed)."""

    kept: tuple[str, ...]  # file names placed under seeds/library
    refused: tuple[Skipped, ...]
    report: object | None  # rag.ingest.pipeline.IngestReport


@dataclass(frozen=True)
class Removed:
    """What a removal did."""

    removed: tuple[str, ...]  # article ids
    moved: tuple[tuple[str, str], ...]  # (file, where it went) under the seeds folder
    still_in: tuple[str, ...]  # files that still hold other articles (left in place)
    failed: tuple[Skipped, ...]  # files that could not be moved, and why


# ---------------------------------------------------------------- pure


def entries(listed: Iterable[Listed], seeds: Path) -> list[Entry]:
    """The library rows of an index's catalog (`View.catalog()`)."""
    root = str(seeds.resolve())
    out = []
    for item in listed:
        info = item.info
        file = item.file
        if file and (file == root or file.startswith(root + os.sep)):
            file = file[len(root) + 1 :]
        out.append(
            Entry(
                id=info.id,
                title=info.title,
                outlet=info.outlet or "",
                language=info.language,
                date=info.date or "",
                passages=item.passages,
                file=file,
            )
        )
    return out


def select(
    rows: Sequence[Entry], search: str = "", sort: str = "newest", limit: int = SHOWN
) -> tuple[list[Entry], int]:
    """The rows whose title, outlet, id, file, language or date contain every
    word of `search` (any case), sorted by `sort`, at most `limit` of them,
    and how many matched.

    >>> rows = [Entry("a", "Minsk protests", "TT", "sv", "2020-09", 3, "a.txt"),
    ...         Entry("b", "Putin meets Lukashenko", "", "en", "2021-05-28", 2, "")]
    >>> [r.id for r in select(rows, "lukashenko")[0]], select(rows, sort="title")[1]
    (['b'], 2)
    >>> [r.id for r in select(rows, sort="oldest")[0]]
    ['a', 'b']
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    words = search.lower().split()
    found = [r for r in rows if all(w in _haystack(r) for w in words)]
    if sort in ("newest", "oldest"):
        dated = sorted((r for r in found if r.date), key=lambda r: (r.date, r.id))
        if sort == "newest":
            dated.reverse()
        found = dated + sorted((r for r in found if not r.date), key=lambda r: r.id)
    elif sort == "passages":
        found.sort(key=lambda r: (-r.passages, r.id))
    else:
        found.sort(key=lambda r: (getattr(r, sort).casefold() or "\uffff", r.id))
    return found[:limit], len(found)


def _haystack(row: Entry) -> str:
    return " ".join((row.title, row.outlet, row.id, row.file, row.language, row.date)).lower()


def upload_name(name: str) -> str | None:
    """A safe name to keep an uploaded file under: its base name, printable,
    not hidden; None when the type is not one ingest reads.

    >>> upload_name("../../etc/Minsk protests.HTML"), upload_name(".env.txt"), upload_name("a.pdf")
    ('Minsk protests.HTML', '_env.txt', None)
    """
    base = printable(name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if Path(base).suffix.lower() not in UPLOAD_SUFFIXES or not Path(base).stem.strip(". "):
        return None
    if base.startswith("."):
        base = "_" + base[1:]
    return base


# ---------------------------------------------------------------- changes


def add_uploads(
    settings,
    uploads: Sequence[tuple[Path, str]],
    *,
    max_bytes: int,
    max_files: int,
    embedder=None,
    progress: bool = False,
    wait: float | None = None,
) -> Added:
    """Keep these uploaded files ((temporary path, name the user gave)) under
    `<seeds>/library/` and index them (`rag.ingest.pipeline.add_files`). A file of
    another type, over `max_bytes`, or with no readable article is refused
    with its reason and never placed; a name already in the library is
    replaced (the article is updated). More than `max_files` at once: all
    refused, nothing changes."""
    from rag.ingest.pipeline import add_files

    if len(uploads) > max_files:
        refused = [Skipped(name, f"more than {max_files} files at once") for _, name in uploads]
        return Added((), tuple(refused), None)
    folder = settings.seeds_path / LIBRARY_FOLDER
    refused: list[Skipped] = []
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as staging:
        ready: list[Path] = []
        for path, given in uploads:
            staged, reason = _stage(path, given, Path(staging), max_bytes)
            if staged is None:
                refused.append(Skipped(printable(given), reason))
            else:
                ready.append(staged)
        if not ready:
            return Added((), tuple(refused), None)
        folder.mkdir(parents=True, exist_ok=True)
        placed = [_place(path, folder / path.name) for path in ready]
    try:
        report = add_files(settings, placed, progress=progress, embedder=embedder, wait=wait)
    except RagError as exc:  # e.g. another ingest held the index too long
        exc.args = (f"{exc} The files are kept in seeds/library: the next `rag ingest` adds them.",)
        raise
    return Added(tuple(p.name for p in placed), tuple(refused), report)


def _stage(path: Path, given: str, staging: Path, max_bytes: int) -> tuple[Path | None, str]:
    """The upload copied under the name it will keep, once it is known to be
    of a type ingest reads, within the size limit and to hold an article;
    else (None, why it is refused)."""
    name = upload_name(given)
    if name is None:
        return None, f"is not a file type the library takes ({' '.join(UPLOAD_SUFFIXES)})"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return None, f"is too large ({size:,} bytes; the limit is {max_bytes:,})"
        staged = Path(shutil.copyfile(path, _free(staging / name)))
    except OSError as exc:
        return None, f"could not be read ({exc.strerror or exc})"
    docs, skips = read_file(staged)
    if not docs:
        return None, f"{skips[0].reason if skips else 'holds no article'}; not added"
    return staged, ""  # "name-2.txt" when one upload holds two files of the same name


def _place(source: Path, target: Path) -> Path:
    """Copy `source` to `target` whole or not at all (a temporary file in
    the same folder, then a rename): an ingest running meanwhile never
    reads half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def remove(settings, doc_ids: Sequence[str], wait: float | None = None) -> Removed:
    """Remove these articles from the index (`rag.ingest.pipeline.remove_articles`;
    an unknown id removes nothing), then move each file of the seeds folder
    that held only removed articles to `<seeds>/.removed/`."""
    from rag.ingest.pipeline import remove_articles
    from rag.store import open_store

    ids = list(dict.fromkeys(doc_ids))
    by_file: dict[str, set[str]] = {}
    for indexed in open_store(settings).open().article_files():
        if indexed.file:
            by_file.setdefault(indexed.file, set()).add(indexed.doc_id)
    remove_articles(settings, ids, wait=wait)
    seeds = settings.seeds_path.resolve()
    trash = seeds / REMOVED_FOLDER
    moved, still_in, failed = [], [], []
    for file, held in sorted(by_file.items()):
        if not held & set(ids):
            continue
        path = Path(file)
        if not path.is_relative_to(seeds) or path.is_relative_to(trash):
            continue
        relative = path.relative_to(seeds)
        if held - set(ids):
            still_in.append(str(relative))
            continue
        target = _free(trash / relative)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError as exc:
            failed.append(Skipped(str(relative), f"could not be moved ({exc.strerror or exc})"))
            continue
        moved.append((str(relative), str(target.relative_to(seeds))))
    return Removed(tuple(ids), tuple(moved), tuple(still_in), tuple(failed))


def _free(path: Path) -> Path:
    """`path`, or `name-2.ext`, `name-3.ext`, ... when it is taken."""
    n = 2
    found = path
    while found.exists():
        found = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return found
