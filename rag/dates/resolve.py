"""A candidate resolved to the span it names, against an anchor date.

The conventions (which anchor precision each kind needs, the nearest year,
weeks from Monday to Sunday) are described in `mentioned.py`; questions
resolve against today as the most recent such date on or before it.
"""

from __future__ import annotations

import datetime as dt

from rag.dates.scan import _Cand
from rag.dates.values import (
    FoundDate,
    _day,
    _days,
    _month,
    _parse_iso,
    _shift_months,
    _Span,
    _value,
    _year,
)

_RANK = {"year": 1, "month": 2, "day": 3}


def _anchor(value: str | None) -> tuple[dt.date, str] | None:
    if value is None:
        return None
    parsed = _parse_iso(value)
    if parsed is None:
        raise ValueError(f"anchor is not an ISO date: {value!r}")
    return parsed


def _nearest_year(anchor: dt.date, m: int, question: bool) -> int:
    """The year putting month m nearest the anchor's month (ties to the past),
    or for a question the most recent on or before it."""
    if question:
        return anchor.year if m <= anchor.month else anchor.year - 1
    here = anchor.year * 12 + anchor.month
    return min(
        (anchor.year - 1, anchor.year, anchor.year + 1),
        key=lambda y: (abs(y * 12 + m - here), y * 12 + m > here),
    )


def _needs(c: _Cand) -> str:
    """The anchor precision a relative candidate needs."""
    if c.kind == "month":
        return "year" if c.year_offset else "month"
    if c.kind == "md":
        return "month"
    if c.kind == "rel" and c.unit in ("month", "year"):
        return c.unit
    return "day"  # days, weeks, weekdays, "earlier this week", "the last N days"


def _resolve(c: _Cand, anchor: tuple[dt.date, str] | None, question: bool = False) -> _Span | None:
    """The span a candidate names, None if it needs a more precise anchor than given."""
    if c.kind == "void":
        return None
    try:
        if c.kind == "abs":
            if c.d is not None:
                return _day(dt.date(c.y, c.m, c.d))
            return _month(c.y, c.m) if c.m is not None else _year(c.y)
        if anchor is None or _RANK[anchor[1]] < _RANK[_needs(c)]:
            return None
        a = anchor[0]
        if c.kind == "md":
            if question and (c.m, c.d) > (a.month, a.day):
                return _day(dt.date(a.year - 1, c.m, c.d))
            return _day(dt.date(_nearest_year(a, c.m, question), c.m, c.d))
        if c.kind == "month":
            year = a.year + c.n if c.year_offset else _nearest_year(a, c.m, question)
            return _month(year, c.m)
        if c.kind == "rel":
            if c.unit == "day":
                return _day(a + dt.timedelta(days=c.n))
            if c.unit == "week":
                monday = a - dt.timedelta(days=a.weekday() - 7 * c.n)
                return _days(monday, monday + dt.timedelta(days=6))
            if c.unit == "month":
                shifted = _shift_months(a, c.n)
                return _month(shifted.year, shifted.month)
            return _year(a.year + c.n)
        if c.kind == "so_far":
            return _days(a - dt.timedelta(days=a.weekday()), a)
        if c.kind == "last_n":
            months = {"month": c.n, "year": 12 * c.n}.get(c.unit, 0)
            days = {"day": c.n, "week": 7 * c.n}.get(c.unit, 0)
            return _days(_shift_months(a, -months) - dt.timedelta(days=days), a)
        if c.kind == "weekday" and not question:
            if c.mode == "after":
                return _day(a + dt.timedelta(days=(c.d - a.weekday()) % 7 or 7))
            back = (a.weekday() - c.d) % 7
            return _day(a - dt.timedelta(days=back or (7 if c.mode == "before" else 0)))
    except ValueError:  # 31 June, 29 February 2021
        return None
    return None


def _found(text: str, c: _Cand, span: _Span, how: str) -> FoundDate | None:
    value = _value(span)
    if value is None:
        return None
    return FoundDate(value[0], value[1], text[c.start : c.end], c.start, how)
