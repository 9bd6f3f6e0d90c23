"""Evaluation reports, over hand-written summaries and questions: no model, no index."""

from __future__ import annotations

import json
from pathlib import Path

from rag.evaluation.report import (
    align,
    build,
    chart,
    compare,
    markdown,
    meta_differences,
    ragas_rows,
    table,
    terminal,
    write,
)
from rag.evaluation.scoring import FAILURES, QuestionResult, Retrieved, summarize
from tests.conftest import RAGAS_COLUMNS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

META = {
    "testset": "dev.jsonl",
    "questions": 5,
    "k": 3,
    "generator": "extractive",
    "embedder": "fake/1",
    "index": "idx",
    "created": "2024-01-01T00:00:00Z",
}

SUMMARY = {
    "all": {
        "questions": 5,
        "answerable": 4,
        "passage_hit@3": 0.5,
        "key_fact": 0.75,
        "token_f1": None,
        "false_abstention_rate": 0.2,
        "total_p50_ms": 123.4,
        "extra_metric": 0.1,
    },
    "en": {
        "questions": 2,
        "answerable": 2,
        "passage_hit@3": 1.0,
        "key_fact": 1.0,
        "token_f1": None,
        "false_abstention_rate": 0.0,
        "total_p50_ms": 99.6,
    },
}


def _q(
    id: str,
    failure: str | None = None,
    mrr: float | None = 0.0,
    question: str = "Who?",
    answer: str = "Someone [1].",
    contexts: tuple[str, ...] = ("passage",),
) -> dict:
    return {
        "id": id,
        "question": question,
        "language": "en",
        "answer": answer,
        "contexts": list(contexts),
        "scores": {"mrr@10": mrr},
        "failure": failure,
    }


QUESTIONS = [
    _q("q1", FAILURES[2], mrr=0.5),
    _q("q2", FAILURES[0]),
    _q("q3", FAILURES[2], mrr=None),
    _q("q4", None, mrr=1.0),
    _q("q5", FAILURES[3], mrr=1.0),
]


def _report(summary: dict | None = None, questions: list[dict] | None = None) -> dict:
    return {
        "version": 1,
        "meta": META,
        "summary": SUMMARY if summary is None else summary,
        "questions": QUESTIONS if questions is None else questions,
    }


# --- build ------------------------------------------------------------------------


def test_build_holds_version_meta_summary_and_question_dicts() -> None:
    result = QuestionResult(
        id="q1",
        question="Who?",
        language="en",
        answerable=True,
        cross_lingual=False,
        answer="Lukashenko [1].",
        abstained=False,
        answer_language="en",
        citations=({"n": 1, "doc_id": "a", "sentence": "s", "passage": "p"},),
        contexts=("p",),
        retrieved=(Retrieved("c1", "a", "en", True),),
        timings_ms={"total": 5.0},
        scores={"key_fact": 1.0},
    )
    summary = summarize([result])
    report = build([result], summary, META)
    assert report["version"] == 1
    assert report["meta"] == META
    assert report["summary"] is summary
    [q] = report["questions"]
    assert q["id"] == "q1"
    assert list(q["retrieved"]) == [
        {
            "chunk_id": "c1",
            "doc_id": "a",
            "language": "en",
            "relevant": True,
            "date": None,
            "source": "",
        }
    ]
    assert json.loads(json.dumps(report))["questions"][0]["scores"] == {"key_fact": 1.0}


# --- table ------------------------------------------------------------------------


def test_table_header_and_question_counts() -> None:
    rows = table(_report())
    assert rows[0] == ["metric", "all", "en"]
    assert rows[1] == ["questions", "5", "2"]


def test_table_formats_scores_latencies_and_missing_values() -> None:
    rows = {r[0]: r[1:] for r in table(_report())[2:]}
    assert rows["key_fact"] == ["0.75", "1.00"]
    assert rows["token_f1"] == ["–", "–"]
    assert rows["total_p50_ms"] == ["123", "100"]
    assert rows["extra_metric"] == ["0.10", "–"]  # only the "all" row has it


def test_table_lists_every_metric_but_not_answerable() -> None:
    names = [r[0] for r in table(_report())]
    assert names == [
        "metric",
        "questions",
        "passage_hit@3",
        "key_fact",
        "token_f1",
        "false_abstention_rate",
        "total_p50_ms",
        "extra_metric",
    ]


def test_table_with_chosen_metrics() -> None:
    assert table(_report(), ["key_fact"]) == [
        ["metric", "all", "en"],
        ["questions", "5", "2"],
        ["key_fact", "0.75", "1.00"],
    ]


# --- align and terminal -------------------------------------------------------------


