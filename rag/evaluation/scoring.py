"""Scoring an evaluation: run test questions through `answer()`, score each.

`run()` is the only part that touches the index and the model: each question
goes through the same `answer()` the app and the CLI use, plus a 10-deep
retrieval for the ranking metrics (the top k of it are exactly the answer's
hits). `score_question()` and `summarize()` are pure: records in, numbers out,
with every metric broken down by question language and by same-language
versus cross-lingual questions. `rag/evaluation/report.py` renders the result.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from rag.answers.citations import claims as split_claims
from rag.evaluation import metrics
from rag.evaluation.testset import TestQuestion
from rag.records import Answer, Hit, split_warning
from rag.search.query import in_range

RANKING_DEPTH = 10  # nDCG@10 and MRR@10 need ten passages
# Latency stages: each answer's own timings (first_token: until a language
# model's first text; first_text: until the first text is shown, what a chat
# user waits), plus the whole call.
STAGES = ("embed", "retrieve", "generate", "first_token", "first_text", "total")

# Metrics where lower is better; every other metric is better when higher.
LOWER_IS_BETTER = frozenset({"false_abstention_rate", "fallback_rate", "warned_answerable"})

# What went wrong with a question, worst first (None: nothing).
FAILURES = (
    "abstained on an answerable question",
    "answered an unanswerable question",
    "not retrieved",
    "retrieved but not cited",
    "cited, but the answer misses the key fact",
)


@dataclass(frozen=True)
class Retrieved:
    """One passage of a question's 10-deep ranking."""

    chunk_id: str
    doc_id: str
    language: str
    relevant: bool  # holds a key phrase, or is a gold passage
    date: str | None = None  # its article's date
    source: str = ""  # its article's copy group: copies of one story share it


@dataclass(frozen=True)
class QuestionResult:
    """Everything measured for one test question."""

    id: str
    question: str
    language: str
    answerable: bool
    cross_lingual: bool | None  # None: no gold articles to tell
    answer: str
    abstained: bool
    answer_language: str
    citations: tuple[dict, ...]
    contexts: tuple[str, ...]  # the passages the answer drew on
    retrieved: tuple[Retrieved, ...]
    timings_ms: dict[str, float]
    scores: dict[str, float | None] = field(default_factory=dict)
    failure: str | None = None
    generator: str = "extractive"
    claims_checked: int = 0  # claims a generator wrote (none for extractive)
    claims_supported: int = 0  # of those, the ones their cited passage states
    fallback: str | None = None  # why a generated answer was replaced, if it was
    warned: bool = False  # the answer said the articles may not answer it directly
    confidence: float | None = None
    expected_dates: tuple[str, str] | None = None  # (first, after) its sources should be in
    gold_sources: tuple[str, ...] = ()  # the stories of its gold articles

    def to_dict(self) -> dict:
        return asdict(self)


def run(
    questions: Sequence[TestQuestion],
    answer_fn: Callable[[TestQuestion], Answer],
    rank_fn: Callable[[TestQuestion], Sequence[Hit]],
    relevant_fn: Callable[[TestQuestion], tuple[frozenset[str], int]],
    article_languages: dict[str, str],
    detect: Callable[[str], str],
    k: int,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
    expected_dates: Callable[[TestQuestion], tuple[str, str] | None] = lambda q: None,
    source_of: Callable[[str], str] = lambda doc_id: doc_id,
) -> list[QuestionResult]:
    """Answer and score every question.

    `answer_fn` answers a question (the real `answer()`, bound to settings
    and the question's date filter); `rank_fn` returns the 10-deep ranking;
    `relevant_fn` gives, per question, the chunk ids of the index that are
    relevant and how many there are; `detect` detects the language of an
    answer's text; `expected_dates` the (first, after) range a question's
    sources should lie in, if any; `source_of` an article's copy group (an
    article and its wire copies are one source).
    """
    results = []
    for q in progress(questions):
        started = time.perf_counter()
        result = answer_fn(q)
        total = time.perf_counter() - started
        ranking = rank_fn(q)
        relevant_ids, total_relevant = relevant_fn(q)
        retrieved = tuple(
            Retrieved(
                h.chunk_id,
                h.doc_id,
                h.language,
                h.chunk_id in relevant_ids,
                h.date,
                source_of(h.doc_id),
            )
            for h in ranking
        )
        timings = {stage: 1000 * s for stage, s in result.timings.items()}
        timings["total"] = 1000 * total
        cross = q.cross_lingual(article_languages) if q.gold_ids else None
        base = QuestionResult(
            id=q.id,
            question=q.question,
            language=q.language,
            answerable=q.answerable,
            cross_lingual=cross,
            answer=result.text,
            abstained=result.abstained,
            answer_language=detect(strip_markers(split_warning(result.text, result.warned)[1])),
            citations=tuple(
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "chunk_id": c.chunk_id,
                    "sentence": c.sentence,
                    "passage": c.passage,
                    "date": c.date,
                    "source": source_of(c.doc_id),
                }
                for c in result.citations
            ),
            contexts=tuple(h.text for h in result.hits),
            retrieved=retrieved,
            timings_ms=timings,
            generator=result.generator,
            claims_checked=len(result.claims),
            claims_supported=sum(1 for c in result.claims if c.supported),
            fallback=result.fallback,
            warned=result.warned,
            confidence=result.confidence,
            expected_dates=expected_dates(q),
            gold_sources=tuple(dict.fromkeys(source_of(g) for g in q.gold_ids)),
        )
        scores = score_question(q, base, k, total_relevant)
        results.append(_with_scores(base, scores, failure(q, base, scores, k)))
    return results


