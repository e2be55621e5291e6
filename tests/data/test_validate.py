from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import EXAMPLES, chat, dump
from workflow.data.checks import CODES
from workflow.data.formats import DatasetFormat
from workflow.data.validate import validate_file
from workflow.errors import ConfigError, DataError

ASSISTANT = {"role": "assistant", "content": "ok"}
USER = {"role": "user", "content": "hi"}

# (format, line, code, severity): one fixture line per code and format family.
CASES: list[tuple[str, Any, str, str]] = [
    ("messages", '{"messages": [', "invalid_json", "error"),
    ("messages", [1, 2], "data_type", "error"),
    ("messages", {"messages": ["hi", ASSISTANT]}, "data_type", "error"),
    ("messages", {"prompt": "x"}, "missing_messages_list", "error"),
    ("messages", {"messages": []}, "missing_messages_list", "error"),
    ("messages", {"messages": [{"content": "hi"}, ASSISTANT]}, "message_missing_key", "error"),
    ("messages", {"messages": [{"role": "user", "content": "hi", "mood": "x"}, ASSISTANT]},
     "message_unrecognized_key", "error"),
    ("messages", {"messages": [{"role": "robot", "content": "hi"}, ASSISTANT]}, "unrecognized_role", "error"),
    ("messages", {"messages": [{"role": ["user"], "content": "hi"}, ASSISTANT]}, "unrecognized_role", "error"),
    ("messages", {"messages": [{"role": "user"}, ASSISTANT]}, "missing_content", "error"),
    ("messages", {"messages": [{"role": "user", "content": None}, ASSISTANT]}, "missing_content", "error"),
    ("messages", {"messages": [{"role": "user", "content": 7}, ASSISTANT]}, "missing_content", "error"),
    ("messages", {"messages": [USER]}, "example_missing_assistant_message", "error"),
    ("messages", chat(answer="   "), "empty_assistant_content", "warning"),
    ("messages", chat(system=None), "missing_system_message", "warning"),
    ("messages", {"messages": [{"role": "system", "content": "s"}, ASSISTANT]}, "missing_user_message", "warning"),
    ("openai-chat", {"messages": [USER, {"role": "assistant", "content": "ok", "weight": 2}]},
     "invalid_weight", "error"),
    ("openai-chat", chat(id="x-1"), "example_unrecognized_key", "warning"),
    ("openai-chat", {"messages": [{"role": "user", "content": "hi", "mood": 1}, ASSISTANT]},
     "message_unrecognized_key", "error"),
    ("sharegpt", {"conversations": "x"}, "missing_messages_list", "error"),
    ("sharegpt", {"conversations": [{"value": "hi"}, {"from": "gpt", "value": "ok"}]}, "message_missing_key", "error"),
    ("sharegpt", {"conversations": [{"from": "robot", "value": "hi"}, {"from": "gpt", "value": "ok"}]},
     "unrecognized_role", "error"),
    ("sharegpt", {"conversations": [{"from": "human", "value": None}, {"from": "gpt", "value": "ok"}]},
     "missing_content", "error"),
    ("sharegpt", {"conversations": [{"from": "human", "value": "hi"}]}, "example_missing_assistant_message", "error"),
    ("sharegpt", {"system": 3, "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "ok"}]},
     "field_type", "error"),
    ("vertex", {"contents": []}, "missing_messages_list", "error"),
    ("vertex", {"contents": [{"parts": [{"text": "hi"}]}]}, "message_missing_key", "error"),
    ("vertex", {"contents": [{"role": "user", "parts": [{"text": "hi"}], "x": 1},
                             {"role": "model", "parts": [{"text": "ok"}]}]}, "message_unrecognized_key", "error"),
    ("vertex", {"contents": [{"role": "user", "parts": [{"text": "hi"}]},
                             {"role": "assistant", "parts": [{"text": "ok"}]}]}, "unrecognized_role", "error"),
    ("vertex", {"contents": [{"role": "user"}, {"role": "model", "parts": [{"text": "ok"}]}]},
     "missing_content", "error"),
    ("vertex", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, "example_missing_assistant_message",
     "error"),
    ("vertex", {"systemInstruction": "x", "contents": [{"role": "user", "parts": [{"text": "hi"}]},
                                                       {"role": "model", "parts": [{"text": "ok"}]}]},
     "field_type", "error"),
    ("vertex", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": ""}]}]},
     "empty_assistant_content", "warning"),
    ("alpaca", {"instruction": "x"}, "missing_field", "error"),
    ("alpaca", {"instruction": "x", "input": 3, "output": "y"}, "field_type", "error"),
    ("alpaca", {"instruction": "x", "output": "y", "history": [["only one"]]}, "field_type", "error"),
    ("alpaca", {"instruction": "x", "output": ""}, "empty_assistant_content", "warning"),
    ("prompt-completion", {"prompt": "x"}, "missing_field", "error"),
    ("prompt-completion", {"prompt": 5, "completion": "y"}, "field_type", "error"),
    ("prompt-completion", {"prompt": "x", "completion": " "}, "empty_assistant_content", "warning"),
    ("preference", {"prompt": "x", "chosen": "a"}, "missing_field", "error"),
    ("preference", {"prompt": "x", "chosen": 5, "rejected": "b"}, "field_type", "error"),
    ("preference", {"prompt": "x", "chosen": "a", "rejected": "a"}, "identical_preference", "warning"),
    ("openai-preference", {"input": {"messages": [USER]}, "non_preferred_output": [ASSISTANT]}, "missing_field",
     "error"),
    ("openai-preference", {"input": "x", "preferred_output": [ASSISTANT], "non_preferred_output": [ASSISTANT]},
     "field_type", "error"),
    ("openai-preference", {"input": {"messages": []}, "preferred_output": [ASSISTANT],
                           "non_preferred_output": [ASSISTANT]}, "missing_messages_list", "error"),
    ("openai-preference", {"input": {"messages": [USER]}, "preferred_output": [USER],
                           "non_preferred_output": [ASSISTANT]}, "unrecognized_role", "error"),
    ("text", {"body": "x"}, "missing_field", "error"),
    ("text", {"text": 5}, "field_type", "error"),
    ("text", {"text": "  "}, "empty_assistant_content", "warning"),
]


@pytest.mark.parametrize(("fmt", "line", "code", "severity"), CASES)
def test_each_fixture_line_is_reported_with_its_code_and_severity(
    write_jsonl: Any, fmt: str, line: Any, code: str, severity: str
) -> None:
    first = (EXAMPLES / f"{fmt}.jsonl").read_text(encoding="utf-8").splitlines()[0]
    path = write_jsonl([first, line])
    report = validate_file(path, fmt)
    found = [(p.line, p.code, p.severity) for p in report.problems]
    assert (2, code, severity) in found
    assert all(p.line == 2 for p in report.problems)
    assert report.ok == (severity == "warning")


def test_every_documented_code_has_a_fixture() -> None:
    covered = {case[2] for case in CASES} | {"empty_file", "blank_line", "too_many_tokens"}
    assert covered == set(CODES)


@pytest.mark.parametrize("fmt", [f.value for f in DatasetFormat])
def test_shipped_example_file_of_each_format_has_no_errors(fmt: str) -> None:
    report = validate_file(EXAMPLES / f"{fmt}.jsonl", fmt)
    assert report.ok, report.errors
    assert report.summary["valid_examples"] == report.summary["examples"] >= 1


def test_empty_file_and_blank_lines_are_reported(write_jsonl: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n", encoding="utf-8")
    report = validate_file(empty, "messages")
    assert [(p.line, p.code) for p in report.problems] == [(1, "blank_line"), (2, "blank_line"), (0, "empty_file")]
    assert not report.ok


def test_strict_turns_warnings_into_errors(write_jsonl: Any) -> None:
    path = write_jsonl([chat(system=None)])
    assert validate_file(path, "messages").ok
    strict = validate_file(path, "messages", strict=True)
    assert not strict.ok
    assert strict.errors[0].code == "missing_system_message"


def test_too_many_tokens_is_a_warning_by_default_and_an_error_with_max_tokens(write_jsonl: Any) -> None:
    path = write_jsonl([chat(answer="word " * 20), chat(answer="x" * 70_000)])
    default = validate_file(path, "messages")
    assert [(p.line, p.code, p.severity) for p in default.problems] == [(2, "too_many_tokens", "warning")]
    limited = validate_file(path, "messages", max_tokens=10)
    assert {(p.line, p.severity) for p in limited.problems} == {(1, "error"), (2, "error")}
    assert "approximate tokens" in limited.problems[0].message


def test_summary_counts_examples_and_names_the_token_approximation(write_jsonl: Any) -> None:
    path = write_jsonl([chat(user="a" * 40, answer="b" * 80, system=None), '{"broken"', chat()])
    summary = validate_file(path, "messages").summary
    assert summary["examples"] == 3
    assert summary["valid_examples"] == 2
    assert summary["by_code"] == {"invalid_json": 1, "missing_system_message": 1}
    assert summary["tokens"]["method"].startswith("approximate (characters / 4)")
    assert summary["tokens"]["response"]["max"] == 20  # 80 characters / 4


def test_crlf_bom_and_invalid_utf8_lines_keep_their_line_numbers(tmp_path: Path) -> None:
    good = json.dumps(chat()).encode()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\r\n" + b'{"messages": "\xff"}\r\n' + good + b"\r\n")
    report = validate_file(path, "messages")
    assert [(p.line, p.code) for p in report.problems] == [(2, "invalid_json")]
    assert "UTF-8" in report.problems[0].message
    assert report.summary["valid_examples"] == 2


def test_a_real_tokenizer_replaces_the_approximation(write_jsonl: Any, tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0, "hello": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    folder = tmp_path / "tok"
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    path = write_jsonl([chat(user="hello hello", answer="one two three four five", system=None)])
    report = validate_file(path, "messages", tokenizer=str(folder), max_tokens=6)
    assert report.summary["tokens"]["method"] == f"tokenizer {folder}"
    assert report.summary["tokens"]["response"]["max"] == 5
    assert report.summary["tokens"]["total"]["max"] == 7
    assert [p.code for p in report.errors] == ["too_many_tokens"]


def test_missing_file_unknown_format_and_missing_tokenizer_are_user_errors(tmp_path: Path, write_jsonl: Any) -> None:
    with pytest.raises(DataError, match="cannot open"):
        validate_file(tmp_path / "nope.jsonl", "messages")
    with pytest.raises(DataError, match="folder"):
        validate_file(tmp_path, "messages")
    with pytest.raises(ConfigError, match="unknown dataset format 'chatml'"):
        validate_file(write_jsonl([chat()]), "chatml")
    with pytest.raises(DataError, match="tokenizer folder"):
        validate_file(write_jsonl([chat()]), "messages", tokenizer=str(tmp_path / "missing"))


def test_the_input_file_is_never_modified(write_jsonl: Any) -> None:
    path = write_jsonl([chat(), '{"bad"', chat(system=None)])
    before = path.read_bytes()
    validate_file(path, "messages", strict=True)
    assert path.read_bytes() == before


def test_problem_lines_are_one_based_and_in_file_order(write_jsonl: Any) -> None:
    rows = [chat() if i % 3 else '{"x": ' for i in range(30)]
    report = validate_file(write_jsonl(rows), "messages")
    assert [p.line for p in report.problems] == list(range(1, 31, 3))
    assert dump(rows).count("\n") == 30


def test_lines_with_surrounding_whitespace_are_valid_and_counted_as_duplicates(write_jsonl: Any) -> None:
    from workflow.data.analyze import analyze_file

    line = "  " + json.dumps(chat()) + "  "
    analysis, _ = analyze_file(write_jsonl([line, line, chat(user="other")]), "messages")
    assert analysis["valid_examples"] == 3 and analysis["problems"]["errors"] == 0
    assert analysis["duplicates"]["exact"] == 1


def _codes(write_jsonl: Any, row: Any, fmt: str) -> list[str]:
    report = validate_file(write_jsonl([row]), fmt)
    return sorted(p.code for p in report.problems if p.severity == "error")


@pytest.mark.parametrize(("row", "cookbook"), [
    # OpenAI's cookbook: a message without content lacks a key and has no content.
    ({"messages": [{"role": "user"}, ASSISTANT]}, ["message_missing_key", "missing_content"]),
    # ...and an example with another error still counts its missing assistant message.
    ({"messages": [{"role": "user", "content": "hi", "mood": 1}]},
     ["example_missing_assistant_message", "message_unrecognized_key"]),
    # ...and empty content is missing content, for a user message too.
    ({"messages": [{"role": "user", "content": ""}, ASSISTANT]}, ["missing_content"]),
    ({"messages": [{"content": "hi"}, ASSISTANT]}, ["message_missing_key"]),
])
def test_openai_chat_counts_errors_as_openais_cookbook_does(write_jsonl: Any, row: Any,
                                                             cookbook: list[str]) -> None:
    assert _codes(write_jsonl, row, "openai-chat") == cookbook
    assert len(_codes(write_jsonl, row, "messages")) <= 1  # the plain chat check names the first problem only
