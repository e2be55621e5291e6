from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.data.conftest import chat
from workflow.data.analyze import analyze_file
from workflow.data.plots import write_plots
from workflow.data.review import Thresholds, review
from workflow.data.summary import summarize_dataset


def _dataset(write_jsonl: Any) -> Path:
    rows: list[Any] = []
    for i in range(40):
        label = "refund" if i < 30 else "ship"
        rows.append(chat(user=f"question {i}", answer="a fine answer here " * (i % 5 + 1), label=label))
    rows += [rows[0], rows[1], rows[2]]  # 3 exact duplicates
    rows.append(chat(answer=" ", label="ship"))  # empty response
    rows.append(chat(answer="ok", user="reach me at bob@example.org or 4111 1111 1111 1111", label="ship"))
    rows.append('{"broken": ')
    return write_jsonl(rows)


def test_analysis_counts_duplicates_empty_and_short_responses_labels_and_pii(write_jsonl: Any) -> None:
    analysis, _ = analyze_file(_dataset(write_jsonl), label="label")
    assert analysis["format"] == "messages"
    assert (analysis["examples"], analysis["valid_examples"]) == (46, 45)
    assert analysis["problems"]["by_code"] == {"empty_assistant_content": 1, "invalid_json": 1}
    assert analysis["duplicates"]["exact"] == 3
    assert analysis["responses"]["empty"] == 1
    assert analysis["responses"]["short"] == 2  # " " and "ok" are under 5 approximate tokens
    assert analysis["labels"]["counts"] == {"refund": 33, "ship": 12}
    assert analysis["labels"]["ratio"] == round(33 / 12, 2)
    assert analysis["pii"]["counts"]["email"] == 1 and analysis["pii"]["counts"]["card"] == 1
    assert analysis["pii"]["examples_with_pii"] == 1
    assert {s["masked"] for s in analysis["pii"]["samples"]} == {"b***@e***.org", "************1111"}
    assert analysis["turns"]["max"] == 3 and analysis["tokens"]["total"]["count"] == 45


def test_review_fails_each_rule_past_its_threshold(write_jsonl: Any) -> None:
    analysis, _ = analyze_file(_dataset(write_jsonl), label="label")
    verdict = review(analysis)
    failed = {r["name"] for r in verdict["rules"] if r["passed"] is False}
    assert failed == {"errors", "duplicates", "empty_responses"}
    assert not verdict["passed"]
    lenient = review(analysis, Thresholds(max_errors=1, max_duplicate_rate=0.5, max_empty_rate=0.5,
                                          max_class_ratio=2.0))
    assert {r["name"] for r in lenient["rules"] if r["passed"] is False} == {"class_balance"}


def test_review_passes_a_clean_file_and_skips_class_balance_without_labels(write_jsonl: Any) -> None:
    path = write_jsonl([chat(user=f"q{i}", answer=f"answer number {i} is here") for i in range(20)])
    verdict = review(analyze_file(path)[0])
    assert verdict["passed"]
    balance = next(r for r in verdict["rules"] if r["name"] == "class_balance")
    assert balance["passed"] is None and "not labelled" in balance["value"]


def test_summarize_dataset_gives_markdown_with_the_review_table_and_no_pii_values(write_jsonl: Any) -> None:
    summary = summarize_dataset(_dataset(write_jsonl))
    assert not summary.passed
    assert "**Review: FAILED**" in summary.markdown
    assert "| exact duplicate rate | 6.7% | < 5% | FAIL |" in summary.markdown
    assert "| JSON and format errors | 1 | <= 0 | FAIL |" in summary.markdown
    assert "bob@example.org" not in summary.markdown and "4111" not in summary.markdown
    assert summary.analysis["valid_examples"] == 45
    assert summary.review["passed"] is False


def test_plots_are_png_histograms(write_jsonl: Any, tmp_path: Path) -> None:
    _, result = analyze_file(_dataset(write_jsonl))
    written = write_plots(result, tmp_path / "plots")
    assert sorted(p.name for p in written) == ["response_tokens.png", "tokens.png", "turns.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_heavy_tailed_lengths_get_a_log_axis_and_even_lengths_a_linear_one() -> None:
    import numpy as np

    from workflow.data.plots import _title, heavy_tailed

    assert heavy_tailed(np.array([10] * 900 + [30] * 90 + [5000] * 10))
    assert not heavy_tailed(np.array(list(range(50, 150)) * 10))
    assert not heavy_tailed(np.array([0, 0, 1000]))  # zero counts cannot go on a log axis
    title = _title("Tokens per example", "a-very-long-dataset-file-name-from-an-export-2026-12-03.jsonl", 1234)
    assert title.split("\n") == ["Tokens per example", "a-very-long-dataset…ort-2026-12-03.jsonl, n=1,234"]


def test_plots_of_heavy_tailed_data_are_written(write_jsonl: Any, tmp_path: Path) -> None:
    rows = [chat(answer="ok " * (3 if i < 45 else 900)) for i in range(50)]
    _, result = analyze_file(write_jsonl(rows))
    written = write_plots(result, tmp_path / "plots")
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)
