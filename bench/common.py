"""What the benchmark scripts in bench/ share: paths, machine facts, load, stats, dev questions.

It owns:

  - ROOT (the project root) and DEV_SET (tests/data/dev.jsonl);
  - the parent/child protocol: a benchmark re-runs its own script in a subprocess
    (cwd ROOT), the child prints its result as one line "BENCH_RESULT {json}" on
    stdout (`emit_result`) and the parent picks up the last such line and adds how
    many cores other processes used meanwhile (`run_child_script`);
  - machine facts for a report's "meta" (`machine_info`, `cpu_model`,
    `package_version`) and the machine-wide CPU accounting behind the "other load"
    figure (`load_probe`, `other_load`);
  - latency statistics in milliseconds (`stats_ms`) and the dev-set questions
    (`dev_questions`);
  - a retriever on a fresh index of seeds/ in a temporary directory
    (`seed_retriever`), for the probes and tuning scripts;
  - writing the JSON output (`write_json`) and SIGTERM handling (`exit_on_sigterm`).

The scripts put bench/ on sys.path and `import common`. It imports nothing from rag at
module level; `use_project` puts ROOT on sys.path for the functions that need rag.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "tests" / "data" / "dev.jsonl"
RESULT = "BENCH_RESULT "  # prefix of the child's result line on stdout


def use_project() -> None:
    """Make the project's `rag` importable from ROOT."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------- child/parent protocol


def emit_result(result: dict) -> None:
    """In a child: print `result` as the line the parent looks for."""
    print(RESULT + json.dumps(result), flush=True)


def run_child_script(command: list[str], what: str, load_key: str, **run_args: object) -> dict:
    """Run a child (cwd ROOT; stderr passes through, stdout is captured) and return its
    result, with `load_key` = cores used on average by other processes meanwhile.

    `run_args` go to subprocess.run (input=, env=). On a non-zero exit or no result
    line, writes the child's stdout to stderr and raises RuntimeError("<what> failed").
    """
    probe = load_probe()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, **run_args)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stdout)
        raise RuntimeError(f"{what} failed (exit {done.returncode})")
    result = json.loads(lines[-1][len(RESULT) :])
    result[load_key] = other_load(probe)
    return result


def parts_main(script: str, parts: dict, out: str, libraries: tuple[str, ...]) -> int:
    """The `main` of a benchmark made of parts (`{name: function(rounds) -> dict}`):
    `--part all` runs each part in a child process of its own (so one part's
    threads or servers do not share the cores with the next), records the machine,
    the load other processes put on it and the load average at the end, writes
    `--out` and prints the result without its machine facts."""
    import argparse

    parser = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--part", choices=("all", *parts), default="all")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.child:
        use_project()
        emit_result(parts[args.part](args.rounds))
        return 0
    result: dict = {"meta": machine_info({n: package_version(n) for n in libraries})}
    for part in parts if args.part == "all" else (args.part,):
        command = [sys.executable, script, "--child", "--part", part, "--rounds", str(args.rounds)]
        result[part] = run_child_script(command, part, "other_cores")
    result["loadavg_end"] = os.getloadavg()
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "meta"}, indent=1))
    return 0


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the stack unwinds: `finally` blocks run (temp
    dirs removed, a busy process stopped) and subprocess.run kills its running child."""
    signal.signal(signal.SIGTERM, _terminate)


def write_json(path: Path, data: dict) -> None:
    """Write `data` as indented UTF-8 JSON to `path` (creating its folder), and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


# ---------------------------------------------------------------- machine and load


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str | None:
    """The installed version of distribution `name`, None if it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_info(libraries: dict[str, object]) -> dict:
    """Machine, Python, command line, start time and load average, for a report's meta.

    `libraries` (what the script reports about the packages it measures) goes in right
    after "python".
    """
    return {
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        **libraries,
        "command": shlex.join(sys.orig_argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg_start": os.getloadavg(),
    }


def machine_cpu_seconds() -> float:
    """CPU seconds all processes on the machine have used (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def other_load(before: tuple[float, float, float]) -> float:
    """Cores used on average by processes other than this benchmark and its children
    since `before` (= load_probe()): 0 on a quiet machine."""
    machine, ours, wall = before
    elapsed = time.perf_counter() - wall
    used = (machine_cpu_seconds() - machine) - (children_cpu_seconds() - ours)
    return max(used, 0.0) / elapsed if elapsed > 0 else float("nan")


def load_probe() -> tuple[float, float, float]:
    return machine_cpu_seconds(), children_cpu_seconds(), time.perf_counter()


# ---------------------------------------------------------------- measurements


def stats_ms(seconds: list[float]) -> dict[str, float]:
    """p50, p95, mean and max of `seconds`, in milliseconds."""
    import numpy as np

    ms = np.asarray(seconds) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "max_ms": float(ms.max()),
    }


def dev_questions(n: int, distinct: bool = False) -> list[str]:
    """`n` questions from the dev set: the set repeated in order until there are `n`;
    with `distinct`, the set without repeats, then numbered variants of it ("... (2)")."""
    use_project()
    from rag.evaluation.testset import load_testset

    base = [q.question for q in load_testset(DEV_SET)]
    if not distinct:
        return [base[i % len(base)] for i in range(n)]
    out = list(dict.fromkeys(base))
    i = 0
    while len(out) < n:
        out.append(f"{base[i % len(base)]} ({i // len(base) + 2})")
        i += 1
    return out[:n]


@contextlib.contextmanager
def seed_retriever():
    """A `Retriever` on a fresh index of seeds/ with the default settings,
    built in a temporary directory that is removed afterwards."""
    use_project()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.ingest.pipeline import build_index
    from rag.search.retrieval import Retriever
    from rag.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(root=ROOT, index_dir=Path(tmp))
        build_index(settings)
        yield Retriever.open(settings)
