"""rag.dates on tests/data/dates.jsonl, the seed articles, and named edge cases.

Each line of tests/data/dates.jsonl is one case:

- "id": unique name; "language": "sv" | "nb" | "en"; "text": the raw text
  (an article for "publication" and "mentioned", a question for "question").
- "kind": which function it checks:
  - "publication": `publication_date(text, language, metadata)`, with an
    optional "metadata" string. "expected" is {"value", "evidence", "how"}
    or null when the text does not state its date.
  - "mentioned": `mentioned_dates(text, language, anchor)`. "anchor" is the
    article's date (ISO, any precision) or null. "expected" is the list, in
    order, of {"value", "evidence", "how"}.
  - "question": `question_range(text, language, today)` with "anchor" as
    today (YYYY-MM-DD). "expected" is [since, until] (either may be null for
    an open end) or null when the question names no time.
- "known_miss": true (with a "reason") marks a case the module is known to
  get wrong; it is kept so the limitation stays visible, must still fail (so a
  fix is noticed), and their number is pinned so it cannot grow silently.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from rag.dates import (
    FoundDate,
    mentioned_dates,
    precision_of,
    publication_date,
    question_range,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    json.loads(line)
    for line in (ROOT / "tests" / "data" / "dates.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
KNOWN_MISSES = 2
SEEDS = ROOT / "seeds"
SEED_LANGUAGE = {"000": "sv", "001": "en", "002": "nb", "003": "en", "004": "en"}
SEED_DATE = {"000": "2020-09", "001": None, "002": None, "003": None, "004": "2020-09-14"}


def _found(text: str, found: FoundDate) -> dict:
    assert found.precision == precision_of(found.value)
    if found.how == "metadata":
        assert (found.evidence, found.start) == ("metadata", -1)
    else:
        assert text[found.start : found.start + len(found.evidence)] == found.evidence
    return {"value": found.value, "evidence": found.evidence, "how": found.how}


def outcome(case: dict):
    """What the module answers for a case, in the shape of its "expected"."""
    text, language = case["text"], case["language"]
    if case["kind"] == "publication":
        found = publication_date(text, language, case.get("metadata"))
        return None if found is None else _found(text, found)
    if case["kind"] == "mentioned":
        found = mentioned_dates(text, language, case["anchor"])
        assert [f.start for f in found] == sorted(f.start for f in found)
        return [_found(text, f) for f in found]
    span = question_range(text, language, dt.date.fromisoformat(case["anchor"]))
    return None if span is None else list(span)


def accuracy() -> dict[tuple[str, str], tuple[int, int]]:
    """(correct, total) per (kind, language), over all cases."""
    tally: dict[tuple[str, str], list[int]] = {}
    for case in CASES:
        counts = tally.setdefault((case["kind"], case["language"]), [0, 0])
        counts[0] += outcome(case) == case["expected"]
        counts[1] += 1
    return {key: (right, total) for key, (right, total) in sorted(tally.items())}


def _id(case: dict) -> str:
    return case["id"]


def test_data_has_enough_cases_of_every_kind_and_language():
    assert len({c["id"] for c in CASES}) == len(CASES) >= 36
    per_language = Counter(c["language"] for c in CASES)
    assert set(per_language) == {"sv", "nb", "en"}
    assert min(per_language.values()) >= 12
    assert {(c["kind"], c["language"]) for c in CASES} == {
        (k, lang) for k in ("publication", "mentioned", "question") for lang in ("sv", "nb", "en")
    }
    for case in CASES:
        assert case["kind"] in ("publication", "mentioned", "question")
        assert "reason" in case if case.get("known_miss") else "reason" not in case


@pytest.mark.parametrize("case", [c for c in CASES if not c.get("known_miss")], ids=_id)
def test_case(case):
    assert outcome(case) == case["expected"]


@pytest.mark.parametrize("case", [c for c in CASES if c.get("known_miss")], ids=_id)
def test_known_miss_still_misses(case):
    """A fixed known miss must lose its mark (and KNOWN_MISSES go down)."""
    assert outcome(case) != case["expected"], f"{case['id']} passes now: drop its known_miss"


def test_accuracy_is_complete_but_for_the_pinned_known_misses():
    table = accuracy()
    right = sum(r for r, _ in table.values())
    total = sum(t for _, t in table.values())
    assert sum(1 for c in CASES if c.get("known_miss")) == KNOWN_MISSES
    assert total - right == KNOWN_MISSES, table


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_seed_publication_dates(path):
    key = path.name[:3]
    found = publication_date(path.read_text(encoding="utf-8"), SEED_LANGUAGE[key])
    assert (found and found.value) == SEED_DATE[key]


def test_seed_dates_come_from_their_marker_and_dateline():
    sv = publication_date((SEEDS / "000_18e90629cb7a80c3.txt").read_text(encoding="utf-8"), "sv")
    assert (sv.precision, sv.evidence, sv.how) == ("month", "date 2020-09", "dateline")
    text = (SEEDS / "004_18ba5788d55bd370.txt").read_text(encoding="utf-8")
    en = publication_date(text, "en")
    assert (en.precision, en.evidence, en.how) == ("day", "Sept 14", "dateline")
    assert text[en.start :].startswith("Sept 14 —")


def test_seed_004_mentions_resolve_against_its_date():
    text = (SEEDS / "004_18ba5788d55bd370.txt").read_text(encoding="utf-8")
    found = {(f.evidence, f.value) for f in mentioned_dates(text, "en", "2020-09-14")}
    assert {
        ("September 14, 2020", "2020-09-14"),
        ("today", "2020-09-14"),
        ("Sunday", "2020-09-13"),
        ("last month", "2020-08"),
        ("Monday", "2020-09-14"),
        ("Sept. 25", "2020-09-25"),
    } <= found
    assert not any("1990" in v or e == "26" for e, v in found)


def test_mentioned_dates_without_anchor_keep_only_written_years():
    text = "On Sunday, a year after the 2019 vote, he met Putin (last month: 14 May 2019)."
    assert [f.value for f in mentioned_dates(text, "en", None)] == ["2019", "2019-05-14"]


def test_weekday_on_the_anchor_day_is_that_day_unless_last():
    def values(text, language):
        return [f.value for f in mentioned_dates(text, language, "2020-09-14")]  # a Monday

    assert values("Lukasjenko kom mandag.", "nb") == ["2020-09-14"]
    assert values("He came last Monday.", "en") == ["2020-09-07"]
    assert values("Han kom i måndags.", "sv") == ["2020-09-07"]
    assert values("He comes next Monday.", "en") == ["2020-09-21"]


def test_day_month_without_year_takes_the_nearest_year():
    text = "The talks began on 28 December and end on 5 January."
    assert [f.value for f in mentioned_dates(text, "en", "2021-01-02")] == [
        "2020-12-28",
        "2021-01-05",
    ]
    assert mentioned_dates(text, "en", "2021") == []  # a year anchor cannot place a day


def test_leap_day_without_year_is_dropped_when_the_year_has_none():
    assert mentioned_dates("Det skjedde 29. februar.", "nb", "2021-03-01") == []
    assert [f.value for f in mentioned_dates("Det skjedde 29. februar.", "nb", "2020-03-01")] == [
        "2020-02-29"
    ]


def test_invalid_dates_are_not_dates():
    assert mentioned_dates("Den 31 juni 2020 och 2020-13-01.", "sv", None) == []
    assert publication_date("x", "en", metadata="2020-13-01") is None
    assert publication_date("x", "en", metadata="not a date") is None


def test_a_month_shares_the_year_written_after_it():
    text = "It ran from 28 December to 5 January 2021, and in August and September 2020."
    assert [(f.evidence, f.value) for f in mentioned_dates(text, "en", None)] == [
        ("28 December", "2020-12-28"),
        ("5 January 2021", "2021-01-05"),
        ("August", "2020-08"),
        ("September 2020", "2020-09"),
    ]
    today = dt.date(2026, 12, 3)
    question = "Hva skjedde i Hviterussland i august og september 2020?"
    assert question_range(question, "nb", today) == ("2020-08", "2020-09")


def test_swedish_day_month_is_not_read_as_year_month():
    # dateparser's Swedish date order is YMD: alone, "17 mars" would be March 2017
    assert [f.value for f in mentioned_dates("Den 17 mars kom beskedet.", "sv", "2020-09-14")] == [
        "2020-03-17"
    ]


def test_english_months_must_be_capitalised():
    assert mentioned_dates("They may march in may.", "en", "2020-09-14") == []


def test_question_open_ends_and_ranges():
    today = dt.date(2026, 12, 3)
    assert question_range("Hva skjedde etter september 2020?", "nb", today) == ("2020-10", None)
    assert question_range("Vad hände fram till 2019?", "sv", today) == (None, "2019")
    assert question_range("What happened in 2020–2022?", "en", today) == ("2020", "2022")
    assert question_range("What happened from 2022 to 2020?", "en", today) == ("2020", "2022")
    assert question_range("What did the EU hear from Putin in 2020?", "en", today) == (
        "2020",
        "2020",
    )
    assert question_range("Vad sa Putin till Lukasjenko i mars?", "sv", today) == (
        "2026-03",
        "2026-03",
    )
    assert question_range("Hva skjedde i desember?", "nb", dt.date(2026, 11, 3)) == (
        "2025-12",
        "2025-12",
    )


def test_precision_of():
    assert [precision_of(v) for v in ("2020", "2020-09", "2020-09-14")] == ["year", "month", "day"]
    with pytest.raises(ValueError):
        precision_of("14/9/2020")


def test_bad_language_and_anchor_are_errors():
    with pytest.raises(ValueError):
        publication_date("text", "de")
    with pytest.raises(ValueError):
        mentioned_dates("text", "en", "yesterday")
    assert publication_date("Publisert 14.09.2020", "no").value == "2020-09-14"


def test_import_is_lazy_and_use_is_quiet_and_offline():
    code = (
        "import socket, sys\n"
        "import rag, rag.dates\n"
        "assert 'dateparser' not in sys.modules\n"
        "def refuse(*a, **k): raise OSError('network')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse\n"
        "from pathlib import Path\n"
        "for p in sorted(Path('seeds').glob('*.txt')):\n"
        "    t = p.read_text(encoding='utf-8')\n"
        "    rag.dates.publication_date(t, 'en')\n"
        "    rag.dates.mentioned_dates(t, 'en', '2020-09-14')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == ""


def test_seed_articles_take_a_few_milliseconds_each():
    paths = sorted(SEEDS.glob("*.txt"))
    texts = [(p.read_text(encoding="utf-8"), SEED_LANGUAGE[p.name[:3]]) for p in paths]
    for text, language in texts:  # warm-up: dateparser loads its language data
        publication_date(text, language)
        mentioned_dates(text, language, "2020-09-14")
    rounds, start = 20, time.perf_counter()
    for i in range(rounds):
        for text, language in texts:
            text = f"{text}\n{i}"  # a new text each time: no cached scan
            publication_date(text, language)
            mentioned_dates(text, language, "2020-09-14")
    per_article = (time.perf_counter() - start) / (rounds * len(texts))
    assert per_article < 0.02  # about 1 ms here; generous for a busy shared machine
