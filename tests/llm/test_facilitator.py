from __future__ import annotations

from pathlib import Path

from tests.llm.helpers import FakeChatModel, run_llm
from workflow.llm.prompting import count_tokens
from workflow.store import read_sidecar

STEP1_SCRIPT = (
    "support bot for tickets\n"  # you> (the persona answers)
    "\n"                         # you> empty line: propose values
    "\n"                         # use_case: accept the proposal
    "hybrid\n"                   # architecture: edit the proposal
    "\n"                         # monthly_requests: accept
    "y\n"                        # approve the drafted scope.md (a bare Enter approves nothing)
    "C\n"                        # the user's own Continue
)
DOC = "# Scope\n\nA support bot that drafts ticket answers, written with Ada."


def step1_model() -> FakeChatModel:
    return FakeChatModel(replies=[
        "Hello, I am Ada. What problem are we solving?",
        "A support bot for tickets. How many requests a month?",
        {"use_case": "Support bot for tickets", "architecture": "rag-only", "monthly_requests": 5000},
        DOC,
    ])


def test_a_whole_step_in_llm_mode_records_only_confirmed_values_and_the_approved_document(
        out: Path, mini_project: str) -> None:
    model = step1_model()
    code, text, _ = run_llm(out, mini_project, model, STEP1_SCRIPT)
    assert code == 0
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["answers"]["1"] == {"use_case": "Support bot for tickets", "architecture": "hybrid",
                                       "monthly_requests": 5000}
    assert sidecar["architecture"] == "hybrid", "the user's edit wins over the proposal"
    assert (out / mini_project / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8") == DOC + "\n"
    assert [d["choice"] for d in sidecar["decisions"]] == ["hybrid"]
    assert sidecar["currentStep"] == "2"
    assert "Ada: Hello, I am Ada." in text and "proposed: rag-only" in text


def test_the_model_sees_persona_rules_guidance_and_the_conversation_but_not_other_steps(
        out: Path, mini_project: str) -> None:
    model = step1_model()
    run_llm(out, mini_project, model, STEP1_SCRIPT)
    system = str(model.prompts[1][0].content)
    assert "You are Ada" in system and "never say a step is done" in system
    assert "Name one primary use case." in system and "use_case (text)" in system
    said = [str(m.content) for m in model.prompts[1][1:]]
    assert said[-1] == "support bot for tickets"
    assert "Pick a base model." not in system, "step 2's guidance is not in step 1's prompt"


def test_token_usage_is_recorded_per_step_in_the_sidecar(out: Path, mini_project: str) -> None:
    model = step1_model()
    run_llm(out, mini_project, model, STEP1_SCRIPT + "/scripted\n")
    usage = read_sidecar(out / mini_project)["usage"]
    # The fake reports, for each of step 1's four calls, the tokens of the messages it received.
    step1_calls = model.prompts[:4]
    assert usage["1"]["prompt_tokens"] == sum(count_tokens(str(m.content)) for p in step1_calls for m in p)
    assert usage["1"]["completion_tokens"] > 0
    assert "2" not in usage, "step 2 is not complete, so its tokens are still in the checkpoint"


def test_asking_for_changes_redrafts_the_document_before_approval(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=[
        "Hello.", {"use_case": "Support bot for tickets"}, "# Scope\n\nfirst draft",
        "```markdown\n# Scope\n\nsecond\n```",
    ])
    script = "\n\n\n\nshorter please\ny\nC\n"
    code, _, _ = run_llm(out, mini_project, model, script)
    assert code == 0
    assert (out / mini_project / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8") == "# Scope\n\nsecond\n"
    assert "shorter please" in str(model.prompts[3][-1].content)


def test_keeping_the_template_draft_writes_the_engine_document(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["Hello.", {"use_case": "Support bot for tickets"}, "# Scope\n\nmodel text"])
    code, _, _ = run_llm(out, mini_project, model, "\n\n\n\n/template\nC\n")
    assert code == 0
    written = (out / mini_project / "phase-0-scoping" / "scope.md").read_text(encoding="utf-8")
    assert "model text" not in written and "Support bot for tickets" in written


def test_a_conversation_stopped_mid_step_resumes_where_it_was(out: Path, mini_project: str) -> None:
    first = FakeChatModel(replies=["Hello, I am Ada. What problem are we solving?",
                                   "Tickets, got it. How many a month? [roughly]"])
    code, _, _ = run_llm(out, mini_project, first, "support bot for tickets\n")  # then input ends
    assert code == 0 and len(first.prompts) == 2
    second = FakeChatModel(replies=["Five thousand it is.",
                                    {"use_case": "Support bot for tickets", "architecture": "rag-only",
                                     "monthly_requests": 5000}, DOC])
    code, text, _ = run_llm(out, mini_project, second, "about 5000\n\n\n\n\ny\nC\n/scripted\n")
    assert code == 0
    assert "(conversation resumed: 3 earlier turns)" in text
    assert "Ada: Tickets, got it. How many a month? [roughly]" in text
    # No second greeting: the first call of the new session answers the user, with the earlier turns.
    said = [str(m.content) for m in second.prompts[0][1:]]
    assert said == ["Hello, I am Ada. What problem are we solving?", "support bot for tickets",
                    "Tickets, got it. How many a month? [roughly]", "about 5000"]
    assert read_sidecar(out / mini_project)["answers"]["1"]["monthly_requests"] == 5000


def test_a_finished_visit_leaves_no_conversation_to_resume(out: Path, mini_project: str) -> None:
    run_llm(out, mini_project, step1_model(), STEP1_SCRIPT + "/scripted\n")
    model = FakeChatModel(replies=["Hi, I am Bo. Which base model?"])
    code, text, _ = run_llm(out, mini_project, model, "")
    assert code == 0 and "conversation resumed" not in text
    assert len(model.prompts) == 1, "step 2 opens with its own greeting"


def test_a_reply_without_text_is_not_kept_as_an_empty_assistant_message(out: Path, mini_project: str) -> None:
    model = FakeChatModel(replies=["", "Now with words."])  # e.g. a reply that was only a tool call
    code, _, _ = run_llm(out, mini_project, model, "hello\n")
    assert code == 0
    assert [(m.type, str(m.content)) for m in model.prompts[1][1:]] == [("human", "hello")]
