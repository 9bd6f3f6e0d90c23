"""The plain, frozen records that cross module boundaries.

Derive new values with `dataclasses.replace`; never mutate a record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Document:
    """A file's decoded text as read from disk, before cleaning."""

    id: str
    text: str
    source: str
    title: str | None = None
    date: str | None = None
    language: str | None = None
    url: str | None = None
    outlet: str | None = None  # who published it (a feed's or a page's site name)
    author: str | None = None
    # True when `text` is already a page's or feed entry's main text (found by
    # an extractor): the plain-text cleaner for .txt files is not run on it
    extracted: bool = False


@dataclass(frozen=True)
class Article:
    """A cleaned article: `text` is what chunk and citation offsets index into.

    `date` is its publication date, YYYY-MM-DD, YYYY-MM or YYYY as precisely
    as known (`rag.dates`), and `date_evidence` the words that gave it
    ("metadata" when the file or feed said so). `outlet` is who published
    it, when known. `copy_of` names the story it is a wire copy or
    near-copy of (`rag.copies`: the id of the first article of its group),
    None when it is not one."""

    id: str
    title: str
    text: str
    language: str
    date: str | None
    source: str
    url: str | None = None
    date_evidence: str | None = None
    outlet: str | None = None
    copy_of: str | None = None
    author: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def story(self) -> str:
        """Its copy group: the article it copies, else its own id."""
        return self.copy_of or self.id


@dataclass(frozen=True)
class Source:
    """Another article that carries the same story or states the same thing."""

    doc_id: str
    title: str
    language: str
    date: str | None = None
    outlet: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences: `text == article.text[start:end]`."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article: `text == article.text[start:end]`. Answers
    quote and cite sentences; their vectors are computed at ingest."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """Where claim [n] comes from: the exact sentence, and the passage around it.

    `start`/`end` locate `sentence` in the cleaned article text.
    """

    n: int
    doc_id: str
    title: str
    language: str
    date: str | None
    sentence: str
    start: int
    end: int
    passage: str
    chunk_id: str
    outlet: str | None = None
    url: str | None = None
    # Another story that states what citation `corroborates` quotes ("also
    # reported by"), or gives other numbers or another day for it (`contradicts`):
    # `rag.corroborate`.
    corroborates: int | None = None
    contradicts: int | None = None
    also_in: tuple[Source, ...] = ()  # wire copies of its article (`Hit.also_in`)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, with where it sits in its article.

    `score` is the fused ranking score (higher is better); `dense_score` is the
    cosine similarity to the question, `lexical_score` the BM25 score (0 when
    the lexical retriever did not find it).
    """

    chunk_id: str
    doc_id: str
    title: str
    language: str
    date: str | None
    text: str
    start: int
    end: int
    score: float
    dense_score: float = 0.0
    lexical_score: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    url: str | None = None
    outlet: str | None = None
    # Wire copies and near-copies of this passage's article (`rag.copies`):
    # shown once, here, as "also in: N sources".
    also_in: tuple[Source, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """An answer whose every claim ends in [n], with citation n in `citations`.

    `abstained` is True when the articles do not answer the question; `text`
    then says so in the question's language and `hits` still lists the
    closest passages. `timings` holds seconds per stage.
    """

    question: str
    search_query: str  # what was searched: the question, or a follow-up made standalone
    text: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    question_language: str
    timings: dict[str, float]
    generator: str = "extractive"  # the generator that answered
    claims: tuple = ()  # rag.answers.claims.ClaimCheck per generated claim, kept or not
    fallback: str | None = None  # why a generated answer was replaced, if it was
    # Who made a follow-up standalone: "extractive" (joined to the question it
    # follows), a generator's id (the model rewrote it), or None (no rewrite).
    rewritten_by: str | None = None
    # How likely the sentences found answer the question, 0..1
    # (`rag.answerability`); `warned` when it is low and `text` opens by
    # saying so in the question's language.
    confidence: float | None = None
    warned: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def split_warning(text: str, warned: bool) -> tuple[str, str]:
    r"""(the low-confidence warning an answer's text opens with, or "";
    the answer itself). The warning is the text's first paragraph when
    `Answer.warned`.

    >>> split_warning("The articles may not answer this directly; closest passages:\n\nX [1]", True)
    ('The articles may not answer this directly; closest passages:', 'X [1]')
    >>> split_warning("X [1]", False)
    ('', 'X [1]')
    """
    if warned and "\n\n" in text:
        head, rest = text.split("\n\n", 1)
        return head, rest
    return "", text
