"""Wire copies: the same agency story in several outlets, found by MinHash.

It owns what makes two articles of one language copies of each other, and how
new articles find the copies already in the index:

  - `signature(text, language)`: a compact, deterministic fingerprint of an
    article's text, to store per article (516 bytes by default);
  - `similarity(a, b)`: the estimated Jaccard similarity of two signatures;
  - `CopyFinder`: an index of stored signatures (datasketch's `MinHashLSH`
    per language for candidates, each candidate verified with the estimated
    Jaccard) answering "which live article is this one a copy of?" as a
    `CopyMatch`;
  - `group_batch`: group keys for a batch of new articles, in order.

What a copy is. The text is normalised (NFC, casefolded, format characters
such as soft hyphens removed) and split into words (runs of letters and
digits: punctuation, quotes and dashes never matter). Its set of SHINGLE-word
shingles is sketched by a MinHash of NUM_PERM permutations (datasketch,
scheme "affine32", fixed SEED, SHA-1 of each shingle: the same bytes in every
process). Two articles of the same language are copies when the estimated
Jaccard similarity of their shingle sets is at least THRESHOLD. A changed
headline, outlet boilerplate, a "Related articles" list, dropped, added or
re-broken paragraphs and a few reworded sentences keep a wire story above it;
the same event in other words, a translation, an article quoting one
paragraph of another and a follow-up reusing two background paragraphs stay
below it. bench/bench_copies.py measured the parameters (bench/out/copies.json):

  - SHINGLE = 5: on tests/data/copies the gap between the lowest copy pair and
    the highest non-copy is the same for 2 to 5 words (0.157) and shrinks
    beyond; unrelated same-language articles share 60x fewer 5-word shingles
    than 3-word ones (mean Jaccard 0.00003 against 0.0019), so fewer false
    LSH candidates among 100k articles. The price: a text with 10% of its
    words scrambled falls below the threshold more often (recall 0.6 there).
  - NUM_PERM = 128 (516 bytes): the estimate's standard error near the
    threshold is about 0.04, putting the hardest non-copy (exact 0.23) and the
    lowest original-copy pair (0.48) 3 errors away from it; 64 gives 2.
  - THRESHOLD = 0.35: the middle of that gap. Precision and recall are 1.0 on
    the 1,081 hand-written pairs (67 copies) for any threshold from 0.2 to
    0.4; on the programmatic edits of 55 articles (715 copy pairs, 587 not)
    there is no false positive from 0.3 up, and recall is 0.96 at 0.35: every
    miss is a text with 10% of its words swapped or replaced.

Short texts. A text of fewer than MIN_WORDS words is too short for the
estimate (one changed word moves it by a tenth), so its signature is a digest
of the normalised words instead: it matches exactly the texts with the same
words, in the same order, whatever the case, punctuation and spacing. A text
without words matches nothing.

Group keys are article ids: a new article joins the group of the article it
matches best (ties: the smaller id), or starts a group under its own id. The
key is stored with the article, so a group keeps its key when its first
article is deleted. Groups chain: C may join A's group by matching B.

Signature bytes: version, kind (0 no words, 1 short, 2 MinHash), shingle size,
0; then nothing, a 16-byte BLAKE2b digest, or NUM_PERM uint32 little-endian.

Example::

    >>> body = " ".join(f"word{i}" for i in range(60))
    >>> sig = signature(body, "en")
    >>> len(sig)
    516
    >>> finder = CopyFinder()
    >>> finder.add("a1", "en", sig)
    >>> finder.match("en", signature(body + " Read more at example.com", "en"))
    CopyMatch(group='a1', article_id='a1', similarity=0.921875)
    >>> finder.match("sv", sig) is None
    True
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SHINGLE = 5  # words per shingle
NUM_PERM = 128  # MinHash permutations: 4 bytes each
THRESHOLD = 0.35  # estimated Jaccard at or above which two articles are copies
MIN_WORDS = 40  # shorter texts are copies only of the same words (a digest)
SEED = 1  # the permutations
# Byte 0 of every signature; signatures of another version are refused. Bump it
# when the bytes for a text change: SEED, MIN_WORDS, the normalisation, hashing.
VERSION = 1
# LSH: bands of LSH_ROWS values, enough that an article exactly at the threshold
# is a candidate with probability LSH_RECALL (11 bands at 0.35). Per 100,000
# signatures that costs 425 MB and about 5 s to build; bands of 2 need 36 bands
# (1.2 GB, 12 s), datasketch's own choice for 0.35 (32 x 4) finds 38% at it.
LSH_ROWS = 1
LSH_RECALL = 0.99

_EMPTY, _SHORT, _MINHASH = 0, 1, 2
_HEADER = struct.Struct("<BBBB")
_DIGEST = 16
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class CopyMatch:
    """The article a new one copies: `group` is the key to store with the new one."""

    group: str
    article_id: str
    similarity: float


def signature(
    text: str, language: str, *, shingle: int = SHINGLE, num_perm: int = NUM_PERM
) -> bytes:
    """The bytes to store for an article: pass its cleaned body (`Article.text`).

    `language` is the article's code (sv, nb, en): all three share the
    normalisation today, and `CopyFinder` compares only within a language.
    `shingle` and `num_perm` are for measurement; stored signatures should use
    the defaults.

    >>> signature("Hello, world!", "en") == signature("HELLO world", "en")
    True
    >>> signature("", "en")
    b'\\x01\\x00\\x00\\x00'
    """
    if not language:
        raise ValueError("language is required")
    if shingle < 1 or num_perm < 2:
        raise ValueError("shingle must be >= 1 and num_perm >= 2")
    words = _words(text)
    if not words:
        return _HEADER.pack(VERSION, _EMPTY, 0, 0)
    if len(words) < MIN_WORDS:
        digest = hashlib.blake2b(" ".join(words).encode(), digest_size=_DIGEST).digest()
        return _HEADER.pack(VERSION, _SHORT, 0, 0) + digest
    values = _minhash(tuple(_shingles(words, shingle)), num_perm)
    return _HEADER.pack(VERSION, _MINHASH, shingle, 0) + values.astype("<u4").tobytes()


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of the texts behind two signatures.

    Short texts score 1.0 with the same words and 0.0 otherwise; a text without
    words scores 0.0 with anything. Raises ValueError for signatures that
    cannot be compared (another version, shingle size or length).

    >>> similarity(signature("a b c", "en"), signature("A, b. C!", "en"))
    1.0
    """
    (kind_a, shingle_a, body_a), (kind_b, shingle_b, body_b) = _parse(a), _parse(b)
    if kind_a == _MINHASH and kind_b == _MINHASH:
        if shingle_a != shingle_b or len(body_a) != len(body_b):
            raise ValueError("signatures made with different shingle sizes or num_perm")
        return float(np.count_nonzero(_values(body_a) == _values(body_b))) / (len(body_a) // 4)
    if kind_a == _SHORT and kind_b == _SHORT:
        return 1.0 if body_a == body_b else 0.0
    return 0.0


class CopyFinder:
    """The live articles' signatures, to find what a new article is a copy of.

    Build it at each ingest from the stored (id, language, signature, group)
    of the live articles, then `match` each new article and `add` it (or let
    `group_batch` do both). Candidates come from a `MinHashLSH` per language
    (`bands`: its (bands, rows), by default from LSH_ROWS and LSH_RECALL);
    each is verified with the estimated Jaccard, as `similarity` computes it.
    """

    def __init__(
        self, threshold: float = THRESHOLD, *, bands: tuple[int, int] | None = None
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self.bands = bands  # LSH (bands, rows); None: `_bands(threshold, num_perm)`
        self._groups: dict[str, str] = {}
        self._values: dict[str, np.ndarray] = {}
        self._lsh: dict[str, object] = {}  # language -> MinHashLSH
        self._short: dict[tuple[str, bytes], list[str]] = {}
        self._layout: tuple[int, int] | None = None  # (shingle, num_perm) of the MinHashes

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, article_id: str, language: str, sig: bytes, group: str | None = None) -> None:
        """Hold an article; `group` is its stored group key (None: its own id)."""
        if article_id in self._groups:
            raise ValueError(f"article {article_id!r} is already in the finder")
        kind, shingle, body = _parse(sig)
        if kind == _MINHASH:
            values = self._check(shingle, body)
            self._index(language).insert(article_id, _lean(values), check_duplication=False)
            self._values[article_id] = values
        elif kind == _SHORT:
            self._short.setdefault((language, body), []).append(article_id)
        self._groups[article_id] = article_id if group is None else group

    def match(self, language: str, sig: bytes, exclude: str | None = None) -> CopyMatch | None:
        """The most similar article of `language` at or above the threshold
        (ties: the smaller id), other than `exclude`; None if there is none."""
        kind, shingle, body = _parse(sig)
        if kind == _SHORT:
            same = [i for i in self._short.get((language, body), ()) if i != exclude]
            return CopyMatch(self._groups[min(same)], min(same), 1.0) if same else None
        if kind != _MINHASH:
            return None
        values = self._check(shingle, body, learn=False)
        if language not in self._lsh:
            return None
        ids = sorted(i for i in self._lsh[language].query(_lean(values)) if i != exclude)
        if not ids:
            return None
        sims = (np.stack([self._values[i] for i in ids]) == values).mean(axis=1)
        best = int(np.argmax(sims))  # the first of the highest: ids are sorted
        if sims[best] < self.threshold:
            return None
        return CopyMatch(self._groups[ids[best]], ids[best], float(sims[best]))

    def _check(self, shingle: int, body: bytes, learn: bool = True) -> np.ndarray:
        layout = (shingle, len(body) // 4)
        if self._layout is None and learn:
            self._layout = layout
        elif self._layout is not None and layout != self._layout:
            raise ValueError(f"signature layout {layout} != {self._layout} of the finder")
        return _values(body)

    def _index(self, language: str):
        if language not in self._lsh:
            from datasketch import MinHashLSH

            num_perm = self._layout[1]
            params = self.bands or _bands(self.threshold, num_perm)
            self._lsh[language] = MinHashLSH(num_perm=num_perm, params=params)
        return self._lsh[language]


def group_batch(
    items: Iterable[tuple[str, str, bytes]], finder: CopyFinder | None = None
) -> dict[str, str]:
    """Group keys for (id, language, signature) items, in order: each item
    joins the group of its best match among `finder`'s articles and the items
    before it, and is added to `finder` (a new CopyFinder() if None).

    >>> text = " ".join(f"w{i}" for i in range(50))
    >>> group_batch([("a", "en", signature(text, "en")), ("b", "en", signature(text, "en"))])
    {'a': 'a', 'b': 'a'}
    """
    finder = CopyFinder() if finder is None else finder
    groups = {}
    for article_id, language, sig in items:
        found = finder.match(language, sig)
        groups[article_id] = found.group if found else article_id
        finder.add(article_id, language, sig, groups[article_id])
    return groups


def _words(text: str) -> list[str]:
    """Casefolded NFC words: runs of letters and digits, format characters removed."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return _WORD.findall(unicodedata.normalize("NFC", text.casefold()))


def _shingles(words: list[str], size: int) -> set[bytes]:
    """The distinct runs of `size` words (the whole text if it is shorter), UTF-8."""
    last = max(len(words) - size + 1, 1)
    return {" ".join(words[i : i + size]).encode() for i in range(last)}


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> np.ndarray:
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=SEED, scheme="affine32").permutations


def _minhash(shingles: tuple[bytes, ...], num_perm: int) -> np.ndarray:
    from datasketch import MinHash
    from datasketch.hashfunc import sha1_hash32

    m = MinHash(
        num_perm=num_perm,
        seed=SEED,
        hashfunc=sha1_hash32,
        permutations=_permutations(num_perm),
        scheme="affine32",
    )
    m.update_batch(shingles)
    return m.hashvalues


def _lean(values: np.ndarray):
    from datasketch import LeanMinHash

    return LeanMinHash(seed=SEED, hashvalues=values, scheme="affine32")


def _parse(sig: bytes) -> tuple[int, int, bytes]:
    """(kind, shingle size, payload) of a signature; ValueError if malformed."""
    if len(sig) < _HEADER.size:
        raise ValueError("not a copy signature: too short")
    version, kind, shingle, _ = _HEADER.unpack_from(sig)
    body = bytes(sig[_HEADER.size :])
    if version != VERSION:
        raise ValueError(f"signature version {version}, expected {VERSION}: sign the text again")
    sizes_ok = {
        _EMPTY: len(body) == 0,
        _SHORT: len(body) == _DIGEST,
        _MINHASH: len(body) >= 8 and len(body) % 4 == 0 and shingle > 0,
    }
    if not sizes_ok.get(kind, False):
        raise ValueError(f"malformed copy signature (kind {kind}, {len(body)} bytes)")
    return kind, shingle, body


def _values(body: bytes) -> np.ndarray:
    return np.frombuffer(body, dtype="<u4").astype(np.uint32)


def _bands(
    threshold: float, num_perm: int, rows: int = LSH_ROWS, recall: float = LSH_RECALL
) -> tuple[int, int]:
    """LSH (bands, rows): enough bands of `rows` values that an article exactly
    at `threshold` is a candidate with probability `recall` (as many as fit).

    >>> _bands(0.35, 128)
    (11, 1)
    """
    need = math.log(1 - recall) / math.log(1 - threshold**rows) if threshold < 1 else 2
    return max(2, min(math.ceil(need), num_perm // rows)), rows
