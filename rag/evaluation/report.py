"""Evaluation reports: JSON, Markdown, a terminal table, a chart, comparisons.

Pure rendering over the plain dicts `rag.scoring` produces, except
`write()` (files) and `chart()` (matplotlib, loaded only when called).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from rag.evaluation.scoring import FAILURES, LOWER_IS_BETTER, QuestionResult

REPORT_VERSION = 1

# Rows of the terminal table and of the chart: the metrics people look at first.
HEADLINE = (
    "passage_hit@{k}",
    "article_recall@{k}",
    "mrr@10",
    "ndcg@10",
    "key_fact",
    "token_f1",
    "citation_recall",
    "in_range@{k}",
    "sources@{k}",
    "abstention_recall",
    "false_abstention_rate",
    "unanswerable_caught",
    "warned_answerable",
    "answer_language",
    "total_p50_ms",
)


def build(results: Sequence[QuestionResult], summary: dict, meta: dict) -> dict[str, object]:
    """The whole report as one JSON-ready dict."""
    return {
        "version": REPORT_VERSION,
        "meta": meta,
        "summary": summary,
        "questions": [r.to_dict() for r in results],
    }


def headline(k: int) -> list[str]:
    return [m.format(k=k) for m in HEADLINE]


def _fmt(value: object, metric: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if metric.endswith("_ms"):
        return f"{value:.0f}"
    return f"{value:.2f}"


def table(report: dict, metric_names: Sequence[str] | None = None) -> list[list[str]]:
    """Rows of cells: a header (metric, then each subset), one row per metric."""
    summary = report["summary"]
    columns = list(summary)
    names = list(metric_names or _all_metrics(summary))
    rows = [["metric", *columns]]
    rows.append(["questions", *(_fmt(summary[c]["questions"]) for c in columns)])
    for name in names:
        rows.append([name, *(_fmt(summary[c].get(name), name) for c in columns)])
    return rows


def _all_metrics(summary: dict) -> list[str]:
    seen: dict[str, None] = {}
    for row in summary.values():
        for name in row:
            if name not in ("questions", "answerable"):
                seen.setdefault(name, None)
    return list(seen)


def terminal(report: dict) -> str:
    """The headline metrics as an aligned plain-text table."""
    k = report["meta"]["k"]
    rows = table(report, [m for m in headline(k) if m in report["summary"]["all"]])
    return "\n".join(align(rows))


def align(rows: list[list[str]], left: int = 1) -> list[str]:
    """Rows of cells as aligned lines, a rule under the header; the first
    `left` columns are left-aligned, the rest right-aligned.

    >>> align([["metric", "all"], ["key_fact", "0.71"]])
    ['metric     all', '--------  ----', 'key_fact  0.71']
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def markdown(report: dict, worst: int = 10) -> str:
    """report.md: what was run, every metric by subset, and the worst questions
    with what went wrong."""
    meta = report["meta"]
    lines = [
        f"# Evaluation of {meta['testset']}",
        "",
        f"{meta['questions']} questions · k={meta['k']} · generator {meta['generator']} · "
        f"embedder {meta['embedder']} · index {meta['index']} · {meta['created']}",
        "",
        "Metrics are means over the questions of each column; retrieval, answer and",
        "citation metrics count answerable questions only. Latencies are in ms.",
        "",
    ]
    rows = table(report)
    lines.append("| " + " | ".join(rows[0]) + " |")
    lines.append("|" + "---|" * len(rows[0]))
    lines.extend("| " + " | ".join(r) + " |" for r in rows[1:])
    failed = [q for q in report["questions"] if q["failure"]]
    counts = {f: sum(q["failure"] == f for q in failed) for f in FAILURES}
    lines += ["", "## What went wrong", ""]
    lines += [f"- {f}: {n}" for f, n in counts.items()]
    lines += ["", f"## Worst questions (up to {worst})", ""]
    if not failed:
        lines.append("None: every question passed.")
    else:
        lines.append("| id | language | question | what went wrong | answer |")
        lines.append("|---|---|---|---|---|")
        for q in sorted(failed, key=_severity)[:worst]:
            lines.append(
                f"| {q['id']} | {q['language']} | {_cell(q['question'])} | {q['failure']} "
                f"| {_cell(q['answer'], 160)} |"
            )
    problems = meta.get("label_problems") or []
    if problems:
        lines += ["", "## Test-set labels that match nothing in the index", ""]
        lines += [f"- {_cell(problem, 200)}" for problem in problems]
    return "\n".join(lines) + "\n"


