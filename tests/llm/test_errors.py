from __future__ import annotations

from pathlib import Path

from tests.llm.helpers import APITimeoutError, AuthenticationError, FakeChatModel, RateLimitError, run_llm
from workflow.llm.failures import describe, kind_of
from workflow.llm.testing import fails_mid_stream
from workflow.store import read_sidecar


def test_a_rate_limit_says_so_in_one_line_and_retry_repeats_the_turn(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[RateLimitError("429 Too Many Requests"), "Hello again.",
                                   {"use_case": "Support bot"}, "# Scope\n\nok"])
    code, text, _ = run_llm(out, mini_project, model, "r\n\n\n\n\ny\nC\n/scripted\n")
    assert code == 0
    assert "model error: the model refused the request: rate limit or quota reached" in text
    assert "Hello again." in text
    assert read_sidecar(out / mini_project)["stepsCompleted"] == ["1"]


def test_a_stream_that_fails_mid_turn_keeps_confirmed_answers_and_continues_scripted(
        out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot", "monthly_requests": 42},
                                   "# Scope\n\nhalf a document", fails_mid_stream(AuthenticationError("bad key"))])
    # Confirm the three values, then the drafting stream breaks; "s" continues without the model.
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n\n\ns\nC\n")
    assert code == 0
    assert "authentication failed; check that OPENAI_API_KEY holds a valid key" in text
    assert "Continuing in scripted mode" in text
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["answers"]["1"] == {"use_case": "Support bot", "architecture": "hybrid", "monthly_requests": 42}
    written = (out / mini_project / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8")
    assert "Use case: Support bot" in written, "the engine's template draft is written in scripted mode"


def test_a_timeout_while_input_ends_saves_progress(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[APITimeoutError("timed out")])
    code, text, _ = run_llm(out, mini_project, model, "")
    assert code == 0
    assert "(timeout)" in text and "progress saved" in text


def test_failures_are_classified_by_name_and_status_without_provider_imports() -> None:
    assert kind_of(RateLimitError()) == "rate_limit"
    assert kind_of(AuthenticationError()) == "auth"
    assert kind_of(APITimeoutError()) == "timeout"
    assert kind_of(ConnectionRefusedError()) == "connection"
    assert kind_of(ValueError("x")) == "other"
    assert "\n" not in describe(ValueError("line one\nline two"))
