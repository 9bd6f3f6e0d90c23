"""Test sets: JSONL, one question per line (the format `rag eval` reads).

Fields: id, question, language, gold_ids (article ids), key_phrases (phrases a
retrieved passage must contain), gold_passages (passage ids, as `rag search
--json` prints them, that count as relevant too), reference (a reference
answer), key_facts (short strings a correct answer contains), answerable
(false for questions the articles cannot answer), since / until (answer only
from articles dated then, as `rag ask --since/--until`: YYYY, YYYY-MM or
YYYY-MM-DD) and period ([since, until]: the time the question names, not
applied as a filter; `rag eval` measures how much of the answer comes from
then). A malformed file is a
`UsageError` naming the line and the problem; an unknown field too (a typo
such as "key_phrase" would otherwise silently score nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.errors import UsageError
from rag.search.query import date_range


@dataclass(frozen=True)
class TestQuestion:
    __test__ = False  # not a pytest class

    id: str
    question: str
    language: str
    gold_ids: tuple[str, ...] = ()
    key_phrases: tuple[str, ...] = ()
    gold_passages: tuple[str, ...] = ()
    reference: str = ""
    key_facts: tuple[str, ...] = ()
    answerable: bool = True
    since: str | None = None
    until: str | None = None
    period: tuple[str | None, str | None] | None = None

    def dates(self, since: str | None = None, until: str | None = None) -> dict:
        """The date filter to answer with: the question's own, else the one given."""
        if self.since is not None or self.until is not None:
            return {"since": self.since, "until": self.until}
        return {"since": since, "until": until}

    def expected_range(self, since: str | None = None, until: str | None = None):
        """(first, after) the answer's sources should be dated in, or None:
        the filter it is answered with, else the period it names."""
        filtered = self.dates(since, until)
        if filtered["since"] is not None or filtered["until"] is not None:
            return date_range(**filtered)
        return date_range(*self.period) if self.period else None

    def cross_lingual(self, article_languages: dict[str, str]) -> bool:
        """True when no gold article is in the question's language."""
        return bool(self.gold_ids) and all(
            article_languages.get(g) != self.language for g in self.gold_ids
        )


_LISTS = ("gold_ids", "key_phrases", "gold_passages", "key_facts")
_DATES = ("since", "until")
_FIELDS = frozenset(
    {"id", "question", "language", "reference", "answerable", "period", *_DATES, *_LISTS}
)


def load_testset(path: Path) -> list[TestQuestion]:
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read test set {path}: {exc}") from None
    questions: list[TestQuestion] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UsageError(f"{where}: expected a JSON object")
        unknown = sorted(set(row) - _FIELDS)
        if unknown:
            raise UsageError(
                f"{where}: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_FIELDS))}"
            )
        if not isinstance(row.get("reference", ""), str):
            raise UsageError(f"{where}: field 'reference' must be a string")
        for name in ("id", "question", "language"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise UsageError(f"{where}: field {name!r} must be a non-empty string")
        for name in _LISTS:
            value = row.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where}: field {name!r} must be a list of strings")
        answerable = row.get("answerable", True)
        if not isinstance(answerable, bool):
            raise UsageError(f"{where}: field 'answerable' must be true or false")
        for name in _DATES:
            if row.get(name) is not None and not isinstance(row[name], str):
                raise UsageError(f"{where}: field {name!r} must be a date string or null")
        period = row.get("period")
        if period is not None and not (
            isinstance(period, list)
            and len(period) == 2
            and all(p is None or isinstance(p, str) for p in period)
            and any(p is not None for p in period)
        ):
            raise UsageError(f"{where}: field 'period' must be [since, until] (one may be null)")
        try:
            date_range(row.get("since"), row.get("until"))
            if period:
                date_range(*period)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if answerable and not row.get("gold_ids"):
            raise UsageError(f"{where}: an answerable question needs gold_ids")
        if row["id"] in seen:
            raise UsageError(f"{where}: id {row['id']!r} is used twice")
        seen.add(row["id"])
        questions.append(
            TestQuestion(
                id=row["id"],
                question=row["question"],
                language=row["language"],
                gold_ids=tuple(row.get("gold_ids", [])),
                key_phrases=tuple(row.get("key_phrases", [])),
                gold_passages=tuple(row.get("gold_passages", [])),
                reference=row.get("reference", ""),
                key_facts=tuple(row.get("key_facts", [])),
                answerable=answerable,
                since=row.get("since"),
                until=row.get("until"),
                period=tuple(period) if period else None,
            )
        )
    if not questions:
        raise UsageError(f"test set {path} holds no questions")
    return questions
