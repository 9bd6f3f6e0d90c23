"""Chunking: offsets, content ids, sentence boundaries, size and overlap."""

from __future__ import annotations

import dataclasses
import re
from itertools import pairwise

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rag.records import Article
from rag.text.chunking import chunk_article, chunk_id, passage_text
from rag.text.sentences import split_sentences

_WORDS = ["putin", "minsk", "protest", "police", "strike", "election", "kremlin", "belarus"]

sentence = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=8).map(
    lambda words: " ".join(words).capitalize() + "."
)
separator = st.sampled_from([" ", "  ", "\n", "\n\n"])


@st.composite
def articles(draw: st.DrawFn) -> tuple[Article, list[str]]:
    parts = draw(st.lists(sentence, min_size=1, max_size=25))
    text = parts[0]
    for part in parts[1:]:
        text += draw(separator) + part
    return Article("doc", "Title", text, "en", None, "doc.txt"), parts


def make_article(text: str, doc_id: str = "doc") -> Article:
    return Article(doc_id, "Title", text, "en", None, f"{doc_id}.txt")


def sentence_spans(article: Article, max_chars: int) -> list[tuple[int, int]]:
    return split_sentences(article.text, max_chars=max_chars)


def inside(chunk, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [s for s in spans if chunk.start <= s[0] and s[1] <= chunk.end]


max_chars_st = st.integers(min_value=1, max_value=300)
overlap_st = st.integers(min_value=0, max_value=3)


@given(articles(), max_chars_st, overlap_st)
def test_chunk_text_is_article_slice(generated, max_chars: int, overlap: int) -> None:
    article, _ = generated
    for chunk in chunk_article(article, max_chars, overlap):
        assert chunk.text == article.text[chunk.start : chunk.end]
        assert chunk.doc_id == article.id


@given(articles(), max_chars_st, overlap_st)
def test_ids_stable_across_calls(generated, max_chars: int, overlap: int) -> None:
    article, _ = generated
    first = chunk_article(article, max_chars, overlap)
    second = chunk_article(article, max_chars, overlap)
    assert [c.id for c in first] == [c.id for c in second]


@given(articles(), max_chars_st)
def test_ids_are_unique_within_article(generated, max_chars: int) -> None:
    article, _ = generated
    ids = [c.id for c in chunk_article(article, max_chars, 1)]
    assert len(ids) == len(set(ids))


@given(articles(), max_chars_st, overlap_st)
def test_chunks_start_and_end_at_sentence_boundaries(generated, max_chars, overlap) -> None:
    article, _ = generated
    spans = sentence_spans(article, max_chars)
    starts = {a for a, _ in spans}
    ends = {b for _, b in spans}
    for chunk in chunk_article(article, max_chars, overlap):
        assert chunk.start in starts
        assert chunk.end in ends


@given(articles(), max_chars_st, overlap_st)
def test_chunk_exceeds_max_chars_only_as_single_sentence(generated, max_chars, overlap) -> None:
    article, _ = generated
    spans = sentence_spans(article, max_chars)
    for chunk in chunk_article(article, max_chars, overlap):
        assert len(chunk.text) <= max_chars or len(inside(chunk, spans)) == 1


@given(articles(), max_chars_st, overlap_st)
def test_every_sentence_is_in_some_chunk(generated, max_chars: int, overlap: int) -> None:
    article, _ = generated
    chunks = chunk_article(article, max_chars, overlap)
    for start, end in sentence_spans(article, max_chars):
        assert any(c.start <= start and end <= c.end for c in chunks)


@given(articles())
def test_generated_sentences_are_whole_in_chunks(generated) -> None:
    article, parts = generated
    texts = [c.text for c in chunk_article(article, 300, 0)]
    for part in parts:
        assert any(part in text for text in texts)


@given(articles(), st.integers(min_value=10, max_value=300))
def test_without_overlap_chunks_are_disjoint_and_ordered(generated, max_chars: int) -> None:
    article, _ = generated
    chunks = chunk_article(article, max_chars, 0)
    for a, b in pairwise(chunks):
        assert a.end < b.start


@given(articles(), max_chars_st)
def test_overlap_one_shares_boundary_sentence_when_it_fits(generated, max_chars: int) -> None:
    article, _ = generated
    spans = sentence_spans(article, max_chars)
    chunks = chunk_article(article, max_chars, 1)
    for a, b in pairwise(chunks):
        own = inside(a, spans)
        following = [s for s in spans if s[0] >= a.end]
        assume(following)
        last, nxt = own[-1], following[0]
        if len(own) >= 2 and nxt[1] - last[0] <= max_chars:
            assert b.start == last[0], "next chunk should repeat the boundary sentence"
            shared = [s for s in spans if s in own and s in inside(b, spans)]
            assert shared == [last]


@given(articles(), max_chars_st, st.integers(min_value=1, max_value=3))
def test_overlap_chunk_always_adds_a_new_sentence(generated, max_chars, overlap) -> None:
    article, _ = generated
    chunks = chunk_article(article, max_chars, overlap)
    for a, b in pairwise(chunks):
        assert b.end > a.end, f"chunk {b.text!r} adds nothing to {a.text!r}"


def test_overlap_does_not_emit_chunk_contained_in_previous() -> None:
    # "Aaaa. Bbbb." fills the first chunk; "Bbbb." plus the long third sentence
    # does not fit, so the next chunk should start at the third sentence, not
    # repeat "Bbbb." alone.
    article = make_article("Aaaa. Bbbb. Cccccccccc.")
    assert [c.text for c in chunk_article(article, 12, 1)] == ["Aaaa. Bbbb.", "Cccccccccc."]


def test_docstring_example() -> None:
    article = make_article("One. Two. Three.")
    assert [c.text for c in chunk_article(article, max_chars=10)] == ["One. Two.", "Three."]


def test_overlap_one_repeats_last_sentence() -> None:
    article = make_article("Aa. Bb. Cc. Dd.")
    texts = [c.text for c in chunk_article(article, max_chars=7, overlap=1)]
    assert texts == ["Aa. Bb.", "Bb. Cc.", "Cc. Dd."]


def test_empty_article_has_no_chunks() -> None:
    assert chunk_article(make_article(""), 100) == []


@pytest.mark.parametrize("max_chars", [0, -5])
def test_non_positive_max_chars_raises(max_chars: int) -> None:
    with pytest.raises(ValueError, match="max_chars"):
        chunk_article(make_article("One. Two."), max_chars)


def test_changed_text_changes_only_affected_chunk_ids() -> None:
    before = make_article("One. Two.\nThree. Four.")
    after = dataclasses.replace(before, text="One. Two.\nThree. Five.")
    old = chunk_article(before, 10)
    new = chunk_article(after, 10)
    assert [c.text for c in old] == ["One. Two.", "Three.", "Four."]
    assert [c.id for c in old[:2]] == [c.id for c in new[:2]]
    assert old[2].id != new[2].id


def test_chunk_id_depends_on_doc_start_and_text() -> None:
    base = chunk_id("doc", 0, "One.")
    assert re.fullmatch(r"[0-9a-f]{20}", base)
    assert chunk_id("doc", 0, "One.") == base
    assert len({base, chunk_id("other", 0, "One."), chunk_id("doc", 5, "One.")}) == 3
    assert chunk_id("doc", 0, "Two.") != base


def test_same_text_in_two_articles_gets_two_ids() -> None:
    a = chunk_article(make_article("One. Two.", "a"), 100)
    b = chunk_article(make_article("One. Two.", "b"), 100)
    assert a[0].id != b[0].id


def test_passage_text_prefixes_title() -> None:
    assert passage_text("Talks in Sochi", "They met.") == "Talks in Sochi\nThey met."


def test_passage_text_without_title_is_chunk_text() -> None:
    assert passage_text("", "They met.") == "They met."
