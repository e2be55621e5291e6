from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.data.conftest import chat
from workflow.data.sample import quotas, sample_file


def test_sample_is_seeded_in_file_order_and_the_requested_size(write_jsonl: Any, tmp_path: Path) -> None:
    rows = [chat(user=f"q{i}") for i in range(500)]
    source = write_jsonl(rows)
    first = sample_file(source, tmp_path / "a.jsonl", n=25, seed=4)
    again = sample_file(source, tmp_path / "b.jsonl", n=25, seed=4)
    other = sample_file(source, tmp_path / "c.jsonl", n=25, seed=5)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first["lines"] == sorted(first["lines"]) and len(first["lines"]) == 25
    assert first["lines"] != other["lines"]
    assert [json.loads(x) for x in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()] == [
        rows[n - 1] for n in first["lines"]]
    assert again["population"] == 500


def test_stratified_sample_follows_class_shares(write_jsonl: Any, tmp_path: Path) -> None:
    rows = [chat(user=f"q{i}", meta={"label": "rare" if i % 10 == 0 else "common"}) for i in range(1000)]
    result = sample_file(write_jsonl(rows), tmp_path / "s.jsonl", n=50, seed=1, stratify="meta.label")
    labels = Counter(json.loads(x)["meta"]["label"] for x in (tmp_path / "s.jsonl").read_text().splitlines())
    assert labels == {"common": 45, "rare": 5}
    assert result["strata"]["rare"] == {"population": 100, "sampled": 5}


def test_asking_for_more_than_there_is_returns_everything_valid(write_jsonl: Any, tmp_path: Path) -> None:
    result = sample_file(write_jsonl([chat(), "{bad", chat(user="x")]), tmp_path / "s.jsonl", n=10)
    assert result["sampled"] == 2 and result["invalid_json_lines"] == 1


def test_quotas_use_largest_remainders() -> None:
    assert quotas({"a": 5, "b": 3, "c": 2}, 5) == {"a": 3, "b": 1, "c": 1}
    assert sum(quotas({"a": 1, "b": 1, "c": 1}, 2).values()) == 2
