"""Scoring an evaluation, hand-computed: fake answer/rank callables, no model, no index."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from rag.evaluation import scoring
from rag.evaluation.scoring import (
    FAILURES,
    QuestionResult,
    Retrieved,
    check_bars,
    failure,
    run,
    score_question,
    strip_markers,
    subsets,
    summarize,
)
from rag.evaluation.testset import TestQuestion
from rag.records import Answer, Citation, Hit

ARTICLE_LANGUAGES = {"a": "en", "b": "sv", "x": "nb"}


def _hit(chunk_id: str, doc_id: str = "a", text: str = "") -> Hit:
    text = text or f"passage {chunk_id}"
    return Hit(
        chunk_id=chunk_id,
        doc_id=doc_id,
        title=doc_id.upper(),
        language=ARTICLE_LANGUAGES.get(doc_id, "en"),
        date=None,
        text=text,
        start=0,
        end=len(text),
        score=1.0,
    )


def _citation(n: int, doc_id: str, sentence: str, passage: str = "") -> Citation:
    return Citation(
        n=n,
        doc_id=doc_id,
        title=doc_id.upper(),
        language=ARTICLE_LANGUAGES.get(doc_id, "en"),
        date=None,
        sentence=sentence,
        start=0,
        end=len(sentence),
        passage=passage or sentence,
        chunk_id=f"{doc_id}-c",
    )


def _answer(text: str, citations=(), hits=(), abstained: bool = False, timings=None) -> Answer:
    return Answer(
        question="q",
        search_query="q",
        text=text,
        citations=tuple(citations),
        hits=tuple(hits),
        abstained=abstained,
        question_language="en",
        timings=dict(timings or {}),
    )


def _question(**fields) -> TestQuestion:
    base = {"id": "q1", "question": "How many were detained?", "language": "en"}
    base.update(fields)
    return TestQuestion(**base)


def _retrieved(flags: list[bool], docs: list[str] | None = None) -> tuple[Retrieved, ...]:
    docs = docs or ["x"] * len(flags)
    return tuple(
        Retrieved(f"c{i}", d, ARTICLE_LANGUAGES[d], f)
        for i, (f, d) in enumerate(zip(flags, docs, strict=True))
    )


def _result(**fields) -> QuestionResult:
    base = {
        "id": "q1",
        "question": "How many were detained?",
        "language": "en",
        "answerable": True,
        "cross_lingual": False,
        "answer": "",
        "abstained": False,
        "answer_language": "en",
        "citations": (),
        "contexts": (),
        "retrieved": (),
        "timings_ms": {},
    }
    base.update(fields)
    return QuestionResult(**base)


# --- run ------------------------------------------------------------------------


def _fake_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace `time.perf_counter` as rag.evaluation.scoring sees it with a settable clock."""
    now = [0.0]
    monkeypatch.setattr(scoring.time, "perf_counter", lambda: now[0])
    return now


def test_run_scores_each_question_from_fake_callables(monkeypatch: pytest.MonkeyPatch) -> None:
    now = _fake_clock(monkeypatch)
    q = _question(gold_ids=("a",), key_phrases=("774",), key_facts=("774",))
    cited = _citation(1, "a", "Police detained 774 people.")
    hits = (_hit("c1", "a", "Police detained 774 people."), _hit("c2", "x"))

    def answer_fn(question: TestQuestion) -> Answer:
        assert question == q
        now[0] += 0.25  # the answer takes 250 ms on the fake clock
        return _answer(
            "Police detained 774 people [1].",
            [cited],
            hits,
            timings={"embed": 0.002, "retrieve": 0.003, "generate": 0.005},
        )

    detected = []

    def detect(text: str) -> str:
        detected.append(text)
        return "en"

    [result] = run(
        [q],
        answer_fn=answer_fn,
        rank_fn=lambda question: [_hit("c2", "x"), _hit("c1", "a"), _hit("c3", "x")],
        relevant_fn=lambda question: (frozenset({"c1", "c9"}), 2),
        article_languages=ARTICLE_LANGUAGES,
        detect=detect,
        k=2,
    )
    assert detected == ["Police detained 774 people."]  # markers stripped before detection
    assert [r.relevant for r in result.retrieved] == [False, True, False]
    assert result.retrieved[1] == Retrieved("c1", "a", "en", True, None, "a")
    assert result.timings_ms == pytest.approx(
        {"embed": 2.0, "retrieve": 3.0, "generate": 5.0, "total": 250.0}
    )
    assert result.citations == (
        {
            "n": 1,
            "doc_id": "a",
            "chunk_id": "a-c",
            "sentence": "Police detained 774 people.",
            "passage": "Police detained 774 people.",
            "date": None,
            "source": "a",
        },
    )
    assert result.contexts == ("Police detained 774 people.", "passage c2")
    assert result.cross_lingual is False  # gold article "a" is English, like the question
    assert result.scores["passage_hit@2"] == 1.0
    assert result.scores["passage_recall@2"] == 0.5  # 1 of the 2 relevant passages
    assert result.scores["mrr@10"] == 0.5
    assert result.scores["key_fact"] == 1.0
    assert result.failure is None


