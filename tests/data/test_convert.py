from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import EXAMPLES, chat
from workflow.data.canonical import ConversionError, from_canonical, to_canonical
from workflow.data.convert import convert_file
from workflow.data.formats import DatasetFormat as F
from workflow.data.formats import detect_file
from workflow.data.validate import validate_file
from workflow.errors import ConfigError, DataError

CHATS = [
    chat(),
    chat(system=None, label="refund"),
    {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"},
                  {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"},
                  {"role": "assistant", "content": "a2"}]},
]


def _rows(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("middle", ["openai-chat", "sharegpt", "vertex", "alpaca", "prompt-completion"])
def test_chat_round_trips_exactly_through_formats_that_carry_the_same_information(
    write_jsonl: Any, tmp_path: Path, middle: str
) -> None:
    source = write_jsonl(CHATS)
    convert_file(source, tmp_path / "mid.jsonl", "messages", middle)
    assert validate_file(tmp_path / "mid.jsonl", middle).ok
    convert_file(tmp_path / "mid.jsonl", tmp_path / "back.jsonl", middle, "messages")
    back = _rows(tmp_path / "back.jsonl")
    expected = [dict(r) for r in CHATS]
    if middle in ("openai-chat", "vertex"):  # their schemas have no room for extra keys
        expected = [{"messages": r["messages"]} for r in CHATS]
    assert back == expected


def test_preference_round_trips_through_openai_preference(write_jsonl: Any, tmp_path: Path) -> None:
    source = write_jsonl([
        {"prompt": "Where is my order?", "chosen": "Tomorrow.", "rejected": "No idea."},
        {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Refund?"}],
         "chosen": [{"role": "assistant", "content": "Yes."}], "rejected": [{"role": "assistant", "content": "No."}]},
    ])
    convert_file(source, tmp_path / "oai.jsonl", "preference", "openai-preference")
    assert validate_file(tmp_path / "oai.jsonl", "openai-preference").ok
    convert_file(tmp_path / "oai.jsonl", tmp_path / "back.jsonl", "openai-preference", "preference")
    assert _rows(tmp_path / "back.jsonl") == _rows(source)


@pytest.mark.parametrize("fmt", [f.value for f in F])
def test_every_example_file_is_detected_and_converts_to_a_valid_file(tmp_path: Path, fmt: str) -> None:
    source = EXAMPLES / f"{fmt}.jsonl"
    detected = detect_file(source)
    assert detected == (F.MESSAGES if fmt == "openai-chat" else F(fmt))
    target = "text" if fmt == "text" else "openai-preference" if "preference" in fmt else "messages"
    report = convert_file(source, tmp_path / "out.jsonl", "auto", target)
    assert report.skipped_count == 0
    assert validate_file(tmp_path / "out.jsonl", target).ok


def test_single_turn_conversational_preference_comes_back_in_the_standard_string_form(tmp_path: Path) -> None:
    row = {"prompt": [{"role": "user", "content": "Q?"}], "chosen": [{"role": "assistant", "content": "good"}],
           "rejected": [{"role": "assistant", "content": "bad"}]}
    via = from_canonical(to_canonical(row, F.PREFERENCE), F.OPENAI_PREFERENCE)
    assert from_canonical(to_canonical(via, F.OPENAI_PREFERENCE), F.PREFERENCE) == {
        "prompt": "Q?", "chosen": "good", "rejected": "bad"}


def test_openai_weights_are_dropped_only_when_nothing_is_lost() -> None:
    weighted = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 1}]}
    assert from_canonical(to_canonical(weighted, F.OPENAI_CHAT), F.MESSAGES)["messages"][1] == {
        "role": "assistant", "content": "a"}
    weighted["messages"][1]["weight"] = 0
    with pytest.raises(ConversionError, match="weight 0"):
        from_canonical(to_canonical(weighted, F.OPENAI_CHAT), F.MESSAGES)


