from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.data.conftest import chat
from tests.data.corpus import corpus
from workflow.data.dedup import dedup_file
from workflow.data.minhash import NearDuplicates, exact_jaccard, signature
from workflow.errors import ConfigError, DataError


def test_exact_and_near_duplicates_are_removed_and_reported_by_cluster(write_jsonl: Any, tmp_path: Path) -> None:
    rows, copies = corpus(100)
    source = write_jsonl(rows)
    out = tmp_path / "clean.jsonl"
    result = dedup_file(source, out, threshold=0.8)
    assert result["removed"] == {"exact": 10, "near": 10, "total": 20}
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert kept == rows[:100]
    report = json.loads((tmp_path / "clean.dedup-report.json").read_text(encoding="utf-8"))
    removed = {m["line"]: c["kept_line"] for c in report["clusters"] for m in c["removed"]}
    assert removed == {copy + 1: original + 1 for copy, original in copies.items()}
    near = [m for c in report["clusters"] for m in c["removed"] if m["kind"] == "near"]
    assert all(0.8 <= m["similarity"] < 1 for m in near)


def test_normalised_text_counts_as_an_exact_duplicate(write_jsonl: Any, tmp_path: Path) -> None:
    source = write_jsonl([chat(answer="Hello   World"), chat(answer="hello world", id=7)])
    result = dedup_file(source, tmp_path / "out.jsonl")
    assert result["removed"]["exact"] == 1


def test_a_high_threshold_keeps_near_duplicates(write_jsonl: Any, tmp_path: Path) -> None:
    rows, _ = corpus(50)
    result = dedup_file(write_jsonl(rows), tmp_path / "out.jsonl", threshold=1.0)
    assert result["removed"]["exact"] == 5 and result["removed"]["near"] <= 1


def test_bad_threshold_and_overwriting_the_input_are_refused(write_jsonl: Any, tmp_path: Path) -> None:
    source = write_jsonl([chat()])
    with pytest.raises(ConfigError, match="threshold"):
        dedup_file(source, tmp_path / "o.jsonl", threshold=1.5)
    with pytest.raises(DataError, match="input file"):
        dedup_file(source, source)
    assert not (tmp_path / "o.jsonl").exists()


def test_worker_processes_find_the_same_duplicates(write_jsonl: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from workflow.data import signing

    rows, _ = corpus(300)
    source = write_jsonl(rows)
    one = dedup_file(source, tmp_path / "one.jsonl", jobs=1)
    monkeypatch.setattr(signing, "CHUNK_BYTES", 8192)
    two = dedup_file(source, tmp_path / "two.jsonl", jobs=2)
    assert one["clusters"] == two["clusters"] and one["removed"]["total"] == 60
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()


def _sets(seed: int) -> tuple[list[np.ndarray], set[tuple[int, int]]]:
    """300 random shingle sets of 200, 30 of them near copies (10-15 of 200 changed) of earlier ones."""
    rng = np.random.default_rng(seed)
    sets: list[np.ndarray] = []
    planted: set[tuple[int, int]] = set()
    for i in range(300):
        if i >= 10 and i % 10 == 0:
            original = int(rng.integers(0, i))
            copy = sets[original].copy()
            changed = rng.choice(200, size=int(rng.integers(10, 16)), replace=False)
            copy[changed] = rng.integers(0, 2**32, size=changed.size, dtype=np.uint32)
            sets.append(np.unique(copy))
            planted.add((original, i))
        else:
            sets.append(np.unique(rng.integers(0, 2**32, size=200, dtype=np.uint32)))
    return sets, planted


def test_the_index_finds_exactly_the_pairs_a_brute_force_finds_above_the_threshold() -> None:
    sets, planted = _sets(0)
    index = NearDuplicates(0.8, shingles_of=lambda key: sets[key])
    for s in sets:
        index.add(signature(s))
    found = {(other, key) for key, matches in index.matches(index_all=True) for other, _ in matches}
    brute = {(i, j) for j in range(len(sets)) for i in range(j) if exact_jaccard(sets[i], sets[j]) >= 0.8}
    assert len(brute & planted) >= 25  # the planted copies (and copies of copies)
    assert found == brute


def test_dedup_compares_with_kept_examples_and_split_with_all() -> None:
    base = np.arange(1000, dtype=np.uint32)
    a, b, c = base[:200], base[16:216], base[32:232]  # a~b and b~c near 0.85; a~c only 0.72
    sets = [a, b, c]
    assert exact_jaccard(a, b) >= 0.8 > exact_jaccard(a, c)

    def run(index_all: bool) -> dict[int, list[int]]:
        index = NearDuplicates(0.8, shingles_of=lambda key: sets[key])
        for s in sets:
            index.add(signature(s))
        return {key: [other for other, _ in found] for key, found in index.matches(index_all=index_all)}

    assert run(index_all=False) == {1: [0]}, "c is kept: its only match, b, was removed"
    assert run(index_all=True) == {1: [0], 2: [1]}, "split groups the whole chain"
