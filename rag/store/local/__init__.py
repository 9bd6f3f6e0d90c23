"""The local backend: immutable segments on disk, committed atomically, opened cheaply.

- `commit.py`   commits and the `current` pointer (the layout is there)
- `schema.py`   what a segment holds; rows back into records
- `build.py`    writing a segment (streaming)
- `segment.py`  reading a segment: memory-mapped vectors, records on demand
- `dense.py`    FAISS candidate indexes per language (exhaustive or IVF)
- `snapshot.py` one commit open for search (what the retriever uses)
- `writer.py`   staging segments and deletions, committing, cleaning up
- `merge.py`    the merge policy and streaming merges
"""

from rag.store.local.commit import (
    FORMAT,
    FORMAT_VERSION,
    Commit,
    SegmentRef,
    pointer_target,
    read_current,
)
from rag.store.local.snapshot import Snapshot
from rag.store.local.writer import IndexWriter

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Commit",
    "IndexWriter",
    "SegmentRef",
    "Snapshot",
    "pointer_target",
    "read_current",
]
