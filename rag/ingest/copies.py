"""Wire copies: the same agency story in several outlets, found by MinHash.

It owns what makes two articles of one language copies of each other, and how
new articles find the copies already in the index:

  - `signature(text, language)`: a compact, deterministic fingerprint of an
    article's text, to store per article (516 bytes by default);
  - `similarity(a, b)`: the estimated Jaccard similarity of two signatures;
  - `CopyFinder`: an index of stored signatures (an LSH of sorted numpy
    arrays per language for candidates, each candidate verified with the
    estimated Jaccard) answering "which live article is this one a copy of?" as a
    `CopyMatch`;
  - `group_batch`: group keys for a batch of new articles, in order.

What a copy is. The text is normalised (NFC, casefolded, format characters
such as soft hyphens removed) and split into words (runs of letters and
digits: punctuation, quotes and dashes never matter). Its set of SHINGLE-word
shingles is sketched by a MinHash of NUM_PERM permutations (datasketch's
scheme "affine32", computed here in numpy; fixed SEED, SHA-1 of each shingle:
the same bytes in every process). Two articles of the same language are copies when the estimated
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
# is a candidate with probability LSH_RECALL (11 bands at 0.35). Bands of 2 need
# 36 bands; datasketch's own choice for 0.35 (32 x 4) finds 38% at it.
LSH_ROWS = 1
LSH_RECALL = 0.99

PENDING = 512  # signatures compared whole before they are sorted into the bands
EXTEND_BATCH = 4096  # signatures parsed at a time by `CopyFinder.extend`
_FOLD = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it is one-to-one on uint64

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
    of the live articles (`extend`), then `match` each new article and `add`
    it (or let `group_batch` do both). Candidates come from an LSH per
    language (`bands`: its (bands, rows), by default from LSH_ROWS and
    LSH_RECALL): an article is a candidate when all the values of one band
    equal the new one's. Each is verified with the estimated Jaccard, as
    `similarity` computes it.

    The LSH is numpy arrays, not a hash table per band: each language's
    signatures are one uint32 matrix, each band a sorted array of band keys
    searched by bisection, and the articles added since the last sort are
    compared one band key per article at a time until there are enough to
    sort in. 100,000 signatures take about 100 MB and 0.4 s to load
    (bench/bench_copies.py).
    """

    def __init__(
        self, threshold: float = THRESHOLD, *, bands: tuple[int, int] | None = None
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self.bands = bands  # LSH (bands, rows); None: `_bands(threshold, num_perm)`
        self._groups: dict[str, str] = {}
        self._banks: dict[str, _Bank] = {}  # language -> its MinHash signatures
        self._short: dict[tuple[str, bytes], list[str]] = {}
        self._layout: tuple[int, int] | None = None  # (shingle, num_perm) of the MinHashes

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, article_id: str, language: str, sig: bytes, group: str | None = None) -> None:
        """Hold an article; `group` is its stored group key (None: its own id)."""
        self.extend([(article_id, language, sig, group)])

    def extend(
        self, items: Iterable[tuple[str, str, bytes, str | None]], *, skip_invalid: bool = False
    ) -> list[str]:
        """Hold many (id, language, signature, group) at once, as `add` does one;
        the ids held, in order. An id already held, or a signature that cannot
        be compared (another version or layout), raises ValueError (the items
        before it are held), or with `skip_invalid` is left out."""
        held: list[str] = []
        batch: list[tuple[str, str, int, bytes, str]] = []
        seen: set[str] = set()  # the batch's ids
        touched: set[str] = set()
        usual = None  # (header, length) of the MinHash signatures seen: no parsing
        for article_id, language, sig, group in items:
            try:
                if article_id in self._groups or article_id in seen:
                    raise ValueError(f"article {article_id!r} is already in the finder")
                if usual is not None and len(sig) == usual[1] and sig[:4] == usual[0]:
                    kind, body = _MINHASH, sig
                else:
                    kind, shingle, body = _parse(sig)
                    if kind == _MINHASH:
                        self._check(shingle, body)
                        body = bytes(sig)  # whole: the matrix drops the header column
                        usual = (body[:4], len(body))
            except ValueError:
                if skip_invalid:
                    continue
                held += self._hold(batch, touched)  # the items before it are held
                raise
            seen.add(article_id)
            batch.append((article_id, language, kind, body, article_id if group is None else group))
            if len(batch) == EXTEND_BATCH:  # a batch at a time: few temporary copies
                held += self._hold(batch, touched)
                batch, seen = [], set()
        held += self._hold(batch, touched)
        for language in touched:
            self._banks[language].settle()
        return held

    def _hold(self, batch: list[tuple[str, str, int, bytes, str]], touched: set[str]) -> list[str]:
        minhashes: dict[str, tuple[list[str], list[bytes]]] = {}
        for article_id, language, kind, body, key in batch:
            if kind == _MINHASH:
                ids, bodies = minhashes.setdefault(language, ([], []))
                ids.append(article_id)
                bodies.append(body)
            elif kind == _SHORT:
                self._short.setdefault((language, body), []).append(article_id)
            self._groups[article_id] = key
        for language, (ids, sigs) in minhashes.items():
            matrix = np.frombuffer(b"".join(sigs), dtype="<u4").reshape(len(sigs), -1)
            self._bank(language).add(ids, matrix[:, 1:])  # column 0: the 4-byte header
            touched.add(language)
        return [article_id for article_id, *_ in batch]

    def match(self, language: str, sig: bytes, exclude: str | None = None) -> CopyMatch | None:
        """The most similar article of `language` at or above the threshold
        (ties: the smaller id), other than `exclude`; None if there is none."""
        kind, shingle, body = _parse(sig)
        if kind == _SHORT:
            same = [i for i in self._short.get((language, body), ()) if i != exclude]
            return CopyMatch(self._groups[min(same)], min(same), 1.0) if same else None
        if kind != _MINHASH or language not in self._banks:
            return None
        values = self._check(shingle, body, learn=False)
        bank = self._banks[language]
        rows = [r for r in bank.candidates(values) if bank.ids[r] != exclude]
        if not rows:
            return None
        rows.sort(key=bank.ids.__getitem__)
        sims = (bank.values[rows] == values).mean(axis=1)
        best = int(np.argmax(sims))  # the first of the highest: rows are in id order
        if sims[best] < self.threshold:
            return None
        found = bank.ids[rows[best]]
        return CopyMatch(self._groups[found], found, float(sims[best]))

    def candidates(self, language: str, sig: bytes) -> list[str]:
        """The ids the LSH proposes for a MinHash signature, before the
        Jaccard check (sorted; for measuring the LSH)."""
        kind, shingle, body = _parse(sig)
        if kind != _MINHASH or language not in self._banks:
            return []
        bank = self._banks[language]
        return sorted(bank.ids[r] for r in bank.candidates(self._check(shingle, body, False)))

    def _check(self, shingle: int, body: bytes, learn: bool = True) -> np.ndarray:
        layout = (shingle, len(body) // 4)
        if self._layout is None and learn:
            self._layout = layout
        elif self._layout is not None and layout != self._layout:
            raise ValueError(f"signature layout {layout} != {self._layout} of the finder")
        return _values(body)

    def _bank(self, language: str) -> _Bank:
        if language not in self._banks:
            num_perm = self._layout[1]
            bands, rows = self.bands or _bands(self.threshold, num_perm)
            if bands * rows > num_perm:
                raise ValueError(f"{bands} bands of {rows} need more than {num_perm} values")
            self._banks[language] = _Bank(num_perm, bands, rows)
        return self._banks[language]


class _Bank:
    """One language's MinHash signatures and their LSH band keys.

    Rows [0, sorted) are in `_keys`/`_order`, one sorted array per band; the
    rows after them (at most PENDING) are compared with a query whole. Arrays
    grow by doubling, so adding one at a time stays cheap.
    """

    def __init__(self, num_perm: int, bands: int, rows: int) -> None:
        self.bands, self.rows = bands, rows
        self.ids: list[str] = []
        self._values = np.empty((0, num_perm), dtype=np.uint32)
        self._band_keys = np.empty((0, bands), dtype=np.uint64)  # per row
        self._sorted = 0
        self._keys = np.empty((bands, 0), dtype=np.uint64)  # per band, sorted
        self._order = np.empty((bands, 0), dtype=np.int64)  # the rows of `_keys`

    @property
    def values(self) -> np.ndarray:
        return self._values[: len(self.ids)]

    def add(self, ids: list[str], values: np.ndarray) -> None:
        n, m = len(self.ids), len(ids)
        if n + m > len(self._values):
            size = max(n + m, 2 * len(self._values), 64)
            self._values = _grown(self._values, size)
            self._band_keys = _grown(self._band_keys, size)
        self._values[n : n + m] = values
        self._band_keys[n : n + m] = _band_keys(values, self.bands, self.rows)
        self.ids.extend(ids)

    def settle(self) -> None:
        """Sort the rows added since the last sort in, once they are many."""
        if len(self.ids) - self._sorted > PENDING:
            self._sort()

    def candidates(self, values: np.ndarray) -> list[int]:
        """Rows sharing a band with `values`, each once, in row order."""
        keys = _band_keys(values[None, :], self.bands, self.rows)[0]
        found: set[int] = set()
        for band in range(self.bands):
            line = self._keys[band]
            lo, hi = (
                np.searchsorted(line, keys[band], "left"),
                np.searchsorted(line, keys[band], "right"),
            )
            found.update(self._order[band, lo:hi].tolist())
        pending = self._band_keys[self._sorted : len(self.ids)]
        hits = np.flatnonzero((pending == keys).any(axis=1)) + self._sorted
        found.update(hits.tolist())
        return sorted(found)

    def _sort(self) -> None:
        """Sort the pending rows in: each band's sorted keys and the pending
        ones, sorted, make two runs, which a stable sort merges in linear time."""
        n = len(self.ids)
        fresh = self._band_keys[self._sorted : n].T
        order = np.argsort(fresh, axis=1, kind="stable") + self._sorted
        keys = np.concatenate([self._keys, np.take_along_axis(self._band_keys[:n].T, order, 1)], 1)
        rows = np.concatenate([self._order, order], axis=1)
        merged = np.argsort(keys, axis=1, kind="stable")
        self._keys = np.take_along_axis(keys, merged, axis=1)
        self._order = np.take_along_axis(rows, merged, axis=1)
        self._sorted = n


def _band_keys(values: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 keys: band b's `rows` values folded into one. Equal
    values give equal keys; unequal ones may collide (2**-64), which only adds
    a candidate for the Jaccard check to turn away."""
    part = values[:, : bands * rows].reshape(len(values), bands, rows).astype(np.uint64)
    keys = np.zeros((len(values), bands), dtype=np.uint64)
    for r in range(rows):
        keys = (keys ^ part[:, :, r]) * _FOLD  # an odd multiplier: one row is exact
    return keys


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    out = np.empty((size, *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out


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
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations h -> a*h + b (mod 2**32, `a` odd) of SEED:
    datasketch's "affine32" scheme, drawn as it draws them."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _minhash(shingles: tuple[bytes, ...], num_perm: int) -> np.ndarray:
    """The MinHash of the shingles, as datasketch's MinHash(seed=SEED,
    scheme="affine32", hashfunc=sha1_hash32) computes it (tests/test_copies.py
    compares the two): the first 4 bytes of each shingle's SHA-1, little
    endian, mixed by MurmurHash3's 32-bit finalizer, then the least of each
    permutation. Done here in numpy: stored signatures must not change with a
    library's release, and importing datasketch took 0.6 s (scipy) per ingest."""
    a, b = _permutations(num_perm)
    values = np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    for start in range(0, len(shingles), 4096):  # bounded temporaries
        block = shingles[start : start + 4096]
        h = np.frombuffer(b"".join(hashlib.sha1(s).digest()[:4] for s in block), dtype="<u4")
        h = h.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
        values = np.minimum(values, (h[:, None] * a + b).min(axis=0))
    return values


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
