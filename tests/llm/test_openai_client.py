from __future__ import annotations

from pathlib import Path

import pytest

from tests.llm.helpers import run_llm
from tests.llm.openai_server import USAGE, CannedServer, serve
from workflow.config import LlmConfig
from workflow.llm.models import build_chat_model
from workflow.store import read_sidecar


def test_a_step_runs_through_the_real_openai_client_against_a_local_compatible_server(
        out: Path, mini_project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    canned = CannedServer(persona="Hello from Ada. What is the use case?",
                          proposal={"use_case": "Ticket triage", "architecture": "rag-only",
                                    "monthly_requests": None},
                          document="# Scope\n\nTicket triage over the help centre.")
    with serve(canned) as base_url:
        model = build_chat_model(LlmConfig(model="openai:local-model", base_url=base_url, timeout_s=10,
                                           max_retries=0))
        code, text, _ = run_llm(out, mini_project, model, "triage tickets\n\n\n\n\ny\nC\n/scripted\n")
    assert code == 0
    assert "Hello from Ada." in text
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["answers"]["1"] == {"use_case": "Ticket triage", "architecture": "rag-only",
                                       "monthly_requests": 1000}
    assert (out / mini_project / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8").startswith(
        "# Scope\n\nTicket triage over the help centre.")
    streamed = [r for r in canned.requests if r.get("stream")]
    structured = [r for r in canned.requests if r.get("response_format") or r.get("tools")]
    # Step 1: two persona turns and the draft streamed, one structured proposal; then step 2 opens.
    assert len(streamed) == 4 and len(structured) == 1
    assert all(r["path"] == "/v1/chat/completions" and r["model"] == "local-model" for r in canned.requests)
    assert streamed[0]["stream_options"] == {"include_usage": True}
    assert sidecar["usage"]["1"] == {"prompt_tokens": 4 * USAGE["prompt_tokens"],
                                     "completion_tokens": 4 * USAGE["completion_tokens"]}


@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
def test_structured_output_can_use_function_calling_or_json_mode_for_servers_without_json_schema(
        out: Path, mini_project: str, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    canned = CannedServer(persona="Hello from Ada.", proposal={"use_case": "Ticket triage",
                                                              "architecture": "hybrid", "monthly_requests": 500},
                          document="# Scope\n\nTriage.")
    with serve(canned) as base_url:
        llm = LlmConfig(model="openai:local-model", base_url=base_url, timeout_s=10, max_retries=0,
                        structured_output=method)  # type: ignore[arg-type]
        code, _, _ = run_llm(out, mini_project, build_chat_model(llm), "triage\n\n\n\n\ny\nC\n/scripted\n",
                             llm=llm)
    assert code == 0
    structured = [r for r in canned.requests if not r.get("stream")]
    assert len(structured) == 1
    if method == "function_calling":
        assert structured[0]["tools"][0]["type"] == "function" and "response_format" not in structured[0]
    else:
        assert structured[0]["response_format"] == {"type": "json_object"} and "tools" not in structured[0]
    assert read_sidecar(out / mini_project)["answers"]["1"] == {"use_case": "Ticket triage",
                                                                "architecture": "hybrid", "monthly_requests": 500}


@pytest.mark.parametrize("method", [None, "function_calling", "json_mode"])
def test_one_bad_value_from_a_real_client_keeps_the_valid_ones_whatever_the_structured_output_method(
        out: Path, mini_project: str, monkeypatch: pytest.MonkeyPatch, method: str | None) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    canned = CannedServer(persona="Hello from Ada.", proposal={"use_case": "Ticket triage", "architecture": "hybrid",
                                                              "monthly_requests": "90%"},
                          document="# Scope\n\nTriage.")
    with serve(canned) as base_url:
        llm = LlmConfig(model="openai:local-model", base_url=base_url, timeout_s=10, max_retries=0,
                        structured_output=method)  # type: ignore[arg-type]
        code, text, _ = run_llm(out, mini_project, build_chat_model(llm), "\n\n\n700\n", llm=llm)
    assert code == 0
    assert "model error" not in text and "No values to propose yet" not in text
    assert "proposed monthly_requests refused:" in text and "proposed: Ticket triage" in text
