"""News-native behaviour end to end on tiny real data (tests/data/news):
article dates with their evidence, wire copies grouped at ingest and shown
once, corroboration and conflicting numbers in answers, date filters."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rag.answers.answer import answer
from rag.ingest.pipeline import build_index
from rag.search.retrieval import Retriever, retrieve
from rag.settings import Settings
from tests.conftest import index_articles, run_rag

NEWS = Path(__file__).parent / "data" / "news"

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object]:
    root = tmp_path_factory.mktemp("news")
    shutil.copytree(NEWS, root / "seeds")
    settings = Settings(root=root)
    report = build_index(settings)
    return settings, report


def test_ingest_groups_the_wire_copy_and_reports_it(news):
    settings, report = news
    assert [(c.doc_id, c.of) for c in report.copies] == [("daily-minsk", "wire-minsk")]
    articles = index_articles(settings)
    assert articles["daily-minsk"].copy_of == "wire-minsk"
    # a translation and another outlet's own report of the same march are not copies
    assert articles["sv-minsk"].copy_of is None
    assert articles["herald-minsk"].copy_of is None


def test_articles_keep_their_date_evidence_and_outlet(news):
    settings, _ = news
    articles = index_articles(settings)
    wagner = articles["wagner"]
    assert (wagner.date, wagner.language) == ("2023-06-27", "nb")
    assert wagner.date_evidence == "27.06.2023"  # from its "Publisert ..." line
    assert "Publisert" not in wagner.text  # the date line leaves the body
    assert (articles["wire-minsk"].date, articles["wire-minsk"].date_evidence) == (
        "2020-08-16",
        "metadata",
    )
    assert articles["herald-minsk"].outlet == "Baltic Herald"


def test_search_shows_a_story_once_with_its_copies(news):
    settings, _ = news
    hits = retrieve("How many protesters filled Independence Square?", k=6, settings=settings)
    docs = [h.doc_id for h in hits]
    assert len({"wire-minsk", "daily-minsk"} & set(docs)) == 1
    shown = next(h for h in hits if h.doc_id in ("wire-minsk", "daily-minsk"))
    other = ({"wire-minsk", "daily-minsk"} - {shown.doc_id}).pop()
    assert [s.doc_id for s in shown.also_in] == [other]
    assert shown.also_in[0].outlet in ("Nordic Wire", "The Daily Ledger")
    proc = run_rag("search", "protesters in Minsk", "--index", str(settings.index_path))
    assert "also in 1 source(s), wire copies" in proc.stdout


def test_an_answer_shows_both_numbers_when_sources_differ(news):
    settings, _ = news
    result = answer("How many people protested in Minsk?", settings=settings)
    by_n = {c.n: c for c in result.citations}
    differing = [c for c in result.citations if c.contradicts]
    assert differing, result.text
    c = differing[0]
    assert "80,000" in c.sentence and "100,000" in by_n[c.contradicts].sentence
    assert "Another source says otherwise:" in result.text
    assert {c.outlet, by_n[c.contradicts].outlet} == {"Baltic Herald", "Nordic Wire"}


def test_an_answer_cites_other_stories_that_state_the_same(news):
    settings, _ = news
    result = answer("Since when has Lukashenko ruled Belarus?", settings=settings)
    also = [c for c in result.citations if c.corroborates]
    assert also, result.text
    for c in also:
        quoted = result.citations[c.corroborates - 1]
        assert "1994" in c.sentence and "1994" in quoted.sentence
        stories = {quoted.doc_id, c.doc_id}
        assert stories != {"wire-minsk", "daily-minsk"}  # a copy is not another source
    assert len({c.doc_id for c in result.citations}) >= 2


def test_date_filters_run_in_the_index_and_the_timeline_orders_by_date(news):
    settings, _ = news
    hits = retrieve("Lukashenko", k=5, since="2021", settings=settings)
    assert {h.doc_id for h in hits} == {"ryanair", "wagner"}
    proc = run_rag(
        "timeline", "Lukashenko", "--index", str(settings.index_path), "--json", "--k", "10"
    )
    dates = [e["date"] for e in json.loads(proc.stdout)["events"]]
    assert dates == sorted(dates) and dates[0].startswith("2020-08") and dates[-1] == "2023-06-27"


def test_a_later_copy_joins_the_stored_story_and_survives_compaction(news, tmp_path):
    settings, _ = news
    index = tmp_path / "index"
    shutil.copytree(settings.index_path, index, symlinks=True)
    later = tmp_path / "later"
    later.mkdir()
    wire = next(
        json.loads(line)
        for line in (NEWS / "articles.jsonl").read_text(encoding="utf-8").splitlines()
        if '"wire-minsk"' in line
    )
    text = wire["text"].replace("Tens of thousands", "Thousands upon thousands")
    row = {**wire, "id": "gazette-minsk", "outlet": "Gazette", "text": text + "\n\nAds."}
    (later / "gazette.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    proc = run_rag("add", str(later / "gazette.jsonl"), "--index", str(index))
    assert proc.returncode == 0, proc.stderr
    assert "gazette-minsk" in proc.stdout and "copies wire-minsk" in proc.stdout
    moved = Settings(root=settings.root, index_dir=index)
    assert run_rag("compact", "--index", str(index)).returncode == 0
    articles = index_articles(moved)
    assert articles["gazette-minsk"].copy_of == "wire-minsk"
    # removing the story's first article keeps its copies together
    assert run_rag("remove", "wire-minsk", "--index", str(index)).returncode == 0
    retriever = Retriever.open(moved)
    groups = retriever.snapshot.copies()
    assert {a.id for a in groups["wire-minsk"]} == {"daily-minsk", "gazette-minsk"}


def test_a_citation_of_a_wire_story_lists_its_copies(news):
    settings, _ = news
    result = answer("How many protesters filled Independence Square?", settings=settings)
    cited = [c for c in result.citations if c.doc_id in ("wire-minsk", "daily-minsk")]
    assert cited, result.text
    other = ({"wire-minsk", "daily-minsk"} - {cited[0].doc_id}).pop()
    assert [s.doc_id for s in cited[0].also_in] == [other]
    from rag.app.render import answer_html

    assert "Also in: 1 source (wire copies)" in answer_html(result)


def test_what_happened_is_told_in_date_order_with_dates(news):
    settings, _ = news
    result = answer("What happened to Lukashenko's opponents?", settings=settings)
    dates = re.findall(r"(?:^|\] )(\d{4}(?:-\d\d){0,2}): ", result.text)
    assert len(dates) >= 2, result.text
    assert dates == sorted(dates)


def test_a_streamed_answer_only_grows_with_its_other_sources(news):
    from rag.answers.answer import stream_answer
    from rag.records import Answer

    settings, _ = news
    for question in ("How many people protested in Minsk?", "Since when has Lukashenko ruled?"):
        parts = list(stream_answer(question, settings=settings))
        texts = [p for p in parts if isinstance(p, str)]
        assert isinstance(parts[-1], Answer) and texts[-1] == parts[-1].text
        pairs = zip(texts, texts[1:], strict=False)
        assert all(later.startswith(earlier) for earlier, later in pairs)
        assert any(c.corroborates or c.contradicts for c in parts[-1].citations), question
