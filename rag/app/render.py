"""HTML for the chat app: answers, their sources, retrieved passages.

Pure string functions. Every piece of article text, model output or user
input passes through `html.escape` before it is placed in markup, and the
only tags in the output are the few written here: an article holding
`<script>`, `<img src=…>` or a Markdown image shows as text and loads nothing.
(The app also turns Markdown off and keeps Gradio's sanitiser on: a second
and third line of defence.)
"""

from __future__ import annotations

import html
import re

from rag.answers.citations import MARKER
from rag.answers.hostile import INVISIBLE
from rag.records import Answer, Citation, Hit, split_warning

LANGUAGE_NAMES = {"sv": "Swedish", "nb": "Norwegian", "nn": "Nynorsk", "en": "English"}


def esc(text: str) -> str:
    """Text made safe for HTML, quotes included.

    >>> esc('<img src="x"> & ![a](http://e.x/i.png)')
    '&lt;img src=&quot;x&quot;&gt; &amp; ![a](http://e.x/i.png)'
    >>> esc("rapport_\u202efdp.exe")
    'rapport_\ufffdfdp.exe'
    """
    # Characters that hide or reorder text (zero-width, bidi overrides) show
    # as U+FFFD, so a passage cannot display other than it reads.
    return html.escape(INVISIBLE.sub("\ufffd", text), quote=True)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


# Before the markers of other stories that state a quoted sentence.
ALSO_TEXT = {"en": "also reported by", "sv": "rapporteras även av", "nb": "også meldt av"}


def answer_text(
    text: str, citations: int, also: dict[int, int] | None = None, language: str = "en"
) -> str:
    """The answer's text, escaped, each valid [n] as a superscript marker;
    markers of citations in `also` (n -> the citation it corroborates) follow
    the others as "also reported by [3][5]".

    >>> answer_text("Putin offered a loan <b>now</b> [1] [9]", citations=1)
    'Putin offered a loan &lt;b&gt;now&lt;/b&gt; <sup class="cite">[1]</sup> [9]'
    >>> answer_text("Minsk marched [1][2].", 2, also={2: 1}).split(" <span")[1]
    ' class="also">also reported by <sup class="cite">[2]</sup></span>.'
    """
    escaped = esc(text)
    also = also or {}

    def marker(n: int, raw: str) -> str:
        return f'<sup class="cite">[{n}]</sup>' if 1 <= n <= citations else raw

    def run(match: re.Match) -> str:
        found = [(int(m.group(1)), m.group(0)) for m in MARKER.finditer(match.group(0))]
        own = "".join(marker(n, raw) for n, raw in found if n not in also)
        others = "".join(marker(n, raw) for n, raw in found if n in also)
        if not others:
            return " ".join(marker(n, raw) for n, raw in found) if " " in match.group(0) else own
        phrase = ALSO_TEXT.get(language, ALSO_TEXT["en"])
        return f'{own} <span class="also">{phrase} {others}</span>'

    return _MARKER_RUN.sub(run, escaped)


_MARKER_RUN = re.compile(r"\[\d+\](?:\s?\[\d+\])*")


def highlighted(passage: str, sentence: str) -> str:
    """The passage, escaped, with the sentence marked.

    >>> highlighted("A <b>. The loan came. C.", "The loan came.")
    'A &lt;b&gt;. <mark>The loan came.</mark> C.'
    """
    at = passage.find(sentence)
    if at < 0:
        return f"<mark>{esc(sentence)}</mark>"
    end = at + len(sentence)
    return f"{esc(passage[:at])}<mark>{esc(sentence)}</mark>{esc(passage[end:])}"


def _source_line(
    title: str,
    language: str,
    date: str | None,
    outlet: str | None = None,
    url: str | None = None,
) -> str:
    """Title (linked to the article when its URL is http(s)), outlet,
    language and date."""
    shown = f"<b>{esc(title)}</b>"
    if url and url.startswith(("http://", "https://")):
        shown = f'<a href="{esc(url)}" target="_blank" rel="noopener">{shown}</a>'
    who = f" · {esc(outlet)}" if outlet else ""
    when = f" · {esc(date)}" if date else ""
    return f"{shown}{who} · {esc(language_name(language))}{when}"


