"""Who else reported it: other articles that state a quoted sentence, or
give other numbers or another day for the same thing.

For each sentence an answer quotes, `corroborate()` searches the index with
that sentence (its stored vector and its words) for passages of *other*
stories (a wire copy is the same story, `rag.copies`), in any language, and
reads their sentences with the claim check's own tests (`rag.claims`):

- a sentence *supports* the quote when it states it (similarity, numbers,
  times, names, negation, words and roles all agree), as a claim check
  would accept it;
- a sentence *conflicts* with it when everything but the time agrees and it
  names another weekday or month, or when, in the same language, it counts
  the same thing differently ("100,000 protesters" and "80,000
  protesters"): both are then shown, each with its source, instead of one
  picked silently.

`judge()` is pure; `corroborate()` reads the index through a `Retriever`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.answers.citations import cite, dated_text
from rag.answers.claims import ClaimRules, _Claim, disagreement
from rag.answers.facts import counts, name_position, when
from rag.records import Citation, Hit, Sentence
from rag.text.lexical import tokenize

SUPPORTS, CONFLICTS = "supports", "conflicts"
SEARCH_K = 8  # passages searched per quoted sentence
MAX_SUPPORT = 3  # other stories cited per quoted sentence


@dataclass(frozen=True)
class Corroboration:
    """What other stories say about one quoted sentence."""

    supporters: tuple[tuple[Sentence, Hit], ...] = ()
    conflicts: tuple[tuple[Sentence, Hit], ...] = ()


def judge(
    quote: str,
    quote_language: str,
    sentence: str,
    before: str,
    language: str,
    similarity: float,
    rules: ClaimRules,
    claim: _Claim | None = None,
) -> str | None:
    """SUPPORTS when `sentence` (after `before`, in `language`) states the
    quoted sentence; CONFLICTS when it says the same but on another weekday
    or in another month (any language), or counts the same thing in the same
    language differently (another number before the same word: "100,000
    protesters", "80,000 protesters"), sharing a name and as similar as a
    claim check asks; else None. `similarity` is their cosine similarity;
    `claim` is the quote as `rag.claims` reads it, when read already.

    >>> rules = ClaimRules()
    >>> judge("Police detained 774 people.", "en", "Police held 774 people.", "", "en", 0.95,
    ...       ClaimRules(min_coverage=0.5))
    'supports'
    >>> judge("More than 100,000 protesters filled Independence Square.", "en",
    ...       "Some 80,000 protesters filled Independence Square, Viasna said.", "", "en", 0.92,
    ...       rules)
    'conflicts'
    >>> judge("Over 100,000 protesters marched in Minsk.", "en",
    ...       "Over 80,000 protesters marched in Kyiv.", "", "en", 0.96, rules) is None
    True
    >>> judge("Lukashenko flew to Sochi on Monday.", "en",
    ...       "Lukasjenko fløy til Sotsji på tirsdag.", "", "nb", 0.93, rules)
    'conflicts'
    """
    claim = claim or _Claim.read(quote, quote_language)
    if disagreement(claim, sentence, before, language, similarity, rules) is None:
        return SUPPORTS
    if _other_time(claim, sentence) and not disagreement(
        replace(claim, times=frozenset()), sentence, before, language, similarity, rules
    ):
        return CONFLICTS
    if language != quote_language or similarity < rules.min_similarity:
        return None
    if not any(name_position(name, sentence) is not None for name in claim.names):
        return None  # not shown to be about the same people or place
    ours, theirs = _counted(quote, language), _counted(sentence, language)
    for unit, values in ours.items():
        other = theirs.get(unit, set())
        if other and not values & other:
            return CONFLICTS
    return None


def _other_time(claim: _Claim, sentence: str) -> bool:
    """Whether the sentence names another weekday, or another month, than
    the claim (and not the claim's)."""
    theirs = when(sentence)
    for kind in ("day:", "month:"):
        ours = {t for t in claim.times if t.startswith(kind)}
        other = {t for t in theirs if t.startswith(kind)}
        if ours and other and not ours & other:
            return True
    return False


def _counted(text: str, language: str) -> dict[str, set[str]]:
    """{what is counted (stemmed), its numbers} in a text."""
    out: dict[str, set[str]] = {}
    for value, word in counts(text):
        stems = tokenize(word, language) if word and word != "%" else [word]
        if stems and stems[0]:
            out.setdefault(stems[0], set()).add(value)
    return out


def corroborate(
    retriever,
    quotes: Sequence[tuple[Sentence, np.ndarray | None, Hit]],
    rules: ClaimRules,
    dates: dict | None = None,
    k: int = SEARCH_K,
    max_support: int = MAX_SUPPORT,
) -> list[Corroboration]:
    """For each quoted (sentence, its vector, the hit it was found in): the
    sentences of other stories that support it (at most `max_support`, one
    per story, most similar first) and those that conflict with it. Only
    articles dated in `dates` (`since`/`until`) are searched, as the answer.
    A quote without a vector (its article was removed meanwhile) gets none."""
    from rag.answers.generative import sentences_of

    # "Also reported by" is said of a whole sentence: no lower bar across
    # languages for sentences that share names (a claim check allows it; on
    # the seeds it let "Lukashenko ... Russia ... Putin" pass for another
    # sentence naming the same three, at 0.85).
    rules = replace(rules, min_similarity_anchored=rules.min_similarity_cross)
    bar = min(rules.min_similarity, rules.min_similarity_cross)
    out = []
    for sentence, vector, hit in quotes:
        if vector is None:
            out.append(Corroboration())
            continue
        found = retriever.retrieve(sentence.text, k, vector=vector, **(dates or {}))
        supporters: dict[str, tuple[float, Sentence, Hit]] = {}
        conflicts: dict[str, tuple[float, Sentence, Hit]] = {}
        claim = _Claim.read(sentence.text, hit.language, hit.text)
        for other in found:
            if same_story(hit, other):
                continue
            candidates = sentences_of(retriever, other)
            texts = {s.start: s.text for s, _ in candidates}
            for candidate, cvec in candidates:
                similarity = float(cvec @ vector)
                if similarity < bar:  # the first test of both verdicts
                    continue
                verdict = judge(
                    sentence.text,
                    hit.language,
                    candidate.text,
                    _before(texts, candidate.start),
                    other.language,
                    similarity,
                    rules,
                    claim,
                )
                table = {SUPPORTS: supporters, CONFLICTS: conflicts}.get(verdict or "")
                if table is not None and (
                    other.doc_id not in table or similarity > table[other.doc_id][0]
                ):
                    table[other.doc_id] = (similarity, candidate, other)
        best = sorted(supporters.values(), key=lambda t: -t[0])[:max_support]
        against = sorted(conflicts.values(), key=lambda t: -t[0])[:max_support]
        out.append(
            Corroboration(tuple((s, h) for _, s, h in best), tuple((s, h) for _, s, h in against))
        )
    return out


# Opens a quoted sentence that gives other numbers, or another day, than the
# one before it.
DIFFERS_TEXT = {
    "en": "Another source says otherwise:",
    "sv": "En annan källa uppger något annat:",
    "nb": "En annen kilde oppgir noe annet:",
    "nn": "Ei anna kjelde seier noko anna:",
    "da": "En anden kilde siger noget andet:",
}


def cited(
    quotes: Sequence[tuple[Sentence, Hit]],
    found: Sequence[Corroboration],
    language: str,
    dated: Callable[[Sentence, Hit], str | None] | None = None,
    upto: int | None = None,
) -> tuple[str, tuple[Citation, ...]]:
    """The answer text and citations for quoted sentences with what other
    stories say of them: each quote cites its own sentence, then those that
    also state it ("[1][3][5]", citations 3 and 5 marked `corroborates=1`);
    a sentence that gives other numbers or another day follows as a claim of its own,
    opened by `DIFFERS_TEXT` (marked `contradicts`). `found` may be shorter
    than `quotes`. `dated` gives the date each quote opens with. `upto`
    writes only the first quotes (an answer streams one at a time): the
    text grows, and every number keeps its meaning."""
    own = {s.id for s, _ in quotes}  # a quote is never cited as another's support
    quotes = quotes[:upto]
    claims: list[tuple[str, list[tuple[Sentence, Hit]]]] = []
    roles: dict[str, tuple[str, str]] = {}  # sentence id -> (role, the quote's id)
    lead = DIFFERS_TEXT.get(language, DIFFERS_TEXT["en"])
    for i, (sentence, hit) in enumerate(quotes):
        extra = found[i] if i < len(found) else Corroboration()
        support = [(s, h) for s, h in extra.supporters if s.id not in own]
        date = dated(sentence, hit) if dated else None
        claims.append((dated_text(sentence.text, date), [(sentence, hit), *support]))
        for s, _ in support:
            roles.setdefault(s.id, ("corroborates", sentence.id))
        for s, h in extra.conflicts:
            if s.id not in own and s.id not in roles:
                claims.append((f"{lead} {s.text}", [(s, h)]))
                roles[s.id] = ("contradicts", sentence.id)
    text, citations = cite(claims)
    numbers = {(c.doc_id, c.start, c.end): c.n for c in citations}
    spans = {s.id: (s.doc_id, s.start, s.end) for s, _ in quotes}
    for _, support in claims:
        for s, _ in support:
            spans.setdefault(s.id, (s.doc_id, s.start, s.end))
    out = []
    for c in citations:
        role = next(
            (r for sid, r in roles.items() if spans.get(sid) == (c.doc_id, c.start, c.end)), None
        )
        if role is not None:
            c = replace(c, **{role[0]: numbers[spans[role[1]]]})
        out.append(c)
    return text, tuple(out)


def same_story(a: Hit, b: Hit) -> bool:
    """Whether two hits come from one story: one article, or wire copies of
    one (retrieval shows a story once, listing its copies in `also_in`)."""
    copies = {s.doc_id for s in a.also_in} | {s.doc_id for s in b.also_in}
    return a.doc_id == b.doc_id or b.doc_id in copies or a.doc_id in copies


def _before(texts: dict[int, str], start: int) -> str:
    earlier = [s for s in texts if s < start]
    return texts[max(earlier)] if earlier else ""