def _severity(q: dict) -> tuple[int, float, str]:
    return (FAILURES.index(q["failure"]), q["scores"].get("mrr@10") or 0.0, q["id"])


def _cell(text: str, limit: int = 100) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chart(report: dict, path: Path) -> None:
    """A PNG bar chart of the headline quality metrics by question language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = report["meta"]["k"]
    summary = report["summary"]
    names = [m for m in headline(k) if not m.endswith("_ms") and m in summary["all"]]
    groups = [g for g in summary if g != "all"] + ["all"]
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(names)), 4.5), dpi=110)
    width = 0.8 / len(groups)
    for i, group in enumerate(groups):
        values = [summary[group].get(m) for m in names]
        xs = [j + i * width for j in range(len(names))]
        bars = ax.bar(
            xs,
            [0.0 if v is None else v for v in values],
            width,
            label=f"{group} (n={summary[group]['questions']})",
        )
        for bar, value in zip(bars, values, strict=True):
            # No bar is either a real 0 or not measured: say which.
            if value is None or value == 0:
                label = "–" if value is None else "0"
                ax.text(bar.get_x() + width / 2, 0.01, label, ha="center", fontsize=6)
    ax.set_xticks([j + width * (len(groups) - 1) / 2 for j in range(len(names))])
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score (0–1)")
    ax.set_title(f"{report['meta']['testset']}: quality by question language")
    ax.legend(fontsize=7, ncol=min(4, len(groups)), loc="upper center", bbox_to_anchor=(0.5, -0.35))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(report: dict, out: Path) -> list[Path]:
    """report.json, report.md and report.png in `out` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.png"]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    chart(report, paths[2])
    return paths


# Latency is noisy: a change counts only when it is both this share of the
# old value and this many milliseconds (two runs of the same code differ by
# a few ms, and by 5% at a 3 ms stage).
LATENCY_TOLERANCE = 0.25
LATENCY_TOLERANCE_MS = 5.0
# Run settings that make two reports incomparable when they differ.
COMPARED_META = ("testset", "questions", "k", "generator", "embedder")


def compare(old: dict, new: dict) -> tuple[list[list[str]], list[str]]:
    """Rows (metric, subset, old, new, change, verdict) for every metric both
    reports hold, and the regressions as messages. Direction-aware: a lower
    false-abstention rate or latency is an improvement. Quality metrics are
    deterministic, so any drop counts; a latency counts as changed only past
    `LATENCY_TOLERANCE` and `LATENCY_TOLERANCE_MS` together.

    >>> old = {"summary": {"all": {"key_fact": 0.75, "total_p50_ms": 20.0}}}
    >>> new = {"summary": {"all": {"key_fact": 0.70, "total_p50_ms": 23.0}}}
    >>> compare(old, new)[1]
    ['key_fact (all): 0.75 -> 0.70']
    """
    rows = [["metric", "subset", "old", "new", "change", ""]]
    regressions = []
    for subset, new_row in new["summary"].items():
        old_row = old["summary"].get(subset)
        if old_row is None:
            continue
        for metric, value in new_row.items():
            before = old_row.get(metric)
            if metric in ("questions", "answerable") or value is None or before is None:
                continue
            change = value - before
            lower_better = metric in LOWER_IS_BETTER or metric.endswith("_ms")
            worse = change > 0 if lower_better else change < 0
            if metric.endswith("_ms"):
                tolerance = max(LATENCY_TOLERANCE * abs(before), LATENCY_TOLERANCE_MS)
            else:
                tolerance = 1e-9
            verdict = ""
            if abs(change) > tolerance:
                verdict = "REGRESSION" if worse else "better"
            if verdict == "REGRESSION":
                regressions.append(
                    f"{metric} ({subset}): {_fmt(before, metric)} -> {_fmt(value, metric)}"
                )
            sign = "+" if change > 0 else ""
            rows.append(
                [
                    metric,
                    subset,
                    _fmt(before, metric),
                    _fmt(value, metric),
                    f"{sign}{change:.0f}" if metric.endswith("_ms") else f"{sign}{change:.2f}",
                    verdict,
                ]
            )
    return rows, regressions


