"""Sentence-aware chunking with character offsets and content-hash ids.

Pure: an `Article` in, `Chunk`s out. Each chunk is a run of whole sentences
of at most `max_chars` characters (a longer single sentence stands alone),
and `chunk.text == article.text[chunk.start:chunk.end]`.
"""

from __future__ import annotations

import hashlib

from rag.records import Article, Chunk, Sentence
from rag.text.sentences import split_sentences


def chunk_id(doc_id: str, start: int, text: str) -> str:
    """A stable id derived from content: the same chunk gets the same id on
    every rebuild, and a changed chunk a new one."""
    digest = hashlib.sha256(f"{doc_id}\x00{start}\x00{text}".encode()).hexdigest()
    return digest[:20]


def chunk_article(article: Article, max_chars: int = 600, overlap: int = 0) -> list[Chunk]:
    """Pack the article's sentences into chunks.

    `overlap` sentences at the end of one chunk are repeated at the start of
    the next, so a fact stated across a boundary is whole in some chunk.

    >>> from rag.records import Article
    >>> a = Article("d", "T", "One. Two. Three.", "en", None, "d.txt")
    >>> [c.text for c in chunk_article(a, max_chars=10)]
    ['One. Two.', 'Three.']
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    sentences = split_sentences(article.text, max_chars=max(max_chars, 1))
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j = i + 1
        while j < len(sentences) and sentences[j][1] - sentences[i][0] <= max_chars:
            j += 1
        start, end = sentences[i][0], sentences[j - 1][1]
        text = article.text[start:end]
        chunks.append(Chunk(chunk_id(article.id, start, text), article.id, start, end, text))
        if j >= len(sentences):
            break
        # Repeat the last `overlap` sentences only if they still leave room for
        # a new one: a chunk must always add a sentence its predecessor lacks.
        following = max(j - overlap, i + 1)
        if sentences[j][1] - sentences[following][0] > max_chars:
            following = j
        i = following
    return chunks


def article_sentences(article: Article) -> list[Sentence]:
    """The article's sentences, with offsets and content-hash ids.

    >>> from rag.records import Article
    >>> a = Article("d", "T", "One. Two.", "en", None, "d.txt")
    >>> [(s.start, s.end, s.text) for s in article_sentences(a)]
    [(0, 4, 'One.'), (5, 9, 'Two.')]
    """
    return [
        Sentence(
            chunk_id(article.id, start, article.text[start:end]),
            article.id,
            start,
            end,
            article.text[start:end],
        )
        for start, end in split_sentences(article.text)
    ]


def passage_text(title: str, chunk_text: str) -> str:
    """What the embedder and the lexical index see for a chunk: the article
    title gives every chunk its topic, even one that names nobody."""
    return f"{title}\n{chunk_text}" if title else chunk_text