def test_run_flags_abstention_and_cross_lingual_questions() -> None:
    questions = [
        _question(id="q1", language="sv", gold_ids=("a",), key_phrases=("774",)),
        _question(id="q2", language="sv", answerable=False),
    ]
    results = run(
        questions,
        answer_fn=lambda question: _answer("Det vet jag inte.", abstained=True),
        rank_fn=lambda question: [_hit("c1", "a")],
        relevant_fn=lambda question: (frozenset({"c1"}), 1),
        article_languages=ARTICLE_LANGUAGES,
        detect=lambda text: "sv",
        k=3,
    )
    assert [r.id for r in results] == ["q1", "q2"]
    assert [r.cross_lingual for r in results] == [True, None]  # q2 has no gold article
    assert [r.failure for r in results] == [FAILURES[0], None]
    assert results[1].scores == {}


def test_run_passes_questions_through_progress() -> None:
    seen = []

    def progress(items):
        for item in items:
            seen.append(item.id)
            yield item

    results = run(
        [_question(id="q1", answerable=False), _question(id="q2", answerable=False)],
        answer_fn=lambda question: _answer("No.", abstained=True),
        rank_fn=lambda question: [],
        relevant_fn=lambda question: (frozenset(), 0),
        article_languages={},
        detect=lambda text: "en",
        k=3,
        progress=progress,
    )
    assert seen == ["q1", "q2"]
    assert len(results) == 2


# --- strip_markers --------------------------------------------------------------


def test_strip_markers_removes_markers_and_the_space_before() -> None:
    assert strip_markers("Minsk agreed [1][12]. Putin paid [3].") == "Minsk agreed. Putin paid."


def test_strip_markers_keeps_brackets_that_are_not_markers() -> None:
    assert strip_markers("See [a] and [1a] and [ 2 ].") == "See [a] and [1a] and [ 2 ]."


# --- score_question ---------------------------------------------------------------

# Relevant at ranks 2 and 4 of ten; 4 relevant passages exist in the index.
FLAGS = [False, True, False, True] + [False] * 6
DOCS = ["x", "a", "x", "b"] + ["x"] * 6


def _scores(k: int = 3, total: int = 4) -> dict:
    q = _question(gold_ids=("a", "b"), key_phrases=("774",))
    return score_question(q, _result(retrieved=_retrieved(FLAGS, DOCS)), k, total)


def test_score_question_passage_hit_and_recall_at_k() -> None:
    scores = _scores(k=3, total=4)
    assert scores["passage_hit@3"] == 1.0
    assert scores["passage_recall@3"] == 0.25  # 1 relevant in the top 3, of 4 in the index


def test_score_question_passage_hit_misses_beyond_k() -> None:
    scores = _scores(k=1, total=4)
    assert scores["passage_hit@1"] == 0.0
    assert scores["passage_recall@1"] == 0.0


def test_score_question_article_hit_and_recall_over_top_k_passages() -> None:
    scores = _scores(k=3)
    assert scores["article_hit@3"] == 1.0  # "a" at rank 2
    assert scores["article_recall@3"] == 0.5  # "b" only at rank 4
    assert _scores(k=4)["article_recall@4"] == 1.0
    assert _scores(k=1)["article_hit@1"] == 0.0


