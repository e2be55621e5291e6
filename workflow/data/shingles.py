"""Example text and word shingles, the units `dedup`, `split` and `contamination` compare.

Shingles are word 3-grams of the lower-cased text, hashed to 32 bits (words with crc32) so
results are the same in every process and run. System prompts are left out of the text unless
asked for: a prompt shared by a whole file would make every pair of short examples look alike.
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


def example_text(value: Any, fmt: DatasetFormat | None, *, system: bool = False) -> str:
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


def words_of(text: str) -> list[str]:
    """The lower-cased words `WordHasher` hashes, as strings (to show a shingle run to a user)."""
    return _WORD.findall(text.lower())


def shingles_in_order(words: np.ndarray, n: int = SHINGLE_WORDS) -> np.ndarray:
    """The 32-bit hash of the shingle starting at each word position (repeats kept)."""
    h = ngram_hashes(words, n)
    return ((h ^ (h >> np.uint64(32))) & _MASK32).astype(np.uint32)


def shingles(words: np.ndarray, n: int = SHINGLE_WORDS) -> np.ndarray:
    """Distinct 32-bit shingle hashes, sorted."""
    return np.unique(shingles_in_order(words, n))


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two arrays of distinct shingle hashes."""
    if a.size == 0 and b.size == 0:
        return 1.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (a.size + b.size - common)
