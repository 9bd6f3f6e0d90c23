"""Evaluation metrics for `rag eval`: retrieval, answers, citations, abstention,
language and latency. Pure functions over plain values, hand-checked in tests;
the ranked retrieval metrics are cross-checked against ir-measures.

Conventions. A passage is relevant when it contains a key phrase (case- and
whitespace-insensitive, as `first_relevant_rank`); an article is relevant when
its id is a gold id. Ranked metrics take relevance flags in rank order. A
metric returns None when its denominator is zero (e.g. recall for a question
with nothing relevant); `mean_or_none` skips those Nones when aggregating.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def first_relevant_rank(passages: Sequence[str], key_phrases: Sequence[str]) -> int | None:
    """1-based rank of the first passage containing any key phrase (case- and
    whitespace-insensitive), or None.

    >>> first_relevant_rank(["a b", "x  Y z"], ["y z"])
    2
    """
    phrases = [_norm(p) for p in key_phrases if p.strip()]
    for rank, passage in enumerate(passages, start=1):
        text = _norm(passage)
        if any(p in text for p in phrases):
            return rank
    return None


def hit_at_k(passages: Sequence[str], key_phrases: Sequence[str], k: int) -> bool:
    rank = first_relevant_rank(passages, key_phrases)
    return rank is not None and rank <= k


def reciprocal_rank(passages: Sequence[str], key_phrases: Sequence[str]) -> float:
    rank = first_relevant_rank(passages, key_phrases)
    return 1.0 / rank if rank else 0.0


def article_recall(doc_ids: Sequence[str], gold_ids: Sequence[str]) -> float:
    """Share of gold articles among the retrieved passages' articles.

    >>> article_recall(["a", "a", "c"], ["a", "b"])
    0.5
    """
    if not gold_ids:
        return 0.0
    found = set(doc_ids)
    return sum(1 for g in set(gold_ids) if g in found) / len(set(gold_ids))


# --- relevance labels ---------------------------------------------------------


def relevance_labels(passages: Sequence[str], key_phrases: Sequence[str]) -> list[bool]:
    """One flag per passage: does it contain a key phrase? Same matching as
    `first_relevant_rank`; blank key phrases match nothing.

    >>> relevance_labels(["a b", "x  Y z", "y"], ["y z"])
    [False, True, False]
    """
    phrases = [_norm(p) for p in key_phrases if p.strip()]
    return [any(p in _norm(passage) for p in phrases) for passage in passages]


def article_ranking(doc_ids: Sequence[str]) -> list[str]:
    """Articles ranked by their first appearance in a passage ranking.

    >>> article_ranking(["b", "a", "b", "c", "a"])
    ['b', 'a', 'c']
    """
    return list(dict.fromkeys(doc_ids))


def article_relevance(doc_ids: Sequence[str], gold_ids: Sequence[str]) -> list[bool]:
    """Relevance flags of `article_ranking(doc_ids)`: is the article a gold one?
    Feed these to the ranked metrics below with `len(set(gold_ids))` as the
    number of relevant items.

    >>> article_relevance(["b", "a", "b", "c"], ["c", "b"])
    [True, False, True]
    """
    gold = set(gold_ids)
    return [doc_id in gold for doc_id in article_ranking(doc_ids)]


# --- ranked retrieval metrics over relevance flags ----------------------------


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _check_total(relevant: Sequence[bool], total: int, name: str) -> None:
    found = sum(1 for r in relevant if r)
    if total < found:
        raise ValueError(f"{name}={total} but the ranking holds {found} relevant items")


def success_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when a relevant item is in the top k, else 0.0 (hit@k; ir-measures'
    Success@k).

    >>> success_at_k([False, False, True], 2), success_at_k([False, False, True], 3)
    (0.0, 1.0)
    """
    _check_k(k)
    return 1.0 if any(relevant[:k]) else 0.0


