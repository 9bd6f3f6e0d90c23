"""Offline language identification (lingua), as ISO 639-1 codes.

Norwegian comes out as "nb" (Bokmål) or "nn" (Nynorsk), never as Danish or
Swedish by default: the detector compares the languages a Nordic news corpus
plausibly holds, and is built once, lazily.
"""

from __future__ import annotations

import functools
import threading

UNKNOWN = "und"

# Codes and names accepted from users and feeds, mapped to what the detector reports.
ALIASES = {
    "no": "nb",
    "nob": "nb",
    "nno": "nn",
    "swe": "sv",
    "eng": "en",
    "se": "sv",
    "dan": "da",
    "deu": "de",
    "ger": "de",
    "fin": "fi",
    "swedish": "sv",
    "svenska": "sv",
    "norwegian": "nb",
    "norsk": "nb",
    "bokmål": "nb",
    "bokmal": "nb",
    "nynorsk": "nn",
    "english": "en",
    "danish": "da",
    "dansk": "da",
    "german": "de",
    "deutsch": "de",
    "finnish": "fi",
    "suomi": "fi",
}


def _once(build):
    """Build on first use, once, even when threads ask at the same time."""
    lock = threading.Lock()
    made: list = []

    @functools.wraps(build)
    def get():
        if not made:
            with lock:
                if not made:
                    made.append(build())
        return made[0]

    return get


@_once
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    # Each candidate costs ~25 MB and load time, and more candidates mean more
    # confusions on short questions: 12 languages got 54/56 dev questions right
    # in 3.2 s / 310 MB, the five Nordic + English ones 55/56 in 1.2 s / 171 MB
    # (docs/PERFORMANCE.md). German and Finnish are the likeliest others.
    languages = [
        Language.ENGLISH,
        Language.SWEDISH,
        Language.BOKMAL,
        Language.NYNORSK,
        Language.DANISH,
        Language.GERMAN,
        Language.FINNISH,
    ]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detect_language(text: str) -> str:
    """The ISO 639-1 code of `text`'s language, or "und" when unsure.

    >>> detect_language("Hviterussland har opplevd store demonstrasjoner.")
    'nb'
    """
    sample = text[:2000]
    if not any(ch.isalpha() for ch in sample):
        return UNKNOWN
    lang = _detector().detect_language_of(sample)
    return lang.iso_code_639_1.name.lower() if lang is not None else UNKNOWN


@_once
def _question_detector():
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.ENGLISH, Language.SWEDISH, Language.BOKMAL
    ).build()


def question_language(text: str) -> str:
    """The language of a question: "en", "sv" or "nb", the languages the
    product answers in (a Nynorsk question counts as Norwegian, "nb").

    Short questions are easy to confuse across the Scandinavian languages:
    with all seven candidates one of the 56 dev questions came out Nynorsk
    instead of Swedish, with these three none did.

    >>> question_language("Hvem møtte Erna Solberg?")
    'nb'
    """
    sample = text[:2000]
    if not any(ch.isalpha() for ch in sample):
        return UNKNOWN
    lang = _question_detector().detect_language_of(sample)
    return lang.iso_code_639_1.name.lower() if lang is not None else UNKNOWN


def warm_up() -> None:
    """Load the detectors' models now rather than on the first question."""
    detect_language("Warm-up text for the language detector.")
    question_language("Warm-up text for the language detector.")


def warm_up_questions_in_background() -> threading.Thread:
    """Start loading the question detector (about 1 s) in a daemon thread,
    so that opening an index does not wait for it; a question asked sooner
    waits only for what is left."""
    thread = threading.Thread(
        target=question_language, args=("Warm-up text.",), name="rag-warm-up", daemon=True
    )
    thread.start()
    return thread


def normalize_code(code: str) -> str:
    """A language code or name as an ISO 639-1 code: "sv-SE" -> "sv",
    "Norwegian" -> "nb", "no" -> "nb"; unrecognisable input -> "und".

    >>> [normalize_code(c) for c in ("sv-SE", "Norwegian", "no", "xx-yy-zz", "")]
    ['sv', 'nb', 'nb', 'xx', 'und']
    """
    code = code.strip().lower().replace("_", "-")
    if code in ALIASES:
        return ALIASES[code]
    primary = code.split("-", 1)[0]
    primary = ALIASES.get(primary, primary)
    return primary if len(primary) == 2 and primary.isalpha() else UNKNOWN


@functools.lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """The ISO 639-1 codes a language may be given as: those the detector
    knows, plus Norwegian's written forms."""
    from lingua import Language

    return frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all()) | {
        "nb",
        "nn",
        "no",
    }
