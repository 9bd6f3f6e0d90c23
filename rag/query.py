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
