"""Sentence splitting for Swedish, Norwegian and English news text.

Pure functions over strings. A sentence is a character span `(start, end)` of
the input: spans are ordered, never overlap, never begin or end with
whitespace, and together cover every non-whitespace character. A line break
always ends a sentence (the cleaner joins soft-wrapped lines first).
"""

from __future__ import annotations

import re

# Sentence-final punctuation, then any closing quotes or brackets.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’»)\]]*")

# Words that end with a period without ending the sentence (lower-cased,
# without the final period). English, Swedish and Norwegian.
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "gov",
        "sen",
        "rep",
        "rev",
        "hon",
        "pres",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "no",
        "vs",
        "etc",
        "approx",
        "est",
        "inc",
        "ltd",
        "co",
        "corp",
        "fig",
        "vol",
        "ch",
        "pp",
        "ed",
        "eds",
        "ca",
        "nr",
        "kl",
        "resp",
        "jfr",
        "dvs",
        "tex",
        "bl",
        "mfl",
        "osv",
        "ff",
        "inkl",
        "exkl",
        "tel",
        "f.eks",
        "bl.a",
        "t.ex",
        "d.v.s",
        "m.fl",
        "o.l",
        "s.k",
    ]
)


def split_sentences(text: str, max_chars: int = 1000) -> list[tuple[int, int]]:
    """Split `text` into sentence spans.

    Sentences longer than `max_chars` are cut at whitespace so that no span is
    unboundedly long.

    >>> t = "Mr. Putin met Mr. Lukashenko. They spoke.\\nNew line"
    >>> [t[a:b] for a, b in split_sentences(t)]
    ['Mr. Putin met Mr. Lukashenko.', 'They spoke.', 'New line']
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    spans: list[tuple[int, int]] = []
    line_start = 0
    n = len(text)
    while line_start <= n:
        line_end = text.find("\n", line_start)
        if line_end < 0:
            line_end = n
        start = line_start
        for m in _BOUNDARY.finditer(text, line_start, line_end):
            end = m.end()
            if end < line_end and not text[end].isspace():
                continue
            if _ends_sentence(text, m.start(), end, line_end):
                _add(spans, text, start, end, max_chars)
                start = end
        _add(spans, text, start, line_end, max_chars)
        line_start = line_end + 1
    return spans


def _ends_sentence(text: str, mark: int, end: int, line_end: int) -> bool:
    nxt = end
    while nxt < line_end and text[nxt].isspace():
        nxt += 1
    if nxt >= line_end:
        return True
    following = text[nxt]
    if following.isalpha() and following.islower():
        return False  # "9. august", "etc. and"
    if text[mark] != ".":
        return True
    word_start = mark
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:mark].lstrip("\"'“‘«([").lower()
    if not word:
        return True
    if word in ABBREVIATIONS or "." in word:
        return False  # "Mr.", "Sept.", "U.N.", "t.ex."
    # A single capital letter is an initial: "Vladimir V. Putin".
    return not (len(word) == 1 and word.isalpha())


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int, max_chars: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > max_chars:
        cut = start + max_chars
        while cut > start and not text[cut].isspace():
            cut -= 1
        if cut == start:
            cut = start + max_chars  # one unbroken run: cut anywhere
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        spans.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))
