"""Evaluation metrics, hand-computed; ranked metrics cross-checked against ir-measures."""

from __future__ import annotations

import math
import random

import ir_measures
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ir_measures import RR, Qrel, R, ScoredDoc, Success, nDCG

from rag.evaluation.metrics import (
    CitedClaim,
    CitedSource,
    abstention_scores,
    answer_tokens,
    article_ranking,
    article_recall,
    article_recall_at_k,
    article_relevance,
    citation_scores,
    citation_supports,
    first_relevant_rank,
    hit_at_k,
    key_fact_match,
    key_fact_share,
    language_match_rate,
    latency_summary,
    mean_or_none,
    mrr,
    ndcg_at_k,
    percentile,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    relevance_labels,
    success_at_k,
    token_f1,
)

PASSAGES = ["Putin met Lukashenko.", "Police detained 774 people.", "The  EU\nIMPOSED sanctions."]


def test_first_relevant_rank_finds_first_match() -> None:
    assert first_relevant_rank(PASSAGES, ["774 people"]) == 2


def test_first_relevant_rank_ignores_case_and_whitespace() -> None:
    assert first_relevant_rank(PASSAGES, ["eu imposed   SANCTIONS"]) == 3


def test_first_relevant_rank_any_phrase_counts() -> None:
    assert first_relevant_rank(PASSAGES, ["nowhere", "met lukashenko"]) == 1


def test_first_relevant_rank_no_match_is_none() -> None:
    assert first_relevant_rank(PASSAGES, ["Sochi"]) is None


def test_first_relevant_rank_empty_inputs_are_none() -> None:
    assert first_relevant_rank([], ["Putin"]) is None
    assert first_relevant_rank(PASSAGES, []) is None


def test_blank_key_phrase_matches_nothing() -> None:
    assert first_relevant_rank(PASSAGES, ["", "   "]) is None


def test_hit_at_k_boundary() -> None:
    assert hit_at_k(PASSAGES, ["sanctions"], k=3) is True
    assert hit_at_k(PASSAGES, ["sanctions"], k=2) is False


def test_hit_at_k_no_match_or_empty() -> None:
    assert hit_at_k(PASSAGES, ["Sochi"], k=10) is False
    assert hit_at_k([], ["Putin"], k=10) is False


def test_reciprocal_rank_values() -> None:
    assert reciprocal_rank(PASSAGES, ["Putin"]) == 1.0
    assert reciprocal_rank(PASSAGES, ["774"]) == 0.5
    assert reciprocal_rank(PASSAGES, ["sanctions"]) == pytest.approx(1 / 3)


def test_reciprocal_rank_no_match_or_empty_is_zero() -> None:
    assert reciprocal_rank(PASSAGES, ["Sochi"]) == 0.0
    assert reciprocal_rank([], ["Putin"]) == 0.0


def test_article_recall_counts_distinct_gold() -> None:
    assert article_recall(["a", "a", "c"], ["a", "b"]) == 0.5


def test_article_recall_duplicate_gold_counted_once() -> None:
    assert article_recall(["a"], ["a", "a", "b"]) == 0.5


def test_article_recall_all_found() -> None:
    assert article_recall(["b", "x", "a"], ["a", "b"]) == 1.0


def test_article_recall_empty_inputs() -> None:
    assert article_recall([], ["a"]) == 0.0
    assert article_recall(["a"], []) == 0.0
    assert article_recall([], []) == 0.0


# --- relevance labels ---------------------------------------------------------


def test_relevance_labels_match_like_first_relevant_rank() -> None:
    assert relevance_labels(PASSAGES, ["eu imposed   SANCTIONS", "putin"]) == [True, False, True]


def test_relevance_labels_empty_and_blank() -> None:
    assert relevance_labels([], ["Putin"]) == []
    assert relevance_labels(PASSAGES, []) == [False, False, False]
    assert relevance_labels(PASSAGES, ["  "]) == [False, False, False]


@given(
    st.lists(st.text(alphabet="abAB \n", max_size=8), max_size=6),
    st.lists(st.text(alphabet="abAB \n", max_size=3), max_size=3),
)
def test_relevance_labels_agree_with_first_relevant_rank(
    passages: list[str], phrases: list[str]
) -> None:
    labels = relevance_labels(passages, phrases)
    expected = labels.index(True) + 1 if True in labels else None
    assert first_relevant_rank(passages, phrases) == expected


