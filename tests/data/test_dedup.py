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




SYSTEM_51 = ("You are the triage assistant of the Acme help desk. Read the customer's ticket and answer with the "
             "single queue it belongs to: billing, shipping, accounts, hardware or other. Never explain the choice, "
             "never greet the customer, never add any punctuation, and answer other if you are unsure about the "
             "ticket.")


def test_distinct_short_tickets_sharing_a_long_system_prompt_are_all_kept(write_jsonl: Any, tmp_path: Path) -> None:
    assert len(SYSTEM_51.split()) == 51
    tickets = ["printer jammed", "refund missing", "password expired", "parcel lost", "screen cracked",
               "invoice wrong", "login blocked", "charger broken", "address changed", "order late"]
    source = write_jsonl([chat(user=t, answer="other", system=SYSTEM_51) for t in tickets])
    result = dedup_file(source, tmp_path / "out.jsonl")
    assert result["kept"] == 10 and result["system_prompts"] == "ignored"
    with_system = dedup_file(source, tmp_path / "with.jsonl", include_system=True)
    assert with_system["kept"] < 5, "compared with the prompt, every pair is above 0.8"


def test_a_template_shared_by_the_whole_file_is_reported_and_left_out(write_jsonl: Any, tmp_path: Path) -> None:
    rows = [json.loads(json.dumps(row)) for row in corpus(40)[0]]  # the exact copies are shared dicts
    template = "Classify the following message by these rules " + " ".join(f"rule{i}" for i in range(200))
    for row in rows:
        row["messages"][1]["content"] = f"{template}: {row['messages'][1]['content']}"
        row["messages"][2]["content"] = row["messages"][2]["content"][:40]
    source = write_jsonl(rows)
    result = dedup_file(source, tmp_path / "out.jsonl")
    assert result["boilerplate"]["sample"] == " ".join(template.lower().split()[:40]) + " ..."
    assert result["removed"]["near"] == 0
    assert result["boilerplate"]["examples"] == result["examples"] - result["removed"]["exact"]
    compared = dedup_file(source, tmp_path / "all.jsonl", include_boilerplate=True)
    assert compared["boilerplate"] is None and compared["removed"]["near"] > result["removed"]["near"]


def test_a_near_copy_of_a_removed_example_is_kept_when_it_is_not_near_a_kept_one(write_jsonl: Any,
                                                                                tmp_path: Path) -> None:
    words = [f"w{i}" for i in range(300)]
    a, b, c = (" ".join(words[k:k + 200]) for k in (0, 16, 32))  # a~b and b~c near 0.85; a~c 0.72
    source = write_jsonl([{"text": a}, {"text": b}, {"text": c}])
    result = dedup_file(source, tmp_path / "out.jsonl", fmt="text")
    assert [m["line"] for cl in result["clusters"] for m in cl["removed"]] == [2]
    assert result["kept"] == 2