def citation_html(c: Citation) -> str:
    role = ""
    if c.corroborates:
        role = f'<div class="note">Also states [{c.corroborates}].</div>'
    elif c.contradicts:
        role = f'<div class="note">Says otherwise than [{c.contradicts}].</div>'
    return (
        f'<li class="source" value="{c.n}"><div class="source-head">[{c.n}] '
        f"{_source_line(c.title, c.language, c.date, c.outlet, c.url)}</div>{role}"
        f'<div class="passage">{highlighted(c.passage, c.sentence)}</div>{also_in_html(c)}</li>'
    )


def also_in_html(hit: Hit | Citation) -> str:
    """ "Also in: N sources" and their list, for a passage whose story other
    outlets carry as wire copies."""
    if not hit.also_in:
        return ""
    items = "".join(
        f"<li>{_source_line(s.title, s.language, s.date, s.outlet, s.url)}</li>"
        for s in hit.also_in
    )
    n = len(hit.also_in)
    title = f"Also in: {n} source{'s' if n > 1 else ''} (wire copies)"
    return _section(title, f'<ul class="also-in">{items}</ul>', open_=False)


def answer_html(answer: Answer) -> str:
    """The assistant's message: the answer, then its numbered sources; for an
    abstention, the plain statement and the closest passages. For a language
    model's answer, also which claims were left out and why, and any fallback."""
    head, text = split_warning(answer.text, answer.warned)
    warning = f'<p class="note warning">{esc(head)}</p>' if head else ""
    also = {c.n: c.corroborates for c in answer.citations if c.corroborates}
    shown = answer_text(text, len(answer.citations), also, answer.question_language)
    body = warning + f'<p class="answer">{shown}</p>'
    body += _generator_notes(answer)
    if answer.abstained:
        closest = "".join(
            f'<li class="source">{_source_line(h.title, h.language, h.date, h.outlet, h.url)}'
            f'<div class="passage">{esc(h.text)}</div></li>'
            for h in answer.hits[:3]
        )
        if closest:
            body += _section("Closest passages", f'<ul class="sources">{closest}</ul>')
        return body
    other = sorted({c.language for c in answer.citations} - {answer.question_language})
    if other:
        names = esc(", ".join(language_name(code) for code in other))
        if quotes(answer):
            body += f'<p class="note">Quoted in the articles\' own language ({names}).</p>'
        else:
            body += f'<p class="note">Written from sources in {names}.</p>'
    items = "".join(citation_html(c) for c in answer.citations)
    return body + _section("Sources", f'<ol class="sources">{items}</ol>')


def quotes(answer: Answer) -> bool:
    """Whether the answer's text quotes the articles (the extractive answer,
    or the fallback to it) rather than being a model's own words."""
    return answer.generator == "extractive" or "extractive answer" in (answer.fallback or "")


def _section(title: str, inner: str, open_: bool = True) -> str:
    state = " open" if open_ else ""
    return f"<details{state}><summary>{esc(title)}</summary>{inner}</details>"


def _generator_notes(answer: Answer) -> str:
    """What a language model's answer went through: the claims the check left
    out (collapsed; escaped text, never links) and the fallback, if any."""
    if answer.generator == "extractive":
        return ""
    notes = ""
    if answer.fallback:
        notes += f'<p class="note">{esc(answer.generator)}: {esc(answer.fallback)}.</p>'
    dropped = [c for c in answer.claims if not c.supported]
    if dropped:
        items = "".join(
            f'<li><span class="dropped">{esc(_clip(c.text))}</span> '
            f'<span class="why">({esc(c.reason)})</span></li>'
            for c in dropped
        )
        title = f"Left out: {len(dropped)} claim(s) its sources do not support"
        notes += _section(title, f'<ul class="dropped-claims">{items}</ul>', open_=False)
    return notes


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def streaming_html(text: str) -> str:
    """The answer while it streams: escaped text, markers shown as typed (a
    low-confidence warning, when there is one, as its own paragraph)."""
    return "".join(f'<p class="answer">{esc(part)}</p>' for part in text.split("\n\n"))


