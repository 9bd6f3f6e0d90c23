"""Follow-up questions: turn one into a standalone search query.

Pure. "And what did the EU do?" after "Why did Russia back Lukashenko?" only
makes sense with the earlier question, so the search runs on both. A new,
self-contained question ("Who is Gustav Gressel?") is searched alone: gluing
every question to the last one would drag old topics into new searches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Openings that lean on what was said before, in en, sv and nb.
_OPENINGS = (
    "and ",
    "but ",
    "also ",
    "what about ",
    "how about ",
    "and what about ",
    "och ",
    "men ",
    "även ",
    "vad sägs om ",
    "hur är det med ",
    "og ",
    "også ",
    "hva med ",
    "hva så med ",
)
# Words that point back at something named earlier.
_EN = "he him his she her it its they them their that this those these there"
_SV = "han honom hans hon henne hennes den det dess de dem deras där detta dessa"
_NB = "ham hun hennes dens deres der dette disse"
_BACK_REFERENCES = frozenset(f"{_EN} {_SV} {_NB}".split())
_WORD = re.compile(r"\w+")
SHORT = 3  # words: "The EU then?" is a follow-up, whatever its words


def is_follow_up(question: str) -> bool:
    """True when the question leans on an earlier one.

    >>> is_follow_up("And what did the EU do?"), is_follow_up("Hva sa han?")
    (True, True)
    >>> is_follow_up("Who is Gustav Gressel?")
    False
    """
    text = " ".join(question.casefold().split())
    if text.startswith(_OPENINGS):
        return True
    words = _WORD.findall(text)
    return len(words) <= SHORT or any(w in _BACK_REFERENCES for w in words)


def standalone_query(question: str, history: Sequence[str] | None) -> str:
    """The search query for `question`, given earlier questions (oldest first):
    a follow-up is searched together with the question it follows (that
    question's own standalone query, so a chain of follow-ups keeps its
    topic); anything else alone.

    >>> standalone_query("And what did the EU do?", ["Why did Russia back Lukashenko?"])
    'Why did Russia back Lukashenko? And what did the EU do?'
    >>> standalone_query("Who is Gustav Gressel?", ["Why did Russia back Lukashenko?"])
    'Who is Gustav Gressel?'
    """
    earlier = [q for q in (history or []) if q.strip()]
    parts, current = [question], question
    while earlier and is_follow_up(current):
        current = earlier.pop()
        if sum(len(p) + 1 for p in parts) + len(current) > MAX_QUERY_CHARS:
            break  # a long chain keeps its most recent questions
        parts.append(current)
    return " ".join(reversed(parts))


# The longest search query a chain of follow-ups grows into.
MAX_QUERY_CHARS = 4000


MAX_REWRITE_CHARS = 300


def accept_rewrite(rewrite: str, question: str, history: Sequence[str]) -> str | None:
    """A generator's standalone version of a follow-up, cleaned, or None when
    it cannot be one: empty, over `MAX_REWRITE_CHARS`, or sharing no word of
    four letters or more with the conversation (a model that rambled).
    Only its first line counts, without quotes or a "Standalone question:"
    label.

    >>> accept_rewrite('"What did the EU do about Lukashenko?"\\nMore text',
    ...                "And what did the EU do?", ["Why did Russia back Lukashenko?"])
    'What did the EU do about Lukashenko?'
    >>> accept_rewrite("Bananas are yellow.", "And the EU?", ["Why did Russia act?"]) is None
    True
    """
    lines = [line for line in rewrite.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = re.sub(
        r"^\W*(standalone question|fristående fråga|frittstående spørsmål)\s*:",
        "",
        lines[0].strip(),
        flags=re.IGNORECASE,
    )
    text = " ".join(text.strip().strip("\"'“”«»`*").split())
    if not text or len(text) > MAX_REWRITE_CHARS:
        return None
    said = {w for w in _WORD.findall(" ".join([question, *history]).casefold()) if len(w) >= 4}
    if not said & {w for w in _WORD.findall(text.casefold()) if len(w) >= 4}:
        return None
    return text
