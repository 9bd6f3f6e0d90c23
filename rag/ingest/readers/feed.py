"""A saved RSS 2.0, RSS 1.0 or Atom feed as one `Document` per entry.

feedparser reads every dialect (and salvages what it can of a malformed
file); it is imported on first use. An entry's text is its full content
(`content:encoded`, Atom `content`) when it has one, else its summary,
reduced to paragraphs of plain text without scripts, embeds, captions,
"Read more" links and "The post X appeared first on Y" footers.

Ids are stable across re-saves of the feed: a feed file is saved again with
new entries on top, and ingest is incremental, so an unchanged entry must
keep its id. It is `stem/<hash of the entry's guid, else link, else title>`,
never the entry's position (nor its title when it has a guid: headlines are
edited).

Pure: nothing here fetches a URL or opens a file (see `_parse`).
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import unicodedata
from datetime import date
from email.utils import parsedate_tz
from typing import Any

from rag.records import Document
from rag.text.language import known_codes, normalize_code

ID_HEX_DIGITS = 12  # 48 bits: no collision among one feed's entries in practice

_READ_MORE = (
    r"(?:read more|continue reading|read the full (?:story|article)|"
    r"les mer|les hele (?:saken|artikkelen)|läs mer|läs hela (?:artikeln|texten))"
)
_READ_MORE_LINK = re.compile(rf"^\W*{_READ_MORE}\W*$", re.IGNORECASE)
# "... text. Les mer »" at the end of a paragraph (a link flattened to text)
_TRAILING_READ_MORE = re.compile(rf"(?<=[.!?…\"”»])\s*{_READ_MORE}\W*$", re.IGNORECASE)
# WordPress's feed footer, in English, Swedish and Norwegian
_APPEARED_FIRST = re.compile(
    r"^(?:the post .+ appeared first on .+|inlägget .+ dök (?:först )?upp (?:först )?på .+|"
    r"innlegget .+ dukket (?:først )?opp (?:først )?på .+)$",
    re.IGNORECASE | re.DOTALL,
)
_ELLIPSIS_MARK = re.compile(r"\s*\[(?:…|\.\.\.)\]$")  # an excerpt's "[…]"

# Elements whose text is not the story: scripts, embeds, forms, captions, asides.
_DROP = {"script", "style", "noscript", "template", "iframe", "object", "embed", "video"}
_DROP |= {"audio", "svg", "form", "button", "figure", "figcaption", "aside", "nav"}
# Elements that start a new paragraph.
_BLOCKS = {"p", "div", "section", "article", "header", "footer", "main", "blockquote", "pre"}
_BLOCKS |= {"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table"}
_BLOCKS |= {"tr", "td", "th", "br", "hr", "address"}


def feed_documents(
    data: str | bytes, *, stem: str, source: str
) -> tuple[list[Document], list[tuple[str, str]]]:
    """One document per entry with text, and (where, reason) for each entry
    (or the whole file) that is skipped: where is `source#n` for the file's
    n-th entry, `source` for the whole file.

    `data` is the feed's content, never a location: a string that looks like
    a URL or a path is read as (unreadable) feed text, not opened.

    >>> rss = (
    ...     '<rss version="2.0"><channel><title>Fjordposten</title>'
    ...     '<language>no</language><item><title>Protest i Minsk</title>'
    ...     '<guid>fp-1</guid><pubDate>Sun, 16 Aug 2020 21:00:00 +0200</pubDate>'
    ...     '<description>&lt;p&gt;Over 100 000 demonstrerte i Minsk.&lt;/p&gt;'
    ...     '&lt;p&gt;&lt;a href="/x"&gt;Les mer&lt;/a&gt;&lt;/p&gt;</description>'
    ...     '</item></channel></rss>'
    ... )
    >>> (doc,), skipped = feed_documents(rss, stem="fp", source="fp.xml")
    >>> doc.text, doc.date, doc.language, doc.outlet, skipped
    ('Over 100 000 demonstrerte i Minsk.', '2020-08-16', 'nb', 'Fjordposten', [])
    """
    parsed = _parse(data)
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            problem = str(parsed.get("bozo_exception") or "malformed")
            reason = _one_line(problem.removeprefix("<unknown>:"))
        elif parsed.get("version"):
            return [], [(source, "is a feed without entries")]
        else:
            reason = "no RSS or Atom elements found"
        return [], [(source, f"is not a readable RSS or Atom feed ({reason})")]
    feed = parsed.get("feed") or {}
    outlet = _plain(feed.get("title_detail")) or None
    feed_language = feed.get("language")
    docs: list[Document] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        where = f"{source}#{n}"
        title = _plain(entry.get("title_detail")) or None
        paragraphs = _entry_paragraphs(entry)
        if paragraphs and title and _same(paragraphs[0], title):
            paragraphs = paragraphs[1:]
        if not paragraphs:
            skipped.append((where, f"has no text ({_named(title)})"))
            continue
        doc_id = f"{stem}/{_slug(entry, title, paragraphs)}"
        if doc_id in seen:
            skipped.append(
                (where, f"repeats the id {doc_id} of an earlier entry ({_named(title)})")
            )
            continue
        seen.add(doc_id)
        docs.append(
            Document(
                id=doc_id,
                text="\n\n".join(paragraphs),
                source=source,
                title=title,
                date=_entry_date(entry),
                language=_language(entry, feed_language),
                url=_one_line(entry.get("link") or "") or None,
                outlet=outlet,
                author=_one_line(entry.get("author") or "") or None,
                extracted=True,
            )
        )
    return docs, skipped


def _parse(data: str | bytes) -> Any:
    """feedparser's result for `data` as content. feedparser.parse() fetches
    a string that looks like a URL and opens one (str or bytes) that names a
    file, so it is given a stream. A string was decoded already: it is
    passed as UTF-8 and declared so, or feedparser would decode it again by
    the file's own `encoding="..."` declaration and garble it."""
    import feedparser

    if isinstance(data, str):
        stream = io.BytesIO(data.encode("utf-8", errors="replace"))
        headers = {"content-type": "application/xml; charset=utf-8"}
        return feedparser.parse(stream, response_headers=headers)
    return feedparser.parse(io.BytesIO(data))


