"""Every pair of examples whose shingle sets have a Jaccard similarity at or above a threshold,
found exactly (no pair above the threshold is ever missed), and the templated boilerplate shared
by most of a file.

The search is a prefix-filter similarity join (AllPairs / PPJoin, Bayardo et al. 2007; Xiao et
al. 2008): shingles are ordered rarest first; two sets with Jaccard >= t must share a shingle
among the first |x| - ceil(t|x|) + 1 of the larger set and the first |y| - ceil(2t/(1+t)|y|) + 1
of the smaller one, so only pairs sharing such a shingle are compared, and every one of them is
decided on its exact Jaccard similarity. Rare-first ordering keeps the shingles every example
shares (a template, a fixed instruction) out of those prefixes, so templated files do not turn
into all-pairs comparisons.

Boilerplate: shingles found in many of the distinct examples of a file (at least `share` of them
and at least 20: templated instructions, fixed headers, one per source in a merged file) are left
out of the comparison, so examples are compared on what differs between them; an example made only
of boilerplate keeps its whole set. The price: twenty or more edited copies of one example look
like a template, and the report quotes them as its boilerplate.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

__all__ = ["BOILERPLATE_SHARE", "MIN_EXAMPLES_FOR_BOILERPLATE", "Groups", "NearPairs", "ShingleSets", "boilerplate_run",
           "near_pairs"]

# A shingle in at least 1% of the distinct examples, and in at least 20 of them, is template, not
# content: a file merged from many sources has one template per source, none in most of the file.
BOILERPLATE_SHARE = 0.01
MIN_EXAMPLES_FOR_BOILERPLATE = 20
# Prefix lengths round towards longer prefixes, so float error can only add comparisons, never miss one.
_EPS = 1e-9
_CHUNK = 1 << 22


class ShingleSets:
    """Every example's distinct shingle hashes in one uint32 array: 4 bytes a distinct word 3-gram
    (an example of 200 words keeps about 0.8 KB)."""

    def __init__(self) -> None:
        self._values = array("I")
        self._sizes = array("q")

    def add(self, values: np.ndarray) -> int:
        """Add one example's distinct shingles; returns its key (0, 1, ...)."""
        self._values.frombytes(np.ascontiguousarray(values, dtype=np.uint32).tobytes())
        self._sizes.append(int(values.size))
        return len(self._sizes) - 1

    def __len__(self) -> int:
        return len(self._sizes)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(all values, size of each set), views without copies."""
        return (np.frombuffer(self._values, dtype=np.uint32) if self._values else np.empty(0, np.uint32),
                np.frombuffer(self._sizes, dtype=np.int64) if self._sizes else np.empty(0, np.int64))


class Groups:
    """Union-find over example indices; the root of a group is its earliest example."""

    def __init__(self, n: int = 0) -> None:
        self.parent = array("i", range(n))

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def roots(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


@dataclass(frozen=True, kw_only=True)
class NearPairs:
    """`pairs`: (earlier key, later key, exact Jaccard) for every pair at or above the threshold (with
    `connect_only`: enough of them to connect every group, see `near_pairs`).
    `boilerplate`: the shingle hashes left out as boilerplate; `boilerplate_examples`: how many
    sets had some; `first_with_boilerplate`: the key of the first such set (None when none)."""

    pairs: list[tuple[int, int, float]]
    boilerplate: np.ndarray
    boilerplate_examples: int
    first_with_boilerplate: int | None
    compared: int  # candidate pairs whose exact similarity was computed
    threshold: float
    ranks: np.ndarray  # the compared sets, rank-sorted, one after another
    start: np.ndarray  # where each set starts in `ranks` (n + 1 entries)

    def similarity(self, a: int, b: int) -> float:
        """Exact Jaccard similarity of sets `a` and `b` as compared (boilerplate left out)."""
        x, y = self.ranks[self.start[a]:self.start[a + 1]], self.ranks[self.start[b]:self.start[b + 1]]
        if x.size == 0 and y.size == 0:
            return 1.0
        common = np.intersect1d(x, y, assume_unique=True).size
        return common / (x.size + y.size - common)


def near_pairs(sets: ShingleSets, threshold: float, *, boilerplate_share: float | None = BOILERPLATE_SHARE,
               connect_only: bool = False) -> NearPairs:
    """All pairs of sets with Jaccard >= `threshold` (in (0, 1]), exactly.

    `boilerplate_share` None compares whole sets; otherwise shingles in at least that share of
    the sets (and in at least MIN_EXAMPLES_FOR_BOILERPLATE of them) are left out first (see the
    module docstring). With `connect_only` a candidate already in the same group (union-find over
    the pairs found so far) is not compared: the groups are exactly those of all pairs, at a
    fraction of the comparisons in large clusters, but not every pair is listed.
    """
    values, sizes = sets.arrays()
    n = len(sizes)
    # 32-bit indices and one sort of packed (example, rank) keys: a few bytes per shingle at the peak.
    ids = np.repeat(np.arange(n, dtype=np.int32), sizes)
    uniq = np.unique(values)
    inverse = np.empty(values.size, dtype=np.int32)
    for at in range(0, values.size, _CHUNK):
        inverse[at:at + _CHUNK] = np.searchsorted(uniq, values[at:at + _CHUNK])
    df = np.bincount(inverse, minlength=uniq.size)
    boiler = np.zeros(uniq.size, dtype=bool)
    if boilerplate_share is not None:
        boiler = df >= max(float(MIN_EXAMPLES_FOR_BOILERPLATE), boilerplate_share * n)
    keep = ~boiler[inverse]
    with_boiler = np.unique(ids[~keep])
    keep |= (np.bincount(ids[keep], minlength=n) == 0)[ids]  # a set of boilerplate only keeps it all
    ids, inverse = ids[keep], inverse[keep]
    del keep
    # Rarest first (ties by hash order): the shingles that tell examples apart lead each set.
    df_k = np.bincount(inverse, minlength=uniq.size)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.lexsort((np.arange(uniq.size), df_k))] = np.arange(uniq.size)
    key = (ids.astype(np.int64) << 32) | rank[inverse]
    del inverse
    key.sort()
    ranks = (key & 0xFFFFFFFF).astype(np.int32)
    del key
    size = np.bincount(ids, minlength=n)
    del ids
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(size, out=start[1:])
    pairs, compared = _join(ranks, start, size, threshold, Groups(n) if connect_only else None)
    return NearPairs(pairs=pairs, boilerplate=uniq[boiler], boilerplate_examples=int(with_boiler.size),
                     first_with_boilerplate=int(with_boiler[0]) if with_boiler.size else None, compared=compared,
                     threshold=threshold, ranks=ranks, start=start)


def _join(ranks: np.ndarray, start: np.ndarray, size: np.ndarray, t: float,
          groups: Groups | None) -> tuple[list[tuple[int, int, float]], int]:
    """The prefix-filter join over rank-sorted sets, smallest sets first, with PPJoin's positional
    filter: a candidate whose overlap so far, plus what could still match after the shared
    shingle's positions, cannot reach ceil(t/(1+t)(|x|+|y|)) is dropped without a comparison."""
    index: dict[int, list[tuple[int, int]]] = {}  # rank -> [(set, position of the rank in it)]
    sizes = size.tolist()
    starts = start.tolist()
    mid = 2 * t / (1 + t)
    overlap_share = t / (1 + t)
    pairs: list[tuple[int, int, float]] = []
    compared = 0
    for x in np.lexsort((np.arange(size.size), size)).tolist():
        sx = sizes[x]
        if sx == 0:
            continue
        mine = ranks[starts[x]:starts[x] + sx]
        probe = mine[: sx - math.ceil(t * sx - _EPS) + 1].tolist()
        smallest = t * sx - _EPS
        seen: dict[int, int] = {}  # candidate -> shingles shared so far; -1 once it cannot reach the bound
        root = groups.find(x) if groups is not None else -1
        for i, token in enumerate(probe):
            posting = index.get(token)
            if posting is None:
                continue
            for y, j in posting:
                sy = sizes[y]
                if sy < smallest:
                    continue
                shared = seen.get(y, 0)
                if shared < 0:
                    continue
                need = math.ceil(overlap_share * (sx + sy) - _EPS)
                seen[y] = shared + 1 if shared + 1 + min(sx - i - 1, sy - j - 1) >= need else -1
        for y in sorted(y for y, shared in seen.items() if shared > 0):
            if groups is not None:
                if groups.find(y) == root:
                    continue
            sy = sizes[y]
            common = np.intersect1d(mine, ranks[starts[y]:starts[y] + sy], assume_unique=True).size
            similarity = common / (sx + sy - common)
            compared += 1
            if similarity >= t - _EPS:
                pairs.append((y, x, similarity) if y < x else (x, y, similarity))
                if groups is not None:
                    groups.union(x, y)
                    root = groups.find(x)
        for j, token in enumerate(mine[: sx - math.ceil(mid * sx - _EPS) + 1].tolist()):
            index.setdefault(token, []).append((x, j))
    pairs.sort()
    return pairs, compared


def boilerplate_run(words: list[str], positions: np.ndarray, boilerplate: np.ndarray, *, limit: int = 40) -> str:
    """The longest run of `words` covered by boilerplate shingles (`positions`: the shingle hash
    at each word position, as `shingles_in_order` gives), cut to `limit` words."""
    if not words or positions.size == 0 or boilerplate.size == 0:
        return ""
    covered = np.zeros(len(words), dtype=bool)
    width = len(words) - positions.size + 1
    for k in np.flatnonzero(np.isin(positions, boilerplate)).tolist():
        covered[k:k + width] = True
    best, best_start, run, run_start = 0, 0, 0, 0
    for i, flag in enumerate(covered.tolist()):
        run, run_start = (run + 1, run_start) if flag else (0, i + 1)
        if run > best:
            best, best_start = run, run_start
    text = " ".join(words[best_start:best_start + min(best, limit)])
    return text + (" ..." if best > limit else "")
