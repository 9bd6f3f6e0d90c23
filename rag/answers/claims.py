"""Checking each claim of a generated answer against the passages it cites.

Pure: texts and vectors in, verdicts out. A claim is supported when one
sentence of a passage it cites states it, and a sentence states a claim only
when every test below holds; the first that fails is the reason given:

1. meaning: the sentence is at least `min_similarity` similar to the claim
   (e5 vectors: the claim's computed once per answer, the sentence's at
   ingest), or `min_similarity_cross` when they are in different languages
   (`min_similarity_anchored` when the claim has at least `anchors` names,
   numbers and times: all of them must agree, which carries the rest);
2. amounts: every number of the claim, in digits or words ("100 000" is
   "100,000", "sixth" is "6th", "tiotusentals" is "tens of thousands");
3. time: every month and weekday of the claim ("söndag" is "Sunday");
4. names: every name of the claim, in any of its languages' forms
   ("Ryssland" is "Russia", "Sotsji" is "Sochi"), in the sentence or the
   one before it (where "he" was named);
5. negation: both negated or neither;
6. words: when they share a language, at least `min_coverage` of the
   claim's own content words (stemmed; names and numbers aside);
7. roles: names they share come in the same order ("Putin asked Lukashenko"
   is not "Lukashenko asked Putin").

No single similarity bar can carry this: a paraphrase and a claim that swaps
one fact are equally close in meaning. Each test catches what similarity
misses; `tests/data/claims.jsonl` measures the whole (no unsupported claim
may pass). A claim with no valid citation is unsupported, and so is one that
is itself suspect (a link, markup, an order to a machine reader:
`rag.hostile`). Suspect sentences of a passage are never offered as support
(`rag.answers.generative.sentences_of`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answers.facts import (
    directions,
    hedged,
    mentions,
    name_position,
    names,
    negated,
    quantities,
    when,
)
from rag.answers.hostile import suspect
from rag.text.lexical import tokenize

# Languages close enough that a stem in one is often a prefix in the other.
_SCANDINAVIAN = {"sv", "nb", "nn", "da"}


@dataclass(frozen=True)
class ClaimRules:
    """The bars of the check (`Settings` holds the calibrated values)."""

    min_similarity: float = 0.87  # claim and sentence in one language
    min_similarity_cross: float = 0.87  # in different languages
    min_coverage: float = 0.8  # share of the claim's content words, one language
    max_disorder: float = 0.3  # share of its words' pairs in another order, one language
    names_before: bool = False  # a name may stand in the sentence before (who "he" is)
    # Across languages, a claim with at least `anchors` names, numbers and
    # times (all of which must agree) may pass at this lower similarity.
    min_similarity_anchored: float = 0.83
    anchors: int = 2


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


@dataclass(frozen=True)
class _Claim:
    """What a claim asserts that must agree, read once."""

    text: str
    language: str
    amounts: frozenset[str]
    times: frozenset[str]
    names: tuple[str, ...]  # in the order they appear
    negated: bool
    hedged: bool
    directions: frozenset[str]
    words: frozenset[str]  # stemmed content words, names and numbers aside

    @classmethod
    def read(cls, text: str, language: str, context: str = "") -> _Claim:
        return cls(
            text,
            language,
            frozenset(quantities(text)),
            frozenset(when(text)),
            tuple(dict.fromkeys(mentions(text, context))),
            negated(text),
            hedged(text),
            frozenset(directions(text)),
            frozenset(content_words(text, language)),
        )


def content_words(text: str, language: str) -> set[str]:
    """A text's stemmed content words, without stop words, names or numbers.

    >>> sorted(content_words("Where was Alexander Lukashenko born in 1954?", "en"))
    ['born']
    """
    named = set(tokenize(" ".join(names(text)), language))
    return {w for w in tokenize(text, language) if w not in named and not w.isdigit()}


def check_claim(
    text: str,
    vector: np.ndarray,
    cited: Sequence[int],
    passages: Mapping[int, CitedPassage],
    language: str,
    rules: ClaimRules,
) -> ClaimCheck:
    """The verdict on one claim citing `cited` (passage numbers; those not in
    `passages` are dropped), written in `language`."""
    valid = tuple(dict.fromkeys(n for n in cited if n in passages))
    if why := suspect(text):
        return ClaimCheck(text, valid, False, f"the claim {why}")
    if not valid:
        reason = "no citation" if not cited else "cites no passage that exists"
        return ClaimCheck(text, valid, False, reason)
    claim = _Claim.read(text, language, " ".join(passages[n].text for n in valid))
    support: list[tuple[int, int]] = []
    best_similarity, first_failure = 0.0, ""
    for n in valid:
        passage = passages[n]
        if not passage.sentences:
            continue
        similarities = passage.vectors @ vector
        order = np.argsort(-similarities, kind="stable")
        best_similarity = max(best_similarity, float(similarities[order[0]]))
        failure = ""
        for i in order:
            before = passage.sentences[i - 1] if i > 0 else ""
            why = disagreement(
                claim, passage.sentences[i], before, passage.language, float(similarities[i]), rules
            )
            if why is None:
                support.append((n, int(i)))
                break
            failure = failure or f"passage [{n}] {why}"
        first_failure = first_failure or failure
    if support:
        return ClaimCheck(text, valid, True, "supported", tuple(support), best_similarity)
    return ClaimCheck(text, valid, False, first_failure, (), best_similarity)


def disagreement(
    claim: _Claim, sentence: str, before: str, language: str, similarity: float, rules: ClaimRules
) -> str | None:
    """Why `sentence` (in `language`, after the sentence `before`) does not
    state the claim, or None when it does."""
    same = language == claim.language
    bar = rules.min_similarity if same else rules.min_similarity_cross
    anchors = len(claim.amounts) + len(claim.times) + len(claim.names)
    if not same and anchors >= rules.anchors:
        bar = min(bar, rules.min_similarity_anchored)
    if similarity < bar:
        return f"does not state it (similarity {similarity:.2f} < {bar:.2f})"
    if missing := sorted(claim.amounts - quantities(sentence)):
        return f"does not state the number(s) {', '.join(missing)}"
    if missing := sorted(claim.times - when(sentence)):
        return f"does not state the time ({', '.join(missing)})"
    context = f"{before} {sentence}" if rules.names_before else sentence
    positions = {name: name_position(name, sentence) for name in claim.names}
    absent = [m for m, at in positions.items() if at is None and name_position(m, context) is None]
    if absent:
        return f"does not name {', '.join(absent)}"
    if claim.negated != (denies := negated(sentence)):
        return "negates it" if denies else "does not negate it"
    if hedged(sentence) and not claim.hedged:
        return "states as fact what it only suggests"
    went = directions(sentence)
    if claim.directions and went and not claim.directions & went:
        return "says it went the other way"
    if same or {language, claim.language} <= _SCANDINAVIAN:
        share = coverage(claim.words, sentence, language, exact=same)
        if share < rules.min_coverage:
            return f"holds {share:.0%} of its words (< {rules.min_coverage:.0%})"
        if disorder(claim, sentence, language, exact=same) > rules.max_disorder:
            return "puts its words in another order (who did what to whom?)"
    found = [at for at in positions.values() if at is not None]
    if any(b < a for a, b in zip(found, found[1:], strict=False)):
        return "names them in another order (who did what to whom?)"
    return None


def coverage(words: frozenset[str], sentence: str, language: str, exact: bool = True) -> float:
    """Share of the claim's content `words` that the sentence holds; across
    Swedish and Norwegian (`exact=False`) a shared first five letters count.

    >>> coverage(frozenset({"loan", "offer"}), "Putin offered a loan.", "en")
    1.0
    >>> coverage(frozenset({"demonstration"}), "Demonstrasjonene fortsatte.", "nb", exact=False)
    1.0
    """
    if not words:
        return 1.0
    held = set(tokenize(sentence, language))
    if exact:
        return len(words & held) / len(words)
    prefixes = {_nordic(w)[:5] for w in held}
    return sum(_nordic(w)[:5] in prefixes for w in words) / len(words)


def disorder(claim: _Claim, sentence: str, language: str, exact: bool = True) -> float:
    """Share of the pairs of the claim's words (content words and names)
    found in the sentence that the sentence puts in the opposite order.

    >>> c = _Claim.read("Lukasjenko vände ryggen åt makteliten.", "sv")
    >>> round(disorder(c, "Makteliten vände ryggen åt Lukasjenko.", "sv"), 2)
    0.83
    """
    words = tokenize(claim.text, claim.language)
    held = tokenize(sentence, language)
    key = (lambda w: w) if exact else (lambda w: _nordic(w)[:5])
    first: dict[str, int] = {}
    for i, w in enumerate(held):
        first.setdefault(key(w), i)
    order = list(dict.fromkeys(first[key(w)] for w in words if key(w) in first))
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
    return sum(b < a for a, b in pairs) / len(pairs) if pairs else 0.0


def _nordic(word: str) -> str:
    return word.replace("æ", "ä").replace("ø", "ö")
