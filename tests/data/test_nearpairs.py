from __future__ import annotations

import numpy as np
import pytest

from workflow.data.duplicates import row_groups
from workflow.data.nearpairs import ShingleSets, boilerplate_run, near_pairs
from workflow.data.shingles import WordHasher, exact_jaccard, shingles_in_order, words_of


def _planted(seed: int) -> list[np.ndarray]:
    """400 random sets of 20-300 values over a small alphabet (so unrelated sets overlap), every
    eighth one a copy of an earlier set with a few values changed, added or dropped."""
    rng = np.random.default_rng(seed)
    sets: list[np.ndarray] = []
    for i in range(400):
        if i >= 8 and i % 8 == 0:
            copy = sets[int(rng.integers(0, i))].copy()
            changed = rng.choice(copy.size, size=int(rng.integers(0, max(1, copy.size // 6))), replace=False)
            copy[changed] = rng.integers(0, 5000, size=changed.size, dtype=np.uint32)
            extra = rng.integers(0, 5000, size=int(rng.integers(0, 6)), dtype=np.uint32)
            sets.append(np.unique(np.concatenate([copy[: copy.size - int(rng.integers(0, 4))], extra])))
        else:
            sets.append(np.unique(rng.integers(0, 5000, size=int(rng.integers(20, 300)), dtype=np.uint32)))
    return sets


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95])
def test_the_join_finds_exactly_the_pairs_a_brute_force_finds_at_or_above_the_threshold(threshold: float) -> None:
    sets = _planted(1)
    index = ShingleSets()
    for s in sets:
        index.add(s)
    found = near_pairs(index, threshold, boilerplate_share=None)
    brute = {(i, j) for j in range(len(sets)) for i in range(j) if exact_jaccard(sets[i], sets[j]) >= threshold}
    assert len(brute) >= 5
    assert {(a, b) for a, b, _ in found.pairs} == brute
    assert all(s == pytest.approx(exact_jaccard(sets[a], sets[b])) for a, b, s in found.pairs)
    if threshold >= 0.8:
        assert found.compared < len(sets) * (len(sets) - 1) // 2 / 10, "the prefix filter compares few pairs"


def test_shingles_shared_by_most_sets_are_left_out_so_sets_compare_on_what_differs() -> None:
    template = np.arange(100, dtype=np.uint32)
    sets = [np.unique(np.concatenate([template, np.array([1000 + 2 * i, 1001 + 2 * i], dtype=np.uint32)]))
            for i in range(30)]
    index = ShingleSets()
    for s in sets:
        index.add(s)
    assert near_pairs(index, 0.8, boilerplate_share=None).pairs, "whole sets: every pair looks alike"
    found = near_pairs(index, 0.8)
    assert found.pairs == []
    assert found.boilerplate.tolist() == template.tolist()
    assert found.boilerplate_examples == 30 and found.first_with_boilerplate == 0


def test_sets_made_only_of_boilerplate_keep_their_whole_set() -> None:
    common = np.arange(50, dtype=np.uint32)
    sets = [np.unique(np.concatenate([common, np.array([900 + i], dtype=np.uint32)])) for i in range(25)]
    sets += [common.copy(), common[:49].copy()]  # all boilerplate: compared on their full sets
    index = ShingleSets()
    for s in sets:
        index.add(s)
    pairs = {(a, b) for a, b, _ in near_pairs(index, 0.9).pairs}
    assert pairs == {(25, 26)}


def test_a_boilerplate_run_is_quoted_from_the_words_it_covers() -> None:
    text = "Classify the following support ticket into one of five queues please: printer jammed"
    words = words_of(text)
    positions = shingles_in_order(WordHasher()(text))
    boiler = positions[:8]  # the shingles of the first ten words
    assert boilerplate_run(words, positions, boiler) == " ".join(words[:10])
    assert boilerplate_run(words, positions, boiler, limit=3) == " ".join(words[:3]) + " ..."


def test_rows_in_memory_group_exact_copies_and_near_duplicates_transitively() -> None:
    base = [f"w{i}" for i in range(300)]
    a, b, c = " ".join(base[:200]), " ".join(base[16:216]), " ".join(base[32:232])  # a~b, b~c, not a~c
    rows = [{"text": a}, {"text": "something else entirely here"}, {"text": b}, {"text": c}, {"text": a.upper()}]
    assert row_groups(rows, None) == [0, 1, 0, 0, 0]


def test_connecting_only_gives_the_groups_of_all_pairs_with_fewer_comparisons() -> None:
    from workflow.data.nearpairs import Groups

    rng = np.random.default_rng(3)
    base = rng.integers(0, 10**6, size=200, dtype=np.uint32)
    sets = [np.unique(np.concatenate([base[k:], rng.integers(0, 10**6, size=k, dtype=np.uint32)]))
            for k in rng.integers(0, 12, size=60).tolist()]  # one dense cluster of 60
    sets += _planted(2)[:100]
    index = ShingleSets()
    for s in sets:
        index.add(s)

    def roots(pairs: list[tuple[int, int, float]]) -> list[int]:
        groups = Groups(len(sets))
        for a, b, _ in pairs:
            groups.union(a, b)
        return groups.roots()

    every = near_pairs(index, 0.8, boilerplate_share=None)
    linked = near_pairs(index, 0.8, boilerplate_share=None, connect_only=True)
    assert roots(linked.pairs) == roots(every.pairs)
    assert roots(every.pairs)[:60] == [0] * 60
    assert linked.compared < every.compared / 5 and len(linked.pairs) < len(every.pairs)
