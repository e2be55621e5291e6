from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.data.corpus import corpus
from workflow.data.split import split_file
from workflow.errors import ConfigError


def _read(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_same_seed_gives_the_same_split_and_another_seed_a_different_one(write_jsonl: Any, tmp_path: Path) -> None:
    rows, _ = corpus(200)
    source = write_jsonl(rows)
    split_file(source, tmp_path / "a", seed=7)
    split_file(source, tmp_path / "b", seed=7)
    split_file(source, tmp_path / "c", seed=8)
    for name in ("train", "val", "test"):
        assert _read(tmp_path / "a" / f"{name}.jsonl") == _read(tmp_path / "b" / f"{name}.jsonl")
    assert _read(tmp_path / "a" / "test.jsonl") != _read(tmp_path / "c" / "test.jsonl")


def test_duplicates_never_straddle_splits_and_shares_are_close(write_jsonl: Any, tmp_path: Path) -> None:
    rows, copies = corpus(300)
    source = write_jsonl(rows)
    report = split_file(source, tmp_path / "out", train=80, val=10, test=10, seed=1)
    where = {}
    for name in ("train", "val", "test"):
        for line in _read(tmp_path / "out" / f"{name}.jsonl"):
            where.setdefault(line, set()).add(name)
    assert sum(len(_read(tmp_path / "out" / f"{n}.jsonl")) for n in ("train", "val", "test")) == len(rows)
    for copy, original in copies.items():
        dumped = [json.dumps(rows[copy]), json.dumps(rows[original])]
        assert len(where[dumped[0]] | where[dumped[1]]) == 1
    assert report["duplicate_groups"] == 30 and report["examples_in_duplicate_groups"] == 90
    assert abs(report["counts"]["train"] - 288) <= 6
    assert abs(report["counts"]["val"] - 36) <= 6


def test_stratified_split_keeps_class_shares_in_each_split(write_jsonl: Any, tmp_path: Path) -> None:
    rows, _ = corpus(400, label=True)
    report = split_file(write_jsonl(rows), tmp_path / "out", seed=3, stratify="label")
    for name in ("train", "val", "test"):
        labels = Counter(json.loads(line)["label"] for line in _read(tmp_path / "out" / f"{name}.jsonl"))
        share = labels["b"] / sum(labels.values())
        assert 0.15 <= share <= 0.35, (name, labels)
    assert set(report["strata"]) == {"a", "b"}


def test_zero_share_writes_no_file_and_shares_must_add_up(write_jsonl: Any, tmp_path: Path) -> None:
    rows, _ = corpus(30)
    source = write_jsonl(rows)
    report = split_file(source, tmp_path / "out", train=90, val=0, test=10)
    assert not (tmp_path / "out" / "val.jsonl").exists()
    assert report["counts"]["val"] == 0
    assert json.loads((tmp_path / "out" / "split-report.json").read_text(encoding="utf-8"))["seed"] == 0
    with pytest.raises(ConfigError, match="add up to 95"):
        split_file(source, tmp_path / "bad", train=80, val=10, test=5)
    assert not (tmp_path / "bad").exists()


def test_a_pair_just_above_the_threshold_never_straddles_whatever_the_seed(write_jsonl: Any, tmp_path: Path) -> None:
    import random

    from workflow.data.shingles import WordHasher, exact_jaccard, shingles

    rng = random.Random(5)
    vocab = [f"v{i}" for i in range(20_000)]

    def text() -> str:
        return " ".join(rng.sample(vocab, 250))

    original = text().split()
    copy = list(original)
    for k in range(9):  # nine spaced-out words changed: 27 of 248 shingles differ
        copy[10 + 25 * k] = f"changed{k}"
    hasher = WordHasher()
    similarity = exact_jaccard(shingles(hasher(" ".join(original))), shingles(hasher(" ".join(copy))))
    assert 0.8 <= similarity < 0.81
    rows = [{"text": text()} for _ in range(60)]
    rows[7], rows[51] = {"text": " ".join(original)}, {"text": " ".join(copy)}
    source = write_jsonl(rows)
    for seed in range(12):
        report = split_file(source, tmp_path / str(seed), train=50, val=0, test=50, seed=seed, fmt="text")
        assert report["near_pairs"] == 1
        sides = {name for name in ("train", "test") if rows[7]["text"] in (tmp_path / str(seed) / f"{name}.jsonl")
                 .read_text(encoding="utf-8") or rows[51]["text"] in (tmp_path / str(seed) / f"{name}.jsonl")
                 .read_text(encoding="utf-8")}
        assert len(sides) == 1, seed


def test_distinct_tickets_with_one_system_prompt_are_spread_over_the_splits(write_jsonl: Any, tmp_path: Path) -> None:
    from tests.data.conftest import chat
    from tests.data.test_dedup import SYSTEM_51

    rows = [chat(user=f"ticket number {i} about {w}", answer="other", system=SYSTEM_51)
            for i, w in enumerate("printer refund password parcel screen invoice login charger address order".split())]
    report = split_file(write_jsonl(rows), tmp_path / "out", train=60, val=20, test=20, seed=0)
    assert report["duplicate_groups"] == 0
    assert report["counts"] == {"train": 6, "val": 2, "test": 2}
