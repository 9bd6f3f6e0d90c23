"""The timeline: dated passages in date order, drawn on a time axis."""

from __future__ import annotations

import json
import re

import pytest

from rag.answers.timeline import chart_svg, events, to_ordinal
from rag.app import render
from rag.cli import main
from rag.records import Hit
from rag.settings import Settings


def _hit(chunk_id: str, date: str | None, score: float = 1.0, **kw) -> Hit:
    fields = dict(
        chunk_id=chunk_id,
        doc_id=f"doc-{chunk_id}",
        title=f"Title {chunk_id}",
        language="en",
        date=date,
        text=f"Passage {chunk_id}.",
        start=0,
        end=10,
        score=score,
    )
    fields.update(kw)
    return Hit(**fields)


def test_events_keep_dated_hits_oldest_first():
    hits = [_hit("a", "2023"), _hit("b", None), _hit("c", "2020-09-14"), _hit("d", "2020-09")]
    assert [e.chunk_id for e in events(hits)] == ["d", "c", "a"]


def test_same_date_orders_by_score():
    hits = [_hit("a", "2020-09-14", 0.1), _hit("b", "2020-09-14", 0.9)]
    assert [e.chunk_id for e in events(hits)] == ["b", "a"]


def test_a_month_sits_in_its_middle_and_a_day_on_its_day():
    assert to_ordinal("2020-09") == pytest.approx(to_ordinal("2020-09-15") + 0.5)
    assert to_ordinal("2020-12", end=True) == to_ordinal("2020-12-31")


def test_chart_is_svg_with_a_lane_per_language_and_a_link_per_event():
    hits = [
        _hit("a", "2020-09-14", language="en"),
        _hit("b", "2020-09", language="sv"),
        _hit("c", "2023", language="en", title='<script>alert("x")</script>'),
    ]
    svg = chart_svg(events(hits))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('<a href="#event-') == 3
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    lanes = re.findall(r'font-size="13" fill="currentColor">(en|sv)</text>', svg)
    assert lanes == ["en", "sv"]
    # a year is drawn as a bar a year wide; a day as a dot
    assert svg.count("<circle") == 1 and svg.count("<rect") == 2
    # time runs left to right: 2020-09 before 2020-09-14 before 2023
    xs = [float(x) for x in re.findall(r'(?:cx|x)="([\d.]+)"[^>]*(?:r="6"|rx="4")', svg)]
    assert len(xs) == 3


def test_points_link_to_the_article_url_when_there_is_one():
    e = events([_hit("a", "2020-09-14")])
    from dataclasses import replace

    svg = chart_svg([replace(e[0], url="https://example.com/a?x=1&y=2")])
    assert 'href="https://example.com/a?x=1&amp;y=2"' in svg
    assert 'href="#event-' not in chart_svg([replace(e[0], url="https://x.example/")])
    # anything but http(s) stays an in-page link
    assert 'href="#event-1"' in chart_svg([replace(e[0], url="javascript:alert(1)")])


def test_the_panel_lists_events_that_the_chart_links_to():
    page = render.timeline_html(events([_hit("a", "2020-09-14"), _hit("b", "2021")]), "Q?")
    assert '<li id="event-1"' in page and '<li id="event-2"' in page
    assert "<svg" in page
    assert "No dated passage" in render.timeline_html([], "Q?")
    assert "Ask a question" in render.timeline_html([])


@pytest.mark.model
def test_rag_timeline_prints_dated_passages_in_order(seed_index: Settings, capsys):
    index = str(seed_index.index_path)
    code = main(["timeline", "Lukashenko and Putin", "--index", index, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    dates = [e["date"] for e in out["events"]]
    assert dates and all(dates) and dates == sorted(dates)
    code = main(["timeline", "Lukashenko and Putin", "--index", index, "--since", "2020-09-14"])
    text = capsys.readouterr().out
    assert code == 0 and text.startswith("2020-09-14")
    assert main(["timeline", "Putin", "--index", index, "--since", "Sept"]) == 2