def test_score_question_mrr_and_ndcg_look_ten_deep_whatever_k() -> None:
    scores = _scores(k=1, total=4)
    assert scores["mrr@10"] == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5)  # 4 relevant exist
    assert scores["ndcg@10"] == pytest.approx(dcg / ideal)


def test_score_question_ndcg_ideal_uses_total_relevant_not_ranking() -> None:
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert _scores(total=2)["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert _scores(total=6)["ndcg@10"] < _scores(total=2)["ndcg@10"]


def test_score_question_key_fact_matches_answer() -> None:
    q = _question(gold_ids=("a",), key_facts=("774 people",))
    hit = score_question(q, _result(answer="Police held 774  People."), 3, 0)
    miss = score_question(q, _result(answer="Police held many."), 3, 0)
    assert hit["key_fact"] == 1.0
    assert miss["key_fact"] == 0.0


def test_score_question_abstained_answer_scores_as_empty() -> None:
    q = _question(gold_ids=("a",), key_facts=("774",), reference="774 people")
    scores = score_question(q, _result(answer="774? I cannot say.", abstained=True), 3, 0)
    assert scores["key_fact"] == 0.0
    assert scores["token_f1"] == 0.0


def test_score_question_key_fact_none_without_key_facts() -> None:
    scores = score_question(_question(gold_ids=("a",)), _result(answer="774"), 3, 0)
    assert scores["key_fact"] is None


def test_score_question_token_f1_only_with_a_reference() -> None:
    q = _question(gold_ids=("a",), reference="774 people were detained")
    answer = "Police detained 774 people"
    assert score_question(q, _result(answer=answer), 3, 0)["token_f1"] == pytest.approx(0.75)
    no_ref = score_question(replace(q, reference=""), _result(answer=answer), 3, 0)
    assert no_ref["token_f1"] is None


def test_score_question_citation_metrics() -> None:
    q = _question(gold_ids=("a",), key_facts=("774",))
    citations = (
        {"n": 1, "doc_id": "a", "sentence": "Police held 774.", "passage": "p"},
        {"n": 2, "doc_id": "x", "sentence": "It rained.", "passage": "p"},
    )
    answer = "Police held 774. [1] It rained. [2]"
    scores = score_question(q, _result(answer=answer, citations=citations), 3, 0)
    assert scores["citation_precision"] == 1.0  # the one judged claim's citation supports it
    assert scores["citation_recall"] == 1.0
    assert scores["cited_gold_article"] == 0.5  # one of the two citations points to "a"


def test_score_question_citation_metrics_none_without_citations() -> None:
    scores = score_question(_question(gold_ids=("a",), key_facts=("774",)), _result(), 3, 0)
    assert scores["citation_precision"] is None
    assert scores["citation_recall"] is None
    assert scores["cited_gold_article"] is None


def test_score_question_unanswerable_has_no_scores() -> None:
    q = _question(answerable=False, key_facts=("774",))
    assert score_question(q, _result(answerable=False, answer="774"), 3, 0) == {}


def test_score_question_recall_none_when_nothing_relevant_exists() -> None:
    q = _question(gold_ids=("a",))
    scores = score_question(q, _result(retrieved=_retrieved([False, False])), 3, 0)
    assert scores["passage_recall@3"] is None


def test_score_question_ranking_metrics_none_when_nothing_relevant_exists() -> None:
    q = _question(gold_ids=("a",))
    scores = score_question(q, _result(retrieved=_retrieved([False, False])), 3, 0)
    assert scores["ndcg@10"] is None
    assert scores["mrr@10"] is None
    assert scores["passage_hit@3"] is None


def test_score_question_token_f1_ignores_citation_markers() -> None:
    q = _question(gold_ids=("a",), reference="774 people were detained")
    scores = score_question(q, _result(answer="Police detained 774 people [1]."), 3, 0)
    assert scores["token_f1"] == pytest.approx(0.75)


def test_score_question_key_fact_ignores_citation_markers() -> None:
    q = _question(gold_ids=("a",), key_facts=("2",))
    scores = score_question(q, _result(answer="Minsk agreed [2]."), 3, 0)
    assert scores["key_fact"] == 0.0


def test_score_question_citation_precision_catches_unsupported_claim() -> None:
    q = _question(gold_ids=("a",), key_facts=("774",))
    citations = ({"n": 1, "doc_id": "a", "sentence": "It rained in Minsk.", "passage": "p"},)
    result = _result(answer="Police detained 774 people [1].", citations=citations)
    scores = score_question(q, result, 3, 0)
    assert scores["citation_precision"] == 0.0


# --- failure ----------------------------------------------------------------------


def _failure(q: TestQuestion, k: int = 3, **fields) -> str | None:
    result = _result(answerable=q.answerable, **fields)
    return failure(q, result, score_question(q, result, k, 1), k)


def test_failure_abstained_on_answerable() -> None:
    q = _question(gold_ids=("a",), key_phrases=("774",), key_facts=("774",))
    assert _failure(q, abstained=True, retrieved=_retrieved([True])) == FAILURES[0]


def test_failure_answered_unanswerable() -> None:
    q = _question(answerable=False)
    assert _failure(q, abstained=False, answer="Probably 774.") == FAILURES[1]


def test_failure_none_when_unanswerable_abstained() -> None:
    assert _failure(_question(answerable=False), abstained=True) is None


def test_failure_not_retrieved() -> None:
    q = _question(gold_ids=("a",), key_phrases=("774",), key_facts=("774",))
    retrieved = _retrieved([False, False, False, True])  # relevant only at rank 4
    assert _failure(q, k=3, retrieved=retrieved, answer="774") == FAILURES[2]


def test_failure_retrieved_but_not_cited() -> None:
    q = _question(gold_ids=("a",), key_phrases=("774",), key_facts=("774",))
    assert _failure(q, retrieved=_retrieved([True]), answer="Nobody knows.") == FAILURES[3]


def test_failure_cited_a_relevant_passage_but_missed_the_key_fact() -> None:
    """The answer cites the passage that holds the fact, but quotes another of
    its sentences: a selection problem, not a citation one."""
    q = _question(gold_ids=("a",), key_phrases=("detained 774",), key_facts=("774",))
    passage = "Police said they detained 774 people. More than 100,000 marched."
    cite = {"n": 1, "doc_id": "a", "chunk_id": "c0", "sentence": "More than 100,000 marched."}
    # c0 is labelled relevant in the ranking, c1 is not.
    fields = {"retrieved": _retrieved([True, False]), "answer": "More than 100,000 marched. [1]"}
    assert _failure(q, citations=({**cite, "passage": passage},), **fields) == FAILURES[4]
    other = {**cite, "chunk_id": "c1", "passage": "More than 100,000 marched."}
    assert _failure(q, citations=(other,), **fields) == FAILURES[3]
    # Relevance is the ranking's label (key phrase or gold passage), not the text.
    by_id = {**cite, "passage": "More than 100,000 marched."}
    assert _failure(q, citations=(by_id,), **fields) == FAILURES[4]


def test_failure_none_when_retrieved_and_stated() -> None:
    q = _question(gold_ids=("a",), key_phrases=("774",), key_facts=("774",))
    assert _failure(q, retrieved=_retrieved([True]), answer="774 were held.") is None


def test_failure_without_key_phrases_or_facts_is_none() -> None:
    q = _question(gold_ids=("a",))
    result = _result(retrieved=_retrieved([False]), answer="Something.")
    assert failure(q, result, score_question(q, result, 3, 0), 3) is None  # nothing to find


def test_failure_not_retrieved_for_gold_passages_only() -> None:
    q = _question(gold_ids=("a",), gold_passages=("c9",), key_facts=("774",))
    assert _failure(q, retrieved=_retrieved([False]), answer="Nobody knows.") == FAILURES[2]


# --- subsets ----------------------------------------------------------------------


def test_subsets_same_language() -> None:
    assert subsets(_result(language="sv", cross_lingual=False)) == ["all", "sv", "same-language"]


def test_subsets_cross_lingual() -> None:
    assert subsets(_result(language="nb", cross_lingual=True)) == ["all", "nb", "cross-lingual"]


def test_subsets_unknown_crossing_counts_in_all_and_language_only() -> None:
    assert subsets(_result(language="en", cross_lingual=None)) == ["all", "en"]


# --- summarize --------------------------------------------------------------------


def test_summarize_rows_all_languages_then_same_and_cross() -> None:
    results = [
        _result(id="1", language="sv", cross_lingual=True),
        _result(id="2", language="en", cross_lingual=False),
        _result(id="3", language="sv", cross_lingual=None, answerable=False),
    ]
    summary = summarize(results)
    assert list(summary) == ["all", "en", "sv", "same-language", "cross-lingual"]
    assert [summary[s]["questions"] for s in summary] == [3, 1, 2, 1, 1]
    assert summary["sv"]["answerable"] == 1


def test_summarize_omits_subsets_without_questions() -> None:
    summary = summarize([_result(language="en", cross_lingual=None)])
    assert list(summary) == ["all", "en"]


def test_summarize_means_per_subset() -> None:
    results = [
        _result(id="1", language="en", scores={"key_fact": 1.0}),
        _result(id="2", language="sv", scores={"key_fact": 0.0}),
        _result(id="3", language="sv", scores={"key_fact": 1.0}),
    ]
    summary = summarize(results)
    assert summary["all"]["key_fact"] == pytest.approx(2 / 3)
    assert summary["en"]["key_fact"] == 1.0
    assert summary["sv"]["key_fact"] == 0.5


def test_summarize_unanswerable_does_not_drag_retrieval_means_down() -> None:
    results = [
        _result(id="1", scores={"passage_hit@3": 1.0, "key_fact": 1.0}),
        _result(id="2", answerable=False, abstained=True),  # scores == {}
    ]
    row = summarize(results)["all"]
    assert row["passage_hit@3"] == 1.0
    assert row["key_fact"] == 1.0


def test_summarize_none_scores_are_skipped_not_zero() -> None:
    results = [
        _result(id="1", scores={"token_f1": 0.5}),
        _result(id="2", scores={"token_f1": None}),
    ]
    assert summarize(results)["all"]["token_f1"] == 0.5


def test_summarize_metric_all_none_is_none() -> None:
    assert summarize([_result(scores={"token_f1": None})])["all"]["token_f1"] is None


def test_summarize_unanswerable_only_has_no_retrieval_metrics() -> None:
    row = summarize([_result(answerable=False, abstained=True)])["all"]
    assert not any(m.startswith(("passage_", "article_", "mrr", "ndcg")) for m in row)
    assert "key_fact" not in row
    assert row["abstention_recall"] == 1.0


def test_summarize_orders_metrics_canonically() -> None:
    scores = {"citation_recall": 1.0, "key_fact": 1.0, "mrr@10": 1.0, "passage_hit@3": 1.0}
    row = summarize([_result(scores=scores)])["all"]
    assert list(row)[:6] == [
        "questions",
        "answerable",
        "passage_hit@3",
        "mrr@10",
        "key_fact",
        "citation_recall",
    ]


def test_summarize_abstention_precision_recall_false_rate() -> None:
    results = [
        _result(id="1", answerable=True, abstained=True),
        _result(id="2", answerable=True, abstained=False),
        _result(id="3", answerable=True, abstained=False),
        _result(id="4", answerable=False, abstained=True),
        _result(id="5", answerable=False, abstained=True),
    ]
    row = summarize(results)["all"]
    assert row["abstention_precision"] == pytest.approx(2 / 3)  # 2 of 3 abstentions right
    assert row["abstention_recall"] == 1.0  # both unanswerable abstained on
    assert row["false_abstention_rate"] == pytest.approx(1 / 3)  # 1 of 3 answerable


def test_summarize_abstention_none_without_unanswerable_or_abstentions() -> None:
    row = summarize([_result(answerable=True, abstained=False)])["all"]
    assert row["abstention_precision"] is None
    assert row["abstention_recall"] is None
    assert row["false_abstention_rate"] == 0.0


def test_summarize_answer_language_counts_only_answered() -> None:
    results = [
        _result(id="1", language="sv", answer_language="sv"),
        _result(id="2", language="sv", answer_language="en"),
        _result(id="3", language="sv", answer_language="und", abstained=True),
    ]
    assert summarize(results)["all"]["answer_language"] == 0.5  # not 1/3


def test_summarize_answer_language_none_when_all_abstained() -> None:
    row = summarize([_result(abstained=True, answer_language="en")])["all"]
    assert row["answer_language"] is None


def test_summarize_latency_p50_p95_per_stage() -> None:
    totals = [30.0, 10.0, 100.0, 20.0, 40.0]
    results = [
        _result(id=str(i), timings_ms={"total": t, **({"embed": 5.0} if i == 0 else {})})
        for i, t in enumerate(totals)
    ]
    row = summarize(results)["all"]
    assert row["total_p50_ms"] == 30.0
    assert row["total_p95_ms"] == pytest.approx(88.0)  # 40 + 0.8 * (100 - 40)
    assert row["embed_p50_ms"] == 5.0  # only the question that timed it
    assert row["generate_p50_ms"] is None
    assert row["generate_p95_ms"] is None


# --- check_bars -------------------------------------------------------------------

SUMMARY = {
    "all": {
        "questions": 10,
        "answerable": 8,
        "key_fact": 0.5,
        "token_f1": None,
        "false_abstention_rate": 0.1,
        "total_p50_ms": 120.0,
    }
}


def test_check_bars_floor_missed() -> None:
    assert check_bars(SUMMARY, {"key_fact": 0.6}) == ["key_fact = 0.500, below the bar 0.600"]


def test_check_bars_floor_met_at_equality() -> None:
    assert check_bars(SUMMARY, {"key_fact": 0.5}) == []


def test_check_bars_ceiling_for_false_abstention_rate() -> None:
    assert check_bars(SUMMARY, {"false_abstention_rate": 0.05}) == [
        "false_abstention_rate = 0.100, above the ceiling 0.050"
    ]
    assert check_bars(SUMMARY, {"false_abstention_rate": 0.2}) == []


def test_check_bars_ceiling_met_at_equality() -> None:
    assert check_bars(SUMMARY, {"false_abstention_rate": 0.1, "total_p50_ms": 120.0}) == []


def test_check_bars_ceiling_for_latency() -> None:
    assert check_bars(SUMMARY, {"total_p50_ms": 100}) == [
        "total_p50_ms = 120.000, above the ceiling 100.000"
    ]
    assert check_bars(SUMMARY, {"total_p50_ms": 150}) == []


def test_check_bars_unknown_metric_lists_known_ones() -> None:
    [message] = check_bars(SUMMARY, {"key_facts": 0.5})
    assert message.startswith("key_facts: no such metric (known: key_fact, token_f1")
    assert "questions" not in message


def test_check_bars_none_value_is_a_miss() -> None:
    assert check_bars(SUMMARY, {"token_f1": 0.1}) == ["token_f1: not measured on this test set"]


def test_check_bars_reports_every_miss_in_order() -> None:
    missed = check_bars(SUMMARY, {"token_f1": 0.1, "key_fact": 0.9, "total_p50_ms": 200})
    assert [m.split()[0] for m in missed] == ["token_f1:", "key_fact"]


def test_metric_names_cover_every_summary_metric() -> None:
    """`--fail-under` is checked against `metric_names` before a run: it must
    know every metric a summary can hold."""
    q = _question(gold_ids=("a",), key_phrases=("774",), key_facts=("774",), reference="774")
    result = _result(
        retrieved=_retrieved([True]),
        answer="774 [1]",
        timings_ms=dict.fromkeys(scoring.STAGES, 1.0),
    )
    result = replace(result, scores=score_question(q, result, 3, 1))
    row = summarize([result])["all"]
    names = set(scoring.metric_names(3))
    assert set(row) - {"questions", "answerable"} <= names
    assert "passage_hit@3" in names and "passage_hit@5" not in names
