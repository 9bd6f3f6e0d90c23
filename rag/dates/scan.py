"""Date expressions in a text, found as candidates (`_Cand`) by one pass over it.

A candidate is a written date (with its year: "abs"), or what needs an
anchor to become one: a day and month, a bare month, a relative phrase, a
weekday, "earlier this week", "the last N days". Overlaps go to the longest.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rag.dates.lang import _Lang, _parse_written
from rag.dates.words import _DASH, _YEAR

_TOKEN = re.compile(r"\w+")
_SHARED_YEAR = re.compile(
    rf"(?i)\s*(?:,|,?\s*(?:{_DASH}|and|or|to|until|through|och|eller|till|og|til))\s*"
)


@dataclass(frozen=True)
class _Cand:
    start: int  # the evidence's offsets in the text
    end: int
    kind: str  # abs | md | month | rel | so_far | last_n | weekday | void (not a date)
    y: int | None = None
    m: int | None = None
    d: int | None = None
    unit: str | None = None  # rel and last_n: day | week | month | year
    n: int = 0  # rel: offset in units; last_n: how many; month: year offset, if any
    mode: str = ""  # weekday: "before" | "after" | "" (on or before)
    year_offset: bool = False  # month: n is a year offset ("last February")


def _cands(match: re.Match, kind: str, lang: _Lang) -> list[_Cand]:
    g = match.groupdict()
    s, e = match.span()
    if kind in ("iso", "numeric"):
        return [_Cand(s, e, "abs", int(g["y"]), int(g["m"]), int(g["d"]) if g["d"] else None)]
    if kind == "year":
        return [_Cand(*match.span("y"), "abs", int(g["y"]))]
    if kind == "year_pair":
        first = _Cand(*match.span("y1"), "abs", int(g["y1"]))
        second = _Cand(*match.span("y"), "abs", int(g["y"]))
        if g["conn"].lower() in ("and", "or", "och", "og", "eller"):
            # "in 2020 and 2022" names two years, "600 and 2000" none: the second
            # counts when the first does (n is where the first starts)
            return [_Cand(second.start, second.end, "abs_if", second.y, n=first.start)]
        return [first, second]  # "2020–2022", "2020 to 2022"
    if kind in ("text", "month", "rel_month") and lang.code == "en" and not g["m"][0].isupper():
        return []  # English capitalises months: "may", "march" are not dates
    if kind == "text":
        parsed = _parse_written(lang.code, match.group())
        if parsed is None:  # "31 juni 2020": holds its place, so "juni 2020" is not taken
            return [_Cand(s, e, "void")]
        m, d = parsed
        if g.get("d") is None:
            return [_Cand(s, e, "abs", int(g["y"]), m)]
        return [
            _Cand(s, e, "abs", int(g["y"]), m, d) if g.get("y") else _Cand(s, e, "md", m=m, d=d)
        ]
    if kind == "rel_month":
        n = lang.words["rel_month"][g["mod"].lower()]
        return [_Cand(s, e, "month", m=lang.months[g["m"].lower()], n=n, year_offset=True)]
    if kind == "month":
        m = lang.months[g["m"].lower()]
        if g["rel"]:
            n = lang.rel[" ".join(g["rel"].lower().split())][1]
            return [_Cand(match.start("m"), e, "month", m=m, n=n, year_offset=True)]
        return [_Cand(*match.span("m"), "month", m=m)]
    if kind == "rel":
        unit, n = lang.rel[" ".join(g["rel"].lower().split())]
        return [_Cand(s, e, "rel", unit=unit, n=n)]
    if kind == "ago":
        unit = lang.ago[" ".join(g["u"].lower().split())]
        return [_Cand(s, e, "rel", unit=unit, n=-_number(g["n"], lang))]
    if kind == "so_far":
        return [_Cand(s, e, "so_far")]
    if kind == "last_n":
        unit = g["u"].lower()
        if not g["n"] and unit not in lang.words.get("single", ()):
            return []  # "de senaste månaderna": how many is not said
        n = _number(g["n"], lang) if g["n"] else 1
        return [_Cand(s, e, "last_n", unit=lang.words["units"][unit], n=n)]
    # weekday
    mod = (g["mod"] or "").lower()
    mode = lang.words["wd_mod"].get(" ".join(mod.split()), "")
    suffix = (g["suf"] or "").lower()
    if mod == "i" and suffix != "s" or mod == "på" and suffix:
        mode = ""  # "i söndags" is last Sunday, "på måndagen" is on Monday
    start = s if mode else match.start("wd")
    return [_Cand(start, e, "weekday", d=lang.weekdays[g["wd"].lower()], mode=mode)]


def _number(word: str, lang: _Lang) -> int:
    return int(word) if word.isdigit() else lang.numbers[word.lower()]


@functools.lru_cache(maxsize=8)  # publication_date and mentioned_dates scan the same text
def _scan(text: str, lang: _Lang, question: bool = False) -> tuple[_Cand, ...]:
    """Every date expression in the text, by offset; overlaps go to the longest."""
    found: list[_Cand] = []
    for token in _TOKEN.finditer(text):
        word = token.group()
        for kind, rx in lang.triggers.get("#" if word[0].isdigit() else word.lower(), ()):
            match = rx.match(text, token.start())
            if match:
                found.extend(_cands(match, kind, lang))
    if question:  # a year closing a question: "Belarus protests 2020?"
        for match in re.finditer(rf"(?<![\d.,])\b(?P<y>{_YEAR})\s*[?!.]?\s*$", text):
            found.append(_Cand(*match.span("y"), "abs", int(match["y"])))
    years = {c.start for c in found if c.kind == "abs"}
    found = [
        _Cand(c.start, c.end, "abs", c.y) if c.kind == "abs_if" else c
        for c in found
        if c.kind != "abs_if" or c.n in years
    ]
    found.sort(key=lambda c: (c.start, c.start - c.end))
    kept: list[_Cand] = []
    for cand in found:
        if not kept or cand.start >= kept[-1].end:
            kept.append(cand)
    # "august og september 2020", "28 December to 5 January 2021": the year is
    # shared (the one before, when the months run over a new year)
    for i in range(len(kept) - 2, -1, -1):
        c, nxt = kept[i], kept[i + 1]
        if (
            (c.kind == "md" or c.kind == "month" and not c.year_offset)
            and nxt.kind == "abs"
            and nxt.m is not None
            and _SHARED_YEAR.fullmatch(text, c.end, nxt.start)
        ):
            kept[i] = _Cand(c.start, c.end, "abs", nxt.y - (c.m > nxt.m), c.m, c.d)
    return tuple(kept)