def distinct_relevant(
    ids: Iterable[str], chunk_docs: Mapping[str, str], story_of: Mapping[str, str]
) -> int:
    """How many relevant passages a ranking can hold: search shows a story
    from one of its articles, so a story counts with its copy that holds the
    most relevant passages, not with all of them (copies must not inflate,
    nor deflate, recall).

    >>> docs = {"a1": "a", "a2": "a", "b1": "b", "c1": "c"}
    >>> distinct_relevant(["a1", "a2", "b1", "c1"], docs, {"a": "a", "b": "a"})
    3
    """
    per_doc: dict[str, int] = {}
    for chunk_id in ids:
        doc = chunk_docs.get(chunk_id, chunk_id)
        per_doc[doc] = per_doc.get(doc, 0) + 1
    per_story: dict[str, int] = {}
    for doc, n in per_doc.items():
        story = story_of.get(doc, doc)
        per_story[story] = max(per_story.get(story, 0), n)
    return sum(per_story.values())


def _with_scores(result: QuestionResult, scores: dict, failed: str | None) -> QuestionResult:
    return replace(result, scores=scores, failure=failed)


def strip_markers(text: str) -> str:
    """Answer text without its [n] markers (for language detection).

    >>> strip_markers("Putin offered a loan [1]. Minsk agreed [2].")
    'Putin offered a loan. Minsk agreed.'
    """
    return re.sub(r"\s*\[\d+\]", "", text)


def score_question(
    q: TestQuestion, result: QuestionResult, k: int, total_relevant: int
) -> dict[str, float | None]:
    """Per-question metrics. Retrieval, answer and citation metrics are None
    for unanswerable questions (there is nothing to find)."""
    if not q.answerable:
        return {}
    return {**_answer_scores(q, result, k, total_relevant), **news_scores(result, k)}


def news_scores(result: QuestionResult, k: int) -> dict[str, float | None]:
    """Dates and sources: `in_range@k` and `cited_in_range`, the share of
    the top k passages and of the cited sentences whose article is dated in
    the range the question is filtered to or names (None without one), and
    `sources@k` / `cited_sources`, how many different sources (a story and
    its wire copies count once) the top k passages and the citations come
    from.

    >>> r = QuestionResult("q", "?", "en", True, None, "A [1].", False, "en",
    ...     ({"n": 1, "doc_id": "a", "date": "2020-09-14", "source": "a"},), (),
    ...     (Retrieved("c1", "a", "en", True, "2020-09-14", "a"),
    ...      Retrieved("c2", "b", "en", False, "2023", "a")), {},
    ...     expected_dates=("2020", "2021"))
    >>> news_scores(r, 2)
    {'in_range@2': 0.5, 'cited_in_range': 1.0, 'sources@2': 1.0, 'cited_sources': 1.0}
    """
    top = result.retrieved[:k]
    dates = result.expected_dates
    cited = [] if result.abstained else list(result.citations)

    def share(items, date_of) -> float | None:
        if dates is None or not items:
            return None
        return sum(in_range(date_of(i), dates) for i in items) / len(items)

    return {
        f"in_range@{k}": share(top, lambda r: r.date),
        "cited_in_range": share(cited, lambda c: c.get("date")),
        f"sources@{k}": float(len({r.source or r.doc_id for r in top})) if top else None,
        "cited_sources": float(len({c.get("source") or c["doc_id"] for c in cited}))
        if cited
        else None,
    }


