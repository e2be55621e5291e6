from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.data.conftest import chat
from workflow.data.formats import DatasetFormat
from workflow.data.scan import ScanOptions, ranges, scan_file


def _mixed_rows(n: int) -> list[Any]:
    rows: list[Any] = []
    for i in range(n):
        if i % 97 == 5:
            rows.append('{"messages": [')
        elif i % 89 == 3:
            rows.append("")
        elif i % 83 == 1:
            rows.append(chat(system=None, answer=f"mail me at user{i}@example.com", label="b"))
        else:
            rows.append(chat(user=f"question {i % 50}", answer="answer " * (i % 7 + 1), label="a"))
    return rows


def test_byte_ranges_end_at_line_ends_and_cover_the_file(write_jsonl: Any) -> None:
    path = write_jsonl(_mixed_rows(300))
    data = path.read_bytes()
    cuts = list(ranges(path, len(data), 1000))
    assert cuts[0][0] == 0 and cuts[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:], strict=False))
    assert all(data[end - 1:end] == b"\n" for _, end in cuts)


def test_worker_processes_give_the_same_result_as_one_process(write_jsonl: Any) -> None:
    path: Path = write_jsonl(_mixed_rows(2000))
    options = ScanOptions(fmt=DatasetFormat.MESSAGES, label="label")
    one = scan_file(path, options, jobs=1, chunk_bytes=8192)
    two = scan_file(path, options, jobs=2, chunk_bytes=8192)
    assert one.problems == two.problems
    assert len(one.problems) > 20
    assert (one.lines, one.examples, one.errors, one.warnings) == (two.lines, two.examples, two.errors, two.warnings)
    assert one.turns == two.turns and one.prompt_tokens == two.prompt_tokens
    assert sorted(one.hashes) == sorted(two.hashes)
    assert one.labels == two.labels and one.pii_counts == two.pii_counts and one.pii_examples == two.pii_examples
    assert one.pii_counts["email"] == sum(1 for i in range(2000) if i % 83 == 1 and i % 97 != 5 and i % 89 != 3)


def test_every_problem_is_counted_even_past_the_kept_limit(write_jsonl: Any) -> None:
    path = write_jsonl(["nope"] * 50)
    seen = []
    result = scan_file(path, ScanOptions(fmt=DatasetFormat.MESSAGES), keep_problems=10, on_problem=seen.append)
    assert len(result.problems) == 10
    assert result.problems_dropped == 40
    assert result.errors == 50 and len(seen) == 50


def test_a_process_with_other_threads_uses_spawned_workers_with_the_same_result(write_jsonl: Any) -> None:
    import threading

    path: Path = write_jsonl(_mixed_rows(600))
    options = ScanOptions(fmt=DatasetFormat.MESSAGES)
    forked = scan_file(path, options, jobs=2, chunk_bytes=8192)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        spawned = scan_file(path, options, jobs=2, chunk_bytes=8192)
    finally:
        stop.set()
        thread.join()
    assert spawned.options.portable_hash and not forked.options.portable_hash
    assert spawned.problems == forked.problems and spawned.turns == forked.turns
    assert len(set(spawned.hashes)) == len(set(forked.hashes))
