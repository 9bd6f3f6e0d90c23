"""Answers in time order: "what happened" questions, and questions that name a time.

Pure: question text and records in, decisions out.

- `what_happened(question)`: whether a question asks for events ("What
  happened in Minsk?", "Vad hände i Belarus?", "Hva skjedde etter valget?"):
  its answer then quotes in date order, each claim opened by its date.
- `event_date(sentence, hit)`: when what a quoted sentence reports
  happened: a day it names ("on Sunday", "Sept. 25", "14 September 2020"),
  resolved against its article's date, else the article's date.
- `in_date_order(quotes)`: quoted sentences ordered by their event dates
  (undated ones last, in their own order).
- `named_period(question, language, today)`: the dates a question names
  ("i september 2020", "in 2023", "last year"), as `date_range` bounds, via
  `rag.dates.question_range`: retrieval then prefers passages from then.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

from rag.records import Hit, Sentence

_WHAT_HAPPENED = re.compile(
    r"\b(?:what (?:has )?happened|what (?:has )?been happening|what took place|how did .* unfold|"
    r"timeline|chronology|sequence of events|"
    r"vad (?:har )?hänt|vad hände|vad som hände|hur utvecklades|tidslinje|kronologi|"
    r"hva (?:har )?skjedd|hva skjedde|hva som skjedde|hvordan utviklet)\b",
    re.IGNORECASE,
)


def what_happened(question: str) -> bool:
    """Whether the question asks what happened (its answer reads as a
    sequence of dated events).

    >>> what_happened("What happened in Minsk after the election?")
    True
    >>> what_happened("Vad hände i Belarus i augusti 2020?"), what_happened("Hva skjedde?")
    (True, True)
    >>> what_happened("Why did Russia back Lukashenko?")
    False
    """
    return bool(_WHAT_HAPPENED.search(question))


def event_date(sentence: Sentence, hit: Hit) -> str | None:
    """When what the sentence reports happened: the first day it names
    (a relative one, "on Sunday", resolved against the article's date), or
    the article's date. Years and months a sentence names are left alone:
    "has ruled since 1994" does not date the claim to 1994.

    >>> from rag.records import Sentence, Hit
    >>> s = Sentence("s", "d", 0, 9, "Police detained 774 people at Sunday's protests.")
    >>> event_date(s, Hit("c", "d", "t", "en", "2020-09-14", s.text, 0, 9, 1.0))
    '2020-09-13'
    >>> from dataclasses import replace
    >>> event_date(replace(s, text="He has ruled since 1994."), Hit("c", "d", "t", "en",
    ...     "2020-09-14", "x", 0, 9, 1.0))
    '2020-09-14'
    """
    from rag.dates import LANGUAGES, mentioned_dates

    if hit.language in LANGUAGES:
        for found in mentioned_dates(sentence.text, hit.language, hit.date):
            if found.precision == "day":
                return found.value
    return hit.date


def in_date_order(quotes: Sequence[tuple[Sentence, Hit]]) -> list[tuple[Sentence, Hit]]:
    """Quotes by their event dates (`event_date`), oldest first; a date of
    coarser precision sorts before the days within it ("2020-09" before
    "2020-09-14"); undated quotes come last; ties keep their order.

    >>> from rag.records import Sentence, Hit
    >>> def q(doc, date):
    ...     return (Sentence(doc, doc, 0, 1, "x"), Hit(doc, doc, "t", "en", date, "x", 0, 1, 1.0))
    >>> [s.id for s, _ in in_date_order([q("a", None), q("b", "2021"), q("c", "2020-09-14")])]
    ['c', 'b', 'a']
    """
    dated = [(event_date(s, h), (s, h)) for s, h in quotes]
    return [q for _, q in sorted(dated, key=lambda d: (d[0] is None, d[0] or ""))]


def named_period(
    question: str, language: str, today: datetime.date | None = None
) -> tuple[str | None, str | None] | None:
    """(since, until) of the time the question names, or None."""
    from rag.dates import LANGUAGES, question_range

    if language not in LANGUAGES:
        return None
    return question_range(question, language, today or datetime.date.today())