def test_sharegpt_and_alpaca_map_to_the_expected_messages() -> None:
    sharegpt = {"system": "Be brief.",
                "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
    assert from_canonical(to_canonical(sharegpt, F.SHAREGPT), F.MESSAGES) == {"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"}]}
    alpaca = {"instruction": "Translate.", "input": "chat", "output": "cat", "history": [["q", "a"]]}
    assert from_canonical(to_canonical(alpaca, F.ALPACA), F.MESSAGES)["messages"] == [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
        {"role": "user", "content": "Translate.\n\nchat"}, {"role": "assistant", "content": "cat"}]


def test_vertex_uses_model_role_and_system_instruction() -> None:
    out = from_canonical(to_canonical(chat(), F.MESSAGES), F.VERTEX)
    assert out == {"systemInstruction": {"role": "system", "parts": [{"text": "Be kind."}]},
                   "contents": [{"role": "user", "parts": [{"text": "Where is my order?"}]},
                                {"role": "model", "parts": [{"text": "It ships tomorrow."}]}]}


def test_preference_to_chat_keeps_the_chosen_answer_and_chat_to_text_renders_roles() -> None:
    pref = {"prompt": "Q?", "chosen": "good", "rejected": "bad"}
    assert from_canonical(to_canonical(pref, F.PREFERENCE), F.MESSAGES)["messages"][-1]["content"] == "good"
    assert from_canonical(to_canonical(chat(), F.MESSAGES), F.TEXT)["text"] == (
        "System: Be kind.\n\nUser: Where is my order?\n\nAssistant: It ships tomorrow.")


def test_a_line_that_cannot_convert_is_reported_and_skipped(write_jsonl: Any, tmp_path: Path) -> None:
    tool = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}]}
    source = write_jsonl([chat(), "{oops", tool, chat(system=None)])
    skipped: list[tuple[int, str]] = []
    report = convert_file(source, tmp_path / "out.jsonl", "messages", "sharegpt",
                          on_skip=lambda n, r: skipped.append((n, r)))
    assert report.converted == 2
    assert [n for n, _ in skipped] == [2, 3]
    assert "not valid JSON" in skipped[0][1]
    assert "tool_calls" in skipped[1][1]
    assert len(_rows(tmp_path / "out.jsonl")) == 2


def test_strict_stops_at_the_first_bad_line_and_writes_nothing(write_jsonl: Any, tmp_path: Path) -> None:
    source = write_jsonl([chat(), {"messages": [{"role": "user", "content": "hi"}]}, chat()])
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"data.jsonl:2: .*nothing was written"):
        convert_file(source, out, "messages", "alpaca", strict=True)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_impossible_pairs_and_overwriting_the_input_are_refused(write_jsonl: Any, tmp_path: Path) -> None:
    source = write_jsonl([chat()])
    with pytest.raises(ConfigError, match="no rejected response"):
        convert_file(source, tmp_path / "o.jsonl", "messages", "preference")
    with pytest.raises(ConfigError, match="plain text has no turns"):
        convert_file(EXAMPLES / "text.jsonl", tmp_path / "o.jsonl", "text", "messages")
    with pytest.raises(DataError, match="is the input file"):
        convert_file(source, source, "messages", "sharegpt")
    with pytest.raises(DataError, match="no line could be converted"):
        convert_file(write_jsonl(["[1]"], "bad.jsonl"), tmp_path / "o.jsonl", "messages", "sharegpt")
    assert not (tmp_path / "o.jsonl").exists()


def test_canonical_readers_reject_shapes_with_a_reason() -> None:
    with pytest.raises(ConversionError, match="conversations"):
        to_canonical({"conversations": [{"from": "alien", "value": "x"}]}, F.SHAREGPT)
    with pytest.raises(ConversionError, match="alternating"):
        from_canonical(to_canonical({"messages": [{"role": "user", "content": "a"}]}, F.MESSAGES), F.ALPACA)
