"""One language's vocabulary and date patterns, built once from dateparser's
locale data and `words.py`; and dateparser itself, for written dates.

dateparser is imported inside these functions, on first use, never on import.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from rag.dates.words import _DASH, _WORDS, _YEAR, _YEAR_END, LANGUAGES

_MONTH_KEYS = (
    "january february march april may june july august september october november december"
)
_WEEKDAY_KEYS = "monday tuesday wednesday thursday friday saturday sunday"


@dataclass(frozen=True, eq=False)  # hashed by identity: one per language, cached
class _Lang:
    code: str
    months: dict  # lower-case name or abbreviation -> 1..12
    weekdays: dict  # lower-case full name -> 0..6, Monday 0
    rel: dict  # lower-case phrase -> (unit, offset): "i går" -> ("day", -1)
    numbers: dict  # lower-case number word -> int
    ago: dict  # lower-case words after the number in "N years ago" -> unit
    words: dict  # this language's entry in _WORDS
    triggers: dict  # lower-case first word, or "#" for a number -> ((kind, regex), ...)


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _first_words(regex: str) -> set[str]:
    """The words a pattern's alternation may begin with (a superset will do)."""
    return {w.lower() for w in re.findall(r"[^\W\d_]+", re.sub(r"\\.", " ", regex))}