def passages_html(
    hits: tuple[Hit, ...] | list[Hit], query: str = "", rewritten_by: str | None = None
) -> str:
    """The side panel: what was searched (and who rewrote a follow-up), then
    every retrieved passage with its scores."""
    if not hits:
        return '<p class="empty">Ask a question to see the passages it retrieves.</p>'
    how = {None: "", "extractive": " (the follow-up joined to the question before it)"}.get(
        rewritten_by, f" (the follow-up rewritten by {esc(rewritten_by or '')})"
    )
    parts = [f'<p class="query">Searched for: <q>{esc(query)}</q>{how}</p>' if query else ""]
    for n, h in enumerate(hits, start=1):
        lexical = f", lexical {h.lexical_score:.2f}" if h.lexical_rank else ""
        head = _source_line(h.title, h.language, h.date, h.outlet, h.url)
        parts.append(
            f'<div class="hit"><div class="hit-head">{n}. {head}</div>'
            f'<div class="scores">score {h.score:.2f} (dense {h.dense_score:.3f}{lexical}) · '
            f"{esc(h.doc_id)} chars {h.start}–{h.end}</div>"
            f'<div class="passage">{esc(h.text)}</div>{also_in_html(h)}</div>'
        )
    return "".join(parts)


def timeline_html(items, query: str = "") -> str:
    """The Timeline panel: the question's dated passages on a time axis
    (`rag.answers.timeline.chart_svg`), then the same passages as a list in date
    order, which the chart's points link to."""
    from rag.answers.timeline import chart_svg

    if not query:
        return '<p class="empty">Ask a question to see its dated passages on a time axis.</p>'
    if not items:
        return f'<p class="empty">No dated passage matches <q>{esc(query)}</q>.</p>'
    parts = [
        f'<p class="query">Dated passages for <q>{esc(query)}</q>, oldest first</p>',
        chart_svg(items),
        '<ol class="events">',
    ]
    for n, e in enumerate(items, start=1):
        title = esc(e.title)
        if e.url and e.url.startswith(("http://", "https://")):
            title = f'<a href="{esc(e.url)}" target="_blank" rel="noopener">{title}</a>'
        outlet = f" · {esc(e.outlet)}" if e.outlet else ""
        parts.append(
            f'<li id="event-{n}" class="event-item"><b>{esc(e.date)}</b> · {title}{outlet} · '
            f"{esc(language_name(e.language))}"
            f'<div class="passage">{esc(_snippet(e.text))}</div></li>'
        )
    parts.append("</ol>")
    return "".join(parts)


def _snippet(text: str, limit: int = 240) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit] + "…"


NOTICE_START = '<p class="notice">'


def pending_html(message: str) -> str:
    """What the chat shows while an answer is on its way."""
    return f'<p class="pending">{esc(message)}</p>'


def notice_html(message: str) -> str:
    """A plain message in the chat or on the page (an error, a refusal)."""
    return f"{NOTICE_START}{esc(message)}</p>"


CSS = """
.answer { margin: 0 0 .5em 0; }
sup.cite { color: var(--color-accent); font-weight: 600; }
.sources { margin: .25em 0 0 1.2em; padding: 0; }
.source { margin-bottom: .6em; }
.source-head, .hit-head { font-size: .95em; }
.passage { font-size: .9em; opacity: .9; white-space: pre-wrap; }
.passage mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.dropped { text-decoration: line-through; opacity: .75; }
.why { font-size: .85em; opacity: .8; }
.note, .scores, .query { font-size: .85em; opacity: .75; }
.note.warning { opacity: 1; font-weight: 600; }
.hit { border-bottom: 1px solid var(--border-color-primary); padding: .5em 0; }
.notice { font-weight: 600; }
.pending { font-style: italic; opacity: .75; }
svg.timeline { margin: .25em 0 .75em 0; max-width: 100%; }
svg.timeline a:hover circle, svg.timeline a:hover rect { stroke: currentColor; stroke-width: 2; }
.events { padding-left: 1.4em; }
.event-item { margin-bottom: .5em; }
.event-item:target { background: #fde68a33; }
.also { font-size: .85em; opacity: .8; }
.also-in { margin: .25em 0 0 1.2em; padding: 0; font-size: .85em; }
"""
