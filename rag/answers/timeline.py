"""A question's dated passages in time order: `rag timeline` and the app's chart.

`timeline()` retrieves the passages that best match a question among dated
articles only (the filter runs inside the index) and returns them as
`Event`s in date order; `chart_svg()` draws them on a time axis, one lane per
language, each point a link to its source. Both pure but `timeline()`.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rag.records import Hit

TIMELINE_K = 20  # passages `rag timeline` shows by default
PANEL_K = 12  # and the app's Timeline panel
OLDEST = "0001"  # `since` for "dated articles only"


@dataclass(frozen=True)
class Event:
    """One dated passage: `date` is its article's (YYYY, YYYY-MM or YYYY-MM-DD)."""

    date: str
    doc_id: str
    title: str
    language: str
    text: str
    chunk_id: str
    score: float
    url: str | None = None
    outlet: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def events(hits: Sequence[Hit]) -> list[Event]:
    """The dated hits as events, oldest first (ties: best score first)."""
    found = [
        Event(
            h.date,
            h.doc_id,
            h.title,
            h.language,
            h.text,
            h.chunk_id,
            h.score,
            h.url,
            h.outlet,
        )
        for h in hits
        if h.date
    ]
    return sorted(found, key=lambda e: (e.date, -e.score, e.chunk_id))


def timeline(
    question: str,
    k: int = TIMELINE_K,
    languages: Sequence[str] | None = None,
    *,
    since: object = None,
    until: object = None,
    settings=None,
) -> list[Event]:
    """The `k` passages that best match `question` among dated articles
    (dated `since` .. `until` when given), oldest first.

    Example (needs an index: run `rag ingest` first)::

        from rag.answers.timeline import timeline
        [(e.date, e.title) for e in timeline("Lukashenko and Putin")]
    """
    from rag.search.retrieval import retrieve

    hits = retrieve(
        question,
        k,
        languages,
        since=OLDEST if since is None else since,
        until=until,
        settings=settings,
    )
    return events(hits)


def to_ordinal(date: str, end: bool = False) -> float:
    """A date of any precision as a day number; a month or year sits in its
    middle (or at its last day with `end`).

    >>> to_ordinal("2020-09-14") - to_ordinal("2020-09-13")
    1.0
    >>> to_ordinal("2020") - to_ordinal("2020-01-01")  # 2020 has 366 days
    182.5
    """
    parts = [int(p) for p in date.split("-")]
    if len(parts) == 3:
        return float(datetime.date(*parts).toordinal())
    year = parts[0]
    if len(parts) == 2:
        first = datetime.date(year, parts[1], 1)
        nxt = datetime.date(year + parts[1] // 12, parts[1] % 12 + 1, 1)
    else:
        first, nxt = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    if end:
        return float(nxt.toordinal() - 1)
    return (first.toordinal() + nxt.toordinal() - 1) / 2


WIDTH, LANE, PAD, AXIS = 520, 40, 36, 30


def chart_svg(items: Sequence[Event], anchor_prefix: str = "event-") -> str:
    """The events on a time axis, as inline SVG: one lane per language, a
    dot per passage (a wider bar for a month or a year), each a link to the
    event's source (its URL, else its entry in the list beside the chart),
    with its date and title as tooltip. Every text is escaped."""
    if not items:
        return ""
    languages = sorted({e.language for e in items})
    lo = min(to_ordinal(e.date) - _half(e.date) for e in items)
    hi = max(to_ordinal(e.date) + _half(e.date) for e in items)
    span = max(hi - lo, 30.0)
    lo, hi = lo - span * 0.05, hi + span * 0.05

    def x(day: float) -> float:
        return PAD + (day - lo) / (hi - lo) * (WIDTH - 2 * PAD)

    height = AXIS + LANE * len(languages) + 8
    out = [
        f'<svg class="timeline" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{len(items)} dated passages on a time axis">'
    ]
    for i, lang in enumerate(languages):
        y = AXIS + LANE * i + LANE / 2
        out.append(
            f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity=".15"/>'
            f'<text x="4" y="{y + 4:.1f}" font-size="13" fill="currentColor">{_e(lang)}</text>'
        )
    for label, day in _ticks(lo, hi):
        out.append(
            f'<line x1="{x(day):.1f}" y1="{AXIS - 6}" x2="{x(day):.1f}" y2="{height - 4}" '
            'stroke="currentColor" stroke-opacity=".12"/>'
            f'<text x="{x(day):.1f}" y="{AXIS - 10}" font-size="13" text-anchor="middle" '
            f'fill="currentColor">{_e(label)}</text>'
        )
    stack: dict[tuple[str, int], int] = {}
    for n, e in enumerate(items, start=1):
        lane = languages.index(e.language)
        cx = x(to_ordinal(e.date))
        nudge = stack.get((e.language, round(cx / 6)), 0)  # points on one spot fan out
        stack[(e.language, round(cx / 6))] = nudge + 1
        y = AXIS + LANE * lane + LANE / 2 + (nudge % 3 - 1) * 7 * (nudge > 0)
        linked = e.url and e.url.startswith(("http://", "https://"))
        href = e.url if linked else f"#{anchor_prefix}{n}"
        tip = f"{e.date} · {e.title}"
        half = _half(e.date)
        if half > 1:  # a month or a year: a bar as long as what the date says
            w = max(x(to_ordinal(e.date) + half) - x(to_ordinal(e.date) - half), 4)
            shape = (
                f'<rect x="{cx - w / 2:.1f}" y="{y - 4:.1f}" width="{w:.1f}" height="8" rx="4" '
                'fill="var(--color-accent, #f97316)" fill-opacity=".45"/>'
            )
        else:
            shape = (
                f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="6" fill="var(--color-accent, #f97316)"/>'
            )
        out.append(
            f'<a href="{_e(href)}" class="event" data-n="{n}"><title>{_e(tip)}</title>{shape}</a>'
        )
    out.append("</svg>")
    return "".join(out)


def _half(date: str) -> float:
    """Half the length of what a date names, in days."""
    return {3: 0.0, 2: 15.0, 1: 182.0}[len(date.split("-"))]


def _ticks(lo: float, hi: float) -> list[tuple[str, float]]:
    """Axis labels: years, or months when the span is short."""
    first, last = datetime.date.fromordinal(int(lo)), datetime.date.fromordinal(int(hi))
    if hi - lo > 2 * 365:
        return [
            (str(y), float(datetime.date(y, 1, 1).toordinal()))
            for y in range(first.year + 1, last.year + 1)
        ]
    ticks, y, m = [], first.year, first.month
    step = 1 if hi - lo < 200 else 3
    while True:
        m += 1
        if m > 12:
            y, m = y + 1, m - 12
        day = datetime.date(y, m, 1)
        if day > last:
            break
        if (m - 1) % step == 0:
            label = day.strftime("%b %Y") if m == 1 or not ticks else day.strftime("%b")
            ticks.append((label, day.toordinal()))
    return [(label, float(day)) for label, day in ticks]


def _e(text: str) -> str:
    return html.escape(text, quote=True)