def precision_at_k(relevant: Sequence[bool], k: int) -> float:
    """Relevant items in the top k, divided by k (a shorter ranking counts its
    missing ranks as non-relevant, as trec_eval's P@k does).

    >>> precision_at_k([True, False, True], 2), precision_at_k([True], 4)
    (0.5, 0.25)
    """
    _check_k(k)
    return sum(1 for r in relevant[:k] if r) / k


def recall_at_k(relevant: Sequence[bool], total_relevant: int, k: int) -> float | None:
    """Relevant items in the top k, divided by `total_relevant` (how many
    relevant items exist in the whole collection). None when that is 0;
    ValueError when the ranking holds more relevant items than it.

    >>> recall_at_k([True, False, True, True], total_relevant=4, k=3)
    0.5
    """
    _check_k(k)
    _check_total(relevant, total_relevant, "total_relevant")
    if total_relevant == 0:
        return None
    return sum(1 for r in relevant[:k] if r) / total_relevant


def article_recall_at_k(doc_ids: Sequence[str], gold_ids: Sequence[str], k: int) -> float | None:
    """Distinct gold articles among the first k articles of the ranking (passages
    deduplicated by first appearance), divided by the number of distinct gold
    articles; None without gold ids. For "gold articles among the top k
    passages" use `article_recall(doc_ids[:k], gold_ids)`.

    >>> article_recall_at_k(["a", "a", "c", "b"], ["b", "a"], k=2)
    0.5
    """
    return recall_at_k(article_relevance(doc_ids, gold_ids), len(set(gold_ids)), k)


def mrr(relevant: Sequence[bool], k: int | None = None) -> float:
    """Reciprocal rank of the first relevant item (0.0 if none, or none within
    the cutoff k). Per query; `mean_or_none` over queries gives the MRR.

    >>> mrr([False, False, True]), mrr([False, False, True], k=2)
    (0.3333333333333333, 0.0)
    """
    if k is not None:
        _check_k(k)
        relevant = relevant[:k]
    for rank, r in enumerate(relevant, start=1):
        if r:
            return 1.0 / rank
    return 0.0


def _dcg(gains: Iterable[bool]) -> float:
    return sum(1.0 / math.log2(rank + 1) for rank, g in enumerate(gains, start=1) if g)


def ndcg_at_k(
    relevant: Sequence[bool], k: int = 10, ideal_count: int | None = None
) -> float | None:
    """nDCG@k with binary gains: DCG = sum over the top k of rel_i / log2(i + 1),
    divided by the DCG of the ideal ordering.

    The ideal puts `ideal_count` relevant items first: pass the number of
    relevant items in the whole collection when known (None if it is 0).
    Without it the ideal comes from the relevant flags of the whole ranking
    (beyond k too), which can only overstate nDCG; a ranking without a
    relevant item then scores 0.0. Graded gains are out of scope: our labels
    are binary.

    >>> round(ndcg_at_k([False, True], k=10), 4)  # (1/log2 3) / (1/log2 2)
    0.6309
    >>> round(ndcg_at_k([False, True], k=10, ideal_count=2), 4)  # 0.6309 / 1.6309
    0.3869
    """
    _check_k(k)
    if ideal_count is None:
        ideal_count = sum(1 for r in relevant if r)
        if ideal_count == 0:
            return 0.0
    _check_total(relevant, ideal_count, "ideal_count")
    if ideal_count == 0:
        return None
    return _dcg(relevant[:k]) / _dcg([True] * min(k, ideal_count))


# --- answers --------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u201a": "'",  # ‚
        "\u201b": "'",  # ‛
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u201f": '"',  # ‟
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
    }
)
# English articles only: sv/nb definite articles are suffixes, and their
# indefinite ones (en, ett, ei, et) double as the numeral "one".
_ARTICLES = frozenset({"a", "an", "the"})


