"""Merging segments: when to (a pure policy), and how (a streaming rewrite).

Each ingest adds a small segment; left alone, a search would visit more and
more of them, and deleted articles would keep their space. The policy is
tiered, as in Lucene's TieredMergePolicy and Cassandra's size-tiered
compaction: segments fall into tiers by live size (each tier `FACTOR` times
the one below); when a tier holds `FACTOR` segments they are merged into one
of the next tier, so every passage is rewritten about log_FACTOR(N) times
over its life. A segment more than `DELETED_SHARE` deleted is rewritten on
its own. Automatic merges never build a segment over `MAX_AUTO` passages (a
merge that size would hold an `rag add` for minutes); `rag compact` merges
everything into one.

A merge verifies every source file's checksum first, then streams: articles
language by language with their vectors (no re-embedding), and postings term
by term with rows renumbered and deleted passages dropped.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.store.base import NewArticle, Origin
from rag.store.local.build import SegmentBuilder
from rag.store.local.segment import Segment

FACTOR = 8
FLOOR = 2_000  # segments under this many live passages share the lowest tier
MAX_AUTO = 250_000
DELETED_SHARE = 0.3


@dataclass(frozen=True)
class SegmentSize:
    name: str
    live: int  # live passages
    total: int  # passages, deleted included


def tier(live: int) -> int:
    """The size tier of a segment with `live` passages.

    >>> [tier(n) for n in (0, 1_999, 2_000, 15_999, 16_000, 1_000_000)]
    [0, 0, 1, 1, 2, 3]
    """
    return 0 if live < FLOOR else 1 + int(math.log(live / FLOOR, FACTOR) + 1e-9)


def plan(sizes: Sequence[SegmentSize]) -> list[list[str]]:
    """The merges to make now: groups of segment names, each merged into one.

    >>> plan([SegmentSize(f"s{i}", 100, 100) for i in range(8)])
    [['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']]
    >>> plan([SegmentSize("big", 500, 1000), SegmentSize("ok", 10, 10)])
    [['big']]
    """
    groups: list[list[str]] = []
    used: set[str] = set()
    tiers: dict[int, list[SegmentSize]] = {}
    for size in sizes:
        tiers.setdefault(tier(size.live), []).append(size)
    for t in sorted(tiers):
        members = sorted(tiers[t], key=lambda s: (s.live, s.name))
        while len(members) >= FACTOR:
            group, members = members[:FACTOR], members[FACTOR:]
            if sum(s.live for s in group) > MAX_AUTO:
                break
            groups.append([s.name for s in group])
            used.update(s.name for s in group)
    for size in sizes:
        if size.name in used or size.total == 0 or size.live > MAX_AUTO:
            continue
        if (size.total - size.live) / size.total > DELETED_SHARE:
            groups.append([size.name])
    return groups


BULK_SHARE = 0.25  # an ingest that wrote this share of the index compacts it


def after_bulk(added: int, live: int, segments: int) -> bool:
    """True when a change that wrote `added` of the index's `live` passages
    should end by merging everything: a large import (the first ingest of an
    archive, say) leaves several segments of the automatic limit's size,
    each searched on its own (at 1M passages, 8 segments searched in twice
    the time of one: docs/PERFORMANCE.md). A daily ingest writes a sliver
    and never pays for a full merge.

    >>> after_bulk(1_000_000, 1_000_000, 8), after_bulk(2_000, 1_000_000, 3)
    (True, False)
    """
    return segments > 1 and added >= BULK_SHARE * live


def merge_into(
    builder: SegmentBuilder,
    sources: Sequence[tuple[Segment, np.ndarray]],
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Add every live article of `sources` ((segment, its deleted article
    rows, sorted)) to `builder`, language by language; returns the merged
    postings to pass to `builder.finish`. Verify the sources first."""
    remaps = [np.full(seg.n_chunks, -1, dtype=np.int64) for seg, _ in sources]
    languages = sorted({lang for seg, _ in sources for lang in seg.languages})
    for lang in languages:
        for (segment, deleted), remap in zip(sources, remaps, strict=True):
            gone = set(int(r) for r in deleted)
            if lang not in segment.languages:
                continue
            for stored in segment.iter_articles(lang):
                if stored.row in gone:
                    continue
                c0, c1 = stored.chunks
                s0, s1 = stored.sentences
                chunks = [chunk for _, chunk in segment.chunks(list(range(c0, c1)))]
                sentences, _ = segment.sentences(stored)
                remap[c0:c1] = np.arange(builder.n_chunks, builder.n_chunks + (c1 - c0))
                builder.add(
                    NewArticle(
                        article=stored.article,
                        chunks=tuple(chunks),
                        chunk_vectors=segment.read_vectors(c0, c1),
                        sentences=tuple(sentences),
                        sentence_vectors=segment.read_vectors(s0, s1, sentences=True),
                        lengths=tuple(int(n) for n in segment.lengths[c0:c1]),
                        origin=Origin(
                            stored.file, stored.file_size, stored.file_mtime_ns, stored.raw_hash
                        ),
                        signature=stored.signature,
                    )
                )
                if progress:
                    progress(c1 - c0)
    return _merged_postings([seg for seg, _ in sources], remaps)


def _merged_postings(
    segments: Sequence[Segment], remaps: Sequence[np.ndarray]
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    streams = [_tagged(segment, s) for s, segment in enumerate(segments)]
    current: str | None = None
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for term, s, rows, tfs in heapq.merge(*streams, key=lambda item: item[0]):
        if term != current:
            if current is not None:
                yield from _emit(current, parts)
            current, parts = term, []
        new = remaps[s][rows]
        keep = new >= 0
        if keep.any():
            parts.append((new[keep], tfs[keep]))
    if current is not None:
        yield from _emit(current, parts)


def _tagged(segment: Segment, s: int) -> Iterator[tuple[str, int, np.ndarray, np.ndarray]]:
    for term, rows, tfs in segment.iter_terms():
        yield term, s, rows, tfs


def _emit(term: str, parts: list[tuple[np.ndarray, np.ndarray]]):
    if not parts:
        return
    rows = np.concatenate([p[0] for p in parts])
    tfs = np.concatenate([p[1] for p in parts])
    order = np.argsort(rows, kind="stable")
    yield term, rows[order].astype(np.int32), tfs[order].astype(np.int32)
