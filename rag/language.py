"""Offline language identification (lingua), as ISO 639-1 codes.

Norwegian comes out as "nb" (Bokmål) or "nn" (Nynorsk), never as Danish or
Swedish by default: the detector compares the languages a Nordic news corpus
plausibly holds, and is built once, lazily.
"""

from __future__ import annotations

import functools

UNKNOWN = "und"

# Codes accepted from users, mapped to what the detector reports.
ALIASES = {"no": "nb", "nob": "nb", "nno": "nn", "swe": "sv", "eng": "en", "se": "sv"}


@functools.lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [
        Language.ENGLISH,
        Language.SWEDISH,
        Language.BOKMAL,
        Language.NYNORSK,
        Language.DANISH,
        Language.GERMAN,
        Language.FINNISH,
        Language.FRENCH,
        Language.SPANISH,
        Language.DUTCH,
        Language.RUSSIAN,
        Language.POLISH,
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


def warm_up() -> None:
    """Load the detector's models now rather than on the first question."""
    detect_language("Warm-up text for the language detector.")


def normalize_code(code: str) -> str:
    code = code.strip().lower()
    return ALIASES.get(code, code)
