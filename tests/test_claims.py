"""Checking a generated claim against the passages it cites (pure)."""

from __future__ import annotations

import numpy as np

from rag.answers.claims import CitedPassage, ClaimRules, check_claim
from tests.fakes import HashEmbedder

EMB = HashEmbedder(dim=256)
LOAN = "Putin eventually decided to offer a loan of 1.5 billion dollars to Minsk."
DETAINED = "Police said they detained 774 people at Sunday's protests."


def passage(*sentences: str, language: str = "en") -> CitedPassage:
    return CitedPassage(
        text=" ".join(sentences),
        language=language,
        sentences=sentences,
        vectors=EMB.embed_documents(list(sentences)),
    )


PASSAGES = {1: passage(LOAN, "Minsk welcomed it."), 2: passage(DETAINED)}


def rules(min_similarity: float = 0.6) -> ClaimRules:
    return ClaimRules(min_similarity, min_similarity, min_coverage=0.8, max_disorder=0.3)


def check(text: str, cited, min_similarity: float = 0.6, language: str = "en", passages=None):
    vector = EMB.embed_queries([text])[0]
    return check_claim(text, vector, cited, passages or PASSAGES, language, rules(min_similarity))


def test_a_claim_its_passage_states_is_supported_by_that_sentence():
    verdict = check("Putin decided to offer a loan of 1.5 billion dollars to Minsk", [1])
    assert verdict.supported and verdict.reason == "supported"
    assert verdict.support == ((1, 0),)


def test_a_wrong_number_is_not_supported():
    verdict = check("Putin decided to offer a loan of 2.5 billion dollars to Minsk", [1])
    assert not verdict.supported and "number" in verdict.reason and "2.5" in verdict.reason


def test_a_number_from_a_neighbouring_sentence_does_not_vouch_for_a_claim():
    """The passage holds 100,000 and 26, but the sentence that states the
    claim says 100,000: "more than 26 people" is not what it says."""
    crowd = "More than 100,000 people defied the security forces on Sunday."
    years = "Lukashenko has been in power for 26 years."
    passages = {1: passage(crowd, years)}
    text = "More than 26 people defied the security forces on Sunday"
    vector = EMB.embed_queries([text])[0]
    verdict = check_claim(text, vector, [1], passages, "en", rules())
    assert not verdict.supported and "26" in verdict.reason
    right = "More than 100 000 people defied the security forces on Sunday"
    vector = EMB.embed_queries([right])[0]
    assert check_claim(right, vector, [1], passages, "en", rules()).support == ((1, 0),)


def test_a_decimal_is_not_the_same_number_as_its_digits():
    verdict = check("Putin decided to offer a loan of 15 billion dollars to Minsk", [1])
    assert not verdict.supported and "15" in verdict.reason
    assert check("Putin decided to offer a loan of 1,5 billion dollars to Minsk", [1]).supported


def test_a_claim_citing_the_wrong_passage_is_not_supported():
    verdict = check("Putin decided to offer a loan of 1.5 billion dollars to Minsk", [2])
    assert not verdict.supported and "passage [2] does not state it" in verdict.reason


def test_markers_out_of_range_are_dropped():
    verdict = check("Police detained 774 people at Sunday's protests", [9, 2])
    assert verdict.supported and verdict.cited == (2,)
    assert check("Police detained 774 people", [9]).reason == "cites no passage that exists"


def test_a_claim_without_citation_is_not_supported():
    assert check("Police detained 774 people", []).reason == "no citation"


def test_a_name_the_passage_lacks_is_not_supported_in_the_same_language():
    verdict = check("Police said Lukashenko detained 774 people at Sunday's protests", [2])
    assert not verdict.supported and "Lukashenko" in verdict.reason


def test_names_are_compared_across_languages_in_their_own_forms():
    swedish = {1: passage("Polisen i Ryssland grep 774 personer i Minsk.", language="sv")}
    for text, supported in (
        ("Police in Russia detained 774 people in Minsk", True),
        ("Police in China detained 774 people in Minsk", False),
    ):
        vector = EMB.embed_queries([text])[0]
        verdict = check_claim(text, vector, [1], swedish, "en", rules(0.0))
        assert verdict.supported is supported, verdict.reason


def test_a_claim_carrying_a_link_or_markup_is_never_supported():
    for text in (
        "Police detained 774 people at Sunday's protests, see http://evil.example/",
        "Police detained 774 people at Sunday's protests <img src=x>",
    ):
        verdict = check(text, [2], min_similarity=0.0)
        assert not verdict.supported and verdict.reason.startswith("the claim holds")


def test_the_similarity_bar_decides():
    text = "Police detained 774 people"
    vector = EMB.embed_queries([text])[0]
    similarity = float(np.max(PASSAGES[2].vectors @ vector))
    assert check_claim(text, vector, [2], PASSAGES, "en", rules(similarity - 1e-6)).supported
    assert not check_claim(text, vector, [2], PASSAGES, "en", rules(similarity + 1e-6)).supported


def test_each_agreement_test_rejects_what_similarity_lets_through():
    """With no similarity bar at all, each test alone turns a near-copy down."""
    source = passage(
        "Last month, Lukashenko accused Moscow of plotting against him on Sunday.",
        "Protesters have refrained from violence.",
        "Repression has been stepped up.",
        "He feared that Putin might send troops.",
    )
    cases = {
        "Last year, Lukashenko accused Moscow of plotting against him on Sunday": "time",
        "Last month, Lukashenko accused Moscow of plotting against him on Monday": "time",
        "Last month, Moscow accused Lukashenko of plotting against him on Sunday": "order",
        "Protesters have continued the violence": "negates",
        "Repression has been scaled down": "other way",
        "Putin sent troops": "suggests",
        "Last month, Lukashenko accused Warsaw of plotting against him on Sunday": "name",
        "Last month, Lukashenko praised Moscow for its wheat harvest on Sunday": "words",
    }
    for text, why in cases.items():
        verdict = check(text, [1], min_similarity=0.0, passages={1: source})
        assert not verdict.supported, text
        assert why in verdict.reason, (text, verdict.reason)
    assert check(
        "Last month, Lukashenko accused Moscow of plotting against him on Sunday",
        [1],
        min_similarity=0.0,
        passages={1: source},
    ).supported