def _fold(text: str) -> str:
    """NFKC, typographic quotes as ASCII, casefolded, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.split())


def key_fact_match(text: str, key_facts: Sequence[str]) -> bool:
    """Does `text` contain any key fact? Case-, whitespace- and NFKC-insensitive,
    typographic quotes and apostrophes equal ASCII ones; blank facts match nothing.

    >>> key_fact_match("Police detained  774 people on Sunday’s march.", ["SUNDAY'S march"])
    True
    """
    folded = _fold(text)
    return any(f in folded for f in (_fold(k) for k in key_facts) if f)


def key_fact_share(text: str, key_facts: Sequence[str]) -> float | None:
    """Share of the distinct non-blank key facts that `text` contains (matched as
    in `key_fact_match`); None without any.

    >>> key_fact_share("774 people in Minsk", ["774", "Minsk", "Sochi", "minsk"])
    0.6666666666666666
    """
    facts = {f for f in (_fold(k) for k in key_facts) if f}
    if not facts:
        return None
    folded = _fold(text)
    return sum(1 for f in facts if f in folded) / len(facts)


def answer_tokens(text: str) -> list[str]:
    """Tokens for `token_f1`: NFKC, quotes folded, casefolded; apostrophes
    deleted ("Putin's" -> "putins"); other punctuation and symbols (Unicode
    categories P* and S*) become spaces; split on whitespace; the English
    articles a/an/the dropped (SQuAD keeps to that; see `_ARTICLES`).

    >>> answer_tokens("The EU-kommissionen’s «nya» sanktioner: 1,5 mdr €.")
    ['eu', 'kommissionens', 'nya', 'sanktioner', '1', '5', 'mdr']
    """
    chars = []
    for ch in _fold(text):
        if ch == "'":
            continue
        chars.append(" " if unicodedata.category(ch)[0] in "PS" else ch)
    return [t for t in "".join(chars).split() if t not in _ARTICLES]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 over `answer_tokens` (multiset overlap). 1.0 when both
    sides have no tokens, 0.0 when only one side has none.

    >>> token_f1("Police detained 774 people", "774 people were detained")
    0.75
    """
    pred, ref = answer_tokens(prediction), answer_tokens(reference)
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


# --- citations --------------------------------------------------------------


@dataclass(frozen=True)
class CitedSource:
    """What one citation points at: the article, its passage and, when the
    citation is sentence-level, the cited sentence."""

    doc_id: str
    passage: str
    sentence: str = ""


@dataclass(frozen=True)
class CitedClaim:
    """One claim of an answer (usually a sentence) and the sources it cites."""

    text: str
    cited: tuple[CitedSource, ...] = ()


def citation_supports(claim: str, source: CitedSource, key_facts: Sequence[str]) -> bool:
    """Offline stand-in for ALCE's entailment check: some key fact appears both
    in the claim and in the cited text (the sentence if given, else the
    passage), matched as in `key_fact_match`.

    >>> citation_supports("774 were held.", CitedSource("a", "Police held 774."), ["774"])
    True
    """
    cited = _fold(source.sentence or source.passage)
    stated = _fold(claim)
    return any(f in stated and f in cited for f in (_fold(k) for k in key_facts) if f)


