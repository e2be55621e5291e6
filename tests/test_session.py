from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import FakeKnowledge, open_session
from workflow.store import read_sidecar


def answer_all(session, replies):
    prompt = session.current()
    for reply in replies:
        prompt = session.send(reply)
    return prompt


def test_rag_only_project_skips_training_and_writes_skip_record(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["support bot", "rag-only", "", "C"])
    assert prompt["kind"] == "question" and prompt["step"]["id"] == "3"
    session.close()
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["stepsCompleted"] == ["1", "2"]
    assert sidecar["steps"]["2"] == "skipped"
    assert sidecar["phases"]["phase_2_training"] == "skipped"
    record = (out / mini_project / "phase-2-training" / "train.md").read_text(encoding="utf-8")
    assert "SKIPPED" in record and "architecture == 'rag-only'" in record


def test_hybrid_path_runs_every_step_to_complete(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["support bot", "hybrid", "", "C", "", "", "C", "", "C", "", "GO", "C"])
    session.close()
    assert prompt["kind"] == "done"
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["workflow_status"] == "complete" and sidecar["currentStep"] is None
    assert sidecar["stepsCompleted"] == ["1", "2", "3", "4"]
    assert [d["id"] for d in sidecar["decisions"]] == ["ARCH-001", "TRAIN-001", "RAG-001", "INTEG-001"]
    assert sidecar["stories"]["step_2_training"][0]["id"] == "TRAIN-S01"
    review = (out / mini_project / "phase-6-integration" / "review.md").read_text(encoding="utf-8")
    assert "ARCH-001: hybrid" in review and "TRAIN-001: tiny" in review


def test_continue_is_refused_until_the_guard_clears_and_lists_what_is_missing(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["u", "rag-only", "", "C", "", "C", "major gap", "GO"])
    assert prompt["kind"] == "menu"
    assert "GO is refused while blockers remain" in prompt["missing"]
    prompt = session.send("C")
    refusal = [m for m in prompt["messages"] if m["kind"] == "refusal"]
    assert refusal and "GO is refused while blockers remain" in refusal[0]["missing"]
    assert read_sidecar(out / mini_project)["currentStep"] == "4"
    session.close()


def test_revise_reopens_the_target_with_answers_prefilled_then_returns(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["u", "rag-only", "", "C", "", "C", "", "REVISE", "1", "C"])
    assert prompt["step"]["id"] == "1" and prompt["field"] == "use_case"
    assert prompt["default"] == "u"
    prompt = answer_all(session, ["better use case", "", "", "C"])
    assert prompt["step"]["id"] == "4", "completing the revised step returns to the reviewer"
    prompt = answer_all(session, ["", "GO", "C"])
    session.close()
    assert prompt["kind"] == "done"
    log = (out / mini_project / "decision-log.md").read_text(encoding="utf-8")
    assert "## ARCH-001: Architecture (revision)" in log
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["answers"]["1"]["use_case"] == "better use case"
    assert [d["id"] for d in sidecar["decisions"]].count("ARCH-001") == 1
    assert (out / mini_project / "phase-6-integration" / "revision-request.md").exists()


def test_menu_text_becomes_a_note_and_unknown_keys_reprompt(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["u", "", ""])
    prompt = session.send("Z")
    assert any("Unknown option 'Z'" in m.get("text", "") for m in prompt["messages"])
    prompt = session.send("check the legal side first")
    assert prompt["kind"] == "menu"
    session.send("C")
    session.close()
    assert read_sidecar(out / mini_project)["notes"]["1"] == ["check the legal side first"]


def test_answers_inside_a_step_survive_reopening_the_session(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    answer_all(session, ["support bot", "fine-tuning"])
    session.close()
    session = open_session(out, mini_project)
    prompt = session.current()
    assert prompt["field"] == "monthly_requests"
    prompt = answer_all(session, ["", "C"])
    session.close()
    assert read_sidecar(out / mini_project)["answers"]["1"]["architecture"] == "fine-tuning"


def test_a_bad_value_is_rejected_with_the_reason_and_asked_again(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["u", "cloud"])
    assert prompt["field"] == "architecture"
    assert "not one of" in prompt["error"]
    prompt = session.send("2")
    assert prompt["field"] == "monthly_requests"
    prompt = session.send("-5")
    assert "below the minimum" in prompt["error"]
    session.close()


def test_user_may_skip_retrieval_only_when_architecture_is_fine_tuning(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    prompt = answer_all(session, ["u", "fine-tuning", "", "C", "", "", "C"])
    assert prompt["step"]["id"] == "3" and prompt["skippable"] is True
    prompt = session.send({"command": "skip"})
    assert prompt["step"]["id"] == "4"
    session.close()
    assert read_sidecar(out / mini_project)["steps"]["3"] == "skipped"


def test_knowledge_results_are_logged_and_cited_by_decisions(out: Path, mini_project: str) -> None:
    knowledge = FakeKnowledge()
    session = open_session(out, mini_project, knowledge)
    answer_all(session, ["u", "", "", "Q", "C"])
    session.close()
    assert [c[0] for c in knowledge.calls] == ["get_decisions", "get_decisions"]
    sidecar = read_sidecar(out / mini_project)
    assert sidecar["knowledge_log"][0]["result_ids"] == ["dec-2"]
    assert sidecar["decisions"][0]["knowledge_ref"] == "get_decisions:RAG vs fine-tuning (ids dec-2)"


def test_unavailable_knowledge_is_one_warning_and_recorded_as_not_ok(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project, FakeKnowledge(fail=True))
    prompt = session.current()
    warnings = [m for m in prompt["messages"] if m["kind"] == "warning"]
    assert len(warnings) == 1 and "unavailable" in warnings[0]["text"]
    answer_all(session, ["u", "", "", "C"])
    session.close()
    assert read_sidecar(out / mini_project)["knowledge_log"][0]["ok"] is False


def test_goto_reopens_a_completed_step_and_returns_to_where_the_session_was(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    answer_all(session, ["u", "hybrid", "", "C", "", "", "C"])
    session.goto("1")
    prompt = session.current()
    assert prompt["step"]["id"] == "1" and prompt["default"] == "u"
    prompt = answer_all(session, ["", "", "", "C"])
    assert prompt["step"]["id"] == "3"
    session.close()


def test_a_completion_cut_off_after_the_sidecar_is_not_applied_twice(out: Path, mini_project: str) -> None:
    session = open_session(out, mini_project)
    answer_all(session, ["u", "", ""])
    state = dict(session._graph.get_state({"configurable": {"thread_id": "step"}}).values)
    session.send("C")
    before = (out / mini_project / "sidecar.yaml").read_text(encoding="utf-8")
    # Redo the completion of the same visit, as a restart after a crash would.
    state["outcome"] = {"kind": "complete"}
    session.engine.complete(state)
    session.close()
    assert yaml.safe_load(before)["visits"] == read_sidecar(out / mini_project)["visits"]
    log = (out / mini_project / "decision-log.md").read_text(encoding="utf-8")
    assert log.count("## ARCH-001") == 1
