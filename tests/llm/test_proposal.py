"""Proposals are checked one field at a time: a bad value or cut-off JSON keeps the valid values."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage

from tests.llm.helpers import FakeChatModel, run_llm
from workflow.config import LlmConfig
from workflow.llm.prompting import count_tokens
from workflow.llm.proposal import check_proposal, field_spec, raw_payload
from workflow.packs import load_pack
from workflow.store import read_sidecar


def test_one_bad_value_is_refused_by_name_and_the_valid_ones_are_still_offered(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot", "architecture": "rag-only",
                                           "monthly_requests": "90%"}, "# Scope\n\nok"])
    # propose; accept use_case and architecture; monthly_requests is asked: the user types it.
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n4000\ny\nC\n")
    assert code == 0
    assert "proposed monthly_requests refused:" in text and '"90%"' in text and "valid integer" in text
    assert read_sidecar(out / mini_project)["answers"]["1"] == {"use_case": "Support bot", "architecture": "rag-only",
                                                                "monthly_requests": 4000}


def test_cut_off_json_is_named_and_its_complete_values_are_kept_with_their_tokens(
        out: Path, mini_project: str) -> None:
    broken = '{"use_case": "Support bot", "architecture": "fine-tuning", "monthly_req'
    model = FakeChatModel(replies=["Hi.", broken, "# Scope\n\nok"])
    code, text, _ = run_llm(out, mini_project, model, "\n\n\n\ny\nC\n/scripted\n")
    assert code == 0
    assert "not valid JSON" in text and "cut off" in text
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["answers"]["1"] == {"use_case": "Support bot", "architecture": "fine-tuning",
                                       "monthly_requests": 1000}
    # The failed parse still spent tokens: every one of step 1's calls is counted.
    assert sidecar["usage"]["1"]["prompt_tokens"] == sum(count_tokens(str(m.content))
                                                         for p in model.prompts[:3] for m in p)
    assert sidecar["usage"]["1"]["completion_tokens"] >= count_tokens(broken)


def test_the_proposal_prompt_lists_each_fields_type_choices_and_bounds(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hi.", {"use_case": "Support bot"}])
    llm = LlmConfig(model="openai:x", structured_output="json_mode")
    run_llm(out, mini_project, model, "\n", llm=llm)
    task = str(model.prompts[1][-1].content)
    assert '- architecture: one of "rag-only", "fine-tuning", "hybrid"' in task
    assert "- monthly_requests: integer, at least 0" in task and "JSON object" in task


def test_tool_call_arguments_and_broken_tool_calls_are_read_field_by_field() -> None:
    step = load_pack(None).step("1")
    fields = ["monthly_budget_usd", "data_sensitivity", "monthly_requests"]
    message = AIMessage(content="", tool_calls=[{"name": "Step1Answers", "id": "c1", "args": {
        "monthly_budget_usd": "90%", "data_sensitivity": "secret-ish", "monthly_requests": "40000"}}])
    proposal = check_proposal(step, fields, *raw_payload(message))
    assert proposal.values == {"monthly_requests": 40000}
    assert set(proposal.problems) == {"monthly_budget_usd", "data_sensitivity"}
    broken = AIMessage(content="", invalid_tool_calls=[{"name": "Step1Answers", "id": "c1", "type": "invalid_tool_call",
                                                        "args": '{"monthly_requests": 5, "data_', "error": None}])
    payload, malformed = raw_payload(broken)
    assert payload == {"monthly_requests": 5} and malformed is not None and "cut off" in malformed
    assert raw_payload(AIMessage(content="Sure! Here you go."))[1] == "the reply is not a JSON object"


def test_field_specs_name_the_choices_of_the_shipped_forms() -> None:
    step = load_pack(None).step("1")
    assert '"confidential"' in field_spec("data_sensitivity", step.meta.form["data_sensitivity"])
