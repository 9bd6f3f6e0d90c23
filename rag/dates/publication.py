"""`publication_date` tries, in order, and never guesses:

1. `metadata` from the file or feed: YYYY, YYYY-MM, YYYY-MM-DD or a timestamp
   (ISO, or e.g. RFC 822 "Mon, 14 Sep 2020 10:12:00 GMT"); the date as written,
   no time zone conversion. Unparseable metadata is ignored.
2. A date line in the lead (the first 1000 characters), how="dateline": a
   leading "date 2020-09" marker; a "Published"/"Publisert"/"Publicerad"/
   "Posted" label followed by a date ("Updated"/"Oppdatert"/"Uppdaterad"
   dates are never used); a wire dateline "MOSCOW, Sept 14 —"; a line that
   is only a date. A dateline without a year takes the year of a full date
   with the same day and month elsewhere in the text, only if all such agree;
   otherwise the answer is None (a day without its year is not a date, and
   any other date contradicts the dateline).
3. A full calendar date (day, month and year) written in the lead, such as a
   wire caption's "Sochi, Russia September 14, 2020", how="text". Not on a
   file-photo or archive line, nor on a line saying "from"/"fra"/"från"
   before it ("a photo from a meeting on ..."); all such dates in the lead
   must agree, and no date the text names with a year may be later (the text
   then tells of later events, so this one is in its past).
4. Otherwise None. Years alone, months without a day ("i februar 2019" in a
   caption), relative words and weekdays never give a publication date.
"""

from __future__ import annotations

import datetime as dt
import re

from rag.dates.lang import _lang, _parser
from rag.dates.resolve import _found, _resolve
from rag.dates.scan import _scan
from rag.dates.values import FoundDate, _day, _iso, _parse_iso
from rag.dates.words import _DASH, _YEAR

LEAD = 1000  # characters of the text searched for date lines and lead dates
_PUBLISHED = r"first published|published|posted|publicerad|publicerat|publisert|publ\."
_UPDATED = (
    r"last updated|updated|last modified|modified|uppdaterad|uppdaterat|sist oppdatert"
    r"|oppdatert|endret"
)
_LABEL = re.compile(
    rf"(?i)\b(?:(?P<pub>{_PUBLISHED})|(?P<upd>{_UPDATED}))(?!\w)[ \t]*(?:on\b|den\b|:)?"
)
_MARKER = re.compile(r"\A\s*(?P<ev>date[:\s]+(?P<v>\d{4}(?:-\d\d(?:-\d\d)?)?))\b", re.I)
_DATELINE_PREFIX = re.compile(
    r"[ \t]*[A-ZÅÄÖÆØÉ][A-ZÅÄÖÆØÉ'’.\- ]{2,40}(?:,[ \t]*[A-ZÅÄÖÆØ][\w'’.\- ]{1,40})?"
    r"(?:[ \t]*\([^()\n]{1,30}\))?,?[ \t]+"
)
_DATELINE_SUFFIX = re.compile(rf"[ \t]*(?:\([^()\n]{{1,30}}\)|{_DASH}|:)")
_ARCHIVE = re.compile(r"(?i)file photo|file picture|archive|arkiv|illustrasjon|illustration")
_FROM = re.compile(r"(?i)\b(?:from|fra|från|taken|tatt|tagen)\b")  # "a photo from a meeting on ..."


def _from_metadata(metadata: str, language: str) -> FoundDate | None:
    parsed = _parse_iso(metadata)
    if (
        parsed is None
        and re.search(r"[^\W\d_]{3}", metadata)
        and re.search(rf"\b{_YEAR}\b", metadata)
    ):
        # a written timestamp, e.g. RFC 822 "Mon, 14 Sep 2020 10:12:00 GMT"
        data = _parser(language).get_date_data(metadata)
        if data.date_obj is None and language != "en":
            data = _parser("en").get_date_data(metadata)
        if data.date_obj and data.period == "day":
            parsed = data.date_obj.date(), "day"
    if parsed is None:
        return None
    return FoundDate(_iso(*parsed), parsed[1], "metadata", -1, "metadata")


