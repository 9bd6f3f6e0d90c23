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
from dataclasses import replace

import numpy as np

from rag.answers.answerability import CONFIDENCE, retrieved_context, signals
from rag.answers.citations import cite
from rag.answers.conversation import standalone_query
from rag.answers.corroborate import cited, corroborate
from rag.answers.extractive import Candidate, score, select, word_overlap
from rag.answers.generation import EXTRACTIVE, Generator, check_spec, make_generator
from rag.answers.generative import Generated, generate, rewrite_question, sentences_of
from rag.records import Answer, Hit, Sentence
from rag.search.chronology import event_date, in_date_order, what_happened
from rag.search.query import date_range, validate_history, validate_languages, validate_question
from rag.search.retrieval import Retriever, get_retriever
from rag.settings import Settings
from rag.text.language import question_language
from rag.text.lexical import tokenize

# Said before the quotes when the answer's confidence is low.
WARNING_TEXT = {
    "en": "The articles may not answer this directly; closest passages:",
    "sv": "Artiklarna svarar kanske inte direkt på detta; närmaste stycken:",
    "nb": "Artiklene svarer kanskje ikke direkte på dette; nærmeste avsnitt:",
    "nn": "Artiklane svarar kanskje ikkje direkte på dette; nærmaste avsnitt:",
    "da": "Artiklerne svarer måske ikke direkte på dette; nærmeste afsnit:",
}

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
    since: object = None,
    until: object = None,
    generator: str | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer `question` from the articles, citing a sentence for every claim.

    `history` holds earlier questions of the conversation, oldest first; a
    follow-up ("And what did the EU do?") is searched together with the
    question it follows (`Answer.search_query` shows what was searched).
    `generator` (default `settings.generator`, "extractive") names the
    generator, e.g. "transformers:gemma3-270m" or "openai:llama3.2": its
    claims are each checked against the passages they cite, and only
    supported ones are kept (`Answer.claims` says which and why;
    `Answer.fallback` says when the extractive answer or an abstention
    replaced it). `since` / `until` (YYYY, YYYY-MM or YYYY-MM-DD) answer
    only from articles dated then (filtered inside the index).

    Example (needs an index: run `rag ingest` first)::

        import rag
        a = rag.answer("Varför stöder Ryssland Lukasjenko?")
        print(a.text)            # sentences, each followed by [n]
        a.citations[0].sentence  # the exact sentence behind [1]
    """
    *_, final = stream_answer(
        question,
        k,
        languages,
        history,
        since=since,
        until=until,
        generator=generator,
        settings=settings,
    )
    assert isinstance(final, Answer)
    return final


def stream_answer(
    question: str,
    k: int | None = None,
    languages: Sequence[str] | None = None,
    history: Sequence[str] | None = None,
    *,
    since: object = None,
    until: object = None,
    generator: str | None = None,
    settings: Settings | None = None,
) -> Iterator[str | Answer]:
    """Like `answer`, but yields the growing answer text first, then the Answer."""
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    question = validate_question(question, settings.max_question_chars)
    history = validate_history(history, settings.max_question_chars)
    languages = validate_languages(languages)
    dates = {"since": since, "until": until}
    date_range(since, until)  # a bad date fails before anything loads
    spec = check_spec(generator or settings.generator)
    retriever = get_retriever(settings)
    model = make_generator(spec, settings)
    first: float | None = None  # seconds to the first text shown
    for part in _stream(retriever, question, k, languages, history, model, dates):
        if isinstance(part, Answer):
            waited = time.perf_counter() - started if first is None else first
            yield replace(part, timings={**part.timings, "first_text": waited})
        else:
            if first is None and part:
                first = time.perf_counter() - started
            yield part


def _stream(
    retriever: Retriever,
    question: str,
    k: int | None,
    languages: Sequence[str] | None,
    history: Sequence[str] | None,
    model: Generator | None = None,
    dates: dict | None = None,
) -> Iterator[str | Answer]:
    timings: dict[str, float] = {}
    retriever = retriever.pinned()  # one commit for the whole answer
    earlier = [q for q in (history or []) if q.strip()]
    query, rewritten_by = standalone_query(question, earlier), None
    if query != question:
        rewritten_by = EXTRACTIVE
        if model is not None:  # the model rewrites; its own rule is the fallback
            started = time.perf_counter()
            rewrite = rewrite_question(model, question, earlier)
            timings["rewrite"] = time.perf_counter() - started
            if rewrite:
                query, rewritten_by = rewrite, model.id
    started = time.perf_counter()
    qlang = question_language(question)
    qvec = retriever._embed_query(query)
    timings["embed"] = time.perf_counter() - started

    started = time.perf_counter()
    hits = tuple(retriever.retrieve(query, k, languages, **(dates or {})))
    timings["retrieve"] = time.perf_counter() - started

    started = time.perf_counter()
    extracted, lead = ranked(retriever, query, qlang, qvec, hits)
    confidence, warned = _confidence(query, lead, hits, retriever.settings)
    warning = WARNING_TEXT.get(qlang, WARNING_TEXT["en"]) + "\n\n" if warned else ""
    checks: tuple = ()
    fallback = None
    quotes = None
    if model is not None:
        result = None
        for part in generate(
            retriever, model, query, qlang, hits, retriever.settings.claim_rules()
        ):
            if isinstance(part, Generated):
                result = part
            else:
                yield warning + part
        assert result is not None
        checks = result.checks
        if result.first_token is not None:  # since the question came in, as first_text
            timings["first_token"] = sum(timings.values()) + result.first_token
        if result.supported:
            text, citations = cite(result.supported)
            text = warning + text
        elif result.sentinel:
            fallback = "the model found no answer in the passages"
            text, citations = NO_ANSWER_TEXT.get(qlang, NO_ANSWER_TEXT["en"]), ()
            yield text
        else:
            quotes = extracted
            fallback = "no generated claim was supported by its passage; " + (
                "showing the extractive answer" if quotes else "abstained"
            )
    if model is None or quotes is not None:
        # events: in date order, each opened by its date
        dated = event_date if what_happened(query) else None
        quotes = in_date_order(extracted) if dated else extracted
        citations = ()
        if not quotes:
            text = NO_ANSWER_TEXT.get(qlang, NO_ANSWER_TEXT["en"])
            yield text
        also = []  # other stories that state each quote, or count it differently
        if quotes and retriever.settings.corroborate:
            started_also = time.perf_counter()
            rules = retriever.settings.claim_rules()
            also = corroborate(retriever, _with_vectors(retriever, quotes), rules, dates)
            timings["corroborate"] = time.perf_counter() - started_also
        for end in range(1, len(quotes) + 1):  # one claim at a time; numbers stay put
            text, citations = cited(quotes, also, qlang, dated, upto=end)
            text = warning + text
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
        generator=model.id if model is not None else EXTRACTIVE,
        claims=checks,
        fallback=fallback,
        rewritten_by=rewritten_by,
        confidence=round(confidence, 4),
        warned=warned and bool(citations),
    )


def _confidence(
    query: str, lead: tuple[str, float] | None, hits: Sequence[Hit], settings: Settings
) -> tuple[float, bool]:
    """How likely the retrieved sentences answer the question
    (`rag.answerability`), and whether that is low enough to say so: below
    `settings.answer_warn_below`, or a number or year of the question stands
    nowhere in what was found."""
    if lead is None:
        return 0.0, True
    found = signals(query, lead[0], retrieved_context(hits))
    confidence = CONFIDENCE.confidence(lead[1], found)
    return confidence, confidence < settings.answer_warn_below or bool(found.missing_numbers)


def extractive(
    retriever: Retriever, query: str, qlang: str, qvec: np.ndarray, hits: Sequence[Hit]
) -> list[tuple[Sentence, Hit]]:
    """The sentences the extractive generator quotes, in reading order; empty
    when it abstains."""
    return ranked(retriever, query, qlang, qvec, hits)[0]


def ranked(
    retriever: Retriever, query: str, qlang: str, qvec: np.ndarray, hits: Sequence[Hit]
) -> tuple[list[tuple[Sentence, Hit]], tuple[str, float] | None]:
    """The extractive quotes (see `extractive`), and the best-scored sentence
    of the hits with its score (None when there is none): what the
    answer's confidence is read from."""
    found, candidates = candidates_for(retriever, query, qlang, qvec, hits)
    vectors = np.array([v for _, v, _ in found]) if found else np.zeros((0, retriever.dim))
    scores = score(candidates)
    chosen = select(candidates, scores, vectors)
    lead = None
    if candidates:
        best = int(np.argmax(scores))
        lead = (found[best][0].text, float(scores[best]))
    if _abstains(candidates, retriever.settings) or not chosen:
        return [], lead
    return [(found[i][0], found[i][2]) for i in chosen], lead


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
    """(sentence, its vector, its hit) for every sentence inside the hits that
    may be quoted (see `rag.answers.generative.sentences_of`), each once (passages
    overlap)."""
    seen: set[str] = set()
    found = []
    for hit in hits:
        for sentence, vector in sentences_of(retriever, hit):
            if sentence.id not in seen:
                seen.add(sentence.id)
                found.append((sentence, vector, hit))
    return found


def _with_vectors(retriever: Retriever, quotes: Sequence[tuple[Sentence, Hit]]):
    """(sentence, its vector from ingest, hit) for quoted sentences."""
    vectors = {
        s.id: v for hit in {h.chunk_id: h for _, h in quotes}.values()
        for s, v in sentences_of(retriever, hit)
    }  # fmt: skip
    return [(s, vectors.get(s.id), h) for s, h in quotes]


def _abstains(candidates: Sequence[Candidate], settings: Settings) -> bool:
    """True when nothing retrieved is close enough to the question."""
    if not candidates:
        return True
    best_dense, best_overlap = abstention_signals(candidates)
    return best_dense < settings.abstain_dense and best_overlap < settings.abstain_overlap
