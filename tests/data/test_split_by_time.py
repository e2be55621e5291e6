from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_cairn
from tests.data.conftest import chat
from workflow.data.timestamps import timestamp_of

_RNG = random.Random(11)
_VOCAB = [f"w{i}" for i in range(5000)]


def _ticket(when: Any, *, text: str | None = None, nested: bool = True) -> dict[str, Any]:
    """A chat example with its own random words (no accidental near duplicates) dated `when`."""
    text = text or " ".join(_RNG.sample(_VOCAB, 30))
    row = chat(user=text, answer=f"answer to {text}", system=None)
    if when is not None:
        if nested:
            row["metadata"] = {"created_at": when}
        else:
            row["created_at"] = when
    return row


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _when(row: dict[str, Any]) -> Any:
    return row["metadata"]["created_at"]


def _split(args: list[str], capsys: Any, monkeypatch: Any) -> tuple[int, str, str]:
    return run_cairn(["data", "split", *args], capsys, monkeypatch)


def test_examples_before_the_cut_train_and_the_rest_test_with_iso_and_epoch_values(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    rows = [_ticket(f"2026-{m:02d}-10") for m in range(1, 13)]
    rows += [_ticket("2026-08-31T23:59:59Z"), _ticket("2026-09-01T00:00:00Z"),
             _ticket(1788220800),  # epoch seconds: 2026-09-01T00:00:00Z, not before the cut
             _ticket(1788220799.5), _ticket("1756684800")]  # just before it; a numeric string: 2025-09-01
    source = write_jsonl(rows)
    code, out, err = _split([str(source), "--by", "metadata.created_at", "--before", "2026-09-01",
                             "-o", str(tmp_path / "out")], capsys, monkeypatch)
    assert code == 0, err
    train, test = _rows(tmp_path / "out" / "train.jsonl"), _rows(tmp_path / "out" / "test.jsonl")
    assert [_when(r) for r in train] == ["2026-01-10", "2026-02-10", "2026-03-10", "2026-04-10", "2026-05-10",
                                         "2026-06-10", "2026-07-10", "2026-08-10", "2026-08-31T23:59:59Z",
                                         1788220799.5, "1756684800"]
    assert [_when(r) for r in test] == ["2026-09-10", "2026-10-10", "2026-11-10", "2026-12-10",
                                        "2026-09-01T00:00:00Z", 1788220800]
    assert not (tmp_path / "out" / "val.jsonl").exists()
    assert "train 11, test 6" in out
    assert "train       11  2025-09-01T00:00:00Z .. 2026-08-31T23:59:59.500000Z" in out
    assert "test         6  2026-09-01T00:00:00Z .. 2026-12-10T00:00:00Z" in out


def test_a_second_cut_makes_a_val_window_and_offsets_are_honoured(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    rows = [_ticket("2026-08-15", nested=False), _ticket("2026-08-31T23:30:00-02:00", nested=False),  # 01:30Z
            _ticket("2026-09-20T08:00:00", nested=False), _ticket("2026-10-01T00:00:00+00:00", nested=False),
            _ticket("2026-10-02", nested=False)]
    code, out, err = _split([str(write_jsonl(rows)), "--by", "created_at", "--before", "2026-09-01",
                             "--eval-before", "2026-10-01", "-o", str(tmp_path / "out"), "--json"],
                            capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"] == {"train": 1, "val": 2, "test": 2}
    assert report["ranges"]["val"] == {"first": "2026-09-01T01:30:00Z", "last": "2026-09-20T08:00:00Z"}
    assert [r["created_at"] for r in _rows(tmp_path / "out" / "test.jsonl")] == ["2026-10-01T00:00:00+00:00",
                                                                                 "2026-10-02"]
    assert json.loads((tmp_path / "out" / "split-report.json").read_text(encoding="utf-8")) == report


def test_a_later_near_duplicate_goes_with_its_earliest_member_and_is_reported(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    words = _RNG.sample(_VOCAB, 40)
    edited = list(words)
    edited[20] = "changed"
    rows = [_ticket(f"2026-0{m}-01") for m in range(1, 9)]
    rows[2] = _ticket("2026-03-01", text=" ".join(words))
    rows += [_ticket("2026-11-01", text=" ".join(edited)), _ticket("2026-12-01"),
             _ticket("2026-12-02", text=" ".join(words))]  # an exact copy, later still
    code, out, err = _split([str(write_jsonl(rows)), "--by", "metadata.created_at", "--before", "2026-09-01",
                             "-o", str(tmp_path / "out"), "--json"], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    train = _rows(tmp_path / "out" / "train.jsonl")
    test = _rows(tmp_path / "out" / "test.jsonl")
    assert [_when(r) for r in test] == ["2026-12-01"]
    assert {"2026-11-01", "2026-12-02"} <= {_when(r) for r in train}
    assert report["moved_to_earlier_split"] == {"count": 2, "lines": [9, 11]}
    assert report["ranges"]["train"]["last"] == "2026-12-02T00:00:00Z"
    assert report["duplicate_groups"] == 1 and report["examples_in_duplicate_groups"] == 3


def test_lines_without_a_usable_timestamp_are_reported_one_by_one_and_the_split_refused(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    rows: list[Any] = [_ticket("2026-01-01"), _ticket(None), _ticket("yesterday"), "{not json",
                       _ticket(1.7e12), _ticket(True), _ticket("2026-12-01")]
    code, out, err = _split([str(write_jsonl(rows)), "--by", "metadata.created_at", "--before", "2026-06-01",
                             "-o", str(tmp_path / "out")], capsys, monkeypatch)
    assert code == 1
    lines = err.splitlines()
    assert lines[0].endswith("data.jsonl:2: no usable metadata.created_at: no metadata.created_at field")
    assert lines[1].endswith(':3: no usable metadata.created_at: not an ISO 8601 date or datetime, nor epoch '
                             'seconds: "yesterday"')
    assert lines[2].endswith(":4: no usable metadata.created_at: not valid JSON: {not json")
    assert "epoch seconds out of range (milliseconds? divide by 1000): 1700000000000.0" in lines[3]
    assert lines[4].endswith(":6: no usable metadata.created_at: a bool, not a date or epoch seconds: true")
    assert lines[5].startswith("error: ") and "5 of 7 lines have no usable metadata.created_at (line 2" in lines[5]
    assert "--missing train|test|drop" in lines[5] and len(lines) == 6
    assert not (tmp_path / "out").exists()


def test_missing_drop_leaves_undated_lines_out_and_lists_them_while_train_and_test_place_them(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    rows: list[Any] = [_ticket("2026-01-01"), _ticket(None), _ticket("2026-12-01"), _ticket("soon")]
    source = write_jsonl(rows)
    args = [str(source), "--by", "metadata.created_at", "--before", "2026-06-01", "--json"]
    code, out, err = _split([*args, "--missing", "drop", "-o", str(tmp_path / "drop")], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"] == {"train": 1, "test": 1}
    assert report["undated"] == {"count": 2, "missing": "drop", "placed": {"with_group": 0, "dropped": 2},
                                 "lines": [{"line": 2, "value": None, "reason": "no metadata.created_at field"},
                                           {"line": 4, "value": '"soon"', "reason": "not an ISO 8601 date or "
                                            "datetime, nor epoch seconds"}]}
    assert "data.jsonl:2:" in err and "data.jsonl:4:" in err
    code, out, _ = _split([*args, "--missing", "train", "-o", str(tmp_path / "train")], capsys, monkeypatch)
    assert json.loads(out)["counts"] == {"train": 3, "test": 1}
    code, out, _ = _split([*args[:-1], "--missing", "test", "-o", str(tmp_path / "test")], capsys, monkeypatch)
    assert "2 lines without a usable metadata.created_at (--missing test): 2 to test" in out
    assert len(_rows(tmp_path / "test" / "test.jsonl")) == 3


def test_an_undated_copy_of_a_dated_example_joins_its_group_not_the_missing_split(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    text = " ".join(_RNG.sample(_VOCAB, 30))
    rows = [_ticket("2026-01-01", text=text), _ticket("2026-02-01"), _ticket(None, text=text), _ticket("2026-12-01")]
    code, out, err = _split([str(write_jsonl(rows)), "--by", "metadata.created_at", "--before", "2026-06-01",
                             "--missing", "test", "-o", str(tmp_path / "out"), "--json"], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"] == {"train": 3, "test": 1}
    assert report["undated"]["placed"] == {"with_group": 1, "dropped": 0, "test": 0}


def test_the_same_input_and_cut_give_byte_identical_splits(
        write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    source = write_jsonl([_ticket(f"2026-{m:02d}-03") for m in range(1, 13)])
    for name in ("a", "b"):
        code, _, err = _split([str(source), "--by", "metadata.created_at", "--before", "2026-07-01",
                               "--val-before", "2026-10-01", "-o", str(tmp_path / name)], capsys, monkeypatch)
        assert code == 0, err
    for name in ("train", "val", "test"):
        a = (tmp_path / "a" / f"{name}.jsonl").read_bytes()
        assert a and a == (tmp_path / "b" / f"{name}.jsonl").read_bytes()


@pytest.mark.parametrize(("extra", "message"), [
    (["--before", "2026-7-1"], "--before '2026-7-1' is not a date: give an ISO 8601 date or datetime"),
    (["--before", "2026-09-01", "--val-before", "2026-08-01"], "--val-before 2026-08-01 must be after --before"),
    (["--before", "2026-09-01", "--missing", "later"], "--missing 'later' is not one of: train, test, drop"),
    (["--before", "2026-09-01", "--stratify", "label"], "--stratify does not apply to a time split"),
    (["--before", "2026-09-01", "--train", "70", "--test", "20"], "--train, --val and --test do not apply"),
    ([], "--by needs --before DATE"),
    (["--before", "2030-01-01"], "no example falls in test (on or after 2030-01-01): its metadata.created_at "
                                 "values run from 2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z"),
])
def test_bad_time_split_options_are_one_line_errors_that_say_the_fix(
        extra: list[str], message: str, write_jsonl: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    source = write_jsonl([_ticket("2026-01-01"), _ticket("2026-02-01")])
    code, out, err = _split([str(source), "--by", "metadata.created_at", *extra, "-o", str(tmp_path / "out")],
                            capsys, monkeypatch)
    assert code != 0 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_time_options_without_by_are_refused(write_jsonl: Any, tmp_path: Path, capsys: Any,
                                             monkeypatch: Any) -> None:
    code, _, err = _split([str(write_jsonl([_ticket("2026-01-01")])), "--before", "2026-09-01",
                           "-o", str(tmp_path / "out")], capsys, monkeypatch)
    assert code == 1 and "--before applies to a time split: add --by FIELD" in err


@pytest.mark.parametrize(("value", "iso"), [
    ("2026-09-01", "2026-09-01T00:00:00Z"), ("2026-09-01T02:00:00+02:00", "2026-09-01T00:00:00Z"),
    ("2026-09-01 00:00:00.5", "2026-09-01T00:00:00.500000Z"), (0, "1970-01-01T00:00:00Z"),
    (" 1788220800 ", "2026-09-01T00:00:00Z"),
])
def test_timestamps_accept_iso_dates_datetimes_and_epoch_seconds(value: Any, iso: str) -> None:
    from workflow.data.timestamps import shown

    assert shown(timestamp_of(value)) == iso