def _line(text: str, at: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return start, len(text) if end < 0 else end


def publication_date(text: str, language: str, metadata: str | None = None) -> FoundDate | None:
    """The article's publication date, or None when the text does not say it.

    Metadata first, then a date line near the top, then a full date in the lead;
    never a date the text mentions as the past (rules in the module docstring).

    >>> publication_date("MOSCOW, Sept 14 — Lukashenko flew to Sochi. "
    ...                  "(Photo: Sochi, Russia September 14, 2020.)", "en")
    FoundDate(value='2020-09-14', precision='day', evidence='Sept 14', start=8, how='dateline')
    >>> publication_date("Publisert 14.09.2020 kl. 10:12\\nLukasjenko kom mandag til Sotsji.", "nb")
    FoundDate(value='2020-09-14', precision='day', evidence='14.09.2020', start=10, how='dateline')
    >>> print(publication_date("He has ruled since 1994, and met Putin in February 2019.", "en"))
    None
    >>> publication_date("anything", "sv", metadata="2020-09-14T10:12:00+02:00").value
    '2020-09-14'
    """
    lang = _lang(language)
    if metadata:
        found = _from_metadata(metadata, lang.code)
        if found:
            return found
    marker = _MARKER.match(text)
    if marker and _parse_iso(marker["v"]):
        value, precision = _parse_iso(marker["v"])
        return FoundDate(
            _iso(value, precision), precision, marker["ev"], marker.start("ev"), "dateline"
        )
    cands = _scan(text, lang)
    dated = [(c, _resolve(c, None)) for c in cands if c.kind == "abs"]
    dated = [(c, s) for c, s in dated if s is not None]
    lead = [(c, s) for c, s in dated if c.start < LEAD]
    # a labelled line: "Publisert 14.09.2020 kl. 10:12", "Updated 15 September 2020"
    updated: set[int] = set()
    for label in _LABEL.finditer(text, 0, LEAD):
        nxt = next(((c, s) for c, s in lead if label.end() <= c.start <= label.end() + 40), None)
        if nxt is None or "\n" in text[label.end() : nxt[0].start] or nxt[0].y is None:
            continue
        if label["upd"]:
            updated.add(nxt[0].start)
        elif nxt[1].precision != "year":
            return _found(text, nxt[0], nxt[1], "dateline")
    # a wire dateline: "MOSCOW, Sept 14 —", "STOCKHOLM 14 september (TT) -"
    for c in cands:
        if c.start >= LEAD or c.kind not in ("abs", "md") or c.d is None:
            continue
        line_start = _line(text, c.start)[0]
        if not _DATELINE_PREFIX.fullmatch(text, line_start, c.start):
            continue
        if not _DATELINE_SUFFIX.match(text, c.end):
            continue
        if c.kind == "abs":
            return _found(text, c, _resolve(c, None), "dateline")
        years = {
            s.first.year
            for _, s in dated
            if s.precision == "day" and (s.first.month, s.first.day) == (c.m, c.d)
        }
        if len(years) != 1:
            return None  # a day without its year; other dates would contradict it
        return _found(text, c, _day(dt.date(years.pop(), c.m, c.d)), "dateline")
    full = [(c, s) for c, s in lead if s.precision == "day" and c.start not in updated]
    # a line that is only a date: "Monday 14 September 2020 10.12 BST"
    for c, s in full:
        start, end = _line(text, c.start)
        rest = text[start : c.start] + " " + text[c.end : end]
        if len(re.findall(r"[^\W\d_]{2,}", rest)) <= 2 and not _LABEL.search(rest):
            return _found(text, c, s, "dateline")
    # a full date in the lead, e.g. a wire photo's caption
    full = [
        (c, s)
        for c, s in full
        if not _ARCHIVE.search(text, *_line(text, c.start))
        and not _FROM.search(text, _line(text, c.start)[0], c.start)
    ]
    if not full or len({s.first for _, s in full}) != 1:
        return None
    c, s = full[0]
    if any(other.first > s.first for _, other in dated):
        return None  # the text names a later date: this one is in its past
    return _found(text, c, s, "text")
