"""Citation markers: numbering quoted claims and reading [n] back out of text.

Pure functions over strings and records. An answer's text is a run of claims,
each followed by its marker `[n]`; `Citation` n says where claim n comes from.
The invariant every answer keeps: the markers in the text, read left to
right, are exactly 1..N, and there is one citation per number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

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


def quote(
    quotes: Sequence[tuple[Sentence, Hit]],
    dated: Callable[[Sentence, Hit], str | None] | None = None,
) -> tuple[str, tuple[Citation, ...]]:
    """The answer text and citations for quoted sentences, in the given order.

    Each sentence (with the retrieved passage it was found in) becomes one
    claim followed by [n], n counting from 1. The answer text shows the
    sentence with its whitespace collapsed and its own bracketed numbers
    defused; the citation keeps the exact sentence and its span. `dated`
    opens each claim with the date it gives ("2020-09-14: ...").
    """
    return cite([(dated_text(s.text, dated(s, h) if dated else None), [(s, h)]) for s, h in quotes])


def dated_text(text: str, date: str | None) -> str:
    """A claim opened by its date, when it has one.

    >>> dated_text("Putin met Lukashenko.", "2020-09-14")
    '2020-09-14: Putin met Lukashenko.'
    """
    return f"{date}: {text}" if date else text


def cite(
    claims: Sequence[tuple[str, Sequence[tuple[Sentence, Hit]]]],
) -> tuple[str, tuple[Citation, ...]]:
    """The answer text and citations for claims, each with the sentences (and
    their passages) that support it. Citations are numbered 1..N in order of
    first use; a sentence supporting two claims is cited once, by one number.
    """
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for text, support in claims:
        marks = []
        for sentence, hit in support:
            if sentence.id not in numbers:
                numbers[sentence.id] = len(numbers) + 1
                citations.append(
                    Citation(
                        n=numbers[sentence.id],
                        doc_id=sentence.doc_id,
                        title=hit.title,
                        language=hit.language,
                        date=hit.date,
                        sentence=sentence.text,
                        start=sentence.start,
                        end=sentence.end,
                        passage=hit.text,
                        chunk_id=hit.chunk_id,
                        outlet=hit.outlet,
                        url=hit.url,
                        also_in=hit.also_in,
                    )
                )
            marks.append(f"[{numbers[sentence.id]}]")
        parts.append(f"{claim_text(text)} {''.join(dict.fromkeys(marks))}".strip())
    return " ".join(parts), tuple(citations)


def claim_text(sentence: str) -> str:
    """How a quoted sentence reads inside an answer: one line, no markers.

    >>> claim_text("Two\\n lines [3]")
    'Two lines (3)'
    """
    return defuse(" ".join(sentence.split()))


def claims(text: str) -> list[tuple[str, list[int]]]:
    """The answer split into claims: each run of text that ends in one or more
    [n] markers, with those numbers. Text after the last marker (an uncited
    tail) is a claim with no numbers.

    >>> claims("Putin offered a loan [1]. Minsk agreed [2][3]. Nothing else.")
    [('Putin offered a loan', [1]), ('Minsk agreed', [2, 3]), ('Nothing else.', [])]
    """
    found: list[tuple[str, list[int]]] = []
    start = 0
    numbers: list[int] = []
    claim = ""
    for m in MARKER.finditer(text):
        between = text[start : m.start()]
        if numbers and between.strip():  # a new claim begins after a marker run
            found.append((claim, numbers))
            numbers, claim = [], ""
        if not numbers:
            claim = _trim(between)
        numbers.append(int(m.group(1)))
        start = m.end()
    if numbers:
        found.append((claim, numbers))
    tail = _trim(text[start:])
    if tail:
        found.append((tail, []))
    return found


def _trim(text: str) -> str:
    """A claim's text without the punctuation that closed the previous one."""
    return text.strip().lstrip(".,;:!?)»”\"' ").strip()