def _entry_paragraphs(entry: Any) -> list[str]:
    """The entry's full content when it has any text, else its summary."""
    for detail in [*(entry.get("content") or []), entry.get("summary_detail")]:
        if detail and (paragraphs := _paragraphs(detail)):
            return paragraphs
    return []


def _paragraphs(detail: Any) -> list[str]:
    """A text construct's value as paragraphs of plain text, boilerplate out."""
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or ""):
        blocks = _html_blocks(value)
    else:
        blocks = re.split(r"\n\s*\n", value)
    out = []
    for block in blocks:
        text = _one_line(block)
        text = _ELLIPSIS_MARK.sub("", _TRAILING_READ_MORE.sub("", text)).strip()
        if text and not _READ_MORE_LINK.match(text) and not _APPEARED_FIRST.match(text):
            out.append(text)
    return out


def _html_blocks(fragment: str) -> list[str]:
    """The text of an HTML fragment, cut into blocks at block elements and
    <br>; "Read more" links and non-story elements (`_DROP`) removed."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.LxmlError):  # e.g. an encoding declaration in a str
        return [re.sub(r"<[^>]*>", " ", fragment)]
    blocks: list[str] = []
    current: list[str] = []

    def walk(element: Any) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _DROP or (tag == "a" and _READ_MORE_LINK.match(element.text_content() or "")):
            return  # its tail is added by the caller
        block = tag in _BLOCKS
        if block:
            blocks.append("".join(current))
            current.clear()
        if element.text and tag:  # comments and processing instructions have no tag
            current.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                current.append(child.tail)
        if block:
            blocks.append("".join(current))
            current.clear()

    walk(root)
    blocks.append("".join(current))
    return blocks


def _slug(entry: Any, title: str | None, paragraphs: list[str]) -> str:
    """A short hash of what identifies the entry: its guid (Atom id), else its
    link, else its title, else its text."""
    key = next(
        (k for k in (entry.get("id"), entry.get("link"), title) if k and k.strip()),
        "\n\n".join(paragraphs),
    )
    digest = hashlib.blake2b(key.strip().encode("utf-8"), digest_size=ID_HEX_DIGITS // 2)
    return digest.hexdigest()


def _entry_date(entry: Any) -> str | None:
    """The day the entry was published (else updated), YYYY-MM-DD, as the feed
    wrote it: feedparser's parsed time is UTC, which would move an item
    published at 00:30 Oslo time to the day before."""
    for name in ("published", "updated", "created"):
        if day := _local_day(entry.get(name) or ""):
            return day
        if parsed := entry.get(f"{name}_parsed"):
            return time.strftime("%Y-%m-%d", parsed)
    return None


def _local_day(raw: str) -> str | None:
    """The date part of an ISO 8601 or RFC 822 timestamp, else None."""
    if m := re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", raw):
        parts = tuple(int(p) for p in m.groups())
    elif parsed := parsedate_tz(raw):
        parts = parsed[:3]
    else:
        return None
    try:
        return date(*parts).isoformat()
    except ValueError:
        return None


def _language(entry: Any, feed_language: str | None) -> str | None:
    """The entry's xml:lang, else the feed's <language>, when it is known."""
    details = [*(entry.get("content") or []), entry.get("summary_detail")]
    details.append(entry.get("title_detail"))
    declared = [d.get("language") for d in details if d] + [feed_language]
    for value in declared:
        if value and (code := normalize_code(value)) in known_codes():
            return code
    return None


def _plain(detail: Any) -> str:
    """A title's text, tags stripped when the feed marks it as HTML."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or ""):
        value = " ".join(_html_blocks(value))
    return _one_line(value)


def _one_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _same(paragraph: str, title: str) -> bool:
    return paragraph.casefold().rstrip(" .:") == title.casefold().rstrip(" .:")


def _named(title: str | None) -> str:
    return f"title {title!r}" if title else "no title"