@functools.cache
def _lang(language: str) -> _Lang:
    """One language's vocabulary and patterns, from dateparser's locale data, built once.

    Each pattern is tried only where a word it can begin with occurs (or a
    number, "#"): one pass of `\\w+` over the text finds those places, which is
    several times faster than running every pattern over the whole text."""
    code = {"no": "nb", "nob": "nb"}.get(language, language)
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}: expected one of {LANGUAGES}")
    from dateparser.languages.loader import default_loader

    info = default_loader.get_locale(code).info
    words = _WORDS[code]
    month_keys, weekday_keys = _MONTH_KEYS.split(), _WEEKDAY_KEYS.split()
    months = {t.lower(): i for i, k in enumerate(month_keys, 1) for t in info[k] if len(t) >= 3}
    full_months = {max(info[k], key=len).lower() for k in month_keys}
    weekdays = {max(info[k], key=len).lower(): i for i, k in enumerate(weekday_keys)}
    rel: dict = dict(words.get("extra_rel", {}))
    for key, phrases in info["relative-type"].items():
        m = re.fullmatch(r"(\d) (day|week|month|year) ago|in (\d) (day|week|month|year)", key)
        for phrase in phrases if m else ():
            if phrase.split()[-1].lower() not in {"v", "mån", "mo", "wk", "yr", "md", "date"}:
                unit, n = (m[2], -int(m[1])) if m[1] else (m[4], int(m[3]))
                rel.setdefault(phrase.lower(), (unit, n))
    numbers = {
        k.lower(): int(v)
        for simplification in info.get("simplifications", [])
        for k, v in simplification.items()
        if re.fullmatch(r"[^\W\d_]+", k) and re.fullmatch(r"\d+", str(v))
    }
    num = "|".join([r"\d{1,3}", _alt(numbers)] if numbers else [r"\d{1,3}"])
    # "N years ago" from dateparser's regexes ("för (\d++[.,]?\d*+) år sedan"):
    # the words before the number, and the words after it mapped to their unit
    group, ago, ago_prefix = r"(\d++[.,]?\d*+)", {}, set()
    for key, regexes in info.get("relative-type-regex", {}).items():
        unit = re.fullmatch(r"\\1 (day|week|month|year) ago", key)
        for rx in regexes if unit else ():
            before, _, after = rx.partition(group + " ")
            tokens = (before + " " + after).split()
            if _ and all(
                len(w) > 1 and w.isalpha() and w not in {"mo", "wk", "yr", "md", "mån"}
                for w in tokens
            ):
                ago_prefix.add(before.strip())
                ago[after.lower()] = unit[1]
    day = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|:e|:a)?"
    year = rf"(?P<y>{_YEAR}){_YEAR_END}"
    # a dot may close an abbreviation ("Sept."), never a full name ("9. august.")
    mon = "|".join(
        re.escape(t) + ("" if t in full_months else r"\.?")
        for t in sorted(months, key=len, reverse=True)
    )
    full, wd = _alt(full_months), _alt(weekdays)
    # "söndagens", "måndagen", "i lördags"; English "Saturdays" are every Saturday
    suffixes = ("",) if code == "en" else ("", "s", "en", "ens")
    rel_years = _alt(p for p, (u, n) in rel.items() if u == "year" and n <= 0)
    digit, month_words = {"#"}, set(months)
    patterns = [  # (kind, regex, the words it may begin with)
        ("iso", rf"(?<![\d-])(?P<y>{_YEAR})-(?P<m>[01]\d)(?:-(?P<d>[0-3]\d))?(?!\d|-\d)", digit),
        (
            "numeric",
            rf"(?<![\d./])(?P<m>[01]?\d)/(?P<d>[0-3]?\d)/(?P<y>{_YEAR})(?!\d)"
            if code == "en"
            else rf"(?<![\d.])(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.(?P<y>{_YEAR})(?!\d)",
            digit,
        ),
        ("text", rf"(?<![\d.,]){day}\.?\s+(?:of\s+)?(?P<m>{mon})(?!\w)(?:,?\s+{year})?", digit),
        ("text", rf"(?P<m>{mon})(?!\w),?\s+{year}", month_words),
        (
            "rel_month",
            rf"(?P<mod>{_alt(words['rel_month'])})\s+(?P<m>{full})\b",
            set(words["rel_month"]),
        ),
        (
            "month",
            rf"(?:{words['month_pre']})\s+(?P<m>{full})\b(?!\.?\s*\d)(?:\s+(?P<rel>{rel_years})\b)?",
            _first_words(words["month_pre"]),
        ),
        ("year", rf"(?:{words['year_pre']})\s+{year}", _first_words(words["year_pre"])),
        ("year", rf"(?<![\d.,-])(?P<y>{_YEAR})(?=-[^\W\d_]{{3}})(?!-tal)", digit),
        (
            "year_pair",
            rf"(?<![\d.,-])(?P<y1>{_YEAR})\s*(?P<conn>{_DASH}|to|and|or|till|til|until|through"
            rf"|och|og|eller)\s*{year}",
            digit,
        ),
        ("rel", rf"(?P<rel>{_alt(rel)})\b", {p.split()[0] for p in rel}),
        ("so_far", rf"(?:{words['so_far']})\b", _first_words(words["so_far"].split()[0])),
        (
            "last_n",
            rf"{words['last_n'].replace('NUM', num)}\b",
            _first_words(words["last_n"].partition("NUM")[0]),
        ),
        (
            "weekday",
            rf"(?:(?P<mod>{_alt(words['wd_mod'])})\s+)?(?P<wd>{wd})(?P<suf>{_alt(suffixes)})\b",
            _first_words(" ".join(words["wd_mod"]))
            | {w + suffix for w in weekdays for suffix in suffixes},
        ),
        (
            "ago",
            rf"(?:{_alt(ago_prefix)})\s*(?P<n>{num})\s+(?P<u>{_alt(ago)})\b",
            _first_words(" ".join(ago_prefix)) or digit | set(numbers),
        ),
    ]
    if code == "en":
        patterns.append(("text", rf"(?P<m>{mon})(?!\w)\s+{day}(?!\d)(?:,?\s+{year})?", month_words))
    triggers: dict = {}
    for kind, rx, firsts in patterns:
        compiled = re.compile(rx, re.IGNORECASE)
        for first in firsts:
            triggers.setdefault(first, []).append((kind, compiled))
    return _Lang(
        code, months, weekdays, rel, numbers, ago, words, {k: tuple(v) for k, v in triggers.items()}
    )


@functools.cache
def _parser(code: str):
    """dateparser for written dates alone: fixed base year 2000 (a leap year, so "29
    February" parses; the year is filled in later), no relative or timestamp parsing."""
    from dateparser.date import DateDataParser

    settings = {
        "RELATIVE_BASE": dt.datetime(2000, 1, 1),
        "PREFER_DAY_OF_MONTH": "first",
        "PARSERS": ["absolute-time"],
    }
    if code != "en":  # dateparser's Swedish order is YMD: "17 mars" would be March 2017
        settings["DATE_ORDER"] = "DMY"
    return DateDataParser(languages=[code], settings=settings)


@functools.lru_cache(maxsize=16384)
def _parse_written(code: str, words: str) -> tuple[int, int] | None:
    """(month, day) of a written date such as "Sept. 25" or "14. september 2020"."""
    parsed = _parser(code).get_date_data(words).date_obj
    return (parsed.month, parsed.day) if parsed else None
