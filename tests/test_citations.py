"""Citation numbering: the markers in an answer are exactly 1..N, one
citation each, whatever the quoted sentences contain."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from rag.answers.citations import claim_text, defuse, markers, quote, valid_markers
from rag.records import Hit, Sentence

# Arbitrary Unicode, with the characters that could break numbering made likely.
sentence_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from("[]0123456789 \n\t")), min_size=1
).filter(lambda s: s.strip())


def _pair(i: int, text: str) -> tuple[Sentence, Hit]:
    doc = f"doc{i % 3}"
    sentence = Sentence(id=f"s{i}", doc_id=doc, start=10 * i, end=10 * i + len(text), text=text)
    hit = Hit(
        chunk_id=f"c{i}",
        doc_id=doc,
        title="T",
        language="en",
        date=None,
        text=f"before {text} after",
        start=0,
        end=100,
        score=1.0,
    )
    return sentence, hit


@given(st.lists(sentence_text, max_size=8))
def test_markers_are_one_to_n_whatever_the_sentences_hold(texts):
    pairs = [_pair(i, t) for i, t in enumerate(texts)]
    text, citations = quote(pairs)
    assert markers(text) == [c.n for c in citations] == list(range(1, len(texts) + 1))
    for c, (sentence, hit) in zip(citations, pairs, strict=True):
        assert c.sentence == sentence.text  # exact, not the display form
        assert (c.start, c.end, c.doc_id, c.chunk_id) == (
            sentence.start,
            sentence.end,
            sentence.doc_id,
            hit.chunk_id,
        )
        assert f"{claim_text(c.sentence)} [{c.n}]" in text


@given(st.lists(sentence_text, min_size=1, max_size=6))
def test_streamed_prefixes_only_grow(texts):
    pairs = [_pair(i, t) for i, t in enumerate(texts)]
    steps = [quote(pairs[:end])[0] for end in range(1, len(pairs) + 1)]
    assert all(b.startswith(a) for a, b in zip(steps, steps[1:], strict=False))


@given(st.text())
def test_defused_text_has_no_markers(text):
    assert markers(defuse(text)) == []


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=10), st.integers(0, 20))
def test_valid_markers_keep_only_numbers_in_range(numbers, count):
    text = " ".join(f"claim [{n}]" for n in numbers)
    assert valid_markers(text, count) == [n for n in numbers if 1 <= n <= count]


def test_no_quotes_no_text():
    assert quote([]) == ("", ())


def test_an_article_bracket_is_not_a_citation():
    text, citations = quote([_pair(0, "See note [2] below.")])
    assert text == "See note (2) below. [1]"
    assert citations[0].sentence == "See note [2] below."
    assert re.findall(r"\[\d+\]", text) == ["[1]"]
