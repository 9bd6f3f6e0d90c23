"""Where an index lives, behind one interface (`base.py`), with two backends.

- `base.py`    the `Store`, `View` and `Writer` protocols and the records they share
- `local/`     the default: segments and commits in a folder on this machine
- `milvus/`    a Milvus collection set, through pymilvus (Milvus Lite or a server)
- `postings.py` BM25 formulas (both backends score with them)
- `files.py`   checksums, fsync, atomic replacement, the writer lock

`open_store(settings)` picks the backend from `settings.store` (`RAG_STORE`,
`--store`): empty or "local" for the folder `settings.index_path`,
"milvus:PATH.db" for Milvus Lite, "milvus:http://HOST:19530" for a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.errors import UsageError

if TYPE_CHECKING:
    from rag.settings import Settings
    from rag.store.base import Store


def open_store(settings: Settings) -> Store:
    """The store `settings` names (cheap: nothing is read or connected yet)."""
    spec = settings.store.strip()
    if spec in ("", "local"):
        from rag.store.local.store import LocalStore

        return LocalStore(settings.index_path)
    if spec.startswith("local:"):
        from pathlib import Path

        from rag.store.local.store import LocalStore

        return LocalStore(Path(spec[len("local:") :]).expanduser())
    if spec.startswith("milvus:"):
        from rag.store.milvus.store import MilvusStore

        return MilvusStore.from_spec(spec[len("milvus:") :], settings)
    raise UsageError(
        f"unknown store {spec!r}: use 'local' (the index folder), 'milvus:PATH.db' (Milvus "
        f"Lite) or 'milvus:http://HOST:19530' (a Milvus server)"
    )


__all__ = ["open_store"]
