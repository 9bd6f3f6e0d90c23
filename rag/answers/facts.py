"""What a sentence asserts that must agree, in Swedish, Norwegian and English.

Pure text in, comparable values out. Meaning can be paraphrased and
translated; some things cannot: the numbers ("100 000" is "100,000", "sixth"
is "6th", "tiotusentals" is "tens of thousands"), the months and weekdays
("söndag" is "Sunday"), the names ("Ryssland" is "Russia", "Lukasjenko" is
"Lukashenko"), and whether it is negated. `rag.claims` requires them to agree
between a claim and the sentence it cites; `rag.answerability` uses them to
see what a question asks for.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from pathlib import Path

# A number: digits grouped in threes by one repeated separator ("100,000",
# "100 000", "1.234.567"), or plain digits, either with a decimal part.
_NUMBER = re.compile(
    r"(?<![\d.,])(?:\d{1,3}(?P<sep>[.,\u00a0\u202f ])\d{3}(?!\d)(?:(?P=sep)\d{3}(?!\d))*"
    r"|\d+)(?:[.,]\d+(?![.,]?\d))?"
)
_NAME = re.compile(r"(?<![\w.])([A-ZÅÄÖÆØÉ][\w\-]{2,})")
# A sentence starts after ".", "!", "?" (not after a title: "Mr.", "Gen."),
# ":" or ";", an opening quote or bracket, or a dash.
_SENTENCE_START = re.compile(
    r"(^|(?<!\b[A-Z][a-z])(?<!\b[A-Z][a-z]{2})[.!?:;]\s+|[\"“”«»(—–-]\s*)$"
)
_WORD = re.compile(r"\w+")

# Words for numbers, as the digits they mean (cardinals and ordinals: an
# ordinal becomes "6th"). Only unambiguous words: Norwegian "to" and
# Swedish/Norwegian "en", "ett", "ni", "sex" are everyday words too.
_NUMBER_WORDS = {
    **dict.fromkeys(("three", "tre"), "3"),
    **dict.fromkeys(("four", "fyra", "fire"), "4"),
    **dict.fromkeys(("five", "fem"), "5"),
    **dict.fromkeys(("six", "seks"), "6"),
    **dict.fromkeys(("seven", "sju", "syv"), "7"),
    **dict.fromkeys(("eight", "åtta", "åtte"), "8"),
    **dict.fromkeys(("nine", "nio"), "9"),
    **dict.fromkeys(("ten", "tio", "ti"), "10"),
    **dict.fromkeys(("eleven", "elva", "elleve"), "11"),
    **dict.fromkeys(("two", "två"), "2"),
    **dict.fromkeys(("twelve", "tolv"), "12"),
    **dict.fromkeys(("twenty", "tjugo", "tjue", "tjugotal", "tjuetall"), "20"),
    **dict.fromkeys(("thirty", "trettio", "tretti", "trettiotal", "trettitall"), "30"),
    **dict.fromkeys(("forty", "fyrtio", "førti", "fyrtiotal", "førtitall"), "40"),
    **dict.fromkeys(("fifty", "femtio", "femti", "femtiotal", "femtitall"), "50"),
    **dict.fromkeys(("sixty", "sextio", "seksti", "sextiotal", "sekstitall"), "60"),
    **dict.fromkeys(("seventy", "sjuttio", "sytti", "sjuttiotal", "syttitall"), "70"),
    **dict.fromkeys(("eighty", "åttio", "åtti", "åttiotal", "åttitall"), "80"),
    **dict.fromkeys(("ninety", "nittio", "nitti", "nittiotal", "nittitall"), "90"),
    **dict.fromkeys(("tiotal", "titall", "tens"), "10"),
    **dict.fromkeys(("dozen", "dussin", "dusin"), "12"),
    **dict.fromkeys(("hundred", "hundra", "hundre"), "100"),
    **dict.fromkeys(("thousand", "tusen"), "1000"),
    **dict.fromkeys(("million", "miljon", "millioner", "miljoner", "millions"), "1000000"),
    **dict.fromkeys(
        ("billion", "billions", "miljard", "miljarder", "milliard", "milliarder"), "1000000000"
    ),
    **dict.fromkeys(("first", "första", "förste", "første"), "1st"),
    **dict.fromkeys(("second", "andra", "andre", "annen"), "2nd"),
    **dict.fromkeys(("third", "tredje"), "3rd"),
    **dict.fromkeys(("fourth", "fjärde", "fjerde"), "4th"),
    **dict.fromkeys(("fifth", "femte"), "5th"),
    **dict.fromkeys(("sixth", "sjätte", "sjette"), "6th"),
    **dict.fromkeys(("seventh", "sjunde", "sjuende", "syvende"), "7th"),
    **dict.fromkeys(("eighth", "åttonde", "åttende"), "8th"),
    **dict.fromkeys(("ninth", "nionde", "niende"), "9th"),
    **dict.fromkeys(("tenth", "tionde", "tiende"), "10th"),
    **dict.fromkeys(("dozens", "dussintals", "dusinvis"), "dozens"),
    **dict.fromkeys(("hundreds", "hundratals", "hundrevis"), "hundreds"),
    **dict.fromkeys(("thousands", "tusentals", "tusenvis"), "thousands"),
    **dict.fromkeys(("tiotusentals", "titusenvis", "titusener"), "tens of thousands"),
    **dict.fromkeys(("hundratusentals", "hundretusenvis"), "hundreds of thousands"),
}
_PHRASES = (
    (re.compile(r"\btens of thousands\b", re.I), "tens of thousands"),
    (re.compile(r"\bhundreds of thousands\b", re.I), "hundreds of thousands"),
    (re.compile(r"\b(?:half|hälften|halvparten)\b", re.I), "1/2"),
    (re.compile(r"\b(?:per ?cent|procent|prosent|%)", re.I), "%"),
)
# An ordinal written with digits: "6th", "6:e", "6." before a word in nb/sv.
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|:e|:a)\b", re.I)

_MONTHS = (
    ("january", "januari", "januar"),
    ("february", "februari", "februar"),
    ("march", "mars"),
    ("april",),
    ("may", "maj", "mai"),
    ("june", "juni"),
    ("july", "juli"),
    ("august", "augusti"),
    ("september",),
    ("october", "oktober"),
    ("november",),
    ("december", "desember"),
)
_WEEKDAYS = (
    ("monday", "måndag", "mandag"),
    ("tuesday", "tisdag", "tirsdag"),
    ("wednesday", "onsdag"),
    ("thursday", "torsdag"),
    ("friday", "fredag"),
    ("saturday", "lördag", "lørdag"),
    ("sunday", "söndag", "søndag"),
)
_WHEN = {
    **{word: f"month:{i + 1}" for i, words in enumerate(_MONTHS) for word in words},
    **{word: f"day:{i + 1}" for i, words in enumerate(_WEEKDAYS) for word in words},
}
# "may" is a verb far more often than a month.
_WHEN_SKIP = {"may"}
# Times counted from the article's date.
_RELATIVE = (
    (r"yesterday|i ?går", "rel:day-1"),
    (r"today|i ?dag|idag", "rel:day0"),
    (r"tomorrow|i ?morgon|i ?morgen", "rel:day+1"),
    (r"last week|förra veckan|forrige uke|i forrige uke|sist(?:e)? uke", "rel:week-1"),
    (r"next week|nästa vecka|neste uke", "rel:week+1"),
    (r"last month|förra månaden|forrige måned|i forrige måned", "rel:month-1"),
    (r"next month|nästa månad|neste måned", "rel:month+1"),
    (r"last year|förra året|i fjol|i fjor|ifjor|fjolåret", "rel:year-1"),
    (r"next year|nästa år|neste år", "rel:year+1"),
    (r"this year|i år", "rel:year0"),
)
_RELATIVE_PATTERNS = tuple((re.compile(rf"\b(?:{p})\b", re.I), v) for p, v in _RELATIVE)

# Words that say which way something went; a claim's must agree.
_DIRECTIONS = {
    "up": "up upp opp increase increased increases increasing rise rose risen rising grow grew "
    "grown growing ökat öka ökade ökar økt øke økte øker stigit steg stiger stige steget "
    "escalate escalated eskalerat eskalert strengthen strengthened stärka stärkt styrke "
    "styrket",
    "down": "down ned ner decrease decreased decreases decreasing fall fell fallen falling "
    "drop dropped minska minskat minskade minskar redusert redusere weaken weakened "
    "försvaga försvagat svekke svekket sjunkit sjønk sank",
}
_DIRECTION = {w: d for d, words in _DIRECTIONS.items() for w in words.split()}

# Negation cues (sv, nb/nn/da, en): words, and the stems of verbs that
# negate what follows ("refused to recognise", "nektet å anerkjenne").
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "without",
        "cannot",
        "inte",
        "ej",
        "icke",
        "aldrig",
        "ingen",
        "inget",
        "inga",
        "ingenting",
        "utan",
        "ikke",
        "ikkje",
        "aldri",
        "ingen",
        "intet",
        "ingenting",
        "uten",
        "utan",
    ]
)
_NEGATING = re.compile(
    r"\b(?:refus|refrain|deni|deny|reject|fail|declin|avoid|vägra|avstå|avstod|avvis|nekad|"
    r"nekar|neka|nekt|nekte|förnek|benekt|avslå|avslo|avslog|unngå|undvik|undgå|avbrøt|stopp)\w*",
    re.I,
)


def numbers(text: str) -> set[str]:
    """The numbers in a text, written one way, so "100,000", "100 000" and
    "100000" agree, and so do "1.5" and "1,5"; "1.5" and "15" do not.

    >>> sorted(numbers("More than 100,000 people; 774 detained in 2020."))
    ['100000', '2020', '774']
    >>> sorted(numbers("1,5 miljarder; 1.5 billion; 15 years; 2020, 774 held"))
    ['1.5', '15', '2020', '774']
    """
    found = set()
    for m in _NUMBER.finditer(text):
        whole, decimals = _split_decimal(m.group(0), m.group("sep"))
        whole = whole.lstrip("0") or "0"
        decimals = decimals.rstrip("0")
        found.add(f"{whole}.{decimals}" if decimals else whole)
    return found


def counts(text: str) -> list[tuple[str, str]]:
    """(number, the word after it) for every number in digits: what is
    counted ("80,000 protesters"), to tell two counts of one thing apart.

    >>> counts("Some 80,000 protesters and 1,5 prosent; 774 people held in 2020.")
    [('80000', 'protesters'), ('1.5', 'prosent'), ('774', 'people'), ('2020', '')]
    """
    found = []
    for m in _NUMBER.finditer(text):
        whole, decimals = _split_decimal(m.group(0), m.group("sep"))
        whole = whole.lstrip("0") or "0"
        decimals = decimals.rstrip("0")
        after = re.match(r"\s*(%|[^\W\d_]+)", text[m.end() :])
        found.append(
            (f"{whole}.{decimals}" if decimals else whole, after.group(1) if after else "")
        )
    return found


def _split_decimal(written: str, sep: str | None) -> tuple[str, str]:
    """(whole digits, decimal digits) of one matched number: its last "." or
    ",", unless that is the thousands separator `sep`, starts the decimals."""
    last = max(written.rfind("."), written.rfind(","))
    if last >= 0 and written[last] != sep:
        return re.sub(r"\D", "", written[:last]), written[last + 1 :]
    return re.sub(r"\D", "", written), ""


def quantities(text: str) -> set[str]:
    """Every amount a text states, digits or words, written one way.

    >>> sorted(quantities("his sixth term, 26 years, tens of thousands, 80 prosent"))
    ['%', '26', '6th', '80', 'tens of thousands']
    >>> sorted(quantities("hans sjätte mandatperiod; tiotusentals människor"))
    ['6th', 'tens of thousands']
    """
    found = numbers(_ORDINAL.sub(r"\1", text))
    found |= {f"{m.group(1)}th" for m in _ORDINAL.finditer(text)}
    for pattern, value in _PHRASES:
        if pattern.search(text):
            found.add(value)
            text = pattern.sub(" ", text)
    for word in _WORD.findall(text.casefold()):
        if word in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[word])
    found = {_ordinal_form(v) for v in found}
    return found


def _ordinal_form(value: str) -> str:
    """ "1th" is "1st", and so on, so digits and words agree."""
    m = re.fullmatch(r"(\d+)th", value)
    if not m:
        return value
    n = int(m.group(1))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def when(text: str) -> set[str]:
    """The months and weekdays a text names, in any of the languages.

    >>> sorted(when("on Sunday, 9 August"))
    ['day:7', 'month:8']
    >>> sorted(when("på söndagen den 9 augusti"))
    ['day:7', 'month:8']
    >>> when("As recently as last month"), when("i fjor")
    ({'rel:month-1'}, {'rel:year-1'})
    """
    found = {value for pattern, value in _RELATIVE_PATTERNS if pattern.search(text)}
    for word in _WORD.findall(text.casefold()):
        base = word if word in _WHEN else re.sub(r"(en|ens|s|a)$", "", word)
        if base in _WHEN and word not in _WHEN_SKIP:
            found.add(_WHEN[base])
    return found


def negated(text: str) -> bool:
    """Whether the text holds a negation cue.

    >>> negated("Russia did not back him"), negated("Ryssland stöder honom inte")
    (True, True)
    >>> negated("Russia backed him"), negated("Russia didn't back him")
    (False, True)
    """
    lowered = text.casefold().replace("’", "'")
    if "n't" in lowered or _NEGATING.search(lowered):
        return True
    return any(w in _NEGATIONS for w in _WORD.findall(lowered))


_HEDGES = frozenset(
    [
        "might",
        "may",
        "could",
        "possibly",
        "potentially",
        "perhaps",
        "likely",
        "unlikely",
        "reportedly",
        "allegedly",
        "apparently",
        "seemingly",
        "feared",
        "fears",
        "fear",
        "suspected",
        "suspects",
        "appears",
        "appear",
        "seems",
        "seem",
        "kanske",
        "möjligen",
        "eventuellt",
        "troligen",
        "troligtvis",
        "sannolikt",
        "påstås",
        "påstod",
        "verkar",
        "tycks",
        "befarar",
        "fruktar",
        "kunde",
        "kunna",
        "kanskje",
        "muligens",
        "muligvis",
        "trolig",
        "sannsynligvis",
        "angivelig",
        "angiveligvis",
        "visstnok",
        "virker",
        "frykter",
        "kunne",
    ]
)


_HEDGE_PHRASES = re.compile(
    r"\b(?:ser ut (?:til|att|som)|skal ha|ska ha|according to|enligt|ifølge)\b"
)


def hedged(text: str) -> bool:
    """Whether the text holds back from asserting: "might", "reportedly",
    "verkar", "angivelig" (a claim may not drop the hedge of its source).

    >>> hedged("he feared that Lukashenko might ask the Kremlin"), hedged("He asked")
    (True, False)
    """
    lowered = text.casefold()
    return bool(_HEDGE_PHRASES.search(lowered)) or any(w in _HEDGES for w in _WORD.findall(lowered))


def directions(text: str) -> set[str]:
    """Which way the text says something went ("up", "down").

    >>> sorted(directions("Förföljelserna har trappats upp")), directions("prices fell")
    (['up'], {'down'})
    """
    return {_DIRECTION[w] for w in _WORD.findall(text.casefold()) if w in _DIRECTION}


def names(text: str) -> set[str]:
    """Capitalised words that do not open a sentence: the names a claim uses.

    >>> sorted(names("Then Putin met Mr. Lukashenko in Sochi. The talks ended."))
    ['Lukashenko', 'Putin', 'Sochi']
    """
    found = set()
    for m in _NAME.finditer(text):
        if not _SENTENCE_START.search(text[: m.start()]):
            found.add(m.group(1))
    return found


def mentions(text: str, context: str = "") -> list[str]:
    """The names a text uses, in order: capitalised words not opening a
    sentence; an opening one when it is a known name (`names.tsv`) or stands
    capitalised inside `context` (the passage a claim cites); and the
    lower-case forms of known names ("ryska", "russisk"). Months and weekdays
    ("Sunday", "August") are times, not names: `when` compares them across
    languages ("Sunday" is "i söndags").

    >>> mentions("Putin gratulerte Lukasjenko.", "Han møtte Putin.")
    ['Putin', 'Lukasjenko']
    >>> mentions("They marched in Minsk on Sunday, 16 August.")
    ['Minsk']
    >>> mentions("Polisen greps av ryska soldater i Minsk.")
    ['ryska', 'Minsk']
    """
    table = _aliases()
    inner = " ".join(names(context))
    found = []
    for m in _NAME.finditer(text):
        word = m.group(1)
        if when(word) and word.casefold() not in table:
            continue
        opening = _SENTENCE_START.search(text[: m.start()])
        if not opening or word.casefold() in table or name_in(word, inner):
            found.append((m.start(), word))
    taken = {at for at, _ in found}
    for m in _WORD.finditer(text):
        if m.start() not in taken and m.group(0).islower() and m.group(0) in table:
            found.append((m.start(), m.group(0)))
    return [word for _, word in sorted(found)]


def name_in(name: str, text: str, cutoff: float = 0.8) -> bool:
    """Whether a name, a spelling of it in another language or script
    ("Sotsji", "Sochi"), or one of its forms in the other languages
    ("Ryssland", "Russia"), is in the text.

    >>> name_in("Lukasjenko", "Lukashenko met Putin.")
    True
    >>> name_in("Ryssland", "Russia offered a loan."), name_in("Sotsji", "in Sochi")
    (True, True)
    >>> name_in("Karazhan", "Lukashenko met Putin."), name_in("Kina", "Russia offered")
    (False, False)
    """
    return name_position(name, text, cutoff) is not None


def name_position(name: str, text: str, cutoff: float = 0.8) -> int | None:
    """Where in `text` the name (see `name_in`) first stands, or None.

    >>> name_position("Ryssland", "Putin said Russia would help.")
    11
    """
    spans = [(m.start(), _spelling(m.group(0))) for m in _WORD.finditer(text.casefold())]
    spans = [(at, w) for at, w in spans if len(w) >= 2]
    best = None
    for form in forms(name):
        target = [_spelling(w) for w in _WORD.findall(form)]
        if not target:
            continue
        for i, (at, word) in enumerate(spans):
            if len(target) > 1:
                hit = [w for _, w in spans[i : i + len(target)]] == target
            else:
                hit = word == target[0] or (
                    len(target[0]) >= 4
                    and difflib.SequenceMatcher(None, target[0], word).ratio() >= cutoff
                )
            if hit:
                best = at if best is None else min(best, at)
                break
    return best


def forms(name: str) -> set[str]:
    """A name and its forms in the other languages, from `names.tsv`
    (countries, capitals and bodies that news names), lower-cased; a
    possessive "-s" is dropped when the rest is a known form.

    >>> {"russia", "ryssland", "russland", "russian"} <= forms("Rysslands")
    True
    """
    word = name.casefold()
    table = _aliases()
    if word not in table and word.endswith("s") and word[:-1] in table:
        word = word[:-1]
    return set(table.get(word, ())) | {word}


@functools.lru_cache(maxsize=1)
def _aliases() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    path = Path(__file__).with_name("names.tsv")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        group = frozenset(w.strip().casefold() for w in line.split("\t") if w.strip())
        for word in group:
            table[word] = table.get(word, frozenset()) | group
    return table


_TRANSLITERATION = (
    ("tsj", "ch"),
    ("tj", "ch"),
    ("sj", "sh"),
    ("kh", "h"),
    ("ch", "h"),
    ("j", "y"),
    ("w", "v"),
    ("ø", "o"),
    ("æ", "a"),
    ("ts", "c"),
    ("ck", "k"),
)


def _spelling(word: str) -> str:
    """A word in a rough common spelling, so transliterations agree: "Sotsji",
    "Sotji" and "Sochi"; "Tichanovskaja" and "Tikhanovskaya"."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(c for c in word if not unicodedata.combining(c))
    for old, new in _TRANSLITERATION:
        word = word.replace(old, new)
    return re.sub(r"(.)\1", r"\1", word)
