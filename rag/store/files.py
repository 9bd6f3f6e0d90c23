"""Durable files: checksums, fsync, atomic replacement, and the writer's lock.

The store's only contact with the file system's guarantees. A file is
written whole and fsynced before anything names it; a name is switched with
`os.replace` (atomic on POSIX) and its directory fsynced after; one writer at
a time holds an advisory lock that the kernel releases when the process dies,
so a killed writer never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from rag.errors import IndexBusyError, UsageError

HASH = "blake3"  # 2x sha256's speed on one core, 3x on two (docs/PERFORMANCE.md)


def file_hash(path: Path) -> str:
    """The BLAKE3 digest of a file, hex. Large blocks are hashed on every
    core (the digest is the same however many threads compute it)."""
    from blake3 import blake3

    digest = blake3(max_threads=blake3.AUTO)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(16 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bytes_hash(data: bytes) -> str:
    from blake3 import blake3

    return blake3(data).hexdigest()


def describe(path: Path) -> dict:
    """What a manifest records of a file: size and digest."""
    return {"bytes": path.stat().st_size, HASH: file_hash(path)}


def fsync_file(path: Path) -> None:
    """Flush a file, or a directory's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


fsync_dir = fsync_file  # a directory is opened and flushed the same way


def fsync_tree(directory: Path) -> None:
    """Every file under `directory`, then the directories, deepest first."""
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file():
            fsync_file(path)
        else:
            fsync_dir(path)
    fsync_dir(directory)


def temporary(name: str) -> bool:
    """Whether a name is one writers give what they have not finished: a
    segment being built (`.tmp-*`) or a file being written atomically
    (`.<name>.tmp-<pid>`). A killed writer leaves such names behind.

    >>> temporary(".tmp-k2j4"), temporary(".current.tmp-71"), temporary("vectors.f32")
    (True, True, False)
    """
    return name.startswith(".") and ".tmp-" in name


def write_atomic(path: Path, data: bytes) -> None:
    """`path` holds `data` entirely or keeps what it held: written beside it,
    fsynced, renamed over it, directory fsynced."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def point(link: Path, target: str) -> None:
    """Make the symlink `link` name `target`, atomically."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)
    fsync_dir(link.parent)


LOCK_NAME = ".lock"


@contextlib.contextmanager
def writer_lock(root: Path, what: str, wait: float | None = None) -> Iterator[None]:
    """Hold the index's writer lock while the block runs.

    `wait`: seconds to wait for another writer (None: as long as it takes,
    0: refuse at once). Refusing raises `IndexBusyError` naming the holder.
    The lock file records who holds it; the kernel drops the lock itself
    when that process ends, however it ends.
    """
    path = root / LOCK_NAME
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(path, "a+")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:  # before any work: a folder that cannot hold an index
        raise UsageError(
            f"cannot write an index in {root}: {exc.strerror or exc}. Choose another "
            "folder with --index (or RAG_INDEX_DIR)."
        ) from exc
    with lock:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if deadline is not None and time.monotonic() >= deadline:
                lock.seek(0)
                holder = lock.read().strip() or "another process"
                raise IndexBusyError(
                    f"{root} is being updated by {holder}. Wait for it to finish, then run "
                    f"again (or pass --wait to wait for it)."
                )
            time.sleep(0.05)
        try:
            lock.seek(0)
            lock.truncate()
            lock.write(f"pid {os.getpid()} ({what})")
            lock.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.seek(0)
                lock.truncate()
            fcntl.flock(lock, fcntl.LOCK_UN)


def lock_holder(root: Path) -> str | None:
    """Who holds the writer lock now, or None when nobody does. Reads what the
    holder wrote, without locking anything (so it never gets in a writer's
    way, and works on an index this user may only read)."""
    try:
        text = (root / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text.startswith("pid "):
        return None
    try:
        pid = int(text.split()[1])
        os.kill(pid, 0)  # alive? (a killed writer's kernel lock is gone with it)
    except (ValueError, IndexError, ProcessLookupError):
        return None
    except PermissionError:
        pass  # alive, another user's
    return text
