"""The chat app under sustained load, with hostile clients beside normal ones.

Serves `app.py` in a child process on 127.0.0.1 (loopback only), over a
fresh index of seeds/ with the default settings, and talks to it as any
client would: Gradio's HTTP queue API (POST /gradio_api/call/ask, then the
event stream of the result). Two measurements:

  starvation   normal questions, one at a time, alone and then while
               --hostile clients send, as fast as they are answered, the
               requests an attacker would: a 300,000-character chat history,
               a chain of 2,000 follow-ups, a history of junk (numbers,
               nulls), a 5 MB history, the largest history read (15,000
               messages, ~0.9 MB), a 100,000-character question. Figure: the normal
               questions' p50 latency with the attackers over without them
               (same process, side by side, --rounds times), and each hostile
               request's p95 (it must be refused or bounded, not worked on).
  memory       --requests normal questions (distinct: caches fill to their
               bounds) from --clients threads; the server's RSS every
               --every requests. Figure: KB per request over the second half
               (after caches filled), and RSS at the start and end.

Run (from the project root):

    .venv/bin/python bench/bench_load.py [--requests 5000] [--out bench/out/load.json]

Prints a summary and writes JSON to --out; docs/PERFORMANCE.md keeps the
figures. The load average is recorded at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for common
import common

API = "/gradio_api/call/ask"


def ask(base: str, question: object, chat: object, timeout: float = 600.0) -> tuple[float, str]:
    """One /ask call through the queue API: (seconds, the last event's kind:
    "complete" or "error")."""
    body = json.dumps({"data": [question, chat, 5, [], "extractive"]}).encode()
    started = time.perf_counter()
    request = urllib.request.Request(
        base + API, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            event_id = json.loads(r.read())["event_id"]
    except urllib.error.HTTPError as e:  # refused at the door (413 for a body too large)
        return time.perf_counter() - started, f"http {e.code}"
    kind = "none"
    with urllib.request.urlopen(f"{base}{API}/{event_id}", timeout=timeout) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
                if kind in ("complete", "error"):
                    break
    return time.perf_counter() - started, kind


def _message(role: str, text: str) -> dict:
    """A chat message as Gradio 6 sends it: content is a list of blocks."""
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _turns(n: int) -> list[dict]:
    chat = []
    for i in range(n):
        chat.append(_message("user", f"And what about point {i} of the sanctions?"))
        chat.append(_message("assistant", f"Answer {i}."))
    return chat


HOSTILE = {
    "huge_history": lambda: [
        _message("user", "Lukashenko " * 27_273),  # 300,000 characters
        _message("assistant", "…"),
    ],
    "chain_2000": lambda: _turns(2000),
    "junk_history": lambda: [1, None, "x", {"role": 5}, [], {"content": None}] * 500,
    "oversized_5mb": lambda: _turns(30_000),  # ~5 MB of JSON: refused at the door
    # the most a request may hold (just under RAG_APP_MAX_REQUEST_BYTES): the
    # costliest request that is read, all of it parsed by Gradio
    "largest_allowed": lambda: [_message("user", "a")] * 15_000,
}
HUGE_QUESTION = "Why? " * 20_000  # 100,000 characters


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def serve(index: Path, port: int, log: Path) -> subprocess.Popen:
    """app.py in a child, its output to `log` (a pipe nobody reads would fill
    and stop the server once it has logged 64 KB of refused requests)."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "RAG_INDEX_DIR": str(index),
        "RAG_APP_PORT": str(port),
        "RAG_APP_HOST": "127.0.0.1",
    }
    env.pop("RAG_APP_PASSWORD", None)
    child = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=common.ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the app exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return child
        except OSError:
            time.sleep(0.5)
    child.kill()
    raise SystemExit("the app did not start in 300 s")


