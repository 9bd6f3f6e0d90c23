"""`mentioned_dates` reports every date the text names, by offset. Dates with a
written year are how="text". Everything resolved against `anchor` (the
article's date, ISO at any precision) is how="relative", and only when the
anchor is precise enough: weekdays, "today", "i går" and week phrases need a
day; "last month", "in March" and "Sept. 25" need a month; "last year", "i
fjol" and "last February" need a year. The conventions:

- A weekday is the most recent such day on or before the anchor ("on
  Saturday", "mandag", "på måndagen"); with "last", "i ...s" ("i söndags"),
  "förra", "forrige" or "sist" it is strictly before; with "next", "nästa",
  "neste", "førstkommende", "kommende" or Swedish "på måndag" the first such
  day after.
- A day and month without a year ("Sept. 25", "9. august") and a bare month
  after a preposition ("in March", "i mars") take the year that puts them
  nearest the anchor (ties go to the past). "last February", "februari i
  fjol" and "februar i fjor" are February of the year before the anchor's
  year; "i februari i år" of the anchor's year.
- A week ("last week", "förra veckan", "forrige uke", "N weeks ago") runs
  Monday to Sunday, "earlier this week" from Monday to the anchor, and "the
  past N days/years" ("de siste 26 årene") from N units before the anchor to
  it. Such spans are reported at the finest precision that contains them
  whole (the month, else the year) and skipped when none does; never as the
  Monday, which would claim a day the text does not name.
- A year needs a time word before it ("in 2014", "since 1994", "the 2020
  results", "år 2019", "2020-valget"); "600 missiles", "26 years", "1990s"
  and "1990-talet" are not years.
"""

from __future__ import annotations

from rag.dates.lang import _lang
from rag.dates.resolve import _anchor, _found, _resolve
from rag.dates.scan import _scan
from rag.dates.values import FoundDate


def mentioned_dates(text: str, language: str, anchor: str | None) -> list[FoundDate]:
    """Every date the text names, in order of offset (rules in the module docstring).

    >>> for f in mentioned_dates("On Sunday, 774 were detained. Drills last until Sept. 25; "
    ...                          "he took power in 1994.", "en", "2020-09-14"):
    ...     print(f.value, f.precision, repr(f.evidence), f.how)
    2020-09-13 day 'Sunday' relative
    2020-09-25 day 'Sept. 25' relative
    1994 year '1994' text
    >>> text = "Han kom i söndags, valet hölls i fjol."
    >>> [f.value for f in mentioned_dates(text, "sv", "2020-09-14")]
    ['2020-09-13', '2019']
    >>> [f.value for f in mentioned_dates(text, "sv", "2020")]  # a weekday needs a day
    ['2019']
    """
    lang, base = _lang(language), _anchor(anchor)
    found = []
    for c in _scan(text, lang):
        span = _resolve(c, base)
        hit = span and _found(text, c, span, "text" if c.kind == "abs" else "relative")
        if hit:
            found.append(hit)
    return found
