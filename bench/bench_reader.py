"""Gemma 3 270M as a UPR passage reranker: quality on the dev set, and its cost.

UPR (Sachan et al. 2022, "Improving Passage Retrieval with Zero-Shot Question
Generation") scores a passage by the mean log-probability of the question's
tokens given

    Passage: {passage}
    Please write a question based on this passage.
    Question: {question}

This script reranks the project's hybrid retrieval top `--depth` (default 20)
of every dev question (tests/data/dev.jsonl) with the packaged Gemma 3 270M
(`TransformersGenerator("gemma3-270m")`), one English prompt for all languages,
and measures, over the answerable questions (all, and per question language):

  - passage_hit@5 and MRR@10, with relevance as `rag eval` decides it (the
    passage holds a key phrase, `rag.evaluation.metrics.relevance_labels`, or is a gold
    passage), and key_fact: does the extractive answer (`rag.answers.answer.extractive`,
    as `rag eval` scores it) over the ranking's top 5 state a key fact;
  - for the baseline ranking; UPR alone; UPR fused with the baseline by
    reciprocal-rank fusion (k=60) and by the sum of the two scores' z-scores
    (over the reranked passages); each reranking the top 20 and the top 10;
  - the passage truncated to 700 characters: scored only if a retrieved passage
    is longer, otherwise reported as identical to the full passage;
  - latency on 2 torch threads: seconds per question to score 20 and 10
    passages (batched, left-padded; one sequence at a time too, on the first
    `--unbatched` questions), next to one query embedding
    (`retriever.embedder.embed_queries([q])`) in the same process, as a ratio;
  - a side figure: the best UPR score among the baseline top 5, answerable
    versus unanswerable questions (min/median/max), and how many answerable
    questions each unanswerable one's score would wrongly flag.

/proc/loadavg is recorded at the start and end of each timed pass. The batched
scores are checked against unbatched ones (max difference in the JSON).

Run from the project root, after `rag ingest` and one load of the packaged
Gemma (e.g. `rag ask --generator transformers:gemma3-270m "..."`):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_reader.py --depth 20 \
        --out bench/out/reader.json

Prints a small table and writes JSON (per-question rows included) to --out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common
import common

common.use_project()
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "Passage: {passage}\nPlease write a question based on this passage.\nQuestion:"
TRUNCATE = 700
RRF_K = 60
THREADS = 2
TOP = 5  # passages a user sees (Settings.k), hit@5 and the answer's passages
MRR_DEPTH = 10


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# ---------------------------------------------------------------- UPR scoring


class UPR:
    """Mean log P(question tokens | UPR prompt with the passage), per passage."""

    def __init__(self) -> None:
        import torch

        from rag.answers.gen_transformers import TransformersGenerator

        self.torch = torch
        self.tokenizer, self.model = TransformersGenerator("gemma3-270m", threads=THREADS)._load()
        torch.set_num_threads(THREADS)
        self.pad = self.tokenizer.pad_token_id or 0

    def scores(self, question: str, passages: list[str], batch: int) -> list[float]:
        """One score per passage, `batch` sequences per forward pass. The prompt
        and the question are tokenized apart (the question's tokens are the same
        after every passage) and left-padded, so the question is the common
        suffix and only its logits are computed (`logits_to_keep`)."""
        torch = self.torch
        target = self.tokenizer(" " + question, add_special_tokens=False).input_ids
        n = len(target)
        prompts = [
            self.tokenizer(PROMPT.format(passage=p), add_special_tokens=True).input_ids
            for p in passages
        ]
        out: list[float] = []
        for start in range(0, len(prompts), batch):
            seqs = [p + target for p in prompts[start : start + batch]]
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, width - len(s) :] = torch.tensor(s)
                mask[i, width - len(s) :] = 1
            positions = (mask.cumsum(1) - 1).clamp(min=0)
            with torch.inference_mode():
                logits = self.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=positions,
                    logits_to_keep=n + 1,
                ).logits[:, :-1]  # position j predicts question token j
            wanted = torch.tensor(target).expand(len(seqs), n).unsqueeze(-1)
            token_lp = logits.gather(-1, wanted).squeeze(-1) - logits.logsumexp(-1)
            out.extend(token_lp.mean(1).tolist())
        return out


# ---------------------------------------------------------------- rankings and metrics


def rerank(order: list[int], score: list[float], depth: int) -> list[int]:
    """Baseline positions reordered: the first `depth` by `score` (best first,
    ties by baseline rank), the rest in baseline order."""
    head = sorted(order[:depth], key=lambda i: (-score[i], i))
    return head + order[depth:]


def zscores(values: list[float]) -> list[float]:
    mean = statistics.fmean(values)
    sd = statistics.pstdev(values) or 1.0
    return [(v - mean) / sd for v in values]


def rankings(base_scores: list[float], upr: list[float], depth: int) -> dict[str, list[int]]:
    """Each variant's ranking (positions into the baseline list) when reranking
    the baseline's top `depth`."""
    order = list(range(len(upr)))
    head = order[:depth]
    upr_rank = {i: r for r, i in enumerate(sorted(head, key=lambda i: (-upr[i], i)), start=1)}
    rrf = [0.0] * len(upr)
    for i in head:
        rrf[i] = 1 / (RRF_K + i + 1) + 1 / (RRF_K + upr_rank[i])
    zb, zu = zscores([base_scores[i] for i in head]), zscores([upr[i] for i in head])
    zsum = [0.0] * len(upr)
    for i in head:
        zsum[i] = zb[i] + zu[i]
    return {
        f"UPR@{depth}": rerank(order, upr, depth),
        f"RRF(base,UPR)@{depth}": rerank(order, rrf, depth),
        f"z(base)+z(UPR)@{depth}": rerank(order, zsum, depth),
    }