def _answer_scores(
    q: TestQuestion, result: QuestionResult, k: int, total_relevant: int
) -> dict[str, float | None]:
    relevant = [r.relevant for r in result.retrieved]
    # stories, not articles: a wire copy of a gold article counts as it
    doc_ids = [r.source or r.doc_id for r in result.retrieved]
    top_docs = doc_ids[:k]  # the stories of the k passages a user sees
    gold = result.gold_sources or q.gold_ids
    answered = (
        "" if result.abstained else strip_markers(split_warning(result.answer, result.warned)[1])
    )
    sources = {
        c["n"]: metrics.CitedSource(c.get("source") or c["doc_id"], c["passage"], c["sentence"])
        for c in result.citations
    }
    claims = [
        metrics.CitedClaim(text, tuple(sources[n] for n in numbers if n in sources))
        for text, numbers in (
            [] if result.abstained else split_claims(split_warning(result.answer, result.warned)[1])
        )
    ]
    cited = metrics.citation_scores(claims, q.key_facts, gold)
    judged = total_relevant > 0  # without relevant passages, ranks say nothing
    return {
        f"passage_hit@{k}": metrics.success_at_k(relevant, k) if judged else None,
        f"passage_recall@{k}": metrics.recall_at_k(relevant, total_relevant, k),
        f"article_hit@{k}": float(any(d in gold for d in top_docs)),
        f"article_recall@{k}": metrics.article_recall(top_docs, gold),
        "mrr@10": metrics.mrr(relevant, RANKING_DEPTH) if judged else None,
        "ndcg@10": metrics.ndcg_at_k(relevant, RANKING_DEPTH, total_relevant) if judged else None,
        "key_fact": float(metrics.key_fact_match(answered, q.key_facts)) if q.key_facts else None,
        "token_f1": metrics.token_f1(answered, q.reference) if q.reference else None,
        "citation_precision": cited["precision"],
        "citation_recall": cited["recall"],
        "cited_gold_article": cited["gold_share"],
    }


def failure(
    q: TestQuestion, result: QuestionResult, scores: dict[str, float | None], k: int
) -> str | None:
    """What went wrong with one question, in the terms of `FAILURES`."""
    if q.answerable and result.abstained:
        return FAILURES[0]
    if not q.answerable:
        return None if result.abstained else FAILURES[1]
    if scores.get(f"passage_hit@{k}") == 0.0:  # None: nothing relevant to find
        return FAILURES[2]
    if q.key_facts and not scores.get("key_fact"):
        # The answer's passages are the top of the ranking, already labelled.
        relevant = {r.chunk_id for r in result.retrieved if r.relevant}
        cited = any(c.get("chunk_id") in relevant for c in result.citations)
        return FAILURES[4] if cited else FAILURES[3]
    return None


def subsets(result: QuestionResult) -> list[str]:
    """The report rows a question counts in."""
    rows = ["all", result.language]
    if result.cross_lingual is not None:
        rows.append("cross-lingual" if result.cross_lingual else "same-language")
    return rows


