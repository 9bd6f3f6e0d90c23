"""OpenAI-compatible chat servers (Ollama, vLLM, llama.cpp, OpenAI) through
LangChain's `ChatOpenAI`, streamed."""

from __future__ import annotations

import os
from collections.abc import Iterator

from rag.answers.generation import STOP
from rag.errors import GeneratorError


class OpenAIGenerator:
    def __init__(self, model: str, base_url: str = "", max_tokens: int = 256) -> None:
        self.model = model
        self.base_url = base_url
        self.max_tokens = max_tokens
        self._chat = None

    @property
    def id(self) -> str:
        return f"openai:{self.model}"

    def _client(self):
        if self._chat is None:
            try:
                from langchain_openai import ChatOpenAI
            except ImportError:
                raise GeneratorError(
                    "openai:<model> needs langchain-openai (pip install langchain-openai)"
                ) from None
            self._chat = ChatOpenAI(
                model=self.model,
                base_url=self.base_url or None,
                # Local servers want no key; the client insists on one.
                api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
                temperature=0,
                # LangChain sends `max_completion_tokens`, which only OpenAI
                # itself reads; llama.cpp, vLLM and Ollama read `max_tokens`
                # (without it llama.cpp's server wrote 3,500 tokens where 200
                # were asked for).
                max_tokens=None if self.base_url else self.max_tokens,
                extra_body={"max_tokens": self.max_tokens} if self.base_url else None,
                timeout=120,
                max_retries=1,
                streaming=True,
            )
        return self._chat

    def stream(self, prompt: str, max_tokens: int | None = None) -> Iterator[str]:
        from langchain_core.messages import HumanMessage

        limit = max_tokens or self.max_tokens
        options = {"extra_body": {"max_tokens": limit}} if self.base_url else {"max_tokens": limit}
        try:
            messages = [HumanMessage(content=prompt)]
            for chunk in self._client().stream(messages, stop=list(STOP), **options):
                if isinstance(chunk.content, str) and chunk.content:
                    yield chunk.content
        except GeneratorError:
            raise
        except Exception as exc:  # the client's connection, auth and API errors
            where = self.base_url or "the OpenAI API"
            raise GeneratorError(f"{self.id} at {where} failed: {exc}") from None
