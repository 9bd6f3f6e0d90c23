"""Calibrate abstention and measure extractive answers on the dev set.

Builds an index of seeds/ in a temporary directory, answers every dev question
with abstention switched off, and records per question the two abstention
signals (best sentence similarity, best share of question words in a
sentence) and whether the answer holds a key fact. It then scans threshold
pairs and prints, for each, how many unanswerable questions abstain and how
many answerable ones would wrongly abstain, and the key-fact rate. Last, for
every single signal the issue suggests (similarity, word share, the top
passage's fused score, agreement of the dense and lexical rankings, numbers in
the question that no retrieved passage holds), the threshold that catches the
most unanswerable questions while at most 5% of answerable ones abstain.

    .venv/bin/python bench/tune_answers.py
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rag.answer import abstention_signals, candidates_for  # noqa: E402
from rag.answer import answer as rag_answer  # noqa: E402
from rag.ingest import build_index  # noqa: E402
from rag.retrieval import get_retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.testset import load_testset  # noqa: E402


def has_fact(text: str, facts) -> bool:
    low = " ".join(text.split()).casefold()
    return any(" ".join(f.split()).casefold() in low for f in facts)


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    questions = load_testset(ROOT / "tests/data/dev.jsonl")
    rows, extra = [], []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            root=ROOT, index_dir=Path(tmp), abstain_dense=-1.0, abstain_overlap=-1.0
        )  # never abstain: measure everything
        build_index(settings)
        retriever = get_retriever(settings)
        for q in questions:
            result = rag_answer(q.question, settings=settings)
            qvec = retriever._embed_query(q.question)
            _, candidates = candidates_for(
                retriever, q.question, result.question_language, qvec, result.hits
            )
            dense, overlap = abstention_signals(candidates)
            rows.append((q, dense, overlap, has_fact(result.text, q.key_facts)))
            extra.append(more_signals(q.question, result.hits))
    answerable = [r for r in rows if r[0].answerable]
    unanswerable = [r for r in rows if not r[0].answerable]
    facts = sum(r[3] for r in answerable)
    print(f"key fact in the answer (no abstention): {facts}/{len(answerable)}\n")
    print("| question | answerable | best similarity | best word share | key fact |")
    print("|---|---|---|---|---|")
    for q, d, o, f in rows:
        print(f"| {q.id} {q.language} | {q.answerable} | {d:.3f} | {o:.2f} | {f} |")
    print(
        "\n| abstain below similarity | and below word share | unanswerable abstaining "
        "| answerable abstaining | key fact, answerable |"
    )
    print("|---|---|---|---|---|")
    for td in np.arange(0.82, 0.885, 0.01):
        for to in (0.2, 0.34, 0.5):
            ua = sum(abstains(r, td, to) for r in unanswerable)
            fa = sum(abstains(r, td, to) for r in answerable)
            kf = sum(r[3] and not abstains(r, td, to) for r in answerable)
            print(
                f"| {td:.2f} | {to:.2f} | {ua}/{len(unanswerable)} | {fa}/{len(answerable)} "
                f"| {kf}/{len(answerable)} |"
            )
    signals = {
        "best sentence similarity": [r[1] for r in rows],
        "best word share": [r[2] for r in rows],
        **{name: [e[name] for e in extra] for name in extra[0]},
    }
    flags = [not r[0].answerable for r in rows]
    print("\n| signal (abstain when below) | best threshold at <= 5% false | unanswerable caught |")
    print("|---|---|---|")
    for name, values in signals.items():
        threshold, caught = best_threshold(values, flags, max_false=0.05)
        shown = "-" if threshold is None else f"{threshold:.3f}"
        print(f"| {name} | {shown} | {caught}/{sum(flags)} |")
    return 0


def more_signals(question: str, hits) -> dict[str, float]:
    """Per-question signals beyond the two the answer uses (higher = more
    evidence), each to be thresholded alone."""
    texts = " ".join(h.text for h in hits)
    numbers = re.findall(r"\d+", question)
    return {
        "top passage fused score": hits[0].score if hits else 0.0,
        "dense top-1 also lexical top-3": float(
            any(h.dense_rank == 1 and h.lexical_rank and h.lexical_rank <= 3 for h in hits)
        ),
        "question numbers all found": float(all(n in texts for n in numbers)),
    }


def best_threshold(values, unanswerable, max_false: float):
    """(threshold, caught): abstaining below the threshold catches the most
    unanswerable questions while at most `max_false` of answerable ones abstain."""
    answerable = sum(1 for u in unanswerable if not u)
    best = (None, 0)
    for t in sorted(set(values)) + [max(values) + 1e-9]:
        caught = sum(1 for v, u in zip(values, unanswerable, strict=True) if u and v < t)
        false = sum(1 for v, u in zip(values, unanswerable, strict=True) if not u and v < t)
        if false <= max_false * answerable and caught > best[1]:
            best = (t, caught)
    return best


def abstains(row, dense_below: float, share_below: float) -> bool:
    return row[1] < dense_below and row[2] < share_below


if __name__ == "__main__":
    sys.exit(main())
