"""Readers: saved news pages (trafilatura) and RSS/Atom feeds (feedparser)
as Documents, on hand-written pages and feeds in tests/data/pages and
tests/data/feeds: the article without the page's clutter, its metadata,
paragraphs, stable feed entry ids, skipped entries, and no network."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rag.ingest.readers.feed import feed_documents
from rag.ingest.readers.html import html_document

DATA = Path(__file__).resolve().parent / "data"
PAGES = DATA / "pages"
FEEDS = DATA / "feeds"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a name or open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def read_page(name: str):
    path = PAGES / name
    return html_document(path.read_text(encoding="utf-8"), doc_id=path.stem, source=str(path))


# ---------------------------------------------------------------- pages

PAGE_CASES = {
    # <article> markup, og: and article: meta, a lead in the article header
    "sv_installation.html": {
        "meta": {
            "title": "Lukasjenko svors in i hemlighet – oppositionen kallar det en fars",
            "date": "2020-09-23",  # published; article:modified_time is the 24th
            "language": "sv",
            "url": "https://www.nordiskanyheter.se/utrikes/lukasjenko-svors-in-i-hemlighet",
            "outlet": "Nordiska Nyheter",
            "author": "Anna Bergström",
        },
        "sentences": [
            "Aleksandr Lukasjenko svors på onsdagen in för en sjätte mandatperiod vid en "
            "ceremoni som inte hade annonserats i förväg.",
            "Ceremonin hölls i Självständighetspalatset i Minsk inför ett par hundra inbjudna "
            "tjänstemän.",
            "Oppositionsledaren Svetlana Tichanovskaja, som lämnade Belarus efter valet i augusti "
            "och nu befinner sig i Litauen, beskrev ceremonin som en fars.",
            "Sverige och flera andra EU-länder meddelade under torsdagen att de inte erkänner "
            "Lukasjenko som Belarus legitima president.",
        ],
        "clutter": [
            "Vi använder cookies",
            "Godkänn alla",
            "Inrikes",
            "Kultur och nöje",
            "Logga in",
            "Brödsmulor",
            "Start ›",
            "Dela på Facebook",
            "Kopiera länk",
            "Läs också",
            "EU förbereder sanktioner mot Belarus",
            "Tichanovskaja träffade Angela Merkel",
            "Prenumerera på vårt nyhetsbrev",
            "din inkorg",
            "Kommentarer",
            "rädd han är för sitt eget folk",
            "Sanktioner mot några tjänstemän räcker inte",
            "Respekt för alla",
            "©",
            "Ansvarig utgivare",
            "Foto: Olga Petrova",
        ],
    },
    # div soup: no <article>, <main>, <nav> or <footer>; the lead in its own div
    "nb_minsk_landing.html": {
        "meta": {
            "title": "Fly tvunget til å lande i Minsk – journalist pågrepet",
            "date": "2021-05-23",
            "language": "nb",
            "url": "https://www.fjordposten.no/utenriks/fly-tvunget-til-a-lande-i-minsk/7712345",
            "outlet": "Fjordposten",
            "author": "Kari Haugen",
        },
        "sentences": [
            "Et Ryanair-fly på vei fra Athen til Vilnius ble søndag tvunget til å lande i Minsk "
            "etter en bombetrussel som ifølge opposisjonen var oppdiktet.",
            "Om bord var den 26 år gamle journalisten Roman Protasevitsj, tidligere redaktør for "
            "opposisjonskanalen Nexta.",
            "Utenriksminister Ine Eriksen Søreide kalte hendelsen en statlig kapring og krevde at "
            "journalisten løslates umiddelbart.",
            "Dagen etter ble EU-landene enige om å stenge luftrommet for hviterussiske "
            "flyselskaper",
        ],
        "clutter": [
            "Vi bruker informasjonskapsler",
            "Godta alle",
            "E-avis",
            "Kjøp abonnement",
            "Forsiden",
            "Del på Facebook",
            "Annonse",
            "Emner:",
            "Les også",
            "Hvem er Roman Protasevitsj?",
            "EU stenger luftrommet for Belavia",
            "Ryanair-sjefen raser",
            "Meld deg på nyhetsbrevet",
            "Kommentarer",
            "statsterrorisme",
            "passasjerene som satt fast",
            "Mest lest",
            "Strømprisen",
            "©",
            "Vær Varsom",
        ],
    },
    # JSON-LD NewsArticle only (no og: tags)
    "en_nuclear_jsonld.html": {
        "meta": {
            "title": "Russia begins moving tactical nuclear weapons to Belarus, Lukashenko says",
            "date": "2023-06-14",  # datePublished; dateModified is the 15th
            "language": "en",
            "url": "https://www.northernledger.co.uk/world/europe/"
            "russia-nuclear-weapons-belarus-lukashenko",
            "outlet": "The Northern Ledger",
            "author": "James Whitfield",
        },
        "sentences": [
            "Belarus has started receiving Russian tactical nuclear weapons, President Alexander "
            "Lukashenko said on Tuesday",
            "Vladimir Putin announced in March that Moscow would station the weapons in Belarus, "
            "which borders three Nato members: Poland, Lithuania and Latvia.",
            "The Belarusian opposition leader in exile, Sviatlana Tsikhanouskaya, said the "
            "deployment turned her country into a hostage of the Kremlin",
        ],
        "clutter": [
            "We use cookies",
            "Accept all",
            "Manage preferences",
            "Lifestyle",
            "Support our journalism",
            "Share on Facebook",
            "Share on WhatsApp",
            "Get our free Ukraine war briefing",
            "More on this story",
            "Satellite images show new camp",
            "What is Russia's nuclear doctrine?",
            "Sign up to our morning briefing",
            "delivered free to your inbox",
            "exactly what everyone warned about",
            "Belarusians never asked for any of this",
            "All rights reserved",
            "©",
            "Europe correspondent",
        ],
    },
    # a <time datetime> and <html lang> only: no meta date, site name or URL
    "sv_border_time.html": {
        "meta": {
            "title": "Tusentals migranter fast vid gränsen mellan Belarus och Polen",
            "date": "2021-11-09",
            "language": "sv",
            "url": None,
            "outlet": None,
            "author": "Karin Lindqvist",
        },
        "sentences": [
            "Flera tusen migranter, många av dem från Irak och Syrien, har slagit läger i skogen "
            "på den belarusiska sidan av gränsen till Polen.",
            "EU anklagar Lukasjenkos regim för att medvetet ha lockat migranterna till Minsk med "
            "turistvisum",
            "Även Litauen och Lettland har utlyst undantagstillstånd i gränsområdena sedan i "
            "somras.",
        ],
        "clutter": [
            "Vi använder cookies",
            "Mer information",
            "E-tidning",
            "Familj",
            "Twittra",
            "Läs också",
            "Litauen bygger staket mot Belarus",
            "Flygbolag stoppar resor",
            "Nyhetsbrev",
            "Prenumerera",
            "Senaste nytt",
            "busslinjer",
            "svar till",
            "Fruktansvärt att människor används",
            "släppa in hjälporganisationerna",
            "Lämna ett svar",
            "Copyright",
            "Alla rättigheter förbehållna",
            "Publicerad",
        ],
    },
}


@pytest.mark.parametrize("name", sorted(PAGE_CASES))
def test_page_main_text_has_the_article(name: str) -> None:
    doc = read_page(name)
    assert doc is not None
    for sentence in PAGE_CASES[name]["sentences"]:
        assert sentence in doc.text


@pytest.mark.parametrize("name", sorted(PAGE_CASES))
def test_page_main_text_has_none_of_the_clutter(name: str) -> None:
    doc = read_page(name)
    assert doc is not None
    leaked = [s for s in PAGE_CASES[name]["clutter"] if s.casefold() in doc.text.casefold()]
    assert leaked == []


@pytest.mark.parametrize("name", sorted(PAGE_CASES))
def test_page_metadata(name: str) -> None:
    doc = read_page(name)
    assert doc is not None
    got = {key: getattr(doc, key) for key in PAGE_CASES[name]["meta"]}
    assert got == PAGE_CASES[name]["meta"]
    assert doc.id == Path(name).stem
    assert doc.source == str(PAGES / name)
    assert doc.extracted is True


@pytest.mark.parametrize("name", sorted(PAGE_CASES))
def test_page_paragraphs_are_separated_and_the_title_is_not_repeated(name: str) -> None:
    doc = read_page(name)
    assert doc is not None
    paragraphs = doc.text.split("\n\n")
    assert len(paragraphs) >= 4
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)
    assert paragraphs[0] != doc.title
    assert doc.text.count(doc.title) == 0


def test_lead_kept_when_the_extractor_leaves_it_out() -> None:
    """The lead (ingress) sits in the article header or a styled div: it is
    the first paragraph, once."""
    for name, lead in [
        ("sv_installation.html", "Aleksandr Lukasjenko svors på onsdagen in"),
        ("nb_minsk_landing.html", "Et Ryanair-fly på vei fra Athen til Vilnius"),
    ]:
        doc = read_page(name)
        assert doc is not None
        assert doc.text.startswith(lead)
        assert doc.text.count(lead) == 1


def test_site_tagline_given_as_description_is_not_taken_for_the_lead() -> None:
    tagline = "Nyheter från Gotland och Östersjön – varje dag sedan 1872."
    html = (PAGES / "sv_border_time.html").read_text(encoding="utf-8")
    html = html.replace("</title>", f'</title><meta name="description" content="{tagline}">')
    html = html.replace('<ul id="menu">', f'<div class="tagline">{tagline}</div><ul id="menu">')
    doc = html_document(html, doc_id="x", source="x.html")
    assert doc is not None
    assert "Östersjön" not in doc.text
    assert doc.text.startswith("Flera tusen migranter")


def test_page_without_an_article_gives_none() -> None:
    assert read_page("no_article.html") is None


@pytest.mark.parametrize(
    "html",
    ["", "   \n", "<html><head><title>x</title></head><body></body></html>", "<p></p>"],
    ids=["empty", "blank", "empty-body", "empty-paragraph"],
)
def test_page_with_no_text_gives_none(html: str) -> None:
    assert html_document(html, doc_id="x", source="x.html") is None


def test_page_language_from_og_locale_when_html_lang_is_missing() -> None:
    html = (PAGES / "sv_installation.html").read_text(encoding="utf-8")
    html = html.replace('<html lang="sv-SE">', "<html>")
    doc = html_document(html, doc_id="x", source="x.html")
    assert doc is not None and doc.language == "sv"  # og:locale sv_SE


@pytest.mark.parametrize("tag", ["<html>", '<html lang="qq">', '<html lang="">'])
def test_page_language_none_when_not_declared_or_unknown(tag: str) -> None:
    html = (PAGES / "sv_border_time.html").read_text(encoding="utf-8")
    html = html.replace('<html lang="sv">', tag)
    doc = html_document(html, doc_id="x", source="x.html")
    assert doc is not None and doc.language is None


def test_page_language_from_json_ld_in_language() -> None:
    html = (PAGES / "en_nuclear_jsonld.html").read_text(encoding="utf-8")
    html = html.replace('<html lang="en-GB">', "<html>")
    doc = html_document(html, doc_id="x", source="x.html")
    assert doc is not None and doc.language == "en"


def test_page_without_a_date_gets_none_not_the_copyright_year() -> None:
    html = (PAGES / "sv_border_time.html").read_text(encoding="utf-8")
    html = re.sub(r"<time[^>]*>[^<]*</time>", "", html)
    doc = html_document(html, doc_id="x", source="x.html")
    assert doc is not None and doc.date is None  # the footer says "© 2021"


def test_page_reading_is_deterministic() -> None:
    """The same page read twice gives the same document (trafilatura's
    duplicate filter, which remembers earlier pages, is off)."""
    first, second = read_page("nb_minsk_landing.html"), read_page("nb_minsk_landing.html")
    assert first == second


def test_pages_are_read_offline(no_network: None) -> None:
    for name in PAGE_CASES:
        assert read_page(name) is not None


# ---------------------------------------------------------------- feeds


def read_feed(name: str):
    path = FEEDS / name
    return feed_documents(path.read_bytes(), stem=path.stem, source=str(path))


def test_rss_entries_and_their_metadata() -> None:
    docs, skipped = read_feed("fjordposten_utenriks.xml")
    assert [d.title for d in docs] == [
        "Ett år etter valget: Lukasjenko nekter å gå av",
        "Hviterussisk sprinter søker beskyttelse i Polen",
        "Litauen bygger gjerde mot Hviterussland",
        "Protasevitsj vist fram på statlig TV",
    ]
    first = docs[0]
    assert first.url == "https://www.fjordposten.no/utenriks/ett-ar-etter-valget/7790001"
    assert first.author == "Kari Haugen"
    assert first.outlet == "Fjordposten – Utenriks"
    assert first.language == "nb"  # <language>no</language>
    # 00:30 in Oslo on the 10th: the feed's own day, not UTC's (the 9th)
    assert first.date == "2021-08-10"
    assert [d.date for d in docs[1:]] == ["2021-08-02", "2021-07-27", "2021-06-03"]
    assert all(d.extracted and d.source == str(FEEDS / "fjordposten_utenriks.xml") for d in docs)
    assert all(d.id.startswith("fjordposten_utenriks/") for d in docs)
    assert len({d.id for d in docs}) == 4


def test_rss_full_content_preferred_over_the_description() -> None:
    docs, _ = read_feed("fjordposten_utenriks.xml")
    assert docs[0].text.split("\n\n") == [
        "Ett år etter presidentvalget sitter Aleksandr Lukasjenko fortsatt med makten i "
        "Hviterussland, og regimet har slått hardt ned på all opposisjon.",
        "Under en pressekonferanse som varte i over åtte timer, avviste presidenten all kritikk "
        "og kalte de fengslede demonstrantene for kriminelle.",
        "Ifølge menneskerettighetsgruppen Viasna sitter mer enn 600 personer fengslet av "
        "politiske grunner.",
    ]  # no caption, script or "Les mer" link


def test_rss_description_only_entries_lose_read_more_and_wordpress_footer() -> None:
    docs, _ = read_feed("fjordposten_utenriks.xml")
    sprinter, fence = docs[1], docs[2]
    assert sprinter.text == (
        "Den hviterussiske sprinteren Krystsina Tsimanouskaja har fått humanitært visum i Polen "
        "etter at hun nektet å reise hjem fra OL i Tokyo.\n\n"
        "Hun sier hun fryktet for sin egen sikkerhet dersom hun returnerte til Minsk."
    )
    assert fence.text == (
        "Litauen begynner å bygge et gjerde langs grensen til Hviterussland etter at over 2000 "
        "migranter har krysset grensen i sommer."
    )
    assert fence.author is None


def test_rss_line_breaks_become_paragraphs_and_embeds_go() -> None:
    docs, _ = read_feed("fjordposten_utenriks.xml")
    assert docs[3].text == (
        "Den fengslede journalisten Roman Protasevitsj ble torsdag kveld vist fram i et lengre "
        "intervju på statlig hviterussisk TV.\n\n"
        "Opposisjonen mener intervjuet ble gitt under tvang. Protasevitsjs far sier at sønnen "
        "hadde merker etter slag i ansiktet."
    )


def test_rss_skips_an_entry_without_text_and_a_repeated_id() -> None:
    docs, skipped = read_feed("fjordposten_utenriks.xml")
    source = str(FEEDS / "fjordposten_utenriks.xml")
    assert [where for where, _ in skipped] == [f"{source}#4", f"{source}#5"]
    assert skipped[0][1] == "has no text (title 'Direkte: Pressekonferanse med Tikhanovskaja')"
    assert skipped[1][1].startswith(f"repeats the id {docs[0].id} of an earlier entry")
    assert all("publisert to ganger" not in d.text for d in docs)  # the first one is kept


def test_atom_entries_and_their_metadata() -> None:
    docs, skipped = read_feed("northern_ledger_europe.xml")
    assert skipped == []
    assert [d.title for d in docs] == [
        "Prigozhin has arrived in Belarus, Lukashenko says",
        "Belarus frees some political prisoners ahead of Independence Day",  # <em> stripped
        "Lithuania closes two border crossings with Belarus",
    ]
    assert [d.date for d in docs] == [
        "2023-06-27",  # published, not updated
        "2023-07-03",  # updated only; 00:20 at +01:00 (UTC would say the 2nd)
        "2023-08-18",
    ]
    assert [d.author for d in docs] == ["James Whitfield", "Helen Marsh", None]
    assert {d.language for d in docs} == {"en"}  # xml:lang="en-GB"
    assert {d.outlet for d in docs} == {"The Northern Ledger – Europe"}
    assert docs[1].url == "https://www.northernledger.co.uk/world/europe/belarus-prisoners-pardon"


def test_atom_html_content_loses_continue_reading_and_the_post_appeared_first() -> None:
    docs, _ = read_feed("northern_ledger_europe.xml")
    paragraphs = docs[0].text.split("\n\n")
    assert paragraphs == [
        "The Wagner group's leader, Yevgeny Prigozhin, has arrived in Belarus after his aborted "
        "mutiny in Russia, President Alexander Lukashenko said on Tuesday.",
        "Mr Lukashenko said he had persuaded Prigozhin to halt the march on Moscow, and that "
        "Wagner fighters could set up camp in the country.",
        "Poland and Lithuania said they would strengthen their borders in response.",
    ]
    assert docs[1].text.count("\n\n") == 1  # xhtml content: two paragraphs
    assert docs[2].text.startswith("Lithuania will close two of its six border crossings")


def _items(rss: str) -> list[str]:
    return re.findall(r"<item>.*?</item>", rss, flags=re.DOTALL)


def test_feed_ids_stay_the_same_when_the_feed_is_resaved_with_new_entries_on_top() -> None:
    rss = (FEEDS / "fjordposten_utenriks.xml").read_text(encoding="utf-8")
    before, _ = feed_documents(rss, stem="fp", source="fp.xml")
    items = _items(rss)
    new_item = (
        "<item><title>Lukasjenko møter Putin i Sotsji</title>"
        "<link>https://www.fjordposten.no/utenriks/sotsji/7799999</link>"
        '<guid isPermaLink="false">fp-7799999</guid>'
        "<pubDate>Fri, 10 Sep 2021 12:00:00 +0200</pubDate>"
        "<description>Lederne ble enige om tettere økonomisk integrasjon.</description></item>"
    )
    # a new entry on top, the old ones reordered (the repeated guid still
    # after its first use), one headline edited
    order = [new_item, *(items[i] for i in (5, 2, 0, 1, 4, 3))]
    head = rss[: rss.index("<item>")]
    tail = rss[rss.rindex("</item>") + len("</item>") :]
    resaved = head + "\n".join(order) + tail
    resaved = resaved.replace(
        "Hviterussisk sprinter søker beskyttelse i Polen",
        "Sprinteren Tsimanouskaja får visum i Polen",
    )
    after, skipped = feed_documents(resaved, stem="fp", source="fp.xml")

    ids_before = {d.url: d.id for d in before}
    ids_after = {d.url: d.id for d in after}
    assert len(after) == len(before) + 1
    assert {url: ids_after[url] for url in ids_before} == ids_before
    new_id = ids_after["https://www.fjordposten.no/utenriks/sotsji/7799999"]
    assert new_id not in ids_before.values()
    assert after[0].id == new_id
    assert after[4].title == "Sprinteren Tsimanouskaja får visum i Polen"
    assert after[4].id == before[1].id
    assert [reason.split(" of ")[0] for _, reason in skipped if "repeats" in reason] == [
        f"repeats the id {before[0].id}"
    ]


def test_atom_ids_stay_the_same_when_entries_are_reordered() -> None:
    atom = (FEEDS / "northern_ledger_europe.xml").read_text(encoding="utf-8")
    entries = re.findall(r"<entry>.*?</entry>", atom, flags=re.DOTALL)
    reordered = atom
    for entry in entries:
        reordered = reordered.replace(entry, "", 1)
    reordered = reordered.replace("</feed>", "".join(reversed(entries)) + "</feed>")
    before, _ = feed_documents(atom, stem="nl", source="nl.xml")
    after, _ = feed_documents(reordered, stem="nl", source="nl.xml")
    assert [d.id for d in after] == [d.id for d in reversed(before)]


def test_feed_id_falls_back_to_link_then_title() -> None:
    def one(item: str) -> str:
        rss = f'<rss version="2.0"><channel><title>T</title>{item}</channel></rss>'
        (doc,), _ = feed_documents(rss, stem="t", source="t.xml")
        return doc.id

    by_link = one(
        "<item><title>A</title><link>https://a.se/1</link><description>x</description></item>"
    )
    same_link = one(
        "<item><title>B</title><link>https://a.se/1</link><description>y</description></item>"
    )
    by_title = one("<item><title>A</title><description>x</description></item>")
    same_title = one("<item><title>A</title><description>other</description></item>")
    assert by_link == same_link  # the headline changed, the link did not
    assert by_title == same_title
    assert by_link != by_title
    assert re.fullmatch(r"t/[0-9a-f]{12}", by_link)


def test_rss_1_0_feed() -> None:
    rdf = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://www.ostersjobladet.se/rss">
    <title>Östersjöbladet</title><link>https://www.ostersjobladet.se/</link>
    <description>Nyheter</description><dc:language>sv</dc:language>
  </channel>
  <item rdf:about="https://www.ostersjobladet.se/varlden/belaruskali">
    <title>Strejk vid Belaruskali</title>
    <link>https://www.ostersjobladet.se/varlden/belaruskali</link>
    <description>Arbetare vid kaliumjätten Belaruskali lade ned arbetet
      i protest mot valresultatet. Läs mer</description>
    <dc:date>2020-08-17T09:00:00+03:00</dc:date>
    <dc:creator>Karin Lindqvist</dc:creator>
  </item>
</rdf:RDF>"""
    (doc,), skipped = feed_documents(rdf, stem="ob", source="ob.rdf")
    assert skipped == []
    assert doc.text == (
        "Arbetare vid kaliumjätten Belaruskali lade ned arbetet i protest mot valresultatet."
    )
    assert (doc.title, doc.date, doc.language, doc.author, doc.outlet) == (
        "Strejk vid Belaruskali",
        "2020-08-17",
        "sv",
        "Karin Lindqvist",
        "Östersjöbladet",
    )
    assert doc.url == "https://www.ostersjobladet.se/varlden/belaruskali"