def meta_differences(old: dict, new: dict) -> list[str]:
    """The run settings in which two reports differ, as messages: their
    numbers then measure different things.

    >>> meta_differences({"meta": {"k": 5}}, {"meta": {"k": 3}})
    ['k: 5 -> 3']
    """
    before, after = old.get("meta") or {}, new.get("meta") or {}
    return [
        f"{key}: {before.get(key)} -> {after.get(key)}"
        for key in COMPARED_META
        if before.get(key) != after.get(key)
    ]


def ragas_rows(
    report: dict, references: Mapping[str, str], passages: Mapping[str, str]
) -> list[dict]:
    """One RAGAS `SingleTurnSample` per question the run judged, in report
    order: `user_input`, `retrieved_contexts` (the answer's passages),
    `response`, `reference` (the test set's reference answer),
    `reference_contexts` (the texts of the question's relevant passages,
    `report["qrels"]`: the relevance the passage metrics and the TREC qrels
    use), and ids RAGAS passes over or its ID-based metrics read: `id` (the
    question's), `retrieved_context_ids` and `reference_context_ids`
    (passage ids). `passages` maps passage ids to their texts; a relevant
    passage it lacks (a gold passage the index does not hold) is left out.

    Only questions with relevant passages become samples: an unanswerable
    question has no reference for RAGAS to score (it would average in a 0
    meaning nothing), nor has one without a passage labelled relevant.

    >>> report = {"qrels": {"q1": ["c2"]}, "questions": [
    ...     {"id": "q1", "question": "Q?", "answer": "A [1].", "contexts": ("text 1",),
    ...      "retrieved": [{"chunk_id": "c1"}, {"chunk_id": "c2"}]},
    ...     {"id": "q2", "question": "Q2?", "answer": "", "contexts": (), "retrieved": []}]}
    >>> ragas_rows(report, {"q1": "A."}, {"c2": "text 2"})  # doctest: +NORMALIZE_WHITESPACE
    [{'id': 'q1', 'user_input': 'Q?', 'retrieved_contexts': ['text 1'], 'response': 'A [1].',
      'reference': 'A.', 'reference_contexts': ['text 2'], 'retrieved_context_ids': ['c1'],
      'reference_context_ids': ['c2']}]
    """
    qrels = report.get("qrels", {})
    rows = []
    for q in report["questions"]:
        relevant = [c for c in qrels.get(q["id"], ()) if c in passages]
        if not relevant:
            continue
        contexts = list(q["contexts"])
        rows.append(
            {
                "id": q["id"],
                "user_input": q["question"],
                "retrieved_contexts": contexts,
                "response": q["answer"],
                "reference": references.get(q["id"], ""),
                "reference_contexts": [passages[c] for c in relevant],
                # the answer's passages are the top of the run's ranking
                "retrieved_context_ids": [r["chunk_id"] for r in q["retrieved"][: len(contexts)]],
                "reference_context_ids": relevant,
            }
        )
    return rows


def trec_run(report: dict, name: str = "rag") -> list[str]:
    """The run's rankings as TREC run lines ("qid Q0 docno rank score tag"),
    passages by chunk id, the best first (score: depth - rank + 1), for
    trec_eval or `ir_measures.read_trec_run`.

    >>> trec_run({"questions": [{"id": "q1", "retrieved": [{"chunk_id": "a"}, {"chunk_id": "b"}]}]})
    ['q1 Q0 a 1 2 rag', 'q1 Q0 b 2 1 rag']
    """
    lines = []
    for q in report["questions"]:
        ranked = q["retrieved"]
        for rank, r in enumerate(ranked, start=1):
            lines.append(f"{q['id']} Q0 {r['chunk_id']} {rank} {len(ranked) - rank + 1} {name}")
    return lines


def trec_qrels(report: dict) -> list[str]:
    """The relevant passages of every question ("qid 0 docno 1"): those that
    hold a key phrase or are gold passages, as the run was scored with."""
    return [
        f"{qid} 0 {chunk_id} 1"
        for qid, chunk_ids in report.get("qrels", {}).items()
        for chunk_id in chunk_ids
    ]
