"""Probe more retrieval levers for the issue-2 bar (44 of 48 answerable dev
questions with a key-phrase passage in the top 5).

Variants, each re-scoring the shipped candidates:
- a second dense query made of the question's content words only (stop words
  and question words dropped), averaged with the first;
- contextual passage vectors: each passage vector plus alpha times its
  article's mean passage vector, renormalised;
- an article score: each passage gets beta times its article's best
  calibrated dense score;
- cross-lingual prefix matching: BM25-like overlap of 5-letter word prefixes
  pooled over all languages (names and cognates: Lukasjenko/Lukashenko).

    .venv/bin/python bench/probe_retrieval2.py
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from common import seed_retriever  # noqa: E402
from probe_retrieval import table_row  # noqa: E402

from rag.fusion import calibrate  # noqa: E402
from rag.lexical import _WORD, _stopwords  # noqa: E402
from rag.retrieval import DENSE_STD_FLOOR, LEXICAL_STD_FLOOR, Retriever, Scored  # noqa: E402
from rag.testset import load_testset  # noqa: E402

QUESTION_WORDS = {
    "en": "what who whom whose which when where why how many much did does do was were is are",
    "sv": "vad vem vilka vilken vilket när var varför hur många mycket",
    "nb": "hva hvem hvilke hvilken hvilket når hvor hvorfor hvordan mange mye",
}


def content_words(text: str, lang: str) -> list[str]:
    stop = set(_stopwords(lang)) | set(QUESTION_WORDS.get(lang, "").split())
    return [w for w in _WORD.findall(text) if w.casefold() not in stop]


def prefixes(text: str, n: int = 5) -> set[str]:
    return {w[:n] for w in _WORD.findall(text.casefold()) if len(w) >= 4 and not w.isdigit()}


def variant(base, r, **kw):
    chunks = r.index.chunks
    art_of = np.array([c.doc_id for c in chunks])
    if kw.get("alpha"):
        means = {d: r._vectors[art_of == d].mean(0) for d in set(art_of)}
        ctx = np.array([r._vectors[i] + kw["alpha"] * means[art_of[i]] for i in range(len(chunks))])
        ctx /= np.linalg.norm(ctx, axis=1, keepdims=True)
    if kw.get("prefix"):
        pre = [prefixes(c.text) for c in chunks]
        df = Counter(p for s in pre for p in s)
        n = len(chunks)

    def score(self, question, languages=None):
        s = base(self, question, languages)
        ids, groups = s.ids, self.chunk_languages[s.ids]
        prior, top = self.settings.calibration_prior, 10
        dense = s.dense
        if kw.get("keywords"):
            words = content_words(question, s.question_language)
            if words:
                q2 = self._embed_query(" ".join(words))
                dense = (1 - kw["keywords"]) * dense + kw["keywords"] * (self._vectors[ids] @ q2)
        if kw.get("alpha"):
            dense = ctx[ids] @ self._embed_query(question)
        fused = calibrate(dense, groups, top, DENSE_STD_FLOOR, prior)
        fused = fused + 0.5 * calibrate(s.lexical, groups, top, LEXICAL_STD_FLOOR, prior)
        if kw.get("beta"):
            best = {}
            for j, i in enumerate(ids):
                best[art_of[i]] = max(best.get(art_of[i], -9), fused[j])
            fused = fused + kw["beta"] * np.array([best[art_of[i]] for i in ids])
        if kw.get("prefix"):
            qp = prefixes(question)
            px = np.array(
                [sum(math.log(1 + n / df[p]) for p in qp & pre[i]) for i in ids], dtype=float
            )
            fused = fused + kw["prefix"] * calibrate(px, np.zeros(len(ids)), top, 0.5, 0)
        return Scored(s.question_language, ids, s.dense, s.lexical, fused)

    return score


def main() -> int:
    questions = [q for q in load_testset(ROOT / "tests/data/dev.jsonl") if q.answerable]
    with seed_retriever() as r:
        languages = {a.id: a.language for a in r.index.articles.values()}
        base = Retriever.score
        variants: dict[str, dict] = {"shipped": {}}
        variants.update({f"keywords query x{w}": {"keywords": w} for w in (0.3, 0.5)})
        variants.update({f"article context a={a}": {"alpha": a} for a in (0.25, 0.5, 1.0)})
        variants.update({f"article score b={b}": {"beta": b} for b in (0.25, 0.5)})
        variants.update({f"prefix lexical x{w}": {"prefix": w} for w in (0.25, 0.5, 1.0)})
        print("| variant | all | sv | nb | en | same-language | cross-lingual | missed |")
        print("|---|---|---|---|---|---|---|---|")
        for name, kw in variants.items():
            Retriever.score = variant(base, r, **kw) if kw else base
            print(table_row(name, r, questions, languages), flush=True)
            Retriever.score = base
    return 0


if __name__ == "__main__":
    sys.exit(main())