def test_plain_excerpt_loses_its_ellipsis_mark_and_unknown_language_is_none() -> None:
    rss = (
        '<rss version="2.0"><channel><title>T</title><language>xx-qq</language><item>'
        "<title>Val i Belarus</title><guid>1</guid>"
        "<description>Lukasjenko utropade sig till segrare i valet [&#8230;]</description>"
        "</item></channel></rss>"
    )
    (doc,), _ = feed_documents(rss, stem="t", source="t.xml")
    assert doc.text == "Lukasjenko utropade sig till segrare i valet"
    assert doc.language is None
    assert doc.date is None


def test_decoded_string_with_a_latin1_declaration_is_not_decoded_twice() -> None:
    rss = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel>'
        "<title>Östersjöbladet</title><item><title>Lukasjenko på besök</title><guid>1</guid>"
        "<description>Här är texten: åäö.</description></item></channel></rss>"
    )
    (doc,), _ = feed_documents(rss, stem="t", source="t.xml")
    assert (doc.outlet, doc.title, doc.text) == (
        "Östersjöbladet",
        "Lukasjenko på besök",
        "Här är texten: åäö.",
    )
    (from_bytes,), _ = feed_documents(rss.encode("latin-1"), stem="t", source="t.xml")
    assert from_bytes == doc