def citation_scores(
    claims: Sequence[CitedClaim], key_facts: Sequence[str], gold_ids: Sequence[str] = ()
) -> dict[str, float | int | None]:
    """ALCE-style citation precision and recall, offline from key facts.

    Only claims that state a key fact can be judged without a model; the
    others are left out of both scores (counted in "claims" only).
    precision: share of the judged claims' citations that support their
    claim (`citation_supports`; each citation counted, repeats too).
    recall: share of judged claims with at least one supporting citation.
    gold_share: share of all claims' citations that point to a gold article.
    Each score is None when its denominator is 0.

    >>> s = citation_scores(
    ...     [CitedClaim("774 were held", (CitedSource("a", "774 held"), CitedSource("b", "x"))),
    ...      CitedClaim("In Minsk", (CitedSource("a", "y"),))],
    ...     key_facts=["774"], gold_ids=["a"])
    >>> s["precision"], s["recall"], s["gold_share"]
    (0.5, 1.0, 0.6666666666666666)
    """
    judged = [c for c in claims if key_fact_match(c.text, key_facts)]
    citations = sum(len(c.cited) for c in judged)
    supporting = sum(citation_supports(c.text, s, key_facts) for c in judged for s in c.cited)
    supported = sum(any(citation_supports(c.text, s, key_facts) for s in c.cited) for c in judged)
    gold = set(gold_ids)
    all_cited = [s.doc_id for c in claims for s in c.cited]
    return {
        "precision": supporting / citations if citations else None,
        "recall": supported / len(judged) if judged else None,
        "gold_share": (
            sum(d in gold for d in all_cited) / len(all_cited) if all_cited and gold else None
        ),
        "claims": len(claims),
        "judged_claims": len(judged),
        "supported_claims": supported,
        "citations": citations,
        "supporting_citations": supporting,
    }


# --- abstention, language, latency, aggregation ------------------------------


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def abstention_scores(
    predicted_abstain: Sequence[bool], answerable: Sequence[bool]
) -> dict[str, float | int | None]:
    """Abstention quality over a test set, one flag pair per question.
    precision: share of abstentions made on unanswerable questions; recall:
    share of unanswerable questions abstained on; false_abstention_rate: share
    of answerable questions abstained on. None when a denominator is 0.

    >>> s = abstention_scores([True, True, False, False], [False, True, True, False])
    >>> s["precision"], s["recall"], s["false_abstention_rate"]
    (0.5, 0.5, 0.5)
    """
    if len(predicted_abstain) != len(answerable):
        raise ValueError("predicted_abstain and answerable differ in length")
    pairs = list(zip(predicted_abstain, answerable, strict=True))
    abstained = sum(1 for a, _ in pairs if a)
    unanswerable = sum(1 for _, ok in pairs if not ok)
    correct = sum(1 for a, ok in pairs if a and not ok)
    false = abstained - correct
    return {
        "precision": _share(correct, abstained),
        "recall": _share(correct, unanswerable),
        "false_abstention_rate": _share(false, len(pairs) - unanswerable),
        "n": len(pairs),
        "abstained": abstained,
        "unanswerable": unanswerable,
        "correct_abstentions": correct,
        "false_abstentions": false,
    }


def _primary(code: str) -> str:
    return code.strip().replace("_", "-").split("-")[0].casefold()


def language_match_rate(
    answer_languages: Sequence[str], question_languages: Sequence[str]
) -> float | None:
    """Share of answers whose detected language is the question's. Codes compare
    by primary subtag ("sv-SE" equals "sv"); "und" or blank never matches.
    Detection itself is the caller's job. None for no answers.

    >>> language_match_rate(["sv", "en", "und"], ["sv-SE", "nb", "und"])
    0.3333333333333333
    """
    if len(answer_languages) != len(question_languages):
        raise ValueError("answer_languages and question_languages differ in length")
    same = sum(
        1
        for a, q in zip(answer_languages, question_languages, strict=True)
        if _primary(a) not in ("", "und") and _primary(a) == _primary(q)
    )
    return _share(same, len(answer_languages))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100) with linear interpolation between
    closest ranks, like numpy's default; None for no values.

    >>> percentile([4.0, 1.0, 3.0, 2.0], 50)  # halfway between 2 and 3
    2.5
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q}")
    if not values:
        return None
    if any(math.isnan(v) for v in values):
        raise ValueError("percentile of NaN values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p95 (as `percentile`) and the count of latencies.

    >>> latency_summary([0.1, 0.2, 0.3, 0.4, 1.0])["p50"]
    0.3
    """
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}


def mean_or_none(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None (flags count as 0/1); None when
    there are none, so undefined per-question scores do not count as zeros.

    >>> mean_or_none([1.0, None, 0.0, True])
    0.6666666666666666
    """
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
