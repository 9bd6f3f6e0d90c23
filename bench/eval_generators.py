"""`rag eval` with every generator available here, side by side.

Runs the dev set through `answer()` with the extractive generator, with Gemma
3 270M through transformers, and with the same GGUF behind llama.cpp's
OpenAI-compatible server (started here when llama-cpp-python is installed,
as scripts/test.sh does), each on a fresh index of seeds/. Writes each run's
report under --out and prints one table: answer quality, claim support, and
latency (time to the first text shown, and the whole answer).

    .venv/bin/python bench/eval_generators.py [--out bench/out/generators] [--generators A,B]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import cpu_model, free_port  # noqa: E402

from rag.evaluation.evaluate import evaluate_testset  # noqa: E402
from rag.ingest.pipeline import build_index  # noqa: E402
from rag.settings import Settings  # noqa: E402

METRICS = (
    "passage_hit@5",
    "key_fact",
    "token_f1",
    "citation_precision",
    "citation_recall",
    "claim_support",
    "fallback_rate",
    "abstention_recall",
    "false_abstention_rate",
    "answer_language",
    "first_token_p50_ms",
    "first_text_p50_ms",
    "first_text_p95_ms",
    "total_p50_ms",
    "total_p95_ms",
)


@contextlib.contextmanager
def llama_server():
    """llama.cpp's server on the Gemma GGUF, or None when not installed."""
    if importlib.util.find_spec("llama_cpp") is None:
        yield None
        return
    from rag.answers.gen_transformers import packaged_gguf

    port = free_port()
    log = open(tempfile.mktemp(suffix=".log"), "w")  # noqa: SIM115
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_gguf())]
    command += ["--model_alias", "gemma3-270m", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_threads", "2", "--n_ctx", "4096", "--chat_format", "gemma"]
    proc = subprocess.Popen([*command, "--verbose", "False"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--testset", type=Path, default=ROOT / "tests/data/dev.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/generators")
    parser.add_argument("--generators", help="comma-separated; default: all available")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    summaries = {}
    with tempfile.TemporaryDirectory() as tmp, llama_server() as url:
        settings = Settings(root=ROOT, index_dir=Path(tmp), openai_base_url=url or "")
        build_index(settings)
        names = ["extractive", "transformers:gemma3-270m"]
        if url:
            names.append("openai:gemma3-270m")
        if args.generators:
            names = args.generators.split(",")
        for name in names:
            started = time.perf_counter()
            report = evaluate_testset(args.testset, settings=replace(settings), generator=name)
            elapsed = time.perf_counter() - started
            out = args.out / name.replace(":", "_")
            out.mkdir(parents=True, exist_ok=True)
            (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
            summaries[name] = report["summary"]["all"]
            print(f"{name}: {elapsed:.0f} s", file=sys.stderr, flush=True)
    print(f"# {args.testset.name} · {cpu_model()}, {os.cpu_count()} cores\n")
    print("| metric | " + " | ".join(summaries) + " |")
    print("|---|" + "---|" * len(summaries))
    for metric in METRICS:
        cells = []
        for summary in summaries.values():
            value = summary.get(metric)
            cells.append(
                "–"
                if value is None
                else f"{value:.0f}"
                if metric.endswith("_ms")
                else f"{value:.2f}"
            )
        print(f"| {metric} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
