"""The typed one-step check (`fast_check`) agrees with the full check on every example it accepts,
and declines everything the full check would report as a problem other than a warning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.data.checks import CHECKS, fast_check
from workflow.data.formats import DatasetFormat

FAST_FORMATS = [DatasetFormat.MESSAGES, DatasetFormat.OPENAI_CHAT, DatasetFormat.SHAREGPT]
ROLES = ["system", "user", "assistant", "developer", "tool", "function", "human", "gpt", "model", "observation",
         "", 3, None]
CONTENTS = st.sampled_from(["Hello there.", "", "  ", "\n", "ok", "héllo ✓"]) | st.text(max_size=6) | st.none() | \
    st.integers() | st.lists(st.text(max_size=3), max_size=2)
EXTRA_KEYS = st.sampled_from(["name", "weight", "tool_calls", "x"])


@st.composite
def chat_lines(draw: Any, fmt: DatasetFormat) -> bytes:
    role_key, content_key, list_key = ("from", "value", "conversations") if fmt is DatasetFormat.SHAREGPT else (
        "role", "content", "messages")
    turns = []
    for _ in range(draw(st.integers(0, 5))):
        turn: dict[str, Any] = {}
        if draw(st.integers(0, 9)):
            turn[role_key] = draw(st.sampled_from(ROLES))
        if draw(st.integers(0, 9)):
            turn[content_key] = draw(CONTENTS)
        if not draw(st.integers(0, 6)):
            turn[draw(EXTRA_KEYS)] = draw(st.integers(0, 2))
        turns.append(turn)
    example: dict[str, Any] = {list_key: turns}
    if not draw(st.integers(0, 5)):
        example[draw(st.sampled_from(["system", "tools", "id"]))] = "Be brief."
    if not draw(st.integers(0, 20)):
        return json.dumps([example]).encode()
    return json.dumps(example, ensure_ascii=draw(st.booleans())).encode()


@pytest.mark.parametrize("fmt", FAST_FORMATS, ids=str)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_check_agrees_with_the_full_check_wherever_it_answers(fmt: DatasetFormat, data: Any) -> None:
    line = data.draw(chat_lines(fmt))
    fast_out: list[tuple[str, str]] = []
    fast_shape = fast_check(fmt)(line, fast_out)  # type: ignore[misc]
    full_out: list[tuple[str, str]] = []
    obj = json.loads(line)
    full_shape = CHECKS[fmt](obj, full_out) if type(obj) is dict else None
    if fast_shape is None:
        assert fast_out == []
        return
    assert fast_shape == full_shape
    assert fast_out == full_out
    assert all(code in ("missing_system_message", "missing_user_message") for code, _ in full_out)


def test_fast_check_answers_for_a_clean_chat_and_declines_what_needs_naming() -> None:
    check = fast_check(DatasetFormat.MESSAGES)
    assert check is not None
    clean = {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"},
                          {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"},
                          {"role": "assistant", "content": "Ciao"}]}
    out: list[tuple[str, str]] = []
    # turns; prompt = every turn before the last assistant one; response; not empty
    assert check(json.dumps(clean).encode(), out) == (5, len("Be kind.Hi" "Hello!Bye"), 4, False)
    assert out == []
    no_system = {"messages": clean["messages"][1:3]}
    assert check(json.dumps(no_system).encode(), out) == (2, 2, 6, False)
    assert [code for code, _ in out] == ["missing_system_message"]
    for declined in (
        b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " "}]}',
        b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "robot", "content": "x"}]}',
        b'{"messages": [{"role": "user", "content": "Hi", "name": "a"}, {"role": "assistant", "content": "x"}]}',
        b'{"messages": [{"role": "user", "content": "Hi"}]}',
        b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "x"}',
        b'{"messages": [{"role": "user", "content": "\xff"}, {"role": "assistant", "content": "x"}]}',
        b'[]',
        b'',
    ):
        out = []
        assert check(declined, out) is None, declined
        assert out == []


def test_formats_without_a_fast_check_use_the_full_one() -> None:
    assert fast_check(DatasetFormat.ALPACA) is None
    assert fast_check(DatasetFormat.VERTEX) is None
    assert fast_check(DatasetFormat.MESSAGES) is fast_check(DatasetFormat.MESSAGES)
