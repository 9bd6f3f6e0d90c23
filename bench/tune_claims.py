"""Calibrate the claim check (`Settings.claim_min_similarity`) on the dev set.

A generated claim is shown only when a sentence of a passage it cites states
it. This measures how well the check tells a true citation from a false one,
with the dev set's reference answers standing in for generated claims (each
is written in the question's language, so a third of them are checked across
languages, as a generator's claims are):

- true pairs: a reference answer citing a retrieved passage that holds one of
  its key phrases (the passage that states it);
- false pairs: the same reference citing another retrieved passage that holds
  no key phrase, and the reference of another question citing this
  question's key-phrase passage.

For each similarity bar it prints the share of true pairs supported and of
false pairs wrongly supported, by the full check (similarity, numbers, names)
and per same-language / cross-lingual pair.

    .venv/bin/python bench/tune_claims.py [--out bench/out/claims.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rag.claims import CitedPassage, check_claim  # noqa: E402
from rag.generative import sentences_of  # noqa: E402
from rag.ingest import build_index  # noqa: E402
from rag.language import question_language  # noqa: E402
from rag.metrics import first_relevant_rank  # noqa: E402
from rag.retrieval import get_retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.testset import load_testset  # noqa: E402

BARS = [round(x, 2) for x in np.arange(0.78, 0.93, 0.01)]


def has_key_phrase(text: str, phrases) -> bool:
    return first_relevant_rank([text], phrases) is not None


def cited(retriever, hit) -> CitedPassage:
    pairs = sentences_of(retriever, hit)
    return CitedPassage(
        text=hit.text,
        language=hit.language,
        sentences=tuple(s.text for s, _ in pairs),
        vectors=np.array([v for _, v in pairs]) if pairs else np.zeros((0, retriever.dim)),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testset", type=Path, default=ROOT / "tests/data/dev.jsonl")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    questions = [q for q in load_testset(args.testset) if q.answerable and q.reference]
    pairs = []  # (kind "true"/"false", cross-lingual?, claim, claim language, vector, passage)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(root=ROOT, index_dir=Path(tmp))
        build_index(settings)
        retriever = get_retriever(settings)
        gold_passages = {}
        for q in questions:
            hits = retriever.retrieve(q.question, k=5)
            gold = [h for h in hits if has_key_phrase(h.text, q.key_phrases)]
            other = [h for h in hits if not has_key_phrase(h.text, q.key_phrases)]
            gold_passages[q.id] = gold
            language = question_language(q.reference)
            vector = retriever.embedder.embed_queries([q.reference])[0]
            for h in gold:
                pairs.append(("true", h.language != language, q.reference, language, vector, h))
            for h in other:
                pairs.append(("false", h.language != language, q.reference, language, vector, h))
        for i, q in enumerate(questions):  # another question's claim, this gold passage
            other_q = questions[(i + 7) % len(questions)]
            language = question_language(other_q.reference)
            vector = retriever.embedder.embed_queries([other_q.reference])[0]
            for h in gold_passages[q.id][:1]:
                pairs.append(
                    ("false", h.language != language, other_q.reference, language, vector, h)
                )
        rows = []
        for bar in BARS:
            row = {"bar": bar}
            for subset in ("all", "same-language", "cross-lingual"):
                chosen = [
                    p for p in pairs if subset == "all" or (subset == "cross-lingual") == p[1]
                ]
                for kind in ("true", "false"):
                    group = [p for p in chosen if p[0] == kind]
                    supported = sum(
                        check_claim(
                            p[2], p[4], [1], {1: cited(retriever, p[5])}, p[3], bar
                        ).supported
                        for p in group
                    )
                    row[f"{subset} {kind}"] = (supported, len(group))
            rows.append(row)
    print(f"# Claim check on {args.testset.name}: {len(questions)} reference answers as claims\n")
    print(
        "| similarity bar | true pairs supported (all / same / cross) "
        "| false pairs supported (all / same / cross) |"
    )
    print("|---|---|---|")
    for row in rows:
        true = " / ".join(
            f"{row[f'{s} true'][0]}/{row[f'{s} true'][1]}"
            for s in ("all", "same-language", "cross-lingual")
        )
        false = " / ".join(
            f"{row[f'{s} false'][0]}/{row[f'{s} false'][1]}"
            for s in ("all", "same-language", "cross-lingual")
        )
        print(f"| {row['bar']:.2f} | {true} | {false} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
