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