class Judge:
    """Relevance and key facts as `rag eval` decides them (rag/evaluation/evaluate.py)."""

    def __init__(self, retriever, questions) -> None:
        from rag.evaluation.metrics import relevance_labels

        self.retriever = retriever
        ids, texts = [], []
        for chunk_id, _, text in retriever.snapshot.iter_chunks():
            ids.append(chunk_id)
            texts.append(text)
        self.relevant: dict[str, frozenset[str]] = {}
        for q in questions:
            labels = relevance_labels(texts, q.key_phrases)
            phrase = {c for c, hit in zip(ids, labels, strict=True) if hit}
            self.relevant[q.id] = frozenset(phrase | set(q.gold_passages))

    def score(self, q, hits) -> dict[str, float | None]:
        from rag.answers.answer import extractive
        from rag.answers.citations import quote
        from rag.evaluation.metrics import key_fact_match, mrr, success_at_k
        from rag.evaluation.scoring import strip_markers
        from rag.text.language import question_language

        flags = [h.chunk_id in self.relevant[q.id] for h in hits]
        judged = bool(self.relevant[q.id])
        quotes = extractive(
            self.retriever,
            q.question,
            question_language(q.question),
            self.retriever._embed_query(q.question),
            hits[:TOP],
        )
        text = strip_markers(quote(quotes)[0]) if quotes else ""
        return {
            f"hit@{TOP}": success_at_k(flags, TOP) if judged else None,
            f"mrr@{MRR_DEPTH}": mrr(flags, MRR_DEPTH) if judged else None,
            "key_fact": float(key_fact_match(text, q.key_facts)) if q.key_facts else None,
        }


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=20, help="passages reranked (default 20)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--unbatched", type=int, default=10, help="questions timed one sequence at a time"
    )
    parser.add_argument("--limit", type=int, default=0, help="first N questions only (trials)")
    args = parser.parse_args()
    common.exit_on_sigterm()

    from rag.evaluation.testset import load_testset
    from rag.search.retrieval import Retriever
    from rag.settings import Settings

    meta = common.machine_info(
        {
            "torch": common.package_version("torch"),
            "transformers": common.package_version("transformers"),
        }
    )
    questions = load_testset(common.DEV_SET)
    if args.limit:
        questions = questions[: args.limit]
    retriever = Retriever.open(Settings(root=common.ROOT))
    judge = Judge(retriever, questions)
    started = time.perf_counter()
    upr = UPR()
    meta["model_load_s"] = time.perf_counter() - started
    depths = sorted({args.depth, min(10, args.depth)}, reverse=True)
    upr.scores("Vem leder Belarus?", ["Lukasjenko leder Belarus."] * 2, 2)  # warm-up
    retriever.embedder.embed_queries(["Who leads Belarus?"])

    # Pass 1: retrieval, embedding time, UPR scores of the top `depth` (batched).
    hits_of, scores_of, rows = {}, {}, []
    passes = {}
    load = {"start": loadavg()}
    for q in questions:
        t = time.perf_counter()
        retriever.embedder.embed_queries([q.question])
        embed_s = time.perf_counter() - t
        hits = retriever.retrieve(q.question, args.depth)
        t = time.perf_counter()
        scores = upr.scores(q.question, [h.text for h in hits], batch=len(hits))
        rerank_s = time.perf_counter() - t
        hits_of[q.id], scores_of[q.id] = hits, scores
        rows.append(
            {
                "id": q.id,
                "language": q.language,
                "answerable": q.answerable,
                "embed_s": embed_s,
                f"rerank{len(hits)}_s": rerank_s,
                "passages": [h.chunk_id for h in hits],
                "base_scores": [h.score for h in hits],
                "upr_scores": scores,
                "relevant": [h.chunk_id in judge.relevant[q.id] for h in hits],
            }
        )
        print(f"{q.id} {q.language} upr {rerank_s:.2f}s embed {1000 * embed_s:.1f}ms", flush=True)
    load["end"] = loadavg()
    passes[f"rerank{args.depth}_batched"] = load

    # Pass 2: latency of 10 passages, batched.
    if args.depth > 10:
        load = {"start": loadavg()}
        for q, row in zip(questions, rows, strict=True):
            t = time.perf_counter()
            upr.scores(q.question, [h.text for h in hits_of[q.id][:10]], batch=10)
            row["rerank10_s"] = time.perf_counter() - t
        load["end"] = loadavg()
        passes["rerank10_batched"] = load

    # Pass 3: one sequence at a time, on the first questions; checks the batching.
    load = {"start": loadavg()}
    diffs = []
    for q, row in list(zip(questions, rows, strict=True))[: args.unbatched]:
        t = time.perf_counter()
        single = upr.scores(q.question, [h.text for h in hits_of[q.id]], batch=1)
        row[f"rerank{args.depth}_unbatched_s"] = time.perf_counter() - t
        diffs.append(max(abs(a - b) for a, b in zip(single, scores_of[q.id], strict=True)))
    load["end"] = loadavg()
    passes[f"rerank{args.depth}_unbatched"] = load

    # Truncation: the passages as they are, unless one exceeds TRUNCATE.
    longest = max(len(h.text) for hits in hits_of.values() for h in hits)
    truncated_scores = None
    if longest > TRUNCATE:
        truncated_scores = {
            q.id: upr.scores(q.question, [h.text[:TRUNCATE] for h in hits_of[q.id]], args.depth)
            for q in questions
        }

    # Quality of every ranking.
    variants: dict[str, dict[str, list]] = {}  # variant -> question id -> hits
    for q in questions:
        hits, base = hits_of[q.id], [h.score for h in hits_of[q.id]]
        orders = {"baseline (hybrid)": list(range(len(hits)))}
        for depth in depths:
            orders.update(rankings(base, scores_of[q.id], depth))
        if truncated_scores is not None:
            orders[f"UPR@{args.depth} trunc{TRUNCATE}"] = rerank(
                list(range(len(hits))), truncated_scores[q.id], args.depth
            )
        for name, order in orders.items():
            variants.setdefault(name, {})[q.id] = [hits[i] for i in order]
    answerable = [q for q in questions if q.answerable]
    languages = sorted({q.language for q in answerable})
    per_question = {
        name: {q.id: judge.score(q, ranked[q.id]) for q in answerable}
        for name, ranked in variants.items()
    }
    summary = {}
    for name, scored in per_question.items():
        summary[name] = {}
        for subset in ["all", *languages]:
            group = [q for q in answerable if subset in ("all", q.language)]
            summary[name][subset] = {
                "n": len(group),
                **{m: mean(scored[q.id][m] for q in group) for m in next(iter(scored.values()))},
            }
    for row in rows:
        if row["answerable"]:
            row["metrics"] = {name: per_question[name][row["id"]] for name in per_question}

    # Side figure: best UPR score among the baseline top 5.
    best = {q.id: max(scores_of[q.id][:TOP]) for q in questions}
    ans = [best[q.id] for q in questions if q.answerable]
    unans = sorted(best[q.id] for q in questions if not q.answerable)
    separation = {
        "answerable": spread(ans),
        "unanswerable": spread(unans) if unans else None,
        # abstaining at or below each unanswerable score: (caught, answerable flagged)
        "thresholds": [
            {
                "at": u,
                "unanswerable_caught": sum(v <= u for v in unans),
                "answerable_flagged": sum(v <= u for v in ans),
            }
            for u in unans
        ],
    }

    # Latency.
    def per_q(key: str) -> dict[str, float] | None:
        values = [row[key] for row in rows if key in row]
        return (
            {
                "median": statistics.median(values),
                "mean": statistics.fmean(values),
                "max": max(values),
                "n": len(values),
            }
            if values
            else None
        )

    embed = per_q("embed_s")
    latency = {"embed_s": embed}
    for key in (f"rerank{args.depth}_s", "rerank10_s", f"rerank{args.depth}_unbatched_s"):
        stats = per_q(key)
        if stats:
            latency[key] = {**stats, "ratio_to_embed_median": stats["median"] / embed["median"]}

    meta["loadavg_end"] = os.getloadavg()
    result = {
        "meta": {
            **meta,
            "prompt": PROMPT,
            "depth": args.depth,
            "threads": THREADS,
            "questions": len(questions),
            "answerable": len(answerable),
            "longest_passage_chars": longest,
            "truncation": (
                f"scored at {TRUNCATE} chars"
                if truncated_scores is not None
                else f"identical: no retrieved passage exceeds {TRUNCATE} chars (longest {longest})"
            ),
            "batched_vs_unbatched_max_abs_diff": max(diffs) if diffs else None,
            "loadavg_per_pass": passes,
        },
        "summary": summary,
        "latency": latency,
        "best_upr_top5": separation,
        "questions": rows,
    }
    print_table(result, languages)
    common.write_json(args.out, result)


