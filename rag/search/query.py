"""Checking a question before any work is done on it.

Pure. An empty question, one over the length limit, or one holding control
characters is refused with a message that says what to change.
"""

from __future__ import annotations

import unicodedata

from rag.errors import UsageError

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def validate_question(question: object, max_chars: int = 2000) -> str:
    """The question with whitespace normalised, or a `UsageError`.

    >>> validate_question("  Why did Russia\\nback Lukashenko? ")
    'Why did Russia back Lukashenko?'
    """
    if not isinstance(question, str):
        raise UsageError(f"the question must be text, not {type(question).__name__}")
    if len(question) > max_chars:
        raise UsageError(
            f"the question is {len(question):,} characters long; the limit is {max_chars:,}. "
            "Ask something shorter."
        )
    for ch in question:
        if ch in _ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or category == "Cs":
            raise UsageError(
                f"the question contains a control character (U+{ord(ch):04X}); "
                "remove it and ask again."
            )
    text = " ".join(question.split())
    if not text:
        raise UsageError(
            'the question is empty; ask something, e.g. "Why did Russia back Lukashenko?"'
        )
    if not any(ch.isalnum() for ch in text):
        raise UsageError("the question has no words in it")
    return text


# A follow-up leans on the question before it, and that one on its own: a
# conversation's last few questions are all a search ever needs.
MAX_HISTORY = 20


def validate_history(history: object, max_chars: int = 2000) -> list[str]:
    """The earlier questions of a conversation (oldest first) that a follow-up
    may lean on: the last `MAX_HISTORY`, blank ones dropped, each at most
    `max_chars` long (a longer one could not have been asked), or a
    `UsageError` when `history` is not a list of texts.

    >>> validate_history(["Why did Russia back Lukashenko?", "  "])
    ['Why did Russia back Lukashenko?']
    >>> validate_history([1, None])
    Traceback (most recent call last):
    rag.errors.UsageError: history must be a list of earlier questions (text), not int
    """
    if history is None:
        return []
    if isinstance(history, str) or not isinstance(history, list | tuple):
        raise UsageError(
            f"history must be a list of earlier questions, not {type(history).__name__}"
        )
    recent = list(history)[-MAX_HISTORY:]
    for item in recent:
        if not isinstance(item, str):
            raise UsageError(
                f"history must be a list of earlier questions (text), not {type(item).__name__}"
            )
        if len(item) > max_chars:
            raise UsageError(
                f"an earlier question of the history is {len(item):,} characters long; "
                f"the limit is {max_chars:,}"
            )
    return [q for q in recent if q.strip()]


def validate_languages(languages: object) -> list[str] | None:
    """Language codes to search (None: all), or a `UsageError`.

    >>> validate_languages("sv,nb"), validate_languages(None)
    (['sv', 'nb'], None)
    >>> validate_languages([None])
    Traceback (most recent call last):
    rag.errors.UsageError: languages must be language codes such as "sv", not NoneType
    """
    if languages is None:
        return None
    if isinstance(languages, str):
        languages = languages.split(",")
    if not isinstance(languages, list | tuple | set | frozenset):
        raise UsageError(f"languages must be a list of codes, not {type(languages).__name__}")
    codes = []
    for code in languages:
        if not isinstance(code, str) or len(code) > 16:
            shown = type(code).__name__ if not isinstance(code, str) else "a long text"
            raise UsageError(f'languages must be language codes such as "sv", not {shown}')
        codes.append(code)
    return codes


def date_range(since: object = None, until: object = None) -> tuple[str, str] | None:
    """The dates to search between, as (first, after) ISO strings: `first`
    inclusive, `after` exclusive, so that a month or a year means all of it.
    None when neither bound is given. Dates are YYYY, YYYY-MM or YYYY-MM-DD
    (or `datetime.date`); passages without a date are left out of a range.

    >>> date_range("2020-09", "2020")
    ('2020-09', '2021')
    >>> date_range(until="2023-02-28")
    ('', '2023-02-29')
    >>> date_range("14 Sept")
    Traceback (most recent call last):
    rag.errors.UsageError: a date must be YYYY, YYYY-MM or YYYY-MM-DD, not '14 Sept'
    """
    if since is None and until is None:
        return None
    first = _date(since) if since is not None else ""
    after = _after(_date(until)) if until is not None else "\uffff"
    if first and after != "\uffff" and first >= after:
        raise UsageError(f"the date range is empty: since {since} is after until {until}")
    return first, after


def in_range(date: str | None, dates: tuple[str, str] | None) -> bool:
    """Whether an article dated `date` lies in `dates` (from `date_range`);
    an undated article lies in no range.

    >>> in_range("2020-09-14", date_range("2020-09", "2020-09"))
    True
    >>> in_range("2020", date_range("2020-09"))
    False
    """
    if dates is None:
        return True
    return bool(date) and dates[0] <= date < dates[1]


def _date(value: object) -> str:
    import datetime
    import re

    if isinstance(value, datetime.date):
        return value.isoformat()[:10]
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        raise UsageError(f"a date must be YYYY, YYYY-MM or YYYY-MM-DD, not {text[:40]!r}")
    parts = [int(p) for p in text.split("-")]
    try:
        datetime.date(
            parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1
        )
    except ValueError:
        raise UsageError(f"{text!r} is not a calendar date") from None
    return text


def _after(text: str) -> str:
    """The smallest ISO prefix after every date that starts with `text`:
    "2020" -> "2021", "2020-12" -> "2020-13", "2020-02-28" -> "2020-02-29"
    (string order is all that matters, not the calendar)."""
    head, _, last = text.rpartition("-")
    bumped = f"{int(last) + 1:0{len(last)}d}"
    return f"{head}-{bumped}" if head else bumped
