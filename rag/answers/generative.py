"""Generated answers, checked claim by claim before anyone sees them.

The model gets the prompt from prompts/ (numbered, delimited passages). Its
text is split into claims as it streams (`rag.answers.citations.claims`); each claim
that is complete is checked against the passages it cites
(`rag.answers.claims.check_claim`), and only supported claims are shown, with their
markers renumbered to the exact sentences that state them. Unsupported claims
are left out and reported with the reason. A model that answers with the
no-answer sentinel is taken at its word.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answers.citations import cite, claims
from rag.answers.claims import CitedPassage, ClaimCheck, ClaimRules, check_claim
from rag.answers.conversation import accept_rewrite
from rag.answers.generation import Generator
from rag.answers.hostile import flag_sentences
from rag.answers.prompts import NO_ANSWER, answer_prompt, rewrite_prompt
from rag.records import Hit, Sentence
from rag.search.retrieval import Retriever


@dataclass(frozen=True)
class Generated:
    """What a model said, and what survived the check."""

    raw: str  # the model's text, unedited
    checks: tuple[ClaimCheck, ...]
    supported: tuple[tuple[str, tuple[tuple[Sentence, Hit], ...]], ...]
    sentinel: bool  # the model said the passages do not answer
    first_token: float | None = None  # seconds from the prompt to the model's first text


def is_sentinel(text: str) -> bool:
    """True when the model's answer is the no-answer sentinel.

    >>> is_sentinel("  NO_ANSWER"), is_sentinel("The loan [1]. NO_ANSWER")
    (True, False)
    """
    return text.strip().strip("`*\"'.").upper().startswith(NO_ANSWER)


def sentences_of(retriever: Retriever, hit: Hit) -> list[tuple[Sentence, np.ndarray]]:
    """The sentences inside a passage that may be quoted or support a claim,
    with their vectors from ingest. Suspect sentences (`rag.hostile`: orders
    to a machine reader, forged frames, links, markup) are left out: an
    article can be read, never obeyed."""
    found = retriever.article_sentences(hit.doc_id)
    if found is None:  # removed since it was retrieved
        return []
    article, sentences, vectors = found
    flags = flag_sentences(article.text, tuple((s.start, s.end) for s in sentences))
    return [
        (sentence, vectors[i])
        for i, (sentence, flag) in enumerate(zip(sentences, flags, strict=True))
        if flag is None and hit.start <= sentence.start and sentence.end <= hit.end
    ]


def generate(
    retriever: Retriever,
    model: Generator,
    question: str,
    language: str,
    hits: Sequence[Hit],
    rules: ClaimRules,
) -> Iterator[str | Generated]:
    """Yields the checked answer text as it grows, then the `Generated` record."""
    prompt = answer_prompt(question, [h.text for h in hits], language)
    found = {n: sentences_of(retriever, h) for n, h in enumerate(hits, start=1)}
    passages = {
        n: CitedPassage(
            text=hits[n - 1].text,
            language=hits[n - 1].language,
            sentences=tuple(s.text for s, _ in pairs),
            vectors=np.array([v for _, v in pairs]) if pairs else np.zeros((0, 1)),
        )
        for n, pairs in found.items()
    }
    checks: list[ClaimCheck] = []
    supported: list[tuple[str, tuple[tuple[Sentence, Hit], ...]]] = []
    settled = 0  # claims of the text checked so far

    def settle(parts: list[tuple[str, list[int]]]) -> bool:
        """Check claims not yet checked; True when one more is shown."""
        nonlocal settled
        grew = False
        for text, numbers in parts[settled:]:
            settled += 1
            if not text.strip():
                continue
            vector = retriever.embedder.embed_queries([text])[0]
            verdict = check_claim(text, vector, numbers, passages, language, rules)
            checks.append(verdict)
            if verdict.supported:
                support = tuple((found[n][i][0], hits[n - 1]) for n, i in verdict.support)
                supported.append((text, support))
                grew = True
        return grew

    raw = ""
    started, first_token = time.perf_counter(), None
    for piece in model.stream(prompt):
        if first_token is None and piece:
            first_token = time.perf_counter() - started
        raw += piece
        if is_sentinel(raw) and len(raw.strip()) >= len(NO_ANSWER):
            break
        parts = claims(raw)
        if settle(parts[:-1]):  # the last claim may still be growing
            yield cite(supported)[0]
    sentinel = is_sentinel(raw)
    if not sentinel and settle(claims(raw)):
        yield cite(supported)[0]
    yield Generated(raw, tuple(checks), tuple(supported), sentinel, first_token)


REWRITE_TOKENS = 60  # a question, not an essay


def rewrite_question(model: Generator, question: str, history: Sequence[str]) -> str | None:
    """The follow-up `question` made standalone by the model, or None when its
    reply cannot be one (`rag.answers.conversation.accept_rewrite`). Reading stops at
    the end of the first line."""
    text = ""
    pieces = model.stream(rewrite_prompt(question, history), max_tokens=REWRITE_TOKENS)
    try:
        for piece in pieces:
            text += piece
            if "\n" in text.strip():
                break
    finally:
        close = getattr(pieces, "close", None)
        if close:
            close()
    return accept_rewrite(text, question, history)