def starvation(base: str, questions: list[str], hostile: int, rounds: int) -> dict:
    """p50 of normal questions without and with `hostile` attacking clients."""
    alone, attacked = [], []
    hostile_times: dict[str, list[float]] = {name: [] for name in [*HOSTILE, "huge_question"]}
    kinds: dict[str, set[str]] = {name: set() for name in hostile_times}
    for _ in range(rounds):
        alone += [ask(base, q, [])[0] for q in questions]
        stop = threading.Event()

        def attack(i: int, stop: threading.Event) -> None:
            names = list(hostile_times)
            n = i
            while not stop.is_set():
                name = names[n % len(names)]
                n += 1
                try:
                    if name == "huge_question":
                        seconds, kind = ask(base, HUGE_QUESTION, [], timeout=120)
                    else:
                        seconds, kind = ask(base, "And then?", HOSTILE[name](), timeout=120)
                except OSError as e:  # a timeout is a finding, not the end of the run
                    seconds, kind = 120.0, f"failed: {e}"
                hostile_times[name].append(seconds)
                kinds[name].add(kind)

        threads = [threading.Thread(target=attack, args=(i, stop)) for i in range(hostile)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        attacked += [ask(base, q, [])[0] for q in questions]
        stop.set()
        for t in threads:
            t.join()
    a, b = common.stats_ms(alone), common.stats_ms(attacked)
    return {
        "normal_alone": a,
        "normal_attacked": b,
        "p50_ratio": b["p50_ms"] / a["p50_ms"],
        "p95_ratio": b["p95_ms"] / a["p95_ms"],
        "hostile": {
            name: {**common.stats_ms(times), "n": len(times), "events": sorted(kinds[name])}
            for name, times in hostile_times.items()
            if times
        },
    }


def memory(base: str, pid: int, requests: int, clients: int, every: int) -> dict:
    questions = common.dev_questions(requests, distinct=True)
    samples: list[tuple[int, int]] = [(0, rss_kb(pid))]
    done = 0
    errors = 0
    lock = threading.Lock()
    started = time.perf_counter()

    def client(i: int) -> None:
        nonlocal done, errors
        for q in questions[i::clients]:
            _, kind = ask(base, q, [])
            with lock:
                done += 1
                errors += kind != "complete"
                if done % every == 0:
                    samples.append((done, rss_kb(pid)))
                    print(f"  {done} requests, RSS {samples[-1][1] / 1024:.0f} MB", flush=True)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples.append((done, rss_kb(pid)))
    half = [(n, kb) for n, kb in samples if n >= requests // 2]
    import numpy as np

    slope = float(np.polyfit([n for n, _ in half], [kb for _, kb in half], 1)[0])
    return {
        "requests": done,
        "errors": errors,
        "seconds": time.perf_counter() - started,
        "rss_start_mb": samples[0][1] / 1024,
        "rss_end_mb": samples[-1][1] / 1024,
        "kb_per_request_second_half": slope,
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--hostile", type=int, default=4, help="attacking clients")
    parser.add_argument("--questions", type=int, default=20, help="normal ones per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    common.exit_on_sigterm()
    result: dict = {"meta": common.machine_info({"gradio": common.package_version("gradio")})}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run(
            [sys.executable, "-m", "rag", "ingest", "--index", str(index)],
            cwd=common.ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            check=True,
            capture_output=True,
        )
        port = common.free_port()
        child = serve(index, port, Path(tmp) / "app.log")
        base = f"http://127.0.0.1:{port}"
        try:
            ask(base, "warm-up", [])
            probe = common.load_probe()
            questions = common.dev_questions(args.questions, distinct=True)
            print("starvation: normal questions alone and beside hostile clients", flush=True)
            result["starvation"] = starvation(base, questions, args.hostile, args.rounds)
            if not args.skip_memory:
                print(f"memory: {args.requests} requests", flush=True)
                result["memory"] = memory(base, child.pid, args.requests, args.clients, args.every)
            result["other_load_cores"] = common.other_load(probe)
        finally:
            child.terminate()
            child.wait(timeout=30)
    result["meta"]["loadavg_end"] = os.getloadavg()
    s = result["starvation"]
    print(
        f"normal p50 {s['normal_alone']['p50_ms']:.0f} ms alone, "
        f"{s['normal_attacked']['p50_ms']:.0f} ms beside {args.hostile} hostile clients "
        f"(x{s['p50_ratio']:.2f}; p95 x{s['p95_ratio']:.2f})"
    )
    for name, h in s["hostile"].items():
        print(f"  {name}: p95 {h['p95_ms']:.0f} ms over {h['n']} requests, events {h['events']}")
    if "memory" in result:
        m = result["memory"]
        print(
            f"memory: {m['requests']} requests ({m['errors']} errors) in {m['seconds']:.0f} s, "
            f"RSS {m['rss_start_mb']:.0f} -> {m['rss_end_mb']:.0f} MB, "
            f"{m['kb_per_request_second_half']:.1f} KB/request over the second half"
        )
    if args.out:
        common.write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
