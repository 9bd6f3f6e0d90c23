"""The claim set: claims with a known verdict, to measure the claim check.

Each line of `tests/data/claims.jsonl` is a claim in one language citing one
sentence of an article (`evidence`); the claim is checked against every
passage of the index that holds that sentence, exactly as a generated claim
is checked against the passages it cites. `supported` says whether that
sentence states it. A `group` holds one claim in each of the three languages;
half of the groups (by a hash of the group id) calibrate the check's bars,
the other half (`held-out`) are never used to choose them.

Loading and scoring are pure; `cases_against()` reads the index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.answers.claims import CitedPassage, ClaimCheck, ClaimRules, check_claim
from rag.errors import UsageError

CALIBRATION, HELD_OUT = "calibration", "held-out"


@dataclass(frozen=True)
class ClaimCase:
    """One claim of the set, with the sentence it cites."""

    id: str
    group: str
    claim: str
    language: str
    supported: bool
    kind: str
    doc_id: str
    evidence: str

    @property
    def split(self) -> str:
        return split_of(self.group)


def split_of(group: str) -> str:
    """Which half a group belongs to, fixed by its id.

    >>> split_of("A001"), split_of("A002")
    ('calibration', 'held-out')
    """
    digest = hashlib.blake2b(group.encode(), digest_size=4).digest()
    return CALIBRATION if digest[0] % 2 == 0 else HELD_OUT


def load_claims(path: str | Path) -> list[ClaimCase]:
    """The claim set at `path` (JSONL; see the module docstring)."""
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                cases.append(
                    ClaimCase(
                        id=str(row["id"]),
                        group=str(row["group"]),
                        claim=str(row["claim"]),
                        language=str(row["language"]),
                        supported=bool(row["supported"]),
                        kind=str(row["kind"]),
                        doc_id=str(row["doc_id"]),
                        evidence=str(row["evidence"]),
                    )
                )
            except (ValueError, KeyError, TypeError) as e:
                raise UsageError(f"{path}:{n}: not a claim ({e})") from e
    return cases


@dataclass(frozen=True)
class Prepared:
    """A case ready to check: its vector and the passages it cites."""

    case: ClaimCase
    vector: np.ndarray
    passages: dict[int, CitedPassage]


def check(prepared: Prepared, rules: ClaimRules) -> ClaimCheck:
    numbers = list(prepared.passages)
    p = prepared
    return check_claim(p.case.claim, p.vector, numbers, p.passages, p.case.language, rules)


def pair(case: ClaimCase, passage_language: str) -> str:
    """The language pair a case checks: claim language -> passage language."""
    return f"{case.language}->{passage_language}"


def summarize(
    prepared: Sequence[Prepared], verdicts: Sequence[ClaimCheck]
) -> dict[str, dict[str, dict[str, int]]]:
    """Per split ("all", "calibration", "held-out") and per row ("all", each
    language pair, each kind): supported claims passed / total, and
    unsupported claims passed (false accepts) / total."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for p, verdict in zip(prepared, verdicts, strict=True):
        language = next(iter(p.passages.values())).language if p.passages else "?"
        for split in ("all", p.case.split):
            rows = table.setdefault(split, {})
            for row in ("all", pair(p.case, language), f"kind:{p.case.kind}"):
                cell = rows.setdefault(
                    row,
                    {"supported": 0, "supported_passed": 0, "unsupported": 0, "false_accepts": 0},
                )
                if p.case.supported:
                    cell["supported"] += 1
                    cell["supported_passed"] += verdict.supported
                else:
                    cell["unsupported"] += 1
                    cell["false_accepts"] += verdict.supported
    return table


def prepare(cases: Sequence[ClaimCase], retriever) -> list[Prepared]:
    """Each case with its claim's vector and, numbered from 1, every passage
    of the index that holds its evidence sentence (as an answer would cite
    them). A case whose evidence no passage holds is an error."""
    from rag.answers.generative import sentences_of
    from rag.records import Hit

    snapshot = retriever.snapshot
    spans: dict[str, list[tuple[int, int, str]]] = {}
    for _, doc_id, text in snapshot.iter_chunks():
        spans.setdefault(doc_id, []).append((0, 0, text))
    vectors = retriever.embedder.embed_queries([c.claim for c in cases])
    out = []
    for case, vector in zip(cases, vectors, strict=True):
        article = snapshot.article(case.doc_id)
        if article is None:
            raise UsageError(f"claim {case.id}: article {case.doc_id!r} is not in the index")
        passages: dict[int, CitedPassage] = {}
        for _, _, text in spans.get(case.doc_id, []):
            if case.evidence not in text:
                continue
            start = article.text.find(text)
            hit = Hit(
                "",
                case.doc_id,
                article.title,
                article.language,
                article.date,
                text,
                start,
                start + len(text),
                0.0,
            )
            found = sentences_of(retriever, hit)
            passages[len(passages) + 1] = CitedPassage(
                text=text,
                language=article.language,
                sentences=tuple(s.text for s, _ in found),
                vectors=np.array([v for _, v in found]) if found else np.zeros((0, 1)),
            )
        if not passages:
            raise UsageError(f"claim {case.id}: no passage of {case.doc_id} holds its evidence")
        out.append(Prepared(case, vector, passages))
    return out
