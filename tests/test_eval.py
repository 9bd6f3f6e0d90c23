"""`rag eval` end to end: the dev set through the real answer(), the quality
gate CI relies on, reports, comparisons, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.conftest import DEV_SET, RAGAS_COLUMNS, run_rag

# The bars measured (docs/PERFORMANCE.md): a change that degrades retrieval,
# answers, dates or source diversity below them fails CI. Issue 15's eight
# dated and corroboration questions took passage_hit@5 from 0.875 (42/48)
# to 0.82 (46/56); tests/test_retrieval.py holds the first 48 at 0.87.
QUALITY_BARS = [
    "passage_hit@5=0.82",
    "article_hit@5=0.90",
    "ndcg@10=0.55",
    "key_fact=0.66",
    "citation_recall=0.95",
    "false_abstention_rate=0.05",
    "in_range@5=0.69",
    "sources@5=2.8",
]


@pytest.fixture(scope="module")
def evaluated(seed_index: Settings, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval")
    proc = run_rag(
        "eval",
        str(DEV_SET),
        "--index",
        str(seed_index.index_path),
        "--out",
        str(out / "report"),
        "--export-ragas",
        str(out / "ragas.jsonl"),
        "--export-trec",
        str(out / "trec"),
        "--fail-under",
        *QUALITY_BARS,
    )
    return proc, out


@pytest.mark.model
def test_dev_set_passes_the_quality_gate(evaluated):
    proc, _ = evaluated
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0].split()
    assert header == ["metric", "all", "en", "nb", "sv", "same-language", "cross-lingual"]
    assert "passage_hit@5" in proc.stdout and "key_fact" in proc.stdout


@pytest.mark.model
def test_report_files_hold_every_question_and_subset(evaluated):
    _, out = evaluated
    report = json.loads((out / "report" / "report.json").read_text(encoding="utf-8"))
    assert len(report["questions"]) == 64
    assert report["meta"]["label_problems"] == []  # every gold label matches the index
    assert set(report["summary"]) == {"all", "en", "nb", "sv", "same-language", "cross-lingual"}
    row = report["summary"]["all"]
    for metric in ("mrr@10", "ndcg@10", "token_f1", "abstention_recall", "embed_p95_ms"):
        assert metric in row
    md = (out / "report" / "report.md").read_text(encoding="utf-8")
    assert "## Worst questions" in md and "answered an unanswerable question" in md
    assert (out / "report" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.model
def test_ragas_export_has_the_ragas_columns(evaluated):
    """Every answerable question (each has relevant passages), with the
    passages the TREC qrels judge; the 8 unanswerable ones left out, said so."""
    proc, out = evaluated
    report = json.loads((out / "report" / "report.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "ragas.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [q["id"] for q in report["questions"] if q["answerable"]]
    assert len(rows) == 56
    assert f"RAGAS samples: {out / 'ragas.jsonl'} (56 questions)" in proc.stdout
    assert "leave out 8 unanswerable question(s) and 0 with no passage" in proc.stderr
    qrels = {}
    for line in (out / "trec" / "qrels.trec").read_text().splitlines():
        qid, _, chunk_id, _ = line.split()
        qrels.setdefault(qid, []).append(chunk_id)
    for row in rows:
        assert list(row) == RAGAS_COLUMNS
        assert row["retrieved_contexts"] and row["reference"]
        assert row["reference_context_ids"] == qrels[row["id"]]
        assert len(row["reference_contexts"]) == len(row["reference_context_ids"])
        assert len(row["retrieved_context_ids"]) == len(row["retrieved_contexts"]) <= 5


@pytest.mark.model
def test_the_trec_export_scores_the_same_in_ir_measures(evaluated):
    """ir_measures (trec_eval underneath) reads the run and qrels directly and
    gets the report's nDCG@10 and MRR@10."""
    import ir_measures
    from ir_measures import RR, nDCG

    _, out = evaluated
    report = json.loads((out / "report" / "report.json").read_text(encoding="utf-8"))
    qrels = list(ir_measures.read_trec_qrels(str(out / "trec" / "qrels.trec")))
    run = list(ir_measures.read_trec_run(str(out / "trec" / "run.trec")))
    judged = {q.query_id for q in qrels}
    assert judged and {r.query_id for r in run} >= judged
    theirs = ir_measures.calc_aggregate([nDCG @ 10, RR @ 10], qrels, run)
    ours = [q["scores"] for q in report["questions"] if q["id"] in judged]
    assert theirs[nDCG @ 10] == pytest.approx(sum(s["ndcg@10"] for s in ours) / len(ours))
    assert theirs[RR @ 10] == pytest.approx(sum(s["mrr@10"] for s in ours) / len(ours))