def print_table(result: dict, languages: list[str]) -> None:
    def f(v) -> str:
        return "   –" if v is None else f"{v:.3f}"

    cols = ["all", *languages]
    print(f"\n{'ranking':28} " + " ".join(f"{c:>21}" for c in cols))
    print(f"{'':28} " + " ".join(f"{'hit@5  MRR@10  fact':>21}" for _ in cols))
    for name, row in result["summary"].items():
        cells = [
            f"{f(row[c]['hit@5'])} {f(row[c]['mrr@10'])} {f(row[c]['key_fact'])}" for c in cols
        ]
        print(f"{name:28} " + " ".join(f"{c:>21}" for c in cells))
    base = result["summary"]["baseline (hybrid)"]
    counts = ", ".join(f"{c} {base[c]['n']}" for c in cols)
    print(f"\n(n = {counts} answerable questions; truncation: {result['meta']['truncation']})")
    print("\nlatency per question (median s, ratio to one query embedding):")
    for key, stats in result["latency"].items():
        ratio = stats.get("ratio_to_embed_median")
        print(
            f"  {key:24} {stats['median']:.4f} s (n={stats['n']})"
            + (f"  x{ratio:.0f}" if ratio else "")
        )
    sep = result["best_upr_top5"]
    print("\nbest UPR score in baseline top 5 (min / median / max):")
    for group in ("answerable", "unanswerable"):
        s = sep[group]
        if s:
            print(f"  {group:12} {s['min']:.3f} / {s['median']:.3f} / {s['max']:.3f}")
    for t in sep["thresholds"]:
        print(
            f"  abstain at <= {t['at']:.3f}: catches {t['unanswerable_caught']} unanswerable, "
            f"flags {t['answerable_flagged']} answerable"
        )
    print(
        f"\nbatched vs unbatched max |diff|: {result['meta']['batched_vs_unbatched_max_abs_diff']}"
    )
    print(f"loadavg per pass: {result['meta']['loadavg_per_pass']}")


if __name__ == "__main__":
    main()
