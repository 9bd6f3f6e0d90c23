"""Checking each claim of a generated answer against the passages it cites.

Pure: texts and vectors in, verdicts out. A claim is supported by a cited
passage when one of the passage's sentences states it: the sentence is at
least `min_similarity` similar to the claim (e5 embeddings, computed at
ingest for sentences and once per answer for claims) and holds every number
of the claim (written any way: "100 000" is "100,000"), and, when claim and passage
share a language, every name in the claim does too. Names are not compared across languages:
"Ryssland" and "Russia" name the same country. A claim with no valid
citation is unsupported, and so is one that is itself suspect (a link,
markup, an order to a machine reader: `rag.hostile`). Suspect sentences of a
passage are never offered as support (`rag.generative.sentences_of`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.hostile import suspect

# A number: digits grouped in threes by one repeated separator ("100,000",
# "100 000", "1.234.567"), or plain digits, either with a decimal part.
_NUMBER = re.compile(
    r"(?<![\d.,])(?:\d{1,3}(?P<sep>[.,\u00a0\u202f ])\d{3}(?!\d)(?:(?P=sep)\d{3}(?!\d))*"
    r"|\d+)(?:[.,]\d+(?![.,]?\d))?"
)
_NAME = re.compile(r"(?<![\w.])([A-ZÅÄÖÆØÉ][\w\-]{2,})")
_SENTENCE_START = re.compile(r"(^|[.!?:;]\s+|[\"“«(]\s*)$")


@dataclass(frozen=True)
class CitedPassage:
    """A passage a claim may cite: the sentences of it that may support a
    claim (suspect ones left out), with their vectors."""

    text: str
    language: str
    sentences: tuple[str, ...]
    vectors: np.ndarray  # one unit vector per sentence


@dataclass(frozen=True)
class ClaimCheck:
    """The verdict on one claim of a generated answer."""

    text: str
    cited: tuple[int, ...]  # the passage numbers it cites that exist
    supported: bool
    reason: str  # "supported", or why not
    support: tuple[tuple[int, int], ...] = ()  # (passage number, sentence position) that state it
    similarity: float = 0.0  # best claim-sentence similarity among the cited passages

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "cited": list(self.cited),
            "supported": self.supported,
            "reason": self.reason,
            "similarity": round(self.similarity, 4),
        }


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


def _split_decimal(written: str, sep: str | None) -> tuple[str, str]:
    """(whole digits, decimal digits) of one matched number: its last "." or
    ",", unless that is the thousands separator `sep`, starts the decimals."""
    last = max(written.rfind("."), written.rfind(","))
    if last >= 0 and written[last] != sep:
        return re.sub(r"\D", "", written[:last]), written[last + 1 :]
    return re.sub(r"\D", "", written), ""


def names(text: str) -> set[str]:
    """Capitalised words that do not open a sentence: the names a claim uses.

    >>> sorted(names("Then Putin met Lukashenko in Sochi. The talks ended."))
    ['Lukashenko', 'Putin', 'Sochi']
    """
    found = set()
    for m in _NAME.finditer(text):
        if not _SENTENCE_START.search(text[: m.start()]):
            found.add(m.group(1))
    return found


def name_in(name: str, text: str, cutoff: float = 0.8) -> bool:
    """Whether a name, or a spelling close to it, is in the text.

    >>> name_in("Lukasjenko", "Lukashenko met Putin.")
    True
    >>> name_in("Karazhan", "Lukashenko met Putin.")
    False
    """
    words = {w.casefold() for w in re.findall(r"\w{3,}", text)}
    target = name.casefold()
    return target in words or bool(difflib.get_close_matches(target, words, n=1, cutoff=cutoff))


def check_claim(
    text: str,
    vector: np.ndarray,
    cited: Sequence[int],
    passages: Mapping[int, CitedPassage],
    language: str,
    min_similarity: float,
) -> ClaimCheck:
    """The verdict on one claim citing `cited` (passage numbers; those not in
    `passages` are dropped), written in `language`."""
    valid = tuple(dict.fromkeys(n for n in cited if n in passages))
    if why := suspect(text):
        return ClaimCheck(text, valid, False, f"the claim {why}")
    if not valid:
        reason = "no citation" if not cited else "cites no passage that exists"
        return ClaimCheck(text, valid, False, reason)
    wanted_numbers = numbers(text)
    wanted_names = names(text)
    support: list[tuple[int, int]] = []
    best_similarity, first_failure = 0.0, ""
    for n in valid:
        passage = passages[n]
        if not passage.sentences:
            continue
        usable = " ".join(passage.sentences)  # suspect sentences vouch for nothing
        similarities = passage.vectors @ vector
        order = np.argsort(-similarities, kind="stable")
        similarity = float(similarities[order[0]])
        best_similarity = max(best_similarity, similarity)
        stating = [int(i) for i in order if similarities[i] >= min_similarity]
        # The numbers must be in a sentence that states the claim: a number
        # from a neighbouring sentence of the passage does not vouch for it.
        exact = [i for i in stating if wanted_numbers <= numbers(passage.sentences[i])]
        failure = ""
        if not stating:
            failure = (
                f"not stated in passage [{n}] (similarity {similarity:.2f} < {min_similarity:.2f})"
            )
        elif not exact:
            missing = sorted(wanted_numbers - numbers(passage.sentences[stating[0]]))
            failure = f"passage [{n}] does not state the number(s) {', '.join(missing)}"
        elif passage.language == language and (
            absent := sorted(m for m in wanted_names if not name_in(m, usable))
        ):
            failure = f"passage [{n}] does not name {', '.join(absent)}"
        if failure:
            first_failure = first_failure or failure
        else:
            support.append((n, exact[0]))
    if support:
        return ClaimCheck(text, valid, True, "supported", tuple(support), best_similarity)
    return ClaimCheck(text, valid, False, first_failure, (), best_similarity)
