"""Calibrate the answer's confidence on the dev set; report it on the held-out set.

For every question of the dev set (`tests/data/dev.jsonl`) this reads the
signals an answer's confidence is made of (`rag.answerability`): the score of
the best sentence found, whether it holds what the question asks for (a
number for "how many", a name for "who", ...), and whether a number or year
of the question is found nowhere in what was retrieved. It fits a logistic
model (answerable or not) on the dev set, chooses the warning threshold as
the highest at which at most 10% of answerable dev questions are warned (a
question naming a number found nowhere is always warned), and
reports warned and abstained questions on the dev set and on the held-out
set (`tests/data/heldout.jsonl`), which the fit never sees.

    .venv/bin/python bench/tune_confidence.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rag.answers.answer import ranked  # noqa: E402
from rag.answers.answerability import Model, retrieved_context, signals  # noqa: E402
from rag.evaluation.testset import load_testset  # noqa: E402
from rag.ingest.pipeline import build_index  # noqa: E402
from rag.search.retrieval import get_retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text.language import question_language  # noqa: E402

WARNED_ANSWERABLE_AT_MOST = 0.10


def features(retriever, questions):
    rows = []
    for q in questions:
        qlang = question_language(q.question)
        qvec = retriever._embed_query(q.question)
        hits = retriever.retrieve(q.question, None, None)
        quotes, lead = ranked(retriever, q.question, qlang, qvec, hits)
        sig = signals(q.question, lead[0] if lead else "", retrieved_context(hits))
        rows.append((q, lead[1] if lead else 0.0, sig, not quotes))
    return rows


def fit(rows, l2: float = 0.1, steps: int = 5000, rate: float = 0.1) -> Model:
    x = np.array([[s, sig.type_found, bool(sig.missing_numbers), 1.0] for _, s, sig, _ in rows])
    y = np.array([q.answerable for q, *_ in rows], dtype=float)
    w = np.zeros(4)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) / len(y) + l2 * np.r_[w[:3], 0.0]
        w -= rate * grad
    return Model(*(round(float(v), 3) for v in w))


def report(name, rows, model, threshold):
    warned_u = abst_u = warned_a = abst_a = 0
    for q, s, sig, abstained in rows:
        low = model.confidence(s, sig) < threshold or bool(sig.missing_numbers)
        if q.answerable:
            abst_a += abstained
            warned_a += low and not abstained
        else:
            abst_u += abstained
            warned_u += low and not abstained
    n_a = sum(q.answerable for q, *_ in rows)
    n_u = len(rows) - n_a
    print(
        f"{name}: unanswerable abstained {abst_u} + warned {warned_u} of {n_u}; "
        f"answerable abstained {abst_a} + warned {warned_a} of {n_a}"
    )
    for q, s, sig, abstained in rows:
        c = model.confidence(s, sig)
        low = c < threshold or bool(sig.missing_numbers)
        flag = "ABSTAIN" if abstained else ("warn" if low else "")
        print(f"   {'A' if q.answerable else 'U'} {q.id} {c:.2f} {flag:7s} {q.question[:70]}")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(index_dir=Path(tmp) / "index")
        build_index(settings)
        retriever = get_retriever(settings)
        dev = features(retriever, load_testset(ROOT / "tests/data/dev.jsonl"))
        held = features(retriever, load_testset(ROOT / "tests/data/heldout.jsonl"))
    model = fit(dev)
    answerable = [(model.confidence(s, sig), sig) for q, s, sig, _ in dev if q.answerable]
    allowed = int(WARNED_ANSWERABLE_AT_MOST * len(answerable))
    allowed -= sum(bool(sig.missing_numbers) for _, sig in answerable)  # always warned
    ranked_low = sorted(c for c, sig in answerable if not sig.missing_numbers)
    threshold = round(ranked_low[allowed] - 1e-3, 3)  # warns the `allowed` lowest
    print(f"model {model}; warn below {threshold}")
    report("dev", dev, model, threshold)
    report("held-out", held, model, threshold)


if __name__ == "__main__":
    main()
