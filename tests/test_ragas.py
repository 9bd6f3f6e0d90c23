"""The RAGAS export as RAGAS reads it: a small real `rag eval` run over the
tiny articles (fake embedder), written with `export_ragas`, loaded with
`ragas.EvaluationDataset.from_jsonl` and scored by RAGAS's own non-LLM
context metrics, which must agree with the passage ids in the file and with
the report's passage_recall@k. No network, no language model."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from rag.evaluation.evaluate import RagasExport, evaluate_testset, export_ragas
from rag.search.retrieval import Retriever, _retrievers
from rag.settings import Settings
from rag.store.local import Snapshot
from tests.conftest import RAGAS_COLUMNS
from tests.fakes import HashEmbedder

K = 2


def _testset(chunks: dict[str, str]) -> list[dict]:
    """Questions over the tiny articles whose passages@2 score 1, 0, 1/2 and
    1/3 (checked below), one labelled by a gold passage id instead of a key
    phrase, one unanswerable and one with no passage labelled relevant."""
    [loan] = [c for c, text in chunks.items() if "nya lån" in text]
    return [
        {
            "id": "sanctions",
            "question": "Which sanctions is the European Union preparing?",
            "language": "en",
            "gold_ids": ["en_sanctions"],
            "key_phrases": ["sanctions"],
            "reference": "New sanctions on Belarusian officials.",
        },
        {
            "id": "meeting",
            "question": "Where did the prime minister meet the opposition leader?",
            "language": "en",
            "gold_ids": ["nb_valg"],
            "key_phrases": ["Vilnius"],
            "reference": "In Vilnius.",
        },
        {
            "id": "elections",
            "question": "Who called for free elections?",
            "language": "en",
            "gold_ids": ["en_sanctions", "nb_valg"],
            "key_phrases": ["Lithuania", "nyvalg"],
            "reference": "Lithuania and the Belarusian opposition.",
        },
        {
            "id": "protests",
            "question": "What happened to protesters in Minsk?",
            "language": "en",
            "gold_ids": ["nb_valg", "en_sanctions"],
            "key_phrases": ["protesters", "Minsk"],
            "reference": "They demonstrated every weekend and met a violent crackdown.",
        },
        {
            "id": "loan",
            "question": "Vad har regeringen bett Ryssland om?",
            "language": "sv",
            "gold_ids": ["sv_ekonomi"],
            "gold_passages": [loan],
            "reference": "Nya lån.",
        },
        {
            "id": "worldcup",
            "question": "Who won the football world cup in 2030?",
            "language": "en",
            "answerable": False,
        },
        {
            "id": "economy",
            "question": "Hur mår ekonomin i Belarus?",
            "language": "sv",
            "gold_ids": ["sv_ekonomi"],
            "reference": "Den har försvagats kraftigt.",
        },
    ]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list:
    """Every outgoing connection refused and recorded; RAGAS told not to
    track, and its user id file (written all the same) kept out of home."""
    monkeypatch.setenv("RAGAS_DO_NOT_TRACK", "true")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def exported(
    tiny_index: Settings,
    fake_embedder: HashEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """(report, chunk texts by id, the export's rows, its path, what it returned)."""
    # evaluate_testset and answer() get the process-wide retriever: this one
    monkeypatch.setitem(_retrievers, tiny_index, Retriever.open(tiny_index, fake_embedder))
    chunks = {c: text for c, _, text in Snapshot.open(tiny_index.index_path).iter_chunks()}
    testset = tmp_path / "tiny.jsonl"
    testset.write_text("".join(json.dumps(q) + "\n" for q in _testset(chunks)), encoding="utf-8")
    report = evaluate_testset(testset, tiny_index, k=K)
    out = tmp_path / "ragas.jsonl"
    done = export_ragas(report, testset, out, tiny_index)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return report, chunks, rows, out, done


def _recall(row: dict) -> float:
    retrieved = set(row["retrieved_context_ids"])
    return sum(c in retrieved for c in row["reference_context_ids"]) / len(
        row["reference_context_ids"]
    )


def _average_precision(row: dict) -> float:
    """Precision at each relevant retrieved passage, averaged over them (0
    when none is relevant): RAGAS's context precision, from the ids."""
    verdicts = [c in row["reference_context_ids"] for c in row["retrieved_context_ids"]]
    hits = [sum(verdicts[: i + 1]) / (i + 1) for i, v in enumerate(verdicts) if v]
    return sum(hits) / len(hits) if hits else 0.0


def test_rows_carry_texts_and_ids_of_retrieved_and_relevant_passages(exported):
    report, chunks, rows, _, _ = exported
    assert [r["id"] for r in rows] == ["sanctions", "meeting", "elections", "protests", "loan"]
    questions = {q["id"]: q for q in report["questions"]}
    for row in rows:
        assert list(row) == RAGAS_COLUMNS
        q = questions[row["id"]]
        assert row["user_input"] == q["question"] and row["response"] == q["answer"]
        assert row["reference"]
        assert row["reference_context_ids"] == report["qrels"][row["id"]]  # the TREC qrels
        assert row["reference_contexts"] == [chunks[c] for c in row["reference_context_ids"]]
        # the answer's passages are the top of the ranking the report scores
        assert len(row["retrieved_context_ids"]) == K
        assert row["retrieved_contexts"] == [chunks[c] for c in row["retrieved_context_ids"]]
    [loan] = [r for r in rows if r["id"] == "loan"]
    assert len(loan["reference_context_ids"]) == 1 and "nya lån" in loan["reference_contexts"][0]


def test_unanswerable_and_unjudged_questions_are_left_out_and_counted(exported):
    report, _, rows, out, done = exported
    assert done == RagasExport(samples=5, unanswerable=1, unjudged=1)
    assert {"worldcup", "economy"}.isdisjoint(r["id"] for r in rows)
    assert len(report["questions"]) == done.samples + done.unanswerable + done.unjudged
    assert out.read_bytes().isascii()  # from_jsonl reads with the platform's encoding


def test_the_rows_span_the_scores_the_checks_need(exported):
    """Not all 1s: the metrics below are checked on hits, misses and partial recall."""
    _, _, rows, _, _ = exported
    assert [_recall(r) for r in rows] == pytest.approx([1.0, 0.0, 0.5, 1 / 3, 1.0])
    assert [_average_precision(r) for r in rows] == pytest.approx([1.0, 0.0, 1.0, 1.0, 1.0])


def test_ragas_non_llm_context_metrics_agree_with_the_ids_and_the_report(exported, no_network):
    from ragas import EvaluationDataset, evaluate
    from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

    report, _, rows, out, _ = exported
    dataset = EvaluationDataset.from_jsonl(out)
    assert len(dataset) == len(rows)
    result = evaluate(
        dataset,
        metrics=[NonLLMContextRecall(), NonLLMContextPrecisionWithReference()],
        show_progress=False,
        raise_exceptions=True,
    )
    scores = result.scores
    recall = [s["non_llm_context_recall"] for s in scores]
    precision = [s["non_llm_context_precision_with_reference"] for s in scores]
    assert recall == pytest.approx([_recall(r) for r in rows])
    assert precision == pytest.approx([_average_precision(r) for r in rows], abs=1e-6)
    ours = {q["id"]: q["scores"].get(f"passage_recall@{K}") for q in report["questions"]}
    assert recall == pytest.approx([ours[r["id"]] for r in rows])
    # only judged questions are samples, so RAGAS's mean is the report's
    mean = sum(recall) / len(recall)
    assert mean == pytest.approx(report["summary"]["all"][f"passage_recall@{K}"])
    assert no_network == []
