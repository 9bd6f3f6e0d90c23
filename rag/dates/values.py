"""Dates as values: `FoundDate`, ISO strings at a precision, and spans of days.

A span is the run of days a date expression names (a day, a week or any run
of days, a month, a year); it is reported as the ISO value of the finest
precision that contains it whole.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FoundDate:
    """A date found in a text, at the precision its words support."""

    value: str  # ISO by precision: "2020-09-14", "2020-09" or "2020"
    precision: str  # "day" | "month" | "year"
    evidence: str  # the words that gave it, exactly as written, or "metadata"
    start: int  # offset of `evidence` in the text searched; -1 for metadata
    how: str  # "metadata" | "dateline" | "text" | "relative"


def precision_of(value: str) -> str:
    """The precision of an ISO date value.

    >>> precision_of("2020-09-14"), precision_of("2020-09"), precision_of("2020")
    ('day', 'month', 'year')
    """
    parsed = _parse_iso(value)
    if parsed is None:
        raise ValueError(f"not an ISO date of year, month or day precision: {value!r}")
    return parsed[1]


@dataclass(frozen=True)
class _Span:
    first: dt.date
    last: dt.date
    precision: str  # "day" | "week" | "month" | "year"; "week" is any run of days


def _year(y: int) -> _Span:
    return _Span(dt.date(y, 1, 1), dt.date(y, 12, 31), "year")


def _month(y: int, m: int) -> _Span:
    return _Span(dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1]), "month")


def _day(d: dt.date) -> _Span:
    return _Span(d, d, "day")


def _days(first: dt.date, last: dt.date) -> _Span:
    return _day(first) if first == last else _Span(first, last, "week")


def _shift_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _iso(d: dt.date, precision: str) -> str:
    return {"year": f"{d.year:04d}", "month": f"{d.year:04d}-{d.month:02d}"}.get(
        precision, d.isoformat()
    )


def _value(span: _Span) -> tuple[str, str] | None:
    """(ISO value, precision) of the finest precision that contains the span."""
    if span.precision != "week":
        return _iso(span.first, span.precision), span.precision
    if (span.first.year, span.first.month) == (span.last.year, span.last.month):
        return _iso(span.first, "month"), "month"
    if span.first.year == span.last.year:
        return _iso(span.first, "year"), "year"
    return None


_ISO = re.compile(
    r"\s*(?P<y>\d{4})(?:-(?P<m>\d\d)(?:-(?P<d>\d\d))?)?"
    r"(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?\s*"
)


def _parse_iso(value: str) -> tuple[dt.date, str] | None:
    """(first day, precision) of an ISO value or timestamp, None if it is not one."""
    match = _ISO.fullmatch(value)
    if not match:
        return None
    y, m, d = (int(g) if g else None for g in match.group("y", "m", "d"))
    try:
        date = dt.date(y, m or 1, d or 1)
    except ValueError:
        return None
    return date, "day" if d else "month" if m else "year"
