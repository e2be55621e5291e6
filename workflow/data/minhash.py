"""Example text, word shingles and MinHash LSH (datasketch) for near-duplicate detection.

Shingles are word 3-grams of the lower-cased text, hashed to 32 bits with crc32 so results are
the same in every process and run. One MinHash (128 permutations, 512 bytes) plus its LSH band
keys is what `dedup` and `split` keep per example.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator
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


class NearDuplicates:
    """A MinHash LSH index over examples; keys are example numbers."""

    def __init__(self, threshold: float = 0.8, num_perm: int = NUM_PERM) -> None:
        from datasketch import MinHash, MinHashLSH

        self.threshold = threshold
        self._template = MinHash(num_perm=num_perm, seed=1, hashfunc=_identity)
        # Candidates are verified against the threshold below, so the bands are tuned for recall
        # (false positives only cost a comparison); datasketch cannot band for a threshold of 1.
        self._lsh = MinHashLSH(threshold=min(threshold, 0.95), num_perm=num_perm, weights=(0.2, 0.8))
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

    def similar(self, minhash: Any) -> list[tuple[int, float]]:
        """Indexed keys whose estimated Jaccard similarity is at least the threshold, best first."""
        found = []
        for key in self._lsh.query(minhash):
            similarity = float(minhash.jaccard(self._signatures[key]))
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