def test_align_left_then_right_columns_and_rule() -> None:
    assert align([["a", "b", "c"], ["aaa", "bbb", "ccc"]], left=2) == [
        "a    b      c",
        "---  ---  ---",
        "aaa  bbb  ccc",
    ]


def test_align_right_aligns_numbers() -> None:
    assert align([["metric", "all"], ["a", "0.5"], ["bb", "10.25"]]) == [
        "metric    all",
        "------  -----",
        "a         0.5",
        "bb      10.25",
    ]


def test_align_strips_trailing_blanks() -> None:
    assert align([["id", "note"], ["q1", ""]]) == ["id  note", "--  ----", "q1"]


def test_terminal_shows_headline_metrics_in_order() -> None:
    assert terminal(_report()) == "\n".join(
        [
            "metric                  all    en",
            "---------------------  ----  ----",
            "questions                 5     2",
            "passage_hit@3          0.50  1.00",
            "key_fact               0.75  1.00",
            "token_f1                  –     –",
            "false_abstention_rate  0.20  0.00",
            "total_p50_ms            123   100",
        ]
    )


def test_terminal_uses_the_report_k() -> None:
    report = _report()
    report["meta"] = {**META, "k": 5}
    assert "passage_hit" not in terminal(report)  # the summary only has passage_hit@3


# --- markdown ---------------------------------------------------------------------


def test_markdown_has_title_and_run_line() -> None:
    lines = markdown(_report()).splitlines()
    assert lines[0] == "# Evaluation of dev.jsonl"
    assert lines[2].startswith("5 questions · k=3 · generator extractive · embedder fake/1")


def test_markdown_has_the_metric_table() -> None:
    lines = markdown(_report()).splitlines()
    start = lines.index("| metric | all | en |")
    assert lines[start + 1] == "|---|---|---|"
    assert lines[start + 2] == "| questions | 5 | 2 |"
    assert "| key_fact | 0.75 | 1.00 |" in lines
    assert "| token_f1 | – | – |" in lines


def test_markdown_counts_what_went_wrong() -> None:
    text = markdown(_report())
    assert "## What went wrong" in text
    assert "- abstained on an answerable question: 1\n" in text
    assert "- answered an unanswerable question: 0\n" in text
    assert "- not retrieved: 2\n" in text
    assert "- retrieved but not cited: 1\n" in text


def _worst_ids(text: str) -> list[str]:
    section = text.split("## Worst questions")[1]
    return [line.split(" | ")[0].lstrip("| ") for line in section.splitlines()[4:] if line]


def test_markdown_worst_questions_sorted_by_severity_then_mrr() -> None:
    # q2 abstained (worst); q3 (no MRR) and q1 (MRR 0.5) not retrieved; q5 not cited
    assert _worst_ids(markdown(_report())) == ["q2", "q3", "q1", "q5"]


def test_markdown_worst_questions_ties_sorted_by_id() -> None:
    questions = [_q("b", FAILURES[2]), _q("a", FAILURES[2])]
    assert _worst_ids(markdown(_report(questions=questions))) == ["a", "b"]


def test_markdown_worst_questions_limited() -> None:
    text = markdown(_report(), worst=2)
    assert "## Worst questions (up to 2)" in text
    assert _worst_ids(text) == ["q2", "q3"]


def test_markdown_escapes_pipe_and_newlines_in_question_and_answer() -> None:
    questions = [_q("q1", FAILURES[1], question="EU | Belarus?", answer="Yes |\nno [1].")]
    row = "| q1 | en | EU \\| Belarus? | answered an unanswerable question | Yes \\| no [1]. |"
    assert row in markdown(_report(questions=questions)).splitlines()


def test_markdown_truncates_long_answers() -> None:
    questions = [_q("q1", FAILURES[3], answer="x" * 200)]
    row = markdown(_report(questions=questions)).splitlines()[-1]
    assert row.endswith("| " + "x" * 159 + "… |")


def test_markdown_when_every_question_passed() -> None:
    text = markdown(_report(questions=[_q("q1"), _q("q2")]))
    assert "None: every question passed." in text
    assert "| id |" not in text
    assert "- not retrieved: 0\n" in text


# --- chart and write --------------------------------------------------------------


