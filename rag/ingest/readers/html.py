"""A saved news page (.html/.htm) as a `Document`: its main text and metadata.

trafilatura finds the article among the navigation, cookie banners, share
buttons, "read also" lists, comments and footers, and reads title, author,
site name, canonical URL and the original publication date (htmldate) from
the head, JSON-LD and the page. It is imported on first use: importing it
costs the CLI's start-up time even when no page is read.

Pure: the caller reads and decodes the file; nothing here opens a URL.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from rag.records import Document
from rag.text.language import known_codes, normalize_code

# trafilatura's options, and why:
OPTIONS: dict[str, Any] = {
    # On the pages in tests/data/pages, recall mode kept the "read also"
    # list, the newsletter box, reader comments and the copyright footer,
    # and the default (balanced) mode, which retries a short result with
    # recall settings, turned a page of only a menu and a cookie banner into
    # "text"; precision mode kept the articles whole and gave no text for
    # the page without one.
    "favor_precision": True,
    "include_comments": False,  # reader comments are not the article
    "include_tables": True,  # fact boxes and results tables are content
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    # Its duplicate filter keeps a cache across calls: a page read twice (or
    # two copies of a wire story) would lose text the second time.
    "deduplicate": False,
    "with_metadata": True,
    # The original publication date rather than the last update; no
    # "extensive" search, which guesses a date from the body text or the
    # copyright year (a page without a date got "2021-01-01" from "© 2021").
    "date_extraction_params": {"original_date": True, "extensive_search": False},
}

MAX_LEAD_CHARS = 1000  # a longer "lead" is a wrapper around more than the lead

# A link to another story set in the article body ("Läs också: <headline>"):
# the extractor keeps it in precision mode too when it is a labelled <p>.
TEASER = re.compile(
    r"^(?:läs (?:också|även|mer)|les (?:også|mer)|se (?:også|även)|read (?:more|also)|"
    r"see also|related|relatert|relaterat)\s*[:»›]",
    re.IGNORECASE,
)
MAX_TEASER_CHARS = 200  # a label and a headline; a longer paragraph is prose


def html_document(html: str, *, doc_id: str, source: str) -> Document | None:
    """The page's main text and metadata, or None when it has no main text
    (a section front, a consent wall, an empty page).

    Paragraphs are separated by a blank line; the title is in `title`, not
    repeated as the first paragraph. `date` is YYYY-MM-DD when the page
    gives one, `language` the page's declared language when it is a known
    one.

    >>> page = (
    ...     '<html lang="nb-NO"><head><title>Protester i Minsk</title></head><body>'
    ...     '<nav><a href="/">Forsiden</a> <a href="/sport">Sport</a></nav><article>'
    ...     '<h1>Protester i Minsk</h1><p>Tusenvis av mennesker demonstrerte i Minsk '
    ...     'søndag mot valgresultatet, for fjerde helg på rad.</p><p>Politiet '
    ...     'pågrep flere hundre demonstranter, ifølge menneskerettighetsgruppen '
    ...     'Viasna.</p></article></body></html>'
    ... )
    >>> doc = html_document(page, doc_id="minsk", source="minsk.html")
    >>> doc.title, doc.language, doc.text.count("\\n\\n")
    ('Protester i Minsk', 'nb', 1)
    """
    if not html.strip():
        return None
    import trafilatura

    tree = trafilatura.load_html(html)
    if tree is None:
        return None
    page = trafilatura.bare_extraction(tree, **OPTIONS)  # works on a copy of `tree`
    if page is None:
        return None
    title = _clean(page.title)
    paragraphs = _paragraphs(page.text or "")
    if paragraphs and title and _same(paragraphs[0], title):
        paragraphs = paragraphs[1:]
    if lead := _lost_lead(tree, title, page.description, paragraphs):
        paragraphs.insert(0, lead)
    if not paragraphs:
        return None
    return Document(
        id=doc_id,
        text="\n\n".join(paragraphs),
        source=source,
        title=title,
        date=page.date or None,
        language=_page_language(tree),
        url=_clean(page.url),
        outlet=_clean(page.sitename),
        author=_clean(page.author),
        extracted=True,
    )


def _paragraphs(text: str) -> list[str]:
    """trafilatura's text, one block per line, as paragraphs: a list item
    loses the "- " marker the plain-text output gives it, and links to other
    stories (`TEASER`) go."""
    out = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t]+", " ", unicodedata.normalize("NFC", line)).strip()
        line = line[2:] if line.startswith("- ") else line
        if line and not (len(line) <= MAX_TEASER_CHARS and TEASER.match(line)):
            out.append(line)
    return out


def _lost_lead(
    tree: Any, title: str | None, description: str | None, paragraphs: list[str]
) -> str | None:
    """The page's lead (ingress) when the extractor left it out, else None.

    Nordic news pages put the lead in the article's header or in a styled
    block of its own, which the extractor's precision mode drops, yet it often
    holds the story's main fact. The page's description (meta, og: or
    JSON-LD) is usually that lead or its first sentence, so the lead is the
    smallest element after the headline whose text starts with the
    description. After the headline: a site whose description is its
    tagline shows that tagline in the page's header."""
    core = _norm(description or "").rstrip(" .…!?")
    if not title or len(core) < 30 or core in _norm(" ".join(paragraphs)):
        return None
    after_headline, best = False, None
    for element in tree.iter("h1", "h2", "p", "div", "span"):
        text = _norm(element.text_content())
        if element.tag in ("h1", "h2"):
            after_headline = after_headline or _same(text, title)
        elif after_headline and text.startswith(core) and (best is None or len(text) < len(best)):
            best = text
    if best is None or len(best) > MAX_LEAD_CHARS:
        return None
    return best


def _page_language(tree: Any) -> str | None:
    """The language the page declares: <html lang>, then Content-Language,
    og:locale and JSON-LD inLanguage; the first that is a known language."""
    root = tree.getroottree().getroot()
    declared = [root.get("lang"), root.get("xml:lang")]
    for meta in root.iter("meta"):
        kind = (meta.get("http-equiv") or meta.get("property") or "").lower()
        if kind in ("content-language", "og:locale"):
            declared.append(meta.get("content"))
    for script in root.xpath('//script[@type="application/ld+json"]/text()'):
        declared += _json_ld_languages(script)
    for value in declared:
        if isinstance(value, str) and value.strip():
            code = normalize_code(value)
            if code in known_codes():
                return code
    return None


def _json_ld_languages(script: str) -> list[str]:
    """The `inLanguage` strings of a JSON-LD block (none if it is not JSON)."""
    try:
        data = json.loads(script)
    except ValueError:
        return []
    found: list[str] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("inLanguage"), str):
                found.append(item["inLanguage"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _clean(value: str | None) -> str | None:
    value = _norm(value or "")
    return value or None


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _same(paragraph: str, title: str) -> bool:
    def key(s: str) -> str:
        return _norm(s).casefold().rstrip(" .:")

    return key(paragraph) == key(title)
