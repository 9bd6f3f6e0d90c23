"""`question_range` gives the span a question names as (since, until), both
inclusive ISO strings; either end is None when open ("since 2021"). Dates
without a year resolve against `today` as the most recent such date on or
before it; weeks give their days ("last week" -> its Monday and Sunday);
several dates give their hull; "between/from A and/to B" a range; "since A",
"after A" (the unit after A), "before A" (the unit before A), "until A" and
their sv/nb words open ends. Weekdays name no span. None when the question
names no time.
"""

from __future__ import annotations

import datetime as dt
import re

from rag.dates.lang import _lang
from rag.dates.resolve import _resolve
from rag.dates.scan import _scan
from rag.dates.values import _iso, _shift_months, _Span
from rag.dates.words import _DASH

# Words that open a question's span. "since", "after" and "before" may stand up
# to three words before the date, in the same clause ("since the election on
# 9 August 2020", "siden valget 9. august"); "from" and "until" words only just
# before it ("a letter from Putin in 2020", "till Lukasjenko i mars" are not spans).
_OPEN = {
    "since": (r"since|sedan|siden|starting", r"from|från|fra"),
    "after": (r"after|efter|etter", None),
    "before": (r"before|prior\s+to|före|innan|før", None),
    "until": (
        None,
        r"until|till|tills|til|up\s+to|through|fram\s+till|fr[ae]m\s+til|till\s+och\s+med"
        r"|til\s+og\s+med|t\.o\.m\.",
    ),
}
_OPEN_RX = {
    k: re.compile(
        "|".join(
            rf"(?:^|[^\w.])(?:{words})(?:\s+[^\s,;:.?!]+){{0,{gap}}}\s+$"
            for words, gap in ((wide, 3), (tight, 0))
            if words
        ),
        re.IGNORECASE,
    )
    for k, (wide, tight) in _OPEN.items()
}
_PAIR_GAP = re.compile(
    rf"(?i)\s*(?:{_DASH}|to|and|till|til|until|through|och|og|t\.o\.m\.|till och med|til og med)\s*"
)


def _step(span: _Span, forward: bool) -> tuple[dt.date, str]:
    """The unit just after (forward) or just before a span, at its precision."""
    if span.precision == "year":
        return dt.date(span.last.year + 1 if forward else span.first.year - 1, 1, 1), "year"
    if span.precision == "month":
        return _shift_months(span.last if forward else span.first, 1 if forward else -1), "month"
    return span.last + dt.timedelta(days=1) if forward else span.first - dt.timedelta(days=1), "day"


def question_range(
    question: str, language: str, today: dt.date
) -> tuple[str | None, str | None] | None:
    """The time span a question names as inclusive ISO (since, until); None for
    an open end; None when it names no time (rules in the module docstring).

    >>> import datetime as dt
    >>> today = dt.date(2026, 12, 3)
    >>> question_range("Vad hände i Belarus i september 2020?", "sv", today)
    ('2020-09', '2020-09')
    >>> question_range("What did Lukashenko do last year?", "en", today)
    ('2025', '2025')
    >>> question_range("Hva har skjedd mellom 2020 og 2022?", "nb", today)
    ('2020', '2022')
    >>> question_range("What has changed since 2021?", "en", today)
    ('2021', None)
    >>> print(question_range("Why did Russia fire 600 missiles on Saturday?", "en", today))
    None
    """
    lang = _lang(language)
    anchor = (today, "day")
    found = [(c, _resolve(c, anchor, question=True)) for c in _scan(question, lang, question=True)]
    found = [(c, s) for c, s in found if s is not None]
    if not found:
        return None
    ends: list[tuple] = []  # (since, until), each (date, precision) or None when open
    i = 0
    while i < len(found):
        c, s = found[i]
        if i + 1 < len(found) and _PAIR_GAP.fullmatch(question, c.end, found[i + 1][0].start):
            pair = (s, found[i + 1][1])  # "from 2022 to 2020" is read as 2020 to 2022
            first, last = min(pair, key=lambda p: p.first), max(pair, key=lambda p: p.last)
            ends.append(((first.first, first.precision), (last.last, last.precision)))
            i += 2
            continue
        before = question[max(0, c.start - 60) : c.start]
        since, until = (s.first, s.precision), (s.last, s.precision)
        if _OPEN_RX["since"].search(before):
            until = None
        elif _OPEN_RX["after"].search(before):
            since, until = _step(s, True), None
        elif _OPEN_RX["before"].search(before):
            since, until = None, _step(s, False)
        elif _OPEN_RX["until"].search(before):
            since = None
        ends.append((since, until))
        i += 1
    sinces, untils = [e[0] for e in ends], [e[1] for e in ends]
    since = None if None in sinces else min(sinces, key=lambda e: e[0])
    until = None if None in untils else max(untils, key=lambda e: e[0])
    if since is None and until is None:
        return None

    def iso(end):
        return None if end is None else _iso(end[0], "day" if end[1] == "week" else end[1])

    return iso(since), iso(until)
