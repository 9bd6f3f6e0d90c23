"""Cleaning raw article text into title and body.

Pure: text in, `Cleaned` out. Removes what the seed articles really carry
besides the story: photo captions and credits (`Bild:`, `Foto:`, `Photo:`,
"— Name/Agency via Reuters"), `Source link`, a `Check Also` block and all after
it, `Don't miss…` link lists and `[POLL]`/`[INSIGHT]`/`[REPORT]` teasers,
`Source: Read Full Article`, a closing "— Reuters" byline, and repeated
paragraphs (one seed repeats its headline four times). A leading headline
becomes the title.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Cleaned:
    title: str | None
    text: str


_DATE_MARKER = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\b\s*", re.IGNORECASE)
# A credit closes a caption: the marker, then a capitalised name or agency
# running to the end of the paragraph with no sentence in it ("Bild: Valery
# Sharifulin/TASS All Over Press"). "...a rosy image: factories are..." is text.
_PHOTO_CREDIT = re.compile(
    r"(?:^|\s)(?i:bild|foto|photo|photograph|fotograf|image)(?i:\s+credit)?\s*:\s*"
    r"[A-ZÅÄÖÆØÉ][^.!?:]{0,120}$"
)
_AGENCY = r"(?:Reuters|AP|AFP|TASS|NTB|TT|Scanpix|BelTA|Getty|EPA|Sputnik|Handout|Shutterstock)"
_CAPTION_CREDIT = re.compile(rf"[—–]\s*[^—–]*/[^—–]*\b{_AGENCY}\b[^—–]*$")
_TEASER_TAG = re.compile(r"\[(?:POLL|INSIGHT|REPORT|VIDEO|PICTURES|LIVE|REVEAL)\]\s*$")
_DROP_LINE = re.compile(
    r"^(?:source link|source:\s*read full article|read full article|read more|advertisement)\.?$",
    re.IGNORECASE,
)
# A line that only dates the article ("Publisert 27.06.2023 kl. 14:02",
# "Updated: 14 September 2020"): rag.dates reads it, the body does without.
_DATE_LINE = re.compile(
    r"^(?=.*\d)(?:first published|published|posted|updated|last updated|publicerad|"
    r"publicerat|uppdaterad|uppdaterat|publisert|oppdatert|sist oppdatert)\b"
    r"[\w\s,.:/()–-]{0,50}[\d)]$",
    re.IGNORECASE,
)
_CUT_FROM = re.compile(r"^(?:check also|related articles?|more from this section)$", re.IGNORECASE)
_DONT_MISS = re.compile(r"^don[’']t miss\b", re.IGNORECASE)
_TRAILING_BYLINE = re.compile(rf"\s*[—–]\s*{_AGENCY}\s*$")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_TERMINAL = tuple('.!?…:;"”’»)')


def clean_article(raw: str, title: str | None = None, extracted: bool = False) -> Cleaned:
    """Clean one article's raw text. `extracted` text is already a page's
    main text (`rag.readers`): only its paragraphs are tidied (repeats and
    a repeated title dropped); the patterns for plain-text files are not
    applied to it.

    >>> c = clean_article("Headline here\\n\\nHeadline here\\n\\nBody text.\\n\\nSource link")
    >>> (c.title, c.text)
    ('Headline here', 'Body text.')
    >>> clean_article("Source link\\n\\nBody.", title="T", extracted=True).text
    'Source link\\n\\nBody.'
    """
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.lstrip("\ufeff")
    marker = None if extracted else _DATE_MARKER.match(text)  # its date is read by rag.dates
    if marker:
        text = text[marker.end() :]

    paragraphs = _paragraphs(text)
    if not extracted:
        paragraphs = _drop_boilerplate(paragraphs)
    paragraphs = _dedupe(paragraphs)

    if title is None and len(paragraphs) > 1 and _is_headline(paragraphs[0]):
        title = paragraphs.pop(0)
    elif title is not None and paragraphs and _norm(paragraphs[0]) == _norm(title):
        paragraphs.pop(0)
    if paragraphs and not extracted:
        paragraphs[-1] = _TRAILING_BYLINE.sub("", paragraphs[-1])
    body = "\n\n".join(p for p in paragraphs if p)
    return Cleaned(title=title.strip() if title else None, text=body)


def fallback_title(text: str, limit: int = 90) -> str:
    """A title for an article without a headline: its opening words."""
    first = text.strip().split("\n", 1)[0]
    if len(first) <= limit:
        return first
    cut = first.rfind(" ", 0, limit)
    return first[: cut if cut > 0 else limit].rstrip(" ,;:") + "…"


def _paragraphs(text: str) -> list[str]:
    """One paragraph per line, after joining soft-wrapped lines (a line with
    no closing punctuation followed by one that starts in lower case)."""
    out: list[str] = []
    joinable = False
    for line in text.split("\n"):
        line = _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", line))
        line = " ".join(_MD_HEADING.sub("", line).split())
        if not line:
            joinable = False
            continue
        if joinable and out and line[0].islower():
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        joinable = not out[-1].endswith(_TERMINAL)
    return out


def _drop_boilerplate(paragraphs: list[str]) -> list[str]:
    kept: list[str] = []
    in_teasers = False
    for p in paragraphs:
        if _CUT_FROM.match(p):
            break
        if _DONT_MISS.match(p):
            in_teasers = True
            continue
        if _TEASER_TAG.search(p):
            continue
        if in_teasers and len(p) < 160 and not p.endswith(_TERMINAL):
            continue
        in_teasers = False
        if (
            _DROP_LINE.match(p)
            or _DATE_LINE.match(p)
            or _PHOTO_CREDIT.search(p)
            or _CAPTION_CREDIT.search(p)
        ):
            continue
        kept.append(p)
    return kept


def _dedupe(paragraphs: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for p in paragraphs:
        key = _norm(p)
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


def _is_headline(p: str) -> bool:
    return len(p) <= 200 and not p.rstrip().endswith(_TERMINAL)


def _norm(p: str) -> str:
    return " ".join(p.casefold().split())