def test_article_ranking_dedupes_by_first_appearance() -> None:
    assert article_ranking(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert article_ranking([]) == []


def test_article_relevance_labels_deduplicated_ranking() -> None:
    # ranking b, a, c; gold {c, b}
    assert article_relevance(["b", "a", "b", "c"], ["c", "b"]) == [True, False, True]
    assert article_relevance(["a", "a"], []) == [False]


# --- ranked metrics -------------------------------------------------------------

FLAGS = [False, True, False, True, True]  # relevant at ranks 2, 4, 5


def test_success_at_k() -> None:
    assert success_at_k(FLAGS, 1) == 0.0
    assert success_at_k(FLAGS, 2) == 1.0
    assert success_at_k(FLAGS, 50) == 1.0  # k beyond the list
    assert success_at_k([], 3) == 0.0
    assert success_at_k([False, False], 3) == 0.0


def test_precision_at_k() -> None:
    assert precision_at_k(FLAGS, 4) == 0.5  # ranks 2, 4 -> 2 / 4
    assert precision_at_k(FLAGS, 10) == 0.3  # 3 relevant / k=10 (short list padded)
    assert precision_at_k([], 2) == 0.0


def test_recall_at_k() -> None:
    assert recall_at_k(FLAGS, total_relevant=4, k=4) == 0.5  # ranks 2, 4 -> 2 / 4
    assert recall_at_k(FLAGS, total_relevant=3, k=100) == 1.0  # k beyond the list
    assert recall_at_k([], total_relevant=2, k=5) == 0.0


def test_recall_at_k_nothing_relevant_is_none() -> None:
    assert recall_at_k([False, False], total_relevant=0, k=5) is None
    assert recall_at_k([], total_relevant=0, k=5) is None


def test_recall_at_k_total_below_found_is_an_error() -> None:
    with pytest.raises(ValueError, match="total_relevant"):
        recall_at_k(FLAGS, total_relevant=2, k=5)


@pytest.mark.parametrize("k", [0, -1])
def test_cutoff_must_be_positive(k: int) -> None:
    for call in (
        lambda: success_at_k(FLAGS, k),
        lambda: precision_at_k(FLAGS, k),
        lambda: recall_at_k(FLAGS, 3, k),
        lambda: mrr(FLAGS, k),
        lambda: ndcg_at_k(FLAGS, k),
    ):
        with pytest.raises(ValueError, match="k must be"):
            call()


def test_article_recall_at_k_counts_article_ranks() -> None:
    doc_ids = ["a", "a", "c", "b"]  # article ranking a, c, b
    assert article_recall_at_k(doc_ids, ["b", "a"], k=1) == 0.5  # a of {a, b}
    assert article_recall_at_k(doc_ids, ["b", "a"], k=2) == 0.5  # a, c
    assert article_recall_at_k(doc_ids, ["b", "a"], k=3) == 1.0  # a, c, b
    assert article_recall_at_k(doc_ids, ["b", "b", "z"], k=10) == 0.5  # b of {b, z}


def test_article_recall_at_k_without_gold_is_none() -> None:
    assert article_recall_at_k(["a"], [], k=5) is None
    assert article_recall_at_k([], ["a"], k=5) == 0.0


def test_mrr() -> None:
    assert mrr(FLAGS) == 0.5  # first relevant at rank 2
    assert mrr(FLAGS, k=2) == 0.5
    assert mrr(FLAGS, k=1) == 0.0  # cut off before rank 2
    assert mrr([True]) == 1.0
    assert mrr([False, False, False]) == 0.0
    assert mrr([]) == 0.0
    assert mrr(FLAGS, k=100) == 0.5


def test_ndcg_at_k_ideal_from_ranking() -> None:
    # DCG = 1/log2(3) + 1/log2(5) + 1/log2(6) = 0.63093 + 0.43068 + 0.38685 = 1.44846
    # IDCG (3 relevant) = 1 + 1/log2(3) + 1/log2(4) = 1 + 0.63093 + 0.5 = 2.13093
    dcg = 1 / math.log2(3) + 1 / math.log2(5) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(FLAGS) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(FLAGS) == pytest.approx(0.67974, abs=1e-5)


def test_ndcg_at_k_with_ideal_count() -> None:
    # 5 relevant in the collection: IDCG adds 1/log2(5) + 1/log2(6) to the above = 2.94846
    dcg = 1 / math.log2(3) + 1 / math.log2(5) + 1 / math.log2(6)
    idcg = sum(1 / math.log2(i + 1) for i in range(1, 6))
    assert ndcg_at_k(FLAGS, ideal_count=5) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(FLAGS, ideal_count=5) == pytest.approx(0.49126, abs=1e-5)


def test_ndcg_at_k_cutoff() -> None:
    # k=2: DCG = 1/log2(3) = 0.63093; ideal top 2 of 3 = 1 + 0.63093 = 1.63093 -> 0.38685
    assert ndcg_at_k(FLAGS, k=2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # a relevant item beyond k still counts for the ideal: DCG@1 = 0, so 0
    assert ndcg_at_k([False, True], k=1) == 0.0


def test_ndcg_at_k_ideal_truncated_at_k() -> None:
    # 12 relevant in the collection, all top 10 relevant -> perfect
    assert ndcg_at_k([True] * 10, k=10, ideal_count=12) == pytest.approx(1.0)
    assert ndcg_at_k([True] * 3, k=10) == pytest.approx(1.0)


def test_ndcg_at_k_no_relevant() -> None:
    assert ndcg_at_k([False, False]) == 0.0  # a miss, ideal unknown
    assert ndcg_at_k([]) == 0.0
    assert ndcg_at_k([False, False], ideal_count=2) == 0.0
    assert ndcg_at_k([False, False], ideal_count=0) is None  # nothing relevant exists


def test_ndcg_at_k_ideal_count_below_found_is_an_error() -> None:
    with pytest.raises(ValueError, match="ideal_count"):
        ndcg_at_k(FLAGS, ideal_count=2)


# --- cross-check against ir-measures -------------------------------------------


def _synthetic_queries() -> list[tuple[str, list[str], set[str]]]:
    """(query id, ranked doc ids, relevant doc ids): hand-picked edge cases and
    seeded random ones; every query has at least one relevant document."""
    docs = [f"d{i}" for i in range(40)]
    queries = [
        ("short", ["d2", "d1", "d3"], {"d1", "d3", "d9"}),  # a relevant doc not retrieved
        ("late", docs[:12], {"d11"}),  # first relevant beyond 10
        ("many", docs[:15], set(docs[:5]) | set(docs[6:13])),  # 12 relevant, ideal cut at 10
        ("miss", docs[:8], {"d30"}),  # nothing relevant retrieved
        ("single", ["d0"], {"d0"}),
    ]
    rng = random.Random(1234)
    for i in range(60):
        ranking = rng.sample(docs, rng.randint(1, 25))
        relevant = set(rng.sample(docs, rng.randint(1, 10)))
        queries.append((f"r{i}", ranking, relevant))
    return queries


def _qrels_and_run(queries: list[tuple[str, list[str], set[str]]]) -> tuple[list, list]:
    qrels, run = [], []
    for qid, ranking, relevant in queries:
        qrels += [Qrel(qid, d, 1) for d in sorted(relevant)]
        # a judged non-relevant document (relevance 0) must not count
        qrels += [Qrel(qid, d, 0) for d in ranking[:2] if d not in relevant]
        # strictly decreasing scores: no ties for trec_eval to break
        run += [ScoredDoc(qid, d, float(len(ranking) - i)) for i, d in enumerate(ranking)]
    return qrels, run


def _by_query(results) -> dict[tuple[str, str], float]:
    return {(str(m.measure), m.query_id): m.value for m in results}


def test_ranked_metrics_equal_ir_measures() -> None:
    queries = _synthetic_queries()
    qrels, run = _qrels_and_run(queries)
    measures = [RR, nDCG @ 10, nDCG @ 3, R @ 5, R @ 10, ir_measures.P @ 5, Success @ 3]
    theirs = _by_query(ir_measures.pytrec_eval.iter_calc(measures, qrels, run))
    # pytrec_eval has no RR@k; msmarco's evaluator does
    theirs.update(_by_query(ir_measures.msmarco.iter_calc([RR @ 5], qrels, run)))
    assert len(theirs) == 8 * len(queries)  # every measure for every query
    for qid, ranking, relevant in queries:
        flags = [d in relevant for d in ranking]
        n = len(relevant)
        ours = {
            "RR": mrr(flags),
            "RR@5": mrr(flags, k=5),
            "nDCG@10": ndcg_at_k(flags, k=10, ideal_count=n),
            "nDCG@3": ndcg_at_k(flags, k=3, ideal_count=n),
            "R@5": recall_at_k(flags, n, k=5),
            "R@10": recall_at_k(flags, n, k=10),
            "P@5": precision_at_k(flags, 5),
            "Success@3": success_at_k(flags, 3),
        }
        for name, value in ours.items():
            assert value == pytest.approx(theirs[name, qid], abs=1e-9), (name, qid)


def test_aggregates_equal_ir_measures() -> None:
    queries = _synthetic_queries()
    qrels, run = _qrels_and_run(queries)
    theirs = ir_measures.pytrec_eval.calc_aggregate([RR, nDCG @ 10, R @ 5], qrels, run)
    flags = [([d in rel for d in ranking], len(rel)) for _, ranking, rel in queries]
    assert mean_or_none(mrr(f) for f, _ in flags) == pytest.approx(theirs[RR], abs=1e-9)
    assert mean_or_none(ndcg_at_k(f, 10, n) for f, n in flags) == pytest.approx(
        theirs[nDCG @ 10], abs=1e-9
    )
    assert mean_or_none(recall_at_k(f, n, 5) for f, n in flags) == pytest.approx(
        theirs[R @ 5], abs=1e-9
    )


def test_article_metrics_equal_ir_measures_on_deduplicated_ranking() -> None:
    # passages from articles, repeats included; gold articles a, c, e
    passage_docs = ["b", "a", "b", "d", "a", "f", "c", "g", "b", "h"]
    gold = ["a", "c", "e"]
    articles = article_ranking(passage_docs)  # b, a, d, f, c, g, h
    assert articles == ["b", "a", "d", "f", "c", "g", "h"]
    qrels = [Qrel("q", g, 1) for g in gold]
    run = [ScoredDoc("q", d, float(len(articles) - i)) for i, d in enumerate(articles)]
    theirs = _by_query(ir_measures.pytrec_eval.iter_calc([R @ 3, R @ 5, nDCG @ 10], qrels, run))
    flags = article_relevance(passage_docs, gold)
    # R@3: a of {a, c, e} = 1/3; R@5: a, c = 2/3
    assert article_recall_at_k(passage_docs, gold, 3) == pytest.approx(1 / 3)
    assert article_recall_at_k(passage_docs, gold, 3) == pytest.approx(theirs["R@3", "q"])
    assert article_recall_at_k(passage_docs, gold, 5) == pytest.approx(theirs["R@5", "q"])
    assert ndcg_at_k(flags, 10, len(gold)) == pytest.approx(theirs["nDCG@10", "q"], abs=1e-9)


# --- answers --------------------------------------------------------------------


def test_key_fact_match_folds_case_space_quotes_and_nfkc() -> None:
    assert key_fact_match("Police detained\n774  PEOPLE.", ["774 people"])
    assert key_fact_match("Lukasjenkos ”seger”", ['lukasjenkos "seger"'])
    assert key_fact_match("Russia’s support", ["russia's support"])
    assert key_fact_match("‘quoted’ here", ["'quoted'"])
    # NFKC: full-width digits and the "ﬁ" ligature
    assert key_fact_match("ＥＵ ﬁnes", ["eu fines"])
    # casefold: ß equals ss
    assert key_fact_match("Straße", ["STRASSE"])


def test_key_fact_match_misses_and_blanks() -> None:
    assert not key_fact_match("Police detained people.", ["774"])
    assert not key_fact_match("anything", [])
    assert not key_fact_match("anything", ["", "  "])
    assert not key_fact_match("", ["774"])


def test_key_fact_share() -> None:
    # facts {774, minsk, sochi} (Minsk/minsk counted once): 2 of 3 present
    assert key_fact_share("774 people in Minsk", ["774", "Minsk", "Sochi", "minsk"]) == 2 / 3
    assert key_fact_share("nothing", ["774"]) == 0.0
    assert key_fact_share("text", []) is None
    assert key_fact_share("text", [" "]) is None


def test_answer_tokens_normalisation() -> None:
    assert answer_tokens("The EU’s «nya» sanktioner!") == ["eus", "nya", "sanktioner"]
    assert answer_tokens("an apple, a pear") == ["apple", "pear"]
    # sv/nb indefinite articles are kept: "en" / "ett" also mean "one"
    assert answer_tokens("En person, ett år") == ["en", "person", "ett", "år"]
    assert answer_tokens("Hviterussland-krisen (2020)") == ["hviterussland", "krisen", "2020"]
    assert answer_tokens("...  ") == []


def test_token_f1_hand_computed() -> None:
    # pred: police detained 774 people; ref: 774 people were detained
    # common 3 -> P = 3/4, R = 3/4, F1 = 0.75
    assert token_f1("Police detained 774 people", "774 people were detained") == 0.75
    # pred: 774 (1 token); ref: 774 people (2 tokens): P = 1, R = 1/2, F1 = 2/3
    assert token_f1("774.", "774 people") == pytest.approx(2 / 3)
    # repeated tokens count as a multiset
    # pred: x x y; ref: x y y -> common x1 + y1 = 2, P = R = 2/3, F1 = 2/3
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)


def test_token_f1_exact_and_disjoint() -> None:
    assert token_f1("Minsk", "minsk!") == 1.0
    assert token_f1("The Minsk", "Minsk") == 1.0  # article dropped
    assert token_f1("Sochi", "Minsk") == 0.0


def test_token_f1_empty_sides() -> None:
    assert token_f1("", "") == 1.0
    assert token_f1("The.", "!") == 1.0  # both empty after normalisation
    assert token_f1("", "Minsk") == 0.0
    assert token_f1("Minsk", "") == 0.0


# --- citations --------------------------------------------------------------


def _src(doc_id: str, passage: str, sentence: str = "") -> CitedSource:
    return CitedSource(doc_id=doc_id, passage=passage, sentence=sentence)


def test_citation_supports_needs_the_same_fact_on_both_sides() -> None:
    facts = ["774", "Minsk"]
    assert citation_supports("774 were held", _src("a", "Police held 774 people."), facts)
    # the source has a key fact, but not the one the claim states
    assert not citation_supports("774 were held", _src("a", "Protests in Minsk."), facts)
    # the claim states no key fact
    assert not citation_supports("People were held", _src("a", "774 held"), facts)
    assert not citation_supports("774 were held", _src("a", "774 held"), [])


def test_citation_supports_prefers_the_cited_sentence() -> None:
    source = _src("a", "Police held 774 people. Protests went on.", "Protests went on.")
    assert not citation_supports("774 were held", source, ["774"])
    # quotes fold on both sides: claim ASCII, sentence typographic
    assert citation_supports("'Zubr' led", _src("a", "x", "Led by ‘Zubr’."), ["’zubr’"])


def test_citation_scores_hand_computed() -> None:
    claims = [
        # judged (states 774): one supporting, one not
        CitedClaim("Police detained 774 people.", (_src("a", "774 detained"), _src("z", "x"))),
        # judged (states Minsk): no citation at all
        CitedClaim("It happened in Minsk.", ()),
        # judged (states Minsk): its only citation supports it
        CitedClaim("Protests in MINSK grew.", (_src("c", "In Minsk, crowds grew"),)),
        # not judged: states no key fact
        CitedClaim("Leaders met.", (_src("a", "Putin met Lukashenko"),)),
    ]
    s = citation_scores(claims, key_facts=["774", "minsk"], gold_ids=["a", "c"])
    # citations of judged claims: 3, supporting: 2 -> precision 2/3
    assert s["precision"] == pytest.approx(2 / 3)
    # judged claims: 3, supported: 2 -> recall 2/3
    assert s["recall"] == pytest.approx(2 / 3)
    # all citations: a, z, c, a -> 3 of 4 in gold {a, c}
    assert s["gold_share"] == 0.75
    assert s["claims"] == 4
    assert s["judged_claims"] == 3
    assert s["supported_claims"] == 2
    assert s["citations"] == 3
    assert s["supporting_citations"] == 2


def test_citation_scores_zero_denominators() -> None:
    empty = citation_scores([], key_facts=["774"], gold_ids=["a"])
    assert empty["precision"] is None and empty["recall"] is None
    assert empty["gold_share"] is None
    # a judged claim without citations: recall 0, precision undefined
    s = citation_scores([CitedClaim("774 held")], key_facts=["774"])
    assert s["precision"] is None and s["recall"] == 0.0
    # no key facts: nothing can be judged; no gold ids: no gold share
    s = citation_scores([CitedClaim("774", (_src("a", "774"),))], key_facts=[], gold_ids=[])
    assert s["precision"] is None and s["recall"] is None and s["gold_share"] is None


# --- abstention, language, latency, aggregation ------------------------------


def test_abstention_scores_hand_computed() -> None:
    abstain = [True, True, True, False, False, False]
    answerable = [False, False, True, False, True, True]
    s = abstention_scores(abstain, answerable)
    # abstained 3, of them on unanswerable 2 -> precision 2/3
    assert s["precision"] == pytest.approx(2 / 3)
    # unanswerable 3, abstained on 2 -> recall 2/3
    assert s["recall"] == pytest.approx(2 / 3)
    # answerable 3, abstained on 1 -> 1/3
    assert s["false_abstention_rate"] == pytest.approx(1 / 3)
    assert (s["n"], s["abstained"], s["unanswerable"]) == (6, 3, 3)
    assert (s["correct_abstentions"], s["false_abstentions"]) == (2, 1)


def test_abstention_scores_zero_denominators() -> None:
    # never abstained, all answerable: precision and recall undefined
    s = abstention_scores([False, False], [True, True])
    assert s["precision"] is None and s["recall"] is None
    assert s["false_abstention_rate"] == 0.0
    # all unanswerable: no false-abstention rate
    s = abstention_scores([True], [False])
    assert (s["precision"], s["recall"], s["false_abstention_rate"]) == (1.0, 1.0, None)
    s = abstention_scores([], [])
    assert s["precision"] is None and s["recall"] is None
    assert s["false_abstention_rate"] is None and s["n"] == 0


def test_abstention_scores_length_mismatch() -> None:
    with pytest.raises(ValueError, match="length"):
        abstention_scores([True], [True, False])


def test_language_match_rate() -> None:
    # sv=sv-SE yes, nb!=en, und never -> 1/3
    assert language_match_rate(["sv", "nb", "und"], ["sv-SE", "en", "und"]) == pytest.approx(1 / 3)
    assert language_match_rate(["NB", "en_GB"], ["nb", "en"]) == 1.0
    assert language_match_rate(["", "sv"], ["", "nb"]) == 0.0
    assert language_match_rate([], []) is None
    with pytest.raises(ValueError, match="length"):
        language_match_rate(["sv"], [])


def test_percentile_hand_computed() -> None:
    values = [10.0, 40.0, 20.0, 30.0]  # sorted 10, 20, 30, 40
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0  # pos 1.5: 20 + 0.5 * 10
    assert percentile(values, 95) == pytest.approx(38.5)  # pos 2.85: 30 + 0.85 * 10
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_percentile_bad_input() -> None:
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], 101)
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], -1)
    with pytest.raises(ValueError, match="NaN"):
        percentile([1.0, math.nan], 50)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    st.floats(0, 100),
)
def test_percentile_equals_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(np.percentile(values, q), rel=1e-9, abs=1e-6)


def test_latency_summary() -> None:
    # sorted 0.1 0.2 0.3 0.4 1.0: p50 pos 2 -> 0.3; p95 pos 3.8 -> 0.4 + 0.8 * 0.6 = 0.88
    s = latency_summary([1.0, 0.3, 0.1, 0.4, 0.2])
    assert s["p50"] == pytest.approx(0.3)
    assert s["p95"] == pytest.approx(0.88)
    assert s["n"] == 5
    assert latency_summary([]) == {"p50": None, "p95": None, "n": 0}


def test_mean_or_none() -> None:
    assert mean_or_none([1.0, None, 0.0, True]) == pytest.approx(2 / 3)  # (1 + 0 + 1) / 3
    assert mean_or_none(iter([0.5, 1.0])) == 0.75
    assert mean_or_none([]) is None
    assert mean_or_none([None, None]) is None
