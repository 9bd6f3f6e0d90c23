"""The app's HTML: everything from articles, models and users is escaped;
markers, sources and highlights are the only markup."""

from __future__ import annotations

import re

from rag.app.render import answer_html, highlighted, notice_html, passages_html, streaming_html
from rag.records import Answer, Citation, Hit

HOSTILE = (
    'Loan talks <script>window.__xss = 1</script> went on. <img src="http://example.invalid/p.png" '
    'onerror="window.__xss = 2"> ![tracker](http://example.invalid/t.png) '
    '<iframe src="http://example.invalid/f"></iframe> [x](javascript:alert(1))'
)
SENTENCE = "Loan talks <script>window.__xss = 1</script> went on."

# The only tags rag.app.render writes.
ALLOWED = {"p", "sup", "details", "summary", "ol", "ul", "li", "div", "b", "mark", "q"}


def _hit(text: str = HOSTILE, title: str = "<b>Title</b>") -> Hit:
    return Hit(
        chunk_id="c1",
        doc_id="d<1>",
        title=title,
        language="en",
        date="2020-09",
        text=text,
        start=0,
        end=len(text),
        score=1.5,
        dense_score=0.87,
        lexical_score=2.0,
        dense_rank=1,
        lexical_rank=1,
    )


def _answer(abstained: bool = False, language: str = "en") -> Answer:
    citation = Citation(
        n=1,
        doc_id="d<1>",
        title="<b>Title</b>",
        language="sv",
        date="2020-09",
        sentence=SENTENCE,
        start=0,
        end=len(SENTENCE),
        passage=HOSTILE,
        chunk_id="c1",
    )
    return Answer(
        question="q",
        search_query="q",
        text="The articles don't answer this question." if abstained else f"{SENTENCE} [1]",
        citations=() if abstained else (citation,),
        hits=(_hit(),),
        abstained=abstained,
        question_language=language,
        timings={},
    )


def _tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


def test_hostile_article_text_is_escaped_in_answers_and_sources():
    html = answer_html(_answer())
    assert _tags(html) <= ALLOWED
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "&lt;img src=&quot;http://example.invalid/p.png&quot;" in html
    assert "<mark>Loan talks &lt;script&gt;" in html  # the sentence is highlighted, escaped
    assert '<sup class="cite">[1]</sup>' in html


def test_hostile_text_is_escaped_in_the_side_panel_and_abstentions():
    for html in (passages_html((_hit(),), query="<q>"), answer_html(_answer(abstained=True))):
        assert _tags(html) <= ALLOWED
        assert "<script" not in html and "<img" not in html and "<iframe" not in html
        assert "&lt;b&gt;Title&lt;/b&gt;" in html


def test_streaming_text_and_notices_are_escaped():
    assert streaming_html("<img src=x>") == '<p class="answer">&lt;img src=x&gt;</p>'
    assert notice_html('"<script>"') == '<p class="notice">&quot;&lt;script&gt;&quot;</p>'


def test_markdown_image_syntax_stays_text():
    # The chatbot renders no Markdown; the syntax must survive as plain text.
    html = answer_html(_answer())
    assert "![tracker](http://example.invalid/t.png)" in html


def test_abstention_lists_the_closest_passages():
    html = answer_html(_answer(abstained=True))
    assert "Closest passages" in html and "Sources" not in html
    assert "The articles don&#x27;t answer this question." in html


def test_other_language_quotes_are_announced():
    assert "Quoted in the articles' own language (Swedish)" in answer_html(_answer())
    assert "own language" not in answer_html(_answer(language="sv"))


def test_highlight_falls_back_to_the_sentence_when_not_in_the_passage():
    assert highlighted("Other text.", "<b>") == "<mark>&lt;b&gt;</mark>"


def test_empty_side_panel_invites_a_question():
    assert "Ask a question" in passages_html(())


def test_a_models_left_out_claims_and_fallback_show_escaped_and_collapsed():
    from dataclasses import replace

    from rag.answers.claims import ClaimCheck

    dropped = ClaimCheck(
        text='See <a href="http://evil.example/">this</a>',
        cited=(1,),
        supported=False,
        reason="the claim holds a link or markup",
    )
    kept = ClaimCheck(text="Loan talks went on", cited=(1,), supported=True, reason="supported")
    answer = replace(
        _answer(),
        generator="openai:m",
        claims=(kept, dropped),
        fallback="no generated claim was supported by its passage; showing the extractive answer",
    )
    html = answer_html(answer)
    assert _tags(html) <= ALLOWED | {"span"}
    assert "Left out: 1 claim(s)" in html and "<details><summary>" in html  # collapsed
    assert "&lt;a href=&quot;http://evil.example/&quot;&gt;" in html
    assert "openai:m: no generated claim was supported" in html
    assert "Left out" not in answer_html(_answer())  # nothing of the sort for extractive


def test_the_side_panel_says_who_rewrote_a_follow_up():
    panel = passages_html((_hit(),), "What did the EU do about Lukashenko?", "openai:m")
    assert "rewritten by openai:m" in panel
    joined = passages_html((_hit(),), "A? And B?", "extractive")
    assert "joined to the question before it" in joined


def test_a_model_answer_shows_what_is_happening_until_text_arrives(monkeypatch):
    """A language model takes seconds before its first checked claim: the
    chat says so instead of showing an empty bubble."""
    from rag.app import webapp
    from rag.settings import Settings

    def fake_stream(question, k, languages, history, generator=None, settings=None, **dates):
        assert dates == {"since": None, "until": None}
        yield "Checked claim [1]."

    monkeypatch.setattr(webapp, "stream_answer", fake_stream)

    def shown(generator: str) -> list[str]:  # the answer bubble at each update
        turns = webapp.respond(Settings(), None, None, "Why?", [], 5, None, generator)
        return [chat[-1]["content"] for _, chat, _, _ in turns]

    model = shown("openai:some-model")
    assert 'class="pending"' in model[0] and "openai:some-model is writing" in model[0]
    assert "Checked claim" in model[-1]
    assert shown("extractive")[0] == ""  # 30 ms: nothing to explain


def test_a_malformed_date_in_the_app_is_a_notice_not_an_error():
    from rag.app import webapp
    from rag.settings import Settings

    turns = list(webapp.respond(Settings(), None, None, "Why?", [], 5, None, None, "Sept", ""))
    assert "YYYY" in turns[-1][1][-1]["content"] and 'class="notice"' in turns[-1][1][-1]["content"]


def test_a_warned_answer_shows_the_warning_apart_and_a_generated_one_is_not_called_quoted():
    import dataclasses

    base = _answer()  # English question, a Swedish source
    head = "The articles may not answer this directly; closest passages:"
    warned = dataclasses.replace(base, text=f"{head}\n\n{base.text}", warned=True)
    assert f'<p class="note warning">{head}</p>' in answer_html(warned)
    assert "Quoted in the articles' own language (Swedish)" in answer_html(base)
    written = dataclasses.replace(base, generator="transformers:gemma3-270m")
    assert "Quoted in the articles" not in answer_html(written)
    assert "Written from sources in Swedish" in answer_html(written)
    fallback = dataclasses.replace(written, fallback="...; showing the extractive answer")
    assert "Quoted in the articles" in answer_html(fallback)
