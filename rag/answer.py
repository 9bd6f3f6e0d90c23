"""Cited answers: retrieve, pick the sentences that answer, cite each one.

`answer()` serves the CLI, the app and the evaluation alike. The default
generator is extractive and offline: it quotes sentences of the retrieved
passages (in their own language) and follows each with [n]. When the
passages do not support an answer it abstains, saying so in the question's
language, and still returns the closest passages.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np

from rag.citations import quote
from rag.conversation import standalone_query
from rag.extractive import Candidate, score, select, word_overlap
from rag.language import question_language
from rag.lexical import tokenize
from rag.query import validate_question
from rag.records import Answer, Citation, Hit
from rag.retrieval import Retriever, get_retriever
from rag.settings import Settings

NO_ANSWER_TEXT = {
    "en": "The articles don't answer this question.",
    "sv": "Artiklarna ger inget svar på den frågan.",
    "nb": "Artiklene gir ikke svar på det spørsmålet.",
    "nn": "Artiklane gir ikkje svar på det spørsmålet.",
    "da": "Artiklerne giver ikke svar på det spørgsmål.",
}


def answer(
    question: str,
    k: int | None = None,
    languages: Sequence[str] | None = None,
    history: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
) -> Answer:
    """Answer `question` from the articles, citing a sentence for every claim.

    `history` holds earlier questions of the conversation, oldest first; a
    follow-up ("And what did the EU do?") is searched together with the
    question it follows (`Answer.search_query` shows what was searched).

    Example (needs an index: run `rag ingest` first)::

        import rag
        a = rag.answer("Varför stöder Ryssland Lukasjenko?")
        print(a.text)            # sentences, each followed by [n]
        a.citations[0].sentence  # the exact sentence behind [1]
    """
    *_, final = stream_answer(question, k, languages, history, settings=settings)
    assert isinstance(final, Answer)
    return final


def stream_answer(
    question: str,
    k: int | None = None,
    languages: Sequence[str] | None = None,
    history: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
) -> Iterator[str | Answer]:
    """Like `answer`, but yields the growing answer text first, then the Answer."""
    settings = settings or Settings.from_env()
    question = validate_question(question, settings.max_question_chars)
    retriever = get_retriever(settings)
    yield from _stream(retriever, question, k, languages, history)


def _stream(
    retriever: Retriever,
    question: str,
    k: int | None,
    languages: Sequence[str] | None,
    history: Sequence[str] | None,
) -> Iterator[str | Answer]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    query = standalone_query(question, history)
    qlang = question_language(question)
    qvec = retriever._embed_query(query)
    timings["embed"] = time.perf_counter() - started

    started = time.perf_counter()
    hits = tuple(retriever.retrieve(query, k, languages))
    timings["retrieve"] = time.perf_counter() - started

    started = time.perf_counter()
    found, candidates = candidates_for(retriever, query, qlang, qvec, hits)
    settings = retriever.settings
    vectors = np.array([v for _, v, _ in found]) if found else np.zeros((0, retriever.index.dim))
    scores = score(candidates)
    chosen = select(candidates, scores, vectors)
    citations: tuple[Citation, ...] = ()
    if _abstains(candidates, settings) or not chosen:
        text = NO_ANSWER_TEXT.get(qlang, NO_ANSWER_TEXT["en"])
        yield text
    else:
        quotes = [(found[i][0], found[i][2]) for i in chosen]
        for end in range(1, len(quotes) + 1):  # one claim at a time
            text, citations = quote(quotes[:end])
            yield text
    timings["generate"] = time.perf_counter() - started
    yield Answer(
        question=question,
        search_query=query,
        text=text,
        citations=citations,
        hits=hits,
        abstained=not citations,
        question_language=qlang,
        timings=timings,
    )


def candidates_for(
    retriever: Retriever, query: str, qlang: str, qvec: np.ndarray, hits: Sequence[Hit]
) -> tuple[list, list[Candidate]]:
    """The sentences inside the hits (see `_sentences_in`) and their signals."""
    found = _sentences_in(retriever, hits)
    question_words = set(tokenize(query, qlang))
    candidates = [
        Candidate(
            doc_id=sentence.doc_id,
            start=sentence.start,
            language=hit.language,
            dense=float(vector @ qvec),
            overlap=word_overlap(question_words, set(tokenize(sentence.text, hit.language))),
            passage=hit.score,
        )
        for sentence, vector, hit in found
    ]
    return found, candidates


def abstention_signals(candidates: Sequence[Candidate]) -> tuple[float, float]:
    """(best similarity, best share of question words) over the candidates."""
    if not candidates:
        return 0.0, 0.0
    return max(c.dense for c in candidates), max(c.overlap for c in candidates)


def _sentences_in(retriever: Retriever, hits: Sequence[Hit]):
    """(sentence, its vector, its hit) for every sentence inside the hits,
    each sentence once (passages overlap)."""
    index = retriever.index
    vectors = retriever.sentence_vectors
    seen: set[str] = set()
    found = []
    for hit in hits:
        for i in retriever.sentences_of(hit.doc_id):
            sentence = index.sentences[i]
            if hit.start <= sentence.start and sentence.end <= hit.end and sentence.id not in seen:
                seen.add(sentence.id)
                found.append((sentence, vectors[i], hit))
    return found


def _abstains(candidates: Sequence[Candidate], settings: Settings) -> bool:
    """True when nothing retrieved is close enough to the question."""
    if not candidates:
        return True
    best_dense, best_overlap = abstention_signals(candidates)
    return best_dense < settings.abstain_dense and best_overlap < settings.abstain_overlap
