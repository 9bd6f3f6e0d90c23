"""Dense candidate search for one language of one segment (FAISS).

A segment keeps the float32 vectors of its passages on disk (memory-mapped);
these indexes only *pick* candidates, whose scores the retriever then
computes exactly from those vectors. Below `IVF_MIN` passages a language gets
an exhaustive float16 index (half the memory a scan reads); from `IVF_MIN`
on, an inverted-file index with 8-bit codes (a quarter of the memory), which
scans only the lists nearest to the question (a share of them:
`Settings.dense_probe_share`). Both settings are
chosen by measured recall@10 against exact search (`bench/bench_scale.py`,
docs/PERFORMANCE.md).

Deleted passages are excluded inside the search (a bitmap selector), so a
deletion never costs a candidate.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IVF_MIN = 10_000  # passages in one language of one segment
TRAIN_PER_LIST = 40  # k-means training points per inverted list
PROBE_SHARE = 0.04  # share of the lists scanned per question (docs/PERFORMANCE.md)
MIN_PROBES = 64
BLOCK = 65_536  # vectors added at a time (bounded memory while building)


def n_lists(n: int) -> int:
    """Inverted lists for `n` vectors: about 2·sqrt(n).

    >>> n_lists(1_000_000)
    2000
    """
    return max(1, int(2 * np.sqrt(n)))


def probes(lists: int, share: float) -> int:
    """Inverted lists to scan: `share` of them, at least MIN_PROBES.

    >>> probes(4000, 0.04), probes(521, 0.04), probes(40, 0.04)
    (160, 64, 40)
    """
    return min(lists, max(MIN_PROBES, round(share * lists + 0.5)))


def build(read: Callable[[int, int], np.ndarray], n: int, dim: int, seed: int = 0):
    """A candidate index over `n` vectors of dimension `dim` (float32 unit
    rows), which `read(start, end)` returns a block at a time."""
    import faiss

    if n < IVF_MIN:
        index = faiss.IndexScalarQuantizer(
            dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
    else:
        lists = n_lists(n)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        index.cp.seed = seed
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=min(n, lists * TRAIN_PER_LIST), replace=False))
        parts = []
        for start in range(0, n, BLOCK):
            chosen = sample[(sample >= start) & (sample < start + BLOCK)] - start
            if len(chosen):
                parts.append(read(start, min(n, start + BLOCK))[chosen])
        index.train(np.ascontiguousarray(np.concatenate(parts), dtype=np.float32))
        index.nprobe = probes(lists, PROBE_SHARE)
    for start in range(0, n, BLOCK):
        index.add(np.ascontiguousarray(read(start, min(n, start + BLOCK)), dtype=np.float32))
    return index


def write(index, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


# A FAISS index file opens with a header: four characters naming the index
# type, then dimension (int32), count (int64), two reserved int64s, whether
# it is trained (uint8) and the metric (int32), little-endian and unpadded.
_HEADER = struct.Struct("<4siqqqBi")
KINDS = {b"IxSQ": "IndexScalarQuantizer", b"IwSq": "IndexIVFScalarQuantizer"}
INNER_PRODUCT = 0  # faiss.METRIC_INNER_PRODUCT


@dataclass(frozen=True)
class Header:
    kind: str  # the index class, or the four characters of one `build` never writes
    dim: int
    count: int
    metric: int


def header(path: Path) -> Header:
    """What a candidate index file says it is, from its first 37 bytes
    (cheap: `rag status` checks every segment's without reading them)."""
    with open(path, "rb") as f:
        data = f.read(_HEADER.size)
    if len(data) < _HEADER.size:
        raise ValueError("shorter than a FAISS header")
    fourcc, dim, count, _, _, _, metric = _HEADER.unpack(data)
    return Header(KINDS.get(fourcc, fourcc.decode("latin-1")), dim, count, metric)


def header_problem(found: Header, kind: str, dim: int, count: int) -> str | None:
    """Why an index with this header cannot serve as one `build` made with
    this kind, dimension and count (None: it can).

    >>> header_problem(Header("IndexScalarQuantizer", 384, 10, 1), "IndexScalarQuantizer", 384, 10)
    'it ranks by L2 distance, not inner product'
    """
    if found.kind != kind:
        return f"it is a {found.kind!r} index, the manifest says {kind!r}"
    if found.dim != dim:
        return f"it holds {found.dim}-dimensional vectors, the index {dim}"
    if found.count != count:
        return f"it holds {found.count} vectors, the manifest says {count}"
    if found.metric != INNER_PRODUCT:
        return (
            "it ranks by L2 distance, not inner product"
            if found.metric == 1
            else (f"it ranks by metric {found.metric}, not inner product")
        )
    return None


def read(path: Path):
    import faiss

    return faiss.read_index(str(path))


def search(
    index, query: np.ndarray, depth: int, live: np.ndarray | None = None, share: float = 0.0
) -> np.ndarray:
    """Local row numbers of up to `depth` candidates, best first; `live` is a
    bitmap (np.packbits, little bit order) of the rows that may be returned;
    `share` the share of an IVF index's lists to scan (0: as built)."""
    import faiss

    depth = min(depth, index.ntotal)
    if depth <= 0:
        return np.zeros(0, dtype=np.int64)
    is_ivf = isinstance(index, faiss.IndexIVF)
    params = faiss.SearchParametersIVF() if is_ivf else faiss.SearchParameters()
    if is_ivf:
        params.nprobe = probes(index.nlist, share) if share else index.nprobe
    selector = None
    if live is not None:
        selector = faiss.IDSelectorBitmap(index.ntotal, faiss.swig_ptr(live))
        params.sel = selector
    # One query is too small to split over threads: FAISS's OpenMP default
    # doubled search time on 2 cores. The setting belongs to the calling
    # thread: set it, then put it back.
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        _, ids = index.search(query[None, :].astype(np.float32), depth, params=params)
    finally:
        faiss.omp_set_num_threads(before)
    del selector
    ids = ids[0]
    return ids[ids >= 0]
