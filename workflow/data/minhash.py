"""Example text, word shingles and MinHash LSH (datasketch) for near-duplicate detection.

Shingles are word 3-grams of the lower-cased text, hashed to 32 bits with crc32 so results are
the same in every process and run. One MinHash (128 permutations, 512 bytes) plus its LSH band
keys is what `dedup` and `split` keep per example; candidate pairs are confirmed on the exact
Jaccard similarity by re-reading the earlier example's line.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterator
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
        values = list(map(cache.get, words))
        if None in values:
            for i, word in enumerate(words):
                if values[i] is None:
                    values[i] = cache[word] = zlib.crc32(word.encode("utf-8"))
        return np.array(values, dtype=np.uint64)


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
    for rows in range(num_perm // 2, 0, -1):  # datasketch needs at least two bands
        count = num_perm // rows
        if 1 - (1 - threshold**rows) ** count >= recall:
            return count, rows
    return num_perm, 1


class NearDuplicates:
    """A MinHash LSH index over examples; keys are example indices.

    With `shingles_of` (key -> that example's shingles, usually by re-reading its line), every
    candidate within MARGIN of the threshold is decided on the exact Jaccard similarity, so
    estimates never decide a borderline pair; without it the MinHash estimate decides.
    """

    def __init__(self, threshold: float = 0.8, num_perm: int = NUM_PERM,
                 shingles_of: Callable[[int], np.ndarray] | None = None) -> None:
        from datasketch import MinHash, MinHashLSH

        self.threshold = threshold
        self._shingles_of = shingles_of
        self._template = MinHash(num_perm=num_perm, seed=1, hashfunc=_identity)
        self._lsh = MinHashLSH(num_perm=num_perm, params=bands(threshold, num_perm))
        self._signatures: dict[int, Any] = {}

    def signature(self, shingle_hashes: np.ndarray) -> Any:
        """The (lean, immutable) MinHash of a set of 32-bit shingle hashes."""
        from datasketch import LeanMinHash

        # One working MinHash is cleared and refilled: building a MinHash re-derives its
        # permutations, which cost more than hashing a typical example.
        work = self._template
        work.clear()
        if shingle_hashes.size:
            work.update_batch(shingle_hashes.tolist())
        return LeanMinHash(work)

    def similar(self, minhash: Any, shingle_hashes: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Indexed keys at least `threshold` similar, best first, with their similarity (exact when
        `shingle_hashes` is given and the index can re-read shingles, else estimated)."""
        found = []
        for key in self._lsh.query(minhash):
            similarity = float(minhash.jaccard(self._signatures[key]))
            if similarity < self.threshold - MARGIN:
                continue
            if self._shingles_of is not None and shingle_hashes is not None:
                similarity = exact_jaccard(shingle_hashes, self._shingles_of(key))
            if similarity >= self.threshold:
                found.append((key, similarity))
        found.sort(key=lambda pair: (-pair[1], pair[0]))
        return found

    def add(self, key: int, minhash: Any) -> None:
        self._lsh.insert(key, minhash, check_duplication=False)
        self._signatures[key] = minhash

    def __len__(self) -> int:
        return len(self._signatures)


def _identity(value: Any) -> Any:
    return value
