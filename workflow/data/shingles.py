"""Example text, word shingles and MinHash LSH for near-duplicate detection.

Shingles are word 3-grams of the lower-cased text, hashed to 32 bits with crc32 so results are
the same in every process and run. One MinHash (128 permutations, 512 bytes, datasketch's
"affine32" scheme) plus a bucket number and two links per LSH band (about 0.8 KB in all) is what
`dedup` and `split` keep per example; candidate pairs are confirmed on the exact Jaccard
similarity by re-reading both examples' lines.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from array import array
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from workflow.data.canonical import ConversionError, to_canonical
from workflow.data.formats import DatasetFormat

_WORD = re.compile(r"\w+")
SHINGLE_WORDS = 3
NUM_PERM = 128
_P = np.uint64(1_000_003)
_MASK32 = np.uint64(0xFFFFFFFF)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from _strings(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def example_text(value: Any, fmt: DatasetFormat | None, *, system: bool = True) -> str:
    """The words of one example: message contents for a known format (system prompts only when
    `system`), else every string value in it."""
    if fmt is not None:
        try:
            canonical = to_canonical(value, fmt)
        except (ConversionError, RecursionError):
            canonical = None
        if canonical is not None:
            if "text" in canonical:
                return str(canonical["text"])
            messages = canonical.get("messages") or (canonical["prompt"] + canonical["chosen"]
                                                     + canonical["rejected"])
            return "\n".join(str(m.get("content") or "") for m in messages
                             if system or m.get("role") != "system")
    try:
        return "\n".join(_strings(value))
    except RecursionError:
        return ""


def exact_key(text: str) -> bytes:
    """Hash of the normalised text (lower case, whitespace collapsed): equal keys, exact duplicates."""
    return hashlib.blake2b(" ".join(text.lower().split()).encode("utf-8"), digest_size=12).digest()


class WordHasher:
    """crc32 of words, cached (vocabularies are small next to corpora)."""

    def __init__(self, limit: int = 2_000_000) -> None:
        self._cache: dict[str, int] = {}
        self._limit = limit

    def __call__(self, text: str) -> np.ndarray:
        cache = self._cache
        if len(cache) > self._limit:
            cache.clear()
        words = _WORD.findall(text.lower())
        # New words are found with one set difference, so the per-word work stays in C.
        for word in set(words).difference(cache):
            cache[word] = zlib.crc32(word.encode("utf-8"))
        return np.fromiter(map(cache.__getitem__, words), dtype=np.uint64, count=len(words))


def ngram_hashes(words: np.ndarray, n: int) -> np.ndarray:
    """64-bit hashes of every run of `n` words (one hash of all words when there are fewer)."""
    if words.size == 0:
        return np.empty(0, dtype=np.uint64)
    if words.size < n:
        n = int(words.size)
    count = words.size - n + 1
    with np.errstate(over="ignore"):
        h = np.zeros(count, dtype=np.uint64)
        for k in range(n):
            h = h * _P + words[k:k + count] + np.uint64(k + 1)
    return h


def shingles(words: np.ndarray, n: int = SHINGLE_WORDS) -> np.ndarray:
    """Distinct 32-bit shingle hashes (datasketch's default MinHash scheme takes 32-bit input)."""
    h = ngram_hashes(words, n)
    return np.unique((h ^ (h >> np.uint64(32))) & _MASK32).astype(np.uint32)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two arrays of distinct shingle hashes."""
    if a.size == 0 and b.size == 0:
        return 1.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (a.size + b.size - common)


# Candidates whose MinHash estimate is this far below the threshold are still checked exactly:
# about 3 standard deviations of a 128-permutation estimate near 0.8.
MARGIN = 0.1


def bands(threshold: float, num_perm: int, recall: float = 0.995) -> tuple[int, int]:
    """LSH (bands, rows) that make a pair exactly at `threshold` a candidate with probability
    `recall`, using as many rows per band as that allows (fewer dissimilar candidates).
    Candidates are verified afterwards, so banding for recall only costs comparisons."""
    for rows in range(num_perm // 2, 0, -1):  # at least two bands
        count = num_perm // rows
        if 1 - (1 - threshold**rows) ** count >= recall:
            return count, rows
    return num_perm, 1


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(1)
    # Odd multipliers keep each permutation a bijection modulo 2**32.
    a = rng.randint(0, 2**31, size=num_perm, dtype=np.int64).astype(np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.randint(0, 2**31, size=num_perm, dtype=np.int64).astype(np.uint32)
    return a, b


def signature(shingle_hashes: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash values (uint32) of a set of 32-bit shingle hashes, in datasketch's "affine32"
    scheme: murmur3 finalizer, then `a * h + b` modulo 2**32 per permutation, minimum over the
    set. One numpy expression instead of `MinHash.update_batch`'s per-value Python call."""
    a, b = _permutations(num_perm)
    if shingle_hashes.size == 0:
        return np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    h = shingle_hashes.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return np.asarray((h[:, None] * a + b).min(axis=0), dtype=np.uint32)


class NearDuplicates:
    """MinHash LSH over a file's signatures, stored compactly: every signature in one uint32
    array (512 bytes an example), and per band one bucket number per example (4 bytes) plus two
    links (8 bytes). An in-memory index of per-band dicts of sets (datasketch's MinHashLSH)
    measured about 8 KB an example, which a file of millions of examples cannot afford.

    Signatures are collected first (`add`, keys 0, 1, ...). `matches` then walks them in order:
    each example is compared with the earlier *indexed* examples that share a band with it; with
    `shingles_of` (key -> that example's shingles, usually by re-reading its line) every candidate
    within MARGIN of the threshold is decided on the exact Jaccard similarity, so estimates never
    decide a borderline pair; without it the MinHash estimate decides.
    """

    def __init__(self, threshold: float = 0.8, num_perm: int = NUM_PERM,
                 shingles_of: Callable[[int], np.ndarray] | None = None) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = bands(threshold, num_perm)
        self._shingles_of = shingles_of
        self._values = array("I")

    def add(self, values: np.ndarray) -> int:
        """Collect one example's signature (`signature` values); returns its key."""
        self._values.frombytes(np.ascontiguousarray(values, dtype=np.uint32).tobytes())
        return len(self) - 1

    def __len__(self) -> int:
        return len(self._values) // self.num_perm

    def _buckets(self, sigs: np.ndarray) -> np.ndarray:
        """(bands, examples) bucket numbers: equal when a band's values hash alike; -1 where no
        other example shares the bucket (such a band can never make a candidate)."""
        out = np.full((self.bands, sigs.shape[0]), -1, dtype=np.int32)
        with np.errstate(over="ignore"):
            for band in range(self.bands):
                h = np.zeros(sigs.shape[0], dtype=np.uint64)
                for column in range(band * self.rows, (band + 1) * self.rows):
                    h = h * _P + sigs[:, column]
                _, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
                shared = counts[inverse] > 1
                out[band, shared] = inverse[shared]
        return out

    def matches(self, *, index_all: bool) -> Iterator[tuple[int, list[tuple[int, float]]]]:
        """(key, [(earlier key, similarity), ...] best first) for each example that has matches,
        in key order. With `index_all` every example is indexed (split groups whole clusters);
        otherwise only examples without a match are (dedup compares with the kept ones)."""
        n = len(self)
        if n == 0:
            return
        sigs = np.frombuffer(self._values, dtype=np.uint32).reshape(n, self.num_perm)
        buckets = self._buckets(sigs)
        last = np.full((self.bands, n), -1, dtype=np.int32)  # newest indexed member of a bucket
        before = np.full((self.bands, n), -1, dtype=np.int32)  # the member indexed before it
        for key in np.flatnonzero((buckets >= 0).any(axis=0)).tolist():
            mine = [(band, int(buckets[band, key])) for band in np.flatnonzero(buckets[:, key] >= 0).tolist()]
            candidates: set[int] = set()
            for band, bucket in mine:
                other = int(last[band, bucket])
                while other != -1:
                    candidates.add(other)
                    other = int(before[band, other])
            found = self._confirm(key, sorted(candidates), sigs)
            if found:
                yield key, found
            if index_all or not found:
                for band, bucket in mine:
                    before[band, key] = last[band, bucket]
                    last[band, bucket] = key

    def _confirm(self, key: int, candidates: list[int], sigs: np.ndarray) -> list[tuple[int, float]]:
        found = []
        mine: np.ndarray | None = None
        for other in candidates:
            similarity = float(np.count_nonzero(sigs[key] == sigs[other])) / self.num_perm
            if similarity < self.threshold - MARGIN:
                continue
            if self._shingles_of is not None:
                if mine is None:
                    mine = self._shingles_of(key)
                similarity = exact_jaccard(mine, self._shingles_of(other))
            if similarity >= self.threshold:
                found.append((other, similarity))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found