def test_chart_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    chart(_report(), path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_chart_without_retrieval_metrics(tmp_path: Path) -> None:
    summary = {"all": {"questions": 1, "answerable": 0, "abstention_recall": None}}
    path = tmp_path / "chart.png"
    chart(_report(summary=summary), path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_write_creates_three_files(tmp_path: Path) -> None:
    report = _report()
    out = tmp_path / "runs" / "one"
    paths = write(report, out)
    assert [p.name for p in paths] == ["report.json", "report.md", "report.png"]
    assert all(p.parent == out for p in paths)
    assert json.loads(paths[0].read_text(encoding="utf-8")) == report
    assert paths[1].read_text(encoding="utf-8") == markdown(report)
    assert paths[2].read_bytes()[:8] == PNG_SIGNATURE


def test_write_keeps_non_ascii_readable(tmp_path: Path) -> None:
    report = _report(questions=[_q("q1", question="Hvem styrer Hviterussland – nå?")])
    paths = write(report, tmp_path)
    assert "Hviterussland – nå?" in paths[0].read_text(encoding="utf-8")


# --- compare ----------------------------------------------------------------------


def _compare(old_row: dict, new_row: dict) -> tuple[dict[str, list[str]], list[str]]:
    old = {"summary": {"all": {"questions": 5, **old_row}}}
    new = {"summary": {"all": {"questions": 6, **new_row}}}
    rows, regressions = compare(old, new)
    return {r[0]: r[2:] for r in rows[1:]}, regressions


def test_compare_header() -> None:
    rows, _ = compare({"summary": {}}, {"summary": {}})
    assert rows == [["metric", "subset", "old", "new", "change", ""]]


def test_compare_key_fact_drop_is_a_regression() -> None:
    rows, regressions = _compare({"key_fact": 0.6}, {"key_fact": 0.5})
    assert rows["key_fact"] == ["0.60", "0.50", "-0.10", "REGRESSION"]
    assert regressions == ["key_fact (all): 0.60 -> 0.50"]


def test_compare_key_fact_rise_is_better() -> None:
    rows, regressions = _compare({"key_fact": 0.5}, {"key_fact": 0.6})
    assert rows["key_fact"] == ["0.50", "0.60", "+0.10", "better"]
    assert regressions == []


def test_compare_false_abstention_drop_is_better() -> None:
    rows, regressions = _compare({"false_abstention_rate": 0.2}, {"false_abstention_rate": 0.1})
    assert rows["false_abstention_rate"][-1] == "better"
    assert regressions == []


def test_compare_false_abstention_rise_is_a_regression() -> None:
    rows, regressions = _compare({"false_abstention_rate": 0.1}, {"false_abstention_rate": 0.2})
    assert rows["false_abstention_rate"][-1] == "REGRESSION"
    assert regressions == ["false_abstention_rate (all): 0.10 -> 0.20"]


def test_compare_unchanged_metric_has_no_verdict() -> None:
    rows, regressions = _compare({"key_fact": 0.5}, {"key_fact": 0.5})
    assert rows["key_fact"] == ["0.50", "0.50", "0.00", ""]
    assert regressions == []


def test_compare_latency_rise_within_the_tolerance_not_flagged() -> None:
    rows, regressions = _compare({"total_p50_ms": 100.0}, {"total_p50_ms": 124.0})
    assert rows["total_p50_ms"] == ["100", "124", "+24", ""]
    assert regressions == []


def test_compare_latency_rise_beyond_the_tolerance_is_a_regression() -> None:
    rows, regressions = _compare({"total_p50_ms": 100.0}, {"total_p50_ms": 126.0})
    assert rows["total_p50_ms"][-1] == "REGRESSION"
    assert regressions == ["total_p50_ms (all): 100 -> 126"]


def test_compare_small_latency_jitter_is_not_a_regression() -> None:
    """Two runs of the same code: a 3 ms stage taking 4 ms is noise, not +33%."""
    rows, regressions = _compare({"retrieve_p50_ms": 3.0}, {"retrieve_p50_ms": 4.0})
    assert rows["retrieve_p50_ms"][-1] == "" and regressions == []
    rows, regressions = _compare({"retrieve_p50_ms": 3.0}, {"retrieve_p50_ms": 9.0})
    assert rows["retrieve_p50_ms"][-1] == "REGRESSION"


def test_compare_latency_drop_beyond_the_tolerance_is_better() -> None:
    rows, regressions = _compare({"embed_p95_ms": 100.0}, {"embed_p95_ms": 70.0})
    assert rows["embed_p95_ms"] == ["100", "70", "-30", "better"]
    assert regressions == []


def test_meta_differences_name_what_makes_runs_incomparable() -> None:
    old = {"meta": {"testset": "dev.jsonl", "k": 5, "generator": None, "created": "x"}}
    new = {"meta": {"testset": "dev.jsonl", "k": 3, "generator": "openai:m", "created": "y"}}
    assert meta_differences(old, new) == ["k: 5 -> 3", "generator: None -> openai:m"]
    assert meta_differences(old, old) == []


def test_compare_skips_counts_and_missing_values() -> None:
    rows, _ = _compare(
        {"answerable": 4, "token_f1": None, "key_fact": 0.5},
        {"answerable": 5, "token_f1": 0.3, "key_fact": None, "mrr@10": 0.4},
    )
    assert rows == {}


def test_compare_skips_subsets_missing_in_old_report() -> None:
    old = {"summary": {"all": {"key_fact": 0.5}}}
    new = {"summary": {"all": {"key_fact": 0.5}, "sv": {"key_fact": 0.1}}}
    rows, regressions = compare(old, new)
    assert [r[1] for r in rows[1:]] == ["all"]
    assert regressions == []


def test_compare_names_the_subset_of_a_regression() -> None:
    old = {"summary": {"all": {"key_fact": 0.5}, "sv": {"key_fact": 0.5}}}
    new = {"summary": {"all": {"key_fact": 0.5}, "sv": {"key_fact": 0.25}}}
    _, regressions = compare(old, new)
    assert regressions == ["key_fact (sv): 0.50 -> 0.25"]


# --- ragas_rows -------------------------------------------------------------------

PASSAGES = {"c1": "text one", "c2": "text two", "c3": "text three"}


def _ragas_q(id: str, contexts=("text one",), ranking=("c1", "c2"), answerable=True) -> dict:
    return {
        **_q(id, question=f"{id}?", answer=f"{id} [1].", contexts=contexts),
        "contexts": tuple(contexts),  # as to_dict() leaves them
        "answerable": answerable,
        "retrieved": [{"chunk_id": c} for c in ranking],
    }


def _ragas_report(questions: list[dict], qrels: dict[str, list[str]]) -> dict:
    return {**_report(questions=questions), "qrels": qrels}


def test_ragas_rows_columns_and_question_order() -> None:
    report = _ragas_report(
        [
            _ragas_q("q2", contexts=("text two", "text one"), ranking=("c2", "c1", "c3")),
            _ragas_q("q1"),
        ],
        {"q1": ["c2", "c3"], "q2": ["c1"]},
    )
    rows = ragas_rows(report, {"q1": "ref one", "q2": "ref two"}, PASSAGES)
    assert rows == [
        {
            "id": "q2",
            "user_input": "q2?",
            "retrieved_contexts": ["text two", "text one"],
            "response": "q2 [1].",
            "reference": "ref two",
            "reference_contexts": ["text one"],
            "retrieved_context_ids": ["c2", "c1"],
            "reference_context_ids": ["c1"],
        },
        {
            "id": "q1",
            "user_input": "q1?",
            "retrieved_contexts": ["text one"],
            "response": "q1 [1].",
            "reference": "ref one",
            "reference_contexts": ["text two", "text three"],
            "retrieved_context_ids": ["c1"],
            "reference_context_ids": ["c2", "c3"],
        },
    ]
    assert all(list(r) == RAGAS_COLUMNS for r in rows)


def test_ragas_rows_leave_out_questions_without_relevant_passages() -> None:
    """Unanswerable questions (never in the qrels) and answerable ones with no
    passage labelled relevant would score a meaningless 0 in RAGAS."""
    report = _ragas_report(
        [_ragas_q("judged"), _ragas_q("unanswerable", answerable=False), _ragas_q("unjudged")],
        {"judged": ["c1"]},
    )
    assert [r["id"] for r in ragas_rows(report, {}, PASSAGES)] == ["judged"]


def test_ragas_rows_leave_out_relevant_passages_the_index_lacks() -> None:
    report = _ragas_report([_ragas_q("q1"), _ragas_q("q2")], {"q1": ["c1", "gone"], "q2": ["gone"]})
    [row] = ragas_rows(report, {}, PASSAGES)
    assert row["reference_context_ids"] == ["c1"] and row["reference_contexts"] == ["text one"]


def test_ragas_rows_without_qrels_are_empty() -> None:
    assert ragas_rows(_report(questions=[_ragas_q("q1")]), {"q1": "ref"}, PASSAGES) == []


def test_ragas_rows_missing_reference_is_empty() -> None:
    report = _ragas_report([_ragas_q("q9")], {"q9": ["c1"]})
    [row] = ragas_rows(report, {"q1": "ref"}, PASSAGES)
    assert row["reference"] == ""


def test_ragas_rows_contexts_are_lists() -> None:
    report = _ragas_report([_ragas_q("q1", contexts=("a", "b"))], {"q1": ["c1"]})
    [row] = ragas_rows(report, {}, PASSAGES)
    assert row["retrieved_contexts"] == ["a", "b"]
    assert row["retrieved_context_ids"] == ["c1", "c2"]  # the top of the ranking


def test_markdown_lists_labels_that_match_nothing() -> None:
    report = _report()
    assert "labels that match nothing" not in markdown(report)
    report["meta"] = {**META, "label_problems": ["q1: gold article 'zz' is not in the index"]}
    text = markdown(report)
    assert "## Test-set labels that match nothing in the index" in text
    assert "- q1: gold article 'zz' is not in the index" in text