def test_truncated_feed_still_gives_its_complete_entries() -> None:
    rss = (FEEDS / "fjordposten_utenriks.xml").read_text(encoding="utf-8")
    cut = rss[: rss.index("<title>Litauen")]
    docs, _ = feed_documents(cut, stem="fp", source="fp.xml")
    assert [d.title for d in docs] == [
        "Ett år etter valget: Lukasjenko nekter å gå av",
        "Hviterussisk sprinter søker beskyttelse i Polen",
    ]


def test_broken_feed_gives_the_reason() -> None:
    docs, skipped = read_feed("broken.xml")
    assert docs == []
    ((where, reason),) = skipped
    assert where == str(FEEDS / "broken.xml")
    assert reason.startswith("is not a readable RSS or Atom feed (")
    assert "not well-formed" in reason


def test_xml_that_is_not_a_feed_and_a_feed_without_entries() -> None:
    sitemap = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://a.se/1</loc></url></urlset>"
    )
    assert feed_documents(sitemap, stem="s", source="s.xml") == (
        [],
        [("s.xml", "is not a readable RSS or Atom feed (no RSS or Atom elements found)")],
    )
    empty = '<rss version="2.0"><channel><title>T</title></channel></rss>'
    assert feed_documents(empty, stem="e", source="e.xml") == (
        [],
        [("e.xml", "is a feed without entries")],
    )


def test_a_url_or_path_is_read_as_content_never_fetched_or_opened(
    tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedparser.http

    def no_fetch(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser tried to fetch a URL")

    monkeypatch.setattr(feedparser.http, "get", no_fetch)
    saved = tmp_path / "feed.xml"
    saved.write_bytes((FEEDS / "northern_ledger_europe.xml").read_bytes())
    for data in [
        "https://www.northernledger.co.uk/world/europe/atom.xml",
        str(saved),
        bytes(saved),
    ]:
        docs, skipped = feed_documents(data, stem="x", source="x.xml")
        assert docs == []  # the file's three entries were not read
        assert skipped[0][1].startswith("is not a readable RSS or Atom feed")


def test_feeds_are_read_offline(no_network: None) -> None:
    for path in FEEDS.iterdir():
        feed_documents(path.read_bytes(), stem=path.stem, source=str(path))


# ---------------------------------------------------------------- cost


def test_importing_the_readers_does_not_import_the_extractors() -> None:
    code = (
        "import json, sys; import rag.ingest.readers.html, rag.ingest.readers.feed; "
        "print(json.dumps([m for m in ('trafilatura', 'feedparser', 'htmldate', 'lxml') "
        "if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