@pytest.mark.model
def test_a_missed_bar_exits_6(seed_index: Settings):
    proc = run_rag(
        "eval", str(DEV_SET), "--index", str(seed_index.index_path), "--fail-under", "key_fact=0.99"
    )
    assert proc.returncode == 6
    assert "quality gate: key_fact" in proc.stderr and "below the bar 0.990" in proc.stderr


@pytest.mark.model
def test_compare_flags_a_regression(evaluated, tmp_path: Path):
    _, out = evaluated
    old = out / "report" / "report.json"
    same = run_rag("eval", "--compare", str(old), str(old))
    assert same.returncode == 0 and "No regressions." in same.stdout
    worse = json.loads(old.read_text(encoding="utf-8"))
    worse["summary"]["sv"]["key_fact"] -= 0.25
    worse["summary"]["all"]["false_abstention_rate"] = 0.0  # unchanged: not flagged
    path = tmp_path / "new.json"
    path.write_text(json.dumps(worse), encoding="utf-8")
    proc = run_rag("eval", "--compare", str(old), str(path))
    assert proc.returncode == 6
    assert "REGRESSION" in proc.stdout
    assert "key_fact (sv)" in proc.stderr and "false_abstention_rate" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["eval"], "needs a test set"),
        (["eval", str(DEV_SET), "--fail-under", "key_fact"], "METRIC=VALUE"),
        (["eval", str(DEV_SET), "--fail-under", "key_fact=high"], "METRIC=VALUE"),
        (["eval", str(DEV_SET), "--generator", "gpt-99"], "unknown generator"),
        (["eval", str(DEV_SET), "--compare", "a.json", "b.json"], "not both"),
        (["eval", "--compare", "missing-a.json", "missing-b.json"], "cannot read report"),
        (["eval", str(DEV_SET), "--fail-under", "key_fact=nan"], "finite number"),
        (["eval", str(DEV_SET), "--fail-under", "nosuch=0.5"], "no metric 'nosuch'"),
        (["eval", str(DEV_SET), "--fail-under", "passage_hit@5=0.5", "--k", "3"], "with --k 3"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path: Path):
    proc = run_rag(*args, "--index", str(tmp_path / "no-index"))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def test_malformed_test_set_names_the_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "Q?", "language": "en", "gold_ids": ["x"]}\n{oops\n')
    proc = run_rag("eval", str(bad), "--index", str(tmp_path / "no-index"))
    assert proc.returncode == 2
    assert f"{bad}:2: not valid JSON" in proc.stderr


def test_missing_index_exits_3(tmp_path: Path):
    proc = run_rag("eval", str(DEV_SET), "--index", str(tmp_path / "no-index"))
    assert proc.returncode == 3
    assert "rag ingest" in proc.stderr


def test_a_report_of_the_wrong_shape_is_refused_by_name(tmp_path: Path):
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"summary": {"all": 5}}', encoding="utf-8")
    proc = run_rag("eval", "--compare", str(wrong), str(wrong))
    assert proc.returncode == 2 and "is not a report.json" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bars_before_the_test_set_still_find_it(tmp_path: Path):
    """`--fail-under` takes several values; a test set after it is not a bar."""
    proc = run_rag(
        "eval", "--fail-under", "key_fact=0.1", str(DEV_SET), "--index", str(tmp_path / "none")
    )
    assert proc.returncode == 3 and "rag ingest" in proc.stderr  # got past the usage check


def test_out_that_is_a_file_is_refused_before_the_run(tmp_path: Path):
    afile = tmp_path / "report"
    afile.write_text("", encoding="utf-8")
    proc = run_rag("eval", str(DEV_SET), "--out", str(afile), "--index", str(tmp_path / "none"))
    assert proc.returncode == 2 and "give a directory" in proc.stderr


@pytest.mark.model
def test_compare_warns_when_the_runs_differ(evaluated, tmp_path: Path):
    _, out = evaluated
    old = out / "report" / "report.json"
    other = json.loads(old.read_text(encoding="utf-8"))
    other["meta"]["k"] = 3
    path = tmp_path / "k3.json"
    path.write_text(json.dumps(other), encoding="utf-8")
    proc = run_rag("eval", "--compare", str(old), str(path))
    assert proc.returncode == 0 and "warning: the runs differ in k: 5 -> 3" in proc.stderr
