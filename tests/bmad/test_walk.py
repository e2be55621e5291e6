"""A BMAD pack runs through the same engine, CLI and gating as a Cairn pack."""

from __future__ import annotations

import io
from pathlib import Path

from tests.bmad.conftest import AI_BODY, AI_LITE, walk_to
from tests.conftest import FakeKnowledge, open_session, quiet_console
from tests.test_cli import cairn
from workflow.chat import StreamReader, run_chat
from workflow.session import create_project
from workflow.store import read_sidecar

ALL_STEPS = ["1", "2a", "3", "4", "5", "6", "7"]
# config.yaml's story_prefixes give steps 3, 4 and 5 a story section: each needs a story to continue.
STORIES = ["--set", 'stories_3=["Load the wiki: every page is indexed"]',
           "--set", 'stories_4=["Train: eval loss falls"]', "--set", 'stories_5=["Retrieve: recall@5 is at least 0.8"]']


def test_validate_detects_the_bmad_style_and_prints_its_warnings(out: Path, capsys, monkeypatch) -> None:
    code, stdout, err = cairn(["validate", str(AI_LITE)], out, capsys, monkeypatch)
    assert code == 0
    assert "ai-lite 0.3.0: 7 steps, 7 personas: OK" in stdout
    assert "warning(s):" in err
    assert "steps/0-scoping/step-02a-architecture.md: menu: [H] 'Help with the terms' has no Cairn action" in err


def test_validate_of_a_broken_bmad_pack_exits_1_with_the_reason(tmp_path: Path, out: Path, capsys,
                                                                monkeypatch) -> None:
    (tmp_path / "config.yaml").write_text("phase_folders: {}\n", encoding="utf-8")
    code, _, err = cairn(["validate", str(tmp_path)], out, capsys, monkeypatch)
    assert code == 1 and "steps: the steps folder is missing" in err and "Traceback" not in err
    code, _, err = cairn(["new", "x", "--pack", str(tmp_path)], out, capsys, monkeypatch)
    assert code == 1 and "steps folder is missing" in err and not (out / "x").exists()


def test_yes_walks_every_step_with_the_default_architecture(out: Path, offline_config: Path, capsys,
                                                            monkeypatch) -> None:
    assert cairn(["--config", str(offline_config), "new", "p", "--pack", str(AI_LITE)], out, capsys,
                 monkeypatch)[0] == 0
    code, stdout, _ = cairn(["--config", str(offline_config), "chat", "p", "--yes", *STORIES], out, capsys, monkeypatch)
    assert code == 0, stdout
    sidecar = read_sidecar(out / "p")
    assert sidecar["workflow"]["style"] == "bmad" and sidecar["workflow_status"] == "complete"
    assert sidecar["architecture"] == "hybrid"
    assert sidecar["stepsCompleted"] == ALL_STEPS
    assert set(sidecar["steps"].values()) == {"complete"}
    for document in ("phase-0-scoping/discovery.md", "phase-0-scoping/architecture.md", "phase-1-feature/data-plan.md",
                     "phase-2-training/training-plan.md", "phase-3-inference/retrieval.md",
                     "phase-3-inference/prompts.md", "phase-6-integration/review.md"):
        assert (out / "p" / document).is_file(), document
    assert "# Training Plan" in (out / "p" / "phase-2-training" / "training-plan.md").read_text(encoding="utf-8")


def test_set_architecture_rag_only_skips_the_training_phase_and_records_it(out: Path, offline_config: Path, capsys,
                                                                          monkeypatch) -> None:
    cairn(["--config", str(offline_config), "new", "p", "--pack", str(AI_LITE)], out, capsys, monkeypatch)
    code, stdout, _ = cairn(["--config", str(offline_config), "chat", "p", "--yes", "--set", "architecture=rag-only",
                             *STORIES], out, capsys, monkeypatch)
    assert code == 0, stdout
    sidecar = read_sidecar(out / "p")
    assert sidecar["architecture"] == "rag-only" and sidecar["answers"]["1"]["architecture"] == "rag-only"
    assert sidecar["stepsCompleted"] == ALL_STEPS, "a skipped step counts as completed (BMAD semantics)"
    assert sidecar["steps"]["4"] == "skipped" and sidecar["phases"]["phase_2_training"] == "skipped"
    assert "4" not in sidecar["answers"]
    record = (out / "p" / "phase-2-training" / "training-plan.md").read_text(encoding="utf-8")
    assert "SKIPPED" in record and "architecture == 'rag-only'" in record
    assert "Step 4 (Training Plan) skipped" in stdout


def test_the_fine_tuning_branch_goes_from_retrieval_straight_to_the_review(out: Path, bmad_project: str) -> None:
    session = open_session(out, bmad_project)
    prompt = walk_to(session, "5", answers={"architecture": "fine-tuning"})
    prompt = session.send("C")
    assert prompt["step"]["id"] == "7", "nextStepIfFineTuning is taken"
    walk_to(session, "7")
    assert session.send("C")["kind"] == "done"
    session.close()
    sidecar = read_sidecar(out / bmad_project)
    assert sidecar["stepsCompleted"] == ["1", "2a", "3", "4", "5", "7"]
    assert sidecar["steps"]["6"] == "pending"


