"""`rag eval` from Python: run a test set against the index, get the report.

The I/O edge of evaluation: it loads the test set and the index, binds the
real `answer()` and retriever, and hands them to the pure `rag.scoring`.

Example (needs an index: run `rag ingest` first)::

    from rag.evaluation.evaluate import evaluate_testset
    report = evaluate_testset("tests/data/dev.jsonl")
    report["summary"]["all"]["key_fact"]
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import NamedTuple

from rag.errors import RagError, UsageError
from rag.settings import Settings

log = logging.getLogger(__name__)


def evaluate_testset(
    path: Path | str,
    settings: Settings | None = None,
    k: int | None = None,
    generator: str | None = None,
    progress: bool = False,
    since: str | None = None,
    until: str | None = None,
) -> dict:
    """Answer and score every question of the test set at `path`; returns the
    report (see `rag.evaluation.report.build`). `since` / `until` filter the articles of
    every question that has no date filter of its own."""
    from rag.answers.answer import answer
    from rag.answers.generation import check_spec
    from rag.evaluation import report, scoring
    from rag.evaluation.metrics import relevance_labels
    from rag.evaluation.testset import load_testset
    from rag.search.query import date_range, validate_question
    from rag.search.retrieval import get_retriever
    from rag.store.base import stories
    from rag.text.language import detect_language

    settings = settings or Settings.from_env()
    date_range(since, until)  # a bad date fails before anything loads
    generator = check_spec(generator or settings.generator)
    questions = load_testset(Path(path))
    for q in questions:
        try:
            validate_question(q.question, settings.max_question_chars)
        except UsageError as exc:
            raise UsageError(f"{path}: question {q.id}: {exc}") from None
    k = settings.k if k is None else k
    retriever = get_retriever(settings)
    snapshot = retriever.snapshot
    chunk_ids, chunk_texts, chunk_docs = [], [], {}
    for chunk_id, doc_id, text in snapshot.iter_chunks():
        chunk_ids.append(chunk_id)
        chunk_texts.append(text)
        chunk_docs[chunk_id] = doc_id
    article_languages = {a.id: a.language for a in snapshot.articles()}
    # a story and its wire copies are one source: counted once, and a copy
    # of a gold article is as good as the article (rag.ingest.copies)
    story_of = stories(snapshot)
    # Each question's key phrases against every passage, once: the labels
    # serve both the label check and the relevance of the ranking.
    phrase_matches = {}
    for q in questions:
        labels = relevance_labels(chunk_texts, q.key_phrases)
        phrase_matches[q.id] = frozenset(c for c, hit in zip(chunk_ids, labels, strict=True) if hit)
    problems = scoring.label_problems(
        questions, set(article_languages), set(chunk_ids), phrase_matches
    )
    for problem in problems:
        log.warning("%s: %s", path, problem)

    def relevant(q) -> tuple[frozenset[str], int]:
        ids = phrase_matches[q.id] | set(q.gold_passages)
        return frozenset(ids), scoring.distinct_relevant(ids, chunk_docs, story_of)

    def bar(items):
        from tqdm import tqdm

        return tqdm(items, desc="Evaluating", unit="question", disable=not progress, leave=False)

    depth = max(k, scoring.RANKING_DEPTH)
    results = scoring.run(
        questions,
        answer_fn=lambda q: answer(
            q.question, k=k, generator=generator, settings=settings, **q.dates(since, until)
        ),
        rank_fn=lambda q: retriever.retrieve(q.question, depth, **q.dates(since, until)),
        expected_dates=lambda q: q.expected_range(since, until),
        source_of=lambda doc_id: story_of.get(doc_id, doc_id),
        relevant_fn=relevant,
        article_languages=article_languages,
        detect=detect_language,
        k=k,
        progress=bar,
    )
    meta = {
        "testset": str(path),
        "questions": len(questions),
        "k": k,
        "since": since,
        "until": until,
        "generator": generator,
        "embedder": retriever.embedder.id,
        "index": f"{snapshot.location} (commit {snapshot.info.generation})",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label_problems": problems,
    }
    built = report.build(results, scoring.summarize(results), meta)
    # every relevant passage, for the TREC qrels (`--export-trec`)
    judged = {q.id: relevant(q) for q in questions if q.answerable}
    built["qrels"] = {qid: sorted(ids) for qid, (ids, n) in judged.items() if n}
    return built


def read_report(path: Path) -> dict:
    """A report.json written by `rag eval --out`, checked enough to compare."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read report {path}: {exc}") from None
    summary = data.get("summary") if isinstance(data, dict) else None
    rows = summary.values() if isinstance(summary, dict) else ()
    well_formed = bool(rows) and all(
        isinstance(row, dict)
        and all(
            value is None or (isinstance(value, int | float) and not isinstance(value, bool))
            for value in row.values()
        )
        for row in rows
    )
    if not well_formed:
        raise UsageError(
            f"{path} is not a report.json written by `rag eval --out` "
            "(its summary must map each subset to metric values)"
        )
    return data


class RagasExport(NamedTuple):
    """What `export_ragas` wrote: how many samples, and how many questions
    it left out because RAGAS cannot score them against a reference."""

    samples: int
    unanswerable: int  # RAGAS has no score for declining to answer
    unjudged: int  # answerable, but no passage in the index is labelled relevant


def export_ragas(
    report: dict, testset: Path, out: Path, settings: Settings | None = None
) -> RagasExport:
    """Write the run as RAGAS JSONL (`ragas.EvaluationDataset.from_jsonl`),
    one sample per line in test-set order, each question's relevant passages
    read from the index `settings` names (see `rag.evaluation.report.ragas_rows` for the
    columns). Unanswerable questions and those without a relevant passage
    are left out, and counted: RAGAS would score them 0, meaning nothing."""
    from rag.evaluation.report import ragas_rows
    from rag.evaluation.testset import load_testset
    from rag.store import open_store

    references = {q.id: q.reference for q in load_testset(Path(testset))}
    wanted = {c for ids in report.get("qrels", {}).values() for c in ids}
    passages = {}
    if wanted:  # the relevant passages' texts, from the index the run read
        snapshot = open_store(settings or Settings.from_env()).open()
        passages = {c: text for c, _, text in snapshot.iter_chunks() if c in wanted}
    rows = ragas_rows(report, references, passages)
    # ASCII: from_jsonl reads with the platform's default encoding
    text = "".join(json.dumps(row) + "\n" for row in rows)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RagError(f"cannot write {out}: {exc}") from None
    unanswerable = sum(not q["answerable"] for q in report["questions"])
    return RagasExport(len(rows), unanswerable, len(report["questions"]) - unanswerable - len(rows))


def export_trec(report: dict, out: Path) -> list[Path]:
    """run.trec and qrels.trec in `out`: the rankings and the relevant
    passages, scored the same way by `ir_measures` or trec_eval."""
    from rag.evaluation.report import trec_qrels, trec_run

    paths = [out / "run.trec", out / "qrels.trec"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths[0].write_text("\n".join(trec_run(report)) + "\n", encoding="utf-8")
        paths[1].write_text("\n".join(trec_qrels(report)) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RagError(f"cannot write {out}: {exc}") from None
    return paths