def summarize(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | int | None]]:
    """Every metric per subset ("all", each question language, "same-language",
    "cross-lingual"): means of the per-question scores, abstention precision,
    recall and false-abstention rate, the share of answers in the question's
    language, the share of unanswerable questions abstained on or warned
    about (`unanswerable_caught`) and of answerable ones warned about
    (`warned_answerable`), for a generator the share of its claims that its cited passages
    support (`claim_support`) and of answers it could not give itself
    (`fallback_rate`), and latency p50/p95 per stage (ms)."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        for name in subsets(r):
            groups.setdefault(name, []).append(r)
    order = ["all", *sorted(g for g in groups if g not in ("all", *SPECIAL)), *SPECIAL]
    summary = {}
    for name in [g for g in order if g in groups]:
        rows = groups[name]
        names = sorted({m for r in rows for m in r.scores}, key=_metric_order)
        row: dict[str, float | int | None] = {
            "questions": len(rows),
            "answerable": sum(r.answerable for r in rows),
        }
        for metric in names:
            row[metric] = metrics.mean_or_none(r.scores.get(metric) for r in rows)
        abst = metrics.abstention_scores([r.abstained for r in rows], [r.answerable for r in rows])
        row["abstention_precision"] = abst["precision"]
        row["abstention_recall"] = abst["recall"]
        row["false_abstention_rate"] = abst["false_abstention_rate"]
        unanswerable = [r for r in rows if not r.answerable]
        answerable = [r for r in rows if r.answerable]
        row["unanswerable_caught"] = (
            sum(r.abstained or r.warned for r in unanswerable) / len(unanswerable)
            if unanswerable
            else None
        )
        row["warned_answerable"] = (
            sum(r.warned for r in answerable) / len(answerable) if answerable else None
        )
        answered = [r for r in rows if not r.abstained]
        row["answer_language"] = metrics.language_match_rate(
            [r.answer_language for r in answered], [r.language for r in answered]
        )
        checked = sum(r.claims_checked for r in rows)
        row["claim_support"] = sum(r.claims_supported for r in rows) / checked if checked else None
        generated = [r for r in rows if r.generator != "extractive"]
        row["fallback_rate"] = (
            sum(r.fallback is not None for r in generated) / len(generated) if generated else None
        )
        for stage in STAGES:
            times = [r.timings_ms[stage] for r in rows if stage in r.timings_ms]
            lat = metrics.latency_summary(times)
            row[f"{stage}_p50_ms"] = lat["p50"]
            row[f"{stage}_p95_ms"] = lat["p95"]
        summary[name] = row
    return summary


SPECIAL = ("same-language", "cross-lingual")

_ORDER = (
    "passage_hit",
    "passage_recall",
    "article_hit",
    "article_recall",
    "mrr",
    "ndcg",
    "key_fact",
    "token_f1",
    "citation_precision",
    "citation_recall",
    "cited_gold_article",
    "in_range",
    "cited_in_range",
    "sources",
    "cited_sources",
)


def _metric_order(name: str) -> int:
    base = name.split("@")[0]
    return _ORDER.index(base) if base in _ORDER else len(_ORDER)


def label_problems(
    questions: Sequence[TestQuestion],
    article_ids: set[str],
    chunk_ids: set[str],
    phrase_matches: Mapping[str, frozenset[str]],
) -> list[str]:
    """Gold labels that cannot match anything in the index, as messages: a
    typo there would silently score 0 (or "–") instead of measuring.
    `phrase_matches` holds, per question id, the passages holding one of its
    key phrases.

    >>> q = TestQuestion("q1", "Q?", "en", gold_ids=("a", "zz"), key_phrases=("nope",))
    >>> label_problems([q], {"a"}, {"c1"}, {"q1": frozenset()})
    ["q1: gold article 'zz' is not in the index", "q1: no passage holds a key phrase ('nope')"]
    """
    problems = []
    for q in questions:
        for doc_id in q.gold_ids:
            if doc_id not in article_ids:
                problems.append(f"{q.id}: gold article {doc_id!r} is not in the index")
        for passage in q.gold_passages:
            if passage not in chunk_ids:
                problems.append(f"{q.id}: gold passage {passage!r} is not in the index")
        if q.key_phrases and not phrase_matches.get(q.id):
            shown = ", ".join(repr(p) for p in q.key_phrases)
            problems.append(f"{q.id}: no passage holds a key phrase ({shown})")
    return problems


def metric_names(k: int) -> list[str]:
    """Every metric a summary row can hold for passages@k (what `--fail-under`
    may name), in report order."""
    per_question = [
        f"passage_hit@{k}",
        f"passage_recall@{k}",
        f"article_hit@{k}",
        f"article_recall@{k}",
        f"mrr@{RANKING_DEPTH}",
        f"ndcg@{RANKING_DEPTH}",
        *_ORDER[6:11],
        f"in_range@{k}",
        "cited_in_range",
        f"sources@{k}",
        "cited_sources",
    ]
    summary_only = [
        "abstention_precision",
        "abstention_recall",
        "false_abstention_rate",
        "unanswerable_caught",
        "warned_answerable",
        "answer_language",
        "claim_support",
        "fallback_rate",
    ]
    latency = [f"{stage}_{p}_ms" for stage in STAGES for p in ("p50", "p95")]
    return per_question + summary_only + latency


def check_bars(
    summary: dict[str, dict[str, float | int | None]], bars: dict[str, float]
) -> list[str]:
    """The bars (metric -> value, on the "all" row) that the run misses, as
    messages. A bar is a floor, or a ceiling for `LOWER_IS_BETTER` metrics;
    an unknown metric or one with no value is a miss too.

    >>> check_bars({"all": {"key_fact": 0.5, "false_abstention_rate": 0.0}},
    ...            {"key_fact": 0.6, "false_abstention_rate": 0.05})
    ['key_fact = 0.500, below the bar 0.600']
    """
    row = summary.get("all", {})
    missed = []
    for metric, bar in bars.items():
        value = row.get(metric)
        if metric not in row:
            known = ", ".join(m for m in row if m not in ("questions", "answerable"))
            missed.append(f"{metric}: no such metric (known: {known})")
        elif value is None:
            missed.append(f"{metric}: not measured on this test set")
        elif metric in LOWER_IS_BETTER or metric.endswith("_ms"):
            if value > bar:
                missed.append(f"{metric} = {value:.3f}, above the ceiling {bar:.3f}")
        elif value < bar:
            missed.append(f"{metric} = {value:.3f}, below the bar {bar:.3f}")
    return missed
