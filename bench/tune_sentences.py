"""Which text to embed for a sentence: the sentence alone, or with its title?

Answers (issue 3) pick the sentences that answer a question from the
retrieved passages. For each answerable dev question this retrieves the top 5
passages (shipped settings, index built from seeds/ in a temporary directory),
ranks the sentences inside them by cosine similarity to the question, and
counts how often the sentence holding a key phrase comes first, or in the
top 3, for each way of embedding sentences.

    .venv/bin/python bench/tune_sentences.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import seed_retriever  # noqa: E402

from rag.evaluation.metrics import first_relevant_rank  # noqa: E402
from rag.evaluation.testset import load_testset  # noqa: E402
from rag.text.chunking import passage_text  # noqa: E402

VARIANTS = {
    "sentence alone": lambda title, text: text,
    "title + sentence": passage_text,
}


def main() -> int:
    questions = [q for q in load_testset(ROOT / "tests/data/dev.jsonl") if q.answerable]
    with seed_retriever() as retriever:
        articles, sentences = {}, []
        for _, stored in retriever.snapshot.iter_articles():
            articles[stored.article.id] = stored.article
            sentences += retriever.snapshot.sentences(stored.article.id)[1]
        print(f"{len(questions)} answerable dev questions, {len(sentences)} sentences\n")
        print("| sentence embedded as | key-phrase sentence 1st | in top 3 |")
        print("|---|---|---|")
        for name, recipe in VARIANTS.items():
            texts = [recipe(articles[s.doc_id].title, s.text) for s in sentences]
            vectors = retriever.embedder.embed_documents(texts)
            first = top3 = 0
            for q in questions:
                hits = retriever.retrieve(q.question, k=5)
                inside = [
                    i
                    for i, s in enumerate(sentences)
                    if any(
                        h.doc_id == s.doc_id and h.start <= s.start and s.end <= h.end for h in hits
                    )
                ]
                qvec = retriever.embedder.embed_queries([q.question])[0]
                inside.sort(key=lambda i: -float(vectors[i] @ qvec))
                rank = first_relevant_rank([sentences[i].text for i in inside], q.key_phrases)
                first += rank == 1
                top3 += bool(rank and rank <= 3)
            print(f"| {name} | {first}/{len(questions)} | {top3}/{len(questions)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
