"""Citation markers: numbering quoted claims and reading [n] back out of text.

Pure functions over strings and records. An answer's text is a run of claims,
each followed by its marker `[n]`; `Citation` n says where claim n comes from.
The invariant every answer keeps: the markers in the text, read left to
right, are exactly 1..N, and there is one citation per number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.records import Citation, Hit, Sentence

MARKER = re.compile(r"\[(\d{1,4})\]")


def markers(text: str) -> list[int]:
    """The numbers of the [n] markers in `text`, left to right.

    >>> markers("Putin offered a loan [1]. Minsk agreed [2][3].")
    [1, 2, 3]
    """
    return [int(m.group(1)) for m in MARKER.finditer(text)]


def valid_markers(text: str, count: int) -> list[int]:
    """The markers of `text` that name one of `count` sources (1..count);
    others (a model's [0] or [99]) are dropped.

    >>> valid_markers("a [1] b [7] c [2]", 2)
    [1, 2]
    """
    return [n for n in markers(text) if 1 <= n <= count]


def defuse(text: str) -> str:
    """Quoted text with its own bracketed numbers turned into parentheses, so
    an article's "[2]" can never pass for a citation marker.

    >>> defuse("as footnote [2] says")
    'as footnote (2) says'
    """
    return MARKER.sub(r"(\1)", text)


def quote(quotes: Sequence[tuple[Sentence, Hit]]) -> tuple[str, tuple[Citation, ...]]:
    """The answer text and citations for quoted sentences, in the given order.

    Each sentence (with the retrieved passage it was found in) becomes one
    claim followed by [n], n counting from 1. The answer text shows the
    sentence with its whitespace collapsed and its own bracketed numbers
    defused; the citation keeps the exact sentence and its span.
    """
    citations: list[Citation] = []
    parts: list[str] = []
    for n, (sentence, hit) in enumerate(quotes, start=1):
        citations.append(
            Citation(
                n=n,
                doc_id=sentence.doc_id,
                title=hit.title,
                language=hit.language,
                date=hit.date,
                sentence=sentence.text,
                start=sentence.start,
                end=sentence.end,
                passage=hit.text,
                chunk_id=hit.chunk_id,
            )
        )
        parts.append(f"{claim_text(sentence.text)} [{n}]")
    return " ".join(parts), tuple(citations)


def claim_text(sentence: str) -> str:
    """How a quoted sentence reads inside an answer: one line, no markers.

    >>> claim_text("Two\\n lines [3]")
    'Two lines (3)'
    """
    return defuse(" ".join(sentence.split()))