def test_an_unknown_letter_at_the_last_menu_reprompts_and_only_continue_finishes(out: Path,
                                                                                 bmad_project: str) -> None:
    session = open_session(out, bmad_project)
    walk_to(session, "7")
    prompt = session.send("Z")
    assert prompt["kind"] == "menu" and prompt["step"]["id"] == "7"
    assert any("Unknown option 'Z'. Choose one of: A, P, " in m.get("text", "") for m in prompt["messages"])
    prompt = session.send("P")
    assert prompt["kind"] == "menu" and any(m["kind"] == "progress" for m in prompt["messages"])
    assert session.send("C")["kind"] == "done"
    session.close()
    assert read_sidecar(out / bmad_project)["workflow_status"] == "complete"


def test_a_pack_letter_without_an_action_and_a_command_trigger_act_as_derived(out: Path, bmad_project: str) -> None:
    session = open_session(out, bmad_project)
    walk_to(session, "2a")
    prompt = session.send("h")
    assert prompt["kind"] == "question" and prompt["field"] == "options_q1", "[H] reopens the questions"
    prompt = session.send("retrieval first")
    assert prompt["kind"] == "menu"
    prompt = session.send("*STATUS")
    assert any(m["kind"] == "progress" for m in prompt["messages"]), "*status shows progress"
    session.send("C")
    session.close()
    assert read_sidecar(out / bmad_project)["answers"]["2a"]["options_q1"] == "retrieval first"


def test_endpoint_calls_run_on_entry_and_again_on_the_requery_letter(out: Path, bmad_project: str) -> None:
    knowledge = FakeKnowledge()
    session = open_session(out, bmad_project, knowledge)
    walk_to(session, "5")
    before = len(knowledge.calls)
    session.send("R")
    session.close()
    assert knowledge.calls[0] == ("get_decisions", {"topic": "RAG vs fine-tuning", "limit": 5})
    assert ("search_knowledge", {"query": "when does fine-tuning beat retrieval", "limit": 5}) in knowledge.calls
    assert knowledge.calls[before:] == [("get_patterns", {"topic": "hybrid search reranking", "limit": 3})]


def test_scripted_mode_shows_each_section_before_its_questions_then_the_parsed_menu(out: Path,
                                                                                    bmad_project: str) -> None:
    console, buffer = quiet_console()
    session = open_session(out, bmad_project)
    script = "triage support tickets\nagents\nfewer escalations\nno PII leaves the EU\n\nC\n"
    try:
        code = run_chat(session, console, StreamReader(io.StringIO(script), console))
    finally:
        session.close()
    assert code == 0
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    expected_in_order = [
        "╭─ Step 1: Discovery ─",
        "│ 🧭 Rowan — Business Analyst",
        "STEP GOAL",
        "Understand the problem well enough to pick an architecture in the next step.",
        "2. Business Problem",
        "What task should the system take off people's hands? (optional)",
        "> triage support tickets",
        "Who reads its answers, and how often? (optional)",
        "How will you know it works? (optional)",
        "3. Constraints",
        "Notes on Constraints (optional)",
        "> no PII leaves the EU",
        "Which architecture? 1) rag-only / 2) fine-tuning / 3) hybrid [default: hybrid]",
        "drafted phase-0-scoping/discovery.md",
        "[A] Analyze the problem further  [P] View progress  [",
        "Choose> C",
        "✔ Step 1 (Discovery) complete.",
        "╭─ Step 2a: Architecture Decision ─",
    ]
    position = 0
    for wanted in expected_in_order:
        found = next((i for i in range(position, len(lines)) if lines[i].startswith(wanted)), None)
        assert found is not None, f"{wanted!r} not found after line {position}:\n" + "\n".join(lines)
        position = found + 1
    document = (out / bmad_project / "phase-0-scoping" / "discovery.md").read_text(encoding="utf-8")
    assert "## 2. Business Problem\n\n**What task should the system take off people's hands?**\n\n" \
           "triage support tickets\n" in document
    assert "## 3. Constraints\n\n**Notes on Constraints**\n\nno PII leaves the EU\n" in document
    assert "- **architecture:** hybrid" in document
    assert document.startswith('---\nproject_name: "b"\nuser_name: "tester"\n') and 'stepsCompleted: ["1"]' in document


def test_guidance_placeholders_name_the_projects_real_files_in_chat_and_over_mcp(out: Path) -> None:
    from workflow.mcp.views import current_step

    create_project(out, "demo", user="tester", pack_ref=str(AI_BODY))
    console, buffer = quiet_console()
    session = open_session(out, "demo")
    try:
        run_chat(session, console, StreamReader(io.StringIO(""), console))
        view = current_step(session, session.current(), session.visit_state())
    finally:
        session.close()
    # The pack says `{output_folder}/{project_name}/sidecar.yaml` and, resolved by its config.yaml,
    # `{project-root}/_ai-output/demo/phase-0-scoping/business-requirements.md`.
    document = f"{out / 'demo'}/phase-0-scoping/business-requirements.md"
    shown = "".join(buffer.getvalue().split())  # the terminal wraps long lines, even inside a path
    assert document in shown and "_ai-output" not in shown
    guidance = " ".join(g["text"] for g in view["guidance"])
    assert f"{out / 'demo'}/sidecar.yaml" in guidance and document in guidance
    assert "{output_folder}" not in guidance and "{project_name}" not in guidance
