from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import chat
from tests.data.corpus import corpus
from workflow.data.dedup import dedup_file
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
