"""Retries are announced, tokens survive a stopped session, and menu text is a note unless /ask."""

from __future__ import annotations

import json
from pathlib import Path

from tests.llm.helpers import AuthenticationError, FakeChatModel, RateLimitError, run_llm
from workflow.config import LlmConfig
from workflow.llm.prompting import count_tokens
from workflow.store import read_sidecar


def test_transient_failures_are_retried_with_a_visible_line_each(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[RateLimitError("429"), RateLimitError("429"), "Hello after two retries."])
    llm = LlmConfig(model="openai:x", max_retries=2)
    code, text, _ = run_llm(out, mini_project, model, "", llm=llm)
    assert code == 0
    assert "rate limit or quota reached at the provider; wait and retry; retrying (2/3)…" in text
    assert "retrying (3/3)…" in text and "Hello after two retries." in text
    assert "model error" not in text


def test_a_rejected_key_is_not_retried(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[AuthenticationError("bad key")])
    code, text, _ = run_llm(out, mini_project, model, "", llm=LlmConfig(model="openai:x", max_retries=2))
    assert code == 0 and "retrying" not in text and "authentication failed" in text
    assert len(model.prompts) == 1


def test_tokens_of_a_session_that_stopped_before_sending_them_are_recorded_by_the_next(
        out: Path, mini_project: str) -> None:
    first = FakeChatModel(replies=["Hello.", "Tickets, noted."])
    run_llm(out, mini_project, first, "support bot\n")  # stops with two calls' tokens not yet sent
    pending = json.loads((out / mini_project / ".cairn" / "usage-pending.json").read_text(encoding="utf-8"))
    assert pending["prompt_tokens"] == sum(count_tokens(str(m.content)) for p in first.prompts for m in p)
    second = FakeChatModel(replies=[{"use_case": "Support bot"}, "# Scope\n\nok", "Step 2."])
    code, _, _ = run_llm(out, mini_project, second, "\n\n\n\ny\nC\n")
    assert code == 0
    usage = read_sidecar(out / mini_project)["usage"]["1"]
    spent = [m for p in first.prompts + second.prompts[:2] for m in p]
    assert usage["prompt_tokens"] == sum(count_tokens(str(m.content)) for m in spent)


def test_text_at_the_menu_is_kept_as_a_note_and_ask_talks_to_the_persona(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot"}, "# Scope\n\nok",
                                   "Hybrid suits weekly-changing facts.", "Step 2."])
    script = "\n\n\n\ny\nremember the legal review\n/ask why hybrid?\nC\n"
    code, text, _ = run_llm(out, mini_project, model, script)
    assert code == 0
    assert "Ada: Hybrid suits weekly-changing facts." in text
    assert str(model.prompts[3][-1].content) == "why hybrid?"
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["notes"]["1"] == ["remember the legal review"]
    assert sidecar["stepsCompleted"] == ["1"]
