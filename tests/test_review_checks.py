"""The review before Continue, pack checks (block / confirm / note), pushback, staleness after
REVISE and the input rules, through the real terminal front end (scripted stdin, a transcript and
the files written)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, FakeKnowledge, open_session, quiet_console
from workflow.answers import AnswerPlan
from workflow.chat import StreamReader, run_chat
from workflow.errors import AnswersRefused
from workflow.session import create_project
from workflow.store import read_sidecar

CHECKED = FIXTURES / "packs" / "checked"


@pytest.fixture
def checked(out: Path) -> str:
    create_project(out, "c", user="tester", pack_ref=str(CHECKED))
    return "c"


def chat(out: Path, name: str, script: str = "", plan: AnswerPlan | None = None,
         knowledge: FakeKnowledge | None = None) -> tuple[int, list[str]]:
    console, buffer = quiet_console()
    session = open_session(out, name, knowledge=knowledge or FakeKnowledge())
    try:
        code = run_chat(session, console, StreamReader(io.StringIO(script), console), plan)
    finally:
        session.close()
    return code, [line.rstrip() for line in buffer.getvalue().splitlines()]


def in_order(lines: list[str], wanted: list[str]) -> None:
    position = 0
    for text in wanted:
        found = next((i for i in range(position, len(lines)) if text in lines[i]), None)
        assert found is not None, f"{text!r} not found after line {position}:\n" + "\n".join(lines)
        position = found + 1


STEP_1 = ("support bot\n"          # use_case
          "\n"                     # architecture: default hybrid
          "40k\n"                  # monthly_requests
          "macro-F1 >= 0.90 on the 1,000-email held-out set\nsecond goal\n\n"  # goals: two lines, blank ends
          "Near-Duplicate\n"       # dedup_kind, spelled differently
          "\n")                    # owner: optional, left empty


def test_review_shows_documents_decisions_and_checks_before_continue_and_d_shows_them_again(
        out: Path, checked: str) -> None:
    code, lines = chat(out, checked, STEP_1 + "D\nC\n")
    assert code == 0
    in_order(lines, [
        "• [decision] About RAG vs fine-tuning",   # a result's type is text, not Rich markup
        "Review before Continue: what C will commit",
        "drafted phase-0-scoping/scope.md (4 lines)",
        "Use case: support bot",                  # the document's text, before the menu
        "decision ARCH-001: hybrid",
        "Because support bot",                    # with its rationale
        "All checks pass.",
        "[D] View the drafts again",
        "Choose> D",
        "Use case: support bot",                  # shown again on D
        "Choose> C",
        "✔ Step 1 (Scope) complete.",
    ])
    answers = read_sidecar(out / checked)["answers"]["1"]
    assert answers["monthly_requests"] == 40000
    assert answers["goals"] == ["macro-F1 >= 0.90 on the 1,000-email held-out set", "second goal"]
    assert answers["dedup_kind"] == "near duplicate" and answers["owner"] == ""


def test_revising_keeps_empty_optional_answers_empty_instead_of_refusing_them(out: Path, checked: str) -> None:
    # A reopens every question with the earlier answers; Enter on each keeps them, empty ones included.
    code, lines = chat(out, checked, STEP_1 + "A\n\n\n\n\n\n\nC\n")
    assert code == 0
    assert not any("an answer is required" in line for line in lines), "\n".join(lines)
    answers = read_sidecar(out / checked)["answers"]["1"]
    assert answers["owner"] == "" and answers["goals"][1] == "second goal" and answers["monthly_requests"] == 40000


def test_a_block_check_pushes_back_after_the_answer_and_refuses_continue_with_its_fix(
        out: Path, checked: str) -> None:
    knowledge = FakeKnowledge()
    script = STEP_1 + "C\n" + "\n200\n\nC\nA\n\n16\nC\n"
    code, lines = chat(out, checked, script, knowledge=knowledge)
    assert code == 0
    in_order(lines, [
        "pushes back on lora_r = 200",
        "⛔ block RANK-HUGE: LoRA rank 200 is far above what a task needs. Fix: Use r = 8 to 64.",
        "Knowledge: About LoRA rank",             # the entry the check's query found
        "Change lora_r now (type a new value), or press Enter to keep it:",
        "⛔ block RANK-HUGE",                      # in the review too
        "Choose> C",
        "This step cannot be completed yet.",
        "check RANK-HUGE: LoRA rank 200 is far above what a task needs. Fix: Use r = 8 to 64.",
        "Choose> A",
        "✔ Step 2 (Training) complete.",
    ])
    assert ("search_knowledge", {"query": "LoRA rank", "limit": 1}) in knowledge.calls
    sidecar = read_sidecar(out / checked)
    assert sidecar["answers"]["2"]["lora_r"] == 16
    assert "ℹ️ **TINY-BASE** (note)" in (out / checked / "phase-2-training" / "train.md").read_text(encoding="utf-8")


def test_a_confirm_check_needs_a_reason_which_lands_in_the_decision_log(out: Path, checked: str) -> None:
    script = "support bot\n\n50\n\n\n\n\nC\n\nC\nPilot for one team; volume grows next year\n"
    code, lines = chat(out, checked, script)
    assert code == 0
    in_order(lines, [
        "pushes back on monthly_requests = 50",
        "⚠ confirm VOLUME-LOW: Only 50 requests a month",
        "Choose> C",
        "Continue needs your acknowledgement:",
        "Check VOLUME-LOW not acknowledged; the step stays open.",
        "Choose> C",
        "Reason to go on anyway (Enter = back to the menu)> Pilot for one team; volume grows next year",
        "✔ Step 1 (Scope) complete.",
    ])
    sidecar = read_sidecar(out / checked)
    assert sidecar["acknowledged"]["1"] == {"VOLUME-LOW": "Pilot for one team; volume grows next year"}
    log = (out / checked / "decision-log.md").read_text(encoding="utf-8")
    assert "## ACK-VOLUME-LOW: Go on despite check VOLUME-LOW" in log
    assert "**Rationale:** Pilot for one team; volume grows next year (check: Only 50 requests" in log


def test_an_answers_file_value_that_is_refused_stops_the_run_at_once(out: Path, checked: str) -> None:
    plan = AnswerPlan({"1": {"use_case": "bot"}}, overrides=["1.monthly_requests=lots"], yes=True)
    with pytest.raises(AnswersRefused) as refused:
        chat(out, checked, plan=plan)
    assert str(refused.value).startswith("step 1 (Scope): the answers file's value for monthly_requests was refused")
    assert "'lots' is not a whole number" in str(refused.value)
    assert read_sidecar(out / checked)["currentStep"] == "1"


def test_an_answers_file_continue_refused_by_a_block_check_stops_with_the_list(out: Path, checked: str) -> None:
    plan = AnswerPlan({"1": {"use_case": "bot"}, "2": {"lora_r": 200}}, yes=True)
    with pytest.raises(AnswersRefused) as refused:
        chat(out, checked, plan=plan)
    assert "step 2 (Training): Continue was refused" in str(refused.value)
    assert "check RANK-HUGE: LoRA rank 200 is far above what a task needs. Fix: Use r = 8 to 64." in str(refused.value)
    assert read_sidecar(out / checked)["currentStep"] == "2"


def test_an_unacknowledged_confirm_stops_a_facilitator_run_and_an_acknowledged_one_goes_on(
        out: Path, checked: str) -> None:
    answers = {"1": {"use_case": "bot", "monthly_requests": 50}, "4": {"decision": "GO"}}
    with pytest.raises(AnswersRefused) as refused:
        chat(out, checked, plan=AnswerPlan(answers, yes=True))
    assert "confirm VOLUME-LOW: Only 50 requests a month" in str(refused.value)
    answers["1"]["acknowledge"] = {"VOLUME-LOW": "A pilot: the volume is known to be small"}
    code, _ = chat(out, checked, plan=AnswerPlan(answers, yes=True))
    assert code == 0
    sidecar = read_sidecar(out / checked)
    assert sidecar["workflow_status"] == "complete"
    # the integration step re-runs every step's checks: the acknowledged confirm does not hold GO back
    assert any(d["id"] == "ACK-VOLUME-LOW" for d in sidecar["decisions"])


def test_revise_shows_its_reason_revisits_stale_documents_and_logs_only_what_changed(
        out: Path, checked: str) -> None:
    answers = {
        "1": [{"use_case": "bot", "monthly_requests": 1000}, {"monthly_requests": 5000}],
        "4": [{"decision": "REVISE", "revise_to": "1", "reason": "The volume is 5,000 a month, not 1,000."},
              {"decision": "GO"}],
    }
    code, lines = chat(out, checked, plan=AnswerPlan(answers, yes=True))
    assert code == 0
    headers = [line.split(":")[0].split("Step ")[1] for line in lines if line.startswith("╭─ Step ")]
    assert headers == ["1", "2", "3", "4", "1", "2", "4"], "step 2 read the changed volume: it is re-drafted"
    in_order(lines, [
        "Reopened by step 4 (REVISE): The volume is 5,000 a month, not 1,000.",
        "Continue (back to",                      # the menu names where Continue really goes
        "╭─ Step 2: Training",
        "warning: This step's documents were drafted before these answers changed",
        "[C] Continue (back to step 4: Review)",
        "╭─ Step 4: Review",
    ])
    folder = out / checked
    train = (folder / "phase-2-training" / "train.md").read_text(encoding="utf-8")
    assert "Planned for 5000 requests a month." in train
    log = (folder / "decision-log.md").read_text(encoding="utf-8")
    assert log.count("## TRAIN-001:") == 1, "the revisit changed nothing in step 2's decision"
    assert log.count("## ARCH-001:") == 1 and log.count("## INTEG-001:") == 2
    sidecar = read_sidecar(folder)
    assert sidecar["revision_requests"] == {} and sidecar["workflow_status"] == "complete"


def test_s_says_why_a_step_cannot_be_skipped_now(out: Path, checked: str) -> None:
    plan = AnswerPlan({"1": {"use_case": "bot"}, "3": {"menu": ["S"]}}, yes=True)
    with pytest.raises(AnswersRefused) as refused:
        chat(out, checked, plan=plan)
    assert "Step 3 can be skipped only when `architecture == 'fine-tuning'`; that is not the case now." \
        in str(refused.value)
    _, lines = chat(out, checked, "S\n")
    assert any("Step 3 can be skipped only when" in line for line in lines), "\n".join(lines)


def test_a_resumed_session_shows_the_step_header_again(out: Path, checked: str) -> None:
    chat(out, checked, "support bot\n\n")
    _, lines = chat(out, checked, "")
    assert lines[0].startswith("╭─ Step 1: Scope"), "\n".join(lines)
    assert any("Monthly requests?" in line for line in lines)


def test_status_lists_stale_documents_until_the_step_is_redrafted(
        out: Path, checked: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from tests.cli_runner import run_cairn

    assert chat(out, checked, plan=AnswerPlan({"1": {"use_case": "bot"}, "4": {"decision": "GO"}}, yes=True))[0] == 0
    session = open_session(out, checked, knowledge=FakeKnowledge())
    try:
        session.goto("1")
        console, _ = quiet_console()
        run_chat(session, console, StreamReader(io.StringIO("\n\n7000\n\n\n\nC\n"), console))
    finally:
        session.close()
    code, printed, _ = run_cairn(["--output", str(out), "status", checked, "--json"], capsys, monkeypatch)
    assert code == 0
    data = json.loads(printed)
    assert data["currentStep"] == "2", "the step drafted from the old volume is reopened next"
    assert data["stale"] == [
        "step 2 (Training): phase-2-training/train.md drafted before monthly_requests (step 1) changed",
        "step 4 (Review): phase-6-integration/review.md, phase-6-integration/revision-request.md drafted before "
        "monthly_requests (step 1) changed"]
    code, printed, _ = run_cairn(["--output", str(out), "status", checked], capsys, monkeypatch)
    assert "stale: step 2 (Training)" in printed


def test_a_computed_default_is_offered_from_earlier_answers(out: Path, checked: str) -> None:
    code, lines = chat(out, checked, STEP_1 + "C\n\n\nC\n\nC\n")
    assert code == 0
    assert "Top k? [default: 4]" in lines, "default_from: 40,000 requests a month // 10,000"
    assert read_sidecar(out / checked)["answers"]["3"]["top_k"] == 4
